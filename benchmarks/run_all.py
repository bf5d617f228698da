"""Run every benchmark in turn and print their tables (``make bench``); ``run_all.py NAME ...`` runs only the
scripts whose file names start with one of the NAMEs.

Each script compares omniembed with sentence-transformers, which lives in its own virtualenv
(``make bench-ref`` or ``$OMNIEMBED_REF_PYTHON``); without it, only omniembed's figures are printed and the
compatibility checks (``compat_*``, which need both libraries) are skipped with a message. With
``$OMNIEMBED_BASELINE_SRC`` pointing at another omniembed source tree, that tree runs as a third side and its
outputs are compared with this checkout's (they must be identical).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from common import reference_python

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


def main(only: list[str]) -> int:
    failed = []
    have_reference = reference_python() is not None
    if not have_reference:
        print("sentence-transformers' virtualenv was not found (`make bench-ref` builds it in benchmarks/.ref-venv, or "
              "set $OMNIEMBED_REF_PYTHON): omniembed's figures only, and the compatibility checks are skipped.")
    for script, *args in SCRIPTS:
        if only and not script.startswith(tuple(only)):
            continue
        name = " ".join([script, *args])
        if script.startswith("compat_") and not have_reference:
            print(f"\n===== {name}: skipped (needs the reference virtualenv) =====", flush=True)
            continue
        print(f"\n===== {name} =====", flush=True)
        if subprocess.run([sys.executable, str(HERE / script), *args], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
