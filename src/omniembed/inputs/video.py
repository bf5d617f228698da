"""load_video(): any video reference → a :class:`VideoClip` of sampled RGB frames, decoding only what is needed.

Which frames are kept is :class:`VideoSampling` (:mod:`omniembed.inputs.video_clip`). Files, URLs, data URIs, bytes
and file objects are decoded here with PyAV. The target timestamps come from the container metadata, and the
decoder **seeks** to a target whenever it lies further ahead than decoding forward would cost (at least 1 s, and
at least the distance back to the keyframe a seek lands on): 8 frames of a 10-minute video decode a few dozen
frames, not 18,000. Close targets (2 fps sampling) are picked while decoding sequentially. Duration and frame
size are checked against :class:`~omniembed.inputs.MediaLimits` from the metadata before decoding, and the kept
frames are written into one array allocated once their number and size are known (never a list stacked
afterwards, which held the result twice). Animated GIF/WebP/PNG files are read frame by frame with Pillow
(:mod:`omniembed.inputs.video_animation`); in-memory videos (frame lists, arrays, tensors, ``{"array": …,
"video_metadata": …}``) are sampled by :mod:`omniembed.inputs.video_arrays`.

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.video import VideoSampling, load_video
    >>> frames = np.stack([np.full((4, 4, 3), i, np.uint8) for i in range(10)])  # frame i has value i
    >>> clip = load_video(frames, sampling=VideoSampling(num_frames=4))
    >>> clip.frame_indices, clip.frames.shape, int(clip.frames[1].mean())
    ([0, 2, 5, 7], (4, 4, 4, 3), 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from omniembed.errors import MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs.audio import (
    av_guarded,
    container_seconds,
    decode_audio_source,
    first_stream,
    open_container,
)
from omniembed.inputs.image import _pil
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits, check_decoded_bytes
from omniembed.inputs.sources import SourceData, read_source
from omniembed.inputs.video_animation import decode_animation_clip
from omniembed.inputs.video_arrays import clip_from_frames
from omniembed.inputs.video_clip import (
    VideoClip,
    VideoSampling,
    check_frame_size,
    check_video_seconds,
    sample_indices,
)

if TYPE_CHECKING:
    from omniembed.inputs.fetch import FetchPolicy

# VideoClip, VideoSampling and sample_indices live in video_clip; they are imported from here too.
__all__ = ["VideoClip", "VideoSampling", "decode_video_source", "load_video", "sample_indices"]

# Seek instead of decoding forward when the next target is further ahead than this (seconds). It grows to the
# longest keyframe distance a seek has revealed, since each seek decodes at least that much anyway.
SEEK_MIN_GAP = 1.0
_SLACK_SECONDS = 1.0


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
        return clip_from_frames(ref["array"], ref.get("video_metadata"), sampling, limits, ref)
    if isinstance(ref, (list, tuple, np.ndarray)) or type(ref).__module__.split(".")[0] == "torch":
        return clip_from_frames(ref, None, sampling, limits, ref)
    if isinstance(ref, _pil().Image):
        return clip_from_frames([ref], None, sampling, limits, ref)
    source = read_source(ref, fetch=fetch, limits=limits, kind="video")
    return decode_video_source(
        source,
        sampling=sampling,
        limits=limits,
        with_audio=with_audio,
        audio_sampling_rate=audio_sampling_rate,
        item=ref,
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
        return decode_animation_clip(source, sampling=sampling, limits=limits, item=item)

    def decode() -> VideoClip:
        with open_container(source) as container:
            stream = first_stream(container.streams.video)
            if stream is None:
                raise MediaDecodeError("no decodable video stream in this file", item=item)
            stream.thread_type = "AUTO"
            info = _probe(container, stream, limits, item)
            indices = sample_indices(info.total, info.fps, sampling, limits, item)
            if not indices:  # a corrupt container can declare a negative frame count and duration
                raise MediaDecodeError(f"the video declares {info.total} frames over {info.duration:.2f}s: nothing "
                                       "to sample", item=item)
            cc = stream.codec_context
            check_decoded_bytes(len(indices) * (cc.width or 0) * (cc.height or 0) * 3, limits,
                                f"{len(indices)} frames of {cc.width}×{cc.height}", item)
            targets = [i / info.fps for i in indices]
            frames, times = _decode_at(container, stream, targets, info, limits, item)
        return VideoClip(frames, info.fps, times, [round(t * info.fps) for t in times], info.duration, None, info.total)

    clip = av_guarded(decode, item)
    if with_audio:
        clip.audio = decode_audio_source(
            source, sampling_rate=audio_sampling_rate, limits=limits, item=item, required=False
        )
    return clip


def _probe(container: Any, stream: Any, limits: MediaLimits, item: Any) -> _StreamInfo:
    cc = stream.codec_context
    if cc.width and cc.height:
        check_frame_size(cc.width, cc.height, limits, item)
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
    check_video_seconds(duration, limits, item)
    return _StreamInfo(fps, duration, total, start, time_base)


def _iter_frames(container: Any, stream: Any):
    """Decoded frames from the container's current position (a seam for tests that count decoding work)."""
    yield from container.decode(stream)


class _KeptFrames:
    """The sampled frames, written into one ``(N, H, W, 3)`` array as they are decoded, and their times.

    The array is allocated at the first kept frame, whose decoded size is certain (a rotation swaps the codec's
    width and height), after checking ``N`` frames of that size against ``max_decoded_bytes``. A frame appears
    once per target it satisfies.
    """

    def __init__(self, count: int, limits: MediaLimits, item: Any) -> None:
        self.count, self.limits, self.item = count, limits, item
        self.array: np.ndarray | None = None
        self.times: list[float] = []

    def __len__(self) -> int:
        return len(self.times)

    def add(self, rgb: np.ndarray, t: float) -> None:
        if self.array is None:
            check_decoded_bytes(self.count * rgb.nbytes, self.limits,
                                f"{self.count} frames of {rgb.shape[1]}×{rgb.shape[0]}", self.item)
            self.array = np.empty((self.count, *rgb.shape), np.uint8)  # pages become resident as rows are written
        elif rgb.shape != self.array.shape[1:]:
            raise MediaDecodeError(
                f"the video changes its frame size while decoding ({self.array.shape[2]}×{self.array.shape[1]}, "
                f"then {rgb.shape[1]}×{rgb.shape[0]})",
                item=self.item,
            )
        self.array[len(self.times)] = rgb
        self.times.append(round(t, 6))


def _decode_at(container, stream, targets, info: _StreamInfo, limits: MediaLimits, item):
    """The RGB frames ``(N, H, W, 3)`` first at or after each target time (seconds from the start), and their
    times."""
    tolerance = 0.5 / info.fps  # a frame within half a frame period before the target is "at" the target
    picked = _KeptFrames(len(targets), limits, item)
    seek_gap, can_seek = SEEK_MIN_GAP, True
    frames, position, last = None, 0.0, None
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
                picked.add(rgb, t)
                took = True
            if took:
                break
        if not (took or restarted):
            break  # end of stream
    if len(picked) < len(targets):
        rgb = _tail_frame(targets[len(picked) :], last, position, info, limits, item)
        while len(picked) < len(targets):
            picked.add(rgb, position)
    return picked.array, picked.times


def _tail_frame(missing, last, position, info: _StreamInfo, limits: MediaLimits, item) -> np.ndarray:
    """The frame for targets past the last decodable one: that frame again when the shortfall is metadata
    rounding; fail when the file is evidently cut short."""
    if last is None:
        raise MediaDecodeError("no video frame could be decoded (truncated or corrupt file)", item=item)
    shortfall = missing[-1] - position
    if shortfall > max(1.0, 0.1 * info.duration):
        raise MediaDecodeError(
            f"truncated or corrupt video: frames stop at {position:.2f}s but the container "
            f"says it lasts {info.duration:.2f}s",
            item=item,
        )
    return _to_rgb_array(last, limits, item)


def _to_rgb_array(frame: Any, limits: MediaLimits, item: Any) -> np.ndarray:
    check_frame_size(frame.width, frame.height, limits, item)
    rgb = frame.to_ndarray(format="rgb24")
    # Phone videos store their orientation as a display matrix (the video's EXIF); players honour it.
    turns = round(float(getattr(frame, "rotation", 0) or 0) / 90.0) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb
