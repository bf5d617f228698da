"""Run every benchmark in turn and print their tables (``make bench``); ``--only NAME,...`` runs some of them.

Each script compares omniembed with sentence-transformers, which lives in its own virtualenv
(``make bench-ref`` or ``$OMNIEMBED_REF_PYTHON``); without it, only omniembed's figures are printed and the
compatibility checks (``compat_*``, which need both libraries) are skipped with a message. With
``$OMNIEMBED_BASELINE_SRC`` pointing at another omniembed source tree, that tree runs as a third side and its
outputs are compared with this checkout's (they must be identical).

    python benchmarks/run_all.py                      # every benchmark, default sizes
    python benchmarks/run_all.py --threads 1 --rounds 7 --only text,ce_tiny
    python benchmarks/run_all.py --small              # smaller sizes, for a loaded machine
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from common import reference_python

HERE = Path(__file__).resolve().parent
# name → (script and its arguments, the arguments with --small). Default sizes: a full sweep (five interleaved
# rounds per side) takes about half an hour on a busy 2-core machine.
SCRIPTS = {
    "text": (["bench_text.py", "-n", "1000"], ["bench_text.py", "-n", "400"]),
    "ce_minilm": (["bench_cross_encoder.py", "--model", "minilm", "-n", "500"],
                  ["bench_cross_encoder.py", "--model", "minilm", "-n", "200"]),
    "ce_tiny": (["bench_cross_encoder.py", "--model", "tiny", "-n", "1000"],) * 2,
    "video": (["bench_media.py", "--workload", "video"],) * 2,
    "image": (["bench_media.py", "--workload", "image"],) * 2,
    "audio": (["bench_media.py", "--workload", "audio"],) * 2,
    "audio_valid_frames": (["bench_media.py", "--workload", "audio", "--encode-valid-frames"],) * 2,
    "image_preprocess": (["bench_image_preprocess.py", "--n", "24", "--repeats", "2"],) * 2,
    "compat": (["compat_check.py"],) * 2,
    "compat_multimodal": (["compat_multimodal.py"],) * 2,
}
TIMED = ("--threads", "--rounds")  # options passed on to the timed (interleaved) benchmarks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated names: " + ", ".join(SCRIPTS))
    parser.add_argument("--small", action="store_true", help="smaller text and cross-encoder sizes")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SCRIPTS)
    unknown = [n for n in names if n not in SCRIPTS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    passed = [str(x) for option in TIMED if getattr(args, option[2:]) is not None
              for x in (option, getattr(args, option[2:]))]
    failed = []
    have_reference = reference_python() is not None
    if not have_reference:
        print("sentence-transformers' virtualenv was not found (`make bench-ref` builds it in benchmarks/.ref-venv, or "
              "set $OMNIEMBED_REF_PYTHON): omniembed's figures only, and the compatibility checks are skipped.")
    for name in names:
        script, *script_args = SCRIPTS[name][1 if args.small else 0]
        timed = script.startswith("bench_") and script != "bench_image_preprocess.py"
        command = [sys.executable, str(HERE / script), *script_args, *(passed if timed else [])]
        if script.startswith("compat_") and not have_reference:
            print(f"\n===== {name}: skipped (needs the reference virtualenv) =====", flush=True)
            continue
        print(f"\n===== {name}: {' '.join(command[1:])} =====", flush=True)
        if subprocess.run(command).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
