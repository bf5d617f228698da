"""Keep freed activation memory for the next batch instead of handing it back to the OS (glibc only).

A forward pass allocates activation buffers of a few MiB to tens of MiB and frees them at the end of the batch.
glibc's malloc serves blocks that large with fresh ``mmap`` pages (or trims them off the heap when freed), so
every batch faults its activations in again, one zero-filled 4 KiB page at a time: for all-MiniLM-L6-v2 over
64 texts of 40–100 words that is ~200,000 page faults per call (~50 with the thresholds raised), and over
1,000 sentences 3–5% of the call's time, spent in the kernel. Raising malloc's
mmap and trim thresholds once per process keeps those pages mapped and reuses them; the model's numbers do not
change (this is where memory comes from, not what is computed). The cost: up to ``TRIM_THRESHOLD`` of freed
memory may stay in the process after a large call (it is reused by the next one).

PyTorch's CPU performance guides reach the same end by preloading jemalloc or tcmalloc; this needs no preload.
It is skipped where malloc is not glibc's, when a preloaded allocator replaced it (``LD_PRELOAD``), and when
``OMNIEMBED_TUNE_MALLOC=0`` is set (the switch back to the allocator's defaults).

Example:
    >>> from omniembed.processing.allocator import tune_allocator
    >>> applied = tune_allocator()  # True on glibc Linux; later calls return the same answer
    >>> tune_allocator() is applied
    True
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform
import threading

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "tune_allocator"]

logger = logging.getLogger(__name__)

# Above the largest activation of a usual batch (32 texts of 300 tokens through a 12-head model: 140 MiB of
# attention scores). Older glibc refuses thresholds over 32 MiB; that is then used instead.
MMAP_THRESHOLD = 256 << 20
_MMAP_THRESHOLD_OLD_GLIBC = 32 << 20
TRIM_THRESHOLD = 512 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>

_lock = threading.Lock()
_applied: bool | None = None


def tune_allocator() -> bool:
    """Raise glibc malloc's mmap/trim thresholds, once per process; returns whether they are in effect."""
    global _applied
    if _applied is not None:
        return _applied
    with _lock:
        if _applied is None:
            _applied = _apply()
    return _applied


def _apply() -> bool:
    if os.environ.get("OMNIEMBED_TUNE_MALLOC", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if os.environ.get("LD_PRELOAD") or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    mmap_ok = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) or mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_OLD_GLIBC)
    applied = bool(mmap_ok) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    logger.debug("malloc thresholds %s", "raised" if applied else "left as they were")
    return applied
