"""Round trips across libraries: the reference loads omniembed-saved folders and vice versa, same numbers.

    python benchmarks/compat_check.py      # needs the reference virtualenv (make bench-ref)

Each side runs in its own interpreter. For every case one side saves a folder, the other loads it, both
encode the same inputs, and the table shows the largest absolute difference.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from common import emit, print_table, reference_python, run_side

TEXTS = ["a photo of a cat", "how many people live in berlin", "berlin is the capital of germany", "a dog"]


def build_inputs(workdir: Path) -> dict:
    """Tiny BERT folder, made with omniembed's test-support builder (only in the omniembed interpreter)."""
    from support.models import build_bert, minilm_path

    return {"bert": str(build_bert(workdir / "bert")), "minilm": str(minilm_path())}


def act(side: str, action: str, folder: str, out: str, source: str | None) -> None:
    import numpy as np

    if side == "omniembed":
        from omniembed import SentenceTransformer
        from omniembed.modules import Dense, Normalize, Pooling, Transformer
    else:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.models import Dense, Normalize, Pooling, Transformer
    if action == "save":
        modules = [Transformer(source), Pooling(32, pooling_mode="mean"), Dense(32, 16), Normalize()]
        if side == "reference":
            modules[2] = Dense(32, 16)
        import torch

        torch.manual_seed(0)
        model = SentenceTransformer(modules=modules, device="cpu", prompts={"query": "query: "},
                                    similarity_fn_name="dot")
        model.save(folder)
    model = SentenceTransformer(folder, device="cpu")
    emb = model.encode(TEXTS)
    query = model.encode_query(TEXTS)
    np.save(out, np.concatenate([emb, query]))
    emit({"similarity": model.similarity_fn_name, "dim": int(emb.shape[1]), "prompts": model.prompts})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--action")
    parser.add_argument("--folder")
    parser.add_argument("--out")
    parser.add_argument("--source")
    args = parser.parse_args()
    if args.side:
        return act(args.side, args.action, args.folder, args.out, args.source)

    import numpy as np

    ref_python = reference_python()
    if ref_python is None:
        sys.exit("Reference virtualenv not found: run `make bench-ref` first.")
    script = Path(__file__).resolve()
    work = Path(tempfile.mkdtemp(prefix="omniembed-compat-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)  # saved folders and arrays: gone when the run ends
    sources = build_inputs(work)
    sides = {"omniembed": sys.executable, "reference": ref_python}
    rows = []
    for saver, loader in [("omniembed", "reference"), ("reference", "omniembed")]:
        folder = str(work / f"saved-by-{saver}")
        a = run_side(sides[saver], script, ["--side", saver, "--action", "save", "--folder", folder,
                                            "--out", str(work / "a.npy"), "--source", sources["bert"]])
        b = run_side(sides[loader], script, ["--side", loader, "--action", "load", "--folder", folder,
                                             "--out", str(work / "b.npy")])
        diff = float(np.abs(np.load(work / "a.npy") - np.load(work / "b.npy")).max())
        same = a["similarity"] == b["similarity"] and a["prompts"] == b["prompts"]
        rows.append((f"{saver} saves, {loader} loads", f"{diff:.2e}", "yes" if same else f"NO {a} {b}"))
    for side in sides:
        run_side(sides[side], script, ["--side", side, "--action", "load", "--folder", sources["minilm"],
                                       "--out", str(work / f"minilm-{side}.npy")])
    diff = float(np.abs(np.load(work / "minilm-omniembed.npy") - np.load(work / "minilm-reference.npy")).max())
    rows.append(("all-MiniLM-L6-v2 (PyPI folder), both load", f"{diff:.2e}", "yes"))
    print_table("Cross-library folder compatibility (Transformer + Pooling + Dense + Normalize, prompts, dot)",
                rows, ("case", "max |diff|", "config equal"))


if __name__ == "__main__":
    main()
