"""load_video(): any video reference → a :class:`VideoClip` of sampled RGB frames, decoding only what is needed.

Sampling (:class:`VideoSampling`) follows transformers' video processors: ``N`` frames are taken at indices
``floor(i × total / N)`` for ``i < N``. ``N`` is ``num_frames`` when set (uniform sampling; frames repeat when
the video is shorter), else ``duration × fps`` (default 2 frames per second, MTEB's MVEB setting), capped at
``max_frames`` (256) and at ``MediaLimits.max_video_frames``; when a cap binds, the frames spread uniformly.

Files, URLs, data URIs, bytes and file objects are decoded with PyAV. The target timestamps come from the
container metadata, and the decoder **seeks** to a target whenever it lies further ahead than decoding
forward would cost (at least 1 s, and at least the distance back to the keyframe a seek lands on): 8 frames
of a 10-minute video decode a few dozen frames, not 18,000. Close targets (2 fps sampling) are picked while
decoding sequentially. Duration and frame size are checked against :class:`~omniembed.inputs.MediaLimits`
from the metadata before decoding. Animated GIF/WebP/PNG files are read frame by frame with Pillow.

In-memory videos: a list of frames (PIL images or arrays), a 4-D array or tensor ``(T, H, W, C)`` or
``(T, C, H, W)``, a 5-D ``(1, T, …)`` one, or ``{"array": frames, "video_metadata": {"fps": …}}``; they are
sampled the same way (by ``fps`` only when the metadata gives the source fps).

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.video import VideoSampling, load_video
    >>> frames = np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(10)])  # frame i has value i
    >>> clip = load_video(frames, sampling=VideoSampling(num_frames=4))
    >>> clip.frame_indices, clip.frames.shape, int(clip.frames[1].mean())
    ([0, 2, 5, 7], (4, 4, 4, 3), 2)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from omniembed.errors import ConfigError, MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs.audio import (
    AudioClip,
    av_guarded,
    container_seconds,
    decode_audio_source,
    first_stream,
    open_container,
)
from omniembed.inputs.image import _pil, as_numpy, channels_last, decode_animation, to_uint8
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits, check_decoded_bytes, join_releasing
from omniembed.inputs.sources import SourceData, read_source

if TYPE_CHECKING:
    from omniembed.inputs.fetch import FetchPolicy

__all__ = ["VideoClip", "VideoSampling", "load_video", "sample_indices"]

# Seek instead of decoding forward when the next target is further ahead than this (seconds). It grows to the
# longest keyframe distance a seek has revealed, since each seek decodes at least that much anyway.
SEEK_MIN_GAP = 1.0
_SLACK_SECONDS = 1.0


@dataclass
class VideoClip:
    """Sampled frames ``(T, H, W, 3)`` uint8, the source ``fps``, each frame's ``timestamps`` (seconds from the
    start; frame positions when an in-memory video has no fps) and ``frame_indices`` in the source, the source
    ``duration`` and ``total_frames``, and the audio track when requested."""

    frames: np.ndarray
    fps: float | None
    timestamps: list[float]
    frame_indices: list[int]
    duration: float | None = None
    audio: AudioClip | None = None
    total_frames: int | None = None

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @property
    def video_metadata(self) -> dict[str, Any]:
        """The transformers ``VideoMetadata`` fields of this clip."""
        return {
            "total_num_frames": self.total_frames,
            "fps": self.fps,
            "duration": self.duration,
            "frames_indices": list(self.frame_indices),
        }

    def __repr__(self) -> str:
        return (
            f"VideoClip(frames={tuple(self.frames.shape)}, fps={self.fps}, duration={self.duration}, "
            f"audio={self.audio!r})"
        )


@dataclass(frozen=True)
class VideoSampling:
    """Which frames to keep: ``num_frames`` uniformly (wins when set), else ``fps`` frames per second of video
    (None: every frame), at least ``min_frames`` and at most ``max_frames``. ``spread``: ``"floor"`` picks
    ``floor(i × total / N)``, ``"linspace"`` picks ``round(linspace(0, total - 1, N))`` (Qwen3-VL's sampler, which
    keeps the last frame); ``assumed_fps`` is the source fps used when a video carries none (Qwen3-VL assumes 24)."""

    num_frames: int | None = None
    fps: float | None = 2.0
    max_frames: int = 256
    min_frames: int = 1
    spread: str = "floor"
    assumed_fps: float | None = None

    def __post_init__(self) -> None:
        if self.num_frames is not None and (not isinstance(self.num_frames, int) or self.num_frames < 1):
            raise ConfigError(f"VideoSampling.num_frames must be a positive integer or None, got {self.num_frames!r}")
        if self.fps is not None and not (isinstance(self.fps, (int, float)) and 0 < self.fps < math.inf):
            raise ConfigError(f"VideoSampling.fps must be a positive number or None, got {self.fps!r}")
        if not isinstance(self.max_frames, int) or self.max_frames < 1:
            raise ConfigError(f"VideoSampling.max_frames must be a positive integer, got {self.max_frames!r}")
        if self.spread not in ("floor", "linspace"):
            raise ConfigError(f"VideoSampling.spread must be 'floor' or 'linspace', got {self.spread!r}")


def sample_indices(
    total: int, fps: float | None, sampling: VideoSampling, limits: MediaLimits, item: Any = None
) -> list[int]:
    """Indices of the frames to keep out of ``total`` frames at ``fps`` (see the module docstring)."""
    if sampling.num_frames is not None:
        if sampling.num_frames > limits.max_video_frames:
            raise MediaTooLargeError(
                f"num_frames={sampling.num_frames} is more than MediaLimits.max_video_frames={limits.max_video_frames}",
                item=item,
            )
        count = sampling.num_frames
    else:
        fps = fps or sampling.assumed_fps
        count = total if not (sampling.fps and fps) else max(1, int(total / fps * sampling.fps))
        count = min(max(count, sampling.min_frames), total, sampling.max_frames, limits.max_video_frames)
    if sampling.spread == "linspace":
        return [int(i) for i in np.linspace(0, total - 1, count).round()]
    return [i * total // count for i in range(count)]


def load_video(
    ref: Any,
    *,
    sampling: VideoSampling | None = None,
    limits: MediaLimits | None = None,
    fetch: FetchPolicy | None = None,
    with_audio: bool = False,
    audio_sampling_rate: int | None = 16000,
) -> VideoClip:
    """Decode and sample ``ref`` into a :class:`VideoClip`.

    ``with_audio`` also decodes the first audio track (mono, ``audio_sampling_rate``; None when the file has
    none). ``fetch`` is the :class:`~omniembed.inputs.FetchPolicy` for URLs.
    """
    sampling = sampling or VideoSampling()
    limits = limits or DEFAULT_LIMITS
    if isinstance(ref, VideoClip):
        return ref
    if isinstance(ref, dict):
        if "array" not in ref:
            raise UnsupportedInputError(
                f"a video dict needs 'array' and 'video_metadata' keys, got {sorted(map(str, ref))}", item=ref
            )
        return _from_frames(ref["array"], ref.get("video_metadata"), sampling, limits, ref)
    if isinstance(ref, (list, tuple, np.ndarray)) or type(ref).__module__.split(".")[0] == "torch":
        return _from_frames(ref, None, sampling, limits, ref)
    if isinstance(ref, _pil().Image):
        return _from_frames([ref], None, sampling, limits, ref)
    source = read_source(ref, fetch=fetch, limits=limits, kind="video")
    return decode_video_source(
        source,
        sampling=sampling,
        limits=limits,
        with_audio=with_audio,
        audio_sampling_rate=audio_sampling_rate,
        item=ref,
    )


# ------------------------------------------------------------------------------------------- in memory
def _meta(metadata: Any, key: str) -> Any:
    if metadata is None:
        return None
    return metadata.get(key) if isinstance(metadata, dict) else getattr(metadata, key, None)


def _frames_array(frames: Any, item: Any, owned: bool = False) -> np.ndarray:
    """(T, H, W, 3) uint8 from a frame list or a 4-D/5-D array; alpha is composited on white. ``owned``: the list
    is ours (decoded here), so its frames are released as they are copied."""
    if isinstance(frames, (list, tuple)):
        if not frames:
            raise MediaDecodeError("the video has no frames (empty list)", item=item)
        Image = _pil()
        from omniembed.inputs.image import _to_rgb

        parts = [np.asarray(_to_rgb(f, (255, 255, 255))) if isinstance(f, Image.Image) else as_numpy(f) for f in frames]
        if len({p.shape for p in parts}) != 1 or len({p.dtype for p in parts}) != 1:
            raise UnsupportedInputError("all frames of a video must have the same shape and dtype", item=item)
        if owned and isinstance(frames, list):
            frames.clear()
        a = join_releasing(parts, stack=True)
    else:
        a = as_numpy(frames)
        while a.ndim > 4 and a.shape[0] == 1:
            a = a[0]
    if a.ndim == 3 and a.shape[-1] not in (1, 2, 3, 4) and a.shape[1] not in (1, 2, 3, 4):
        a = a[..., None]  # a list of (H, W) grey frames
    if a.ndim != 4:
        raise UnsupportedInputError(
            f"a video array must be (T, H, W, C) or (T, C, H, W) (or (1, T, …)), got shape {tuple(a.shape)}", item=item
        )
    is_torch = type(frames).__module__.split(".")[0] == "torch"
    a = to_uint8(channels_last(a, channels_first_hint=is_torch, item=item), item)
    channels = a.shape[-1]
    if channels in (1, 2):
        grey = np.repeat(a[..., :1], 3, axis=-1)
        a = grey if channels == 1 else np.concatenate([grey, a[..., 1:]], axis=-1)
    if a.shape[-1] == 4:
        alpha = a[..., 3:].astype(np.float32) / 255.0
        a = np.rint(a[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return a


def _from_frames(
    frames: Any,
    metadata: Any,
    sampling: VideoSampling,
    limits: MediaLimits,
    item: Any,
    starts: Sequence[float] | None = None,
    owned: bool = False,
) -> VideoClip:
    a = _frames_array(frames, item, owned)
    total, height, width = a.shape[0], a.shape[1], a.shape[2]
    if total == 0:
        raise MediaDecodeError("the video has no frames", item=item)
    if height == 0 or width == 0:
        raise MediaDecodeError(f"the video frames are empty ({width}×{height} pixels)", item=item)
    _check_size(width, height, limits, item)
    fps = _metadata_number(metadata, "fps", item)
    duration = _metadata_number(metadata, "duration", item) or (total / fps if fps else None)
    if duration is not None and duration > limits.max_video_seconds:
        raise MediaTooLargeError(
            f"video is {duration:.1f}s long, more than MediaLimits.max_video_seconds={limits.max_video_seconds:g}",
            item=item,
        )
    picked = sample_indices(total, fps, sampling, limits, item)
    check_decoded_bytes(len(picked) * height * width * 3, limits, f"{len(picked)} frames of {width}×{height}", item)
    source_indices = _meta(metadata, "frames_indices")
    source_indices = _metadata_indices(source_indices, total, item)
    indices = [source_indices[i] for i in picked] if source_indices else picked
    if starts is not None:
        times = [float(starts[i]) for i in picked]
    else:
        times = [i / fps if fps else float(i) for i in indices]
    return VideoClip(
        np.ascontiguousarray(a if picked == list(range(total)) else a[picked]),  # every frame kept: no copy
        fps,
        times,
        [int(i) for i in indices],
        float(duration) if duration is not None else None,
        None,
        total,
    )


def _metadata_indices(value: Any, total: int, item: Any) -> list[int] | None:
    """The caller's ``frames_indices`` when they describe every frame given (whole numbers ≥ 0), else None."""
    if value is None or isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != total:
        return None
    indices = list(value)
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= 0 for i in indices):
        raise UnsupportedInputError("video_metadata['frames_indices'] must hold whole numbers >= 0", item=item)
    return [int(i) for i in indices]


def _metadata_number(metadata: Any, key: str, item: Any) -> float | None:
    """A positive, finite number from the caller's video metadata (None or 0: unknown)."""
    value = _meta(metadata, key)
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0):
        return None
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not number or not 0 < float(value) < math.inf:
        raise UnsupportedInputError(f"video_metadata[{key!r}] must be a positive number, got {value!r}", item=item)
    return float(value)


def _check_size(width: int, height: int, limits: MediaLimits, item: Any) -> None:
    if width * height > limits.max_video_pixels:
        raise MediaTooLargeError(
            f"video frames are {width}×{height}, more than MediaLimits.max_video_pixels="
            f"{limits.max_video_pixels} pixels",
            item=item,
        )


# ---------------------------------------------------------------------------------------------- decoding
@dataclass
class _StreamInfo:
    fps: float
    duration: float
    total: int
    start: float
    time_base: Any = field(repr=False)


def decode_video_source(
    source: SourceData,
    *,
    sampling: VideoSampling,
    limits: MediaLimits,
    with_audio: bool = False,
    audio_sampling_rate: int | None = 16000,
    item: Any = None,
) -> VideoClip:
    """Decode already-resolved bytes or a path (the second half of :func:`load_video`)."""
    from omniembed.inputs.sniff import sniff_media

    item = source.name if item is None else item
    sniffed = sniff_media(source.head())
    if sniffed is not None and sniffed[0] == "image":  # GIF/WebP/APNG animations (and stills) via Pillow
        frames, starts, total_time = decode_animation(source, limits=limits)
        fps = len(frames) / total_time if total_time > 0 else None
        return _from_frames(frames, {"fps": fps, "duration": total_time or None}, sampling, limits, item, starts,
                            owned=True)

    def decode() -> VideoClip:
        with open_container(source) as container:
            stream = first_stream(container.streams.video)
            if stream is None:
                raise MediaDecodeError("no decodable video stream in this file", item=item)
            stream.thread_type = "AUTO"
            info = _probe(container, stream, limits, item)
            indices = sample_indices(info.total, info.fps, sampling, limits, item)
            cc = stream.codec_context
            check_decoded_bytes(len(indices) * (cc.width or 0) * (cc.height or 0) * 3, limits,
                                f"{len(indices)} frames of {cc.width}×{cc.height}", item)
            targets = [i / info.fps for i in indices]
            frames, times = _decode_at(container, stream, targets, info, limits, item)
        return VideoClip(
            join_releasing(frames, stack=True), info.fps, times, [round(t * info.fps) for t in times], info.duration, None, info.total
        )

    clip = av_guarded(decode, item)
    if with_audio:
        clip.audio = decode_audio_source(
            source, sampling_rate=audio_sampling_rate, limits=limits, item=item, required=False
        )
    return clip


def _probe(container: Any, stream: Any, limits: MediaLimits, item: Any) -> _StreamInfo:
    cc = stream.codec_context
    if cc.width and cc.height:
        _check_size(cc.width, cc.height, limits, item)
    time_base = stream.time_base
    start = float(stream.start_time * time_base) if stream.start_time is not None and time_base else 0.0
    fps = float(stream.average_rate or stream.guessed_rate or 0) or None
    duration = container_seconds(container, stream)
    total = stream.frames or (round(duration * fps) if duration and fps else 0)
    if not (fps and duration and total):
        # No usable metadata (e.g. a live-recorded WebM): count packets and read the last timestamp without
        # decoding anything (demuxing a 10-minute file this way takes milliseconds), then rewind.
        total, end = 0, 0.0
        for packet in container.demux(stream):
            if packet.size == 0:
                continue
            total += 1
            if packet.pts is not None and time_base:
                end = max(end, float((packet.pts + (packet.duration or 0)) * time_base) - start)
            if end > limits.max_video_seconds + _SLACK_SECONDS:
                break
        duration = duration or end or None
        fps = fps or (total / duration if duration else None)
        container.seek(0)
    if not total or not fps or not duration:
        raise MediaDecodeError("the video stream holds no frames (or no timing information)", item=item)
    if duration > limits.max_video_seconds:
        raise MediaTooLargeError(
            f"video is {duration:.1f}s long, more than MediaLimits.max_video_seconds={limits.max_video_seconds:g}",
            item=item,
        )
    return _StreamInfo(fps, duration, total, start, time_base)


def _iter_frames(container: Any, stream: Any):
    """Decoded frames from the container's current position (a seam for tests that count decoding work)."""
    yield from container.decode(stream)


def _decode_at(container, stream, targets, info: _StreamInfo, limits: MediaLimits, item):
    """RGB arrays of the first frame at or after each target time (seconds from the start), with its time."""
    tolerance = 0.5 / info.fps  # a frame within half a frame period before the target is "at" the target
    picked: list[tuple[np.ndarray, float]] = []
    seek_gap, can_seek = SEEK_MIN_GAP, True
    frames, position, last = None, 0.0, None
    decoded_bytes = 0
    while len(picked) < len(targets):
        target = targets[len(picked)]
        landed_by_seek = False
        if frames is None or (can_seek and target - position > seek_gap):
            try:
                if frames is not None or target > seek_gap:
                    offset = int((target + info.start) / info.time_base)
                    container.seek(offset, stream=stream, backward=True)
                    landed_by_seek = True
                frames = _iter_frames(container, stream)
            except Exception:  # noqa: BLE001 - an unseekable input: decode everything in order from here
                can_seek = False
                frames = frames or _iter_frames(container, stream)
        took = restarted = False
        for frame in frames:
            t = float(frame.time) - info.start if frame.pts is not None else position + 1.0 / info.fps
            if landed_by_seek:
                landed_by_seek = False
                if t > target + tolerance:
                    # The demuxer overshot the target (an imprecise index, e.g. MPEG-TS): stop trusting seeks
                    # and decode this file in order from the start instead of taking a wrong frame.
                    can_seek, restarted = False, True
                    container.seek(0)
                    frames = _iter_frames(container, stream)
                    break
                seek_gap = max(seek_gap, target - t)  # this keyframe distance is what every seek costs
            if t > limits.max_video_seconds + _SLACK_SECONDS:
                raise MediaTooLargeError(
                    f"video runs past MediaLimits.max_video_seconds={limits.max_video_seconds:g} while decoding",
                    item=item,
                )
            position, last = t, frame
            rgb = None
            while len(picked) < len(targets) and t >= targets[len(picked)] - tolerance:
                rgb = _to_rgb_array(frame, limits, item) if rgb is None else rgb
                picked.append((rgb, t))
                decoded_bytes += rgb.nbytes
                check_decoded_bytes(decoded_bytes * len(targets) / len(picked), limits,
                                    f"{len(targets)} frames of {rgb.shape[1]}×{rgb.shape[0]}", item)
                took = True
            if took:
                break
        if not (took or restarted):
            break  # end of stream
    if len(picked) < len(targets):
        picked += _fill_tail(targets[len(picked) :], last, position, info, limits, item)
    return [p[0] for p in picked], [round(p[1], 6) for p in picked]


def _fill_tail(missing, last, position, info: _StreamInfo, limits: MediaLimits, item):
    """Targets past the last decodable frame: repeat that frame when the shortfall is metadata rounding,
    fail when the file is evidently cut short."""
    if last is None:
        raise MediaDecodeError("no video frame could be decoded (truncated or corrupt file)", item=item)
    shortfall = missing[-1] - position
    if shortfall > max(1.0, 0.1 * info.duration):
        raise MediaDecodeError(
            f"truncated or corrupt video: frames stop at {position:.2f}s but the container "
            f"says it lasts {info.duration:.2f}s",
            item=item,
        )
    rgb = _to_rgb_array(last, limits, item)
    return [(rgb, position)] * len(missing)


def _to_rgb_array(frame: Any, limits: MediaLimits, item: Any) -> np.ndarray:
    _check_size(frame.width, frame.height, limits, item)
    rgb = frame.to_ndarray(format="rgb24")
    # Phone videos store their orientation as a display matrix (the video's EXIF); players honour it.
    turns = round(float(getattr(frame, "rotation", 0) or 0) / 90.0) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb
