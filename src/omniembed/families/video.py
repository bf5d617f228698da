"""Video clips → pixel tensors, frame-wise through the model's *image* processor (no torchvision needed).

transformers' video processors all need torchvision, which this platform lacks (and many deployments do not
want). The input layer already decoded and sampled the frames (PyAV, :class:`~omniembed.inputs.VideoClip`), so
each frame goes through the image processor, and the result is reshaped to ``(batch, frames, C, H, W)``: what
X-CLIP's ``get_video_features`` and VideoMAE-style towers take. Models whose temporal layers are sized for a fixed
number of frames (X-CLIP's ``vision_config.num_frames``) get exactly that many: :func:`sampling_for` tells the
loader, and :func:`fit_frames` re-samples clips that arrive with another count (e.g. a caller's own VideoClip).

Example:
    >>> import numpy as np
    >>> from omniembed.families.video import fit_frames
    >>> fit_frames(np.arange(10).reshape(10, 1, 1, 1), 4)[:, 0, 0, 0].tolist()
    [0, 2, 5, 7]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from omniembed.errors import UnsupportedInputError, UnsupportedModalityError
from omniembed.families.processing_kwargs import ProcessingKwargs
from omniembed.families.vision import image_kwargs


def frames_of(clip: Any) -> np.ndarray:
    """(T, H, W, 3) uint8 frames of a decoded video (``VideoClip``, frame array, or list of frames)."""
    frames = getattr(clip, "frames", clip)
    if isinstance(frames, dict):
        frames = frames.get("array")
    if isinstance(frames, (list, tuple)):
        frames = np.stack([np.asarray(f) for f in frames])
    if torch.is_tensor(frames):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3):
        raise UnsupportedInputError(f"A decoded video must be (frames, height, width, 3); got {frames.shape}.")
    return frames


def frame_list(clip: Any) -> list[np.ndarray]:
    """A clip as a list of HxWx3 frames (the form VLM processors accept for ``videos=``)."""
    return list(frames_of(clip))


def required_frames(model: Any) -> int | None:
    """Frames per clip a model's temporal layers are sized for (X-CLIP: ``vision_config.num_frames``)."""
    config = getattr(model, "config", None)
    for source in (getattr(config, "vision_config", None), config):
        value = getattr(source, "num_frames", None)
        if isinstance(value, int) and value > 0:
            return value
    return None


def sampling_for(model: Any, processor: Any, video_kwargs: dict | None = None) -> Any:
    """The :class:`~omniembed.inputs.VideoSampling` the loader should apply for this model, or None (defaults).

    A fixed frame count the model needs wins; then the reference's ``video`` processing kwargs (``num_frames``,
    ``fps``, ``do_sample_frames=False`` = every frame); then a VLM video processor's own settings."""
    from omniembed.families import qwen_vl
    from omniembed.inputs.video import VideoSampling

    needed = required_frames(model)
    if needed is not None:
        return VideoSampling(num_frames=needed)
    kwargs = video_kwargs or {}
    video_processor = getattr(processor, "video_processor", None)
    family_sampling = qwen_vl.video_sampling(video_processor, kwargs) if video_processor is not None else None
    if family_sampling is not None:  # the processor's own frame selection, applied by the decoder
        return family_sampling
    if kwargs.get("do_sample_frames") is False:
        return VideoSampling(num_frames=None, fps=None)
    if kwargs.get("num_frames") or kwargs.get("fps"):
        return VideoSampling(num_frames=kwargs.get("num_frames"), fps=kwargs.get("fps") or 2.0)
    if video_processor is not None:  # a VLM's own sampling settings, where it declares them
        num_frames = getattr(video_processor, "num_frames", None)
        fps = getattr(video_processor, "fps", None)
        if isinstance(num_frames, int) and num_frames > 0:
            return VideoSampling(num_frames=num_frames)
        if isinstance(fps, (int, float)) and fps > 0:
            return VideoSampling(fps=float(fps))
    return None


def fit_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` frames picked uniformly (repeating frames when the clip is shorter)."""
    total = frames.shape[0]
    if total == count:
        return frames
    return frames[[i * total // count for i in range(count)]]


#: The reference's frame-sampling knobs: the loader applies them (:func:`sampling_for`), the processor never sees them.
SAMPLING_KEYS = ("do_sample_frames", "num_frames", "fps")


def prepare_video(image_processor: Any, clips: list[Any], kwargs: ProcessingKwargs,
                  frames_needed: int | None = None) -> dict[str, Any]:
    """Decoded clips → ``pixel_values`` (B, T, C, H, W): every frame of the batch through the image processor in
    one call. ``frames_needed`` (see :func:`required_frames`) re-samples clips that arrive with another count."""
    if image_processor is None:
        raise UnsupportedModalityError(
            "This model has no image processor to prepare video frames with (transformers' video processors need "
            "torchvision, which omniembed does not use)."
        )
    videos = [frames_of(c) for c in clips]
    if frames_needed is not None:
        videos = [fit_frames(v, frames_needed) for v in videos]
    counts = {v.shape[0] for v in videos}
    if len(counts) > 1:
        raise UnsupportedInputError(
            f"The videos of this batch have different frame counts ({sorted(counts)}); this model needs one count "
            "per batch. Sample them with a fixed num_frames (MediaOptions(video=VideoSampling(num_frames=...)))."
        )
    frames = [frame for v in videos for frame in v]
    video_options = {k: v for k, v in kwargs.for_modality("video").items() if k not in SAMPLING_KEYS}
    options = {**image_kwargs(image_processor, kwargs), **video_options, **kwargs.common()}
    # Frames are (H, W, 3) here; without this a 4- or 3-pixel-high frame reads as channels-first (fuzzing found it)
    options.setdefault("input_data_format", "channels_last")
    features = dict(image_processor(frames, **options))
    pixels = features["pixel_values"]
    # CLIP-style processors return (N, C, H, W); VideoMAE-style ones treat the list as one clip (1, N, C, H, W).
    features["pixel_values"] = pixels.reshape(len(videos), -1, *pixels.shape[-3:])
    return features
