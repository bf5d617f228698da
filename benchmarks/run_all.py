"""Run every benchmark in turn and print their tables (``make bench``).

Each script compares omniembed with sentence-transformers, which lives in its own virtualenv
(``make bench-ref`` or ``$OMNIEMBED_REF_PYTHON``); without it, only omniembed's figures are printed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ["bench_text.py", "bench_image_preprocess.py", "bench_cross_encoder.py", "compat_check.py",
           "compat_multimodal.py"]


def main() -> int:
    failed = []
    for name in SCRIPTS:
        print(f"\n===== {name} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
