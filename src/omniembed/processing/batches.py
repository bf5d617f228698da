"""The batching engine shared by ``encode`` and ``predict``.

Items are grouped by modality (so a CLIP model can take ``["a cat", "cat.jpg"]`` in one call at any batch
size), sorted by length inside each group (less padding), cut into batches, and loaded (fetch + decode) in a
small thread pool that runs ahead of the model: while batch *k* is in the forward pass, batch *k+1* is being
decoded. Results come back keyed by the caller's indices, so the output order is the input order.

``on_error="raise"`` raises the first per-item error with its index; ``"skip"`` records it as an
:class:`~omniembed.errors.ItemFailure` and goes on. A batch whose model step fails under ``"skip"`` is retried
item by item, so one bad item cannot take its batch-mates down with it.

Example:
    >>> from omniembed.processing.pipeline import Job, plan_batches
    >>> jobs = [Job(0, "a", "text", 1), Job(1, "img", "image", 1), Job(2, "ccc", "text", 3)]
    >>> [[j.index for j in batch] for batch in plan_batches(jobs, batch_size=8)]
    [[2, 0], [1]]
"""

from __future__ import annotations

import copy
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from omniembed.errors import InputError, ItemFailure

logger = logging.getLogger(__name__)

OnError = Literal["raise", "skip"]


@dataclass
class Job:
    """One input item on its way through the pipeline."""

    index: int
    item: Any
    modality: Any
    length: int = 1


def plan_batches(jobs: Sequence[Job], batch_size: int) -> list[list[Job]]:
    """Group by modality (first-seen order), sort each group by length descending (stable), then chunk."""
    groups: dict[Any, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.modality, []).append(job)
    batches = []
    for group in groups.values():
        group = sorted(group, key=lambda j: -j.length)
        batches.extend(group[i : i + batch_size] for i in range(0, len(group), batch_size))
    return batches


def check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")


class BatchRunner:
    """Runs ``load`` per item (threaded, prefetched) and ``process`` per batch; see the module docstring."""

    def __init__(
        self,
        load: Callable[[Job], Any],
        *,
        num_workers: int = 4,
        prefetch_batches: int = 2,
        on_error: OnError = "raise",
        needs_loading: Callable[[Job], bool] = lambda job: True,
    ) -> None:
        check_on_error(on_error)
        self.load, self.num_workers, self.on_error = load, num_workers, on_error
        self.prefetch_batches = max(1, prefetch_batches)
        self.needs_loading = needs_loading
        self.failures: list[ItemFailure] = []
        # The same object listed twice (one lazily opened PIL image, one path string) is decoded once: two
        # threads decoding one PIL file handle at once corrupt each other. Entries live while in flight only.
        self._in_flight: dict[tuple[int, str], Future] = {}

    def run(
        self,
        batches: Iterable[list[Job]],
        process: Callable[[list[Job], list[Any]], list[Any]],
        *,
        progress: Any = None,
    ) -> dict[int, Any]:
        """Returns ``{index: result}`` for every item that succeeded; failures are in ``self.failures``."""
        results: dict[int, Any] = {}
        pool = ThreadPoolExecutor(self.num_workers, thread_name_prefix="omniembed-load") if self.num_workers else None
        try:
            pending: deque[tuple[list[Job], list[Future | None]]] = deque()
            batch_iter = iter(batches)
            for batch in batch_iter:
                pending.append((batch, self._submit(pool, batch)))
                if len(pending) < self.prefetch_batches:
                    continue
                self._finish(*pending.popleft(), process, results, progress)
            while pending:
                self._finish(*pending.popleft(), process, results, progress)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        return results

    def _submit(self, pool: ThreadPoolExecutor | None, batch: list[Job]) -> list[Future | None]:
        if pool is None:
            return [None] * len(batch)
        futures: list[Future | None] = []
        for job in batch:
            if not self.needs_loading(job):
                futures.append(None)
                continue
            key = (id(job.item), repr(job.modality))
            if key not in self._in_flight:
                self._in_flight[key] = pool.submit(self.load, job)
            futures.append(self._in_flight[key])
        return futures

    def _finish(self, batch, futures, process, results, progress) -> None:
        loaded_jobs, loaded = [], []
        for job, future in zip(batch, futures):
            key = (id(job.item), repr(job.modality))
            if future is not None and self._in_flight.get(key) is future:
                del self._in_flight[key]  # later batches holding the same future keep their own reference
            try:
                if future is not None:
                    value = future.result()
                elif self.needs_loading(job):
                    value = self.load(job)
                else:
                    value = job.item
            except InputError as exc:
                # a shared future hands every job the same exception object: each failure gets its own index
                self._fail(job, copy.copy(exc) if future is not None else exc)
                continue
            loaded_jobs.append(job)
            loaded.append(value)
        if loaded_jobs:
            self._process(loaded_jobs, loaded, process, results)
        if progress is not None:
            progress.update(len(batch))

    def _process(self, jobs, values, process, results) -> None:
        try:
            outputs = process(jobs, values)
        except Exception as exc:
            if self.on_error == "raise" or len(jobs) == 1:
                if self.on_error == "raise":
                    if isinstance(exc, InputError) and len(jobs) == 1 and exc.index is None:
                        exc.at_index(jobs[0].index)
                    raise
                self._fail(jobs[0], exc)
                return
            logger.info("A batch of %d failed (%s); retrying its items one by one.", len(jobs), exc)
            for job, value in zip(jobs, values):
                self._process([job], [value], process, results)
            return
        for job, output in zip(jobs, outputs):
            results[job.index] = output

    def _fail(self, job: Job, exc: Exception) -> None:
        if isinstance(exc, InputError) and exc.index is None:
            exc.at_index(job.index)
        if self.on_error == "raise":
            raise exc
        self.failures.append(ItemFailure(job.index, exc))


def input_length(item: Any) -> int:
    """Sort key for batching (longest first): characters for text, pixels/samples for arrays, else 1."""
    if isinstance(item, str):
        return len(item)
    if isinstance(item, (tuple, list)) and item and all(isinstance(p, str) for p in item):
        return sum(len(p) for p in item)
    size = getattr(item, "size", None)
    if isinstance(size, tuple) and len(size) == 2 and all(isinstance(s, int) for s in size):
        return size[0] * size[1]  # PIL image
    if hasattr(item, "shape"):
        return int(np.prod(item.shape)) if len(item.shape) else 1
    if isinstance(item, dict):
        if "text" in item and isinstance(item["text"], str):
            return len(item["text"])
        return 1
    if isinstance(item, list) and item and isinstance(item[0], dict):  # chat messages: their text length
        return sum(len(str(m.get("content", ""))) for m in item)
    return 1


def make_jobs(
    items: Sequence[Any], make_job: Callable[[int, Any], Job], on_error: OnError
) -> tuple[list[Job], list[ItemFailure]]:
    """One Job per item via ``make_job`` (detection/validation); an InputError names its index and either
    raises or becomes a failure, per ``on_error``."""
    jobs, failures = [], []
    for index, item in enumerate(items):
        try:
            jobs.append(make_job(index, item))
        except InputError as exc:
            exc.at_index(index)
            if on_error == "raise":
                raise
            failures.append(ItemFailure(index, exc))
    return jobs, failures


def default_workers(jobs: Sequence[Job], needs_loading: Callable[[Job], bool], requested: int | None) -> int:
    """Threads for decoding: none when nothing needs loading (text), else ``requested`` or min(4, CPUs)."""
    if not any(needs_loading(job) for job in jobs):
        return 0
    return requested if requested is not None else min(4, os.cpu_count() or 1)


def run_jobs(
    jobs: Sequence[Job],
    n_items: int,
    *,
    batch_size: int,
    load: Callable[[Job], Any],
    needs_loading: Callable[[Job], bool],
    process: Callable[[list[Job], list[Any]], list[Any]],
    failures: list[ItemFailure],
    num_workers: int | None = None,
    on_error: OnError = "raise",
    show_progress_bar: bool = False,
    noun: str = "inputs",
) -> list[Any]:
    """Plan, load and process ``jobs``; one result per input position (None where the item failed).

    Failures (from detection, already in ``failures``, and from loading/processing) end sorted by index, and
    a warning summarises them.
    """
    from tqdm.auto import tqdm

    rows: list[Any] = [None] * n_items
    if jobs:
        runner = BatchRunner(load, num_workers=default_workers(jobs, needs_loading, num_workers),
                             on_error=on_error, needs_loading=needs_loading)
        bar = tqdm(total=len(jobs), desc="Batches", disable=not show_progress_bar)
        try:
            results = runner.run(plan_batches(jobs, batch_size), process, progress=bar)
        finally:
            bar.close()
        failures.extend(runner.failures)
        for index, row in results.items():
            rows[index] = row
    failures.sort(key=lambda f: f.index)
    if failures:
        logger.warning("%d of %d %s failed and were skipped: %s", len(failures), n_items, noun,
                       "; ".join(str(f) for f in failures[:5]))
    return rows

