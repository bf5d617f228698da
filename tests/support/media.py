"""Test media made offline, in-process and in well under a second each: scikit-image photos, images in every
Pillow mode, EXIF-rotated JPEGs, sine/noise audio in common containers, videos whose frames encode their own
index, and a malformed-file corpus. Usable from any test folder (``from support import media``).

Example:
    >>> from support import media
    >>> media.skimage_image("astronaut.png").size
    (512, 512)
    >>> wav = media.encode_audio(media.sine(440, 0.5, 16_000), 16_000, "wav")
    >>> wav[:4], wav[8:12]
    (b'RIFF', b'WAVE')
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from collections.abc import Iterable

import numpy as np

__all__ = [
    "AUDIO_FORMATS",
    "encode_audio",
    "encode_image",
    "encode_video",
    "exif_jpeg",
    "index_frame",
    "mode_image",
    "noise",
    "pcm_wav",
    "png_header_bomb",
    "read_index",
    "sine",
    "skimage_image",
    "skimage_path",
    "write_malformed_corpus",
]

# ------------------------------------------------------------------------------------------------ images


def skimage_path(name: str) -> str:
    """Path of a photo bundled in the scikit-image wheel (astronaut.png, chelsea.png, coffee.png, rocket.jpg,
    horse.png, camera.png, no_time_for_that_tiny.gif…): no download involved."""
    import skimage

    path = os.path.join(os.path.dirname(skimage.__file__), "data", name)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name} is not bundled with scikit-image {skimage.__version__}")
    return path


def skimage_image(name: str):
    from PIL import Image

    with Image.open(skimage_path(name)) as img:
        img.load()
        return img.copy()


def encode_image(img, fmt: str = "PNG", **save_args) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **save_args)
    return buf.getvalue()


def mode_image(mode: str, size: tuple[int, int] = (8, 6)):
    """A small image in ``mode`` with known pixels: the left half opaque/solid, the right half transparent
    (modes with alpha), and pixel (0, 0) a mid-level value. Returns (image, description)."""
    from PIL import Image

    w, h = size
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[:, : w // 2] = (200, 40, 10, 255)  # opaque red-ish
    rgba[:, w // 2 :] = (0, 0, 255, 0)  # fully transparent blue: must turn into the background
    rgba[0, w - 1] = (0, 0, 0, 128)  # half-transparent black
    base = Image.fromarray(rgba)
    if mode == "RGBA":
        return base
    if mode == "RGBa":
        return base.convert("RGBa")
    if mode == "LA":
        return base.convert("LA")
    if mode == "La":
        return base.convert("LA").convert("La")
    if mode == "PA":
        pa = base.convert("RGB").quantize(colors=4).convert("PA")
        pa.putalpha(base.getchannel("A"))
        return pa
    if mode == "P":  # palette with a transparent index, as GIFs and 8-bit PNGs carry it
        pal = base.convert("RGB").quantize(colors=4)
        arr = np.array(pal)
        arr[:, w // 2 :] = 3
        out = Image.fromarray(arr, "P")
        out.putpalette(pal.getpalette()[:9] + [0, 0, 255] + [0] * (768 - 12))
        out.info["transparency"] = 3
        return out
    if mode == "I;16":
        return Image.fromarray(np.full((h, w), 257 * 100, np.uint16))  # 16-bit grey 100 × 257
    if mode == "I":
        return Image.fromarray(np.full((h, w), 100 * 257, np.int32))
    if mode == "F":
        return Image.fromarray(np.full((h, w), 100 / 255, np.float32))
    return base.convert("RGB").convert(mode)  # 1, L, RGB, CMYK, YCbCr, HSV, LAB…


_INVERSE_ORIENTATION = {  # what to store so that the EXIF orientation brings the picture back upright
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_90",
    7: "TRANSVERSE",
    8: "ROTATE_270",
}


def exif_jpeg(img, orientation: int, quality: int = 95) -> bytes:
    """JPEG bytes whose stored pixels are ``img`` turned so that EXIF ``orientation`` (1–8) restores ``img``."""
    from PIL import Image

    stored = img.convert("RGB")
    if orientation != 1:
        stored = stored.transpose(getattr(Image.Transpose, _INVERSE_ORIENTATION[orientation]))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode_image(stored, "JPEG", quality=quality, exif=exif.tobytes())


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_header_bomb(width: int = 100_000, height: int = 100_000, idat: bool = False) -> bytes:
    """A PNG that *declares* width × height RGB pixels but carries (almost) no data: hand-written IHDR."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = _png_chunk(b"IHDR", ihdr)
    if idat:
        body += _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
    return b"\x89PNG\r\n\x1a\n" + body + _png_chunk(b"IEND", b"")


# ------------------------------------------------------------------------------------------------- audio


def sine(freq: float, seconds: float, rate: int, channels: int = 1, amplitude: float = 0.5) -> np.ndarray:
    """(channels, samples) float32; channel c plays ``freq × (c + 1)`` so channels differ."""
    t = np.arange(round(seconds * rate)) / rate
    return np.stack([amplitude * np.sin(2 * np.pi * freq * (c + 1) * t) for c in range(channels)]).astype(np.float32)


def noise(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.3 * rng.standard_normal((channels, round(seconds * rate)))).astype(np.float32)


# name → (container format, codec, file extension)
AUDIO_FORMATS = {
    "wav": ("wav", "pcm_s16le", ".wav"),
    "flac": ("flac", "flac", ".flac"),
    "mp3": ("mp3", "libmp3lame", ".mp3"),
    "opus": ("ogg", "libopus", ".opus"),
    "vorbis": ("ogg", "vorbis", ".ogg"),
    "aac": ("ipod", "aac", ".m4a"),
}


def encode_audio(x: np.ndarray, rate: int, kind: str = "wav") -> bytes:
    """Encode (channels, samples) float32 with PyAV. Opus only runs at 8/12/16/24/48 kHz and FFmpeg's Vorbis
    encoder only in stereo: PyAV converts the frames to what the encoder needs."""
    import av

    fmt, codec, _ = AUDIO_FORMATS[kind]
    x = np.atleast_2d(x).astype(np.float32)
    layout = "mono" if x.shape[0] == 1 else "stereo"
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream_rate = rate if codec != "libopus" or rate in (8000, 12000, 16000, 24000, 48000) else 48000
        stream = out.add_stream(codec, rate=stream_rate)
        stream.layout = "stereo" if codec == "vorbis" else layout
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}
        for start in range(0, x.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[:, start : start + 1024]), format="fltp", layout=layout
            )
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return buf.getvalue()


def pcm_wav(samples: np.ndarray, rate: int) -> bytes:
    """A plain PCM WAV written by hand from int16 ``(channels, samples)``: any channel count, even 58 (beyond
    what encoders produce, and what once crashed PyAV's planar-frame reader)."""
    channels = samples.shape[0]
    body = np.ascontiguousarray(samples.T.astype("<i2")).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


# ------------------------------------------------------------------------------------------------- video


def index_frame(index: int, size: int = 64) -> np.ndarray:
    """An RGB frame whose index survives lossy coding: left half grey (index % 50) × 5, right half
    (index // 50) × 4 (indices up to 3199)."""
    frame = np.empty((size, size, 3), np.uint8)
    frame[:, : size // 2] = (index % 50) * 5
    frame[:, size // 2 :] = (index // 50) * 4
    return frame


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`index_frame` (reads the centres of both halves)."""
    size = frame.shape[1]
    left = float(frame[8:-8, 4 : size // 2 - 4].mean())
    right = float(frame[8:-8, size // 2 + 4 : -4].mean())
    return round(left / 5) + 50 * round(right / 4)


def encode_video(
    frames: Iterable[np.ndarray],
    fps: int = 10,
    codec: str = "libx264",
    fmt: str = "mp4",
    gop: int | None = None,
    audio: tuple[np.ndarray, int] | None = None,
    path: str | None = None,
) -> bytes | str:
    """Encode RGB frames (all the same size) with PyAV; optionally an AAC (mp4) or Opus (webm) audio track
    ``(samples (channels, n), rate)``. Returns the bytes, or ``path`` when given."""
    import av

    target = path if path is not None else io.BytesIO()
    with av.open(target, "w", format=fmt) as out:
        frames = iter(frames)
        first = next(frames)
        stream = out.add_stream(codec, rate=fps)
        stream.height, stream.width = first.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.codec_context.bit_rate = 2_000_000  # flat grey halves must survive: see index_frame
        options = {}
        if gop:
            stream.codec_context.gop_size = gop
            # Every index_frame differs from the last, which scene-cut detection would turn into keyframes:
            # switch it off so the GOP really is `gop` frames long (the seek tests depend on it).
            options["sc_threshold"] = "0" if codec == "libx264" else "1000000000"
        if codec == "libx264":
            options.update(preset="veryfast", crf="12")
        stream.codec_context.options = options
        astream = None
        if audio is not None:
            samples, rate = audio
            acodec = "libopus" if fmt == "webm" else "aac"
            astream = out.add_stream(acodec, rate=48000 if acodec == "libopus" else rate)
            astream.layout = "mono" if np.atleast_2d(samples).shape[0] == 1 else "stereo"
        for frame in _chain(first, frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
        if astream is not None:
            x = np.atleast_2d(audio[0]).astype(np.float32)
            for start in range(0, x.shape[1], 1024):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(x[:, start : start + 1024]), format="fltp", layout=astream.layout.name
                )
                af.sample_rate, af.pts = audio[1], start
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path if path is not None else target.getvalue()


def _chain(first, rest):
    yield first
    yield from rest


# --------------------------------------------------------------------------------------------- malformed


def write_malformed_corpus(folder: str) -> dict[str, str]:
    """Write broken and hostile files into ``folder``; returns name → path. Every one must make the loaders
    raise a typed omniembed error (never crash, hang or read other files)."""
    os.makedirs(folder, exist_ok=True)
    photo = skimage_image("chelsea.png")
    jpeg = encode_image(photo, "JPEG", quality=90)
    png = encode_image(photo, "PNG")
    wav = encode_audio(sine(440, 1.0, 16000), 16000, "wav")
    mp4 = encode_video((index_frame(i) for i in range(20)), fps=10, codec="mpeg4")
    rng = np.random.default_rng(1234)
    files = {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "truncated.wav_header": wav[:30],  # RIFF header cut inside the fmt chunk
        "truncated.mp4": mp4[: len(mp4) // 2],
        "empty.jpg": b"",
        "empty.wav": b"",
        "empty.mp4": b"",
        "random.jpg": rng.bytes(4096),
        "random.wav": rng.bytes(4096),
        "random.mp4": rng.bytes(4096),
        "jpeg_magic_then_garbage.jpg": b"\xff\xd8\xff\xe0" + rng.bytes(2000),
        "riff_garbage.wav": b"RIFF\xff\xff\xff\x7fWAVEfmt " + rng.bytes(500),
        "ftyp_garbage.mp4": b"\x00\x00\x00\x18ftypisom" + rng.bytes(1000),
        "png_bomb_100k.png": png_header_bomb(),
        "png_bomb_with_idat.png": png_header_bomb(idat=True),
        "text_as.jpg": b"hello, I am not a picture\n" * 20,
        "eps_as.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n",
        # An FFmpeg playlist/script posing as a video: FFmpeg's concat/hls demuxers would open these paths.
        "ffconcat_as.mp4": b"ffconcat version 1.0\nfile /etc/passwd\n",
        "hls_as.mp4": b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n",
    }
    paths = {}
    for name, data in files.items():
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        paths[name] = path
    return paths
