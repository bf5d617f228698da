"""load_video: uniform and fps sampling, sparse seeking on a long video, in-memory videos, audio, limits."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from PIL import Image
from support import media

from omniembed.errors import ConfigError, MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs import MediaLimits, VideoClip, VideoSampling, load_video
from omniembed.inputs import video as video_module


@pytest.fixture
def decode_counter(monkeypatch) -> list[int]:
    """Counts every frame the decoder produces (the seam video._iter_frames)."""
    count = [0]
    real = video_module._iter_frames

    def counting(container, stream):
        for frame in real(container, stream):
            count[0] += 1
            yield frame

    monkeypatch.setattr(video_module, "_iter_frames", counting)
    return count


def shown(clip: VideoClip) -> list[int]:
    return [media.read_index(frame) for frame in clip.frames]


def test_uniform_num_frames_picks_the_expected_frames(ramp_video):
    clip = load_video(ramp_video, sampling=VideoSampling(num_frames=8))
    assert clip.frames.shape == (8, 64, 64, 3) and clip.frames.dtype == np.uint8
    assert clip.frame_indices == [0, 5, 10, 15, 20, 25, 30, 35]
    assert shown(clip) == clip.frame_indices  # the pixels really are those frames (H.264 with B-frames)
    assert clip.timestamps == pytest.approx([i / 10 for i in clip.frame_indices])
    assert clip.fps == 10 and clip.duration == pytest.approx(4.0) and clip.total_frames == 40
    assert clip.video_metadata["frames_indices"] == clip.frame_indices


def test_num_frames_above_the_frame_count_repeats_frames(ramp_video):
    clip = load_video(ramp_video, sampling=VideoSampling(num_frames=50))
    assert len(clip) == 50 and shown(clip) == [i * 40 // 50 for i in range(50)]


@pytest.mark.parametrize(
    "sampling,indices",
    [
        (VideoSampling(), [0, 5, 10, 15, 20, 25, 30, 35]),  # 2 fps: 8 frames of a 4 s video
        (VideoSampling(fps=5), list(range(0, 40, 2))),
        (VideoSampling(fps=10, max_frames=6), [0, 6, 13, 20, 26, 33]),  # cap binds: spread uniformly
        (VideoSampling(fps=None), list(range(40))),
        (VideoSampling(fps=100), list(range(40))),  # never more than every frame
    ],
)
def test_fps_sampling_and_the_cap(ramp_video, sampling, indices):
    clip = load_video(ramp_video, sampling=sampling)
    assert clip.frame_indices == indices and shown(clip) == indices


def test_limits_cap_the_frame_count(ramp_video):
    clip = load_video(ramp_video, sampling=VideoSampling(fps=None), limits=MediaLimits(max_video_frames=4))
    assert clip.frame_indices == [0, 10, 20, 30]
    with pytest.raises(MediaTooLargeError, match="max_video_frames=4"):
        load_video(ramp_video, sampling=VideoSampling(num_frames=5), limits=MediaLimits(max_video_frames=4))


def test_a_long_video_is_not_decoded_whole_for_a_few_frames(long_video, decode_counter):
    clip = load_video(long_video, sampling=VideoSampling(num_frames=8))
    expected = [i * 3000 // 8 for i in range(8)]
    assert clip.frame_indices == expected and shown(clip) == expected
    assert clip.duration == pytest.approx(600.0)
    # Each target costs at most one keyframe interval (10 frames) of decoding; the whole file is 3000 frames.
    assert decode_counter[0] <= 8 * 11, decode_counter[0]
    print(f"decoded {decode_counter[0]} of 3000 frames for 8 targets")


def test_seeking_with_b_frames_lands_on_the_right_frames(media_dir, decode_counter):
    # H.264 with B-frames (decode order differs from display order) and a keyframe every 2 s.
    path = media.encode_video(
        (media.index_frame(i) for i in range(300)),
        fps=5,
        codec="libx264",
        gop=10,
        path=str(media_dir / "h264_gop10.mp4"),
    )
    clip = load_video(path, sampling=VideoSampling(num_frames=6))
    assert clip.frame_indices == [0, 50, 100, 150, 200, 250] and shown(clip) == clip.frame_indices
    assert decode_counter[0] < 6 * 20


def test_an_overshooting_seek_falls_back_to_decoding_in_order(long_video, monkeypatch, decode_counter):
    real_open = video_module.open_container

    class Overshooting:  # a demuxer whose seeks land 20 s after the requested time
        def __init__(self, container):
            self._container = container

        def __getattr__(self, name):
            return getattr(self._container, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._container.__exit__(*exc)

        def seek(self, offset, **kwargs):
            stream = kwargs.get("stream")
            shift = int(20 / stream.time_base) if stream is not None and offset else 0
            return self._container.seek(offset + shift, **kwargs)

    monkeypatch.setattr(video_module, "open_container", lambda source: Overshooting(real_open(source)))
    clip = load_video(long_video, sampling=VideoSampling(num_frames=4))
    assert clip.frame_indices == [0, 750, 1500, 2250] and shown(clip) == clip.frame_indices
    assert decode_counter[0] > 2000  # it really did decode in order


def test_dense_sampling_of_a_long_video_is_correct(long_video, decode_counter):
    clip = load_video(long_video, sampling=VideoSampling(fps=2.0, max_frames=64))
    expected = [i * 3000 // 64 for i in range(64)]
    assert clip.frame_indices == expected and shown(clip) == expected
    assert decode_counter[0] < 3000


def test_metadata_free_streams_are_measured_by_demuxing(ramp_video, monkeypatch, decode_counter):
    monkeypatch.setattr(video_module, "container_seconds", lambda container, stream: None)
    clip = load_video(ramp_video, sampling=VideoSampling(num_frames=4))
    assert clip.frame_indices == [0, 10, 20, 30] and shown(clip) == [0, 10, 20, 30]
    assert clip.duration == pytest.approx(4.0, abs=0.11)


def test_reference_kinds_agree(ramp_video):
    data = Path(ramp_video).read_bytes()
    refs = [
        ramp_video,
        Path(ramp_video),
        data,
        io.BytesIO(data),
        "data:video/mp4;base64," + base64.b64encode(data).decode(),
    ]
    clips = [load_video(ref, sampling=VideoSampling(num_frames=4)) for ref in refs]
    assert all(np.array_equal(c.frames, clips[0].frames) for c in clips)


def test_other_codecs(media_dir):
    frames = [media.index_frame(i) for i in range(20)]
    for codec, fmt in (("mpeg4", "mp4"), ("libvpx-vp9", "webm"), ("libvpx", "webm")):
        data = media.encode_video(iter(frames), fps=10, codec=codec, fmt=fmt)
        clip = load_video(data, sampling=VideoSampling(num_frames=5))
        assert shown(clip) == [0, 4, 8, 12, 16], codec


def test_audio_track_extraction(av_clip, ramp_video):
    clip = load_video(av_clip, sampling=VideoSampling(num_frames=3), with_audio=True, audio_sampling_rate=16000)
    assert shown(clip) == [0, 10, 20]
    assert clip.audio is not None and clip.audio.sampling_rate == 16000
    assert abs(clip.audio.duration - 3.0) < 0.05
    spectrum = np.abs(np.fft.rfft(clip.audio.array))
    assert abs(np.argmax(spectrum) * 16000 / clip.audio.array.shape[0] - 440) <= 5
    assert load_video(av_clip).audio is None
    assert load_video(ramp_video, with_audio=True).audio is None  # no track: no audio, no error


# ----------------------------------------------------------------------------------------- in memory
def _ramp(n: int = 10) -> np.ndarray:
    return np.stack([np.full((6, 8, 3), i * 10 % 250, np.uint8) for i in range(n)])  # frame i: 10·i (mod 250)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a,  # (T, H, W, C)
        lambda a: a.transpose(0, 3, 1, 2),  # (T, C, H, W)
        lambda a: a[None],  # (1, T, H, W, C)
        lambda a: list(a),  # list of arrays
        lambda a: [Image.fromarray(f) for f in a],  # list of PIL images
        lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2).copy()),  # torch (T, C, H, W)
        lambda a: torch.from_numpy(a.transpose(0, 3, 1, 2) / 255.0),  # torch float in [0, 1]
        lambda a: a.astype(np.float32) / 255,  # float array
    ],
    ids=["THWC", "TCHW", "1THWC", "array list", "PIL list", "torch TCHW", "torch float", "float"],
)
def test_in_memory_videos(make):
    clip = load_video(make(_ramp()), sampling=VideoSampling(num_frames=4))
    assert clip.frames.shape == (4, 6, 8, 3) and clip.frames.dtype == np.uint8
    assert clip.frame_indices == [0, 2, 5, 7]
    assert [int(f.mean()) for f in clip.frames] == [0, 20, 50, 70]
    assert clip.fps is None and clip.total_frames == 10


def test_in_memory_videos_with_metadata_sample_by_fps():
    frames = _ramp(40)
    clip = load_video({"array": frames, "video_metadata": {"fps": 10}})  # 4 s at 10 fps → 2 fps → 8 frames
    assert clip.frame_indices == [0, 5, 10, 15, 20, 25, 30, 35] and clip.timestamps[1] == pytest.approx(0.5)
    given = {"fps": 10, "frames_indices": list(range(100, 140))}
    clip = load_video({"array": frames, "video_metadata": given}, sampling=VideoSampling(num_frames=2))
    assert clip.frame_indices == [100, 120] and clip.timestamps == pytest.approx([10.0, 12.0])


def test_grey_and_alpha_frames_become_rgb():
    grey = np.full((3, 4, 4), 100, np.uint8)
    assert load_video(grey[..., None]).frames[0, 0, 0].tolist() == [100, 100, 100]
    rgba = np.zeros((2, 4, 4, 4), np.uint8)
    assert load_video(rgba).frames[0, 0, 0].tolist() == [255, 255, 255]


def test_animated_gif_is_a_video():
    path = media.skimage_path("no_time_for_that_tiny.gif")
    with Image.open(path) as gif:
        count = gif.n_frames
        gif.seek(3)
        fourth = np.asarray(gif.convert("RGB"))
    clip = load_video(path, sampling=VideoSampling(fps=None))
    assert len(clip) == count and np.array_equal(clip.frames[3], fourth)
    with pytest.raises(MediaTooLargeError, match="max_animation_frames"):
        load_video(path, limits=MediaLimits(max_animation_frames=count - 1))


@pytest.mark.parametrize(
    "value,message",
    [
        ([], "no frames"),
        ([np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)], "same shape"),
        (np.zeros((2, 3, 4, 4, 3), np.uint8), "(T, H, W, C)"),
        ({"video_metadata": {}}, "'array'"),
    ],
)
def test_unusable_in_memory_videos(value, message):
    with pytest.raises((UnsupportedInputError, MediaDecodeError), match=re.escape(message)):
        load_video(value)


def test_sampling_is_validated():
    for bad in ({"num_frames": 0}, {"fps": -1.0}, {"max_frames": 0}, {"num_frames": 2.5}):
        with pytest.raises(ConfigError):
            VideoSampling(**bad)


# ---------------------------------------------------------------------------------------------- limits
def test_duration_and_resolution_limits_apply_before_decoding(long_video, decode_counter):
    with pytest.raises(MediaTooLargeError, match="600.0s long.*max_video_seconds=60"):
        load_video(long_video, limits=MediaLimits(max_video_seconds=60))
    with pytest.raises(MediaTooLargeError, match="64×64.*max_video_pixels=1000"):
        load_video(long_video, limits=MediaLimits(max_video_pixels=1000))
    assert decode_counter[0] == 0
    with pytest.raises(MediaTooLargeError, match="max_video_pixels"):
        load_video(np.zeros((2, 40, 40, 3), np.uint8), limits=MediaLimits(max_video_pixels=1000))


def test_rotation_metadata_is_applied(monkeypatch):
    frame = av.VideoFrame.from_ndarray(np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3), format="rgb24")

    class Rotated:
        width, height, rotation = frame.width, frame.height, 90

        def to_ndarray(self, format):
            return frame.to_ndarray(format=format)

    out = video_module._to_rgb_array(Rotated(), MediaLimits(), None)
    assert np.array_equal(out, np.rot90(frame.to_ndarray(format="rgb24")))  # 90° counter-clockwise, like players
