"""A deterministic, structure-aware mutator for media files.

:func:`mutate` applies one to four edits to a seed, chosen by a ``random.Random``: generic byte edits (bit
flips, interesting integers, insertions, deletions, duplicated and spliced ranges, truncation, appended junk)
and format-aware ones that reach past the first sanity check of each parser:

Format-aware edits live in :mod:`fuzz.formats`:

* **PNG**: chunk lengths, IHDR fields (huge / zero dimensions, bit depth, colour type, interlace), dropped,
  duplicated and reordered chunks, a corrupted zlib stream, an ``acTL`` claiming millions of frames, and CRCs
  recomputed so libpng does not stop at the checksum;
* **JPEG**: SOF dimensions and component counts, marker lengths, dropped or repeated segments, a truncated scan;
* **RIFF** (WAV, WebP, AVI): chunk sizes and the ``fmt`` fields (channels, rate, block align, bit depth);
* **ISO-BMFF** (MP4/MOV/M4A/AVIF): box sizes (0, 1 = 64-bit, huge), ``mvhd``/``tkhd``/``mdhd`` durations and
  timescales, sample-table counts and offsets, boxes nested in themselves;
* **Ogg**: page header fields, with the page CRC recomputed; the Vorbis/Opus identification header's channels
  and rate; **FLAC**: STREAMINFO rate, channels, bits and total samples; metadata block lengths;
* **EBML** (Matroska/WebM): element size fields; **GIF**: screen size, frame count via repeated frames.

Everything depends only on the ``random.Random`` passed in, so ``(seed name, case id)`` reproduces an input.

Example:
    >>> import random
    >>> from fuzz.mutate import mutate
    >>> png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108020000009077" "53de")
    >>> a = mutate(png, random.Random("case-1"))
    >>> a == mutate(png, random.Random("case-1")), isinstance(a, bytes)
    (True, True)
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

from fuzz.formats import INTERESTING_8, INTERESTING_16, INTERESTING_32, MAX_SIZE, STRUCTURED

__all__ = ["INTERESTING_32", "MAX_SIZE", "mutate", "random_bytes"]


# -------------------------------------------------------------------------------------------- generic edits
def _flip(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 8)):
        pos = rng.randrange(len(data))
        data[pos] ^= 1 << rng.randrange(8)


def _interesting(data: bytearray, rng: random.Random) -> None:
    pos = rng.randrange(len(data))
    width, values = rng.choice(((1, INTERESTING_8), (2, INTERESTING_16), (4, INTERESTING_32)))
    value = rng.choice(values) & ((1 << (8 * width)) - 1)
    data[pos : pos + width] = value.to_bytes(width, rng.choice(("big", "little")))


def _random_bytes(data: bytearray, rng: random.Random) -> None:
    pos = rng.randrange(len(data))
    n = rng.randint(1, 32)
    data[pos : pos + n] = rng.randbytes(n)


def _insert(data: bytearray, rng: random.Random) -> None:
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = rng.randbytes(rng.randint(1, 64)) if rng.random() < 0.5 else bytes([rng.choice(INTERESTING_8)]) * rng.randint(1, 256)


def _delete(data: bytearray, rng: random.Random) -> None:
    pos = rng.randrange(len(data))
    del data[pos : pos + rng.randint(1, max(1, min(256, len(data) // 4)))]


def _duplicate(data: bytearray, rng: random.Random) -> None:
    start = rng.randrange(len(data))
    piece = data[start : start + rng.randint(1, 512)]
    pos = rng.randrange(len(data) + 1)
    data[pos:pos] = piece * rng.randint(1, 4)


def _truncate(data: bytearray, rng: random.Random) -> None:
    keep = rng.choice((0, 1, 4, 8, 12, 16, 32, rng.randrange(len(data) + 1), len(data) - 1, len(data) // 2))
    del data[max(0, keep) :]


def _append(data: bytearray, rng: random.Random) -> None:
    data += rng.randbytes(rng.randint(1, 2048))


GENERIC: tuple[Callable[[bytearray, random.Random], None], ...] = (
    _flip, _flip, _interesting, _interesting, _random_bytes, _insert, _delete, _duplicate, _truncate, _append,
)




def mutate(seed: bytes, rng: random.Random, *, splice_with: bytes | None = None,
           structured: tuple[Callable, ...] = STRUCTURED) -> bytes:
    """One to four edits of ``seed``; format-aware edits (``structured``) are tried first half of the time."""
    data = bytes(seed)
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3, 4))):
        if data and rng.random() < 0.55:
            for edit in rng.sample(structured, len(structured)):
                try:
                    edited = edit(data, rng)
                except (struct.error, IndexError, ValueError, OverflowError):
                    edited = None
                if edited is not None:
                    data = edited
                    break
            else:
                data = _generic(data, rng)
        elif splice_with and rng.random() < 0.1:
            cut = rng.randrange(len(data) + 1)
            other = rng.randrange(len(splice_with) + 1)
            data = data[:cut] + splice_with[other:]
        else:
            data = _generic(data, rng)
        if len(data) > MAX_SIZE:
            data = data[:MAX_SIZE]
    return data


def _generic(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return rng.randbytes(rng.randint(1, 64))
    buf = bytearray(data)
    rng.choice(GENERIC)(buf, rng)
    return bytes(buf)


def random_bytes(rng: random.Random) -> bytes:
    """Unstructured input: pure noise, or a real magic number followed by noise."""
    magic = rng.choice((b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x01\x00\x00WAVE",
                        b"RIFF\x00\x01\x00\x00WEBP", b"\x00\x00\x00\x18ftypisom", b"OggS\x00\x02", b"fLaC",
                        b"\x1a\x45\xdf\xa3", b"ID3\x04\x00", b"BM", b"II*\x00", b"\xff\xfb\x90"))
    return magic + rng.randbytes(rng.choice((0, 1, 7, 64, 512, 4096)))
