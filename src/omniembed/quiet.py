"""Quiet loads and saves: transformers' ``Loading weights`` / ``Writing model shards`` progress bars and its LOAD
REPORT tables (with raw ANSI colour codes) are hidden on a plain load or save, and shown again as soon as the user
turns logging up (``logging.getLogger("omniembed").setLevel(logging.INFO)``, or transformers' own verbosity set to
INFO or DEBUG). Weights missing from a checkpoint are still reported, by omniembed's own loader, in plain words.

Example:
    >>> import logging
    >>> from transformers.utils import logging as hf_logging
    >>> from omniembed.quiet import quiet_transformers
    >>> with quiet_transformers():
    ...     hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity() == logging.ERROR
    (False, True)
    >>> hf_logging.is_progress_bar_enabled()
    True
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["quiet_transformers"]

_lock = threading.Lock()
_depth = 0
_saved: tuple[bool, int] | None = None


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Within the block, transformers shows errors only and no progress bars (unless logging is turned up)."""
    from transformers.utils import logging as hf_logging

    global _depth, _saved
    loud = (logging.getLogger("omniembed").getEffectiveLevel() <= logging.INFO
            or hf_logging.get_verbosity() <= logging.INFO)
    with _lock:
        if _depth == 0 and loud:
            _saved = None
        elif _depth == 0:
            _saved = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        _depth += 1  # nested and concurrent loads restore the settings once, when the last one ends
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                bars, verbosity = _saved
                hf_logging.set_verbosity(verbosity)
                if bars:
                    hf_logging.enable_progress_bar()
                _saved = None
