"""Record the reference's edge-case behaviours of issue 16 (tests/compat/fixtures/behaviour_expected.json) and show
them next to omniembed's.

    python benchmarks/compat_behaviour.py            # needs the reference virtualenv (make bench-ref)

Both sides run ``tests/support/behaviour_probe.record`` on the real all-MiniLM-L6-v2: the deprecated ``sentences=``
keyword, ``truncate_dim`` with ``output_value=None`` / ``"token_embeddings"``, every empty-input combination of
``precision`` / ``convert_to_tensor`` / ``convert_to_numpy``, numpy string arrays (2-D = text pairs), a CrossEncoder
on a checkpoint without a classification head, ``dtype`` without parameters, a Router route module's
``forward_kwargs``, and ``infer_modality`` of an image on a text-only model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent / "tests"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(TESTS))
from common import reference_python

OUT = TESTS / "compat" / "fixtures" / "behaviour_expected.json"


def _side(library: str, minilm: str) -> None:
    from support.behaviour_probe import record

    sys.stdout.write("\n" + json.dumps(record(library, minilm)) + "\n")


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--side":
        _side(sys.argv[2], sys.argv[3])
        return
    ref_python = reference_python()
    if ref_python is None:
        sys.exit("Reference virtualenv not found: run `make bench-ref` first.")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "PYTHONPATH": str(TESTS)}  # the reference side needs the probe, not omniembed
    results = {}
    for side, python in (("reference", ref_python), ("omniembed", sys.executable)):
        side_env = env if side == "reference" else {**env, "PYTHONPATH": os.pathsep.join(
            [str(HERE.parent / "src"), str(TESTS)])}
        library = "sentence_transformers" if side == "reference" else "omniembed"
        proc = subprocess.run([python, str(Path(__file__).resolve()), "--side", library, _minilm()], capture_output=True,
                              text=True, env=side_env, cwd="/", check=False)
        if proc.returncode != 0:
            sys.exit(proc.stderr[-3000:])
        results[side] = json.loads(proc.stdout.strip().splitlines()[-1])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results["reference"], indent=1, sort_keys=True) + "\n")
    for key in results["reference"]:
        same = results["reference"][key] == results["omniembed"].get(key)
        print(f"{key:32s} {'same' if same else 'DIFFERENT'}")
    print(f"wrote {OUT}")


def _minilm() -> str:
    from support.models import minilm_path

    return str(minilm_path())


if __name__ == "__main__":
    main()
