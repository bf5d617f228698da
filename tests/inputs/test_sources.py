"""read_source (paths, URLs, data URIs, bytes, file objects, limits) and the load_item dispatch."""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import media

from omniembed.errors import (
    InputError,
    MediaDecodeError,
    MediaFetchError,
    MediaTooLargeError,
    MissingDependencyError,
    UnsupportedInputError,
)
from omniembed.inputs import (
    AudioClip,
    FetchPolicy,
    MediaLimits,
    MediaOptions,
    VideoClip,
    VideoSampling,
    load_item,
)
from omniembed.inputs.sources import read_source

PAYLOAD = b"\x89PNG\r\n\x1a\n some bytes \x00\xff"


@pytest.fixture
def payload_file(tmp_path) -> Path:
    path = tmp_path / "name with space.png"
    path.write_bytes(PAYLOAD)
    return path


def test_local_paths_are_checked_and_returned_not_read(payload_file):
    for ref in (str(payload_file), payload_file, payload_file.as_uri(), "file://localhost" + str(payload_file)):
        src = read_source(ref)
        assert src.data is None and src.path == str(payload_file), ref
        assert src.open().read() == PAYLOAD and src.head(4) == PAYLOAD[:4]


def test_in_memory_sources(payload_file):
    b64 = base64.b64encode(PAYLOAD).decode()
    cases = {
        "bytes": PAYLOAD,
        "bytearray": bytearray(PAYLOAD),
        "memoryview": memoryview(PAYLOAD),
        "BytesIO": io.BytesIO(PAYLOAD),
        "open file": open(payload_file, "rb"),  # noqa: SIM115 - closed below
        "data URI base64": f"data:image/png;base64,{b64}",
        "data URI base64 with whitespace and no padding": "data:image/png;base64,"
        + b64.rstrip("=")[:8]
        + "\n "
        + b64.rstrip("=")[8:],
        "data URI url-safe base64": "data:image/png;base64," + base64.urlsafe_b64encode(PAYLOAD).decode(),
        "data URI percent-encoded": "data:image/png," + "".join(f"%{b:02X}" for b in PAYLOAD),
        "bare base64": base64.b64encode(PAYLOAD * 8).decode(),
    }
    for name, ref in cases.items():
        src = read_source(ref)
        assert src.path is None, name
        assert src.data == (PAYLOAD * 8 if name == "bare base64" else PAYLOAD), name
        if name.startswith("data URI"):
            assert src.mime == "image/png"
    cases["open file"].close()
    assert read_source("data:;base64," + base64.b64encode(b"x").decode()).mime is None


@pytest.mark.parametrize(
    "ref,error,message",
    [
        ("/no/such/file.jpg", MediaDecodeError, "no such file: '/no/such/file.jpg'"),
        ("relative/missing.wav", MediaDecodeError, "no such file"),
        ("x" * 5000 + ".png", MediaDecodeError, "cannot access"),
        ("bad\x00name.png", MediaDecodeError, "cannot access"),
        ("ftp://example.com/a.png", UnsupportedInputError, "unsupported URL scheme 'ftp'"),
        ("s3://bucket/a.mp4", UnsupportedInputError, "http://, https://, file:// or data:"),
        ("file://otherhost/etc/passwd", UnsupportedInputError, "must name a local file"),
        ("data:image/png;base64", MediaDecodeError, "no ','"),
        ("data:image/png;base64,@@@@", MediaDecodeError, "invalid base64"),
        ("data:image/png;base64,", MediaDecodeError, "empty"),
        (b"", MediaDecodeError, "empty input: 0 bytes"),
        (io.BytesIO(b""), MediaDecodeError, "empty"),
        (io.StringIO("text"), UnsupportedInputError, "text mode"),
        (3.5, UnsupportedInputError, "cannot read media from a float"),
    ],
)
def test_bad_sources_raise_typed_errors_naming_the_problem(ref, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(")):
        read_source(ref)


def test_special_files_are_refused(tmp_path):
    with pytest.raises(MediaDecodeError, match="is a directory"):
        read_source(str(tmp_path))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaDecodeError, match="empty file"):
        read_source(empty)
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(MediaDecodeError, match="not a regular file"):
        read_source(fifo)  # opening a FIFO would block forever
    with pytest.raises(MediaDecodeError, match="not a regular file"):
        read_source("/dev/zero")


def test_byte_limit_applies_to_every_source_before_reading(payload_file):
    limits = MediaLimits(max_bytes=len(PAYLOAD) - 1)
    huge_uri = "data:image/png;base64," + "A" * 4_000_000  # refused from its length, never decoded
    for ref in (payload_file, PAYLOAD, io.BytesIO(PAYLOAD), "data:x/y;base64," + base64.b64encode(PAYLOAD).decode()):
        with pytest.raises(MediaTooLargeError, match=f"max_bytes={len(PAYLOAD) - 1}"):
            read_source(ref, limits=limits)
    with pytest.raises(MediaTooLargeError, match="max_bytes"):
        read_source(huge_uri, limits=MediaLimits(max_bytes=1000))
    assert read_source(PAYLOAD, limits=MediaLimits(max_bytes=len(PAYLOAD))).data == PAYLOAD


def test_http_urls_go_through_the_url_policy(media_dir, http_media):
    base, policy = http_media
    (media_dir / "clip.bin").write_bytes(PAYLOAD)
    src = read_source(f"{base}/clip.bin", fetch=policy)
    assert src.data == PAYLOAD and src.path is None and src.mime == "application/octet-stream"
    with pytest.raises(MediaFetchError, match="blocked|private|loopback"):
        read_source(f"{base}/clip.bin")  # the default policy refuses loopback addresses
    with pytest.raises(MediaFetchError, match="disabled"):
        read_source(f"{base}/clip.bin", fetch=FetchPolicy(enabled=False))
    with pytest.raises(MediaTooLargeError):
        read_source(f"{base}/clip.bin", fetch=policy, limits=MediaLimits(max_bytes=10))
    with pytest.raises(MediaFetchError, match="404"):
        read_source(f"{base}/missing.png", fetch=policy)


def test_http_image_url_end_to_end(media_dir, http_media, astronaut):
    base, policy = http_media
    astronaut.save(media_dir / "astro.jpg", quality=90)
    item = load_item(f"{base}/astro.jpg", "image", options=MediaOptions(fetch=policy), image_size=100)
    assert item.mode == "RGB" and item.size == (256, 256)  # draft: 512 → 256 keeps ≥ 2 × 100


# ------------------------------------------------------------------------------------------------ loader
def test_load_item_dispatches_by_modality(astronaut, av_clip):
    wave = {"array": np.zeros(8000, np.float32), "sampling_rate": 8000}
    assert load_item("a cat", "text") == "a cat"
    assert load_item(("q", "d"), "text") == ("q", "d")
    assert load_item(astronaut, "image").mode == "RGB"
    assert load_item({"image": np.asarray(astronaut)}, "image").size == (512, 512)  # {"image": x} routes like x
    audio = load_item(wave, "audio", sampling_rate=16000)
    assert isinstance(audio, AudioClip) and audio.array.shape == (16000,)
    video = load_item(av_clip, "video", video_sampling=VideoSampling(num_frames=2))
    assert isinstance(video, VideoClip) and len(video) == 2 and video.audio is None
    with_audio = load_item(av_clip, "video", options=MediaOptions(video_audio=True), sampling_rate=8000)
    assert with_audio.audio.sampling_rate == 8000


def test_multimodal_dicts_and_lists(astronaut):
    frames = [np.zeros((4, 4, 3), np.uint8)] * 3
    out = load_item(
        {"text": "hi", "image": [astronaut, np.asarray(astronaut)], "video": frames}, ("image", "text", "video")
    )
    assert out["text"] == "hi"
    assert [img.size for img in out["image"]] == [(512, 512), (512, 512)]
    assert isinstance(out["video"], VideoClip) and out["video"].frames.shape[0] == 3  # a frame list is ONE video


def test_chat_messages_have_their_media_decoded(astronaut):
    png = media.encode_image(astronaut, "PNG")
    messages = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image", "image": astronaut},
                {"type": "image", "base64": base64.b64encode(png).decode()},
                {"type": "audio", "audio": {"array": np.zeros(100, np.float32), "sampling_rate": 100}},
            ],
        },
    ]
    out = load_item(messages, "message", sampling_rate=200)
    assert out[0] == messages[0]
    parts = out[1]["content"]
    assert parts[0] == {"type": "text", "text": "what is this?"}
    assert isinstance(parts[1]["image"], Image.Image) and isinstance(parts[2]["image"], Image.Image)
    assert "base64" not in parts[2]
    assert parts[3]["audio"].array.shape == (200,)
    with pytest.raises(UnsupportedInputError, match="'url', 'path' or 'base64'"):
        load_item({"role": "user", "content": [{"type": "video"}]}, "message")


def test_options_reach_the_decoders(astronaut):
    rgba = np.zeros((2, 2, 4), np.uint8)
    assert load_item(rgba, "image", options=MediaOptions(image_background=(0, 0, 0))).getpixel((0, 0)) == (0, 0, 0)
    big = media.encode_image(astronaut, "JPEG")
    assert load_item(big, "image", image_size=64).size == (128, 128)
    assert load_item(big, "image", image_size=64, options=MediaOptions(draft=False)).size == (512, 512)
    with pytest.raises(MediaTooLargeError):
        load_item(big, "image", options=MediaOptions(limits=MediaLimits(max_image_pixels=100)))


def test_load_item_raises_typed_per_item_errors(monkeypatch):
    assert load_item("text", "text") == "text"
    bad = pytest.raises(MediaDecodeError, load_item, b"\x00" * 64, "image").value
    located = bad.at_index(5)
    assert str(located).startswith("Item 5 (<64 bytes>)") and located.index == 5
    assert bad.index is None and located is not bad  # a copy: a shared error never carries another item's index
    with pytest.raises(InputError):
        load_item("/missing.wav", "audio")
    with pytest.raises(UnsupportedInputError):
        load_item(1, "nonsense")

    def broken(*args, **kwargs):
        raise MissingDependencyError("PyAV is not installed")

    monkeypatch.setattr("omniembed.inputs.loader.load_audio", broken)
    with pytest.raises(MissingDependencyError):
        load_item(np.zeros(10), "audio")


def test_missing_optional_dependencies_are_named(monkeypatch):
    wav = media.encode_audio(media.sine(440, 0.1, 8000), 8000, "wav")
    monkeypatch.setitem(sys.modules, "av", None)  # import av → ImportError
    for call in (lambda: load_item(wav, "audio"), lambda: load_item(wav, "video")):
        with pytest.raises(MissingDependencyError, match="PyAV"):
            call()
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(MissingDependencyError, match="Pillow"):
        load_item(b"\x89PNG\r\n\x1a\n", "image")
    assert load_item("still text", "text") == "still text"
