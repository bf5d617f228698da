"""An isolated-decoder worker that misbehaves on request, for the isolation tests.

It runs omniembed's real worker (``omniembed.inputs._isolation_worker``) with its real resource limits, but
``load_item`` reacts to a few magic byte strings: ``b"SEGFAULT"`` and ``b"ABORT"`` kill the process the way a
native decoder bug would, ``b"SPIN"`` burns CPU forever, ``b"SLEEP"`` blocks forever, ``b"HOG"`` allocates
until the address-space cap stops it, and ``b"PID"`` returns the worker's process id; a ``data:`` URI carrying
one of these strings acts the same. Anything else decodes normally. Tests select it with
``monkeypatch.setattr(isolation, "WORKER_MODULE", "support.crashy_decoder")``.
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import time

from omniembed.inputs import _isolation_worker, loader

_real_load_item = loader.load_item


def _magic(item):
    """The item's bytes when it is a ``data:`` URI (how a server request carries media), else the item itself."""
    if isinstance(item, str) and item.startswith("data:") and ";base64," in item:
        return base64.b64decode(item.split(",", 1)[1])
    return item


def _misbehaving_load_item(item, modality, **kwargs):
    original, item = item, _magic(item)
    if not isinstance(item, bytes):
        return _real_load_item(original, modality, **kwargs)
    if item == b"SEGFAULT":
        os.kill(os.getpid(), signal.SIGSEGV)
    if item == b"ABORT":
        os.abort()
    if item == b"SPIN":
        while True:
            pass
    if item == b"SLEEP":
        time.sleep(3600)
    if item == b"HOG":
        blocks = []
        while True:
            blocks.append(bytearray(64 << 20))
    if item == b"PID":
        return os.getpid()
    return _real_load_item(original, modality, **kwargs)


if __name__ == "__main__":
    # Only in the worker process: importing this module (pytest's doctest collection does) must not change
    # load_item for the test session.
    loader.load_item = _misbehaving_load_item
    sys.exit(_isolation_worker.main())
