"""Content sniffing: the modality of bytes, file objects and extension-less files, from magic numbers.

Example:
    >>> from omniembed.inputs.sniff import sniff_media
    >>> sniff_media(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8))
    ('image', 'png')
"""

from __future__ import annotations

import io
import os
from typing import Any

from omniembed.errors import UnsupportedInputError

# Enough for every signature below, and for skipping a typical ID3 tag in front of MP3/AAC audio.
SNIFF_BYTES = 4096
# Longest string we treat as a candidate local path for sniffing (PATH_MAX on Linux); longer is prose.
_MAX_PATH_CHARS = 4096


def looks_like_url(text: str) -> bool:
    # The reference's rule: "http(s)://" and no space. A URL followed by a description is prose.
    return text.startswith(("http://", "https://")) and " " not in text


_PREFIXES: tuple[tuple[bytes, tuple[str, str]], ...] = (
    (b"\xff\xd8\xff", ("image", "jpeg")), (b"\x89PNG\r\n\x1a\n", ("image", "png")),
    (b"GIF87a", ("image", "gif")), (b"GIF89a", ("image", "gif")),
    (b"II*\x00", ("image", "tiff")), (b"MM\x00*", ("image", "tiff")),
    (b"II+\x00", ("image", "tiff")), (b"MM\x00+", ("image", "tiff")),  # BigTIFF
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", ("image", "jp2")), (b"\x00\x00\x00\x0cJXL \r\n\x87\n", ("image", "jxl")),
    (b"\xff\x0a", ("image", "jxl")), (b"fLaC", ("audio", "flac")), (b".snd", ("audio", "au")),
    (b"#!AMR", ("audio", "amr")), (b"caff", ("audio", "caf")), (b"FLV\x01", ("video", "flv")),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c", ("video", "asf")),  # WMV/WMA
    (b"\x00\x00\x01\xba", ("video", "mpeg")), (b"\x00\x00\x01\xb3", ("video", "mpeg")),
    (b"%PDF-", ("document", "pdf")),
)  # fmt: skip
_RIFF_KINDS = {b"WEBP": ("image", "webp"), b"WAVE": ("audio", "wav"), b"AVI ": ("video", "avi")}
# Brands of ISO-BMFF files that are not video; every other `ftyp` brand (isom, mp42, avc1, dash…) is video.
_FTYP_BRANDS = {
    **dict.fromkeys((b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "), ("audio", "m4a")),
    **dict.fromkeys((b"avif", b"avis"), ("image", "avif")),
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1"), ("image", "heic")),
    b"qt  ": ("video", "mov"),
}
_BMP_DIB_SIZES = (12, 40, 52, 56, 64, 108, 124)  # BITMAPCOREHEADER … BITMAPV5HEADER


def sniff_media(head: bytes) -> tuple[str, str] | None:
    """``(modality, format)`` from a file's first bytes (magic numbers), or None when nothing matches.

    PDF files are ``("document", "pdf")``. Ogg is reported as audio unless its first page carries a Theora
    (video) header; Matroska/WebM as video.
    """
    h = bytes(head[:SNIFF_BYTES])
    for prefix, found in _PREFIXES:
        if h.startswith(prefix):
            return found
    if h[:4] == b"RIFF":
        return _RIFF_KINDS.get(h[8:12])
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return ("audio", "aiff")
    if h[:4] == b"OggS":
        return ("video", "ogg") if b"\x80theora" in h[:128] else ("audio", "ogg")
    if h[:4] == b"\x1a\x45\xdf\xa3":  # EBML: the DocType string sits in the first few dozen bytes
        return ("video", "webm") if b"webm" in h[:64] else ("video", "matroska")
    if h[4:8] == b"ftyp":
        brand = h[8:12]
        return _FTYP_BRANDS.get(brand, ("video", "3gp") if brand.startswith(b"3g") else ("video", "mp4"))
    if h[4:8] in (b"moov", b"mdat", b"wide") and int.from_bytes(h[:4], "big") >= 8:
        return ("video", "mov")  # QuickTime files from before `ftyp` existed
    if h[:3] == b"ID3" and len(h) >= 10:
        return _after_id3(h)
    if h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in _BMP_DIB_SIZES:
        return ("image", "bmp")  # "BM" alone is too weak; the DIB header size must be a known one
    if len(h) > 188 and h[0] == 0x47 and h[188] == 0x47:
        return ("video", "mpegts")  # two 188-byte transport packets in a row
    return _frame_sync(h)


def _after_id3(h: bytes) -> tuple[str, str]:
    # An ID3v2 tag can front MP3, AAC or FLAC; look past it when the head is long enough, else assume MP3.
    size = 10 + ((h[6] & 0x7F) << 21 | (h[7] & 0x7F) << 14 | (h[8] & 0x7F) << 7 | (h[9] & 0x7F))
    size += 10 if h[5] & 0x10 else 0  # footer present
    inner = sniff_media(h[size:]) if len(h) >= size + 4 else None
    return inner if inner is not None and inner[0] == "audio" else ("audio", "mp3")


def _frame_sync(h: bytes) -> tuple[str, str] | None:
    if len(h) < 3 or h[0] != 0xFF:
        return None
    if h[1] & 0xF6 == 0xF0:  # 12-bit sync with layer 00: an ADTS (raw AAC) header
        return ("audio", "aac")
    version, layer = (h[1] >> 3) & 3, (h[1] >> 1) & 3
    bitrate, rate = h[2] >> 4, (h[2] >> 2) & 3
    if h[1] & 0xE0 == 0xE0 and version != 1 and layer != 0 and bitrate != 0xF and rate != 3:
        return ("audio", "mp3")  # an MPEG audio frame header with no reserved field values
    return None


def _sniffed_modality(head: bytes, what: str) -> str:
    found = sniff_media(head)
    if found is not None:
        return found[0]
    if not head:
        raise UnsupportedInputError(f"{what} is empty: there is no image, audio, video or PDF to detect.")
    raise UnsupportedInputError(
        f"{what} is not a recognised image, audio or video format, nor a PDF (first bytes: {head[:12].hex(' ')}). "
        "Bytes are never treated as text: pass a str for text, or wrap the data as {'image': data}, "
        "{'audio': data} or {'video': data} to choose the modality yourself."
    )


def _bytes_head(sample: bytes | bytearray | memoryview) -> bytes:
    if isinstance(sample, memoryview):
        try:
            return bytes(sample.cast("B")[:SNIFF_BYTES])
        except TypeError:  # non-contiguous views cannot be cast; copying is the only way to read them
            return sample.tobytes()[:SNIFF_BYTES]
    return bytes(sample[:SNIFF_BYTES])


def _file_head(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read(SNIFF_BYTES)
    except OSError:
        return None


def _peek_stream(stream: Any) -> bytes:
    """The first bytes of a binary file object, leaving its position where it was."""
    if isinstance(stream, io.TextIOBase):
        raise UnsupportedInputError("The file object is open in text mode; open media files with mode 'rb'.")
    seekable = getattr(stream, "seekable", None)
    try:
        if callable(seekable) and seekable():
            position = stream.tell()
            head = stream.read(SNIFF_BYTES)
            stream.seek(position)
        elif callable(getattr(stream, "peek", None)):
            head = stream.peek(SNIFF_BYTES)[:SNIFF_BYTES]  # buffered, non-seekable (pipes, sockets)
        else:
            raise UnsupportedInputError(
                "Cannot detect the modality of a non-seekable stream without consuming it; pass it as "
                "{'image': stream}, {'audio': stream} or {'video': stream}."
            )
    except (OSError, ValueError) as exc:  # closed or unreadable file objects
        if isinstance(exc, UnsupportedInputError):
            raise
        raise UnsupportedInputError(f"Cannot read from the file object: {exc}") from exc
    if not isinstance(head, (bytes, bytearray)):
        raise UnsupportedInputError("The file object returned text; open media files with mode 'rb'.")
    return bytes(head)


def _sniff_string(text: str) -> str | None:
    """Modality of a base64 data URI with a non-media MIME type, or of an existing file with no media extension."""
    if text.startswith("data:"):
        header, _, payload = text[: 2 * SNIFF_BYTES].partition(",")
        if not header.endswith(";base64"):
            return None
        import base64
        import binascii

        try:  # decode whole 4-character groups only, so a truncated head still decodes
            head = base64.b64decode(payload[: len(payload) // 4 * 4], validate=False)
        except (binascii.Error, ValueError):
            return None
    elif len(text) <= _MAX_PATH_CHARS and "\n" not in text and not looks_like_url(text) and os.path.isfile(text):
        head = _file_head(text)
    else:
        return None
    found = sniff_media(head) if head else None
    return found[0] if found else None
