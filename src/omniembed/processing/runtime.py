"""The runtime of ``encode``, ``encode_query``/``encode_document``, ``predict`` and ``rank``: one call, top to bottom.

1. **Modality.** The task classifies every item (``infer_modality``, or a pair's kind and sides); a bad item
   raises, or becomes a failure under ``on_error="skip"``.
2. **Tokens.** Plain texts (and text pairs) are tokenised once, unpadded, by the model's first module: the
   token counts sort the batches, and each batch is then only padded.
3. **Batches.** Grouped by modality, sorted by length, cut to ``batch_size``; media decoded ahead in threads
   (:mod:`omniembed.processing.batches`).
4. **Per batch:** the task's preprocessing → ``model(features)`` (``nn.Module.__call__``, so forward hooks and
   ``torch.compile`` apply) → the task's post-processing, one row per item. When the call has media and the model
   runs on an accelerator, batch *k+1*'s preprocessing runs in a thread while batch *k* is in the model.

What differs between embedding and scoring is a :class:`Task` (:mod:`.embeddings`, :mod:`.scores`); what a call
was asked for is a frozen :class:`CallContext`, built by ``ModelBase.call_context``. The caller turns the rows
into the final output once (quantisation over the whole call, conversion), so a multi-process pool can merge rows
from its workers first.

Example:
    >>> from omniembed import SentenceTransformer
    >>> from omniembed.processing.embeddings import Embedding
    >>> model = SentenceTransformer(minilm_folder, device="cpu")
    >>> rows, failures = run(model.call_context(batch_size=8), Embedding(), ["a cat", "a dog"])
    >>> len(rows), tuple(rows[0].shape), failures
    (2, (384,), [])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from omniembed.errors import InputError, ItemFailure
from omniembed.families.text import TokenRows
from omniembed.inputs.missing import screen_missing_files
from omniembed.processing.batches import Job, MediaLoader, OnError, needs_reading, plan_batches, run_batches
from omniembed.util.tensor import batch_to_device

logger = logging.getLogger(__name__)

__all__ = ["CallContext", "Task", "run"]


@dataclass(frozen=True)
class CallContext:
    """What one call was asked for, checked and fixed before the first batch."""

    model: Any  # the SentenceTransformer / CrossEncoder: a sequence of modules
    prompt: str | None = None
    batch_size: int = 32
    device: torch.device | None = None
    on_error: OnError = "raise"
    media: Any = None  # omniembed.inputs.MediaOptions, or None for the defaults
    processing_kwargs: dict | None = None  # the reference's per-call processor options
    forward_kwargs: Mapping[str, Any] = field(default_factory=dict)  # e.g. task="query" for a Router
    num_workers: int | None = None  # decoding threads (None: min(4, CPUs); 0: inline)
    show_progress_bar: bool = False


class Task(Protocol):
    """The steps that differ between embedding and scoring."""

    noun: str  # what the items are called in warnings ("inputs", "pairs")

    def classify(self, ctx: CallContext, index: int, item: Any) -> Job:
        """The item's job: its kind, its sides and their modalities (raises an InputError for a bad item)."""

    def decode(self, ctx: CallContext, side: Any, modality: Any, hints: dict[str, Any]) -> Any:
        """One media side → its decoded form (``inputs.load_item`` with the model's ``hints`` for the modality)."""

    def assemble(self, job: Job, sides: tuple[Any, ...]) -> Any:
        """A job's value once its media are decoded."""

    def prepare(self, ctx: CallContext, kind: Any, values: Any) -> dict[str, Any]:
        """One batch of values (or of pre-tokenised texts, ``TokenRows``) → model features."""

    def postprocess(self, ctx: CallContext, out: dict[str, Any]) -> list[Any]:
        """The model's output features → one row per item of the batch."""


def run(ctx: CallContext, task: Task, items: Sequence[Any]) -> tuple[list[Any], list[ItemFailure]]:
    """One row per item (None where it failed) and the failures, sorted by index (see the module docstring)."""
    jobs, failures = _classify(ctx, task, items)
    jobs = screen_missing_files(jobs, failures, ctx.media, ctx.model.modalities, ctx.on_error, items)
    _tokenize_texts(ctx, jobs)
    rows: list[Any] = [None] * len(items)
    if jobs:
        from tqdm.auto import tqdm

        loader = MediaLoader(jobs, _Decoder(ctx, task, jobs), _decoding_threads(ctx, jobs))
        batches = plan_batches(jobs, ctx.batch_size)
        bar = tqdm(total=len(batches), desc="Batches", disable=not ctx.show_progress_bar)  # batches, as the reference
        try:
            results, batch_failures = run_batches(
                batches, loader, task.assemble, _Step(ctx, task), on_error=ctx.on_error,
                progress=bar, ahead=_prepare_ahead(ctx, jobs),
            )
        finally:
            bar.close()
            loader.close()
        failures.extend(batch_failures)
        for index, row in results.items():
            rows[index] = row
    failures.sort(key=lambda f: f.index)
    if failures:
        logger.warning("%d of %d %s failed and were skipped: %s", len(failures), len(items), task.noun,
                       "; ".join(str(f) for f in failures[:5]))
    return rows, failures


def _classify(ctx: CallContext, task: Task, items: Sequence[Any]) -> tuple[list[Job], list[ItemFailure]]:
    jobs, failures = [], []
    for index, item in enumerate(items):
        try:
            jobs.append(task.classify(ctx, index, item))
        except InputError as exc:
            located = exc.at_index(index)  # a copy that keeps the original's cause and traceback
            if ctx.on_error == "raise":
                raise located
            failures.append(ItemFailure(index, located))
    return jobs, failures


def _tokenize_texts(ctx: CallContext, jobs: list[Job]) -> None:
    """Tokenise each kind's texts once, when the first module can; their token counts become the sort lengths."""
    pretokenize = getattr(ctx.model[0], "pretokenize", None)
    if pretokenize is None:
        return
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        if job.text is not None:
            groups.setdefault(job.kind, []).append(job)
    for group in groups.values():
        texts = [job.text for job in group]
        if len({type(t) for t in texts}) > 1:  # single texts and pairs need separate tokenizer calls
            continue
        tokens = pretokenize(texts, ctx.prompt, processing_kwargs=ctx.processing_kwargs, **ctx.forward_kwargs)
        if tokens is None:
            continue
        for row, (job, length) in enumerate(zip(group, tokens.lengths.tolist())):
            job.tokens, job.token_row, job.length = tokens, row, length


def _decoding_threads(ctx: CallContext, jobs: list[Job]) -> int:
    """Threads for decoding: none when nothing needs reading (text, arrays, loaded images), else the call's number
    or min(4, CPUs)."""
    if not any(needs_reading(side) for job in jobs for side, _ in job.media):
        return 0
    return ctx.num_workers if ctx.num_workers is not None else min(4, os.cpu_count() or 1)


class _Decoder:
    """``task.decode`` for the loader threads, with the context bound and the model's loader hints for each media
    modality of the call (for a Router, those of the route that takes it; the call's ``processing_kwargs``
    included), asked once, before any thread starts."""

    def __init__(self, ctx: CallContext, task: Task, jobs: list[Job]) -> None:
        self.ctx, self.task = ctx, task
        source = getattr(ctx.model[0], "media_hints", None)
        modalities = dict.fromkeys(m for job in jobs for _, m in job.media)
        self.hints = {m: source(m, ctx.processing_kwargs) if source else {} for m in modalities}

    def __call__(self, side: Any, modality: Any) -> Any:
        return self.task.decode(self.ctx, side, modality, self.hints[modality])


class _Step:
    """One batch: preprocessing (``prepare``, which may run in a thread ahead of the model) → forward →
    post-processing (``finish``)."""

    def __init__(self, ctx: CallContext, task: Task) -> None:
        self.ctx, self.task = ctx, task

    def __call__(self, jobs: list[Job], values: list[Any]) -> list[Any]:
        return self.finish(jobs, self.prepare(jobs, values))

    def prepare(self, jobs: list[Job], values: list[Any]) -> dict[str, Any]:
        ctx, tokens = self.ctx, jobs[0].tokens
        if tokens is not None and all(job.tokens is tokens for job in jobs):  # texts tokenised up front: pad them
            values = TokenRows(tokens, tuple(job.token_row for job in jobs))
        return batch_to_device(self.task.prepare(ctx, jobs[0].kind, values), ctx.device)

    def finish(self, jobs: list[Job], features: dict[str, Any]) -> list[Any]:
        with torch.inference_mode():
            out = self.ctx.model(features, **self.ctx.forward_kwargs)
            return self.task.postprocess(self.ctx, out)


def _prepare_ahead(ctx: CallContext, jobs: list[Job]) -> bool:
    """Whether each batch's preprocessing runs in a thread while the batch before it is in the model: when the call
    has media (text batches are only padded) and the model runs on an accelerator, where the forward waits on the
    device with the GIL released. On CPU it stays inline: measured on a 2-core machine with one torch thread (a
    core left over), a preparation thread gained 0–5% wall clock on video frames and images, because the
    processors' per-frame Python and the model's Python take turns at the GIL, and cost 5–9% more CPU time."""
    return getattr(ctx.device, "type", "cpu") != "cpu" and any(job.media for job in jobs)
