"""``encode_iter``: embed any iterable (a generator over a million files) chunk by chunk, in bounded memory.

Items are read ``chunk_size`` at a time; each chunk is one ``encode`` call (in this process, or on a pool's
workers with a few chunks in flight), and ``(indices, embeddings)`` is yielded as soon as it is the next chunk
in input order. Memory holds a handful of chunks, whatever the length of the input. ``indices`` are positions
in the iterable (a numpy ``int64`` array); with ``on_error="skip"`` failed rows are NaN as in ``encode``, and
``return_failures=True`` yields ``(indices, embeddings, failures)`` with failures indexed the same way.

``precision`` ``int8``/``uint8`` is refused: their ranges come from the data, and one chunk is not the data;
encode float32 and quantise with ``quantize_embeddings(emb, "int8", ranges=...)`` using ranges of your choice.

Example:
    >>> from omniembed import SentenceTransformer                                      # doctest: +SKIP
    >>> model = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")          # doctest: +SKIP
    >>> lines = (line.strip() for line in open("corpus.txt"))                           # doctest: +SKIP
    >>> for indices, emb in model.encode_iter(lines, chunk_size=10_000):                # doctest: +SKIP
    ...     store.add(indices, emb)
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from omniembed.errors import ConfigError, ItemFailure
from omniembed.parallel.calls import (
    check_call,
    chunk_failures,
    chunked,
    default_chunk_size,
    encode_worker_kwargs,
    finish_embeddings,
    open_pool,
    show_bar,
)
from omniembed.parallel.pool import MultiProcessPool

STREAM_CHUNK_SIZE = 1000  # when the iterable has no length to apply the reference's formula to
CHUNKS_IN_FLIGHT_PER_WORKER = 2  # keeps every worker busy while the next chunk in order is awaited


def encode_iter(model: Any, inputs: Iterable[Any], *, chunk_size: int | None = None,
                pool: MultiProcessPool | None = None, device: Any = None, return_failures: bool = False,
                **call: Any) -> Iterator[tuple[Any, ...]]:
    """See the module docstring; ``call`` holds ``encode``'s other arguments."""
    from tqdm.auto import tqdm

    call.setdefault("on_error", "raise")
    check_call(call.get("batch_size", 32), chunk_size, call["on_error"])
    if call.get("precision") in ("int8", "uint8"):
        raise ConfigError(
            f"encode_iter cannot quantise to {call['precision']}: its ranges must span the whole data, and each "
            "chunk would get its own. Encode with precision='float32' and call omniembed.util."
            "quantize_embeddings(embeddings, precision, ranges=...) with ranges computed once.")
    multi = pool is not None or (isinstance(device, (list, tuple)) and len(device) > 0)
    if not multi:
        call["device"] = device if not isinstance(device, (list, tuple)) else None
    if chunk_size is None:
        workers = len(pool) if pool is not None else (len(device) if multi else 1)
        chunk_size = default_chunk_size(len(inputs), workers) if hasattr(inputs, "__len__") else STREAM_CHUNK_SIZE
    bar = tqdm(desc="Chunks", unit="chunk", disable=not show_bar(call.get("show_progress_bar")))
    try:
        chunks = _chunks_on_pool(model, inputs, chunk_size, pool, device, call) if multi else \
            _chunks_here(model, inputs, chunk_size, call)
        for start, embeddings, failures in chunks:
            bar.update(1)
            indices = np.arange(start, start + len(embeddings), dtype=np.int64)
            yield (indices, embeddings, failures) if return_failures else (indices, embeddings)
    finally:
        bar.close()


def _chunks_here(model: Any, inputs: Iterable[Any], chunk_size: int, call: dict[str, Any]):
    kwargs = {**call, "show_progress_bar": False, "return_failures": True}
    for start, chunk in chunked(inputs, chunk_size):
        embeddings, failures = model.encode(chunk, **kwargs)
        moved = []
        for failure in failures:
            error = failure.error
            if hasattr(error, "at_index") and getattr(error, "index", None) is not None:
                error.at_index(start + failure.index)
            moved.append(ItemFailure(start + failure.index, error))
        yield start, embeddings, moved


def _chunks_on_pool(model: Any, inputs: Iterable[Any], chunk_size: int, pool: MultiProcessPool | None,
                    devices: Any, call: dict[str, Any]):
    pool, owned = open_pool(model, pool, devices)
    try:
        window = CHUNKS_IN_FLIGHT_PER_WORKER * len(pool)
        kwargs = encode_worker_kwargs(model, call)
        for result in pool.map_chunks("encode", chunked(inputs, chunk_size), kwargs, window=window):
            failures = chunk_failures(result, call["on_error"])
            yield result.start, finish_embeddings(model, [result], failures, call), failures
    finally:
        if owned:
            pool.stop()
