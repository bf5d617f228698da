"""The predict loop: classify pairs → group/sort/batch → decode media (threads) → preprocess → forward → scores.

The twin of :mod:`omniembed.models.encoding` for :class:`~omniembed.models.cross_encoder.CrossEncoder`, on the
same engine (:mod:`omniembed.processing.pipeline`): batches are sorted by length and the caller's order restored,
so scores do not depend on ``batch_size``. Post-processing per batch is the reference's: logits upcast to fp32 →
activation → ``(B, 1)`` squeezed to ``(B,)`` → softmax over labels when asked.

Failed pairs under ``on_error="skip"`` score NaN and are reported as :class:`~omniembed.errors.ItemFailure`.

Example:
    >>> from omniembed.models.scoring import order_ranking
    >>> order_ranking([0.2, float("nan"), 0.9], top_k=None)
    [{'corpus_id': 2, 'score': 0.9}, {'corpus_id': 0, 'score': 0.2}, {'corpus_id': 1, 'score': nan}]
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from omniembed.errors import ItemFailure
from omniembed.inputs.missing import screen_missing_files
from omniembed.models import pairs
from omniembed.models.encoding import sort_by_tokens
from omniembed.processing.pipeline import Job, make_jobs, run_jobs
from omniembed.util.tensor import batch_to_device

logger = logging.getLogger(__name__)


@dataclass
class ScoreRequest:
    inputs: Any
    prompt: str | None = None
    batch_size: int = 32
    show_progress_bar: bool | None = None
    activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = None
    apply_softmax: bool = False
    convert_to_numpy: bool = True
    convert_to_tensor: bool = False
    device: str | None = None
    on_error: str = "raise"
    num_workers: int | None = None
    media: Any = None
    processing_kwargs: dict | None = None


def is_singular_pair_input(inputs: Any) -> bool:
    """The reference's rule: a list/tuple whose first item is not a list/tuple is ONE pair; a 1-D numpy string
    array is one pair and a 2-D one a batch; anything that is not a sequence is one input."""
    from omniembed.inputs.detect import _module_type

    list_types: tuple[type, ...] = (list, tuple)
    column = _module_type("datasets", "Column")
    if column is not None:
        list_types += (column,)
    if isinstance(inputs, list_types):
        return len(inputs) > 0 and not isinstance(inputs[0], list_types)
    if isinstance(inputs, np.ndarray) and inputs.dtype.kind in ("U", "O"):
        return inputs.size > 0 and inputs.ndim < 2
    return True


def _as_items(inputs: Any, singular: bool) -> list[Any]:
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()  # numpy strings → str, so detection sees ordinary Python values
    if singular:
        return [inputs]
    return inputs if isinstance(inputs, list) else list(inputs)


def classify_jobs(model: Any, items: list[Any], on_error: str) -> tuple[list[Job], list[ItemFailure]]:
    """Every pair's kind and sides' modalities, checked against the model; problems become failures or raise."""
    first = model[0]
    scorer = first if hasattr(first, "preprocess_pairs") else None
    message_format = ((getattr(first, "modality_config", None) or {}).get("message") or {}).get("format",
                                                                                              "structured")
    supported = model.modalities

    def make_job(index: int, item: Any) -> Job:
        kind, pair = pairs.classify(item, supported, scorer=scorer, message_format=message_format)
        return Job(index, pair, kind, pairs.pair_length(pair))

    return make_jobs(items, make_job, on_error)


def _text_pair(job: Job) -> tuple[str, str] | None:
    sides = job.item.sides
    if job.modality == pairs.TEXT_PAIR and len(sides) == 2 and all(isinstance(s, str) for s in sides):
        return tuple(sides)
    return None


def postprocess(scores: torch.Tensor, *, num_labels: int, activation_fn: Any, apply_softmax: bool) -> torch.Tensor:
    """The reference's order: fp32 upcast (ties in bf16 logits are real) → activation → squeeze → softmax."""
    if torch.is_floating_point(scores) and torch.finfo(scores.dtype).bits < 32:
        scores = scores.float()
    if activation_fn is not None:
        scores = activation_fn(scores)
    if num_labels == 1 and scores.ndim > 1:
        scores = scores.squeeze(-1)
    if apply_softmax and scores.ndim > 1:
        scores = torch.nn.functional.softmax(scores, dim=1)
    return scores


def run_predict(model: Any, req: ScoreRequest) -> tuple[Any, list[ItemFailure]]:
    """Score every pair of ``req.inputs``; returns ``(scores, failures)`` (see CrossEncoder.predict)."""
    device, show = model.prepare_call(batch_size=req.batch_size, on_error=req.on_error,
                                      show_progress_bar=req.show_progress_bar, device=req.device)
    singular = is_singular_pair_input(req.inputs)
    items = _as_items(req.inputs, singular)
    num_labels = model.num_labels

    jobs, failures = classify_jobs(model, items, req.on_error)
    jobs = screen_missing_files(jobs, failures, req.media, model.modalities, req.on_error)
    sort_by_tokens(model, jobs, _text_pair)

    def process(batch_jobs: list[Job], values: list[pairs.Pair]) -> list[torch.Tensor]:
        features = pairs.preprocess(model, batch_jobs[0].modality, values, req.prompt, req.processing_kwargs)
        features = batch_to_device(features, device)
        with torch.inference_mode():
            out = model.forward(features)
            scores = postprocess(out["scores"], num_labels=num_labels, activation_fn=req.activation_fn,
                                 apply_softmax=req.apply_softmax)
        return list(scores)

    rows = run_jobs(jobs, len(items), batch_size=req.batch_size, load=pairs.make_loader(model, req.media),
                    needs_loading=lambda job: job.item.needs_loading, process=process, failures=failures,
                    num_workers=req.num_workers, on_error=req.on_error, show_progress_bar=show, noun="pairs")
    result = finalize_scores(rows, num_labels=num_labels, convert_to_numpy=req.convert_to_numpy,
                             convert_to_tensor=req.convert_to_tensor, device=device)
    if singular:
        result = result[0]
    return result, failures


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
