"""Modality detection: the reference's rules (sentence-transformers 6.2, behaviour notes §4 and §14), then ours
(Path, bytes and file-object sniffing, data:audio/video URIs, explicit media on models that lack it)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import types
import wave
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from omniembed.errors import UnsupportedInputError, UnsupportedModalityError
from omniembed.inputs.detect import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    check_modality_supported,
    infer_batch_modality,
    infer_modality,
    is_non_text_pair,
    is_singular_input,
    sniff_media,
    supports,
)

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


# ---------------------------------------------------------------------------------- reference: strings
STRINGS = [
    *[(f"https://example.com/photo{ext}", "image") for ext in IMAGE_EXTENSIONS],
    *[(f"https://example.com/clip{ext}", "video") for ext in VIDEO_EXTENSIONS],
    *[(f"https://example.com/clip{ext}", "audio") for ext in AUDIO_EXTENSIONS],
    ("http://example.com/photo.webp", "image"),
    ("https://example.com/PHOTO.JPG", "image"),
    ("https://cdn.example.com/photo.jpg?width=200&token=abc", "image"),
    ("https://example.com/photo.png#section", "image"),
    ("https://example.com/my%20photo.jpg", "image"),
    ("https://example.com/my%20video.mp4", "video"),
    ("https://example.com/my%20clip.mp3", "audio"),
    ("https://cdn.example.com/clip.mp4?token=abc", "video"),
    ("https://cdn.example.com/clip.wav?token=abc", "audio"),
    ("https://example.com/a.mp4#t=10", "video"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video"),
    ("https://youtube.com/watch?v=dQw4w9WgXcQ", "video"),
    ("https://youtu.be/dQw4w9WgXcQ", "video"),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", "video"),
    ("https://youtube.com/cover.jpg", "image"),  # image rules run first
    ("https://youtu.be/song.mp3", "video"),  # YouTube hosts are checked before audio extensions
    ("https://music.youtube.com/watch?v=x", "text"),
    ("https://YOUTU.BE/x", "text"),  # the host match is exact
    ("https://youtu.be:443/x", "text"),
    ("http://youtu.be/YYPc7CRL39o - Love Song, The Butterflys sing You Are So Beautiful", "text"),
    ("https://example.com/video.mp4 some extra text", "text"),
    ("https://example.com/photo.jpg this is a sentence", "text"),
    ("https://example.com/page.html", "text"),
    ("https://example.com/photo.tif", "text"),
    ("https://example.com/photo.jpg.html", "text"),
    ("https://example.com/photo.jpg/", "text"),
    ("https://example.com/?file=photo.jpg", "text"),
    ("https://example.com/", "text"),
    ("ftp://example.com/photo.jpg", "text"),
    ("HTTPS://example.com/photo.jpg", "text"),
    ("www.example.com/photo.jpg", "text"),
    ("http://[invalid", "text"),
    ("https://[[invalid]]/photo.jpg", "text"),
    ("http://[::1/photo.jpg", "text"),
    ("data:image/png;base64,iVBOR", "image"),
    ("data:image/jpeg;base64,/9j/4AAQ and some text", "image"),  # data URIs skip the space rule
    ("data:audio/wav;base64,UklGR", "audio"),
    ("data:video/mp4;base64,AAAAHGZ0eXA", "video"),
    ("data:text/plain,photo.jpg", "text"),
    ("DATA:image/png;base64,iVBOR", "text"),
    ("hello world", "text"),
    ("", "text"),
    ("a photo.jpg", "text"),
    ("/nonexistent/path/photo.jpg", "text"),
    ("/nonexistent/clip.mp3", "text"),
    ("photo.png\nwith a newline", "text"),
    ("nul\x00byte.png", "text"),
    ("x" * 10_000 + ".png", "text"),
]


@pytest.mark.parametrize(("text", "expected"), STRINGS, ids=[repr(t[:50]) for t, _ in STRINGS])
def test_string_rules(text, expected):
    assert infer_modality(text) == expected
    assert infer_modality(text, ALL) == expected


FALLBACK = [
    ("https://example.com/photo.jpg", ["text"], "text"),
    ("https://youtu.be/dQw4w9WgXcQ", ["text"], "text"),
    ("https://example.com/clip.mp3", ["text"], "text"),
    ("https://example.com/photo.jpg", ["text", "image"], "image"),
    ("https://youtu.be/dQw4w9WgXcQ", ["text", "video"], "video"),
    ("https://example.com/clip.mp3", ["text", "audio"], "audio"),
    ("https://example.com/clip.mp4", ["text", "image"], "text"),
    ("https://youtube.com/cover.jpg", ["text", "video"], "text"),  # image matched first, unsupported → text
    ("data:image/png;base64,iVBOR", ["text", "audio"], "text"),
    ("data:audio/wav;base64,UklGR", ["text", "image"], "text"),
    ("data:video/mp4;base64,AAAA", ["text", "video"], "video"),
]


@pytest.mark.parametrize(("text", "supported", "expected"), FALLBACK)
def test_unsupported_media_strings_fall_back_to_text(text, supported, expected):
    assert infer_modality(text, supported) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jpg", "image"),
        ("B.JPEG", "image"),
        ("c.Png", "image"),
        ("d.mp4", "video"),
        ("e.MKV", "video"),
        ("f.wav", "audio"),
        ("g.flac", "audio"),
        ("h.aac", "audio"),
        ("with space.gif", "image"),
    ],
)
def test_existing_local_files_by_extension(tmp_path, name, expected):
    path = tmp_path / name
    path.write_text("not really media")  # the reference only looks at the name, and that the file exists
    assert infer_modality(str(path)) == expected
    assert infer_modality(str(path), ["text"]) == "text"
    assert infer_modality(str(tmp_path / ("missing-" + name))) == "text"


def test_relative_paths_and_directories(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("rel.png").write_bytes(b"x")
    (tmp_path / "folder.jpg").mkdir()
    assert infer_modality("rel.png") == "image"
    assert infer_modality("folder.jpg") == "text"


# ------------------------------------------------------------------------ reference: everything else
MESSAGES_AND_PAIRS = [
    (("query", "document"), "text"),
    (["query", "document"], "text"),
    (MSG, "message"),
    ([MSG, {"role": "assistant", "content": "hi"}], "message"),
    ({**MSG, "array": np.zeros(3)}, "message"),  # role+content is checked before the array rules
    ({"array": np.zeros(16000), "sampling_rate": 16000}, "audio"),
    ({"array": np.zeros((8, 3, 4, 4)), "video_metadata": {"fps": 30}}, "video"),
    ({"array": np.zeros(4), "sampling_rate": 16000, "video_metadata": {}}, "audio"),
    ({"image": "cat.jpg"}, "image"),
    ({"image": PIL_IMG}, "image"),
    ({"text": "a photo"}, "text"),
    ({"audio": np.zeros(4)}, "audio"),
    ({"video": [PIL_IMG, PIL_IMG]}, "video"),
    ({"image": "cat.jpg", "text": "a photo"}, ("image", "text")),
    ({"text": "a photo", "image": "cat.jpg"}, ("image", "text")),
    ({"text": "t", "audio": np.zeros(3), "image": PIL_IMG}, ("audio", "image", "text")),
    ({"video": 1, "text": 2, "image": 3, "audio": 4}, ("audio", "image", "text", "video")),
    ({"image": [PIL_IMG, PIL_IMG], "text": ["a", "b"]}, ("image", "text")),
    (PIL_IMG, "image"),
    (Image.new("L", (2, 2)), "image"),
    (np.zeros(16000), "audio"),
    (np.zeros((2, 16000)), "audio"),
    (np.zeros((224, 224, 3)), "image"),
    (np.zeros((3, 224, 224), np.uint8), "image"),
    (np.zeros((8, 3, 4, 4)), "video"),
    (np.zeros((1, 8, 3, 4, 4)), "video"),
    (np.array(["a", "b"]), "audio"),  # ndim decides, even for strings (reference quirk)
    (torch.zeros(16000), "audio"),
    (torch.zeros(2, 100), "audio"),
    (torch.zeros(3, 8, 8), "image"),
    (torch.zeros(8, 3, 4, 4), "video"),
    (torch.zeros(1, 2, 3, 4, 4), "video"),
]


@pytest.mark.parametrize(("sample", "expected"), MESSAGES_AND_PAIRS, ids=range(len(MESSAGES_AND_PAIRS)))
def test_structured_inputs(sample, expected):
    assert infer_modality(sample) == expected


# fmt: off
ERRORS = [
    ({"array": np.zeros(4)}, "Dict input with 'array' key must also include 'sampling_rate' (for audio) or "
     "'video_metadata' (for video). Got keys: ['array']"),
    ({"array": np.zeros(4), "fps": 3}, "Dict input with 'array' key must also include 'sampling_rate' (for "
     "audio) or 'video_metadata' (for video). Got keys: ['array', 'fps']"),
    ({"foo": 1}, "Multimodal dict input contains unrecognized modality keys: ['foo']. Expected keys from: "
     "['audio', 'image', 'text', 'video']."),
    ({"text": "x", "Image": 1, 3: 4}, "Multimodal dict input contains unrecognized modality keys: [3, 'Image']. "
     "Expected keys from: ['audio', 'image', 'text', 'video']."),
    ({"role": "user"}, "Multimodal dict input contains unrecognized modality keys: ['role']. Expected keys "
     "from: ['audio', 'image', 'text', 'video']."),
    ({}, "Empty dict input is not a valid input sample."),
    (np.zeros((1,) * 6), "Unsupported tensor dimensionality: 6D. Expected 1-2D for audio, 3D for image, or 4-5D "
     "for video."),
    (torch.zeros(2, 3, 4, 5, 6, 7), "Unsupported tensor dimensionality: 6D. Expected 1-2D for audio, 3D for "
     "image, or 4-5D for video."),
    (np.array(1.0), "Unsupported tensor dimensionality: 0D. Expected 1-2D for audio, 3D for "
     "image, or 4-5D for video."),
    (torch.tensor(1.0), "Unsupported tensor dimensionality: 0D. Expected 1-2D for audio, 3D for image, or 4-5D "
     "for video."),
    *[(value, f"Unsupported input type: {name}. Expected one of: str, dict, PIL.Image.Image, np.ndarray, "
       "torch.Tensor") for value, name in [
        (12345, "int"), (1.5, "float"), (None, "NoneType"), (True, "bool"), ({1, 2}, "set"), (object(), "object"),
        ([PIL_IMG] * 3, "list"), ([PIL_IMG, PIL_IMG], "list"), (("a", "b", "c"), "tuple"), (["a"], "list"),
        ([], "list"), ((PIL_IMG, "a caption"), "tuple"), ([{"role": "user"}], "list"),
        (iter(["a"]), "list_iterator"), (np.float64(1.0), "float64")]],
]
# fmt: on


@pytest.mark.parametrize(("sample", "message"), ERRORS, ids=range(len(ERRORS)))
def test_error_texts_are_exact(sample, message):
    with pytest.raises(UnsupportedInputError) as info:
        infer_modality(sample)
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("video_metadata", 'processing_kwargs={"video": {"do_sample_frames": False}}'),
        ("sampling_rate", '{"audio": {"array": waveform, "sampling_rate": 16000}}'),
    ],
)
def test_stray_metadata_keys_get_a_hint(key, hint):
    with pytest.raises(ValueError, match=f"unrecognized modality keys: \\['{key}'\\]") as info:
        infer_modality({"video": np.zeros((2, 3, 4, 4)), key: 1})
    assert hint in str(info.value)


def test_non_text_pairs():
    assert is_non_text_pair((PIL_IMG, "caption")) and is_non_text_pair([PIL_IMG, PIL_IMG])
    assert not is_non_text_pair(("q", "d")) and not is_non_text_pair([MSG, MSG]) and not is_non_text_pair([PIL_IMG])


# ------------------------------------------------------------------------------------------- batches
@pytest.mark.parametrize(
    ("batch", "supported", "expected"),
    [
        ([], None, "text"),
        (["hello", "world"], None, "text"),
        (["hello"], None, "text"),
        ([np.zeros((4, 4, 3)), np.zeros((4, 4, 3))], None, "image"),
        ([np.zeros(160), np.zeros(160)], None, "audio"),
        (["some text", PIL_IMG], None, "message"),
        (["some text", np.zeros(160)], None, "message"),
        ([{"image": "cat.jpg", "text": "a cat"}, {"text": "a dog", "image": "dog.jpg"}], None, ("image", "text")),
        (["hello world", "https://youtu.be/dQw4w9WgXcQ", "another text"], ["text"], "text"),
        (["hello world", "https://youtu.be/dQw4w9WgXcQ", "another text"], ["text", "video"], "message"),
        (np.array(["a", "b"]), None, "text"),
        ((("q", "d"), ("q2", "d2")), ["text"], "text"),
    ],
)
def test_infer_batch_modality(batch, supported, expected):
    assert infer_batch_modality(batch, supported) == expected


class FakeColumn(list):
    pass


@pytest.mark.parametrize(
    ("inputs", "singular"),
    [
        ("a", True),
        (["a"], False),
        (("a", "b"), False),
        ([], False),
        ((), False),
        ([("q", "d")], False),
        ([MSG], True),
        ([MSG, MSG], True),
        ([[MSG]], False),
        (MSG, True),
        ({"image": PIL_IMG}, True),
        (PIL_IMG, True),
        (np.array(["a", "b"]), False),
        (np.array([], dtype=object), False),
        (np.array("a"), True),
        (np.zeros((2, 16000)), True),
        (torch.zeros(3, 4, 4), True),
        (b"\x89PNG", True),
        (Path("a.png"), True),
        (None, True),
    ],
)
def test_is_singular_input(inputs, singular):
    assert is_singular_input(inputs) is singular


def test_datasets_column_is_a_batch(monkeypatch):
    class Column:
        def __init__(self, values):
            self.values = values

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(Column=Column))
    assert is_singular_input(Column(["a", "b"])) is False


# ------------------------------------------------------------------------------ supports & error texts
# fmt: off
SUPPORTS = [
    (["text"], "text", True), (["text"], "image", False), (["text", "image"], "text", True),
    (["text", "image"], "image", True), (["text", "image"], "audio", False), (["text", "message"], "image", False),
    (["text", ("image", "text")], ("image", "text"), True), (["text", "image"], ("image", "text"), False),
    (["text", "audio"], ("audio", "text"), False), (["text", "image", "message"], ("image", "text"), True),
    (["text", "audio", "message"], ("audio", "text"), True),
    (["text", "image", "audio", "message"], ("image", "text"), True),
    (["text", "image", "audio", "message"], ("audio", "text"), True),
    (["text", "image", "audio", "message"], ("audio", "image"), True),
    (["text", "image", "audio", "message"], ("audio", "image", "text"), True),
    (["text", "message"], ("image", "text"), False), (["text", "image", "message"], ("audio", "text"), False),
    (["text", "image", "message"], ("video", "text"), False),
    (["text", "image", "audio", "video", "message"], ("video", "audio", "image", "text"), True),
    (["text", "image", "audio", "video", "message"], "video", True),
    (["text", "image", "audio", "video", "message"], "message", True),
    (["text", "message"], "message", True), (["text"], "message", False),
]
# fmt: on


@pytest.mark.parametrize(("modalities", "modality", "expected"), SUPPORTS)
def test_supports_table(modalities, modality, expected):
    assert supports(modalities, modality) is expected


# fmt: off
CHECKS = [
    ("image", ["text"], None, {}, "Modality 'image' is not supported by this SentenceTransformer model. "
     "Supported modalities: text."),
    (("image", "text"), ["text"], None, {}, "Modality 'image+text' is not supported by this SentenceTransformer "
     "model. Supported modalities: text."),
    ("video", ["audio", ("audio", "text")], None, {}, "Modality 'video' is not supported by this "
     "SentenceTransformer model. Supported modalities: audio, audio+text."),
    (("image", "text"), ["text", "image"], None, {}, "This SentenceTransformer model supports image and text "
     "individually, but cannot combine them in a single input. Encode each modality separately (one call per "
     "modality)."),
    ("message", ["text"], None, {}, "This SentenceTransformer model does not support chat-style 'message' inputs "
     "(dicts or lists of dicts with 'role' and 'content'). Supported modalities: text."),
    ("message", ["text"], [MSG, [MSG]], {}, "This SentenceTransformer model does not support chat-style 'message' "
     "inputs (dicts or lists of dicts with 'role' and 'content'). Supported modalities: text."),
    ("message", ["text"], [MSG, "text"], {}, "This SentenceTransformer model does not support chat-style "
     "'message' inputs (dicts or lists of dicts with 'role' and 'content'), which this batch mixes with other "
     "modalities. Supported modalities: text."),
    ("message", ["text", "image"], ["a cat", PIL_IMG], {}, "This batch mixes multiple modalities (image, text), "
     "which this SentenceTransformer model cannot encode in a single batch. Encode each modality separately (one "
     "call per modality)."),
    ("message", ["text"], ["a cat", PIL_IMG], {}, "This batch mixes multiple modalities (image, text), but this "
     "SentenceTransformer model does not support image. Supported modalities: text."),
    ("message", ["text"], [(PIL_IMG, "a caption")], {"owner": "Transformer module"}, "Modality 'message' is not "
     "supported by this Transformer module. Supported modalities: text."),
    ("audio", ["text", "image"], None, {"owner": "CrossEncoder model"}, "Modality 'audio' is not supported by "
     "this CrossEncoder model. Supported modalities: text, image."),
]
# fmt: on


@pytest.mark.parametrize(("modality", "supported", "inputs", "kwargs", "message"), CHECKS, ids=range(len(CHECKS)))
def test_check_modality_supported_texts(modality, supported, inputs, kwargs, message):
    with pytest.raises(UnsupportedModalityError) as info:
        check_modality_supported(modality, supported, inputs=inputs, **kwargs)
    assert str(info.value) == message and isinstance(info.value, ValueError)


def test_check_modality_supported_passes():
    assert check_modality_supported("image", ["text", "image"]) is None
    assert check_modality_supported(("image", "text"), ["text", "image", "message"]) is None


@pytest.mark.parametrize(
    ("sample", "supported", "shown"),
    [
        (PIL_IMG, ["text"], "image"),
        (np.zeros(16000), ["text"], "audio"),
        (np.zeros((4, 4, 3)), ["text"], "image"),
        (torch.zeros(8, 3, 4, 4), ["text", "image"], "video"),
        ({"image": "https://x.org/a.jpg"}, ["text"], "image"),
        ({"audio": "a.wav"}, ["text", "image"], "audio"),
        ({"video": "v.mp4"}, ["text"], "video"),
        (b"\x89PNG\r\n\x1a\n0000", ["text"], "image"),
        (Path("clip.mp3"), ["text", "image"], "audio"),
        ({"array": np.zeros(3), "sampling_rate": 8000}, ["text"], "audio"),
        ("hello", ["image"], "text"),
    ],
)
def test_explicit_media_on_a_model_without_it_raises(sample, supported, shown):
    listed = ", ".join(supported)
    with pytest.raises(UnsupportedModalityError) as info:
        infer_modality(sample, supported)
    assert str(info.value) == (
        f"Modality '{shown}' is not supported by this SentenceTransformer model. Supported modalities: {listed}."
    )
    # ...while the same media as a bare string stays text, as in the reference
    assert infer_modality("https://x.org/a.jpg", ["text"]) == "text"


def test_explicit_unsupported_combination_and_messages():
    with pytest.raises(UnsupportedModalityError, match="supports image and text individually"):
        infer_modality({"image": PIL_IMG, "text": "a"}, ["text", "image"])
    assert infer_modality({"image": PIL_IMG, "text": "a"}, ["text", "image", "message"]) == ("image", "text")
    with pytest.raises(UnsupportedModalityError, match="chat-style 'message'"):
        infer_modality(MSG, ["text"])
    with pytest.raises(UnsupportedModalityError, match="by this Transformer module"):
        infer_batch_modality(["a", PIL_IMG], ["text"], owner="Transformer module")
    err = pytest.raises(UnsupportedModalityError, infer_modality, PIL_IMG, ["text"]).value
    assert str(err.at_index(4)).startswith("Item 4 (<PIL image RGB (4, 4)>): Modality 'image' is not supported")
    err = pytest.raises(UnsupportedInputError, infer_modality, 12345).value
    assert (
        str(err.at_index(0)) == "Item 0 (12345): Unsupported input type: int. Expected one of: str, dict, "
        "PIL.Image.Image, np.ndarray, torch.Tensor"
    )


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
    (b"GIF87a\x01\x00", ("image", "gif")), (b"%PDF-1.7", None), (b"PK\x03\x04", None), (b"<svg xmlns", None),
]
# fmt: on


@pytest.mark.parametrize(("head", "expected"), HEADERS, ids=range(len(HEADERS)))
def test_sniff_minimal_headers(head, expected):
    assert sniff_media(head) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_sniff_never_raises(head):
    found = sniff_media(head)
    assert found is None or found[0] in ("image", "audio", "video")


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
