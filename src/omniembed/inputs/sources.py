"""Where the bytes of a media item come from: local paths, URLs, data URIs, raw bytes and file objects.

:func:`read_source` turns any of these into a :class:`SourceData`: either the bytes (``data``) or, for a local
file, its checked ``path`` (the decoder opens it itself, so a 2 GB video is never read into memory just to
take 8 frames). The byte cap of :class:`~omniembed.inputs.MediaLimits` is applied before anything is read:
``stat`` for files, ``Content-Length`` and a streaming cut for URLs (see :mod:`omniembed.inputs.fetch`),
the encoded length for data URIs, ``read(max_bytes + 1)`` for file objects.

Accepted references:

* ``str`` or ``os.PathLike``: an existing local file (a regular file, not a directory, FIFO or device);
* ``"http://…"`` / ``"https://…"``: fetched with :func:`~omniembed.inputs.fetch.fetch_bytes` under the
  :class:`~omniembed.inputs.FetchPolicy` (SSRF guard, timeouts, redirects re-checked);
* ``"file://…"``: a local file URL (host empty or ``localhost``);
* ``"data:<mime>[;base64],<payload>"``: base64 or percent-encoded;
* a long bare base64 string, which the reference (``transformers.image_utils.load_image``) also accepts;
* ``bytes``, ``bytearray``, ``memoryview``, and binary file objects (anything with ``read()``).

Example:
    >>> from omniembed.inputs.sources import read_source
    >>> src = read_source("data:text/plain;base64,aGVsbG8=")
    >>> src.data, src.mime
    (b'hello', 'text/plain')
    >>> read_source(b"")
    Traceback (most recent call last):
    ...
    omniembed.errors.MediaDecodeError: empty input: 0 bytes
"""

from __future__ import annotations

import binascii
import io
import os
import re
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from omniembed.errors import MediaDecodeError, MediaTooLargeError, UnsupportedInputError, describe_item
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits

if TYPE_CHECKING:
    from omniembed.inputs.fetch import FetchPolicy

__all__ = ["SourceData", "read_source"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/_\-\s]+={0,2}\s*$")
# A bare base64 payload shorter than this is far more likely a mistyped file name than an encoded image.
_MIN_BARE_BASE64 = 64
_ACCEPTED = "an existing file path, an http(s):// or file:// URL, a data: URI, bytes, or a binary file object"


@dataclass(frozen=True)
class SourceData:
    """The raw material of one media item: ``data`` (bytes) or ``path`` (a checked local file), never both.

    ``name`` describes the item for error messages; ``mime`` is the declared media type (data URI or HTTP
    ``Content-Type``), or None.
    """

    data: bytes | None
    path: str | None
    name: str
    mime: str | None = None

    def open(self) -> BinaryIO:
        """A fresh binary stream over the item (the caller closes it)."""
        return io.BytesIO(self.data) if self.data is not None else open(self.path, "rb")  # type: ignore[arg-type]

    def head(self, size: int = 4096) -> bytes:
        """The first ``size`` bytes, for content sniffing."""
        if self.data is not None:
            return self.data[:size]
        with open(self.path, "rb") as fh:  # type: ignore[arg-type]
            return fh.read(size)


def read_source(
    ref: Any, *, fetch: FetchPolicy | None = None, limits: MediaLimits | None = None, kind: str = "media"
) -> SourceData:
    """Resolve ``ref`` to bytes or a local path, enforcing ``limits.max_bytes``.

    ``fetch`` is the :class:`~omniembed.inputs.FetchPolicy` for http(s) URLs (None: the default policy).
    ``kind`` ("image", "audio"…) only words the error messages. Raises
    :class:`~omniembed.errors.MediaDecodeError` (missing, unreadable or empty), ``MediaTooLargeError``,
    ``MediaFetchError`` (URLs) or ``UnsupportedInputError`` (a type or URL scheme that is not accepted).
    """
    limits = limits or DEFAULT_LIMITS
    if isinstance(ref, str):
        return _from_string(ref, fetch, limits, kind)
    if isinstance(ref, (bytes, bytearray, memoryview)):
        data = ref if isinstance(ref, bytes) else bytes(ref)
        return SourceData(_checked(data, limits, ref, "the bytes"), None, describe_item(ref))
    if isinstance(ref, os.PathLike):
        return _from_path(os.fsdecode(os.fspath(ref)), limits, ref)
    if callable(getattr(ref, "read", None)):
        return _from_file_object(ref, limits)
    raise UnsupportedInputError(f"cannot read {kind} from a {type(ref).__name__}: expected {_ACCEPTED}.", item=ref)


def _checked(data: bytes, limits: MediaLimits, ref: Any, what: str) -> bytes:
    if not data:
        raise MediaDecodeError("empty input: 0 bytes", item=ref)
    if len(data) > limits.max_bytes:
        raise MediaTooLargeError(
            f"{what} hold {len(data)} bytes, more than MediaLimits.max_bytes={limits.max_bytes}", item=ref
        )
    return data


def _from_string(ref: str, fetch: FetchPolicy | None, limits: MediaLimits, kind: str) -> SourceData:
    text = ref.strip()
    if text[:5].lower() == "data:":
        return _from_data_uri(text, limits, ref)
    match = _SCHEME.match(text)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("http", "https"):
            return _from_url(text, fetch, limits)
        if scheme == "file":
            parts = urlsplit(text)
            if parts.netloc not in ("", "localhost"):
                raise UnsupportedInputError(
                    f"file:// URLs must name a local file (host empty or 'localhost'), got host {parts.netloc!r}",
                    item=ref,
                )
            return _from_path(url2pathname(unquote(parts.path)), limits, ref)
        raise UnsupportedInputError(
            f"unsupported URL scheme {scheme!r}: {kind} URLs must be http://, https://, file:// or data:", item=ref
        )
    return _from_path(ref, limits, ref)


def _from_path(path: str, limits: MediaLimits, ref: Any) -> SourceData:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        if _looks_like_bare_base64(path):
            return _decode_base64(path, limits, ref, mime=None)
        raise MediaDecodeError(f"no such file: {path!r} (expected {_ACCEPTED})", item=ref) from None
    except (OSError, ValueError) as exc:  # name too long, embedded NUL, permission on a parent folder…
        if _looks_like_bare_base64(path):
            return _decode_base64(path, limits, ref, mime=None)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaDecodeError(f"cannot access {describe_item(path)}: {reason}", item=ref) from None
    if stat.S_ISDIR(info.st_mode):
        raise MediaDecodeError(f"{path!r} is a directory, not a media file", item=ref)
    if not stat.S_ISREG(info.st_mode):  # FIFOs and devices (/dev/zero, /dev/stdin) could block or never end
        raise MediaDecodeError(f"{path!r} is not a regular file", item=ref)
    if info.st_size == 0:
        raise MediaDecodeError(f"empty file: {path!r}", item=ref)
    if info.st_size > limits.max_bytes:
        raise MediaTooLargeError(
            f"{path!r} is {info.st_size} bytes, more than MediaLimits.max_bytes={limits.max_bytes}", item=ref
        )
    if not os.access(path, os.R_OK):
        raise MediaDecodeError(f"cannot read {path!r}: permission denied", item=ref)
    return SourceData(None, path, path)


def _from_url(url: str, fetch: FetchPolicy | None, limits: MediaLimits) -> SourceData:
    from omniembed.inputs.fetch import fetch_bytes  # imports httpx: only when a URL is actually given

    cap = limits.max_bytes if fetch is None else min(limits.max_bytes, fetch.max_bytes)
    fetched = fetch_bytes(url, fetch, max_bytes=cap)
    mime = fetched.content_type.split(";", 1)[0].strip().lower() if fetched.content_type else None
    data = _checked(fetched.data, limits, url, f"the response from {url}")
    return SourceData(data, None, describe_item(url), mime or None)


def _from_data_uri(uri: str, limits: MediaLimits, ref: Any) -> SourceData:
    head, sep, payload = uri.partition(",")
    if not sep:
        raise MediaDecodeError("malformed data URI: no ',' separates the header from the payload", item=ref)
    params = [p.strip() for p in head[5:].split(";")]
    is_base64 = len(params) > 1 and params[-1].lower() == "base64"
    mime = params[0].lower() if "/" in params[0] else None
    if is_base64:
        return _decode_base64(payload, limits, ref, mime)
    if len(payload) > 3 * limits.max_bytes:  # every decoded byte takes one to three characters
        raise MediaTooLargeError(f"data URI longer than MediaLimits.max_bytes={limits.max_bytes}", item=ref)
    data = unquote_to_bytes(payload)
    return SourceData(_checked(data, limits, ref, "the data URI"), None, describe_item(uri), mime)


def _looks_like_bare_base64(text: str) -> bool:
    return len(text) >= _MIN_BARE_BASE64 and "." not in text and _BASE64_TEXT.match(text) is not None


def _decode_base64(payload: str, limits: MediaLimits, ref: Any, mime: str | None) -> SourceData:
    compact = "".join(payload.split())
    # Check the encoded length first: decoding a multi-gigabyte string just to refuse it would be the bomb.
    if len(compact) * 3 // 4 > limits.max_bytes + 3:
        raise MediaTooLargeError(
            f"base64 payload decodes to more than MediaLimits.max_bytes={limits.max_bytes} bytes", item=ref
        )
    compact = compact.rstrip("=").translate(str.maketrans("-_", "+/"))  # accept the URL-safe alphabet too
    compact += "=" * (-len(compact) % 4)
    try:
        data = binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaDecodeError(f"invalid base64 data: {exc}", item=ref) from None
    return SourceData(_checked(data, limits, ref, "the base64 payload"), None, describe_item(ref), mime)


def _from_file_object(fh: Any, limits: MediaLimits) -> SourceData:
    try:
        data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise MediaDecodeError(f"reading the file object failed: {exc}", item=fh) from None
    if isinstance(data, str):
        raise UnsupportedInputError("the file object is in text mode; open media files with mode 'rb'", item=fh)
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise UnsupportedInputError(f"the file object's read() returned {type(data).__name__}, expected bytes", item=fh)
    name = getattr(fh, "name", None)
    label = name if isinstance(name, str) else describe_item(fh)
    data = bytes(data)
    if len(data) > limits.max_bytes:
        raise MediaTooLargeError(
            f"the file object holds more than MediaLimits.max_bytes={limits.max_bytes} bytes", item=fh
        )
    return SourceData(_checked(data, limits, fh, "the file object"), None, label)
