"""Scoring: what ``predict`` and ``rank`` add to the runtime (:mod:`omniembed.processing.runtime`), step by step.

* **Kind** of each input: a text pair, a chat pair or a scorer pair, with each side's modality
  (:func:`omniembed.processing.pairs.classify`; a text-only reranker takes two strings as a text pair at once).
* **Decoding**: every media side through :func:`omniembed.inputs.load_item`, each distinct object once per call
  (``rank(image, documents)`` decodes the query image once).
* **Preprocessing**: :func:`omniembed.processing.pairs.preprocess`.
* **Post-processing** per batch, the reference's: logits upcast to fp32 → activation → ``(B, 1)`` squeezed to
  ``(B,)`` → softmax over labels when asked; then :func:`finalize_scores` for the whole call. Failed pairs
  (``on_error="skip"``) score NaN.

Example:
    >>> order_ranking([0.2, float("nan"), 0.9], top_k=None)
    [{'corpus_id': 2, 'score': 0.9}, {'corpus_id': 0, 'score': 0.2}, {'corpus_id': 1, 'score': nan}]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from omniembed.inputs.detect import module_type
from omniembed.modality import MEDIA
from omniembed.processing import pairs
from omniembed.processing.batches import Job
from omniembed.processing.runtime import CallContext

__all__ = ["Scoring", "as_pair_items", "finalize_scores", "is_singular_pair_input", "order_ranking"]


def is_singular_pair_input(inputs: Any) -> bool:
    """The reference's rule: a list/tuple whose first item is not a list/tuple is ONE pair; a 1-D numpy string
    array is one pair and a 2-D one a batch; anything that is not a sequence is one input."""
    list_types: tuple[type, ...] = (list, tuple)
    column = module_type("datasets", "Column")
    if column is not None:
        list_types += (column,)
    if isinstance(inputs, list_types):
        return len(inputs) > 0 and not isinstance(inputs[0], list_types)
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in ("U", "O"):
        return inputs.size > 0 and inputs.ndim < 2
    return True


def as_pair_items(inputs: Any, singular: bool) -> list[Any]:
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()  # numpy strings → str, so detection sees ordinary Python values
    if singular:
        return [inputs]
    return inputs if isinstance(inputs, list) else list(inputs)


@dataclass(frozen=True)
class Scoring:
    """The scoring task of one ``predict`` call (see the module docstring)."""

    modalities: tuple[Any, ...] = ("text",)  # the model's
    scorer: Any = None  # a first module with its own pair scorer (GenerativeScore)
    message_format: str = "structured"
    num_labels: int = 1
    activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    apply_softmax: bool = False
    noun: str = "pairs"

    @property
    def strings_make_text_pairs(self) -> bool:
        """Two strings are a text pair, whatever they look like, on a text-only reranker without a chat template."""
        return (self.scorer is None and "text" in self.modalities and "message" not in self.modalities
                and not any(m in self.modalities for m in MEDIA))

    def classify(self, ctx: CallContext, index: int, item: Any) -> Job:
        if (type(item) in (tuple, list) and len(item) == 2 and type(item[0]) is str and type(item[1]) is str
                and self.strings_make_text_pairs):
            return Job(index, pairs.TEXT_PAIR, tuple(item), ("text", "text"), length=len(item[0]) + len(item[1]),
                       text=tuple(item))
        kind, pair = pairs.classify(item, self.modalities, scorer=self.scorer, message_format=self.message_format)
        text = pair.sides if kind == pairs.TEXT_PAIR else None
        return Job(index, kind, pair.sides, pair.modalities, length=pairs.pair_length(pair), text=text)

    def decode(self, ctx: CallContext, side: Any, modality: Any, hints: dict[str, Any]) -> Any:
        from omniembed.inputs.loader import load_item  # Pillow/PyAV only when media are actually loaded

        if isinstance(side, dict) and isinstance(modality, str) and set(side) == {modality}:
            # {"image": x} and {"image": [x, y]}: decode as a one-key combined input (lists allowed)
            return load_item(side, (modality,), options=ctx.media, **hints)
        return load_item(side, modality, options=ctx.media, **hints)

    def assemble(self, job: Job, sides: tuple[Any, ...]) -> pairs.Pair:
        return pairs.Pair(sides, job.modalities)

    def prepare(self, ctx: CallContext, kind: Any, values: Any) -> dict[str, Any]:
        return pairs.preprocess(ctx.model[0], kind, values, ctx.prompt, ctx.processing_kwargs)

    def postprocess(self, ctx: CallContext, out: dict[str, Any]) -> list[torch.Tensor]:
        """The reference's order: fp32 upcast (ties in bf16 logits are real) → activation → squeeze → softmax."""
        scores = out["scores"]
        if torch.is_floating_point(scores) and torch.finfo(scores.dtype).bits < 32:
            scores = scores.float()
        if self.activation_fn is not None:
            scores = self.activation_fn(scores)
        if self.num_labels == 1 and scores.ndim > 1:
            scores = scores.squeeze(-1)
        if self.apply_softmax and scores.ndim > 1:
            scores = torch.nn.functional.softmax(scores, dim=1)
        return list(scores)


def finalize_scores(rows: list[torch.Tensor | None], *, num_labels: int, convert_to_numpy: bool,
                    convert_to_tensor: bool, device: torch.device) -> Any:
    """Rows (one per pair, None where it failed) → a tensor / numpy array / list, failed rows NaN."""
    if not rows:
        if convert_to_tensor:
            return torch.tensor([], device=device)
        return np.array([]) if convert_to_numpy else []
    template = next((r for r in rows if r is not None), None)
    if template is None:
        template = torch.zeros((num_labels,) if num_labels > 1 else (), device=device)
    filler = torch.full_like(template, float("nan"))
    stacked = torch.stack([filler if r is None else r for r in rows])
    if convert_to_tensor:
        return stacked
    if convert_to_numpy:
        return stacked.float().cpu().numpy()
    return list(stacked)


def order_ranking(scores: list[float], top_k: int | None, documents: list[Any] | None = None) -> list[dict]:
    """``[{"corpus_id", "score"(, "text")}]`` best first; NaN scores (failed documents) go last, in input order,
    so ``sorted`` never sees a NaN (its order would be undefined)."""
    results = []
    for i, score in enumerate(scores):
        entry: dict[str, Any] = {"corpus_id": i, "score": float(score)}
        if documents is not None:
            entry["text"] = documents[i]
        results.append(entry)
    scored = sorted((r for r in results if not math.isnan(r["score"])), key=lambda r: r["score"], reverse=True)
    failed = [r for r in results if math.isnan(r["score"])]
    return (scored + failed)[:top_k]
