"""Quality of the compiled-backend variants of all-MiniLM-L6-v2 against the torch backend (CPU).

For each variant: mean and minimum cosine between its embeddings and torch's, and the kNN@10 overlap (the share
of each query's 10 nearest documents by torch embeddings that the variant's embeddings also return), over
``--docs`` documents and ``--queries`` queries of ``bench_text.corpus`` (mixed-length sentences). Variants: ONNX
fp32, ONNX O2, dynamic int8 per channel (the ``avx512_vnni`` preset), dynamic int8 per tensor, OpenVINO fp32,
OpenVINO static int8 (NNCF, calibrated on 300 other sentences of the same corpus).

    python benchmarks/backends_quality.py --docs 1000 --queries 100
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_backends import FOLDER, prepare
from bench_text import corpus


def knn_overlap(queries: np.ndarray, docs: np.ndarray, ref_queries: np.ndarray, ref_docs: np.ndarray, k: int = 10):
    def top(q, d):
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        d = d / np.linalg.norm(d, axis=1, keepdims=True)
        return np.argsort(-(q @ d.T), axis=1)[:, :k]
    ours, theirs = top(queries, docs), top(ref_queries, ref_docs)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ours, theirs)]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=100)
    args = parser.parse_args()
    prepare(argparse.Namespace(quantized=True, backend="openvino"))
    from omniembed import SentenceTransformer
    from omniembed.backends import export_dynamic_quantized_onnx_model, export_static_quantized_openvino_model
    from omniembed.backends.quantize import QuantizationConfig

    folder = str(FOLDER)
    onnx_model = SentenceTransformer(folder, backend="onnx", device="cpu", model_kwargs={"file_name": "onnx/model.onnx"})
    if not (FOLDER / "onnx" / "model_qint8_per_tensor.onnx").exists():
        export_dynamic_quantized_onnx_model(onnx_model, QuantizationConfig(per_channel=False), folder,
                                            file_suffix="qint8_per_tensor")
    if not (FOLDER / "onnx" / "model_O2.onnx").exists():
        from omniembed.backends import export_optimized_onnx_model

        export_optimized_onnx_model(onnx_model, "O2", folder)
    if not (FOLDER / "openvino" / "openvino_model_qint8_quantized.xml").exists():
        ov = SentenceTransformer(folder, backend="openvino", device="cpu",
                                 model_kwargs={"file_name": "openvino/openvino_model.xml"})
        export_static_quantized_openvino_model(ov, {"num_samples": 300}, folder,
                                               calibration_texts=corpus(300, seed=2))
    docs, queries = corpus(args.docs, seed=0), corpus(args.queries, seed=1)
    torch_model = SentenceTransformer(folder, device="cpu")
    ref_d, ref_q = torch_model.encode(docs), torch_model.encode(queries)
    variants = [("onnx fp32", "onnx", "onnx/model.onnx"), ("onnx O2", "onnx", "onnx/model_O2.onnx"),
                ("onnx int8 per-channel (avx512_vnni)", "onnx", "onnx/model_qint8_avx512_vnni.onnx"),
                ("onnx int8 per-tensor", "onnx", "onnx/model_qint8_per_tensor.onnx"),
                ("openvino fp32", "openvino", "openvino/openvino_model.xml"),
                ("openvino static int8", "openvino", "openvino/openvino_model_qint8_quantized.xml")]
    print(f"\nMiniLM variants vs torch: {args.docs} documents, {args.queries} queries")
    print(f"  {'variant':38s} {'mean cos':>10s} {'min cos':>10s} {'kNN@10':>8s}")
    for name, backend, file_name in variants:
        model = SentenceTransformer(folder, backend=backend, device="cpu", model_kwargs={"file_name": file_name})
        d, q = model.encode(docs), model.encode(queries)
        both, ref = np.concatenate([d, q]), np.concatenate([ref_d, ref_q])
        cos = (both * ref).sum(1) / np.linalg.norm(both, axis=1) / np.linalg.norm(ref, axis=1)
        print(f"  {name:38s} {cos.mean():10.6f} {cos.min():10.6f} {knn_overlap(q, d, ref_q, ref_d):8.3f}")


if __name__ == "__main__":
    main()
