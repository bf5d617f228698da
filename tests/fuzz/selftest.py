"""Entry points that misbehave on purpose, so the tests can prove the runner's sandbox records each failure
mode (a segfault, a hang, a memory hog, an abort, an untyped error); never part of a campaign's "all".

Example:
    >>> from fuzz.selftest import SELFTEST_ENTRIES
    >>> sorted(SELFTEST_ENTRIES)
    ['selftest_abort', 'selftest_crash', 'selftest_hang', 'selftest_oom', 'selftest_untyped']
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from fuzz.common import Context


def _selftest(kind: str) -> tuple[Callable, Callable]:
    def make(rng: random.Random, ctx: Context) -> int:
        return rng.randrange(4)

    def run(value: int, ctx: Context) -> str:
        import ctypes
        import signal

        if value != 0:
            return "ok"
        if kind == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if kind == "hang":
            while True:
                pass
        if kind == "oom":
            blocks = [bytearray(64 << 20) for _ in range(8)]  # 512 MiB resident: run it with --memory-gib 0.25
            return f"ok:{len(blocks)}"
        if kind == "abort":
            ctypes.CDLL(None).abort()
        raise ValueError("an untyped error")

    return make, run


SELFTEST_ENTRIES = {f"selftest_{k}": _selftest(k) for k in ("crash", "hang", "oom", "abort", "untyped")}
