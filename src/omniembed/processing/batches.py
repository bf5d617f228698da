"""Batches: one job per input item, grouped and length-sorted into batches, media decoded ahead of the model.

* :func:`plan_batches`: group by kind (a modality, or a pair kind), first-seen order, so a CLIP model takes
  ``["a cat", "cat.jpg"]`` in one call at any batch size; sort each group by length, longest first (stable), so
  a batch pads little; cut into batches. Results are keyed by the caller's index, so the order is restored.
* :class:`MediaLoader`: decodes the media sides of the jobs (``inputs.load_item``). Sides that must be read or
  decoded (paths, URLs, bytes, file objects, lazily opened images) go to a small thread pool that runs ahead of
  the model (while batch *k* is in the forward pass, batch *k+1* is decoded); sides already in memory (arrays,
  frames, loaded images) are only checked, inline, since threads would just compete with the model's. The same
  object listed several times (an image repeated in a batch, the query of every ``rank`` pair) is decoded once
  per call and freed after its last use. No thread and no per-item work when nothing needs decoding (text).
* :func:`run_batches`: the error policy around each batch. ``on_error="raise"`` raises the first per-item error
  with its index; ``"skip"`` records it as an :class:`~omniembed.errors.ItemFailure` and goes on, and a batch
  whose model step fails is retried item by item so one bad item cannot take its batch-mates down. With
  ``ahead`` (media, on an accelerator), batch *k+1*'s preprocessing (image/video processor,
  feature extractor) runs in one thread while batch *k* is in the model: same calls, same batches, same outputs.

Example:
    >>> from omniembed.processing.batches import Job, plan_batches
    >>> jobs = [Job(0, "text", ("a",), length=1), Job(1, "image", ("img",)), Job(2, "text", ("ccc",), length=3)]
    >>> [[j.index for j in batch] for batch in plan_batches(jobs, batch_size=8)]
    [[2, 0], [1]]
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from omniembed.errors import ConfigError, InputError, ItemFailure, ItemProcessingError, OmniEmbedError
from omniembed.modality import modality_key

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]
PREFETCH_BATCHES = 2


def check_on_error(on_error: Any) -> None:
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")


@dataclass
class Job:
    """One input item: its batch ``kind``, its ``sides`` (``(item,)``, or ``(query, document)`` for a pair) and
    each side's modality (``"text"`` sides pass through, the others are decoded). ``text`` is set for plain texts
    and text pairs, which the call tokenises up front: ``tokens`` (shared by the kind's jobs) and ``token_row``
    then locate the item's ids."""

    index: int
    kind: Any
    sides: tuple[Any, ...]
    modalities: tuple[Any, ...] = ("text",)
    length: int = 1
    text: Any = None
    tokens: Any = None
    token_row: int | None = None

    @property
    def media(self) -> list[tuple[Any, Any]]:
        return [(side, m) for side, m in zip(self.sides, self.modalities) if m != "text"]


def needs_reading(side: Any) -> bool:
    """Whether decoding ``side`` reads or decompresses something (worth a thread), rather than checking an object
    already in memory: strings (paths, URLs, data URIs), bytes, paths, file objects, lazily opened PIL images,
    and containers (combined dicts, chat messages, frame lists) holding any of these."""
    if isinstance(side, (str, bytes, bytearray, memoryview, os.PathLike)) or callable(getattr(side, "read", None)):
        return True
    if type(side).__module__.startswith("PIL."):
        return getattr(side, "fp", None) is not None  # Image.open() decodes on first use
    if isinstance(side, dict):
        return any(needs_reading(v) for v in side.values())
    if isinstance(side, (list, tuple)):
        return any(needs_reading(v) for v in side)
    return False


def input_length(item: Any) -> int:
    """Sort key (longest first), the reference's: characters for text, pixels/samples for arrays, else 1."""
    if isinstance(item, str):
        return len(item)
    if isinstance(item, (tuple, list)) and item and all(isinstance(p, str) for p in item):
        return sum(len(p) for p in item)
    size = getattr(item, "size", None)
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return size[0] * size[1]  # PIL image
    if hasattr(item, "shape"):
        return math.prod(item.shape) if len(item.shape) else 1
    if isinstance(item, dict):
        if "text" in item and isinstance(item["text"], str):
            return len(item["text"])
        return 1
    if isinstance(item, list) and item and isinstance(item[0], dict):  # chat messages: their text length
        return sum(len(str(m.get("content", ""))) for m in item)
    return 1


def plan_batches(jobs: Sequence[Job], batch_size: int) -> list[list[Job]]:
    """Group by kind (first-seen order), sort each group by length descending (stable), then chunk."""
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.kind, []).append(job)
    batches = []
    for group in groups.values():
        order = np.argsort(-np.fromiter((j.length for j in group), np.int64, count=len(group)), kind="stable")
        group = [group[i] for i in order]
        batches.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    return batches


class MediaLoader:
    """Decodes the media sides of jobs with ``decode(side, modality)``, once per distinct object, in threads."""

    def __init__(self, jobs: Sequence[Job], decode: Callable[[Any, Any], Any], num_workers: int) -> None:
        self.decode = decode
        # Uses per (object, modality): an entry is freed when its last user took it, so decoded media do not
        # pile up over a long call. The caller's input list keeps each object (and so its id) alive meanwhile.
        self._uses = Counter(self._key(side, m) for job in jobs for side, m in job.media)
        self._decoded: dict[tuple[int, str], Future] = {}
        self._pool = ThreadPoolExecutor(num_workers, thread_name_prefix="omniembed-load") \
            if self._uses and num_workers > 0 else None

    @staticmethod
    def _key(side: Any, modality: Any) -> tuple[int, str]:
        return id(side), modality_key(modality)

    def prefetch(self, batch: Sequence[Job]) -> None:
        if self._pool is None:
            return
        for job in batch:
            for side, modality in job.media:
                key = self._key(side, modality)
                if key not in self._decoded and needs_reading(side):
                    self._decoded[key] = self._pool.submit(self.decode, side, modality)

    def take(self, job: Job) -> tuple[Any, ...]:
        """The job's sides with media decoded; raises the side's InputError (shared by every job that holds it)."""
        decoded = []
        for side, modality in zip(job.sides, job.modalities):
            if modality == "text":
                decoded.append(side)
                continue
            key = self._key(side, modality)
            future = self._decoded.get(key)
            if future is None:  # in memory (or no pool): decode inline, still once
                future = self._decoded[key] = Future()
                try:
                    future.set_result(self.decode(side, modality))
                except BaseException as exc:  # noqa: BLE001 - every user of this object gets the same outcome
                    future.set_exception(exc)
            self._uses[key] -= 1
            if self._uses[key] <= 0:
                self._decoded.pop(key, None)
            decoded.append(future.result())
        return tuple(decoded)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def run_batches(
    batches: Sequence[list[Job]],
    loader: MediaLoader,
    assemble: Callable[[Job, tuple[Any, ...]], Any],
    process: Callable[[list[Job], list[Any]], list[Any]],
    *,
    on_error: OnError,
    progress: Any = None,
    ahead: bool = False,
) -> tuple[dict[int, Any], list[ItemFailure]]:
    """``process`` each batch of loaded values (``assemble(job, decoded_sides)``); returns ``{index: result}`` and
    the per-item failures (see the module docstring for the error policy).

    With ``ahead``, ``process`` also has ``prepare(jobs, values)`` and ``finish(jobs, prepared)`` (``process(jobs,
    values)`` being ``finish(jobs, prepare(jobs, values))``), and batch *k+1* is loaded and its ``prepare`` runs in
    a thread while batch *k* finishes; a batch whose ``prepare`` fails is retried item by item like any other."""
    results: dict[int, Any] = {}
    failures: list[ItemFailure] = []

    def fail(job: Job, exc: Exception) -> None:
        if not isinstance(exc, OmniEmbedError):  # a decoder or model error: still typed, still naming the item
            wrapped = ItemProcessingError(f"{type(exc).__name__}: {exc}", item=job.sides[0] if len(job.sides) == 1 else None)
            wrapped.__cause__ = exc
            exc = wrapped
        if isinstance(exc, InputError) and exc.index is None:
            exc = exc.at_index(job.index)
        if on_error == "raise":
            raise exc
        failures.append(ItemFailure(job.index, exc))

    def run(jobs: list[Job], values: list[Any], prepared: Future | None = None) -> None:
        try:
            outputs = process(jobs, values) if prepared is None else process.finish(jobs, prepared.result())
        except Exception as exc:
            if on_error == "raise" or len(jobs) == 1:
                if on_error == "raise" and not (isinstance(exc, InputError) and len(jobs) == 1):
                    raise
                fail(jobs[0], exc)
                return
            logger.info("A batch of %d failed (%s); retrying its items one by one.", len(jobs), exc)
            for job, value in zip(jobs, values):
                run([job], [value])
            return
        for job, output in zip(jobs, outputs):
            results[job.index] = output

    def load(batch: list[Job]) -> tuple[list[Job], list[Any]]:
        loaded_jobs, values = [], []
        for job in batch:
            try:
                values.append(assemble(job, loader.take(job)))
            except InputError as exc:
                fail(job, exc)
                continue
            except OmniEmbedError:  # a missing dependency or a bad setting: not this item's fault, stop the call
                raise
            except Exception as exc:  # noqa: BLE001 - a decoder bug hit in a worker thread: still one item's failure
                fail(job, exc)
                continue
            loaded_jobs.append(job)
        return loaded_jobs, values

    def finish(jobs: list[Job], values: list[Any], prepared: Future | None) -> None:
        if jobs:
            run(jobs, values, prepared)
        if progress is not None:
            progress.update(1)

    preparer = ThreadPoolExecutor(1, thread_name_prefix="omniembed-prepare") if ahead else None
    pending = None  # with a preparer: the batch being prepared while the one before it finishes
    try:
        for batch in _prefetched(batches, loader):
            jobs, values = load(batch)
            if preparer is None:
                finish(jobs, values, None)
                continue
            current = (jobs, values, preparer.submit(process.prepare, jobs, values) if jobs else None)
            if pending is not None:
                finish(*pending)
            pending = current
        if pending is not None:
            finish(*pending)
    finally:
        if preparer is not None:
            preparer.shutdown(wait=True, cancel_futures=True)
    return results, failures


def _prefetched(batches: Sequence[list[Job]], loader: MediaLoader) -> Iterator[list[Job]]:
    """The batches in order, each one's decoding started ``PREFETCH_BATCHES - 1`` batches ahead of its turn."""
    pending: deque[list[Job]] = deque()
    for batch in batches:
        loader.prefetch(batch)
        pending.append(batch)
        if len(pending) >= PREFETCH_BATCHES:
            yield pending.popleft()
    while pending:
        yield pending.popleft()
