"""Reading a fetched body safely: a deadline watchdog, the byte cap, and bounded Content-Encoding decoding.

Used by :func:`omniembed.inputs.fetch.fetch_bytes` once a hop's address has been checked and the response has
arrived. The body is read raw (still encoded) from the socket: a watchdog shuts the socket at the total deadline so
a server trickling bytes under the read timeout cannot stall us; ``Content-Length`` over the cap is refused before
reading; and a ``gzip``/``deflate`` body (sent although we ask for ``identity``) is inflated here, in steps that
never hold more than the cap — httpx would inflate each network chunk whole, and 4 kB of double gzip is a GiB.

Example:
    >>> from omniembed.inputs.fetch_body import _BoundedDecoder
    >>> import gzip
    >>> decoder = _BoundedDecoder("gzip", errors=None)
    >>> len(decoder.feed(gzip.compress(bytes(10_000)), room=100))  # never more than room + 1 bytes at a time
    101
"""

from __future__ import annotations

import socket
import threading
import time
import zlib

from omniembed.errors import MediaFetchError, MediaTooLargeError

_CHUNK = 64 * 1024


def _watchdog(response, deadline: float) -> threading.Timer | None:
    """Shut the socket at the deadline, so a server trickling bytes under the read timeout cannot stall us."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not isinstance(sock, socket.socket):
        return None

    def cut() -> None:
        try:  # the plain-socket shutdown also works under TLS, and unblocks a recv() in the reading thread
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), cut)
    timer.daemon = True
    timer.start()
    return timer


class _BoundedDecoder:
    """Undo one gzip or deflate ``Content-Encoding`` without ever holding more than ``cap`` + 1 decoded bytes.

    We ask for ``identity``; a server that compresses anyway gets one layer decoded, by us, in bounded steps
    (httpx would inflate each network chunk whole: a 64 kB chunk of a double-gzipped bomb is gigabytes).
    """

    def __init__(self, encoding: str, errors) -> None:
        layers = [e.strip().lower() for e in encoding.split(",") if e.strip() and e.strip().lower() != "identity"]
        if len(layers) > 1 or (layers and layers[0] not in ("gzip", "x-gzip", "deflate")):
            raise errors.fetch(f"unsupported Content-Encoding {encoding!r} (omniembed asks for identity)")
        self.kind = layers[0] if layers else None
        self.errors = errors
        self._inflate = self._new(15 + 32 if self.kind in ("gzip", "x-gzip") else 15) if self.kind else None
        self._started = False

    @staticmethod
    def _new(wbits: int):
        return zlib.decompressobj(wbits)

    def feed(self, data: bytes, room: int) -> bytes:
        """Decoded bytes of ``data``, at most ``room`` + 1 of them (the caller refuses anything over ``room``)."""
        if self._inflate is None:
            return data
        try:
            out = self._inflate.decompress(data, room + 1)
        except zlib.error:
            if self.kind == "deflate" and not self._started:  # raw deflate, without the zlib wrapper
                self._inflate = self._new(-15)
                self._started = True
                return self.feed(data, room)
            raise self.errors.fetch("the compressed body is corrupt") from None
        self._started = True
        return out

    def leftover(self) -> bool:
        return self._inflate is not None and bool(self._inflate.unconsumed_tail)


def _raw_chunks(response):
    """The body as sent (still content-encoded), in chunks; a response built in memory (a test transport)
    already holds its decoded content."""
    import httpx

    if hasattr(response, "_content"):
        yield response.content
        return
    try:
        yield from response.iter_raw(_CHUNK)
    except httpx.StreamConsumed:  # pragma: no cover - defensive: content read elsewhere
        yield response.content


def read_body(response, cap: int, deadline: float, *, errors) -> bytes:
    """The response body, at most ``cap`` bytes after undoing its Content-Encoding, read before ``deadline``.

    ``errors`` makes the typed errors that name the URL (``fetch(reason)``, ``too_large(reason)``,
    ``timed_out()``).
    """
    import httpx

    length = response.headers.get("content-length", "").strip()
    encoding = response.headers.get("content-encoding", "")
    if length.isdigit() and int(length) > cap:  # refuse before reading a byte
        raise errors.too_large(f"the body is {length} bytes, over the {cap}-byte limit")
    decoder = _BoundedDecoder(encoding, errors)
    timer = _watchdog(response, deadline)
    body = bytearray()
    try:
        for chunk in _raw_chunks(response):
            body += decoder.feed(chunk, cap - len(body))
            if len(body) > cap or decoder.leftover():
                raise errors.too_large(f"the body exceeds the {cap}-byte limit")
            if time.monotonic() >= deadline:
                raise errors.timed_out()
    except (MediaFetchError, MediaTooLargeError):
        raise
    except (httpx.HTTPError, OSError, ValueError) as exc:
        if time.monotonic() >= deadline:  # the watchdog cut the connection
            raise errors.timed_out() from None
        if isinstance(exc, httpx.TimeoutException):
            raise errors.fetch(f"timed out reading the body (read timeout {errors.policy.read_timeout:g}s)") from None
        raise errors.fetch(f"the connection failed while reading the body ({exc})") from None
    finally:
        if timer is not None:
            timer.cancel()
    if time.monotonic() >= deadline:  # the watchdog's shutdown can look like a clean end of a close-delimited body
        raise errors.timed_out()
    return bytes(body)
