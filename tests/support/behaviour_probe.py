"""One probe of the reference's edge-case behaviours, run against either library (issue 16's numbered points).

``record(library, minilm_folder)`` imports ``library`` (``"sentence_transformers"`` or ``"omniembed"``) by name and
returns plain JSON-able results on the real all-MiniLM-L6-v2. ``benchmarks/compat_behaviour.py`` runs it in the
reference's virtualenv and stores the result in ``tests/compat/fixtures/behaviour_expected.json``;
``tests/compat/test_compat_behaviour.py`` runs it on omniembed and compares. Nothing here decides pass or fail.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from typing import Any

import numpy as np
import torch

TEXTS = ["A man is eating food.", "A man is riding a horse.", "a cat"]
PAIRS = [["a cat sits", "on the mat"], ["berlin", "is the capital of germany"]]
PRECISIONS = ("float32", "int8", "uint8", "binary", "ubinary")


def describe(value: Any) -> dict[str, Any]:
    """Type, shape, dtype and device of an encode result (values are compared elsewhere)."""
    out: dict[str, Any] = {"type": type(value).__name__}
    if isinstance(value, (torch.Tensor, np.ndarray)):
        out["shape"] = list(value.shape)
        out["dtype"] = str(value.dtype)
    if isinstance(value, torch.Tensor):
        out["device"] = value.device.type
    if isinstance(value, list):
        out["len"] = len(value)
    return out


def _scale_module(base: type) -> type:
    class Scale(base):  # a user module in a Router route that consumes a call keyword
        forward_kwargs = {"scale"}  # noqa: RUF012 - the reference's class attribute

        def forward(self, features, scale: float = 1.0, **kwargs):
            features["sentence_embedding"] = features["sentence_embedding"] * scale
            return features

        def save(self, *args, **kwargs):  # pragma: no cover - never saved
            pass

    return Scale


def record(library: str, minilm: str) -> dict[str, Any]:
    lib = importlib.import_module(library)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = importlib.import_module(f"{library}.models")
    util = importlib.import_module(f"{library}.util")
    modality = importlib.import_module(f"{library}.base.modality")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    model = lib.SentenceTransformer(minilm, device="cpu")
    out: dict[str, Any] = {}

    # 1. the deprecated `sentences=` keyword
    plain = model.encode(TEXTS[:2])
    out["sentences_keyword"] = {
        "encode": float(np.abs(model.encode(sentences=TEXTS[:2]) - plain).max()),
        "encode_query": describe(model.encode_query(sentences=TEXTS[:2])),
        "encode_document": describe(model.encode_document(sentences=TEXTS[0])),
    }
    # 3. truncate_dim with output_value=None and "token_embeddings"
    rows = model.encode(TEXTS[:2], output_value=None, truncate_dim=8)
    out["truncate_none"] = {k: (list(v.shape) if isinstance(v, torch.Tensor) else v) for k, v in rows[0].items()}
    out["truncate_none_values"] = rows[1]["sentence_embedding"].tolist()
    out["truncate_tokens"] = [list(t.shape) for t in model.encode(TEXTS[:2], output_value="token_embeddings",
                                                                   truncate_dim=8)]
    # 4. empty inputs
    out["empty"] = {
        f"{precision}/tensor={tensor}/numpy={numpy}": describe(
            model.encode([], precision=precision, convert_to_tensor=tensor, convert_to_numpy=numpy))
        for precision in PRECISIONS for tensor in (False, True) for numpy in (False, True)
    }
    out["empty_tokens"] = describe(model.encode([], output_value="token_embeddings"))
    out["empty_quantize"] = describe(util.quantize_embeddings([], precision="int8"))
    # 5. a 2-D numpy string array: text pairs; a 1-D one: texts
    pairs = model.encode(np.array(PAIRS))
    out["numpy_pairs"] = {"shape": list(pairs.shape), "row0": pairs[0][:8].tolist(),
                          "vs_lists": float(np.abs(pairs - model.encode([tuple(p) for p in PAIRS])).max())}
    out["numpy_texts"] = describe(model.encode(np.array(TEXTS)))
    # 2. a checkpoint without a classification head scores one label
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cross = lib.CrossEncoder(minilm, device="cpu")
    out["cross_encoder_no_head"] = {"num_labels": cross.num_labels,
                                    "predict": describe(cross.predict([tuple(p) for p in PAIRS]))}
    # 7. dtype without parameters; a Router route module's forward_kwargs
    out["dtype_without_parameters"] = str(lib.SentenceTransformer(modules=[models.Normalize()]).dtype)
    transformer = models.Transformer(minilm)
    routed = lib.SentenceTransformer(modules=[
        transformer, models.Pooling(transformer.get_word_embedding_dimension()),
        models.Router({"main": [_scale_module(models.Module)()]}, default_route="main"),
    ], device="cpu")
    base = routed.encode(TEXTS[:2])
    out["router_forward_kwargs"] = {"model_kwargs": sorted(routed.get_model_kwargs()),
                                    "ratio": float(np.median(routed.encode(TEXTS[:2], scale=3.0) / base))}
    # 8. infer_modality leaves the decision to the caller; encode refuses the image
    from PIL import Image

    image = Image.new("RGB", (4, 4))
    out["infer_image_on_text_model"] = modality.infer_modality(image, supported_modalities=["text"])
    try:
        model.encode(image)
        out["encode_image_on_text_model"] = None
    except ValueError as exc:
        out["encode_image_on_text_model"] = str(exc).split(": ", 1)[-1] if str(exc).startswith("Item ") else str(exc)
    return out
