"""A pool of worker processes that each hold the model once and encode (or score) chunks of a call.

What it adds to the reference's pool (``start_multi_process_pool``), whose shape it keeps:

* **one pipe per worker**, and one chunk in flight per worker, so the parent always knows which chunk a worker
  holds. A worker that dies (segfault in a decoder, OOM kill) is noticed through its process sentinel, never by
  waiting on a queue that will not answer; a fresh worker takes its place and retries that chunk once; a second
  death reports the chunk's items as lost (:class:`~omniembed.errors.WorkerError`);
* the model's tensors are moved to shared memory once (``share_memory()``), so a worker, or its replacement,
  receives handles, not weights; when ``/dev/shm`` is too small (Docker's 64 MB default) the model is sent as
  a plain pickle instead, once per worker start;
* CPU workers split the cores between them (``torch.set_num_threads``) instead of oversubscribing them;
* the pool is a context manager and is stopped at interpreter exit; workers also exit when the parent dies.

Chunks flow through :meth:`MultiProcessPool.map_chunks`, which yields results in input order while keeping at
most ``window`` chunks outstanding (the bounded-memory path of ``encode_iter``). Several calls may share a
pool (e.g. two ``encode_iter`` generators consumed in turn): results are routed by call id, and those of an
abandoned call are dropped when they arrive.

Example:
    >>> from omniembed import SentenceTransformer                           # doctest: +SKIP
    >>> model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> with model.start_multi_process_pool(["cpu", "cpu"]) as pool:          # doctest: +SKIP
    ...     emb = model.encode(sentences, pool=pool, chunk_size=256)

Calls reach it from ``ModelBase.run`` (:mod:`omniembed.parallel.calls`) as a
:class:`~omniembed.parallel.wire.CallSpec` plus chunks of the caller's items.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import multiprocessing
import pickle
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

from omniembed.errors import ConfigError, UnsupportedInputError, WorkerError
from omniembed.parallel.processes import (
    default_target_devices,
    exit_description,
    model_payload,
    reap,
    usable_cpus,
)
from omniembed.parallel.wire import CallSpec, unpack
from omniembed.parallel.worker import worker_main

logger = logging.getLogger(__name__)

RETRIES_AFTER_DEATH = 1  # a chunk whose worker died is retried once, in the fresh worker that replaces it
STARTUP_DEATHS_ALLOWED = 2  # a slot whose worker keeps dying before it is ready stops the pool
_LIVE_POOLS: weakref.WeakSet = weakref.WeakSet()


@dataclass(eq=False)
class Chunk:
    call_id: int
    chunk_id: int
    positions: Sequence[int]  # the caller's index of each item (a range, or a length-sorted selection)
    items: Any
    deaths: int = 0
    pinned_slot: int | None = None  # a retried chunk waits for the fresh worker of the slot that died


@dataclass
class ChunkResult:
    """One chunk's outcome: ``output`` (tensors unpacked) and ``failures`` as ``(local_index, error)``;
    ``error`` when the chunk raised; ``lost`` (a WorkerError) when its worker died twice."""

    chunk_id: int
    positions: Sequence[int]
    items: Any
    output: Any = None
    failures: list[tuple[int, BaseException]] = field(default_factory=list)
    error: BaseException | None = None
    lost: WorkerError | None = None


@dataclass
class _Call:
    call_id: int
    spec: CallSpec
    pending: deque = field(default_factory=deque)
    results: dict[int, ChunkResult] = field(default_factory=dict)
    in_flight: int = 0

    def outstanding(self) -> int:
        return len(self.pending) + self.in_flight + len(self.results)


@dataclass(eq=False)
class _Worker:
    slot: int
    device: str
    process: Any
    conn: Any
    ready: bool = False
    task: Chunk | None = None


class MultiProcessPool:
    """Worker processes holding ``model`` on ``target_devices`` (one worker per entry).

    Use it through ``model.start_multi_process_pool()`` / ``model.encode(..., pool=pool)`` /
    ``model.stop_multi_process_pool(pool)``, or as a context manager. ``pool["processes"]`` gives the worker
    processes, as in the reference's pool dict.
    """

    def __init__(self, model: Any, target_devices: list[str] | None = None) -> None:
        devices = [str(d) for d in (target_devices if target_devices else default_target_devices())]
        self.model = model
        self.target_devices = devices
        self._ctx = multiprocessing.get_context("spawn")  # fork would copy threads and CUDA state
        self._lock = threading.RLock()
        self._ids = itertools.count()
        self._calls: dict[int, _Call] = {}
        self._startup_deaths: dict[int, int] = {}
        self._stopped = False
        self._payload = model_payload(model)
        cpu_workers = sum(1 for d in devices if d.startswith("cpu"))
        self._cpu_threads = max(1, usable_cpus() // cpu_workers) if cpu_workers else None
        self._workers: list[_Worker] = []
        try:
            for slot, device in enumerate(devices):
                self._workers.append(self._spawn(slot, device))
        except BaseException:
            self.stop()
            raise
        _LIVE_POOLS.add(self)

    # -- public surface -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.target_devices)

    def __enter__(self) -> MultiProcessPool:  # noqa: PYI034 - not meant to be subclassed
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __getitem__(self, key: str) -> Any:
        if key == "processes":
            return self.processes
        raise KeyError(key)

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else f"{len(self)} workers"
        return f"MultiProcessPool({type(self.model).__name__}, {state}, devices={self.target_devices})"

    @property
    def processes(self) -> list[Any]:
        return [w.process for w in self._workers]

    @property
    def running(self) -> bool:
        return not self._stopped

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every worker: ask politely, then terminate, then kill; idempotent."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            for worker in self._workers:
                try:
                    worker.conn.send(None)
                except (BrokenPipeError, EOFError, OSError):
                    pass
            deadline = time.monotonic() + timeout
            for worker in self._workers:
                reap(worker.process, max(0.1, deadline - time.monotonic()))
                worker.conn.close()
            self._calls.clear()
            _LIVE_POOLS.discard(self)

    # -- running chunks -------------------------------------------------------------------------------------
    def map_chunks(self, spec: CallSpec, chunks: Iterable[tuple[Sequence[int], Any]], *,
                   window: int | None = None) -> Iterator[ChunkResult]:
        """Run the call ``spec`` on each ``(positions, items)`` chunk in a worker (``positions``: the caller's index
        of each item); yield results in order (``output`` holds the
        chunk's rows). At most ``window`` chunks are read from ``chunks`` ahead of the one being yielded
        (unbounded when None)."""
        if self._stopped:
            raise ConfigError("This multi-process pool has been stopped; start a new one.")
        limit = window if window is not None else float("inf")
        call = _Call(next(self._ids), spec)
        self._calls[call.call_id] = call
        source, exhausted, produced, next_id = iter(chunks), False, 0, 0
        try:
            while True:
                while not exhausted and call.outstanding() < limit:
                    try:
                        positions, items = next(source)
                    except StopIteration:
                        exhausted = True
                        break
                    call.pending.append(Chunk(call.call_id, produced, positions, items))
                    produced += 1
                if next_id in call.results:
                    yield call.results.pop(next_id)
                    next_id += 1
                    continue
                if exhausted and next_id == produced:
                    return
                with self._lock:
                    self._dispatch(call)
                    self._pump(timeout=1.0)
        finally:
            self._calls.pop(call.call_id, None)

    # -- internals ------------------------------------------------------------------------------------------
    def _spawn(self, slot: int, device: str) -> _Worker:
        parent_end, child_end = self._ctx.Pipe(duplex=True)
        threads = self._cpu_threads if device.startswith("cpu") else None
        process = self._ctx.Process(target=worker_main, args=(child_end, self._payload, device, threads),
                                    name=f"omniembed-pool-{slot}", daemon=True)
        process.start()
        child_end.close()  # so the parent sees EOF when the worker dies
        return _Worker(slot, device, process, parent_end)

    def _dispatch(self, call: _Call) -> None:
        for worker in self._workers:
            if not (worker.ready and worker.task is None) or not call.pending:
                continue
            chunk = next((c for c in call.pending if c.pinned_slot in (None, worker.slot)), None)
            if chunk is None:
                continue
            call.pending.remove(chunk)
            worker.task = chunk
            call.in_flight += 1
            try:
                worker.conn.send((call.call_id, chunk.chunk_id, call.spec, chunk.items))
            except (BrokenPipeError, EOFError, OSError):
                pass  # it died: its sentinel fires and _on_death puts the chunk back
            except Exception as exc:  # pickling failed before anything was written: name the item
                worker.task = None
                call.in_flight -= 1
                raise _unsendable(call.spec, chunk, exc) from exc

    def _pump(self, timeout: float) -> None:
        """Wait for one round of messages or deaths and handle them."""
        by_handle: dict[Any, _Worker] = {}
        for worker in self._workers:
            by_handle[worker.conn] = worker
            by_handle[worker.process.sentinel] = worker
        for handle in wait(list(by_handle), timeout):
            worker = by_handle[handle]
            if worker not in self._workers:
                continue  # already replaced during this round
            if handle is worker.conn:
                try:
                    self._on_message(worker, worker.conn.recv())
                    continue
                except (EOFError, OSError):
                    pass  # the worker closed its end: it is dying; handled below as a death
            self._drain(worker)
            self._on_death(worker)

    def _drain(self, worker: _Worker) -> None:
        try:
            while worker.conn.poll():
                self._on_message(worker, worker.conn.recv())
        except (EOFError, OSError):
            pass

    def _on_message(self, worker: _Worker, message: tuple) -> None:
        kind = message[0]
        if kind == "ready":
            worker.ready = True
            self._startup_deaths.pop(worker.slot, None)
            return
        if kind == "startup_error":
            self.stop()
            error = message[1]
            raise WorkerError(f"A pool worker on {worker.device} could not load the model: "
                              f"{type(error).__name__}: {error}") from error
        chunk, worker.task = worker.task, None
        call = self._calls.get(message[1])
        if chunk is None or call is None:
            return  # the call was abandoned (an exception, or a generator closed early): drop its result
        call.in_flight -= 1
        result = ChunkResult(chunk.chunk_id, chunk.positions, chunk.items)
        if kind == "done":
            result.output, result.failures = unpack(message[3]), message[4]
        else:
            result.error = message[3]
        call.results[chunk.chunk_id] = result

    def _on_death(self, worker: _Worker) -> None:
        reap(worker.process, 1.0)
        worker.conn.close()
        how = exit_description(worker.process.exitcode)
        chunk = worker.task
        if not worker.ready:
            deaths = self._startup_deaths.get(worker.slot, 0) + 1
            self._startup_deaths[worker.slot] = deaths
            if deaths >= STARTUP_DEATHS_ALLOWED:
                self.stop()
                raise WorkerError(f"A pool worker on {worker.device} {how} before it was ready, "
                                  f"{deaths} times in a row; the pool is stopped.", reason=how)
        replacement = self._spawn(worker.slot, worker.device)
        self._workers[self._workers.index(worker)] = replacement
        call = self._calls.get(chunk.call_id) if chunk is not None else None
        if call is None:
            logger.warning("A pool worker on %s %s; a fresh worker replaces it.", worker.device, how)
            return
        call.in_flight -= 1
        chunk.deaths += 1
        items = describe_positions(chunk.positions)
        if chunk.deaths <= RETRIES_AFTER_DEATH:
            logger.warning("A pool worker on %s %s while holding items %s; retrying them in a fresh worker.",
                           worker.device, how, items)
            chunk.pinned_slot = worker.slot
            call.pending.appendleft(chunk)
            return
        lost = WorkerError(
            f"Items {items} were lost: the pool worker holding them {how}, and so did the fresh "
            f"worker that retried them (a decoder crash or running out of memory on one of these items?).",
            indices=tuple(sorted(chunk.positions)), reason=f"the pool worker {how} twice on this item's chunk")
        call.results[chunk.chunk_id] = ChunkResult(chunk.chunk_id, chunk.positions, chunk.items, lost=lost)


def describe_positions(positions: Sequence[int]) -> str:
    """``"8-11"`` for consecutive positions, else the sorted list (at most ten shown).

    >>> describe_positions(range(8, 12)), describe_positions([17, 3, 9])
    ('8-11', '3, 9, 17')
    """
    ordered = sorted(positions)
    if ordered and ordered[-1] - ordered[0] == len(ordered) - 1:
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(map(str, ordered[:10])) + (", …" if len(ordered) > 10 else "")


def _unsendable(spec: CallSpec, chunk: Chunk, exc: Exception) -> Exception:
    """What could not be pickled: the first such item of ``chunk`` (an error naming its index), or a setting of
    the call (a lambda as ``activation_fn``…)."""
    for offset, item in enumerate(chunk.items):
        try:
            pickle.dumps(item)
        except Exception as item_exc:  # noqa: BLE001 - any pickling failure names this item
            return UnsupportedInputError(
                f"cannot be sent to a pool worker ({type(item_exc).__name__}: {item_exc}); pass a path, URL, bytes "
                "or an array instead", item=item).at_index(chunk.positions[offset])
    try:
        pickle.dumps(spec)
    except Exception as spec_exc:  # noqa: BLE001 - any pickling failure of the settings
        return ConfigError(f"This call's settings cannot be sent to a pool worker ({type(spec_exc).__name__}: "
                           f"{spec_exc}); pass picklable ones (a module-level function or an nn.Module, not a "
                           "lambda).")
    return exc


@atexit.register
def _stop_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        try:
            pool.stop(timeout=2.0)
        except Exception as exc:  # noqa: BLE001 - best effort at exit  # pragma: no cover
            logger.debug("Stopping a pool at exit failed: %s", exc)
