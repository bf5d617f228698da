"""The fuzzing seed corpus: one small, valid file per container/codec the loaders accept, plus hand-written seeds.

Seeds are small on purpose (images of a few dozen pixels, audio under half a second, videos of a few 32×32
frames): a mutated seed must decode in milliseconds so a million of them fit in a few CPU-hours. Every seed is
built in-process with Pillow and PyAV (no files shipped), byte-identical in every process (so a case id replays;
``tests/fuzz/test_fuzz_determinism.py``), and grouped by the entry point it feeds (``image``, ``audio``,
``video``). Hand-written seeds exercise structures the encoders never emit (58-channel WAV, a PNG with an
animation chunk, an ID3 tag in front of a FLAC, an MP4 box nested in itself…).

Example:
    >>> from fuzz.seeds import build_seeds
    >>> seeds = build_seeds()
    >>> sorted(seeds)
    ['audio', 'document', 'image', 'video']
    >>> all(data for group in seeds.values() for data in group.values())
    True
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

__all__ = ["build_seeds", "png_chunk"]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


# Matroska/WebM muxers write random segment and track UIDs and Ogg a random stream serial unless told to be
# bit-exact (which also drops the Lavf/Lavc version strings); the other muxers used here are deterministic already
# and keep their bytes, so the campaigns' case ids still name the same inputs.
_RANDOM_ID_FORMATS = ("matroska", "webm", "ogg")


# Slice-threaded encoders (mpeg4, mjpeg, libvpx) cut a frame into as many slices as FFmpeg gives them threads, by
# default as many as there are CPUs, so a one-CPU machine wrote other seeds. A fixed two reproduces the bytes the
# campaigns' 2-core machine drew its cases from (a 32-pixel frame has only two macroblock rows to cut).
_VIDEO_THREADS = 2


def _open_output(buf: io.BytesIO, fmt: str):
    import av

    options = {"fflags": "+bitexact"} if fmt in _RANDOM_ID_FORMATS else {}
    return av.open(buf, "w", format=fmt, container_options=options)


def _codec_options(fmt: str, opts: dict[str, str]) -> dict[str, str]:
    return {**opts, "flags": "+bitexact"} if fmt in _RANDOM_ID_FORMATS else opts


def _picture(width: int, height: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // max(1, width - 1), y * 255 // max(1, height - 1), (x ^ y) & 255], -1)
    return np.clip(base + rng.integers(-8, 8, base.shape), 0, 255).astype(np.uint8)


def _images() -> dict[str, bytes]:
    from PIL import Image

    rgb = Image.fromarray(_picture(24, 16))
    out: dict[str, bytes] = {}

    def save(name: str, img, fmt: str, **kwargs) -> None:
        buf = io.BytesIO()
        img.save(buf, fmt, **kwargs)
        out[name] = buf.getvalue()

    save("rgb.png", rgb, "PNG")
    save("rgba.png", rgb.convert("RGBA"), "PNG")
    save("p_trns.png", rgb.convert("P"), "PNG", transparency=3)
    save("i16.png", Image.fromarray(_picture(12, 8)[..., 0].astype(np.uint16) * 257), "PNG")
    save("la.png", rgb.convert("LA"), "PNG")
    frames = [Image.fromarray(_picture(16, 16, s)) for s in range(3)]
    save("anim.png", frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100, loop=0)
    save("baseline.jpg", rgb, "JPEG", quality=80)
    save("progressive.jpg", rgb, "JPEG", quality=80, progressive=True)
    save("grey.jpg", rgb.convert("L"), "JPEG")
    save("cmyk.jpg", rgb.convert("CMYK"), "JPEG")
    exif = Image.Exif()
    exif[0x0112] = 6
    save("exif6.jpg", rgb, "JPEG", exif=exif.tobytes())
    save("anim.gif", frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    save("still.gif", rgb.convert("P"), "GIF")
    save("lossy.webp", rgb, "WEBP", quality=60)
    save("lossless.webp", rgb.convert("RGBA"), "WEBP", lossless=True)
    save("anim.webp", frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=90)
    save("rgb.bmp", rgb, "BMP")
    save("p.bmp", rgb.convert("P"), "BMP")
    save("raw.tiff", rgb, "TIFF")
    save("lzw.tiff", rgb, "TIFF", compression="tiff_lzw")
    save("deflate16.tiff", Image.fromarray(_picture(8, 8)[..., 0].astype(np.uint16) * 100), "TIFF",
         compression="tiff_adobe_deflate")
    save("icon.ico", rgb.resize((16, 16)), "ICO")
    save("rgb.ppm", rgb, "PPM")
    try:
        save("rgb.avif", rgb, "AVIF", quality=50)
    except (KeyError, OSError, ValueError):  # Pillow built without libavif
        pass
    # hand-written: a 1×1 PNG, a PNG claiming 65535×65535 with one IDAT, a PNG whose acTL claims 2^31 frames
    one = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    one += png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + png_chunk(b"IEND", b"")
    out["tiny_1x1.png"] = b"\x89PNG\r\n\x1a\n" + one
    big = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 65535, 65535, 8, 0, 0, 0, 0))
    big += png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + png_chunk(b"IEND", b"")
    out["declared_huge.png"] = b"\x89PNG\r\n\x1a\n" + big
    actl = out["rgb.png"][:33] + png_chunk(b"acTL", struct.pack(">II", 0x7FFFFFFF, 0)) + out["rgb.png"][33:]
    out["actl_bomb.png"] = actl
    return out


def _audio() -> dict[str, bytes]:
    import av

    t = np.arange(3200) / 16000.0
    mono = (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    stereo = np.concatenate([mono, 0.5 * mono], 0)
    out: dict[str, bytes] = {}

    def encode(name: str, fmt: str, codec: str, x: np.ndarray, rate: int, layout: str, **opts) -> None:
        buf = io.BytesIO()
        with _open_output(buf, fmt) as container:
            stream = container.add_stream(codec, rate=rate)
            stream.layout = layout
            if opts := _codec_options(fmt, opts):
                stream.codec_context.options = opts
            for start in range(0, x.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, start : start + 1024]),
                                                   format="fltp", layout=layout)
                frame.sample_rate, frame.pts = rate, start
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        out[name] = buf.getvalue()

    encode("mono.wav", "wav", "pcm_s16le", mono, 16000, "mono")
    encode("stereo.wav", "wav", "pcm_s16le", stereo, 16000, "stereo")
    encode("mono.flac", "flac", "flac", mono, 16000, "mono")
    encode("stereo.mp3", "mp3", "libmp3lame", stereo, 16000, "stereo")
    encode("vorbis.ogg", "ogg", "vorbis", stereo, 16000, "stereo", strict="experimental")
    encode("opus.ogg", "ogg", "libopus", mono, 16000, "mono")
    encode("aac.m4a", "ipod", "aac", mono, 16000, "mono")
    encode("pcm.aiff", "aiff", "pcm_s16be", mono, 16000, "mono")
    encode("mulaw.au", "au", "pcm_mulaw", mono, 8000, "mono")
    encode("alac.caf", "caf", "alac", mono, 16000, "mono")
    encode("wavpack.wv", "wv", "wavpack", mono, 16000, "mono")
    encode("ac3.mka", "matroska", "ac3", stereo, 48000, "stereo")
    # hand-written: PCM WAVs with odd channel counts and rates; an ID3v2 tag in front of a FLAC
    for channels, rate in ((58, 8000), (3, 1), (1, 768000)):
        body = (np.arange(64 * channels, dtype="<i2") * 97).tobytes()
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
        chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
        out[f"pcm_{channels}ch_{rate}.wav"] = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks
    out["id3_flac.flac"] = b"ID3\x04\x00\x00\x00\x00\x00\x0a" + b"\x00" * 10 + out["mono.flac"]
    return out


def _video() -> dict[str, bytes]:
    import av

    frames = [_picture(32, 32, s) for s in range(6)]
    out: dict[str, bytes] = {}

    def encode(name: str, fmt: str, codec: str, pix_fmt: str = "yuv420p", audio: bool = False, **opts) -> None:
        buf = io.BytesIO()
        with _open_output(buf, fmt) as container:
            stream = container.add_stream(codec, rate=10)
            stream.width = stream.height = 32
            stream.pix_fmt = pix_fmt
            if opts := _codec_options(fmt, opts):
                stream.codec_context.options = opts
            stream.codec_context.thread_count = _VIDEO_THREADS
            astream = None
            if audio:
                astream = container.add_stream("libopus" if fmt in ("webm", "ogg") else "aac", rate=48000 if fmt
                                               in ("webm", "ogg") else 16000)
                astream.layout = "mono"
                if codec_opts := _codec_options(fmt, {}):
                    astream.codec_context.options = codec_opts
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
            if astream is not None:
                rate = astream.rate
                x = (0.3 * np.sin(np.arange(rate // 2) / 7.0)).astype(np.float32)[None]
                for start in range(0, x.shape[1], 960):
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, start : start + 960]),
                                                    format="fltp", layout="mono")
                    af.sample_rate, af.pts = rate, start
                    for packet in astream.encode(af):
                        container.mux(packet)
                for packet in astream.encode():
                    container.mux(packet)
        out[name] = buf.getvalue()

    encode("h264.mp4", "mp4", "libx264", preset="ultrafast")
    encode("h264_aac.mp4", "mp4", "libx264", audio=True, preset="ultrafast")
    encode("mpeg4.mp4", "mp4", "mpeg4")
    encode("mjpeg.avi", "avi", "mjpeg", pix_fmt="yuvj420p")
    encode("vp8.webm", "webm", "libvpx", audio=True)
    encode("ffv1.mkv", "matroska", "ffv1", pix_fmt="yuv420p")
    encode("mpeg2.ts", "mpegts", "mpeg2video")
    encode("flv1.flv", "flv", "flv")
    encode("wmv2.asf", "asf", "wmv2")
    encode("mpeg4.mov", "mov", "mpeg4")
    encode("vp9.ivf", "ivf", "libvpx-vp9")
    # hand-written: the moov box of an MP4 nested inside itself; an MP4 whose mdat is a WAV file
    mp4 = out["mpeg4.mp4"]
    at = mp4.find(b"moov") - 4
    if at > 0:
        size = struct.unpack(">I", mp4[at : at + 4])[0]
        moov = mp4[at : at + size]
        nested = struct.pack(">I", size + len(moov)) + b"moov" + moov[8:] + moov
        out["nested_moov.mp4"] = mp4[:at] + nested + mp4[at + size :]
    wav = _audio()["mono.wav"]
    out["wav_in_mdat.mp4"] = mp4[:32] + struct.pack(">I", 8 + len(wav)) + b"mdat" + wav
    return out


def build_seeds() -> dict[str, dict[str, bytes]]:
    """``{"image": {name: bytes}, "audio": {...}, "video": {...}, "document": {...}}``; about a second to build.

    ``document`` (PDFs, :mod:`fuzz.documents`) feeds only the ``document`` entry point: the media entry points
    draw from the first three groups, so their cases stay what they were before PDFs were added."""
    from fuzz.documents import pdf_seeds

    return {"image": _images(), "audio": _audio(), "video": _video(), "document": pdf_seeds()}
