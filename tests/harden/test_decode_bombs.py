"""MediaLimits.max_decoded_bytes: small inputs that declare huge decoded results are refused before decoding."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest
from support import media

from omniembed.errors import MediaTooLargeError
from omniembed.inputs import MediaLimits, VideoSampling, load_audio, load_video


def canvas_bomb_gif(width: int, height: int, frames: int) -> bytes:
    """A GIF whose every frame is one pixel, drawn on a ``width`` × ``height`` canvas (Pillow composites each
    frame onto the full canvas, so the decoded size is frames × width × height × 3 bytes)."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
    for i in range(frames):
        out += b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: no disposal, 10 ms
        out += b"\x2c" + struct.pack("<HHHHB", i % width, 0, 1, 1, 0x80)  # 1×1 at (i, 0), local colour table
        out += bytes([i % 256, 0, 0, 255, 255, 255])  # two colours
        out += b"\x02\x02\x44\x01\x00"  # LZW: clear, index 0, end
    return bytes(out + b"\x3b")


def test_gif_canvas_bomb_is_refused_before_decoding():
    bomb = canvas_bomb_gif(9000, 9000, 50)  # 1.9 kB that would decode to 12 GB
    assert len(bomb) < 2000
    started = time.monotonic()
    with pytest.raises(MediaTooLargeError, match=r"an animation of 50 frames of 9000×9000 would decode to "
                                                 r"12150000000 bytes, more than MediaLimits.max_decoded_bytes"):
        load_video(bomb)
    assert time.monotonic() - started < 5


def test_small_animation_still_decodes():
    clip = load_video(canvas_bomb_gif(40, 30, 5), sampling=VideoSampling(fps=None))
    assert clip.frames.shape == (5, 30, 40, 3)


def test_repeated_video_frames_are_counted(tmp_path):
    mp4 = media.encode_video((media.index_frame(i) for i in range(3)), fps=3, codec="mpeg4")
    limits = MediaLimits(max_decoded_bytes=1 << 20)  # 1 MiB; 64 frames of 64×64×3 = 768 kB fit, 256 do not
    assert load_video(mp4, sampling=VideoSampling(num_frames=64), limits=limits).frames.shape == (64, 64, 64, 3)
    with pytest.raises(MediaTooLargeError, match=r"256 frames of 64×64 would decode to 3145728 bytes"):
        load_video(mp4, sampling=VideoSampling(num_frames=256), limits=limits)


def test_in_memory_frames_repeated_past_the_budget():
    frame = np.zeros((1, 512, 512, 3), np.uint8)
    with pytest.raises(MediaTooLargeError, match="256 frames of 512×512"):
        load_video(frame, sampling=VideoSampling(num_frames=256), limits=MediaLimits(max_decoded_bytes=100 << 20))


def test_audio_upsampled_past_the_budget():
    clip = {"array": np.zeros(60_000, np.float32), "sampling_rate": 100}  # 600 s at 100 Hz
    with pytest.raises(MediaTooLargeError, match=r"600.0s of audio at 768000 Hz would decode to 1843200000 bytes"):
        load_audio(clip, sampling_rate=768_000)


def test_decoded_audio_stream_is_bounded(tmp_path):
    wav = media.encode_audio(media.sine(440, 2.0, 16000), 16000, "wav")
    limits = MediaLimits(max_decoded_bytes=64_000)  # 1 s of float32 at 16 kHz
    with pytest.raises(MediaTooLargeError, match="max_decoded_bytes=64000"):
        load_audio(wav, sampling_rate=16000, limits=limits)
    assert load_audio(wav, sampling_rate=8000, limits=MediaLimits(max_decoded_bytes=65_000)).array.shape == (16000,)


def test_join_releasing_matches_numpy_and_empties_the_list():
    from omniembed.inputs.limits import join_releasing

    rng = np.random.default_rng(0)
    rows = [rng.standard_normal((2, n)).astype(np.float32) for n in (3, 1, 5)]
    expected = np.concatenate(rows, axis=1)
    parts = list(rows)
    np.testing.assert_array_equal(join_releasing(parts, axis=1), expected)
    assert parts == []
    frames = [rng.integers(0, 255, (4, 5, 3), dtype=np.uint8) for _ in range(3)]
    np.testing.assert_array_equal(join_releasing(list(frames), stack=True), np.stack(frames))
