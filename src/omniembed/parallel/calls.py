"""``encode(pool=...)`` / ``predict(pool=...)``: ``ModelBase.run`` hands the call here; it is cut into chunks, each
chunk runs through :func:`omniembed.processing.runtime.run` in a worker, and the rows are merged in order.

The reference's semantics: ``device=["cpu", "cpu"]`` starts a pool for the call and stops it after;
``chunk_size`` defaults to ``max(1, min(ceil(n / workers / 10), 5000))``; the progress bar counts chunks; the
caller finalises the merged rows once (int8 ranges span the whole call); tensors come back on the CPU.

Beyond it: workers receive the caller's items as they are (paths, URLs, bytes…) and decode them; per-item
failures (``on_error="skip"``) come back with indices in the caller's list; a chunk lost to a worker that died
twice is reported as failures (skip) or raised as :class:`~omniembed.errors.WorkerError` (raise).

A worker runs the caller's own :class:`~omniembed.processing.runtime.CallContext` (its model and device swapped
for the worker's) and task, so a pool result equals ``[run(ctx, task, chunk) for chunk in chunks]`` bit for bit.
A call of plain texts is cut into chunks from its length-sorted order (:func:`length_order`), so each chunk pads
little; any other call is cut in input order. Against one call over the whole list the batches are composed
differently (length sorting happens per chunk), which moves values by ~1e-7.

Example:
    >>> default_chunk_size(100_000, 4), default_chunk_size(10, 2)
    (2500, 1)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from omniembed.errors import ConfigError, InputError, ItemFailure
from omniembed.inputs import infer_modality
from omniembed.parallel.pool import ChunkResult, MultiProcessPool
from omniembed.parallel.wire import CallSpec

logger = logging.getLogger(__name__)

MAX_DEFAULT_CHUNK = 5000


def default_chunk_size(n_items: int, n_workers: int) -> int:
    """The reference's default: about ten chunks per worker, at most 5000 items each."""
    return max(1, min(math.ceil(n_items / max(1, n_workers) / 10), MAX_DEFAULT_CHUNK))


def open_pool(model: Any, pool: MultiProcessPool | None, devices: Any) -> tuple[MultiProcessPool, bool]:
    """The pool to use and whether this call owns it (``device=[...]`` starts a temporary one)."""
    if pool is None:
        return MultiProcessPool(model, list(devices)), True
    check_pool(model, pool)
    if pool.model is not model:
        raise ConfigError("This pool was started by another model: start one with this model's "
                          "start_multi_process_pool().")
    if not pool.running:
        raise ConfigError("This multi-process pool has been stopped; start a new one.")
    return pool, False


def check_pool(model: Any, pool: Any) -> None:
    if not isinstance(pool, MultiProcessPool):
        raise ConfigError(f"Multi-process calls need a pool from {type(model).__name__}.start_multi_process_pool(), "
                          f"got {type(pool).__name__}.")


def chunked(items: Iterable[Any], chunk_size: int) -> Iterator[tuple[range, list[Any]]]:
    """``(positions, chunk)`` pairs over any iterable, reading ``chunk_size`` items at a time. Open files are read
    here: workers receive their bytes."""
    iterator, start = iter(items), 0
    while True:
        chunk = []
        for item in iterator:
            if callable(getattr(item, "read", None)) and not isinstance(item, (str, bytes)):
                item = item.read()  # an open file cannot travel to a worker; its bytes can
            chunk.append(item)
            if len(chunk) == chunk_size:
                break
        if not chunk:
            return
        yield range(start, start + len(chunk)), chunk
        start += len(chunk)


def chunk_outcome(result: ChunkResult, on_error: str) -> tuple[list[Any], list[ItemFailure]]:
    """A chunk's rows and its failures with the caller's indices; raises what the caller must see under
    ``raise`` (the worker's first error, re-indexed, or the WorkerError of a chunk lost twice)."""
    if result.error is not None:
        error = result.error
        if isinstance(error, InputError) and error.index is not None:
            error = error.at_index(result.positions[error.index])
        raise error
    if result.lost is not None:
        if on_error == "raise":
            raise result.lost
        return [None] * len(result.items), [ItemFailure(i, result.lost) for i in result.lost.indices]
    failures = []
    for local, error in result.failures:
        index = result.positions[local]
        if isinstance(error, InputError):
            error = error.at_index(index)
        failures.append(ItemFailure(index, error))
    return list(result.output), failures


def iter_multi_process(model: Any, ctx: Any, task: Any, chunks: Iterable[tuple[Sequence[int], list[Any]]], *,
                       pool: MultiProcessPool | None, devices: Any, window: int | None = None
                       ) -> Iterator[tuple[Sequence[int], list[Any], list[ItemFailure]]]:
    """``(positions, rows, failures)`` per chunk, in the order of ``chunks``, with at most ``window`` chunks read
    ahead."""
    pool, owned = open_pool(model, pool, devices)
    try:
        spec = CallSpec.of(ctx, task)
        for result in pool.map_chunks(spec, chunks, window=window):
            rows, failures = chunk_outcome(result, ctx.on_error)
            yield result.positions, rows, failures
    finally:
        if owned:
            pool.stop()


def run_multi_process(model: Any, ctx: Any, task: Any, items: Sequence[Any], *, pool: MultiProcessPool | None,
                      devices: Any, chunk_size: int | None) -> tuple[list[Any], list[ItemFailure]]:
    """``ModelBase.run`` on a pool: one row per item (None where it failed) and the failures, sorted by index."""
    from tqdm.auto import tqdm

    if pool is not None:
        check_pool(model, pool)
    workers = len(pool) if pool is not None else len(devices)
    size = chunk_size or default_chunk_size(len(items), workers)
    order = length_order(items, model.modalities)
    chunks = chunked(items, size) if order is None else (
        (order[i:i + size], [items[j] for j in order[i:i + size]]) for i in range(0, len(items), size))
    rows: list[Any] = [None] * len(items)
    failures: list[ItemFailure] = []
    with tqdm(total=math.ceil(len(items) / size), desc="Chunks", disable=not ctx.show_progress_bar) as bar:
        for positions, chunk_rows, chunk_failures in iter_multi_process(model, ctx, task, chunks, pool=pool,
                                                                        devices=devices):
            for position, row in zip(positions, chunk_rows):
                rows[position] = row
            failures.extend(chunk_failures)
            bar.update(1)
    failures.sort(key=lambda f: f.index)
    if failures:
        logger.warning("%d of %d %s failed and were skipped: %s", len(failures), len(items), task.noun,
                       "; ".join(str(f) for f in failures[:5]))
    return rows, failures


def _is_text(item: Any, modalities: Sequence[Any]) -> bool:
    if isinstance(item, (tuple, list)):
        return len(item) == 2 and all(_is_text(side, modalities) for side in item)
    if not isinstance(item, str):
        return False
    if list(modalities) == ["text"]:
        return True
    try:  # a string may be a path, a URL or a data URI
        return infer_modality(item, modalities) == "text"
    except InputError:
        return False


def length_order(items: Sequence[Any], modalities: Sequence[Any] = ("text",)) -> list[int] | None:
    """For a call of plain texts (or text pairs): the positions sorted longest first (characters, stable), which
    the pool cuts into chunks, so each chunk holds texts of similar length. Chunks cut in input order would each
    sort only their own few texts: 2,000 benchmark sentences in chunks of 100 pad to 87,628 tokens instead of
    49,136 for one sorted call; cut from this order, to 50,540. None when an item is anything else (paths, URLs,
    media: they cost their decoding, not padding, and keep the input order).

    >>> length_order(["a", "ccc", "bb"]), length_order(["a", b"png"])
    ([1, 2, 0], None)
    """
    if len(items) < 2 or not all(_is_text(item, modalities) for item in items):
        return None
    lengths = [len(item) if isinstance(item, str) else len(item[0]) + len(item[1]) for item in items]
    return sorted(range(len(items)), key=lambda i: -lengths[i])
