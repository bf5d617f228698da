"""Decoded videos are held once: the kept frames go straight into the result array (no list stacked afterwards,
which peaked at twice the result), and an animation keeps only its sampled frames — with the same pixels as a
direct decode."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image
from support import media
from support.peak_memory import load_video_peak

from omniembed.inputs import VideoSampling, load_video


def dot_gif(width: int, height: int, frames: int) -> bytes:
    """A ``width`` × ``height`` animation whose frame i adds one pixel at (i mod width, 0): tiny file, full-size
    frames."""
    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", width, height, 0, 0, 0))
    for i in range(frames):
        out += b"\x21\xf9\x04\x00\x04\x00\x00\x00"  # graphic control: no disposal, 40 ms
        out += b"\x2c" + struct.pack("<HHHHB", i % width, 0, 1, 1, 0x80) + bytes([i % 256, 0, 0, 255, 255, 255])
        out += b"\x02\x02\x44\x01\x00"  # LZW: clear, index 0, end
    return bytes(out + b"\x3b")


def pillow_frames(data: bytes) -> list[np.ndarray]:
    """Every frame of an animation, decoded directly with Pillow (the oracle)."""
    with Image.open(io.BytesIO(data)) as img:
        out = []
        for i in range(img.n_frames):
            img.seek(i)
            out.append(np.asarray(img.convert("RGB")))
        return out


@pytest.fixture(scope="module")
def distinct_gif() -> bytes:
    rng = np.random.default_rng(0)
    frames = [Image.fromarray(rng.integers(0, 255, (6, 10, 3), dtype=np.uint8)) for _ in range(12)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=[50] * 6 + [150] * 6,
                   disposal=1, optimize=False)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "sampling,expected",
    [
        (VideoSampling(fps=None), list(range(12))),  # every frame: no copy
        (VideoSampling(fps=4.0), [0, 3, 6, 9]),  # 1.2 s at 4 fps: 4 of the 12 frames (moved down in place)
        (VideoSampling(num_frames=5), [0, 2, 4, 7, 9]),
        (VideoSampling(num_frames=20), [i * 12 // 20 for i in range(20)]),  # more than there are: repeats
        (VideoSampling(fps=None, max_frames=4, spread="linspace"), [0, 4, 7, 11]),
    ],
)
def test_sampled_animation_frames_are_the_decoded_frames(distinct_gif, sampling, expected):
    oracle = pillow_frames(distinct_gif)
    clip = load_video(distinct_gif, sampling=sampling)
    starts = np.cumsum([0.0] + [0.05] * 6 + [0.15] * 5)
    assert clip.frame_indices == expected
    assert clip.frames.shape == (len(expected), 6, 10, 3) and clip.frames.flags.c_contiguous
    np.testing.assert_array_equal(clip.frames, np.stack([oracle[i] for i in expected]))
    np.testing.assert_allclose(clip.timestamps, [starts[i] for i in expected])
    assert clip.fps == pytest.approx(12 / 1.2) and clip.duration == pytest.approx(1.2) and clip.total_frames == 12


def test_an_animation_is_assembled_once():
    """150 frames of 600×600 (162 MB): a list of frames stacked into an array held 2× that; now about 1×."""
    data = dot_gif(600, 600, 150)
    result_mib = 150 * 600 * 600 * 3 / 2**20
    outcome, peak = load_video_peak(data, "VideoSampling(fps=None)", long_running=True)
    assert outcome == "ok (150, 600, 600, 3)"
    assert peak < 1.3 * result_mib, (peak, result_mib)  # before: 2.0×
    outcome, peak = load_video_peak(data, "VideoSampling(num_frames=4)", long_running=True)
    assert outcome == "ok (4, 600, 600, 3)"
    assert peak < 0.2 * result_mib, (peak, result_mib)  # only the 4 kept frames (+ Pillow's canvas); before: 2.0×


def test_a_decoded_video_is_assembled_once():
    """120 frames of 640×480 decoded by PyAV (105 MB kept): written straight into the result array."""
    base = np.linspace(0, 200, 640, dtype=np.uint8)[None, :, None].repeat(480, 0).repeat(3, 2)
    mp4 = media.encode_video(((base + i).astype(np.uint8) for i in range(120)), fps=25, codec="mpeg4")
    result_mib = 120 * 640 * 480 * 3 / 2**20
    outcome, peak = load_video_peak(mp4, "VideoSampling(fps=None)", long_running=True)
    assert outcome == "ok (120, 480, 640, 3)"
    assert peak < 1.3 * result_mib + 24, (peak, result_mib)  # + FFmpeg's decoder state; before: 2.0×
