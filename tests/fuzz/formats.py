"""Format-aware edits for the fuzzer: each takes a file's bytes and returns an edited copy, or None when the
data is not that format (see :mod:`fuzz.mutate`, which chooses among them).

PNG chunks (IHDR fields, CRCs recomputed, animation chunks, zlib streams), JPEG marker segments, RIFF chunks and
the WAV ``fmt`` fields, ISO-BMFF boxes (sizes, full-box fields, self-nesting), Ogg pages (CRC recomputed, Vorbis
and Opus identification headers), FLAC STREAMINFO, EBML element sizes and GIF frames.

Example:
    >>> import random
    >>> from fuzz.formats import STRUCTURED
    >>> [edit.__name__ for edit in STRUCTURED]
    ['_png', '_jpeg', '_riff', '_isobmff', '_ogg', '_flac', '_ebml', '_gif']
    >>> STRUCTURED[0](b"not a png", random.Random(0)) is None
    True
"""

from __future__ import annotations

import random
import struct
import zlib

# Inputs never grow past this (repeated edits that duplicate data would otherwise compound into gigabytes).
MAX_SIZE = 2 << 20
INTERESTING_8 = (0, 1, 0x7F, 0x80, 0xFF)
INTERESTING_16 = (0, 1, 0x7FFF, 0x8000, 0xFFFF, 256, 1024)
INTERESTING_32 = (0, 1, 2, 3, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFF, 0x10000, 1 << 24, 44100, 768001)


# ----------------------------------------------------------------------------------------------------- PNG
def _png_chunks(data: bytes) -> list[list]:
    chunks, pos = [], 8
    while pos + 8 <= len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        kind = data[pos + 4 : pos + 8]
        payload = data[pos + 8 : pos + 8 + length]
        chunks.append([kind, bytearray(payload)])
        pos += 12 + length
        if length > len(data):
            break
    return chunks


def _png_pack(chunks: list[list], rng: random.Random) -> bytes:
    out = bytearray(b"\x89PNG\r\n\x1a\n")
    for kind, payload in chunks:
        length = len(payload)
        if rng.random() < 0.05:
            length = rng.choice(INTERESTING_32)
        crc = zlib.crc32(bytes(kind) + bytes(payload)) if rng.random() < 0.95 else rng.getrandbits(32)
        out += struct.pack(">I", length) + kind + payload + struct.pack(">I", crc)
    return bytes(out)


def _png(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    chunks = _png_chunks(data)
    if not chunks:
        return None
    op = rng.randrange(8)
    ihdr = next((c for c in chunks if c[0] == b"IHDR" and len(c[1]) >= 13), None)
    if op == 0 and ihdr is not None:  # dimensions: huge, zero, or just past the pixel cap
        field = rng.choice((0, 4))
        ihdr[1][field : field + 4] = struct.pack(">I", rng.choice((0, 1, 9460, 65535, 100_000, 0x7FFFFFFF, 1 << 31)))
    elif op == 1 and ihdr is not None:  # bit depth / colour type / compression / filter / interlace
        ihdr[1][rng.randrange(8, 13)] = rng.choice((0, 1, 2, 3, 4, 6, 8, 16, 255))
    elif op == 2:
        del chunks[rng.randrange(len(chunks))]
    elif op == 3:
        i = rng.randrange(len(chunks))
        chunks.insert(rng.randrange(len(chunks) + 1), [chunks[i][0], bytearray(chunks[i][1])])
    elif op == 4:
        rng.shuffle(chunks)
    elif op == 5:  # corrupt the compressed image data while keeping the chunk (and its CRC) well formed
        idats = [c for c in chunks if c[0] in (b"IDAT", b"fdAT")]
        if idats:
            target = rng.choice(idats)[1]
            if target:
                target[rng.randrange(len(target))] ^= 1 << rng.randrange(8)
            if rng.random() < 0.3:
                target[:] = zlib.compress(rng.randbytes(rng.randint(0, 4096)) if rng.random() < 0.5
                                          else b"\x00" * rng.randint(1, 1 << 20))
    elif op == 6:  # animation control claiming many frames / plays, or a frame control with huge sizes
        kind = rng.choice((b"acTL", b"fcTL"))
        payload = struct.pack(">II", rng.choice(INTERESTING_32), rng.choice(INTERESTING_32))
        if kind == b"fcTL":
            payload = struct.pack(">IIIIIHHBB", 0, rng.choice(INTERESTING_32), rng.choice(INTERESTING_32),
                                  rng.choice((0, 1, 65535)), rng.choice((0, 1, 65535)), 1, 10, 0, 0)
        chunks.insert(1, [kind, bytearray(payload)])
    else:  # a text / ICC / EXIF chunk full of junk (zTXt and iCCP are zlib streams)
        kind = rng.choice((b"tEXt", b"zTXt", b"iCCP", b"eXIf", b"sBIT", b"PLTE", b"tRNS", b"gAMA"))
        payload = rng.randbytes(rng.randint(0, 300))
        if kind in (b"zTXt", b"iCCP"):
            payload = b"k\x00\x00" + zlib.compress(b"A" * rng.choice((10, 1 << 16, 1 << 22)))
        chunks.insert(rng.randint(1, len(chunks)), [kind, bytearray(payload)])
    return _png_pack(chunks, rng)


# ---------------------------------------------------------------------------------------------------- JPEG
def _jpeg_segments(data: bytes) -> list[tuple[int, int]]:
    """(offset, total length) of each marker segment before the scan data."""
    out, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            out.append((pos, 2))
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        out.append((pos, 2 + length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def _jpeg(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    segments = _jpeg_segments(data)
    if not segments:
        return None
    out = bytearray(data)
    op = rng.randrange(6)
    sof = [s for s in segments if out[s[0] + 1] in (0xC0, 0xC1, 0xC2)]
    if op == 0 and sof:  # height / width / component count in the frame header
        at = sof[0][0]
        field = rng.choice((5, 7))
        out[at + field : at + field + 2] = struct.pack(">H", rng.choice(INTERESTING_16))
        if rng.random() < 0.3:
            out[at + 9] = rng.choice((0, 1, 2, 4, 255))
    elif op == 1:  # a segment length
        at = rng.choice(segments)[0]
        out[at + 2 : at + 4] = struct.pack(">H", rng.choice((0, 1, 2, 3, 0xFFFF, rng.randrange(65536))))
    elif op == 2:  # drop a segment
        at, length = rng.choice(segments)
        del out[at : at + length]
    elif op == 3:  # repeat a segment (two SOFs, two DHTs…)
        at, length = rng.choice(segments)
        out[at:at] = out[at : at + length] * rng.randint(1, 3)
    elif op == 4:  # cut inside the entropy-coded scan, or drop the EOI
        scan_end = segments[-1][0] + segments[-1][1]
        out = out[: rng.randint(min(scan_end, len(out)), len(out))] if rng.random() < 0.7 else out[:-2]
    else:  # restart interval / Huffman / quantisation table junk
        kind = rng.choice((0xDD, 0xC4, 0xDB, 0xE1, 0xEE))
        payload = rng.randbytes(rng.randint(0, 80))
        if kind == 0xE1:
            payload = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + rng.randbytes(rng.randint(0, 80))
        out[2:2] = bytes([0xFF, kind]) + struct.pack(">H", len(payload) + 2) + payload
    return bytes(out)


# ---------------------------------------------------------------------------------------------------- RIFF
def _riff_chunks(data: bytes) -> list[tuple[int, bytes, int]]:
    out, pos = [], 12
    while pos + 8 <= len(data):
        kind, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        out.append((pos, kind, size))
        if kind == b"LIST":
            pos += 12
            continue
        pos += 8 + size + (size & 1)
    return out


def _riff(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"RIFF") or len(data) < 12:
        return None
    out = bytearray(data)
    chunks = _riff_chunks(data)
    op = rng.randrange(5)
    fmt = next((c for c in chunks if c[1] == b"fmt "), None)
    if op == 0 and fmt is not None and fmt[0] + 24 <= len(out):  # wrong channels / rate / align / depth
        at = fmt[0] + 8
        which = rng.randrange(5)
        if which == 0:
            out[at : at + 2] = struct.pack("<H", rng.choice((0xFFFE, 1, 3)))  # format tag (extensible, PCM, float)
        elif which == 1:
            out[at + 2 : at + 4] = struct.pack("<H", rng.choice((0, 1, 2, 8, 9, 58, 255, 0xFFFF)))
        elif which == 2:
            out[at + 4 : at + 8] = struct.pack("<I", rng.choice((0, 1, 7, 8000, 96000, 768001, 0xFFFFFFFF)))
        elif which == 3:
            out[at + 12 : at + 14] = struct.pack("<H", rng.choice((0, 1, 3, 0xFFFF)))
        else:
            out[at + 14 : at + 16] = struct.pack("<H", rng.choice((0, 1, 7, 12, 24, 32, 64, 0xFFFF)))
    elif op == 1 and chunks:  # a chunk size
        at = rng.choice(chunks)[0]
        out[at + 4 : at + 8] = struct.pack("<I", rng.choice(INTERESTING_32))
    elif op == 2:  # the RIFF size
        out[4:8] = struct.pack("<I", rng.choice(INTERESTING_32))
    elif op == 3 and chunks:  # a nested LIST of LISTs, or a repeated chunk
        at, _kind, size = rng.choice(chunks)
        depth = rng.randint(1, 64)
        nest = b"".join(b"LIST" + struct.pack("<I", 0xFFFFFFFF) + b"junk" for _ in range(depth))
        out[at:at] = nest if rng.random() < 0.5 else bytes(out[at : at + 8 + size]) * 2
    else:  # zero-length data
        data_chunk = next((c for c in chunks if c[1] in (b"data", b"VP8 ", b"VP8L", b"movi")), None)
        if data_chunk is None:
            return None
        at = data_chunk[0]
        out[at + 4 : at + 8] = b"\x00\x00\x00\x00"
        del out[at + 8 :]
    return bytes(out)


# ------------------------------------------------------------------------------------------------ ISO-BMFF
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts", b"udta", b"meta", b"iprp", b"ipco",
               b"mvex", b"moof", b"traf"}
_FULL_BOX_FIELDS = {  # box → offsets (from the box start) of 32-bit fields worth breaking
    b"mvhd": (20, 24), b"tkhd": (28, 84, 88), b"mdhd": (20, 24), b"stsz": (16, 20), b"stco": (12, 16),
    b"stts": (12, 16, 20), b"stsc": (12, 16, 20), b"stss": (12, 16), b"ctts": (12,), b"elst": (12, 16, 20),
    b"hdlr": (16,), b"stsd": (12,), b"co64": (12,), b"ispe": (12, 16), b"ftyp": (8, 12),
}


def _boxes(data: bytes, start: int = 0, end: int | None = None, depth: int = 0) -> list[tuple[int, int, bytes]]:
    """(offset, size, type) of every box, recursing into container boxes."""
    end = len(data) if end is None else end
    out, pos = [], start
    while pos + 8 <= end and depth < 8:
        size, kind = struct.unpack(">I", data[pos : pos + 4])[0], data[pos + 4 : pos + 8]
        if size < 8 or pos + size > end:
            break
        out.append((pos, size, kind))
        if kind in _CONTAINERS:
            inner = pos + (12 if kind == b"meta" else 8)
            out += _boxes(data, inner, pos + size, depth + 1)
        pos += size
    return out


def _isobmff(data: bytes, rng: random.Random) -> bytes | None:
    if data[4:8] != b"ftyp":
        return None
    boxes = _boxes(data)
    if not boxes:
        return None
    out = bytearray(data)
    op = rng.randrange(5)
    if op == 0:  # a box size: 0 (to the end), 1 (64-bit size follows), tiny, huge
        at = rng.choice(boxes)[0]
        out[at : at + 4] = struct.pack(">I", rng.choice((0, 1, 7, 8, 0x7FFFFFFF, 0xFFFFFFFF)))
    elif op == 1:  # a field of a full box (durations, timescales, counts, offsets, dimensions)
        fielded = [b for b in boxes if b[2] in _FULL_BOX_FIELDS]
        if not fielded:
            return None
        at, size, kind = rng.choice(fielded)
        offset = rng.choice(_FULL_BOX_FIELDS[kind])
        if offset + 4 <= size:
            out[at + offset : at + offset + 4] = struct.pack(">I", rng.choice(INTERESTING_32))
    elif op == 2:  # a box nested inside itself (or inside its child) several times
        containers = [b for b in boxes if b[2] in _CONTAINERS]
        if not containers:
            return None
        at, size, kind = rng.choice(containers)
        box = bytes(out[at : at + size])
        for _ in range(rng.randint(1, 6)):
            box = struct.pack(">I", len(box) + size) + kind + box[8:] + box[:size]
        out[at : at + size] = box
    elif op == 3:  # drop or duplicate a box
        at, size, _ = rng.choice(boxes)
        if rng.random() < 0.5:
            del out[at : at + size]
        else:
            out[at:at] = out[at : at + size]
    else:  # a zero-length mdat / empty sample table
        mdat = next((b for b in boxes if b[2] == b"mdat"), None)
        if mdat is None:
            return None
        out[mdat[0] : mdat[0] + mdat[1]] = struct.pack(">I", 8) + b"mdat"
    return bytes(out)


# ----------------------------------------------------------------------------------------------------- Ogg
def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"OggS"):
        return None
    pages, pos = [], 0
    while pos + 27 <= len(data) and data[pos : pos + 4] == b"OggS":
        segments = data[pos + 26]
        body = sum(data[pos + 27 : pos + 27 + segments])
        size = 27 + segments + body
        pages.append((pos, size))
        pos += size
    if not pages:
        return None
    out = bytearray(data)
    at, size = rng.choice(pages[:4] if rng.random() < 0.7 else pages)
    op = rng.randrange(4)
    if op == 0:  # granule position (the clock: duration math), serial or sequence number
        field = rng.choice(((6, 8), (14, 4), (18, 4)))
        value = rng.choice((0, 1, -1 & 0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF))
        out[at + field[0] : at + sum(field)] = (value & ((1 << (8 * field[1])) - 1)).to_bytes(field[1], "little")
    elif op == 1:  # header type flags / segment table
        out[at + 5] = rng.choice((0, 1, 2, 4, 7, 255))
        if rng.random() < 0.5 and size > 28:
            out[at + 27 + rng.randrange(out[at + 26] or 1)] = rng.choice((0, 255))
    elif op == 2:  # identification header: channels and rate (Vorbis: byte 11 / 12..15, Opus: 9 / 12..15)
        page_data = at + 27 + out[at + 26]
        head = bytes(out[page_data : page_data + 8])
        if head.startswith(b"\x01vorbis"):
            out[page_data + 11] = rng.choice((0, 1, 2, 8, 9, 255))
            out[page_data + 12 : page_data + 16] = struct.pack("<I", rng.choice((0, 1, 7, 768001, 0xFFFFFFFF)))
        elif head.startswith(b"OpusHead"):
            out[page_data + 9] = rng.choice((0, 1, 2, 8, 9, 255))
            out[page_data + 12 : page_data + 16] = struct.pack("<I", rng.choice((0, 1, 768001, 0xFFFFFFFF)))
        else:
            return None
    else:  # body bytes
        if size > 28:
            out[at + 27 + out[at + 26] + rng.randrange(max(1, size - 27 - out[at + 26]))] ^= 0xFF
    if rng.random() < 0.9:  # recompute the CRC so the page is accepted and the edit reaches the codec
        page = bytearray(out[at : at + size])
        page[22:26] = b"\x00\x00\x00\x00"
        out[at + 22 : at + 26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(out)


# ---------------------------------------------------------------------------------------------------- FLAC
def _flac(data: bytes, rng: random.Random) -> bytes | None:
    start = data.find(b"fLaC")
    if start < 0 or start + 42 > len(data):
        return None
    out = bytearray(data)
    info = start + 8  # STREAMINFO payload
    op = rng.randrange(4)
    if op == 0:  # sample rate (20 bits), channels (3), bits per sample (5), total samples (36)
        packed = int.from_bytes(out[info + 10 : info + 18], "big")
        rate = rng.choice((0, 1, 8000, 655350, (1 << 20) - 1))
        channels = rng.randrange(8)
        bits = rng.randrange(32)
        total = rng.choice((0, 1, (1 << 36) - 1, 1 << 30))
        packed = (rate << 44) | (channels << 41) | (bits << 36) | total
        out[info + 10 : info + 18] = packed.to_bytes(8, "big")
    elif op == 1:  # block sizes / frame sizes
        out[info : info + 10] = rng.randbytes(10) if rng.random() < 0.5 else b"\x00" * 10
    elif op == 2:  # a metadata block length
        out[start + 5 : start + 8] = rng.choice((0, 1, 0xFFFFFF, 33)).to_bytes(3, "big")
    else:  # the last-metadata-block flag / block type
        out[start + 4] = rng.choice((0x00, 0x80, 0x7F, 0x06, 0xFF))
    return bytes(out)


# ---------------------------------------------------------------------------------------------------- EBML
def _ebml(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    out = bytearray(data)
    # Size fields are variable-length integers; overwrite one after a known ID with "unknown" or huge sizes.
    ids = [b"\x18\x53\x80\x67", b"\x16\x54\xae\x6b", b"\x1f\x43\xb6\x75", b"\xae", b"\xa3", b"\x1a\x45\xdf\xa3",
           b"\x44\x89", b"\xb0", b"\xba", b"\x9f", b"\xb5"]
    hits: list[int] = []
    for ident in ids:
        at = out.find(ident)
        while at >= 0 and len(hits) < 200:
            hits.append(at)
            at = out.find(ident, at + 1)
    if not hits:
        return None
    at = rng.choice(hits)
    ident_len = next(len(i) for i in ids if out.startswith(i, at))
    size_at = at + ident_len
    if size_at + 8 <= len(out):
        out[size_at : size_at + 8] = rng.choice((b"\x01\xff\xff\xff\xff\xff\xff\xff", b"\x01" + b"\x00" * 7,
                                                 b"\x80" + rng.randbytes(7), b"\x08" + rng.randbytes(7),
                                                 b"\xff" + bytes(out[size_at + 1 : size_at + 8])))
    return bytes(out)


# ----------------------------------------------------------------------------------------------------- GIF
def _gif(data: bytes, rng: random.Random) -> bytes | None:
    if not data.startswith((b"GIF87a", b"GIF89a")) or len(data) < 13:
        return None
    out = bytearray(data)
    op = rng.randrange(3)
    if op == 0:  # logical screen size
        out[6 + 2 * rng.randrange(2) : 8 + 2 * rng.randrange(2)] = struct.pack("<H", rng.choice(INTERESTING_16))
    elif op == 1:  # many repeated frames (animation frame cap)
        first = out.find(b"\x21\xf9")
        end = out.rfind(b"\x3b")
        if first < 0 or end <= first:
            return None
        frame = bytes(out[first:end])
        out[first:end] = frame * max(2, min(rng.choice((2, 50, 400)), MAX_SIZE // 2 // max(1, len(frame))))
    else:  # LZW minimum code size / image descriptor dimensions
        at = out.find(b"\x2c")
        if at < 0 or at + 11 > len(out):
            return None
        if rng.random() < 0.5:
            out[at + 10] = rng.choice((0, 1, 12, 255)) if at + 10 < len(out) else 0
        else:
            out[at + 5 : at + 9] = struct.pack("<HH", rng.choice(INTERESTING_16), rng.choice(INTERESTING_16))
    return bytes(out)


STRUCTURED = (_png, _jpeg, _riff, _isobmff, _ogg, _flac, _ebml, _gif)
