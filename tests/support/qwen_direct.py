"""Qwen-VL processors that run **without torchvision** and equal the torchvision-backed ones bit for bit.

The independent side of the issue-8 equalities and the proof behind ``docs/design/qwen-vl.md``. Each piece is
the smallest departure from stock transformers 5.24 that works without torchvision:

* ``ExactQwen2VLImageProcessor``: the stock PIL-backend ``Qwen2VLImageProcessorPil`` whose resize is
  ``torch.nn.functional.interpolate(uint8, "bicubic", antialias=True)`` (the very kernel torchvision's ``resize``
  calls on CPU uint8 tensors; PIL's bicubic differs by one level on ~0.5% of pixels) and whose normalisation is
  fused as torchvision's backend does it: ``(x - mean / f) / (std / f)`` in float32, ``f`` the rescale factor.
* ``TorchQwen3VLVideoProcessor``: the stock ``Qwen3VLVideoProcessor`` (sampling, frame-aware smart_resize,
  temporal padding, patchify, grids) with torchvision's primitives (RGB, resize, normalise) done in torch, slotted
  into the MRO just above ``TorchvisionBackend``.
* ``TorchQwen2VLVideoProcessor``: ``Qwen2VLVideoProcessor`` (Qwen2-VL, Qwen2.5-VL), whose module imports
  torchvision at import time, rebuilt on the class above: its defaults, frame sampler and per-frame resize.
* ``image_only_processor(folder)`` / ``full_processor(folder)``: the stock ``Qwen2VLProcessor`` /
  ``Qwen2_5_VLProcessor`` / ``Qwen3VLProcessor`` built around them, so placeholder expansion, Qwen3-VL
  timestamps, ``second_per_grid_ts`` and ``mm_token_type_ids`` stay transformers' own code.

Nothing here imports sentence-transformers.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers import AutoConfig
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize
from transformers.models.qwen3_vl.video_processing_qwen3_vl import (
    Qwen3VLVideoProcessor,
    Qwen3VLVideoProcessorInitKwargs,
)
from transformers.video_processing_utils import VideoProcessorMixin

__all__ = [
    "ExactQwen2VLImageProcessor",
    "TorchQwen2VLVideoProcessor",
    "TorchQwen3VLVideoProcessor",
    "exact_bicubic_resize",
    "full_processor",
    "image_only_processor",
    "last_token_embedding",
    "qwen_model_inputs",
]


def exact_bicubic_resize(chw_uint8: Any, height: int, width: int) -> torch.Tensor:
    """Resize (..., C, H, W) uint8 like torchvision's ``resize(BICUBIC, antialias=True)`` on CPU: same kernel."""
    tensor = torch.as_tensor(chw_uint8)
    if tuple(tensor.shape[-2:]) == (height, width):
        return tensor  # torchvision returns the input untouched when the size does not change
    flat = tensor.reshape(-1, *tensor.shape[-3:]).contiguous()
    out = F.interpolate(flat, size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return out.reshape(*tensor.shape[:-2], height, width)


def _fused_normalize(images: torch.Tensor, mean: Any, std: Any, rescale_factor: float) -> torch.Tensor:
    """torchvision backend's fused rescale + normalise, with its float32 operation order."""
    shape = [1] * images.ndim
    shape[-3] = -1
    mean_t = (torch.tensor(mean) * (1.0 / rescale_factor)).view(shape)
    std_t = (torch.tensor(std) * (1.0 / rescale_factor)).view(shape)
    return (images.to(torch.float32) - mean_t) / std_t


class ExactQwen2VLImageProcessor(Qwen2VLImageProcessorPil):
    """``Qwen2VLImageProcessorPil`` whose ``pixel_values`` equal the torchvision ``Qwen2VLImageProcessor``'s."""

    def _preprocess(self, images, do_resize, size, resample, do_rescale, rescale_factor, do_normalize,
                    image_mean, image_std, patch_size, temporal_patch_size, merge_size, return_tensors,
                    **kwargs):  # fmt: skip
        patches, grids = [], []
        for image in images:  # (C, H, W) uint8 numpy, RGB-converted (alpha composited on white) by the PIL backend
            height, width = image.shape[-2:]
            if do_resize:
                height, width = smart_resize(height, width, factor=patch_size * merge_size,
                                             min_pixels=size.shortest_edge, max_pixels=size.longest_edge)  # fmt: skip
            pixels = exact_bicubic_resize(np.ascontiguousarray(image), height, width)
            if do_normalize:
                pixels = _fused_normalize(pixels, image_mean, image_std, rescale_factor if do_rescale else 1.0)
            elif do_rescale:
                pixels = pixels.to(torch.float32) * rescale_factor
            flat, grid_h, grid_w = self.patchify(pixels.numpy(), patch_size, merge_size, temporal_patch_size)
            patches.append(flat)
            grids.append([1, grid_h, grid_w])
        data = {"pixel_values": np.concatenate(patches, axis=0), "image_grid_thw": np.array(grids, dtype=np.int64)}
        return BatchFeature(data=data, tensor_type=return_tensors)


class _TorchOnlyOps(TorchvisionBackend):
    # Between BaseVideoProcessor and TorchvisionBackend in the MRO of the classes below, so that
    # Qwen3VLVideoProcessor.resize's super().resize(...) and _preprocess's rescale_and_normalize land here.
    def resize(self, image, size, resample=None, antialias=True, **kwargs):
        return exact_bicubic_resize(image, size.height, size.width)

    def rescale_and_normalize(self, images, do_rescale, rescale_factor, do_normalize, image_mean, image_std):
        if do_normalize:
            return _fused_normalize(images, image_mean, image_std, rescale_factor if do_rescale else 1.0)
        return images.to(torch.float32) * rescale_factor if do_rescale else images


class TorchQwen3VLVideoProcessor(Qwen3VLVideoProcessor, _TorchOnlyOps):
    """The stock ``Qwen3VLVideoProcessor`` with torch-only image primitives (no torchvision)."""

    def convert_to_rgb(self, video, **kwargs):
        # BaseVideoProcessor defines this itself (tvF.grayscale_to_rgb), so it is overridden at the top.
        channels = video.shape[-3]
        if channels == 1:
            return video.expand(*video.shape[:-3], 3, *video.shape[-2:])
        if channels != 3:
            raise ValueError(f"frames with {channels} channels are not supported by this test helper")
        return video


class _Qwen2VLVideoKwargs(Qwen3VLVideoProcessorInitKwargs, total=False):
    min_pixels: int
    max_pixels: int


class TorchQwen2VLVideoProcessor(TorchQwen3VLVideoProcessor):
    """``Qwen2VLVideoProcessor`` (Qwen2-VL, Qwen2.5-VL): its defaults, frame sampler and per-frame resize."""

    size = {"shortest_edge": 128 * 28 * 28, "longest_edge": 28 * 28 * 768}  # noqa: RUF012 (transformers' style)
    image_mean = OPENAI_CLIP_MEAN
    image_std = OPENAI_CLIP_STD
    patch_size = 14
    min_frames = 4
    max_frames = 768
    do_sample_frames = False
    fps = None
    max_video_tokens = 128000
    valid_kwargs = _Qwen2VLVideoKwargs

    def __init__(self, **kwargs):
        super().__init__(size=_pixels_to_size(kwargs.pop("size", None) or self.size, kwargs), **kwargs)

    def _standardize_kwargs(self, size=None, min_pixels=None, max_pixels=None, **kwargs):
        if min_pixels is not None or max_pixels is not None:
            size = _pixels_to_size(size or {}, {"min_pixels": min_pixels, "max_pixels": max_pixels})
        return super()._standardize_kwargs(size=size, **kwargs)

    def sample_frames(self, metadata, temporal_patch_size=None, min_frames=None, max_frames=None,
                      num_frames=None, fps=None, **kwargs):  # fmt: skip
        if fps is not None and num_frames is not None:
            raise ValueError("`num_frames` and `fps` are mutually exclusive arguments, please use only one!")
        num_frames = num_frames if num_frames is not None else self.num_frames
        fps = fps if fps is not None else self.fps
        temporal = temporal_patch_size or self.temporal_patch_size
        min_frames = min_frames if min_frames is not None else self.min_frames
        max_frames = max_frames if max_frames is not None else self.max_frames
        total = metadata.total_num_frames
        if num_frames is not None:
            num_frames = round(num_frames / temporal) * temporal
        elif fps is not None:
            if metadata.fps is None:
                raise ValueError("sampling at `fps` needs video metadata with the source fps")
            max_frames = math.floor(min(max_frames, total) / temporal) * temporal
            num_frames = math.floor(min(max(total / metadata.fps * fps, min_frames), max_frames, total) / temporal)
            num_frames *= temporal
        if num_frames is None:
            # transformers crashes here (TypeError comparing None with an int); fail as clearly, not silently
            raise ValueError("sampling Qwen2-VL video frames needs `fps` (with video metadata) or `num_frames`")
        if num_frames > total:
            raise ValueError(f"Video can't be sampled: num_frames={num_frames} > total_num_frames={total}")
        return torch.arange(0, total, total / num_frames).int()

    def resize(self, videos, size, resample, factor, temporal_factor=2, cap_pixels_per_frame=None, **kwargs):
        max_pixels = size.longest_edge
        if cap_pixels_per_frame:
            budget = int(self.max_video_tokens * factor * factor * 0.9) * temporal_factor // videos.shape[1]
            max_pixels = max(min(max_pixels, budget), int(size.shortest_edge * 1.05))
        height, width = smart_resize(*videos.shape[-2:], factor=factor, min_pixels=size.shortest_edge,
                                     max_pixels=max_pixels)  # fmt: skip  (per frame: the frame count is ignored)
        return exact_bicubic_resize(videos, height, width)


def _pixels_to_size(size: Any, kwargs: dict) -> dict:
    size = dict(size)
    if (min_pixels := kwargs.pop("min_pixels", None)) is not None:
        size["shortest_edge"] = min_pixels
    if (max_pixels := kwargs.pop("max_pixels", None)) is not None:
        size["longest_edge"] = max_pixels
    return size


_PROCESSORS = {
    "qwen2_vl": ("transformers.models.qwen2_vl.processing_qwen2_vl", "Qwen2VLProcessor"),
    "qwen2_5_vl": ("transformers.models.qwen2_5_vl.processing_qwen2_5_vl", "Qwen2_5_VLProcessor"),
    "qwen3_vl": ("transformers.models.qwen3_vl.processing_qwen3_vl", "Qwen3VLProcessor"),
}


def _stock_processor_class(folder: Path) -> tuple[type, str]:
    model_type = AutoConfig.from_pretrained(folder).model_type
    module_name, class_name = _PROCESSORS[model_type]
    return getattr(importlib.import_module(module_name), class_name), model_type


def image_only_processor(folder: str | Path, **image_kwargs: Any) -> Any:
    """The folder's stock Qwen processor, image + text only, around ``ExactQwen2VLImageProcessor``.

    ``ProcessorMixin`` takes its sub-processors from the ``__init__`` signature, so a subclass without a
    ``video_processor`` parameter never validates or builds the torchvision-only video processor.
    ``image_kwargs`` (e.g. ``max_pixels=...``) go to the image processor.
    """
    stock, _ = _stock_processor_class(Path(folder))

    class ImageOnlyProcessor(stock):  # type: ignore[misc, valid-type]
        def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
            super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)

    image_processor = ExactQwen2VLImageProcessor.from_pretrained(folder, **image_kwargs)
    return ImageOnlyProcessor.from_pretrained(folder, image_processor=image_processor)


def full_processor(folder: str | Path, image_overrides: dict | None = None, video_overrides: dict | None = None) -> Any:
    """The folder's stock Qwen processor with torchvision-free image **and** video processors.

    ``ProcessorMixin.__init__`` checks each sub-processor against the class named in
    ``MODALITY_TO_BASE_CLASS_MAPPING`` ("VideoProcessorMixin"), looked up on transformers' lazy module where it is
    missing without torchvision (an ``AttributeError ... _extra_content``). The subclass answers that one check
    itself, so nothing global is patched.
    """
    stock, model_type = _stock_processor_class(Path(folder))

    class FullProcessor(stock):  # type: ignore[misc, valid-type]
        def check_argument_for_proper_class(self, argument_name, argument):
            if argument_name == "video_processor":
                if not isinstance(argument, VideoProcessorMixin):
                    raise TypeError(f"Received a {type(argument).__name__} for argument video_processor")
                return VideoProcessorMixin
            return super().check_argument_for_proper_class(argument_name, argument)

    # from_pretrained would load the video processor through AutoVideoProcessor (torchvision): build it by hand,
    # taking tokenizer and chat templates (named ones included) from the image-only processor.
    base = image_only_processor(folder, **(image_overrides or {}))
    video_class = TorchQwen3VLVideoProcessor if model_type == "qwen3_vl" else TorchQwen2VLVideoProcessor
    return FullProcessor(
        image_processor=base.image_processor,
        tokenizer=base.tokenizer,
        video_processor=video_class.from_pretrained(folder, **(video_overrides or {})),
        chat_template=base.chat_template,
    )


def qwen_model_inputs(features: Any) -> dict[str, Any]:
    """The processor outputs a Qwen-VL forward takes. ``mm_token_type_ids`` is required: Qwen2-VL and Qwen3-VL
    raise without it when media are present, Qwen2.5-VL silently falls back to sequential positions."""
    keep = (
        "input_ids",
        "attention_mask",
        "mm_token_type_ids",
        "pixel_values",
        "image_grid_thw",
        "pixel_values_videos",
        "video_grid_thw",
        "second_per_grid_ts",
    )
    return {key: features[key] for key in keep if key in features}


def last_token_embedding(hidden: torch.Tensor, attention_mask: torch.Tensor, normalize: bool = True) -> np.ndarray:
    """Last attended position per row (left or right padding), optionally L2-normalised, as float32 numpy."""
    mask = attention_mask.to(torch.long)
    last = mask.shape[1] - 1 - torch.flip(mask, dims=[1]).argmax(dim=1)
    pooled = hidden[torch.arange(hidden.shape[0]), last].to(torch.float32)
    if normalize:
        pooled = F.normalize(pooled, p=2, dim=-1)
    return pooled.detach().cpu().numpy()
