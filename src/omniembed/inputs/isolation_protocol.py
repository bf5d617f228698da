"""The messages between the parent and a decoder worker of the isolated pool (:mod:`omniembed.inputs.isolation`).

A message is a header (pickle length, number of out-of-band buffers, their lengths), the pickle, then the
buffers' raw bytes. Pixel and sample data travel out of band (pickle protocol 5): written straight from the
decoded object and read straight into the buffer the parent rebuilds it from, with no framing copies.

Both sides import this module: the parent (``isolation``) and the worker (``_isolation_worker``), which so
needs neither the pool nor its threads.

Example (a decoded image through a pipe, as a worker's reply travels)::

    >>> import os
    >>> from PIL import Image
    >>> from omniembed.inputs.isolation_protocol import receive_message, send_message
    >>> read_end, write_end = os.pipe()
    >>> send_message(write_end, ("ok", Image.new("RGB", (4, 3), "red")))
    >>> alive, (status, image) = receive_message(read_end)
    >>> alive, status, image.size, image.getpixel((0, 0))
    (True, 'ok', (4, 3), (255, 0, 0))
    >>> os.close(write_end); receive_message(read_end)  # end of file: the other side has gone
    (False, None)
    >>> os.close(read_end)
"""

from __future__ import annotations

import io
import os
import pickle
import select
import struct
import time
from typing import Any

__all__ = ["receive_message", "send_message", "widen_pipe"]

_HEADER = struct.Struct("<Q")
_COUNTS = struct.Struct("<QI")
_PIPE_BYTES = 1 << 20  # one decoded 750×500 image per pipe fill, instead of 17 trips through a 64 KiB pipe


def _image_from_buffer(mode: str, size: tuple[int, int], info: dict, data: Any) -> Any:
    from PIL import Image

    image = Image.frombuffer(mode, size, data, "raw", mode, 0, 1)
    image.info.update(info)
    return image


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        if type(obj).__module__.startswith("PIL.") and getattr(obj, "mode", None) in ("RGB", "RGBA", "L"):
            from PIL import Image

            if isinstance(obj, Image.Image):
                return _image_from_buffer, (obj.mode, obj.size, dict(obj.info), pickle.PickleBuffer(obj.tobytes()))
        return NotImplemented


def _write_all(fd: int, parts: list[Any]) -> None:
    """Write ``parts`` in order with as few system calls as the pipe allows (one wake-up of the reader for a
    message that fits in the pipe)."""
    views = [memoryview(p).cast("B") for p in parts]
    views = [v for v in views if v.nbytes]
    while views:
        written = os.writev(fd, views)
        while views and written >= views[0].nbytes:
            written -= views[0].nbytes
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


def send_message(fd: int, obj: Any) -> None:
    """Write ``obj`` to ``fd`` as one message (pickle protocol 5, buffers out of band)."""
    buffers: list[pickle.PickleBuffer] = []
    stream = io.BytesIO()
    _Pickler(stream, protocol=5, buffer_callback=buffers.append).dump(obj)
    raws = [b.raw() for b in buffers]
    header = _COUNTS.pack(stream.tell(), len(raws)) + b"".join(_HEADER.pack(r.nbytes) for r in raws)
    _write_all(fd, [header, stream.getbuffer(), *raws])


def _read_exact(fd: int, size: int, deadline: float | None) -> bytearray | None:
    """``size`` bytes from ``fd``, read in place; None on end of file; TimeoutError past ``deadline``."""
    out = bytearray(size)
    view, pos = memoryview(out), 0
    while pos < size:
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise TimeoutError
        got = os.readv(fd, [view[pos:]])
        if not got:
            return None
        pos += got
    return out


def receive_message(fd: int, deadline: float | None = None) -> tuple[bool, Any]:
    """(True, object) or (False, None) at end of file."""
    counts = _read_exact(fd, _COUNTS.size, deadline)
    if counts is None:
        return False, None
    body_size, n_buffers = _COUNTS.unpack(counts)
    sizes = _read_exact(fd, _HEADER.size * n_buffers, deadline) if n_buffers else bytearray()
    if sizes is None:
        return False, None
    body = _read_exact(fd, body_size, deadline)
    buffers = []
    for (size,) in _HEADER.iter_unpack(sizes):
        if body is None:
            break
        buffers.append(_read_exact(fd, size, deadline))
        if buffers[-1] is None:
            return False, None
    if body is None:
        return False, None
    return True, pickle.loads(body, buffers=buffers)


def widen_pipe(stream: Any) -> None:
    """Let the pipe behind ``stream`` hold a whole decoded image, so a reply rarely waits on the reader (Linux)."""
    try:
        import fcntl

        fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or a lower /proc/sys/fs/pipe-max-size
        pass
