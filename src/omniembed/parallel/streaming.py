"""``encode_iter``: embed any iterable (a generator over a million files) chunk by chunk, in bounded memory.

Items are read ``chunk_size`` at a time; each chunk runs through the model's dispatch point (``ModelBase.run``:
in this process, or on a pool's workers with a few chunks in flight), and ``(indices, embeddings)`` is yielded as
soon as it is the next chunk in input order. Memory holds a handful of chunks, whatever the length of the input.
``indices`` are positions in the iterable (a numpy ``int64`` array); with ``on_error="skip"`` failed rows are NaN
as in ``encode``, and ``return_failures=True`` yields ``(indices, embeddings, failures)`` with failures indexed
the same way. Arguments are checked and resolved once, by the code ``encode`` uses (``_plan_encode``).

``precision`` ``int8``/``uint8`` is refused: their ranges come from the data, and one chunk is not the data;
encode float32 and quantise with ``quantize_embeddings(emb, "int8", ranges=...)`` using ranges of your choice.

Example:
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, device="cpu")
    >>> chunks = model.encode_iter((f"item {i}" for i in range(3)), chunk_size=2, return_failures=True)
    >>> [(indices.tolist(), emb.shape, failures) for indices, emb, failures in chunks]
    [([0, 1], (2, 384), []), ([2], (1, 384), [])]
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from omniembed.errors import ConfigError, ItemFailure
from omniembed.parallel.calls import check_pool, chunked, default_chunk_size, iter_multi_process

STREAM_CHUNK_SIZE = 1000  # when the iterable has no length to apply the reference's formula to
CHUNKS_IN_FLIGHT_PER_WORKER = 2  # keeps every worker busy while the next chunk in order is awaited
_NOT_ENCODE_ARGS = ("self", "inputs", "pool", "chunk_size", "return_failures", "kwargs")


def encode_iter(model: Any, inputs: Iterable[Any], *, chunk_size: int | None = None, pool: Any = None,
                device: Any = None, return_failures: bool = False, **call: Any) -> Iterator[tuple[Any, ...]]:
    """See the module docstring; ``call`` holds ``encode``'s other arguments."""
    if call.get("precision") in ("int8", "uint8"):
        raise ConfigError(
            f"encode_iter cannot quantise to {call['precision']}: its ranges must span the whole data, and each "
            "chunk would get its own. Encode with precision='float32' and call omniembed.util."
            "quantize_embeddings(embeddings, precision, ranges=...) with ranges computed once.")
    devices = list(device) if isinstance(device, (list, tuple)) else None
    if pool is not None:
        check_pool(model, pool)
    ctx, task, finish = model._plan_encode(**_encode_arguments(model, call, device, chunk_size))
    if chunk_size is None:
        workers = len(pool) if pool is not None else (len(devices) if devices else 1)
        chunk_size = default_chunk_size(len(inputs), workers) if hasattr(inputs, "__len__") else STREAM_CHUNK_SIZE
    return _generate(model, ctx, task, finish, chunked(inputs, chunk_size), pool, devices, return_failures)


def _encode_arguments(model: Any, call: dict[str, Any], device: Any, chunk_size: int | None) -> dict[str, Any]:
    """``encode``'s defaults, overridden by the call's arguments; the rest are the model's kwargs (``task``…)."""
    parameters = inspect.signature(type(model).encode).parameters
    known = {name: p.default for name, p in parameters.items() if name not in _NOT_ENCODE_ARGS}
    arguments = {name: call.pop(name, default) for name, default in known.items()}
    arguments.update(device=device, chunk_size=chunk_size, kwargs=call)
    return arguments


def _generate(model: Any, ctx: Any, task: Any, finish: Any, chunks: Iterator[tuple[range, list[Any]]], pool: Any,
              devices: list[Any] | None, return_failures: bool) -> Iterator[tuple[Any, ...]]:
    from tqdm.auto import tqdm

    bar = tqdm(desc="Chunks", unit="chunk", disable=not ctx.show_progress_bar)
    try:
        if pool is not None or devices:
            window = CHUNKS_IN_FLIGHT_PER_WORKER * (len(pool) if pool is not None else len(devices))
            results = iter_multi_process(model, ctx, task, chunks, pool=pool, devices=devices, window=window)
        else:
            results = _in_process(model, ctx, task, chunks)
        for positions, rows, failures in results:
            bar.update(1)
            indices = np.asarray(positions, dtype=np.int64)
            embeddings = finish(rows)
            yield (indices, embeddings, failures) if return_failures else (indices, embeddings)
    finally:
        bar.close()


def _in_process(model: Any, ctx: Any, task: Any, chunks: Iterator[tuple[range, list[Any]]]):
    ctx = dataclasses.replace(ctx, show_progress_bar=False)  # the bar counts chunks, not each chunk's batches
    for positions, chunk in chunks:
        rows, failures = model.run(ctx, task, chunk)
        moved = []
        for failure in failures:
            error, index = failure.error, positions[failure.index]
            if hasattr(error, "at_index") and getattr(error, "index", None) is not None:
                error = error.at_index(index)
            moved.append(ItemFailure(index, error))
        yield positions, rows, moved
