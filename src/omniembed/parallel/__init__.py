"""Every core of a machine: multi-process pools with the reference's API, and streaming ``encode_iter``.

* :class:`MultiProcessPool` — what ``SentenceTransformer.start_multi_process_pool()`` and
  ``CrossEncoder.start_multi_process_pool()`` return; pass it as ``encode(..., pool=pool)`` /
  ``predict(..., pool=pool)``, or pass ``device=["cpu", "cpu"]`` for a pool that lives for one call. It plugs in
  at ``ModelBase.run``: each worker runs :func:`omniembed.processing.runtime.run` with the caller's context;
* ``model.encode_iter(iterable, chunk_size=...)`` (:mod:`omniembed.parallel.streaming`) yields
  ``(indices, embeddings)`` per chunk, with or without a pool, in bounded memory.

For more than one machine, see :mod:`omniembed.ray` and docs/scale.md.

Example:
    >>> from omniembed.parallel import default_chunk_size
    >>> default_chunk_size(100_000, 4)
    2500
"""

from omniembed.parallel.calls import default_chunk_size, iter_multi_process, run_multi_process
from omniembed.parallel.pool import MultiProcessPool
from omniembed.parallel.processes import default_target_devices

__all__ = [
    "MultiProcessPool",
    "default_chunk_size",
    "default_target_devices",
    "iter_multi_process",
    "run_multi_process",
]
