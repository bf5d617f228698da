"""Every finding of the fuzzing campaigns, as a regression test (see docs/security.md for the campaign log).

Each test names the campaign case that found it (``entry-case id`` under the master seed "omniembed-fuzz-v1").
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from omniembed.errors import MediaDecodeError, UnsupportedInputError
from omniembed.inputs import VideoSampling, load_audio, load_video


@pytest.mark.parametrize("metadata", [{"fps": "x"}, {"fps": float("nan")}, {"fps": -3}, {"duration": "long"},
                                      {"fps": 10, "duration": float("inf")}])
def test_arrays_206_video_metadata_must_be_numbers(metadata):
    """arrays-206: ``{"fps": "x"}`` raised a bare ValueError from float("x")."""
    frames = np.zeros((4, 8, 8, 3), np.uint8)
    with pytest.raises(UnsupportedInputError, match=r"video_metadata\['(fps|duration)'\] must be a positive number"):
        load_video({"array": frames, "video_metadata": metadata})


def test_video_frame_indices_must_be_whole_numbers():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(UnsupportedInputError, match="frames_indices"):
        load_video({"array": frames, "video_metadata": {"fps": 2, "frames_indices": ["a", "b"]}})
    clip = load_video({"array": frames, "video_metadata": {"fps": 2, "frames_indices": [10, 20]}})
    assert clip.frame_indices == [10, 20]


@pytest.mark.parametrize("shape", [(7, 0), (0, 7), (0,), (0, 0)])
def test_encode_clap_36_and_428_empty_audio_arrays_are_refused(shape):
    """encode_clap-36 / -428: a (7, 0) or (0, 7) array averaged zero channels into NaN audio, which embedded as a
    NaN row reported as a success."""
    with pytest.raises(MediaDecodeError, match="the audio array is empty"):
        load_audio({"array": np.zeros(shape, np.int16), "sampling_rate": 16000}, sampling_rate=16000)


def test_encode_clap_empty_array_is_a_failure_not_a_nan_row(clap_model):
    emb, failures = clap_model.encode([np.zeros((7, 0), np.float16), "a dog barking"], on_error="skip",
                                      return_failures=True)
    assert [f.index for f in failures] == [0] and np.isfinite(emb[1]).all()


def test_encode_xclip_481_short_frames_are_channels_last(xclip_model):
    """encode_xclip-481: frames 4 pixels high were read as channels-first by the image processor (ValueError
    "mean must have 4 elements")."""
    for height in (1, 3, 4):
        video = np.random.default_rng(height).integers(0, 255, (8, height, 16, 3), dtype=np.uint8)
        emb = xclip_model.encode(video)
        assert emb.shape == (xclip_model.get_embedding_dimension(),) and np.isfinite(emb).all()


def test_mutator_output_stays_bounded():
    """sniff-4307 / detect-1972: repeated GIF frame duplication compounded to gigabytes inside the mutator
    (a harness bug, recorded as OOM and HANG)."""
    from fuzz.mutate import MAX_SIZE, mutate
    from fuzz.seeds import build_seeds

    gif = build_seeds()["image"]["anim.gif"]
    sizes = [len(mutate(gif, random.Random(i))) for i in range(300)]
    assert max(sizes) <= MAX_SIZE


def _pcm_wav(channels: int, rate: int, samples: int = 64) -> bytes:
    import struct

    body = (np.arange(samples * channels, dtype="<i2") * 97).tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * channels * 2, channels * 2, 16)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


@pytest.mark.parametrize("rate", [1, 7, 99])
def test_encode_clap_82_sub_audio_rates_are_refused(rate):
    """encode_clap-82: a 3-channel WAV at 1 Hz, resampled to 48 kHz, made swresample reserve 6.6 GB of address
    space (RSS stayed small), so the next threads of the process could not start."""
    with pytest.raises(MediaDecodeError, match=rf"impossible sampling rate \({rate} Hz\)"):
        load_audio(_pcm_wav(3, rate), sampling_rate=48000)
    with pytest.raises(UnsupportedInputError, match="between 100 and 768000"):
        load_audio({"array": np.zeros(64, np.float32), "sampling_rate": rate}, sampling_rate=48000)
    assert load_audio(_pcm_wav(1, 100, 200), sampling_rate=8000).array.shape == (16000,)


@pytest.mark.parametrize("shape", [(3, 2, 0, 0), (3, 0, 4, 3), (3, 4, 0, 3), (2, 3, 4, 0)])
def test_encode_xclip_1550_empty_frames_are_refused(shape, xclip_model):
    """encode_xclip-1550: a (3, 2, 0, 0) array was accepted as a video of empty frames, and the image processor
    divided by zero (an untyped ZeroDivisionError in the failures list)."""
    with pytest.raises(MediaDecodeError, match="the video frames are empty"):
        load_video(np.zeros(shape, np.uint8), sampling=VideoSampling(num_frames=8))
    _emb, failures = xclip_model.encode([np.zeros(shape, np.uint8), "a dog"], on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [0] and isinstance(failures[0].error, MediaDecodeError)
