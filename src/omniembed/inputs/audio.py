"""load_audio(): any audio reference → an :class:`AudioClip` (mono float32 at the model's sampling rate).

Files, URLs, data URIs, bytes and file objects are decoded with PyAV (WAV, FLAC, MP3, Ogg Vorbis/Opus,
AAC/M4A, Matroska/WebM audio, the audio track of a video file…) and resampled with FFmpeg's ``swresample``.
Channels are downmixed by averaging them, the same rule for files and for arrays, so a stereo file and its
decoded array give the same clip. In-memory audio is accepted as:

* a 1-D array or tensor (mono), or 2-D ``(channels, samples)`` / ``(samples, channels)``: the axis with at
  most 8 entries (and fewer than the other) is the channel axis;
* ``{"array": ..., "sampling_rate": sr}`` (the Hugging Face datasets form; ``"raw"`` is accepted for
  ``"array"``), resampled from ``sr`` to the target rate;
* an :class:`AudioClip`.

A bare array carries no rate: it is taken to be at the requested ``sampling_rate`` already. int16/int32/int8
PCM is scaled to [-1, 1] (uint8 PCM is centred on 128). The length is checked against
``MediaLimits.max_audio_seconds`` from the container metadata *before* decoding, and again while decoding (the
metadata can lie), raising :class:`~omniembed.errors.MediaTooLargeError`.

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.audio import load_audio
    >>> stereo = np.stack([np.ones(48_000), np.zeros(48_000)]).astype(np.float32)  # 1 s, (channels, samples)
    >>> clip = load_audio({"array": stereo, "sampling_rate": 48_000}, sampling_rate=16_000)
    >>> clip.array.shape, clip.sampling_rate, round(float(clip.array[8_000]), 3)
    ((16000,), 16000, 0.5)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from omniembed.errors import (
    MediaDecodeError,
    MediaTooLargeError,
    OmniEmbedError,
    UnsupportedInputError,
)
from omniembed.inputs.image import as_numpy
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits, check_decoded_bytes, join_releasing
from omniembed.inputs.sources import SourceData, read_source
from omniembed.optional import require

if TYPE_CHECKING:
    from omniembed.inputs.fetch import FetchPolicy

__all__ = ["AudioClip", "av_guarded", "decode_audio_source", "first_stream", "load_audio", "open_container"]

# Demuxers PyAV may use. Playlist and script demuxers (concat, hls, dash, image2 patterns…) are left out on
# purpose: an uploaded "video" that is really an ffconcat or m3u8 file would make FFmpeg read other local files
# or fetch URLs on our behalf (the classic transcoder SSRF / file-disclosure trick).
FORMAT_WHITELIST = "mov,matroska,avi,wav,w64,flac,mp3,ogg,aac,gif,mpegts,mpeg,flv,asf,aiff,au,caf,amr,ac3,eac3,wv,ivf"
_CHUNK = 1 << 16  # samples per frame when resampling arrays: bounded buffers inside swresample
# Decoding may overrun the duration limit by this much before we stop: metadata durations are rounded.
_SLACK_SECONDS = 1.0
# The highest rate real audio uses (DXD / 768 kHz PCM). Larger rates come from corrupt headers, and resampling
# from them makes swresample design filters for seconds (a 3 kB WAV claiming 604 MHz took 6 s).
MAX_SAMPLING_RATE = 768_000
# The lowest: nothing below is audio, and swresample upsampling 1 Hz to 48 kHz reserves gigabytes of address space
# (fuzzing found a 3-channel WAV at 1 Hz that reserved 6.6 GB).
MIN_SAMPLING_RATE = 100


@dataclass
class AudioClip:
    """Decoded audio: ``array`` float32, 1-D mono (2-D ``(channels, samples)`` only with ``mono=False``)."""

    array: np.ndarray
    sampling_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.array.shape[-1] / float(self.sampling_rate)

    def __repr__(self) -> str:
        return f"AudioClip(samples={self.array.shape[-1]}, sampling_rate={self.sampling_rate}, {self.duration:.3f}s)"


def _av():
    return require("av", name="PyAV", purpose="Audio and video inputs", extra="audio", spec="av>=17.1")


def load_audio(
    ref: Any,
    *,
    sampling_rate: int | None = None,
    limits: MediaLimits | None = None,
    fetch: FetchPolicy | None = None,
    mono: bool = True,
) -> AudioClip:
    """Decode or convert ``ref`` to an :class:`AudioClip` at ``sampling_rate`` (None: keep the source's rate).

    ``fetch`` is the :class:`~omniembed.inputs.FetchPolicy` for URLs. ``mono=False`` keeps the channels and
    returns a 2-D ``(channels, samples)`` array.
    """
    limits = limits or DEFAULT_LIMITS
    target = _check_rate(sampling_rate, "sampling_rate") if sampling_rate is not None else None
    if isinstance(ref, AudioClip):
        return _from_array(ref.array, ref.sampling_rate, target, limits, mono, ref)
    if isinstance(ref, dict):
        key = "array" if "array" in ref else "raw" if "raw" in ref else None
        if key is None or "sampling_rate" not in ref:
            raise UnsupportedInputError(
                f"an audio dict needs 'array' (or 'raw') and 'sampling_rate' keys, got {sorted(map(str, ref))}",
                item=ref,
            )
        rate = _check_rate(ref["sampling_rate"], "the dict's 'sampling_rate'", ref)
        return _from_array(ref[key], rate, target, limits, mono, ref)
    if isinstance(ref, np.ndarray) or type(ref).__module__.split(".")[0] == "torch":
        if target is None:
            raise UnsupportedInputError(
                "a bare audio array has no sampling rate: pass {'array': ..., 'sampling_rate': sr}, or "
                "load_audio(array, sampling_rate=sr)",
                item=ref,
            )
        return _from_array(ref, target, target, limits, mono, ref)
    source = read_source(ref, fetch=fetch, limits=limits, kind="audio")
    return decode_audio_source(source, sampling_rate=target, limits=limits, mono=mono, item=ref)


def _check_rate(rate: Any, what: str, item: Any = None) -> int:
    number = isinstance(rate, (int, float, np.integer, np.floating)) and not isinstance(rate, bool)
    if number and MIN_SAMPLING_RATE <= rate <= MAX_SAMPLING_RATE and float(rate).is_integer():
        return int(rate)
    raise UnsupportedInputError(
        f"{what} must be a whole number of Hz between {MIN_SAMPLING_RATE} and {MAX_SAMPLING_RATE}, got {rate!r}",
        item=item,
    )


# ---------------------------------------------------------------------------------------------- arrays
def pcm_to_float(a: np.ndarray, item: Any = None) -> np.ndarray:
    """Integer PCM → float32 in [-1, 1]; floats → float32 (not clipped)."""
    if a.dtype == np.int16:
        return a.astype(np.float32) / 32768.0
    if a.dtype == np.int32:
        return (a.astype(np.float64) / 2147483648.0).astype(np.float32)
    if a.dtype == np.int8:
        return a.astype(np.float32) / 128.0
    if a.dtype == np.uint8:
        return (a.astype(np.float32) - 128.0) / 128.0
    if a.dtype.kind == "f":
        return a.astype(np.float32, copy=False)
    raise UnsupportedInputError(
        f"unsupported audio dtype {a.dtype}: use float32/float64 in [-1, 1], or int16/int32/int8/uint8 PCM",
        item=item,
    )


def _channels_first(a: np.ndarray, item: Any) -> np.ndarray:
    if a.ndim == 1:
        return a[None, :]
    if a.ndim == 2:
        rows, cols = a.shape
        if rows <= 8 and rows <= cols:
            return a
        if cols <= 8 and cols < rows:
            return a.T
    raise UnsupportedInputError(
        f"audio arrays must be 1-D (samples) or 2-D (channels, samples) / (samples, channels) with at most "
        f"8 channels, got shape {tuple(a.shape)}",
        item=item,
    )


def _from_array(value: Any, rate: int, target: int | None, limits: MediaLimits, mono: bool, item: Any) -> AudioClip:
    if isinstance(value, (list, tuple)):  # datasets without a numpy format hand out plain lists
        try:
            value = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise UnsupportedInputError("the audio list is not a flat or 2-D list of numbers", item=item) from None
    a = _channels_first(pcm_to_float(np.asarray(as_numpy(value)), item), item)
    if a.size == 0:  # 0 samples, or 0 channels: averaging nothing would give NaN audio
        raise MediaDecodeError(f"the audio array is empty (shape {tuple(np.shape(value))})", item=item)
    if not np.isfinite(a).all():
        raise UnsupportedInputError("the audio array contains NaN or infinite values", item=item)
    seconds = a.shape[1] / rate
    if seconds > limits.max_audio_seconds:
        raise MediaTooLargeError(
            f"audio is {seconds:.1f}s long, more than MediaLimits.max_audio_seconds={limits.max_audio_seconds:g}",
            item=item,
        )
    if mono:
        a = a.mean(axis=0, keepdims=True, dtype=np.float64).astype(np.float32)
    out_rate = target or rate
    check_decoded_bytes(seconds * out_rate * a.shape[0] * 4, limits, f"{seconds:.1f}s of audio at {out_rate} Hz", item)
    if out_rate != rate:
        a = av_guarded(lambda: resample(a, rate, out_rate), item)
    a = np.ascontiguousarray(a, dtype=np.float32)
    return AudioClip(a[0] if mono else a, out_rate)


def resample(a: np.ndarray, rate: int, target: int) -> np.ndarray:
    """(channels, samples) float32 from ``rate`` to ``target`` Hz with swresample, each channel on its own.

    The output is trimmed or zero-padded to exactly ``round(samples × target / rate)`` samples.
    """
    av = _av()
    want = round(a.shape[1] * target / rate)
    rows = []
    for channel in a:
        resampler = av.AudioResampler(format="fltp", layout="mono", rate=target)
        pieces = []
        for start in range(0, channel.shape[0], _CHUNK):
            block = np.ascontiguousarray(channel[None, start : start + _CHUNK], dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            pieces += [f.to_ndarray()[0] for f in resampler.resample(frame)]
        pieces += [f.to_ndarray()[0] for f in resampler.resample(None)]
        row = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
        rows.append(np.pad(row[:want], (0, max(0, want - row.shape[0]))))
    return np.stack(rows).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------------------------- PyAV
def av_guarded(step, item: Any) -> Any:
    """Run a PyAV step; whatever FFmpeg or PyAV raises becomes a typed omniembed error."""
    try:
        return step()
    except OmniEmbedError:
        raise
    except Exception as exc:
        av_error = getattr(_av().error, "FFmpegError", ())
        if isinstance(exc, MemoryError) and not isinstance(exc, av_error):
            raise  # a real out-of-memory in this process, not a per-item problem
        # FFmpeg's ENOMEM (av.error.MemoryError, also a MemoryError) means a corrupt header asked for an
        # absurd allocation and FFmpeg refused: that is this item's fault.
        reason = str(exc) or type(exc).__name__
        raise MediaDecodeError(f"cannot decode the media: {type(exc).__name__}: {reason}", item=item) from None


def open_container(source: SourceData) -> Any:
    """Open ``source`` with PyAV for reading, restricted to :data:`FORMAT_WHITELIST` demuxers."""
    av = _av()
    options = {"format_whitelist": FORMAT_WHITELIST}
    if source.path is not None:
        # "file:" pins FFmpeg's file protocol: a local file named "concat:a|b" or "http://…" stays a file name.
        options["protocol_whitelist"] = "file"
        target: Any = "file:" + os.path.abspath(source.path)
    else:
        target = io.BytesIO(source.data)  # type: ignore[arg-type]
    return av.open(target, mode="r", container_options=options, metadata_errors="ignore")


def first_stream(streams: Any) -> Any:
    """The first stream FFmpeg could set a decoder up for (PyAV segfaults on ``codec_context is None``)."""
    for stream in streams:
        if stream.codec_context is not None:
            return stream
    return None


def container_seconds(container: Any, stream: Any) -> float | None:
    """The stream's duration from metadata (stream first, then container), or None when unknown."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000.0  # AV_TIME_BASE
    return None


def decode_audio_source(
    source: SourceData,
    *,
    sampling_rate: int | None,
    limits: MediaLimits,
    mono: bool = True,
    item: Any = None,
    required: bool = True,
) -> AudioClip | None:
    """Decode the first audio stream of ``source``. With ``required=False`` a file without audio gives None."""
    item = source.name if item is None else item

    _check_riff_length(source, item)

    def decode() -> AudioClip | None:
        with open_container(source) as container:
            stream = first_stream(container.streams.audio)
            if stream is None:
                if required:
                    raise MediaDecodeError(
                        f"no decodable audio stream in this {container.format.name.split(',')[0]} file", item=item
                    )
                return None
            return _decode_stream(container, stream, sampling_rate, limits, mono, item)

    return av_guarded(decode, item)


def _decode_stream(container, stream, sampling_rate, limits, mono, item) -> AudioClip:
    av = _av()
    seconds = container_seconds(container, stream)
    if seconds is not None and seconds > limits.max_audio_seconds:
        raise MediaTooLargeError(
            f"audio is {seconds:.1f}s long, more than MediaLimits.max_audio_seconds={limits.max_audio_seconds:g}",
            item=item,
        )
    in_rate = stream.codec_context.sample_rate
    out_rate = sampling_rate or in_rate
    if not in_rate or not MIN_SAMPLING_RATE <= in_rate <= MAX_SAMPLING_RATE:
        raise MediaDecodeError(f"the audio stream declares an impossible sampling rate ({in_rate} Hz)", item=item)
    # Keep the source's channel layout here and average channels with numpy afterwards: swresample's own
    # downmix weighs stereo by 1/sqrt(2), which would make files and their arrays disagree. Packed "flt"
    # rather than planar: PyAV reads planes past the 8th from the wrong pointers (a corrupt WAV header that
    # claims 58 channels segfaults in to_ndarray()), while one interleaved plane is always safe.
    resampler = av.AudioResampler(format="flt", rate=out_rate)
    cap = (limits.max_audio_seconds + _SLACK_SECONDS) * out_rate
    if seconds is not None:
        check_decoded_bytes(seconds * out_rate * 4, limits, f"{seconds:.1f}s of audio at {out_rate} Hz", item)
    chunks: list[np.ndarray] = []
    total = stored = 0
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            total += _collect(out, chunks, mono)
            stored += chunks[-1].nbytes
        check_decoded_bytes(stored, limits, "the audio stream", item)
        if total > cap:
            raise MediaTooLargeError(
                f"audio runs past MediaLimits.max_audio_seconds={limits.max_audio_seconds:g} while decoding "
                f"(the container claimed {seconds if seconds is not None else 'no'} seconds)",
                item=item,
            )
    for out in resampler.resample(None):
        _collect(out, chunks, mono)
    if not chunks:
        raise MediaDecodeError("no audio samples could be decoded (empty or corrupt stream)", item=item)
    _check_complete(container, seconds, sum(c.shape[-1] for c in chunks) / out_rate, item)
    if mono:
        return AudioClip(join_releasing(chunks).astype(np.float32, copy=False), int(out_rate))
    if len({c.shape[0] for c in chunks}) != 1:
        raise MediaDecodeError("the channel count changes inside the stream; load it with mono=True", item=item)
    return AudioClip(join_releasing(chunks, axis=1).astype(np.float32, copy=False), int(out_rate))


# Containers whose header states the exact length; MP3/ADTS durations are bitrate estimates and may be off.
_EXACT_LENGTH_FORMATS = ("wav", "w64", "flac", "aiff", "mov", "mp4", "m4a", "ogg", "caf")


def _check_complete(container: Any, declared: float | None, decoded: float, item: Any) -> None:
    """A file cut short decodes to a shorter clip; refuse it rather than embed part of it as if it were whole."""
    names = container.format.name.split(",")
    if declared is None or not any(n in _EXACT_LENGTH_FORMATS for n in names):
        return
    if declared - decoded > max(_SLACK_SECONDS, 0.1 * declared):
        raise MediaDecodeError(
            f"truncated audio: the {names[0]} header declares {declared:.2f}s but only {decoded:.2f}s decode",
            item=item,
        )


def _check_riff_length(source: SourceData, item: Any) -> None:
    """FFmpeg sizes a WAV by the file, not its header, so a cut-off WAV looks complete to it: compare the two."""
    if source.data is not None:
        head, size = source.data[:12], len(source.data)
    else:
        with open(source.path, "rb") as handle:
            head = handle.read(12)
        size = os.path.getsize(source.path)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return
    declared = int.from_bytes(head[4:8], "little") + 8
    # 0 and 0xFFFFFFFF mark streamed WAVs whose writer never knew the length
    if 0 < declared - 8 < 0xFFFFFFFF and declared - size > max(4096, 0.1 * declared):
        raise MediaDecodeError(
            f"truncated audio: the WAV header declares {declared} bytes but the data has only {size}", item=item
        )


def _collect(frame: Any, chunks: list[np.ndarray], mono: bool) -> int:
    """Append one packed float frame as mono samples or (channels, samples); returns the sample count."""
    channels = max(1, len(frame.layout.channels))
    block = frame.to_ndarray().reshape(-1, channels)  # (samples, channels), interleaved
    chunks.append(block.mean(axis=1, dtype=np.float32) if mono else np.ascontiguousarray(block.T))
    return block.shape[0]
