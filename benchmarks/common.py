"""Shared benchmark plumbing: run one side in its own interpreter and collect a JSON result.

The reference library (sentence-transformers) lives in its own virtualenv — never omniembed's — found at
``$OMNIEMBED_REF_PYTHON`` or ``benchmarks/.ref-venv/bin/python`` (``make bench-ref`` creates it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"


def reference_python() -> str | None:
    candidate = os.environ.get("OMNIEMBED_REF_PYTHON") or str(HERE / ".ref-venv" / "bin" / "python")
    return candidate if Path(candidate).exists() else None


def run_side(python: str, script: Path, args: list[str]) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run([python, str(script), *args], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def print_table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    print(f"\n{title}")
    print("  " + "  ".join(str(h).ljust(w) for h, w in zip(header, widths)))
    print("  " + "  ".join("-" * w for w in widths))
    for row in rows:
        print("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths)))


def emit(result: dict) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
