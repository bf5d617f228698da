"""Dynamic batching: the items of concurrent requests, queued per model, run together in one model call.

Each served model has one :class:`DynamicBatcher` and one worker thread, so the event loop never waits on the
model (or on fetching and decoding, which happen inside the model call's own prefetch threads). Requests
``submit`` their items under a key (the encode parameters that must be equal inside one call: task, prompt…)
and await the returned future. The worker takes the oldest queued request, adds later requests with the same
key up to ``max_batch_size`` items, waiting at most ``wait_s`` after the oldest one arrived, runs them in one
call and hands each request its own rows. A request is never split, so one larger than ``max_batch_size`` runs
alone (the model call cuts it into batches itself). If a combined call raises, each request is retried alone,
so one request's problem cannot fail the others.

Example:
    >>> from omniembed.server.batcher import DynamicBatcher
    >>> batcher = DynamicBatcher("upper", lambda key, items: [s.upper() for s in items], max_batch_size=8)
    >>> batcher.start()
    >>> batcher.submit("k", ["a", "b"]).result()
    ['A', 'B']
    >>> batcher.close()
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchStats", "BatcherClosedError", "DynamicBatcher"]

logger = logging.getLogger(__name__)


class BatcherClosedError(RuntimeError):
    """The server is shutting down and takes no new work."""


@dataclass
class _Pending:
    key: Hashable
    items: list[Any]
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class BatchStats:
    """What one model call did, for metrics: items, requests, seconds queued (per request) and running."""

    name: str
    items: int
    requests: int
    queue_seconds: tuple[float, ...]
    run_seconds: float


class DynamicBatcher:
    """Collects requests' items and runs ``run(key, items) -> one result per item`` on a worker thread."""

    def __init__(
        self,
        name: str,
        run: Callable[[Hashable, list[Any]], Sequence[Any]],
        *,
        max_batch_size: int = 32,
        wait_s: float = 0.005,
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        self.name, self.run = name, run
        self.max_batch_size, self.wait_s = max(1, max_batch_size), max(0.0, wait_s)
        self.on_batch = on_batch
        self._pending: list[_Pending] = []
        self._cond = threading.Condition(threading.RLock())
        self._closing = False
        self._flushing = False
        self._thread: threading.Thread | None = None

    # -- public --------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"omniembed-batcher-{self.name}", daemon=True)
            self._thread.start()

    def submit(self, key: Hashable, items: list[Any]) -> Future:
        """Queue ``items``; the future resolves to their results, in order."""
        pending = _Pending(key, list(items))
        if not pending.items:
            pending.future.set_result([])
            return pending.future
        with self._cond:
            if self._closing:
                raise BatcherClosedError(f"the batcher for {self.name!r} is shutting down")
            self._pending.append(pending)
            self._cond.notify()
        return pending.future

    @property
    def queued_items(self) -> int:
        with self._cond:
            return sum(len(p.items) for p in self._pending)

    def flush(self) -> None:
        """Stop waiting for batches to fill: from now on, queued items run as soon as the model is free (the
        server is shutting down, so no more requests will join them). Safe to call from a signal handler."""
        self._flushing = True
        with self._cond:  # a reentrant lock: fine even if the signal interrupted this thread inside submit()
            self._cond.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Stop taking work, finish everything already queued, then stop the worker."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- worker --------------------------------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return  # closing, and nothing left to drain
                chosen = self._collect()
            self._execute(chosen)

    def _collect(self) -> list[_Pending]:
        """Called with the lock held: the oldest request plus same-key ones, waiting up to ``wait_s`` for more."""
        first = self._pending[0]
        deadline = first.enqueued + self.wait_s
        while True:
            chosen, count = [first], len(first.items)
            for pending in self._pending[1:]:
                if pending.key == first.key and count + len(pending.items) <= self.max_batch_size:
                    chosen.append(pending)
                    count += len(pending.items)
            remaining = deadline - time.perf_counter()
            if count >= self.max_batch_size or self._closing or self._flushing or remaining <= 0:
                break
            self._cond.wait(remaining)
        taken = {id(p) for p in chosen}
        self._pending = [p for p in self._pending if id(p) not in taken]
        return chosen

    def _execute(self, chosen: list[_Pending]) -> None:
        live = [p for p in chosen if p.future.set_running_or_notify_cancel()]
        if not live:
            return
        started = time.perf_counter()
        items = [item for p in live for item in p.items]
        try:
            results = list(self.run(live[0].key, items))
            if len(results) != len(items):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(items)} items")
        except BaseException as exc:  # noqa: BLE001 - every error must reach its requests, never kill the worker
            if len(live) > 1:
                logger.info("A combined batch of %d requests failed (%s); running them one by one.", len(live), exc)
                for pending in live:
                    self._run_alone(pending)
                return
            live[0].future.set_exception(exc)
            return
        self._report(live, len(items), started)
        offset = 0
        for pending in live:
            pending.future.set_result(results[offset: offset + len(pending.items)])
            offset += len(pending.items)

    def _run_alone(self, pending: _Pending) -> None:
        started = time.perf_counter()
        try:
            results = list(self.run(pending.key, pending.items))
        except BaseException as exc:  # noqa: BLE001
            pending.future.set_exception(exc)
            return
        self._report([pending], len(pending.items), started)
        pending.future.set_result(results)

    def _report(self, live: list[_Pending], n_items: int, started: float) -> None:
        if self.on_batch is None:
            return
        stats = BatchStats(self.name, n_items, len(live), tuple(started - p.enqueued for p in live),
                           time.perf_counter() - started)
        try:
            self.on_batch(stats)
        except Exception:  # metrics must never break serving
            logger.exception("batch metrics callback failed")
