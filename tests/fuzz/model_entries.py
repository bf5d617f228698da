"""Fuzz entry points that run whole models: ``encode`` on tiny CLIP, CLAP and X-CLIP models and
``CrossEncoder.predict`` on a tiny LLaVA reranker, with lists that mix texts, mutated media in every input form,
odd strings and arrays (see :mod:`fuzz.harness` for the outcome labels).

Example:
    >>> from fuzz.model_entries import MODEL_ENTRIES
    >>> sorted(MODEL_ENTRIES)
    ['encode_clap', 'encode_clip', 'encode_xclip', 'predict_llava']
"""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np

from fuzz.common import Context, classify_error
from fuzz.common import guard as _guard
from fuzz.common import weird_array as _weird_array
from fuzz.common import weird_string as _weird_string

# -------------------------------------------------------------------------------------- encode / predict
_MODEL_MEDIA = {"clip": "image", "clap": "audio", "xclip": "video"}


def load_model(name: str, root: str | None) -> Any:
    import torch

    torch.set_num_threads(1)
    from omniembed import CrossEncoder, SentenceTransformer

    if root is None:
        raise RuntimeError("encode/predict entry points need Context(model_root=...)")
    folder = os.path.join(root, name)
    if name == "llava":
        from omniembed.modules import LogitScore, Transformer

        logits = {"method": "forward", "method_output_name": "logits"}
        transformer = Transformer(folder, transformer_task="any-to-any", module_output_name="causal_logits",
                                  modality_config={"text": logits, "image": logits,
                                                   "message": {**logits, "format": "structured"}})
        tok = transformer.tokenizer
        score = LogitScore(tok.convert_tokens_to_ids("yes"), tok.convert_tokens_to_ids("no"))
        return CrossEncoder(modules=[transformer, score], device="cpu")
    return SentenceTransformer(folder, device="cpu")


def build_models(root: str, names: tuple[str, ...] = ("clip", "clap", "xclip", "llava")) -> str:
    """Write the tiny model folders the encode/predict entry points load (a few seconds, once per campaign)."""
    from support.models import build_clap, build_clip, build_llava, build_xclip

    builders = {"clip": build_clip, "clap": build_clap, "xclip": build_xclip, "llava": build_llava}
    for name in names:
        folder = os.path.join(root, name)
        if not os.path.isfile(os.path.join(folder, "config.json")):
            builders[name](folder)
    return root


def _media_item(rng: random.Random, ctx: Context, modality: str) -> Any:
    data = ctx.media_bytes(rng, modality)
    roll = rng.random()
    if roll < 0.45:
        return data
    if roll < 0.6:
        return {modality: data}
    if roll < 0.75:
        mime = {"image": "image/png", "audio": "audio/wav", "video": "video/mp4"}[modality]
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"
    if roll < 0.85:
        return ctx.scratch_file(data, {"image": ".png", "audio": ".wav", "video": ".mp4"}[modality])
    if roll < 0.92:
        return rng.choice(("missing/catt.jpg", "nope.wav", "gone.mp4", "a cat on a mat"))
    return _weird_array(rng)


def _make_encode(model_name: str) -> Callable[[random.Random, Context], tuple]:
    def make(rng: random.Random, ctx: Context) -> tuple:
        modality = _MODEL_MEDIA[model_name]
        items = []
        for i in range(rng.randint(1, 6)):
            if rng.random() < 0.3:
                items.append(rng.choice(("a photo of a cat", "", "x" * rng.randint(1, 200), _weird_string(rng))))
            else:
                items.append(_media_item(rng, ctx, modality))
        return items, rng.choice(("raise", "skip")), rng.choice((1, 2, 32)), rng.choice((0, 2))

    return make


def _check_rows(result: Any, failures: list, n: int) -> str | None:
    if len(result) != n:
        return f"BAD:misaligned: {len(result)} rows for {n} inputs"
    failed = {f.index for f in failures}
    for i in range(n):
        nan = bool(np.isnan(np.asarray(result[i], dtype=np.float64)).any())
        if nan != (i in failed):
            return f"BAD:row {i} nan={nan} but failed={i in failed}"
    for failure in failures:
        label = classify_error(failure.error, n_items=n)
        if label.startswith("BAD"):
            return label
    return None


def _run_encode(model_name: str) -> Callable[[tuple, Context], str]:
    def run(case: tuple, ctx: Context) -> str:
        items, on_error, batch_size, workers = case
        model = ctx.model(model_name)
        n = len(items)
        outcome, value = _guard(lambda: model.encode(items, on_error=on_error, return_failures=True,
                                                     batch_size=batch_size, num_workers=workers), n_items=n)
        if outcome != "ok":
            return outcome if on_error == "raise" or outcome.startswith("BAD") else f"BAD:raised under skip {outcome}"
        emb, failures = value
        return _check_rows(emb, failures, n) or f"ok:{len(failures)}-failed"

    return run


def _make_predict(rng: random.Random, ctx: Context) -> tuple:
    pairs = []
    for _ in range(rng.randint(1, 4)):
        query = rng.choice(("a cat", "", _weird_string(rng))) if rng.random() < 0.7 else _media_item(rng, ctx, "image")
        document = _media_item(rng, ctx, "image") if rng.random() < 0.7 else rng.choice(("a dog", "x" * 50))
        pairs.append((query, document))
    return pairs, rng.choice(("raise", "skip"))


def _run_predict(case: tuple, ctx: Context) -> str:
    pairs, on_error = case
    model = ctx.model("llava")
    n = len(pairs)
    outcome, value = _guard(lambda: model.predict(pairs, on_error=on_error, return_failures=True, batch_size=2,
                                                  num_workers=0), n_items=n)
    if outcome != "ok":
        return outcome if on_error == "raise" or outcome.startswith("BAD") else f"BAD:raised under skip {outcome}"
    scores, failures = value
    return _check_rows(scores, failures, n) or f"ok:{len(failures)}-failed"


MODEL_ENTRY_POINTS: dict[str, tuple[Callable, Callable]] = {
    "encode_clip": (_make_encode("clip"), _run_encode("clip")),
    "encode_clap": (_make_encode("clap"), _run_encode("clap")),
    "encode_xclip": (_make_encode("xclip"), _run_encode("xclip")),
    "predict_llava": (_make_predict, _run_predict),
}
MODEL_ENTRIES = {"encode_clip": "clip", "encode_clap": "clap", "encode_xclip": "xclip", "predict_llava": "llava"}
