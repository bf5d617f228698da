"""Hostile and broken media: every loader answers with a typed omniembed error, promptly, and never reads
files a playlist points at. Plus property tests on random bytes and mutated valid files."""

from __future__ import annotations

import io
import os

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import media

from omniembed.errors import InputError, MediaDecodeError, MediaTooLargeError
from omniembed.inputs import AudioClip, VideoClip, VideoSampling, load_audio, load_image, load_video

LOADERS = {
    "image": load_image,
    "audio": lambda ref: load_audio(ref, sampling_rate=16000),
    "video": lambda ref: load_video(ref, sampling=VideoSampling(num_frames=4)),
}
CORPUS = [
    "truncated.jpg",
    "truncated.png",
    "truncated.wav_header",
    "truncated.mp4",
    "empty.jpg",
    "empty.wav",
    "empty.mp4",
    "random.jpg",
    "random.wav",
    "random.mp4",
    "jpeg_magic_then_garbage.jpg",
    "riff_garbage.wav",
    "ftyp_garbage.mp4",
    "png_bomb_100k.png",
    "png_bomb_with_idat.png",
    "text_as.jpg",
    "eps_as.jpg",
    "ffconcat_as.mp4",
    "hls_as.mp4",
]
_BOMBS = {"png_bomb_100k.png", "png_bomb_with_idat.png"}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("loader", sorted(LOADERS))
@pytest.mark.parametrize("name", CORPUS)
def test_malformed_files_raise_only_typed_errors(malformed, name, loader):
    path = malformed[name]
    with open(path, "rb") as fh:
        data = fh.read()
    for ref in (path, data) if data else (path,):
        with pytest.raises((MediaDecodeError, MediaTooLargeError)) as caught:
            LOADERS[loader](ref)
        if name in _BOMBS and loader in ("image", "video"):
            assert isinstance(caught.value, MediaTooLargeError)  # Pillow reads the header: a bomb, not garbage
        assert caught.value.reason  # a message that says what was wrong


@pytest.mark.timeout(20)
def test_playlists_cannot_make_ffmpeg_open_other_files(media_dir, ramp_video):
    folder = media_dir / "playlist"
    folder.mkdir(exist_ok=True)
    os.link(ramp_video, folder / "secret.mp4") if not (folder / "secret.mp4").exists() else None
    script = folder / "innocent.mp4"
    script.write_bytes(b"ffconcat version 1.0\nfile secret.mp4\n")
    # The attack is real: FFmpeg on its own follows the script and decodes the other file...
    with av.open(str(script)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 40
    # ...and the loaders refuse the concat demuxer outright.
    for ref in (str(script), script.read_bytes()):
        with pytest.raises(MediaDecodeError):
            load_video(ref)
        with pytest.raises(MediaDecodeError):
            load_audio(ref)


@pytest.mark.timeout(20)
def test_tiny_images_are_fine(malformed):
    for size in ((1, 1), (3, 3)):
        for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
            data = media.encode_image(media.skimage_image("coffee.png").resize(size), fmt)
            assert load_image(data).size == size


# ------------------------------------------------------------------------------------------- properties
def _valid_samples() -> dict[str, bytes]:
    photo = media.skimage_image("coffee.png").resize((48, 32))
    return {
        "jpeg": media.encode_image(photo, "JPEG", quality=80),
        "png": media.encode_image(photo, "PNG"),
        "gif": media.encode_image(photo.convert("P"), "GIF"),
        "webp": media.encode_image(photo, "WEBP"),
        "wav": media.encode_audio(media.sine(440, 0.2, 8000), 8000, "wav"),
        "flac": media.encode_audio(media.sine(440, 0.2, 8000), 8000, "flac"),
        "mp3": media.encode_audio(media.sine(440, 0.3, 16000), 16000, "mp3"),
        "ogg": media.encode_audio(media.sine(440, 0.3, 16000, channels=2), 16000, "vorbis"),
        "m4a": media.encode_audio(media.sine(440, 0.3, 16000), 16000, "aac"),
        "wav58": media.pcm_wav(np.zeros((58, 64), np.int16), 8000),
        "webm": media.encode_video((media.index_frame(i, 32) for i in range(8)), fps=8, codec="libvpx-vp9", fmt="webm"),
        "mp4": media.encode_video((media.index_frame(i, 32) for i in range(8)), fps=8, codec="mpeg4"),
        "h264": media.encode_video((media.index_frame(i, 32) for i in range(8)), fps=8, codec="libx264"),
    }


VALID = _valid_samples()
_EXPECTED_TYPE = {"image": "Image", "audio": AudioClip, "video": VideoClip}


def _check_outcome(kind: str, data: bytes) -> None:
    try:
        out = LOADERS[kind](data)
    except InputError:
        return  # MediaDecodeError, MediaTooLargeError, UnsupportedInputError: all fine
    if kind == "image":
        assert out.mode == "RGB" and min(out.size) >= 1
    elif kind == "audio":
        assert isinstance(out, AudioClip) and out.array.dtype == np.float32 and out.array.ndim == 1
        assert out.array.shape[0] > 0
    else:
        assert isinstance(out, VideoClip) and out.frames.dtype == np.uint8 and out.frames.ndim == 4
        assert out.frames.shape[-1] == 3 and len(out.timestamps) == len(out.frame_indices) == len(out)


_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", sorted(LOADERS))
@_SETTINGS
@given(data=st.binary(min_size=0, max_size=2048))
def test_random_bytes_raise_only_typed_errors(kind, data):
    _check_outcome(kind, data)


@st.composite
def mutated(draw) -> bytes:
    """A valid file with a few bytes overwritten, a slice cut out or the tail truncated."""
    original = bytearray(VALID[draw(st.sampled_from(sorted(VALID)))])
    how = draw(st.sampled_from(["flip", "truncate", "cut", "splice"]))
    size = len(original)
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            original[draw(st.integers(0, size - 1))] = draw(st.integers(0, 255))
    elif how == "truncate":
        original = original[: draw(st.integers(0, size - 1))]
    elif how == "cut":
        start = draw(st.integers(0, size - 1))
        del original[start : start + draw(st.integers(1, 256))]
    else:
        start = draw(st.integers(0, size - 1))
        original[start:start] = draw(st.binary(min_size=1, max_size=64))
    return bytes(original)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", sorted(LOADERS))
@_SETTINGS
@given(data=mutated())
def test_mutated_valid_files_raise_only_typed_errors(kind, data):
    _check_outcome(kind, data)


def test_valid_samples_decode():
    # The mutation tests start from files that really decode, so a typed error there is the mutation's doing.
    kinds = {
        "jpeg": "image",
        "png": "image",
        "gif": "image",
        "webp": "image",
        "wav": "audio",
        "flac": "audio",
        "mp3": "audio",
        "ogg": "audio",
        "m4a": "audio",
        "wav58": "audio",
        "mp4": "video",
        "h264": "video",
        "webm": "video",
    }
    for name, data in VALID.items():
        out = LOADERS[kinds[name]](io.BytesIO(data))
        assert out is not None and not isinstance(out, Exception), name
        if kinds[name] == "video":
            assert [media.read_index(f) for f in out.frames] == [0, 2, 4, 6], name
