"""Modality detection: the reference's rules (sentence-transformers 6.2, behaviour notes §4 and §14), then ours
(Path, bytes and file-object sniffing, data:audio/video URIs, explicit media on models that lack it)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from omniembed.errors import UnsupportedInputError, UnsupportedModalityError
from omniembed.inputs.detect import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    infer_modality,
    is_singular_input,
)

ALL = ["text", "image", "audio", "video", "message"]
PIL_IMG = Image.new("RGB", (4, 4))
MSG = {"role": "user", "content": "hello"}


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


# ----------------------------------------------------------------------- explicit media, unsupported
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
        infer_modality(PIL_IMG, ["text"], owner="Transformer module")
    err = pytest.raises(UnsupportedModalityError, infer_modality, PIL_IMG, ["text"]).value
    assert str(err.at_index(4)).startswith("Item 4 (<PIL image RGB (4, 4)>): Modality 'image' is not supported")
    err = pytest.raises(UnsupportedInputError, infer_modality, 12345).value
    assert (
        str(err.at_index(0)) == "Item 0 (12345): Unsupported input type: int. Expected one of: str, dict, "
        "PIL.Image.Image, np.ndarray, torch.Tensor"
    )
