"""Animated GIF/WebP/PNG files as video: decoded frame by frame with Pillow, keeping only the sampled frames.

Bounds, checked before the pixels they guard are decoded:

* the file's canvas against ``MediaLimits.max_image_pixels`` (from the header), the frame count against
  ``max_animation_frames``, and every frame of the animation together against ``max_decoded_bytes``;
* **each frame's canvas again**: a GIF frame whose image descriptor reaches past the logical screen makes Pillow
  enlarge the canvas for that frame and every later one, checked only against Pillow's own decompression-bomb
  threshold (a warning at 89.5 megapixels, an error at twice that). A 120 kB GIF opening at 16×32767 grew to
  2576×64140 at its third frame, and composing it took 2 GiB (fuzz case ``video``-3000712). A grown canvas is
  refused: ``MediaTooLargeError`` past the limits, else ``UnsupportedInputError`` (a video's frames share one size).

Memory: the kept frames are written into one array allocated up front (``num_frames``: the sampled rows only;
otherwise every frame, since the fps sampling needs the total duration, then moved down in place and the tail
given back), so the result is never held twice — a list of frames stacked into an array peaked at twice the
``max_decoded_bytes`` bound.

Example:
    >>> import io
    >>> from PIL import Image
    >>> from omniembed.inputs.sources import read_source
    >>> from omniembed.inputs.limits import MediaLimits
    >>> from omniembed.inputs.video_animation import decode_animation_clip
    >>> from omniembed.inputs.video_clip import VideoSampling
    >>> frames = [Image.new("RGB", (4, 3), (i * 40, 0, 0)) for i in range(5)]
    >>> buffer = io.BytesIO()
    >>> frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    >>> source = read_source(buffer.getvalue(), limits=MediaLimits(), kind="video")
    >>> clip = decode_animation_clip(source, sampling=VideoSampling(num_frames=2), limits=MediaLimits(), item="a.gif")
    >>> clip.frames.shape, clip.frame_indices, clip.timestamps, clip.fps
    ((2, 3, 4, 3), [0, 2], [0.0, 0.2], 10.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from omniembed.errors import MediaTooLargeError, UnsupportedInputError
from omniembed.inputs.image import _guarded, _open_checked, _to_rgb
from omniembed.inputs.limits import MediaLimits, check_decoded_bytes
from omniembed.inputs.sources import SourceData
from omniembed.inputs.video_arrays import clip_timing
from omniembed.inputs.video_clip import VideoClip, VideoSampling, check_frame_size, sample_indices

__all__ = ["decode_animation_clip"]


def decode_animation_clip(
    source: SourceData,
    *,
    sampling: VideoSampling,
    limits: MediaLimits,
    item: Any,
    background: Sequence[int] | None = (255, 255, 255),
) -> VideoClip:
    """The sampled frames of an animated (or still) GIF/WebP/PNG as a clip; transparent pixels on ``background``.

    Errors about the file name ``source.name``; errors about the video it makes name ``item``.
    """

    def decode() -> VideoClip:
        fp = source.open()
        try:
            return _decode(_open_checked(fp, limits, source.name), source.name, sampling, limits, item, background)
        finally:
            fp.close()

    return _guarded(decode, source.name)


def _decode(img: Any, name: Any, sampling: VideoSampling, limits: MediaLimits, item: Any, background) -> VideoClip:
    count = getattr(img, "n_frames", 1)
    if count > limits.max_animation_frames:
        raise MediaTooLargeError(
            f"animation has {count} frames, more than MediaLimits.max_animation_frames={limits.max_animation_frames}",
            item=name,
        )
    width, height = img.size
    check_decoded_bytes(count * width * height * 3, limits, f"an animation of {count} frames of {width}×{height}", name)
    check_frame_size(width, height, limits, item)
    # num_frames sampling needs only the frame count: keep just those rows. fps sampling needs the total
    # duration, known after the last frame: keep every frame (within the bound just checked) and pick after.
    kept = sample_indices(count, None, sampling, limits, item) if sampling.num_frames is not None else None
    rows: dict[int, list[int]] = {}
    if kept is not None:
        check_decoded_bytes(len(kept) * height * width * 3, limits, f"{len(kept)} frames of {width}×{height}", item)
        for row, index in enumerate(kept):
            rows.setdefault(index, []).append(row)
    out = np.empty((count if kept is None else len(kept), height, width, 3), np.uint8)  # pages touched as written
    starts, clock = [], 0.0
    for index in range(count):
        img.seek(index)
        _check_canvas(img.size, (width, height), index, count, limits, name)
        img.load()
        targets = [index] if kept is None else rows.get(index)
        if targets:
            rgb = np.asarray(_to_rgb(img, background))
            if rgb.shape != out.shape[1:]:
                raise UnsupportedInputError(
                    f"frame {index} of the animation is {rgb.shape[1]}×{rgb.shape[0]}, not {width}×{height}: "
                    "all frames of a video must have the same shape",
                    item=name,
                )
            for row in targets:
                out[row] = rgb
        starts.append(clock)
        clock += max(float(img.info.get("duration") or 0.0), 0.0) / 1000.0
    fps, duration = clip_timing({"fps": count / clock if clock > 0 else None, "duration": clock or None}, count,
                                limits, item)
    if kept is None:
        kept = sample_indices(count, fps, sampling, limits, item)
        out = _keep_rows(out, kept)
    return VideoClip(out, fps, [float(starts[i]) for i in kept], [int(i) for i in kept], duration, None, count)


def _check_canvas(size: tuple[int, int], first: tuple[int, int], index: int, count: int, limits: MediaLimits,
                  name: Any) -> None:
    """Refuse a frame whose canvas grew past the size the file was checked at, before Pillow composes it."""
    if size == first:
        return
    what = f"frame {index} of the animation grows its canvas from {first[0]}×{first[1]} to {size[0]}×{size[1]}"
    if size[0] * size[1] > limits.max_image_pixels:
        raise MediaTooLargeError(f"{what}, more than MediaLimits.max_image_pixels={limits.max_image_pixels}",
                                 item=name)
    check_decoded_bytes(count * size[0] * size[1] * 3, limits, f"{what}, so {count} frames", name)
    raise UnsupportedInputError(f"{what}: all frames of a video must have the same shape", item=name)


def _keep_rows(frames: np.ndarray, kept: list[int]) -> np.ndarray:
    """``frames[kept]`` without a second copy of the frames.

    fps sampling keeps at most every frame, in order (``kept`` non-decreasing, ``kept[row] >= row``), so each kept
    frame moves down to its row before that row's old frame could still be needed; the tail is then given back.
    """
    if kept == list(range(len(frames))):
        return frames
    in_order = all(index >= row for row, index in enumerate(kept)) and kept == sorted(kept)
    if not in_order:  # not a shape fps sampling makes; stay correct
        return np.ascontiguousarray(frames[kept])
    for row, index in enumerate(kept):
        if row != index:
            frames[row] = frames[index]
    frames.resize((len(kept), *frames.shape[1:]), refcheck=False)  # no view of `frames` exists: realloc shrinks
    return frames
