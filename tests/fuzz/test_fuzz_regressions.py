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


def _growing_gif(screen: tuple[int, int], frames: list[tuple[int, int]]) -> bytes:
    """A GIF with a ``screen`` logical size and one 1×1 frame at each ``(x, y)``: a frame placed past the screen
    makes Pillow enlarge the canvas from that frame on."""
    import struct

    out = bytearray(b"GIF89a" + struct.pack("<HHBBB", *screen, 0, 0, 0))
    for x, y in frames:
        out += b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 100 ms
        out += b"\x2c" + struct.pack("<HHHHB", x, y, 1, 1, 0x80) + bytes([0, 0, 0, 255, 255, 255])
        out += b"\x02\x02\x44\x01\x00"  # LZW: clear, index 0, end
    return bytes(out + b"\x3b")


def test_video_3000712_a_growing_gif_canvas_is_refused_before_it_is_composed():
    """video-3000712 (campaign run 4): a 120 kB GIF opening at 16×32767 declared a third frame reaching
    2576×64140; Pillow enlarged the canvas to 165 megapixels (under its own error threshold of 179) and composing
    it took 2 GiB of resident memory before the frame failed to decode (OOM: peak RSS 2052 MiB, budget 2048)."""
    from support.peak_memory import load_video_peak

    from fuzz.harness import Context, make_case

    data, sampling, with_audio = make_case("video", 3000712, Context())
    assert data[:10] == b"GIF89a\x10\x00\xff\x7f" and len(data) == 120801  # the case replays the finding
    assert (sampling, with_audio) == (VideoSampling(num_frames=1), False)
    outcome, peak_mib = load_video_peak(data, "VideoSampling(num_frames=1)")
    assert outcome == ("MediaTooLargeError: frame 2 of the animation grows its canvas from 16×32767 to 2576×64140, "
                       "more than MediaLimits.max_image_pixels=89478485")
    assert peak_mib < 128  # before the fix: 2056 MiB


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns at 89.5 megapixels
def test_growing_gif_canvases_are_refused_by_size():
    from omniembed.errors import MediaTooLargeError

    with pytest.raises(MediaTooLargeError, match=r"frame 1 of the animation grows its canvas from 8×8 to "
                                                 r"10000×10000, more than MediaLimits.max_image_pixels=89478485"):
        load_video(_growing_gif((8, 8), [(0, 0), (9999, 9999), (0, 0)]))
    with pytest.raises(MediaTooLargeError, match=r"grows its canvas from 8×8 to 3000×3000, so 200 frames would "
                                                 r"decode to 5400000000 bytes, more than MediaLimits.max_decoded"):
        load_video(_growing_gif((8, 8), [(0, 0), (2999, 2999)] + [(0, 0)] * 198))
    # a small growth is still a video whose frames differ in size (as before the fix, found after decoding)
    with pytest.raises(UnsupportedInputError, match="grows its canvas from 8×8 to 8×9: all frames of a video must "
                                                    "have the same shape"):
        load_video(_growing_gif((8, 8), [(0, 0), (0, 8)]))
    clip = load_video(_growing_gif((8, 8), [(0, 0), (7, 7)]), sampling=VideoSampling(fps=None))  # inside: fine
    assert clip.frames.shape == (2, 8, 8, 3) and clip.fps == 10.0


def test_video_3001235_a_negative_frame_count_is_a_decode_error():
    """video-3001235 (found while checking the fix above): an ASF file whose header declares -167,766 frames over
    -16,777 s leaves nothing to sample; with frames written into one preallocated array that became an empty
    result (``frames=None``) instead of the MediaDecodeError the old list-and-stack path raised by accident."""
    from fuzz.harness import Context, make_case

    data, sampling, _ = make_case("video", 3001235, Context())
    assert data[:4] == b"\x30\x26\xb2\x75" and len(data) == 3815  # an ASF header: the case replays the finding
    with pytest.raises(MediaDecodeError, match=r"the video declares -167766 frames over -16776.62s: nothing to "
                                               r"sample"):
        load_video(data, sampling=sampling)
