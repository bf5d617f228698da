"""Fingerprints of the fuzzer's inputs: the sha256 of every seed and of a sample of generated cases.

A finding replays only if ``make_case(entry, case id)`` gives the same input in the replay process as in the
worker that found it, so the seed corpus must be byte-identical in every process (no random container UIDs, Ogg
serials, PDF ``/ID``s or dates). ``tests/fuzz/test_fuzz_determinism.py`` runs this module in two fresh processes
and compares the fingerprints; ``python tests/fuzz/fingerprint.py`` prints them as JSON.

A generated case is hashed through :func:`canonical`: bytes, strings, numbers, arrays, containers and dataclasses
by value; a path into the worker's scratch folder (whose name is random) by the file's name and contents.

Example:
    >>> from fuzz.fingerprint import canonical
    >>> import numpy as np
    >>> canonical((b"ab", [1, 2.5], np.zeros(2, np.uint8)), scratch="/tmp/x")
    'tuple(bytes:6162,list(int:1,float:2.5),ndarray:uint8:(2,):0000)'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from typing import Any

__all__ = ["CASES_PER_ENTRY", "canonical", "case_fingerprints", "fingerprints", "seed_fingerprints"]

CASES_PER_ENTRY = 30
# Case ids spread over the ranges the campaigns used (0…, 1,000,000…, 2,000,000…, 3,000,000…).
_CASE_IDS = tuple(range(10)) + tuple(1_000_000 + 7919 * k for k in range(10)) + tuple(3_000_000 + 101 * k
                                                                                      for k in range(10))


def canonical(value: Any, *, scratch: str) -> str:
    """A process-independent text for a generated input (see the module docstring)."""
    import numpy as np

    def walk(v: Any) -> str:
        if isinstance(v, (bytes, bytearray, memoryview)):
            return f"bytes:{bytes(v).hex()}"
        if isinstance(v, str):
            if v.startswith(scratch + os.sep):
                with open(v, "rb") as handle:
                    return f"scratch:{os.path.basename(v)}:{handle.read().hex()}"
            return f"str:{v!r}"
        if v is None or isinstance(v, (bool, int, float)):
            return f"{type(v).__name__}:{v!r}"
        if isinstance(v, np.ndarray):
            body = repr(v.tolist()) if v.dtype == object else v.tobytes().hex()
            return f"ndarray:{v.dtype}:{v.shape}:{body}"
        if isinstance(v, (list, tuple)):
            return f"{type(v).__name__}({','.join(walk(x) for x in v)})"
        if isinstance(v, dict):
            return "dict(" + ",".join(f"{walk(k)}={walk(x)}" for k, x in v.items()) + ")"
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            fields = ",".join(f"{f.name}={walk(getattr(v, f.name))}" for f in dataclasses.fields(v))
            return f"{type(v).__name__}({fields})"
        raise TypeError(f"no canonical form for {type(v).__name__}")

    return walk(value)


def seed_fingerprints(seeds: dict[str, dict[str, bytes]]) -> dict[str, str]:
    """``{"group/name": sha256}`` for every seed."""
    return {f"{group}/{name}": hashlib.sha256(data).hexdigest()
            for group, items in seeds.items() for name, data in items.items()}


def case_fingerprints(ctx: Any, case_ids: tuple[int, ...] = _CASE_IDS[:CASES_PER_ENTRY]) -> dict[str, str]:
    """``{"entry:case id": sha256}`` for a sample of cases of every entry point."""
    from fuzz.harness import ENTRY_POINTS, make_case

    out = {}
    for entry in ENTRY_POINTS:
        for case_id in case_ids:
            text = canonical(make_case(entry, case_id, ctx), scratch=ctx.scratch)
            out[f"{entry}:{case_id}"] = hashlib.sha256(text.encode()).hexdigest()
    return out


def fingerprints() -> dict[str, dict[str, str]]:
    """Build the seed corpus and a sample of cases in this process; ``{"seeds": {...}, "cases": {...}}``."""
    import shutil

    from fuzz.common import Context
    from fuzz.seeds import build_seeds

    ctx = Context(seeds=build_seeds())
    try:
        return {"seeds": seed_fingerprints(ctx.seeds), "cases": case_fingerprints(ctx)}
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    json.dump(fingerprints(), sys.stdout, indent=1, sort_keys=True)
