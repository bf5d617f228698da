"""``encode(pool=...)`` / ``predict(pool=...)``: cut the call into chunks, run them on a pool, merge in order.

The reference's semantics: ``device=["cpu", "cpu"]`` starts a pool for the call and stops it after;
``chunk_size`` defaults to ``max(1, min(ceil(n / workers / 10), 5000))``; the progress bar counts chunks;
quantisation runs once on the merged result (int8 ranges span the whole call); tensors come back on the CPU.

Beyond it: workers receive the caller's items as they are (paths, URLs, bytes…) and decode them; per-item
failures (``on_error="skip"``) come back with indices in the caller's list; a chunk lost to a worker that died
twice is reported as failures (skip) or raised as :class:`~omniembed.errors.WorkerError` (raise).

Each chunk is encoded by the model's own ``encode`` in a worker, so a pool result equals
``np.concatenate([model.encode(chunk) for chunk in chunks])`` bit for bit; against one ``encode`` over the whole
list the batches are composed differently (length sorting happens per chunk), which moves values by ~1e-7.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import torch

from omniembed.errors import ConfigError, InputError, ItemFailure
from omniembed.parallel.pool import ChunkResult, MultiProcessPool

logger = logging.getLogger(__name__)

MAX_DEFAULT_CHUNK = 5000


def default_chunk_size(n_items: int, n_workers: int) -> int:
    """The reference's default: about ten chunks per worker, at most 5000 items each."""
    return max(1, min(math.ceil(n_items / max(1, n_workers) / 10), MAX_DEFAULT_CHUNK))


def check_call(batch_size: int, chunk_size: int | None, on_error: str) -> None:
    if chunk_size is not None and chunk_size < 1:
        raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size}.")
    if batch_size is None or batch_size < 1:
        raise ConfigError(f"batch_size must be a positive integer, got {batch_size}.")
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")


def show_bar(show_progress_bar: bool | None) -> bool:
    if show_progress_bar is None:  # the reference's rule: a bar when the log level shows INFO
        return logging.getLogger("omniembed").getEffectiveLevel() <= logging.INFO
    return bool(show_progress_bar)


def open_pool(model: Any, pool: MultiProcessPool | None, devices: Any) -> tuple[MultiProcessPool, bool]:
    """The pool to use and whether this call owns it (``device=[...]`` starts a temporary one)."""
    if pool is None:
        return MultiProcessPool(model, list(devices)), True
    if not isinstance(pool, MultiProcessPool):
        raise ConfigError(f"pool must come from {type(model).__name__}.start_multi_process_pool(), got "
                          f"{type(pool).__name__}.")
    if pool.model is not model:
        raise ConfigError("This pool was started by another model: start one with this model's "
                          "start_multi_process_pool().")
    if not pool.running:
        raise ConfigError("This multi-process pool has been stopped; start a new one.")
    return pool, False


def chunked(items: Iterable[Any], chunk_size: int, as_batch: Any = tuple) -> Iterator[tuple[int, Any]]:
    """``(start, chunk)`` pairs over any iterable, reading ``chunk_size`` items at a time.

    Chunks are tuples for ``encode``: a tuple is always a batch, whereas a list starting with a chat message
    would be read as one conversation. Open files are read here: workers receive their bytes.
    """
    iterator, start = iter(items), 0
    while True:
        chunk = []
        for item in iterator:
            if hasattr(item, "read") and not isinstance(item, (str, bytes)):
                item = item.read()  # an open file cannot travel to a worker; its bytes can
            chunk.append(item)
            if len(chunk) == chunk_size:
                break
        if not chunk:
            return
        yield start, as_batch(chunk)
        start += len(chunk)


def chunk_failures(result: ChunkResult, on_error: str) -> list[ItemFailure]:
    """A chunk's failures with the caller's indices; raises what the caller must see under ``raise``."""
    if result.error is not None:
        error = result.error
        if isinstance(error, InputError) and error.index is not None:
            error.at_index(result.start + error.index)
        raise error
    if result.lost is not None:
        if on_error == "raise":
            raise result.lost
        return [ItemFailure(i, result.lost) for i in result.lost.indices]
    failures = []
    for local, error in result.failures:
        if isinstance(error, InputError):
            error.at_index(result.start + local)
        failures.append(ItemFailure(result.start + local, error))
    return failures


def run_on_pool(model: Any, pool: MultiProcessPool, method: str, items: list[Any], kwargs: dict[str, Any], *,
                chunk_size: int | None, on_error: str, show_progress_bar: bool | None,
                as_batch: Any = tuple) -> tuple[list[ChunkResult], list[ItemFailure]]:
    from tqdm.auto import tqdm

    size = chunk_size or default_chunk_size(len(items), len(pool))
    results, failures = [], []
    with tqdm(total=math.ceil(len(items) / size), desc="Chunks", disable=not show_bar(show_progress_bar)) as bar:
        for result in pool.map_chunks(method, chunked(items, size, as_batch), kwargs):
            failures.extend(chunk_failures(result, on_error))
            results.append(result)
            bar.update(1)
    if failures:
        logger.warning("%d of %d items failed and were skipped: %s", len(failures), len(items),
                       "; ".join(str(f) for f in failures[:5]))
    return results, failures


# -- encode -------------------------------------------------------------------------------------------------
def encode_worker_kwargs(model: Any, call: dict[str, Any]) -> dict[str, Any]:
    """What each worker's ``encode`` gets: float rows, failures returned, and the caller's model state resolved
    here (a worker's copy of the model dates from the pool's start)."""
    kwargs = dict(call)
    prompt = model.resolve_prompt(kwargs.pop("prompt", None), kwargs.pop("prompt_name", None))
    sentence = kwargs.get("output_value") == "sentence_embedding"
    kwargs.update(
        prompt=prompt, show_progress_bar=False, precision="float32", convert_to_tensor=sentence,
        convert_to_numpy=False, return_failures=True, device=None,
        truncate_dim=call.get("truncate_dim") if call.get("truncate_dim") is not None else model.truncate_dim,
        media=call.get("media") if call.get("media") is not None else model.media,
    )
    if prompt is None:
        kwargs["prompt_name"] = None  # "no prompt" resolved here, so a worker does not apply a default one
    return kwargs


def finish_embeddings(model: Any, results: list[ChunkResult], failures: list[ItemFailure],
                      call: dict[str, Any]) -> Any:
    """Merged rows → what ``encode`` returns for these arguments (quantised once, over every row)."""
    from omniembed.processing.outputs import finalize_embeddings

    rows: list[Any] = []
    for result in results:
        if result.lost is not None:
            rows.extend([None] * len(result.items))
        else:
            rows.extend(list(result.output))
    for failure in failures:
        rows[failure.index - (results[0].start if results else 0)] = None
    output_value = call.get("output_value", "sentence_embedding")
    convert_to_tensor = bool(call.get("convert_to_tensor", False))
    convert_to_numpy = bool(call.get("convert_to_numpy", True)) and not convert_to_tensor
    if output_value != "sentence_embedding":
        convert_to_numpy = convert_to_tensor = False
    return finalize_embeddings(
        rows, output_value=output_value, precision=call.get("precision", "float32"),
        convert_to_numpy=convert_to_numpy, convert_to_tensor=convert_to_tensor,
        width=model.get_embedding_dimension(), dtype=model.dtype,
    )


def encode_multi_process(model: Any, inputs: Any, *, pool: MultiProcessPool | None, devices: Any,
                         chunk_size: int | None, return_failures: bool, **call: Any) -> Any:
    """``SentenceTransformer.encode`` with ``pool=`` or ``device=[...]`` (see the module docstring)."""
    from omniembed.inputs import is_singular_input
    from omniembed.util.quantization import check_precision

    if pool is None and not devices:  # an empty device list: the reference runs in this process
        return model.encode(inputs, chunk_size=chunk_size, return_failures=return_failures, **call)
    check_call(call.get("batch_size", 32), chunk_size, call.get("on_error", "raise"))
    check_precision(call.get("precision", "float32"), allow_none=True)
    singular = is_singular_input(inputs)
    items = [inputs] if singular else list(inputs)
    pool, owned = open_pool(model, pool, devices)
    try:
        results, failures = run_on_pool(
            model, pool, "encode", items, encode_worker_kwargs(model, call), chunk_size=chunk_size,
            on_error=call.get("on_error", "raise"), show_progress_bar=call.get("show_progress_bar"))
    finally:
        if owned:
            pool.stop()
    embeddings = finish_embeddings(model, results, failures, call)
    if singular:
        embeddings = embeddings[0]
    return (embeddings, failures) if return_failures else embeddings


# -- predict ------------------------------------------------------------------------------------------------
def predict_multi_process(model: Any, inputs: Any, *, pool: MultiProcessPool | None, devices: Any,
                          chunk_size: int | None, return_failures: bool, **call: Any) -> Any:
    """``CrossEncoder.predict`` with ``pool=`` or ``device=[...]``: scores merged in order, on the CPU."""
    from omniembed.models.scoring import is_singular_pair_input

    if pool is None and not devices:
        return model.predict(inputs, chunk_size=chunk_size, return_failures=return_failures, **call)
    check_call(call.get("batch_size", 32), chunk_size, call.get("on_error", "raise"))
    singular = is_singular_pair_input(inputs)
    if isinstance(inputs, np.ndarray):
        inputs = inputs.tolist()
    items = [inputs] if singular else list(inputs)
    kwargs = dict(call)
    kwargs.update(
        prompt=model.resolve_prompt(kwargs.pop("prompt", None), kwargs.pop("prompt_name", None)),
        show_progress_bar=False, convert_to_tensor=True, convert_to_numpy=False, return_failures=True, device=None,
        activation_fn=call.get("activation_fn") if call.get("activation_fn") is not None else model.activation_fn,
        media=call.get("media") if call.get("media") is not None else model.media,
    )
    if kwargs["prompt"] is None:
        kwargs["prompt_name"] = None
    pool, owned = open_pool(model, pool, devices)
    try:
        results, failures = run_on_pool(model, pool, "predict", items, kwargs, chunk_size=chunk_size,
                                        on_error=call.get("on_error", "raise"),
                                        show_progress_bar=call.get("show_progress_bar"), as_batch=list)
    finally:
        if owned:
            pool.stop()
    scores = merge_scores(results, model.num_labels)
    if call.get("convert_to_tensor"):
        out: Any = scores
    elif call.get("convert_to_numpy", True):
        out = scores.float().numpy() if len(items) else np.array([])
    else:
        out = list(scores)
    if singular:
        out = out[0]
    return (out, failures) if return_failures else out


def merge_scores(results: list[ChunkResult], num_labels: int) -> torch.Tensor:
    parts = []
    for result in results:
        if result.lost is not None:
            shape = (len(result.items),) if num_labels == 1 else (len(result.items), num_labels)
            parts.append(torch.full(shape, float("nan")))
        else:
            parts.append(result.output)
    return torch.cat(parts) if parts else torch.tensor([])
