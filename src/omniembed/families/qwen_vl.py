"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL: their processor without torchvision, and their video frames and metadata.

* :func:`load_processor` builds the folder's stock transformers processor (``Qwen2VLProcessor``,
  ``Qwen2_5_VLProcessor``, ``Qwen3VLProcessor``) around the torchvision-free image and video processors of
  :mod:`omniembed.families.qwen_vl_processors` when torchvision is missing; with torchvision installed it returns
  None and ``AutoProcessor`` builds transformers' own processor unchanged. ``processor_kwargs`` go where
  ``AutoProcessor`` would send them (``max_pixels`` reaches the image processor and Qwen2-VL's video processor;
  ``size`` reaches both).
* :func:`video_sampling` is the frame selection of the model's video processor, applied by omniembed's PyAV
  decoder (:mod:`omniembed.inputs.video`) so a 10-minute file decodes only the frames the model sees: Qwen3-VL
  samples ``fps`` frames per second of the source (24 fps assumed when unknown), at least ``min_frames``, at most
  ``max_frames``, spread with ``round(linspace(0, total - 1, n))``; Qwen2-VL / Qwen2.5-VL take every frame (up to
  ``max_frames``) unless ``num_frames`` / ``fps`` are asked for.
* :func:`video_call_kwargs` hands the already-sampled frames to the processor with their source metadata
  (``do_sample_frames=False``, ``video_metadata`` = source fps, frame count and the sampled indices), so Qwen3-VL's
  ``<t seconds>`` timestamps and Qwen2.5-VL's ``second_per_grid_ts`` are the ones transformers computes when it
  samples the full clip itself.

Example:
    >>> from omniembed.families.qwen_vl import is_qwen_vl
    >>> is_qwen_vl("qwen3_vl"), is_qwen_vl("qwen2_5_vl"), is_qwen_vl("llava")
    (True, True, False)
"""

from __future__ import annotations

import functools
import importlib
import logging
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["QWEN_VL_TYPES", "is_qwen_vl", "load_processor", "video_call_kwargs", "video_sampling"]

# model_type → (transformers module, stock processor class, video processor flavour)
QWEN_VL_TYPES: dict[str, tuple[str, str, str]] = {
    "qwen2_vl": ("transformers.models.qwen2_vl.processing_qwen2_vl", "Qwen2VLProcessor", "qwen2"),
    "qwen2_5_vl": ("transformers.models.qwen2_5_vl.processing_qwen2_5_vl", "Qwen2_5_VLProcessor", "qwen2"),
    "qwen3_vl": ("transformers.models.qwen3_vl.processing_qwen3_vl", "Qwen3VLProcessor", "qwen3"),
    "qwen3_vl_moe": ("transformers.models.qwen3_vl.processing_qwen3_vl", "Qwen3VLProcessor", "qwen3"),
}
# Qwen3-VL's video processor assumes this source fps when a clip carries none (transformers 5.24).
ASSUMED_SOURCE_FPS = 24.0


def is_qwen_vl(model_type: str | None) -> bool:
    return model_type in QWEN_VL_TYPES


def _torchvision_available() -> bool:
    from transformers.utils import is_torchvision_available

    return bool(is_torchvision_available())


def load_processor(path: str, model_type: str | None, *, processor_kwargs: dict, hub_kwargs: dict) -> Any:
    """The Qwen-VL processor of ``path`` built without torchvision, or None (not Qwen-VL, or torchvision is
    installed and transformers' own processor works)."""
    if not is_qwen_vl(model_type) or _torchvision_available():
        return None
    from omniembed.families.qwen_vl_processors import (
        ExactQwen2VLImageProcessor,
        TorchQwen2VLVideoProcessor,
        TorchQwen3VLVideoProcessor,
    )

    module, name, flavour = QWEN_VL_TYPES[str(model_type)]
    stock = getattr(importlib.import_module(module), name)
    kwargs = dict(processor_kwargs)
    image_processor = ExactQwen2VLImageProcessor.from_pretrained(path, **hub_kwargs, **_sizes(kwargs))
    # ProcessorMixin takes its parts from __init__'s signature: without a video_processor parameter it never
    # builds or validates the torchvision-only one; tokenizer and (named) chat templates load as usual.
    base = _image_only(stock).from_pretrained(path, image_processor=image_processor, **hub_kwargs, **kwargs)
    base.tokenizer.init_kwargs.pop("image_processor", None)  # from_pretrained hands it to the tokenizer too
    video_class = TorchQwen3VLVideoProcessor if flavour == "qwen3" else TorchQwen2VLVideoProcessor
    try:
        video_processor = video_class.from_pretrained(path, **hub_kwargs, **_sizes(kwargs, _PIXEL_KEYS + _FRAME_KEYS))
    except (OSError, ValueError) as exc:  # a folder saved without its video settings: images and text only
        logger.warning("No video processor settings in %r (%s); video inputs are unavailable.", path, exc)
        return base
    return _with_video(stock)(image_processor=image_processor, tokenizer=base.tokenizer,
                              video_processor=video_processor, chat_template=base.chat_template)


_PIXEL_KEYS = ("size", "min_pixels", "max_pixels", "patch_size", "temporal_patch_size", "merge_size")
_FRAME_KEYS = ("fps", "num_frames", "min_frames", "max_frames", "do_sample_frames")


def _sizes(kwargs: dict, keys: tuple[str, ...] = _PIXEL_KEYS) -> dict:
    # what AutoProcessor forwards to the pixel processors; the rest (chat_template, padding_side…) is the tokenizer's
    return {k: v for k, v in kwargs.items() if k in keys}


@functools.cache
def _image_only(stock: type) -> type:
    class ImageOnly(stock):  # type: ignore[misc, valid-type]
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

        def to_dict(self) -> dict[str, Any]:
            return {**super().to_dict(), "processor_class": stock.__name__}

    ImageOnly.__name__, ImageOnly.__qualname__ = stock.__name__, f"ImageOnly{stock.__name__}"  # saved as the stock
    return ImageOnly


@functools.cache
def _with_video(stock: type) -> type:
    from transformers.video_processing_utils import VideoProcessorMixin

    class WithVideo(stock):  # type: ignore[misc, valid-type]
        def check_argument_for_proper_class(self, argument_name, argument):
            # the one check that looks the base class up on transformers' lazy module, where it is missing
            # without torchvision; everything else is checked by transformers as usual
            if argument_name == "video_processor":
                if not isinstance(argument, VideoProcessorMixin):
                    raise TypeError(f"video_processor must be a VideoProcessorMixin, got {type(argument).__name__}")
                return VideoProcessorMixin
            return super().check_argument_for_proper_class(argument_name, argument)

        def to_dict(self) -> dict[str, Any]:
            return {**super().to_dict(), "processor_class": stock.__name__}

    WithVideo.__name__, WithVideo.__qualname__ = stock.__name__, f"TorchFree{stock.__name__}"  # saved as the stock
    return WithVideo


def _flavour(video_processor: Any) -> str | None:
    names = {cls.__name__ for cls in type(video_processor).__mro__}
    if "Qwen2VLVideoProcessor" in names or "TorchQwen2VLVideoProcessor" in names:
        return "qwen2"
    if "Qwen3VLVideoProcessor" in names:
        return "qwen3"
    return None


def video_sampling(video_processor: Any, options: dict) -> Any:
    """The :class:`~omniembed.inputs.VideoSampling` equal to this Qwen video processor's own frame selection
    (see the module docstring), with the call's ``video`` options (``num_frames``, ``fps``,
    ``do_sample_frames``, ``min_frames``, ``max_frames``); None when ``video_processor`` is not a Qwen one."""
    from omniembed.inputs.video import VideoSampling

    flavour = _flavour(video_processor)
    if flavour is None:
        return None
    get = lambda key: options.get(key, getattr(video_processor, key, None))
    max_frames = int(get("max_frames") or 768)
    if not get("do_sample_frames"):
        return VideoSampling(num_frames=None, fps=None, max_frames=max_frames)
    num_frames, fps = get("num_frames"), get("fps")
    if flavour == "qwen2":  # transformers' Qwen2VLVideoProcessor: frame pairs, floor-spread indices
        if num_frames:
            return VideoSampling(num_frames=max(2, round(num_frames / 2) * 2))
        return VideoSampling(fps=float(fps), max_frames=max_frames, min_frames=int(get("min_frames") or 1)) \
            if fps else VideoSampling(num_frames=None, fps=None, max_frames=max_frames)
    return VideoSampling(num_frames=int(num_frames) if num_frames else None, fps=float(fps) if fps else None,
                         max_frames=max_frames, min_frames=int(get("min_frames") or 1), spread="linspace",
                         assumed_fps=ASSUMED_SOURCE_FPS)


def video_call_kwargs(video_processor: Any, clips: list[Any]) -> dict[str, Any]:
    """Processor ``videos_kwargs`` for clips omniembed decoded and sampled: no second sampling, and each clip's
    source metadata (fps, frame count, the sampled frames' source indices) for timestamps."""
    if video_processor is None or not hasattr(video_processor, "sample_frames"):
        return {}
    metadata = []
    for clip in clips:
        indices = list(getattr(clip, "frame_indices", None) or range(len(getattr(clip, "frames", clip))))
        total = getattr(clip, "total_frames", None) or (max(indices) + 1 if indices else 0)
        metadata.append({"fps": getattr(clip, "fps", None), "total_num_frames": int(total),
                         "frames_indices": [int(i) for i in indices]})
    return {"do_sample_frames": False, "video_metadata": metadata}
