"""What a decoded video is (:class:`VideoClip`) and which of its frames are kept (:class:`VideoSampling`,
:func:`sample_indices`): the part of video loading that every source (files, animations, arrays) shares.

Sampling follows transformers' video processors: ``N`` frames are taken at indices ``floor(i × total / N)``
for ``i < N``. ``N`` is ``num_frames`` when set (uniform sampling; frames repeat when the video is shorter), else
``duration × fps`` (default 2 frames per second, MTEB's MVEB setting), capped at ``max_frames`` (256) and at
``MediaLimits.max_video_frames``; when a cap binds, the frames spread uniformly.

Example:
    >>> from omniembed.inputs.limits import MediaLimits
    >>> from omniembed.inputs.video_clip import VideoSampling, sample_indices
    >>> sample_indices(10, None, VideoSampling(num_frames=4), MediaLimits())
    [0, 2, 5, 7]
    >>> sample_indices(100, 25.0, VideoSampling(), MediaLimits())  # 4 s at 2 frames per second
    [0, 12, 25, 37, 50, 62, 75, 87]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.errors import ConfigError, MediaTooLargeError
from omniembed.inputs.audio import AudioClip
from omniembed.inputs.limits import MediaLimits

__all__ = ["VideoClip", "VideoSampling", "check_frame_size", "check_video_seconds", "sample_indices"]


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


def check_frame_size(width: int, height: int, limits: MediaLimits, item: Any) -> None:
    """MediaTooLargeError when one frame has more than ``limits.max_video_pixels`` pixels."""
    if width * height > limits.max_video_pixels:
        raise MediaTooLargeError(
            f"video frames are {width}×{height}, more than MediaLimits.max_video_pixels="
            f"{limits.max_video_pixels} pixels",
            item=item,
        )


def check_video_seconds(duration: float | None, limits: MediaLimits, item: Any) -> None:
    """MediaTooLargeError when a video lasts longer than ``limits.max_video_seconds``."""
    if duration is not None and duration > limits.max_video_seconds:
        raise MediaTooLargeError(
            f"video is {duration:.1f}s long, more than MediaLimits.max_video_seconds={limits.max_video_seconds:g}",
            item=item,
        )
