"""Content sniffing and non-string inputs: bytes, file objects, Path, data URIs, odd strings (omniembed's own
rules beyond the reference's extension-based detection)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from omniembed.errors import UnsupportedInputError
from omniembed.inputs.detect import infer_modality
from omniembed.inputs.sniff import sniff_media

ALL = ["text", "image", "audio", "video", "message"]
PIL_IMG = Image.new("RGB", (4, 4))
MSG = {"role": "user", "content": "hello"}


# ------------------------------------------------------------------------------------ media generators
def image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 3), (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def wav_bytes() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(8000)
        out.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


def av_bytes(container: str, codec: str, kind: str) -> bytes:
    """A real, tiny file written by FFmpeg through PyAV (0.1 s of audio, or three 16x16 frames)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        if kind == "audio":
            rate = 48000 if codec == "libopus" else 16000
            stream = out.add_stream(codec, rate=rate)
            stream.layout = "mono"
            frame = av.AudioFrame.from_ndarray(np.zeros((1, rate // 10), np.int16), format="s16", layout="mono")
            frame.sample_rate = rate
            frames = [frame]
        else:
            stream = out.add_stream(codec, rate=25)
            stream.width = stream.height = 16
            stream.pix_fmt = "yuv420p"
            frames = [av.VideoFrame.from_ndarray(np.full((16, 16, 3), i * 40, np.uint8)) for i in range(3)]
        for frame in [*frames, None]:
            for packet in stream.encode(frame):
                out.mux(packet)
    return buf.getvalue()


# fmt: off
REAL_MEDIA = {  # format name -> (modality, bytes factory)
    **{name: ("image", lambda f=fmt: image_bytes(f)) for name, fmt in
       [("jpeg", "JPEG"), ("png", "PNG"), ("gif", "GIF"), ("webp", "WEBP"), ("bmp", "BMP"), ("tiff", "TIFF")]},
    "wav": ("audio", wav_bytes),
    **{name: ("audio", lambda c=c, k=codec: av_bytes(c, k, "audio")) for name, c, codec in [
        ("flac", "flac", "flac"), ("ogg", "ogg", "libopus"), ("mp3", "mp3", "libmp3lame"), ("aac", "adts", "aac"),
        ("m4a", "ipod", "aac"), ("aiff", "aiff", "pcm_s16be"), ("au", "au", "pcm_s16be"), ("caf", "caf", "pcm_s16le")]},
    **{name: ("video", lambda c=c, k=codec: av_bytes(c, k, "video")) for name, c, codec in [
        ("mp4", "mp4", "mpeg4"), ("mov", "mov", "mpeg4"), ("matroska", "matroska", "mpeg4"), ("webm", "webm", "libvpx"),
        ("avi", "avi", "mpeg4"), ("flv", "flv", "flv"), ("asf", "asf", "wmv2"), ("mpegts", "mpegts", "mpeg2video"),
        ("mpeg", "mpeg", "mpeg1video"), ("3gp", "3gp", "mpeg4")]},
}
# fmt: on


@pytest.fixture(scope="module")
def media() -> dict[str, bytes]:
    return {name: factory() for name, (_, factory) in REAL_MEDIA.items()}


# --------------------------------------------------------------------------------- sniffing: real files
@pytest.mark.parametrize("name", list(REAL_MEDIA))
def test_sniff_real_files(media, name):
    modality, data = REAL_MEDIA[name][0], media[name]
    assert sniff_media(data) == (modality, name)
    assert sniff_media(data[:4096]) == (modality, name)
    assert infer_modality(data) == modality
    assert infer_modality(bytearray(data)) == modality
    assert infer_modality(memoryview(data)) == modality
    stream = io.BytesIO(b"junk" + data)
    stream.seek(4)
    assert infer_modality(stream) == modality and stream.tell() == 4  # the position is left untouched


def test_sniff_files_on_disk(media, tmp_path):
    (tmp_path / "noext").write_bytes(media["webm"])
    (tmp_path / "song.m4a").write_bytes(media["m4a"])
    (tmp_path / "data.dat").write_bytes(media["wav"])
    (tmp_path / "notes").write_text("just some notes")
    blob = str(tmp_path / "noext")
    assert infer_modality(blob) == "video"
    assert infer_modality(blob, ["text", "video"]) == "video"
    assert infer_modality(blob, ["text"]) == "text"  # text-only model: no sniffing, reference behaviour
    assert infer_modality(blob, ["text", "image"]) == "text"  # sniffed, but video is not supported
    assert infer_modality(str(tmp_path / "song.m4a"), ["text", "audio"]) == "audio"
    assert infer_modality(str(tmp_path / "data.dat")) == "audio"
    assert infer_modality(str(tmp_path / "notes")) == "text"
    assert infer_modality(Path(blob)) == "video"
    assert infer_modality(tmp_path / "data.dat") == "audio"
    with open(blob, "rb") as handle:
        assert infer_modality(handle) == "video" and handle.tell() == 0


def test_paths(tmp_path):
    assert infer_modality(Path("/missing/photo.JPG")) == "image"  # extension decides; the loader reports missing files
    assert infer_modality(Path("clip.mkv")) == "video" and infer_modality(Path("a.flac")) == "audio"
    (tmp_path / "unknown.bin").write_bytes(b"\x00\x01\x02\x03" * 8)
    for path, match in [
        (tmp_path / "unknown.bin", "not a recognised"),
        (tmp_path / "missing", "does not exist"),
        (tmp_path, "is a directory"),
        (tmp_path / "empty", "is empty"),
    ]:
        if path.name == "empty":
            path.write_bytes(b"")
        with pytest.raises(UnsupportedInputError, match=match):
            infer_modality(path)


def test_data_uri_sniffing(media):
    import base64

    uri = "data:application/octet-stream;base64," + base64.b64encode(media["png"]).decode()
    assert infer_modality(uri) == "image" and infer_modality(uri, ["text", "image"]) == "image"
    assert infer_modality(uri, ["text"]) == "text"
    assert infer_modality("data:application/octet-stream;base64,aGVsbG8gd29ybGQ=") == "text"
    assert infer_modality("data:application/octet-stream;base64,!!!") == "text"


class RawNonSeekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self._data.readinto(buffer)


def test_file_objects(media, tmp_path):
    buffered = io.BufferedReader(RawNonSeekable(media["flac"]))
    assert infer_modality(buffered) == "audio" and buffered.read() == media["flac"]  # peeked, not consumed

    class ReadOnly:
        def read(self, n=-1):
            return b""

    with pytest.raises(UnsupportedInputError, match="non-seekable stream"):
        infer_modality(ReadOnly())
    with pytest.raises(UnsupportedInputError, match="text mode"):
        infer_modality(io.StringIO("hello"))
    (tmp_path / "t.txt").write_text("hello")
    with open(tmp_path / "t.txt") as handle, pytest.raises(UnsupportedInputError, match="text mode"):
        infer_modality(handle)
    with pytest.raises(UnsupportedInputError, match="not a recognised"):
        infer_modality(io.BytesIO(b"plain text, not media"))
    closed = io.BytesIO(media["png"])
    closed.close()
    with pytest.raises(UnsupportedInputError, match="Cannot read from the file object"):
        infer_modality(closed)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"hello world", "not a recognised image, audio or video format"),
        (b"", "is empty"),
        (b"\x00" * 100, "first bytes: 00 00"),
        (bytearray(b"<html>"), "Bytes are never treated as text"),
        (memoryview(b""), "is empty"),
    ],
)
def test_unknown_bytes_raise(data, match):
    with pytest.raises(UnsupportedInputError, match=match):
        infer_modality(data)


# ------------------------------------------------------------------------------- sniffing: minimal headers
RIFF = b"RIFF\x24\x00\x00\x00"
# fmt: off
HEADERS = [
    (b"II*\x00\x08\x00\x00\x00", ("image", "tiff")), (b"MM\x00*\x00\x00\x00\x08", ("image", "tiff")),
    (b"II+\x00\x08\x00\x00\x00", ("image", "tiff")), (b"\x00\x00\x00\x0cjP  \r\n\x87\n", ("image", "jp2")),
    (b"\xff\x0a\xfa", ("image", "jxl")), (b"BM" + bytes(12) + b"\x28\x00\x00\x00", ("image", "bmp")),
    (b"BM" + bytes(12) + b"\x99\x00\x00\x00", None), (b"BMW", None),
    (RIFF + b"WEBPVP8 ", ("image", "webp")), (RIFF + b"WAVEfmt ", ("audio", "wav")),
    (RIFF + b"AVI LIST", ("video", "avi")), (RIFF + b"RMID", None),
    (b"\x00\x00\x00\x1cftypavif", ("image", "avif")), (b"\x00\x00\x00\x18ftypheic", ("image", "heic")),
    (b"\x00\x00\x00\x18ftypmif1", ("image", "heic")), (b"\x00\x00\x00\x18ftypM4B ", ("audio", "m4a")),
    (b"\x00\x00\x00\x18ftypmp42", ("video", "mp4")), (b"\x00\x00\x00\x18ftypdash", ("video", "mp4")),
    (b"\x00\x00\x00\x08moov", ("video", "mov")), (b"\x00\x00\x00\x08wide", ("video", "mov")),
    (b"\x00\x00\x00\x00moov", None),
    (b"OggS\x00\x02" + bytes(22) + b"\x80theora", ("video", "ogg")), (b"OggS\x00\x02" + bytes(22) + b"\x01vorbis",
                                                                     ("audio", "ogg")),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm", ("video", "webm")),
    (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska", ("video", "matroska")),
    (b"FORM\x00\x00\x00\x00AIFC", ("audio", "aiff")), (b"FORM\x00\x00\x00\x00ILBM", None),
    (b"#!AMR\n", ("audio", "amr")), (b"\x00\x00\x01\xba\x44", ("video", "mpeg")),
    (b"\x47" + bytes(187) + b"\x47\x00", ("video", "mpegts")), (b"\x47" + bytes(187) + b"\x00", None),
    (b"\xff\xfb\x90\x64", ("audio", "mp3")), (b"\xff\xf3\x48\xc4", ("audio", "mp3")),
    (b"\xff\xf1\x50\x80", ("audio", "aac")), (b"\xff\xf9\x50\x80", ("audio", "aac")),
    (b"\xff\xfb\xf0\x64", None), (b"\xff\xfb\x9c\x64", None), (b"\xff\xe9\x90\x64", None), (b"\xff\xf9", None),
    (b"ID3\x04\x00\x00\x00\x00\x00\x02\x00\x00" + b"\xff\xf1\x50\x80", ("audio", "aac")),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"fLaC\x00\x00\x00\x22", ("audio", "flac")),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\x89PNG\r\n\x1a\n", ("audio", "mp3")),
    (b"ID3\x04\x00\x00\x00\x7f\x7f\x7f\x7f", ("audio", "mp3")),
    (b"GIF87a\x01\x00", ("image", "gif")), (b"%PDF-1.7", ("document", "pdf")),
    (b"PK\x03\x04", None), (b"<svg xmlns", None),
]
# fmt: on


@pytest.mark.parametrize(("head", "expected"), HEADERS, ids=range(len(HEADERS)))
def test_sniff_minimal_headers(head, expected):
    assert sniff_media(head) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_sniff_never_raises(head):
    found = sniff_media(head)
    assert found is None or found[0] in ("image", "audio", "video", "document")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_string_is_text_on_a_text_model(text):
    assert infer_modality(text, ["text"]) == "text"
    assert infer_modality(text) in ("text", "image", "audio", "video")  # never raises


def test_surrogates_and_odd_strings_are_text():
    for text in ["\ud800abc", "\ud800abc.png", "data:application/x;base64,\ud800", "data:image", "data:,"]:
        assert infer_modality(text) == "text"


def test_detect_needs_neither_torch_nor_pillow():
    code = (
        "import sys; sys.modules.update(PIL=None, torch=None, torchcodec=None)\n"
        "from omniembed.inputs.detect import infer_modality as m, is_singular_input as s\n"
        "assert m('https://x.org/a.png') == 'image' and m(b'fLaC') == 'audio' and m({'text': 'a'}) == 'text'\n"
        "assert m(('q', 'd')) == 'text' and s(['a']) is False\n"
        "assert sys.modules['PIL'] is None and sys.modules['torch'] is None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert result.returncode == 0, result.stderr


def test_own_decoded_items_are_recognised():
    # inputs.AudioClip / inputs.VideoClip, matched by name and package so detect never imports the decoders
    clips = {name: type(name, (), {"__module__": "omniembed.inputs.fake"})() for name in ("AudioClip", "VideoClip")}
    assert infer_modality(clips["AudioClip"]) == "audio" and infer_modality(clips["VideoClip"]) == "video"
    impostor = type("AudioClip", (), {"__module__": "elsewhere"})()
    with pytest.raises(UnsupportedInputError, match="Unsupported input type: AudioClip"):
        infer_modality(impostor)
