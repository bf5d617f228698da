"""Every core of a machine: multi-process pools with the reference's API, and streaming ``encode_iter``.

* :class:`MultiProcessPool` — what ``SentenceTransformer.start_multi_process_pool()`` and
  ``CrossEncoder.start_multi_process_pool()`` return; pass it as ``encode(..., pool=pool)`` /
  ``predict(..., pool=pool)``, or pass ``device=["cpu", "cpu"]`` for a pool that lives for one call;
* :func:`encode_iter` — ``model.encode_iter(iterable, chunk_size=...)`` yields ``(indices, embeddings)`` per
  chunk, with or without a pool, in bounded memory.

For more than one machine, see :mod:`omniembed.ray` and docs/scale.md.

Example:
    >>> from omniembed.parallel import default_chunk_size
    >>> default_chunk_size(100_000, 4)
    2500
"""

from omniembed.parallel.calls import default_chunk_size, encode_multi_process, predict_multi_process
from omniembed.parallel.pool import MultiProcessPool, default_target_devices
from omniembed.parallel.streaming import encode_iter

__all__ = [
    "MultiProcessPool",
    "default_chunk_size",
    "default_target_devices",
    "encode_iter",
    "encode_multi_process",
    "predict_multi_process",
]
