"""One sandboxed fuzz worker: runs a range of cases of one entry point and reports each outcome on stdout.

Started by :mod:`fuzz.runner` as ``python -m fuzz.worker`` with a JSON job on stdin
(``{"entry", "start", "stop", "master", "model_root", "memory_bytes"}``). After loading what the entry point
needs it measures its resident size, then prints one line per case:
``<case id>\\t<outcome>\\t<milliseconds>\\t<peak MiB above warm>``, and ``DONE`` at the end. A case whose peak
resident size grows more than ``memory_bytes`` (2 GiB) beyond the warm worker's is an ``OOM`` finding; core
dumps are off and the address space is capped at three times the budget as a backstop. A case that kills or freezes the process
never prints its line: the runner takes the first missing id as the culprit.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import warnings


def _status(field: str) -> int:
    """A /proc/self/status memory field (VmSize, VmRSS, VmHWM = peak RSS) in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _reset_peak_rss() -> bool:
    try:  # Linux >= 4.0: writing 5 resets VmHWM, so each case's own peak can be read afterwards
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _die_with_parent() -> None:
    try:  # Linux: a worker whose runner is gone (killed, interrupted) must not keep spinning on a hang
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def main() -> int:
    _die_with_parent()
    job = json.loads(sys.stdin.readline())
    # Library warnings (corrupt EXIF, APNG fallbacks) are expected on hostile input and would flood the log.
    warnings.simplefilter("ignore")
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # anything a library prints goes to the log, never into the protocol stream

    from fuzz.harness import ENTRY_POINTS, MODEL_ENTRIES, SELFTEST_ENTRIES, Context, run_case

    entry = job["entry"]
    ctx = Context(model_root=job.get("model_root"))
    if entry in MODEL_ENTRIES:
        ctx.model(MODEL_ENTRIES[entry])
    if entry not in SELFTEST_ENTRIES:
        run_case(entry, -1, ctx, job["master"])  # warm every lazy import before the memory cap is measured
    ctx.clear_scratch()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Memory is judged by resident size (peak RSS per case, beyond the warm worker's): address space is a poor
    # proxy (thread stacks and malloc arenas reserve gigabytes they never touch). RLIMIT_AS stays as a backstop
    # at three times the budget, so no case can take the machine down.
    budget = int(job["memory_bytes"])
    cap = _status("VmSize") + 3 * budget
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    warm_rss = _status("VmRSS")
    per_case_peak = _reset_peak_rss()
    assert entry in ENTRY_POINTS
    protocol.write("READY\n")  # warm-up is over: from here on the runner's hang clock runs per case
    for case_id in range(job["start"], job["stop"]):
        if per_case_peak:
            _reset_peak_rss()
        started = time.perf_counter()
        try:
            outcome, _ = run_case(entry, case_id, ctx, job["master"])
        except MemoryError:
            outcome = "OOM:MemoryError (address-space backstop reached)"
        except Exception as exc:  # noqa: BLE001 - an entry point that escaped its own guard
            outcome = f"BAD:escaped the harness: {type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        extra = max(0, _status("VmHWM" if per_case_peak else "VmRSS") - warm_rss)
        if extra > budget and not outcome.startswith("OOM"):
            outcome = f"OOM:peak RSS {extra >> 20} MiB above the warm worker (budget {budget >> 20} MiB)"
        clean = outcome.replace("\t", " ").replace("\n", " ")[:300]
        protocol.write(f"{case_id}\t{clean}\t{elapsed:.1f}\t{extra >> 20}\n")
        if case_id % 500 == 0:
            ctx.clear_scratch()
    protocol.write("DONE\n")
    protocol.flush()
    ctx.clear_scratch()
    os.rmdir(ctx.scratch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
