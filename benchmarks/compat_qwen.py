"""Reference outputs for issue 8 (Qwen-VL embedders/rerankers, chat-template causal LMs) -> a committed fixture.

    python benchmarks/compat_qwen.py                     # shared venv (builds folders), calls the reference venv
    python benchmarks/compat_qwen.py --out DIR --ref-python /path/to/python --keep-work WORKDIR

What it does, deterministically:

1. **Build** (this interpreter, the project's venv, no torchvision): every folder of
   ``tests/support/qwen_saved.SUITE`` under a work dir, with the seeded builders the tests use, and the inputs of
   ``tests/support/qwen_inputs`` (seeded numpy images/videos; PNGs written for the path cases).
2. **Reference** (``--ref-python``, default ``$OMNIEMBED_QWEN_REF_PYTHON`` or ``/work/ref-venv-tv/bin/python``: a
   virtualenv with sentence-transformers 6.2.0, transformers 5.24.0, torch and **torchvision**, i.e. the reference
   with a working Qwen processor): runs every case of ``compat_qwen_cases.all_cases()`` and, with plain
   transformers, the processor-level cases and one direct computation per family. It also re-saves each of our
   hand-written saved folders with the reference and diffs the JSON configs. Only this side imports
   ``sentence_transformers``.
3. **Write** ``tests/support/fixtures/qwen_reference.json`` (cases, inputs as specs, outputs, errors, rendered
   prompts, processor facts, environment, weight checksums) and ``qwen_reference.npz`` (arrays, keyed
   ``"<case id>"`` or ``"<case id>/<feature>"``), byte-for-byte reproducible (fixed zip timestamps, sorted keys).

The tests read the fixture only; they never need the reference environment. If the builders' weights change
(another torch version), ``manifest.weights_sha256`` no longer matches and the fixture must be regenerated.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

DEFAULT_OUT = ROOT / "tests" / "support" / "fixtures"
DEFAULT_REF = os.environ.get("OMNIEMBED_QWEN_REF_PYTHON", "/work/ref-venv-tv/bin/python")


def write_npz(path: Path, arrays: dict[str, Any]) -> None:
    """np.savez with a fixed timestamp and key order, so the file's bytes depend only on the arrays."""
    import numpy as np

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(work: Path) -> dict[str, str]:
    from support.qwen_saved import build_qwen_suite

    folders = build_qwen_suite(work / "models")
    return {name: str(path) for name, path in folders.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", choices=["reference"], help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--ref-python", default=DEFAULT_REF)
    parser.add_argument("--keep-work", type=Path, help="build into this folder and keep it")
    args = parser.parse_args()
    if args.side == "reference":
        from compat_qwen_reference import run_reference

        run_reference(args.work)
        return

    if not Path(args.ref_python).exists():
        sys.exit(f"reference interpreter not found: {args.ref_python} (set OMNIEMBED_QWEN_REF_PYTHON)")
    with tempfile.TemporaryDirectory(prefix="compat-qwen-") as tmp:
        work = args.keep_work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        folders = build(work)
        (work / "suite.json").write_text(json.dumps(folders, indent=1, sort_keys=True))
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        env.pop("PYTHONPATH", None)  # the reference side must not see omniembed
        subprocess.run([args.ref_python, str(Path(__file__).resolve()), "--side", "reference", "--work", str(work)],
                       check=True, env=env)
        result = json.loads((work / "reference.json").read_text())
        result["manifest"]["weights_sha256"] = {
            name: sha256_file(Path(path) / "model.safetensors")
            for name, path in sorted(folders.items())
            if name.endswith("/raw") or name.startswith("causal/raw")
        }
        import numpy as np

        with np.load(work / "reference.npz") as data:
            arrays = {key: data[key] for key in data.files}
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "qwen_reference.json").write_text(json.dumps(result, indent=1) + "\n")
        write_npz(args.out / "qwen_reference.npz", arrays)
        failed = [c["id"] for c in result["cases"] if c.get("error") and not c.get("expect_error")]
        size = sum((args.out / f).stat().st_size for f in ("qwen_reference.json", "qwen_reference.npz"))
        print(f"{len(result['cases'])} cases, {len(arrays)} arrays, {size // 1024} KiB -> {args.out}")
        print(f"{len(failed)} cases raised in the reference (recorded as errors): {failed}")


if __name__ == "__main__":
    main()
