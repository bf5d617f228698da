"""Add up the reports of several fuzzing runs (``runner.py`` writes one ``report.json`` per run).

Runs that start at different ``--first-case`` values (or use different master seeds) test different inputs, so
their counts add up; runs that overlap are refused, since they would count the same inputs twice.

    python tests/fuzz/combine.py tests/fuzz/campaigns/*.json            # a Markdown table
    python tests/fuzz/combine.py --json combined.json run1.json run2.json

Example:
    >>> from fuzz.combine import combine
    >>> a = {"master_seed": "m", "first_case": 0, "seconds": 10, "total_inputs": 3, "findings": 0,
    ...      "entries": {"sniff": {"inputs": 3, "outcomes": {"ok": 3}, "slowest_ms": 5, "peak_extra_mib": 1}}}
    >>> b = {**a, "first_case": 1_000_000, "entries": {"sniff": {"inputs": 2, "outcomes": {"ok": 1, "typed:X": 1},
    ...      "slowest_ms": 9, "peak_extra_mib": 0}}}
    >>> c = combine([a, b])
    >>> c["total_inputs"], c["entries"]["sniff"]["outcomes"], c["entries"]["sniff"]["slowest_ms"]
    (5, {'ok': 4, 'typed:X': 1}, 9)
    >>> combine([a, a])
    Traceback (most recent call last):
    ...
    ValueError: two runs both cover sniff cases from 0: they tested the same inputs
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))


def _ranges(report: dict) -> dict[str, tuple[int, int]]:
    """Per entry point, the case ids a run covered at most (its first case + the inputs it ran, plus slack for the
    chunks that run in parallel: a run's ids never reach past first_case + its planned share, which is below
    first_case + 10^6 for every campaign we run)."""
    first = int(report.get("first_case", 0))
    return {entry: (first, first + 1_000_000) for entry in report["entries"]}


def combine(reports: list[dict]) -> dict:
    seen: dict[tuple[str, str], list[tuple[int, int]]] = {}
    for report in reports:
        for entry, (lo, hi) in _ranges(report).items():
            spans = seen.setdefault((report.get("master_seed", ""), entry), [])
            if any(lo < other_hi and other_lo < hi for other_lo, other_hi in spans):
                raise ValueError(f"two runs both cover {entry} cases from {lo}: they tested the same inputs")
            spans.append((lo, hi))
    entries: dict[str, dict] = {}
    for report in reports:
        for entry, stats in report["entries"].items():
            into = entries.setdefault(entry, {"inputs": 0, "outcomes": Counter(), "slowest_ms": 0,
                                              "peak_extra_mib": 0, "findings": []})
            into["inputs"] += stats["inputs"]
            into["outcomes"].update(stats["outcomes"])
            into["slowest_ms"] = max(into["slowest_ms"], stats["slowest_ms"])
            into["peak_extra_mib"] = max(into["peak_extra_mib"], stats.get("peak_extra_mib", 0))
            into["findings"] += stats.get("findings", [])
    for stats in entries.values():
        stats["outcomes"] = dict(stats["outcomes"].most_common())
    return {"runs": len(reports), "seconds": round(sum(r["seconds"] for r in reports), 1),
            "total_inputs": sum(s["inputs"] for s in entries.values()),
            "findings": sum(len(s["findings"]) for s in entries.values()), "entries": entries}


def main(argv: list[str] | None = None) -> int:
    from fuzz.runner import markdown

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reports", nargs="+")
    parser.add_argument("--json", default=None, help="also write the combined report here")
    args = parser.parse_args(argv)
    combined = combine([json.loads(Path(p).read_text()) for p in args.reports])
    if args.json:
        Path(args.json).write_text(json.dumps(combined, indent=2))
    print(markdown(combined))
    print(f"\n{combined['runs']} runs, {combined['seconds']:.0f} s of campaign time")
    return 1 if combined["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
