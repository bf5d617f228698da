"""Turn the output of benchmark runs (``run_all.py`` or single scripts, saved to files) into one Markdown table.

Each timed benchmark prints a JSON line ``{"benchmark", "results", "cpu_results"}`` (per-round rates of each side)
after lines ``omniembed vs <side>: ...`` comparing the outputs. This script reads those lines and prints, per
benchmark: the median rate of each side (wall clock and CPU time), the median of the per-round ratios of
omniembed and of the baseline (previous release) to the reference (wall clock and CPU time), the ratio of the best
rounds' CPU rates (the least disturbed rounds on a shared machine), and the output comparisons.

    python benchmarks/summarize.py run1.log run2.log > table.md
"""

from __future__ import annotations

import json
import statistics
import sys


def ratio(ours: list[float], theirs: list[float]) -> str:
    return f"{statistics.median(a / b for a, b in zip(ours, theirs)):.2f}×"


def rows(paths: list[str]) -> list[str]:
    out = []
    for path in paths:
        diffs: list[str] = []
        with open(path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                line = line.strip()
                if line.startswith("omniembed vs "):
                    diffs.append(line.removeprefix("omniembed vs "))
                elif line.startswith('{"benchmark"'):
                    data = json.loads(line)
                    wall, cpu = data["results"], data.get("cpu_results", {})
                    ref = wall.get("reference")
                    cells = [data["benchmark"], str(len(wall["omniembed"]))]
                    for side in ("baseline", "omniembed", "reference"):
                        cells.append(f"{statistics.median(wall[side]):.1f}" if side in wall else "–")
                    for side in ("baseline", "omniembed"):
                        cells.append(ratio(wall[side], ref) if side in wall and ref else "–")
                    for side in ("baseline", "omniembed"):
                        cells.append(ratio(cpu[side], cpu["reference"]) if side in cpu and "reference" in cpu
                                     else "–")
                    for side in ("baseline", "omniembed"):
                        cells.append(f"{max(cpu[side]) / max(cpu['reference']):.2f}×"
                                     if side in cpu and "reference" in cpu else "–")
                    cells.append("; ".join(diffs).replace("|", r"\|") or "–")
                    out.append("| " + " | ".join(cells) + " |")
                    diffs = []
    return out


def main() -> int:
    header = ("| benchmark | rounds | before /s | after /s | reference /s | before vs ref (wall) | after vs ref (wall) "
              "| before vs ref (CPU) | after vs ref (CPU) | before vs ref (best CPU) | after vs ref (best CPU) "
              "| outputs (after vs …) |")
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for row in rows(sys.argv[1:]):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
