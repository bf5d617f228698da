"""Run every benchmark in turn and print their tables (``make bench``).

Each script compares omniembed with sentence-transformers, which lives in its own virtualenv
(``make bench-ref`` or ``$OMNIEMBED_REF_PYTHON``); without it, only omniembed's figures are printed. With
``$OMNIEMBED_BASELINE_SRC`` pointing at another omniembed source tree, that tree runs as a third side and its
outputs are compared with this checkout's (they must be identical).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Sizes chosen so a full sweep (five interleaved rounds per side) takes about half an hour on a busy 2-core machine.
SCRIPTS = [
    ["bench_text.py", "-n", "1000"],
    ["bench_cross_encoder.py", "--model", "minilm", "-n", "500"],
    ["bench_cross_encoder.py", "--model", "tiny", "-n", "1000"],
    ["bench_media.py", "--workload", "video"],
    ["bench_media.py", "--workload", "image"],
    ["bench_media.py", "--workload", "audio"],
    ["bench_image_preprocess.py", "--n", "24", "--repeats", "2"],
    ["compat_check.py"],
    ["compat_multimodal.py"],
]


def main() -> int:
    failed = []
    for script, *args in SCRIPTS:
        name = " ".join([script, *args])
        print(f"\n===== {name} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args]).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
