"""In-memory videos → :class:`~omniembed.inputs.video_clip.VideoClip`: a list of frames (PIL images or arrays), a
4-D array or tensor ``(T, H, W, C)`` or ``(T, C, H, W)``, a 5-D ``(1, T, …)`` one, or
``{"array": frames, "video_metadata": {"fps": …}}``.

They are sampled like decoded files (by ``fps`` only when the metadata gives the source fps); grey frames become
RGB and alpha is composited on white. The caller's metadata is validated here (:func:`metadata_number`), and
:func:`clip_timing` turns it into the clip's fps and duration for the animated-image path too.

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.limits import MediaLimits
    >>> from omniembed.inputs.video_arrays import clip_from_frames
    >>> from omniembed.inputs.video_clip import VideoSampling
    >>> frames = np.zeros((6, 2, 2, 3), np.uint8)
    >>> clip = clip_from_frames(frames, {"fps": 2}, VideoSampling(fps=1.0), MediaLimits(), "six frames")
    >>> clip.frame_indices, clip.timestamps, clip.duration
    ([0, 2, 4], [0.0, 1.0, 2.0], 3.0)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from omniembed.errors import MediaDecodeError, UnsupportedInputError
from omniembed.inputs.image import _pil, as_numpy, channels_last, to_uint8
from omniembed.inputs.limits import MediaLimits, check_decoded_bytes, join_releasing
from omniembed.inputs.video_clip import (
    VideoClip,
    VideoSampling,
    check_frame_size,
    check_video_seconds,
    sample_indices,
)

__all__ = ["clip_from_frames", "clip_timing", "frames_array", "metadata_number"]


def _meta(metadata: Any, key: str) -> Any:
    if metadata is None:
        return None
    return metadata.get(key) if isinstance(metadata, dict) else getattr(metadata, key, None)


def frames_array(frames: Any, item: Any) -> np.ndarray:
    """(T, H, W, 3) uint8 from a frame list or a 4-D/5-D array; alpha is composited on white."""
    if isinstance(frames, (list, tuple)):
        if not frames:
            raise MediaDecodeError("the video has no frames (empty list)", item=item)
        Image = _pil()
        from omniembed.inputs.image import _to_rgb

        parts = [np.asarray(_to_rgb(f, (255, 255, 255))) if isinstance(f, Image.Image) else as_numpy(f) for f in frames]
        if len({p.shape for p in parts}) != 1 or len({p.dtype for p in parts}) != 1:
            raise UnsupportedInputError("all frames of a video must have the same shape and dtype", item=item)
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


def clip_from_frames(frames: Any, metadata: Any, sampling: VideoSampling, limits: MediaLimits, item: Any) -> VideoClip:
    """Sample an in-memory video (any form :func:`frames_array` takes) into a clip."""
    a = frames_array(frames, item)
    total, height, width = a.shape[0], a.shape[1], a.shape[2]
    if total == 0:
        raise MediaDecodeError("the video has no frames", item=item)
    if height == 0 or width == 0:
        raise MediaDecodeError(f"the video frames are empty ({width}×{height} pixels)", item=item)
    check_frame_size(width, height, limits, item)
    fps, duration = clip_timing(metadata, total, limits, item)
    picked = sample_indices(total, fps, sampling, limits, item)
    check_decoded_bytes(len(picked) * height * width * 3, limits, f"{len(picked)} frames of {width}×{height}", item)
    source_indices = _metadata_indices(_meta(metadata, "frames_indices"), total, item)
    indices = [source_indices[i] for i in picked] if source_indices else picked
    times = [i / fps if fps else float(i) for i in indices]
    return VideoClip(
        np.ascontiguousarray(a if picked == list(range(total)) else a[picked]),  # every frame kept: no copy
        fps,
        times,
        [int(i) for i in indices],
        duration,
        None,
        total,
    )


def clip_timing(metadata: Any, total: int, limits: MediaLimits, item: Any) -> tuple[float | None, float | None]:
    """The source fps and duration in seconds from the caller's metadata (the duration from ``total / fps`` when
    only the fps is given); MediaTooLargeError past ``limits.max_video_seconds``."""
    fps = metadata_number(metadata, "fps", item)
    duration = metadata_number(metadata, "duration", item) or (total / fps if fps else None)
    check_video_seconds(duration, limits, item)
    return fps, float(duration) if duration is not None else None


def _metadata_indices(value: Any, total: int, item: Any) -> list[int] | None:
    """The caller's ``frames_indices`` when they describe every frame given (whole numbers ≥ 0), else None."""
    if value is None or isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != total:
        return None
    indices = list(value)
    if not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) and i >= 0 for i in indices):
        raise UnsupportedInputError("video_metadata['frames_indices'] must hold whole numbers >= 0", item=item)
    return [int(i) for i in indices]


def metadata_number(metadata: Any, key: str, item: Any) -> float | None:
    """A positive, finite number from the caller's video metadata (None or 0: unknown)."""
    value = _meta(metadata, key)
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0):
        return None
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not number or not 0 < float(value) < math.inf:
        raise UnsupportedInputError(f"video_metadata[{key!r}] must be a positive number, got {value!r}", item=item)
    return float(value)
