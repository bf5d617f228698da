"""Issue 8, point 6: folders **saved by omniembed** load in the reference library and give the same numbers.

    python benchmarks/compat_qwen_roundtrip.py [--ref-python /work/ref-venv-tv/bin/python]

The other direction (reference-saved folders loaded by omniembed) is the committed fixture itself: the suite's
saved folders equal the reference's own ``save`` (``benchmarks/compat_qwen.py`` checks it) and
``tests/models/test_qwen_reference.py`` loads them. Here: build the tiny Qwen suite, load each embedder / reranker
with omniembed (no torchvision), ``save`` it, then load the saved folder with sentence-transformers 6.2.0 (with
torchvision) in the reference venv and compare embeddings / scores on texts, images, image+text and video inputs.
Prints one line per folder and exits 1 on a mismatch (embeddings max |Δ| > 1e-5, scores > 1e-5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests"))

FOLDERS = ("qwen2_vl/embedder", "qwen2_5_vl/embedder", "qwen3_vl/embedder", "qwen2_vl/reranker", "qwen3_vl/reranker",
           "causal/embedder-chat", "causal/embedder-legacy", "causal/reranker")


def inputs(name: str):
    """The same inputs on both sides, from seeds (support.qwen_inputs needs numpy and Pillow only)."""
    import numpy as np
    from support.qwen_inputs import TEXTS, resolve, video_array

    if name.startswith("causal/"):
        items = list(TEXTS)
    else:
        items = [TEXTS[0], resolve({"$image": "odd"}, "/tmp"), {"text": TEXTS[2], "image": resolve({"$image": "small"}, "/tmp")},
                 {"video": np.array(video_array("clip8"))}]
    if name.endswith("reranker"):
        return [(TEXTS[3], item) for item in items]
    return items


def run_reference(saved: dict[str, str]) -> dict:
    import warnings

    warnings.simplefilter("ignore")
    from sentence_transformers import CrossEncoder, SentenceTransformer

    out = {}
    for name, folder in saved.items():
        if name.endswith("reranker"):
            values = CrossEncoder(folder, device="cpu").predict(inputs(name))
        else:
            values = SentenceTransformer(folder, device="cpu").encode(inputs(name))
        out[name] = [[float(v) for v in row] for row in __import__("numpy").atleast_2d(values)]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref-python", default=os.environ.get("OMNIEMBED_QWEN_REF_PYTHON", "/work/ref-venv-tv/bin/python"))
    parser.add_argument("--reference-side", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference_side:
        print(json.dumps(run_reference(json.loads(Path(args.reference_side).read_text()))))
        return 0

    import numpy as np
    from support.qwen_saved import build_qwen_suite

    from omniembed import CrossEncoder, SentenceTransformer

    work = Path(tempfile.mkdtemp(prefix="qwen-roundtrip-"))
    suite = build_qwen_suite(work / "suite")
    saved, ours = {}, {}
    for name in FOLDERS:
        cls = CrossEncoder if name.endswith("reranker") else SentenceTransformer
        model = cls(str(suite[name]), device="cpu")
        target = work / "saved" / name.replace("/", "_")
        model.save(str(target))
        saved[name] = str(target)
        values = model.predict(inputs(name)) if name.endswith("reranker") else model.encode(inputs(name))
        ours[name] = np.atleast_2d(np.asarray(values, dtype=np.float32))
    request = work / "saved.json"
    request.write_text(json.dumps(saved))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests"), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([args.ref_python, __file__, "--reference-side", str(request)], capture_output=True,
                            text=True, env=env, check=False)
    if result.returncode != 0:
        print(result.stderr[-3000:])
        return 1
    reference = json.loads(result.stdout.strip().splitlines()[-1])
    failed = False
    for name in FOLDERS:
        diff = float(np.abs(ours[name] - np.asarray(reference[name], dtype=np.float32)).max())
        ok = diff <= 1e-5
        failed |= not ok
        print(f"{name:24s} saved by omniembed, loaded by the reference: max |Δ| {diff:.2e} {'ok' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
