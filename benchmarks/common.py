"""Shared benchmark plumbing: run each side in its own interpreter, interleaved, and report medians.

Sides:

* ``omniembed``: this checkout (whatever ``PYTHONPATH`` / the installed package gives);
* ``baseline``: omniembed from another source tree, when ``$OMNIEMBED_BASELINE_SRC`` names one (e.g. the previous
  release unpacked with ``git archive``): its throughput is reported too, and its outputs must equal this
  checkout's bit for bit (max |diff| = 0 on CPU fp32);
* ``reference``: sentence-transformers, which lives in its own virtualenv — never omniembed's — found at
  ``$OMNIEMBED_REF_PYTHON`` or ``benchmarks/.ref-venv/bin/python`` (``make bench-ref`` creates it).

Every round runs each side once, in a rotating order (A B C, B C A, …), so a burst of someone else's load does
not land on one side only; the table shows each side's median over the rounds and the median of the per-round
ratios to the reference.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TESTS = HERE.parent / "tests"


def reference_python() -> str | None:
    candidate = os.environ.get("OMNIEMBED_REF_PYTHON") or str(HERE / ".ref-venv" / "bin" / "python")
    return candidate if Path(candidate).exists() else None


def sides() -> list[tuple[str, str, dict[str, str]]]:
    """``(name, python, extra environment)`` of every side available here."""
    found = [("omniembed", sys.executable, {})]
    baseline = os.environ.get("OMNIEMBED_BASELINE_SRC")
    if baseline:
        path = os.pathsep.join([baseline, str(TESTS)])
        found.append(("baseline", sys.executable, {"PYTHONPATH": path}))
    ref = reference_python()
    if ref:
        found.append(("reference", ref, {}))
    return found


def run_side(python: str, script: Path, args: list[str], env: dict[str, str] | None = None) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           **(env or {})}
    proc = subprocess.run([python, str(script), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def interleave(script: Path, tag: str, args: list[str], rounds: int) -> dict[str, list[dict]]:
    """Run every side ``rounds`` times in rotating order; each run saves its outputs to ``CACHE/{tag}_{side}.npy``."""
    CACHE.mkdir(exist_ok=True)
    available = sides()
    results: dict[str, list[dict]] = {name: [] for name, _, _ in available}
    for round_index in range(rounds):
        shift = round_index % len(available)
        for name, python, env in available[shift:] + available[:shift]:
            out = CACHE / f"{tag}_{name}.npy"
            results[name].append(run_side(python, script, ["--side", name, "--out", str(out), *args], env))
    return results


def output_path(tag: str, side: str) -> Path:
    return CACHE / f"{tag}_{side}.npy"


def summarize(results: dict[str, list[dict]], unit: str) -> list[tuple[str, ...]]:
    """Rows ``(side, median rate, median seconds, median ratio to the reference)``."""
    rows = []
    ref = results.get("reference")
    for name, runs in results.items():
        rates = [r["per_second"] for r in runs]
        ratio = "1.00x" if name == "reference" else "-"
        if ref and name != "reference":
            ratio = f"{statistics.median(r / q['per_second'] for r, q in zip(rates, ref)):.2f}x"
        rows.append((name, f"{statistics.median(rates):.1f}", f"{statistics.median(r['seconds'] for r in runs):.3f}",
                     ratio, " ".join(f"{r:.0f}" for r in rates)))
    return rows


def compare_outputs(tag: str, describe: Callable[[object, object], str]) -> list[str]:
    """Lines comparing the saved outputs: omniembed vs baseline (must be identical) and vs the reference."""
    import numpy as np

    ours = output_path(tag, "omniembed")
    lines = []
    for other in ("baseline", "reference"):
        path = output_path(tag, other)
        if path.exists() and other in {name for name, _, _ in sides()}:
            a, b = np.load(ours), np.load(path)
            lines.append(f"omniembed vs {other}: " + describe(a, b))
    return lines


def max_diff(a, b) -> str:
    import numpy as np

    if a.shape != b.shape:
        return f"shapes differ {a.shape} vs {b.shape}"
    return f"max |diff| = {np.abs(a.astype(np.float64) - b.astype(np.float64)).max():.3g}"


def print_table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def report(title: str, tag: str, results: dict[str, list[dict]], unit: str,
           describe: Callable[[object, object], str] = max_diff) -> None:
    for line in compare_outputs(tag, describe):
        print(line)
    threads = results["omniembed"][0].get("threads", "?")
    rounds = len(results["omniembed"])
    print_table(f"{title}; CPU threads={threads}; median of {rounds} interleaved rounds", summarize(results, unit),
                ("side", f"{unit}/s", "seconds", "vs reference", f"{unit}/s per round"))
    print(json.dumps({"benchmark": tag, "results": {k: [r["per_second"] for r in v] for k, v in results.items()}}))


def emit(result: dict) -> None:
    sys.stdout.write(json.dumps(result) + "\n")


def timed(call: Callable[[], object], repeats: int) -> tuple[float, object]:
    """Best of ``repeats`` wall times of ``call()`` (after the caller's warm-up), and its last result."""
    import time

    best, value = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        value = call()
        best = min(best, time.perf_counter() - start)
    return best, value
