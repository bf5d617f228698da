"""The fuzzing campaign runner: sandboxed worker processes, crash and hang detection, a report.

    python tests/fuzz/runner.py --n 20000                     # every entry point, a weighted share of 20,000
    python tests/fuzz/runner.py --n 5000 --entries image,video --jobs 2 --out fuzz-report
    make fuzz N=1000000

Each entry point's cases are cut into chunks run by ``python -m fuzz.worker`` subprocesses (``--jobs`` at a
time). A worker prints one line per finished case; the runner watches it:

* the worker exits without finishing (SIGSEGV, SIGABRT, SIGKILL, a non-zero status) → ``CRASH`` for the first
  case that did not report, and a new worker resumes after it;
* a case uses more than ``--hang-cpu`` CPU seconds (10 by default) or ``--hang-wall`` wall seconds (120; wall
  time is a poor clock on a loaded machine, CPU time is not) → ``HANG``; the worker is killed and replaced;
* the worker reads its own peak resident size after every case: more than 2 GiB beyond its warm size is
  ``OOM``; its address space is capped at three times that as a backstop (a ``MemoryError`` there is ``OOM``
  too, a native allocation failure a ``CRASH``).

Findings (``BAD``, ``CRASH``, ``HANG``, ``OOM``) are regenerated from their ``(entry, case id)`` and written to
``<out>/findings/`` for replay. The report (``<out>/report.json`` and a Markdown table on stdout) lists, per entry
point, the number of inputs, the outcome counts and the slowest case.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from fuzz.harness import ENTRY_POINTS, MASTER_SEED, MODEL_ENTRIES, SELFTEST_ENTRIES

# Share of the budget per entry point: most volume goes through the cheap entry points.
WEIGHTS = {
    "sniff": 0.28, "detect": 0.23, "data_uri": 0.14, "image": 0.16, "arrays": 0.08, "audio": 0.05,
    "video": 0.03, "document": 0.04, "isolated": 0.004,
    "encode_clip": 0.005, "encode_clap": 0.003, "encode_xclip": 0.003,
    "predict_llava": 0.003,
}
FINDING_PREFIXES = ("BAD", "CRASH", "HANG", "OOM")
GIB = 1024**3


@dataclass
class EntryStats:
    count: int = 0
    outcomes: Counter = field(default_factory=Counter)
    slowest_ms: float = 0.0
    slowest_case: int | None = None
    findings: list = field(default_factory=list)
    peak_extra_mib: int = 0

    def summary(self) -> dict:
        return {"inputs": self.count, "outcomes": dict(self.outcomes.most_common()), "slowest_ms": self.slowest_ms,
                "slowest_case": self.slowest_case, "peak_extra_mib": self.peak_extra_mib,
                "findings": self.findings[:50]}


def bucket(outcome: str) -> str:
    """Collapse detail: ``ok:image`` → ``ok``; ``typed:MediaDecodeError`` stays; findings keep 80 characters."""
    if outcome.startswith("ok"):
        return "ok"
    if outcome.startswith("typed:"):
        return outcome
    return outcome[:80]


@dataclass
class Chunk:
    entry: str
    start: int
    stop: int
    retry: bool = False  # a single case re-run after a wall-clock stall


class Worker:
    def __init__(self, chunk: Chunk, args, log) -> None:
        self.chunk, self.args = chunk, args
        self.next_id = chunk.start
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
               "MALLOC_ARENA_MAX": "2", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "fuzz.worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, env=env, cwd=str(TESTS))
        job = {"entry": chunk.entry, "start": chunk.start, "stop": chunk.stop, "master": args.master,
               "model_root": args.model_root, "memory_bytes": args.memory_gib * GIB}
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.close()
        self.buffer = b""
        self.started = time.monotonic()
        self.last_progress = time.monotonic()
        self.cpu_at_progress = 0.0
        self.done = False
        self.ready = False

    def cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return 0.0

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _signal_name(code: int) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit status {code}"


class Campaign:
    def __init__(self, args) -> None:
        self.args = args
        self.stats = {entry: EntryStats() for entry in ENTRY_POINTS}
        self._last_print = 0.0
        self.interrupted = False
        self.out = Path(args.out)
        (self.out / "findings").mkdir(parents=True, exist_ok=True)
        self.log = open(self.out / "workers.log", "ab")  # noqa: SIM115 - the workers' stderr for the whole run
        self._ctx = None

    # -- planning ---------------------------------------------------------------------------------------
    def plan(self) -> list[Chunk]:
        entries = self.args.entries
        total_weight = sum(WEIGHTS.get(e, 0.01) for e in entries)
        chunks = []
        for entry in entries:
            share = WEIGHTS.get(entry, 0.01) / total_weight
            n = max(1, round(self.args.n * share)) if len(entries) > 1 else self.args.n
            size = self.args.chunk if entry not in MODEL_ENTRIES else max(50, self.args.chunk // 20)
            first = self.args.first_case
            chunks += [Chunk(entry, s, min(s + size, first + n)) for s in range(first, first + n, size)]
        # interleave entry points, so a partial run still covers all of them
        chunks.sort(key=lambda c: (c.start, list(ENTRY_POINTS).index(c.entry)))
        return chunks

    # -- running ----------------------------------------------------------------------------------------
    def run(self) -> dict:
        queue = self.plan()
        running: list[Worker] = []
        began = time.monotonic()
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            self._loop(queue, running, began)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what was measured
            self.interrupted = True
            for worker in running:
                worker.kill()
        report = self.report(time.monotonic() - began)
        (self.out / "report.json").write_text(json.dumps(report, indent=2))
        return report

    def _loop(self, queue: list[Chunk], running: list[Worker], began: float) -> None:
        while queue or running:
            while queue and len(running) < self.args.jobs:
                running.append(Worker(queue.pop(0), self.args, self.log))
            ready = select.select([w.proc.stdout for w in running], [], [], 1.0)[0]
            for worker in list(running):
                if worker.proc.stdout in ready:
                    chunk = os.read(worker.proc.stdout.fileno(), 1 << 16)
                    if chunk:
                        self._consume(worker, chunk)
                    else:
                        self._finish(worker, queue)
                        running.remove(worker)
                        continue
                hung = self._hung(worker)
                if hung:
                    worker.kill()
                    running.remove(worker)
                    if hung == "wall" and not worker.chunk.retry:
                        # Wall time is a poor clock on a loaded machine (a niced worker may simply not run):
                        # re-run the case alone in a fresh worker, and count it only if it stalls again.
                        queue.insert(0, Chunk(worker.chunk.entry, worker.next_id, worker.next_id + 1, retry=True))
                    else:
                        self._record(worker.chunk.entry, worker.next_id, f"HANG:{hung}", 0.0)
                    self._resume(worker, queue)
            self._progress(began)

    def _consume(self, worker: Worker, data: bytes) -> None:
        worker.buffer += data
        *lines, worker.buffer = worker.buffer.split(b"\n")
        for raw in lines:
            line = raw.decode("utf-8", "replace")
            if line in ("DONE", "READY"):
                worker.done = worker.done or line == "DONE"
                worker.ready = True
                worker.last_progress = time.monotonic()
                worker.cpu_at_progress = worker.cpu_seconds()
                continue
            case_id, outcome, ms, extra_mib = line.split("\t")
            self._record(worker.chunk.entry, int(case_id), outcome, float(ms))
            stats = self.stats[worker.chunk.entry]
            stats.peak_extra_mib = max(stats.peak_extra_mib, int(extra_mib))
            worker.next_id = int(case_id) + 1
            worker.last_progress = time.monotonic()
            worker.cpu_at_progress = worker.cpu_seconds()

    def _hung(self, worker: Worker) -> str | None:
        """"cpu" or "wall" when the current case is over its budget, else None."""
        if worker.proc.poll() is not None:
            return None
        if not worker.ready:  # still warming up (imports, model loading)
            return "wall" if time.monotonic() - worker.started > self.args.hang_wall * 3 else None
        if worker.cpu_seconds() - worker.cpu_at_progress > self.args.hang_cpu:
            return "cpu"
        return "wall" if time.monotonic() - worker.last_progress > self.args.hang_wall else None

    def _finish(self, worker: Worker, queue: list[Chunk]) -> None:
        code = worker.proc.wait()
        if worker.done and code == 0:
            return
        if not worker.ready:  # the harness itself is broken (an import error…): stop rather than loop
            raise RuntimeError(f"a {worker.chunk.entry} worker died while starting ({_signal_name(code)}); "
                               f"see {self.out / 'workers.log'}")
        if worker.next_id < worker.chunk.stop:
            label = "OOM" if code == -signal.SIGKILL else "CRASH"
            self._record(worker.chunk.entry, worker.next_id, f"{label}:{_signal_name(code)}", 0.0)
            self._resume(worker, queue)

    def _resume(self, worker: Worker, queue: list[Chunk]) -> None:
        if worker.next_id + 1 < worker.chunk.stop:
            queue.insert(0, Chunk(worker.chunk.entry, worker.next_id + 1, worker.chunk.stop))

    def _record(self, entry: str, case_id: int, outcome: str, ms: float) -> None:
        stats = self.stats[entry]
        stats.count += 1
        stats.outcomes[bucket(outcome)] += 1
        if ms > stats.slowest_ms:
            stats.slowest_ms, stats.slowest_case = ms, case_id
        if outcome.startswith(FINDING_PREFIXES):
            stats.findings.append({"case": case_id, "outcome": outcome})
            if len(stats.findings) <= 50:
                self._save_finding(entry, case_id, outcome)

    def _save_finding(self, entry: str, case_id: int, outcome: str) -> None:
        from fuzz.harness import Context, make_case

        if self._ctx is None:
            self._ctx = Context(model_root=self.args.model_root)
        value = make_case(entry, case_id, self._ctx, self.args.master)
        base = self.out / "findings" / f"{entry}-{case_id}"
        with open(f"{base}.pkl", "wb") as handle:
            pickle.dump({"entry": entry, "case": case_id, "master": self.args.master, "outcome": outcome,
                         "input": value}, handle)

    def _progress(self, began: float) -> None:
        now = time.monotonic()
        if now - self._last_print < 30:
            return
        self._last_print = now
        partial = self.report(now - began)
        (self.out / "report.partial.json").write_text(json.dumps(partial, indent=2))
        if not self.args.verbose:
            return
        done = sum(s.count for s in self.stats.values())
        found = sum(len(s.findings) for s in self.stats.values())
        print(f"[{now - began:7.0f}s] {done} inputs, {found} findings", file=sys.stderr, flush=True)

    def report(self, seconds: float) -> dict:
        entries = {e: s.summary() for e, s in self.stats.items() if s.count}
        return {"master_seed": self.args.master, "first_case": self.args.first_case, "seconds": round(seconds, 1),
                "interrupted": self.interrupted,
                "total_inputs": sum(s.count for s in self.stats.values()),
                "findings": sum(len(s.findings) for s in self.stats.values()), "entries": entries}


def markdown(report: dict) -> str:
    lines = ["| entry point | inputs | ok | typed errors (by class) | findings | slowest case | peak extra RSS |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for entry, s in report["entries"].items():
        outcomes = s["outcomes"]
        typed = ", ".join(f"{k[6:]} {v}" for k, v in outcomes.items() if k.startswith("typed:"))
        findings = sum(v for k, v in outcomes.items() if k.startswith(FINDING_PREFIXES))
        lines.append(f"| {entry} | {s['inputs']:,} | {outcomes.get('ok', 0):,} | {typed} | {findings} | "
                     f"{s['slowest_ms'] / 1000:.2f} s | {s.get('peak_extra_mib', 0)} MiB |")
    lines.append(f"| **total** | **{report['total_inputs']:,}** | | | **{report['findings']}** | | |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="total inputs, shared by weight between entry points")
    parser.add_argument("--entries", default="all", help="comma-separated entry points (default: all)")
    parser.add_argument("--jobs", type=int, default=max(1, min(2, os.cpu_count() or 1)))
    parser.add_argument("--chunk", type=int, default=5000, help="cases per worker process")
    parser.add_argument("--first-case", type=int, default=0, help="case id to start from (new inputs per run)")
    parser.add_argument("--master", default=MASTER_SEED)
    parser.add_argument("--memory-gib", type=float, default=2.0)
    parser.add_argument("--hang-cpu", type=float, default=10.0)
    parser.add_argument("--hang-wall", type=float, default=120.0)
    parser.add_argument("--model-root", default=None, help="tiny model folders (built here when missing)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--recheck", default=None, metavar="REPORT",
                        help="re-run every CRASH/HANG/OOM finding of a report.json alone, in a fresh worker")
    args = parser.parse_args(argv)
    campaign = [e for e in ENTRY_POINTS if e not in SELFTEST_ENTRIES]
    args.entries = campaign if args.entries == "all" else args.entries.split(",")
    unknown = set(args.entries) - set(ENTRY_POINTS)
    if unknown:
        parser.error(f"unknown entry points {sorted(unknown)}; choose from {list(ENTRY_POINTS)}")
    args.out = args.out or tempfile.mkdtemp(prefix="omniembed-fuzz-report-")
    return args


def recheck(args) -> int:
    """Re-run the process-level findings of an earlier report, one case per fresh worker."""
    import copy

    earlier = json.loads(Path(args.recheck).read_text())
    rows, repeated = [], 0
    for entry, stats in earlier["entries"].items():
        for finding in stats["findings"]:
            if not finding["outcome"].startswith(("CRASH", "HANG", "OOM")):
                continue
            one = copy.copy(args)
            one.entries, one.first_case, one.n = [entry], finding["case"], 1
            one.master = earlier.get("master_seed", args.master)
            one.out = str(Path(args.out) / f"{entry}-{finding['case']}")
            report = Campaign(one).run()
            outcome = next(iter(report["entries"][entry]["outcomes"]))
            again = outcome.startswith(("CRASH", "HANG", "OOM", "BAD"))
            repeated += again
            rows.append(f"| {entry} | {finding['case']} | {finding['outcome']} | {outcome} |")
    print("| entry point | case | first outcome | on re-run |\n|---|---:|---|---|")
    print("\n".join(rows) or "| (no process-level findings) | | | |")
    return 1 if repeated else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.recheck:
        if any(e in MODEL_ENTRIES for e in ENTRY_POINTS if e not in SELFTEST_ENTRIES) and args.model_root is None:
            args.model_root = str(Path(args.out) / "models")
            os.makedirs(args.model_root, exist_ok=True)
            from fuzz.harness import build_models

            build_models(args.model_root)
        return recheck(args)
    if any(e in MODEL_ENTRIES for e in args.entries):
        from fuzz.harness import build_models

        args.model_root = args.model_root or str(Path(args.out) / "models")
        os.makedirs(args.model_root, exist_ok=True)
        build_models(args.model_root, tuple(sorted({MODEL_ENTRIES[e] for e in args.entries if e in MODEL_ENTRIES})))
    report = Campaign(args).run()
    print(markdown(report))
    print(f"\nreport: {Path(args.out) / 'report.json'}  ({report['seconds']:.0f} s)")
    return 1 if report["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
