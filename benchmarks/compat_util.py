"""Record the reference's results for the util functions omniembed mirrors (tests/compat/fixtures/util_expected.json).

    python benchmarks/compat_util.py [--ref-extra-path DIR]

Runs the reference (sentence-transformers) in its own virtualenv on fixed inputs, which are stored next to the
results, so the tests compare omniembed on the very same numbers: late-interaction scores (maxsim family),
``pairwise_angle_sim``, ``quantize_embeddings`` on empty and multi-matrix inputs, ``semantic_search_faiss`` /
``semantic_search_usearch`` for every precision, rescoring and index option, and the media-name helpers on URLs.
The reference's virtualenv has no faiss/usearch: ``--ref-extra-path`` puts a folder holding them (e.g. symlinks
to omniembed's own installs) on its path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import reference_python

OUT = HERE.parent / "tests" / "compat" / "fixtures" / "util_expected.json"
URLS = [
    "https://x.org/a.jpg", "https://x.org/a.JPG?x=1", "http://x.org/a b.jpg", "data:image/png;base64,xx",
    "data:audio/wav;base64,xx", "data:video/mp4;base64,xx", "https://youtu.be/abc",
    "https://www.youtube.com/watch?v=1", "https://x.org/a.mp3", "http://[bad", "https://x.org/a.mp4#t",
    "ftp://x.org/a.jpg", "https://x.org/a.jpg.txt", "https://m.youtube.com/a.png", "no/such/file.wav",
]


def _round(value):
    import numpy as np
    import torch

    if isinstance(value, torch.Tensor):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "values": value.float().flatten().tolist()}
    if isinstance(value, np.ndarray):
        return {"dtype": str(value.dtype), "shape": list(value.shape), "values": value.flatten().tolist()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def inputs() -> dict:
    import numpy as np

    rng = np.random.RandomState(7)
    return {
        "queries": [rng.randn(n, 4).round(4).tolist() for n in (3, 2)],
        "documents": [rng.randn(n, 4).round(4).tolist() for n in (5, 1, 2)],
        "query_mask": [[1, 0, 1], [1, 1, 0]],
        "document_mask": [[1, 1, 0, 1, 1], [0, 0, 0, 0, 0], [1, 1, 0, 0, 0]],
        "angle_x": rng.randn(3, 6).round(4).tolist(), "angle_y": rng.randn(3, 6).round(4).tolist(),
        "angle_x_odd": rng.randn(2, 5).round(4).tolist(), "angle_y_odd": rng.randn(2, 5).round(4).tolist(),
        "matrices": [rng.randn(5, 4).round(4).tolist(), rng.randn(3, 4).round(4).tolist()],
        "corpus": rng.randn(40, 8).round(4).tolist(), "search_queries": rng.randn(3, 8).round(4).tolist(),
        "calibration": rng.randn(60, 8).round(4).tolist(),
    }


def reference_results(data: dict) -> dict:
    import logging
    import warnings

    import numpy as np
    import torch

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from sentence_transformers.base import modality
    from sentence_transformers.quantization import quantize_embeddings, semantic_search_faiss, semantic_search_usearch
    from sentence_transformers.util import (
        maxsim,
        maxsim_pairwise,
        mean_maxsim,
        mean_maxsim_pairwise,
        pairwise_angle_sim,
    )

    q = [torch.tensor(m) for m in data["queries"]]
    d = [torch.tensor(m) for m in data["documents"]]
    padded_q = torch.nn.utils.rnn.pad_sequence(q, batch_first=True)
    padded_d = torch.nn.utils.rnn.pad_sequence(d, batch_first=True)
    qm, dm = torch.tensor(data["query_mask"]), torch.tensor(data["document_mask"])
    out: dict = {"late_interaction": {
        "maxsim_lists": _round(maxsim(q, d)),
        "mean_maxsim_lists": _round(mean_maxsim(q, d)),
        "maxsim_single": _round(maxsim(q[0], d[0])),
        "maxsim_padded_no_mask": _round(maxsim(padded_q, padded_d)),
        "maxsim_masks": _round(maxsim(padded_q, padded_d, a_mask=qm, b_mask=dm)),
        "maxsim_masks_normalized": _round(maxsim(padded_q, padded_d, a_mask=qm, b_mask=dm, length_normalize=True)),
        "maxsim_chunked": _round(maxsim(q, d, chunk_elements=10)),
        "maxsim_fp16": _round(maxsim([x.half() for x in q], [x.half() for x in d])),
        "maxsim_pairwise": _round(maxsim_pairwise(q, d[:2])),
        "mean_maxsim_pairwise": _round(mean_maxsim_pairwise(q, d[:2])),
        "maxsim_empty_queries": _round(maxsim([], d)),
    }}
    out["angle"] = {
        "even": _round(pairwise_angle_sim(np.array(data["angle_x"]), np.array(data["angle_y"]))),
        "odd": _round(pairwise_angle_sim(data["angle_x_odd"], data["angle_y_odd"])),
    }
    matrices = [np.array(m, dtype=np.float32) for m in data["matrices"]]
    out["quantize"] = {p: {"empty": _round(quantize_embeddings([], p)),
                           "matrices": _round(quantize_embeddings(matrices, p)),
                           "matrix_and_empty": _round(quantize_embeddings([matrices[0], np.zeros((0, 4), np.float32)],
                                                                          p))}
                       for p in ("float32", "int8", "uint8", "binary", "ubinary")}
    corpus = np.array(data["corpus"], dtype=np.float32)
    queries = np.array(data["search_queries"], dtype=np.float32)
    calibration = np.array(data["calibration"], dtype=np.float32)
    search: dict = {}
    for library, function, precisions in [("faiss", semantic_search_faiss, ["float32", "uint8", "ubinary"]),
                                          ("usearch", semantic_search_usearch, ["float32", "int8", "ubinary", "binary"])]:
        for precision in precisions:
            quantized = corpus if precision == "float32" else quantize_embeddings(
                corpus, precision, calibration_embeddings=calibration)
            for label, kwargs in {"rescore": {}, "no_rescore": {"rescore": False},
                                  "approximate": {"exact": False}, "multiplier_5": {"rescore_multiplier": 5},
                                  "top_k_100": {"top_k": 100}}.items():
                kwargs = {"top_k": 4, **kwargs}
                hits = function(queries, corpus_embeddings=quantized, corpus_precision=precision,
                                calibration_embeddings=calibration, **kwargs)[0]
                search[f"{library}-{precision}-{label}"] = [[[h["corpus_id"], h["score"]] for h in row] for row in hits]
    out["search"] = search
    out["media_names"] = {url: [modality.is_image_url_or_path(url), modality.is_audio_url_or_path(url),
                                modality.is_video_url_or_path(url)] for url in URLS}
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--side")
    parser.add_argument("--ref-extra-path")
    args = parser.parse_args()
    if args.side == "reference":
        data = inputs()
        sys.stdout.write(json.dumps({"inputs": data, "reference": reference_results(data)}))
        return
    ref_python = reference_python()
    if ref_python is None:
        sys.exit("Reference virtualenv not found: run `make bench-ref` first.")
    env = {**os.environ, "PYTHONPATH": args.ref_extra_path or ""}
    proc = subprocess.run([ref_python, str(Path(__file__).resolve()), "--side", "reference"], capture_output=True,
                          text=True, env=env, cwd="/", check=False)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(json.loads(proc.stdout)) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
