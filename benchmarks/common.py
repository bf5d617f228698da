"""Shared benchmark plumbing: one long-lived interpreter per side, timed calls interleaved, medians reported.

Sides:

* ``omniembed``: this checkout (whatever ``PYTHONPATH`` / the installed package gives);
* ``baseline``: omniembed from another source tree, when ``$OMNIEMBED_BASELINE_SRC`` names one (e.g. the previous
  release unpacked with ``git archive``): its throughput is reported too, and its outputs must equal this
  checkout's bit for bit (max |diff| = 0 on CPU fp32);
* ``reference``: sentence-transformers, which lives in its own virtualenv — never omniembed's — found at
  ``$OMNIEMBED_REF_PYTHON`` or ``benchmarks/.ref-venv/bin/python`` (``make bench-ref`` creates it).

Each side runs in its own interpreter, started once: it loads the model, warms up, then times one call each time
the parent asks. The parent asks the sides in turn, in a rotating order (A B C, B C A, …), for ``--rounds``
rounds, so a burst of someone else's load does not land on one side only and no side pays for interpreter
start-up. The table shows each side's median over the rounds and the median of the per-round ratios to the
reference. A benchmark script provides ``workload(side, args) -> (call, items[, finish])`` (``finish`` turns the
last call's result into the array to save); :func:`main` does the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
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
        found.append(("baseline", sys.executable, {"PYTHONPATH": os.pathsep.join([baseline, str(TESTS)])}))
    ref = reference_python()
    if ref:
        found.append(("reference", ref, {}))
    return found


def run_side(python: str, script: Path, args: list[str]) -> dict:
    """Run one script in another interpreter and return the JSON object its last output line holds."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([python, str(script), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def emit(result: dict) -> None:
    sys.stdout.write(json.dumps(result) + "\n")


def output_path(tag: str, side: str) -> Path:
    return CACHE / f"{tag}_{side}.npy"


# ------------------------------------------------------------------------------------------------ child side
def serve(workload: Callable, side: str, out: str, args: argparse.Namespace) -> None:
    """The child's loop: ``run`` times one call, ``save`` writes the last outputs, ``quit`` ends."""
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    call, items, *finish = workload(side, args)
    result = call()  # warm-up, and the outputs if no timed call follows
    reply({"ready": True, "threads": torch.get_num_threads()})
    for line in sys.stdin:
        command = line.strip()
        if command == "run":
            start = time.perf_counter()
            result = call()
            seconds = time.perf_counter() - start
            reply({"seconds": seconds, "per_second": items / seconds})
        elif command == "save":
            np.save(out, finish[0](result) if finish else result)
            reply({"saved": out})
        else:
            return


def reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------------------------------- parent side
class Side:
    """One side's interpreter, kept alive across rounds."""

    def __init__(self, name: str, python: str, env: dict[str, str], script: Path, args: list[str], tag: str) -> None:
        self.name = name
        environ = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                   **env}
        command = [python, str(script), "--side", name, "--out", str(output_path(tag, name)), *args]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environ)
        self.threads = self.ask(None)["threads"]

    def ask(self, command: str | None) -> dict:
        if command is not None:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the {self.name} side exited with {self.proc.wait()}")
            if line.startswith("{"):
                return json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=120)


def interleave(script: Path, tag: str, args: list[str], rounds: int) -> tuple[dict[str, list[dict]], int]:
    """``rounds`` timed calls per side, in rotating order; each side then saves its outputs. Returns the results
    per side and the torch thread count."""
    CACHE.mkdir(exist_ok=True)
    running = [Side(name, python, env, script, args, tag) for name, python, env in sides()]
    results: dict[str, list[dict]] = {side.name: [] for side in running}
    try:
        for round_index in range(rounds):
            shift = round_index % len(running)
            for side in running[shift:] + running[:shift]:
                results[side.name].append(side.ask("run"))
        for side in running:
            side.ask("save")
    finally:
        for side in running:
            side.close()
    return results, running[0].threads


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


def report(title: str, tag: str, results: dict[str, list[dict]], threads: int, unit: str,
           describe: Callable[[object, object], str]) -> None:
    import numpy as np

    ours = np.load(output_path(tag, "omniembed"))
    for other in ("baseline", "reference"):
        if other in results:
            print(f"omniembed vs {other}: " + describe(ours, np.load(output_path(tag, other))))
    reference = results.get("reference")
    rows = []
    for name, runs in results.items():
        rates = [r["per_second"] for r in runs]
        ratio = "1.00x" if name == "reference" else "-"
        if reference and name != "reference":
            ratio = f"{statistics.median(r / q['per_second'] for r, q in zip(rates, reference)):.2f}x"
        rows.append((name, f"{statistics.median(rates):.1f}", f"{statistics.median(r['seconds'] for r in runs):.3f}",
                     ratio, " ".join(f"{r:.1f}" for r in rates)))
    print_table(f"{title}; CPU threads={threads}; median of {len(reference or runs)} interleaved rounds", rows,
                ("side", f"{unit}/s", "seconds", "vs reference", f"{unit}/s per round"))
    print(json.dumps({"benchmark": tag, "results": {k: [r["per_second"] for r in v] for k, v in results.items()}}))


def main(workload: Callable, *, tag: Callable[[argparse.Namespace], str], title: Callable[[argparse.Namespace], str],
         unit: str, parser: argparse.ArgumentParser, prepare: Callable[[argparse.Namespace], list[str]] = lambda a: [],
         describe: Callable[[object, object], str] = max_diff) -> None:
    """The command line of a benchmark script: ``--side`` runs one side (internal), otherwise all sides."""
    parser.add_argument("--side")
    parser.add_argument("--out")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, help="torch threads on every side (default: torch's own choice)")
    args = parser.parse_args()
    if args.side:
        return serve(workload, args.side, args.out, args)
    CACHE.mkdir(exist_ok=True)
    extra = prepare(args)
    passed, skip = [], False
    for arg in sys.argv[1:]:  # the sides get every argument but the parent's own --rounds
        if skip or arg == "--rounds" or arg.startswith("--rounds="):
            skip = arg == "--rounds"
            continue
        passed.append(arg)
    results, threads = interleave(Path(sys.argv[0]).resolve(), tag(args), passed + extra, args.rounds)
    report(title(args), tag(args), results, threads, unit, describe)
