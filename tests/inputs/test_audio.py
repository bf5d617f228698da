"""load_audio: containers, resampling, downmixing, PCM scaling, duration limits, a video's audio track."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import torch
from support import media

from omniembed.errors import MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs import AudioClip, MediaLimits, load_audio
from omniembed.inputs import audio as audio_module


def peak_hz(clip: AudioClip) -> float:
    spectrum = np.abs(np.fft.rfft(clip.array * np.hanning(clip.array.shape[0])))
    return float(np.argmax(spectrum) * clip.sampling_rate / clip.array.shape[0])


def tone(seconds: float, rate: int, channels: int) -> np.ndarray:
    """440 Hz on every channel (so the downmix keeps one clean peak)."""
    return np.repeat(media.sine(440, seconds, rate), channels, axis=0)


# Containers × rates × channel counts (Opus runs at 8/12/16/24/48 kHz, FFmpeg's Vorbis encoder in stereo).
_CASES = [
    ("wav", 8000, 1),
    ("wav", 44100, 2),
    ("flac", 22050, 2),
    ("flac", 48000, 1),
    ("mp3", 16000, 1),
    ("mp3", 44100, 2),
    ("opus", 48000, 1),
    ("opus", 16000, 2),
    ("vorbis", 32000, 2),
    ("aac", 44100, 1),
    ("aac", 48000, 2),
]


@pytest.mark.parametrize("kind,rate,channels", _CASES, ids=[f"{k}-{r}-{c}ch" for k, r, c in _CASES])
def test_containers_decode_to_the_target_rate_length_and_pitch(kind, rate, channels):
    data = media.encode_audio(tone(3.0, rate, channels), rate, kind)
    clip = load_audio(data, sampling_rate=16000)
    assert isinstance(clip, AudioClip) and clip.sampling_rate == 16000
    assert clip.array.dtype == np.float32 and clip.array.ndim == 1
    assert abs(clip.array.shape[0] - 48000) <= 0.01 * 48000  # codec priming/padding stays under 1%
    assert abs(peak_hz(clip) - 440) <= 5
    rms = float(np.sqrt(np.mean(clip.array[8000:40000] ** 2)))
    assert abs(rms - 0.5 / np.sqrt(2)) < 0.03  # amplitude 0.5 survives (no 1/sqrt(2) downmix gain)


def test_wav_441_to_16k_keeps_440hz_exactly_in_length(media_dir):
    path = media_dir / "tone44k.wav"
    path.write_bytes(media.encode_audio(media.sine(440, 2.0, 44100), 44100, "wav"))
    clip = load_audio(str(path), sampling_rate=16000)
    assert clip.array.shape == (32000,) and abs(peak_hz(clip) - 440) <= 5
    assert clip.duration == pytest.approx(2.0)


def test_native_rate_is_kept_without_a_target():
    assert load_audio(media.encode_audio(tone(1.0, 22050, 1), 22050, "flac")).sampling_rate == 22050
    assert load_audio(media.encode_audio(tone(1.0, 16000, 1), 16000, "opus")).sampling_rate == 48000  # Opus' own


def test_file_downmix_equals_array_downmix():
    stereo = media.sine(440, 1.0, 16000, channels=2)  # 440 Hz left, 880 Hz right
    clip = load_audio(media.encode_audio(stereo, 16000, "wav"), sampling_rate=16000)
    assert np.abs(clip.array - stereo.mean(axis=0)).max() < 1e-4  # int16 quantisation only
    kept = load_audio(media.encode_audio(stereo, 16000, "wav"), sampling_rate=16000, mono=False)
    assert kept.array.shape == (2, 16000) and np.abs(kept.array - stereo).max() < 1e-4


def test_many_channel_wav_downmixes_exactly():
    # 58 channels: more than AVFrame's 8 data pointers. Reading planar frames that wide segfaulted in PyAV.
    pcm = np.repeat((np.arange(58, dtype=np.int16) * 100)[:, None], 400, axis=1)
    clip = load_audio(media.pcm_wav(pcm, 8000), sampling_rate=8000)
    assert clip.array.shape == (400,)
    assert np.allclose(clip.array, pcm.mean() / 32768, atol=1e-6)
    wide = load_audio(media.pcm_wav(pcm, 8000), sampling_rate=8000, mono=False)
    assert wide.array.shape == (58, 400) and np.allclose(wide.array[:, 10], np.arange(58) * 100 / 32768)


@pytest.mark.parametrize("layout", ["channels_first", "channels_last", "torch"])
def test_stereo_arrays_downmix_exactly(layout):
    left, right = np.linspace(-1, 1, 1000, dtype=np.float32), np.full(1000, 0.25, np.float32)
    stereo = np.stack([left, right])
    value = {"channels_first": stereo, "channels_last": stereo.T.copy(), "torch": torch.from_numpy(stereo)}[layout]
    clip = load_audio(value, sampling_rate=8000)
    assert np.array_equal(clip.array, ((left.astype(np.float64) + right) / 2).astype(np.float32))


def test_pcm_integers_are_scaled():
    pcm16 = np.array([32767, -32768, 16384, 0], np.int16)
    assert np.array_equal(
        load_audio(pcm16, sampling_rate=8000).array, np.array([32767 / 32768, -1.0, 0.5, 0.0], np.float32)
    )
    pcm32 = np.array([2**31 - 1, -(2**31), 2**30], np.int32)
    assert np.allclose(load_audio(pcm32, sampling_rate=8000).array, [1.0, -1.0, 0.5], atol=1e-7)
    assert np.array_equal(
        load_audio(np.array([128, 0, 192], np.uint8), sampling_rate=8000).array, np.array([0.0, -1.0, 0.5], np.float32)
    )


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
def test_dicts_at_mixed_rates_are_resampled(rate):
    wave = media.sine(440, 1.5, rate)[0]
    clip = load_audio({"array": wave, "sampling_rate": rate}, sampling_rate=16000)
    assert clip.sampling_rate == 16000 and clip.array.shape == (24000,)
    assert abs(peak_hz(clip) - 440) <= 5
    middle = clip.array[4000:20000]
    expected = media.sine(440, 1.5, 16000)[0][4000:20000]
    assert np.abs(middle - expected).max() < 0.02  # swresample is close to the ideal band-limited result


def test_bare_arrays_are_taken_at_the_target_rate_and_clips_pass_through():
    wave = media.sine(440, 1.0, 16000)[0]
    assert load_audio(wave, sampling_rate=16000).array.shape == (16000,)
    assert load_audio(torch.from_numpy(wave).double(), sampling_rate=16000).array.dtype == np.float32
    clip = AudioClip(wave, 16000)
    assert load_audio(clip, sampling_rate=8000).array.shape == (8000,)
    assert load_audio({"raw": wave, "sampling_rate": 16000.0}).sampling_rate == 16000
    listed = load_audio({"array": wave.tolist(), "sampling_rate": 16000}, sampling_rate=16000)
    assert np.array_equal(listed.array, wave)
    with pytest.raises(UnsupportedInputError, match="no sampling rate"):
        load_audio(wave)


@pytest.mark.parametrize(
    "value,message",
    [
        (np.zeros((3, 3, 3), np.float32), "1-D"),
        (np.zeros((100, 100), np.float32), "at most 8 channels"),
        (np.array([0.1, np.nan], np.float32), "NaN"),
        (np.array([1, 2], np.int64), "unsupported audio dtype"),
        ({"array": np.zeros(10)}, "'sampling_rate'"),
        ({"array": np.zeros(10), "sampling_rate": -5}, "between 100 and 768000"),
        ({"array": np.zeros(10), "sampling_rate": 603_987_776}, "between 100 and 768000"),
    ],
)
def test_unusable_arrays_raise(value, message):
    with pytest.raises(UnsupportedInputError, match=message):
        load_audio(value, sampling_rate=16000)


def test_other_references(media_dir):
    data = media.encode_audio(tone(1.0, 16000, 1), 16000, "flac")
    uri = "data:audio/flac;base64," + base64.b64encode(data).decode()
    path = media_dir / "tone.flac"
    path.write_bytes(data)
    arrays = [load_audio(ref, sampling_rate=16000).array for ref in (data, uri, io.BytesIO(data), path, str(path))]
    assert all(np.array_equal(a, arrays[0]) for a in arrays)


def test_corrupt_sampling_rates_are_refused_fast():
    # A 3 kB WAV whose header claims 604 MHz: resampling that to 16 kHz used to take 6 s of filter design.
    pcm = (media.sine(440, 0.2, 8000) * 32767).astype(np.int16)
    data = bytearray(media.pcm_wav(pcm, 8000))
    data[24:28] = (603_987_776).to_bytes(4, "little")
    with pytest.raises(MediaDecodeError, match="impossible sampling rate"):
        load_audio(bytes(data), sampling_rate=16000)


def test_duration_limit_from_metadata_and_arrays():
    data = media.encode_audio(tone(4.0, 8000, 1), 8000, "wav")
    with pytest.raises(MediaTooLargeError, match="4.0s long.*max_audio_seconds=3"):
        load_audio(data, limits=MediaLimits(max_audio_seconds=3))
    assert load_audio(data, limits=MediaLimits(max_audio_seconds=5)).duration == pytest.approx(4.0)
    with pytest.raises(MediaTooLargeError, match="max_audio_seconds"):
        load_audio(np.zeros(8000 * 4, np.float32), sampling_rate=8000, limits=MediaLimits(max_audio_seconds=3))


def test_duration_limit_while_decoding_when_metadata_lies(monkeypatch):
    data = media.encode_audio(tone(6.0, 8000, 1), 8000, "wav")
    monkeypatch.setattr(audio_module, "container_seconds", lambda container, stream: 1.0)
    with pytest.raises(MediaTooLargeError, match="while decoding"):
        load_audio(data, sampling_rate=8000, limits=MediaLimits(max_audio_seconds=2))


def test_audio_track_of_a_video(av_clip, ramp_video):
    clip = load_audio(av_clip, sampling_rate=16000)
    assert abs(clip.duration - 3.0) < 0.05 and abs(peak_hz(clip) - 440) <= 5
    with pytest.raises(MediaDecodeError, match="no decodable audio stream"):
        load_audio(ramp_video)


def test_truncated_wav_is_refused_not_embedded_as_a_shorter_clip(tmp_path):
    import io
    import wave

    import numpy as np

    from omniembed.errors import MediaDecodeError
    from omniembed.inputs import load_audio

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.sin(np.arange(16000 * 4) / 5) * 9000).astype("<i2").tobytes())
    whole = buffer.getvalue()
    assert load_audio(whole, sampling_rate=16000).duration == pytest.approx(4.0, abs=0.01)
    with pytest.raises(MediaDecodeError, match=r"truncated audio: the WAV header declares 128044 bytes but the data has only 42681"):
        load_audio(whole[: len(whole) // 3], sampling_rate=16000)
    # a small shortfall (a last partial block) is still accepted
    assert load_audio(whole[:-200], sampling_rate=16000).duration == pytest.approx(4.0, abs=0.02)
