"""Qwen2-VL / Qwen2.5-VL / Qwen3-VL processors that run **without torchvision**, equal to the stock ones bit for bit.

transformers 5.24 builds these processors only with torchvision (its video processors use ``torchvision``'s
resize / RGB / normalise, and ``ProcessorMixin`` validates the video processor through a lazy-module entry that
is missing without it). Only those three pixel primitives and that one type check change here; sampling,
``smart_resize``, patch flattening, placeholder expansion, Qwen3-VL timestamps, ``second_per_grid_ts`` and
``mm_token_type_ids`` stay transformers' own code (docs/design/qwen-vl.md §3):

* :class:`ExactQwen2VLImageProcessor`: transformers' PIL-backend ``Qwen2VLImageProcessorPil`` resizing with
  ``torch.nn.functional.interpolate(uint8, "bicubic", antialias=True)``, the very kernel torchvision runs on CPU
  uint8 images (PIL's bicubic differs by one grey level on ~0.5% of pixels), and normalising in torchvision's
  fused float32 order.
* :class:`TorchQwen3VLVideoProcessor` (Qwen3-VL) and :class:`TorchQwen2VLVideoProcessor` (Qwen2-VL, Qwen2.5-VL,
  whose stock module imports torchvision at import time) with torch-only primitives.

Saved folders name the stock classes (``Qwen2VLImageProcessor``, ``Qwen3VLVideoProcessor``, ``Qwen3VLProcessor``),
so the reference library and transformers with torchvision read them back unchanged.

Example:
    >>> import numpy as np
    >>> from omniembed.families.qwen_vl_processors import exact_bicubic_resize
    >>> exact_bicubic_resize(np.zeros((3, 8, 8), np.uint8), 4, 6).shape
    torch.Size([3, 4, 6])
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_processing_backends import TorchvisionBackend
from transformers.image_processing_utils import BatchFeature
from transformers.image_utils import OPENAI_CLIP_MEAN, OPENAI_CLIP_STD
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil, smart_resize
from transformers.models.qwen3_vl.video_processing_qwen3_vl import (
    Qwen3VLVideoProcessor,
    Qwen3VLVideoProcessorInitKwargs,
)

__all__ = [
    "ExactQwen2VLImageProcessor",
    "TorchQwen2VLVideoProcessor",
    "TorchQwen3VLVideoProcessor",
    "exact_bicubic_resize",
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
        for image in images:  # (C, H, W) uint8 numpy, RGB (alpha composited on white) by the PIL backend
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

    def _standardize_kwargs(self, *args, **kwargs):
        # min_pixels / max_pixels given at load (processor_kwargs) reach each call as attributes; transformers
        # folds them into `size` exactly as intended but warns every call that the call-time form is deprecated
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Passing `min_pixels` and `max_pixels`", category=FutureWarning)
            return super()._standardize_kwargs(*args, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "image_processor_type": "Qwen2VLImageProcessor"}  # the stock name on disk


class _TorchOnlyOps(TorchvisionBackend):
    # Sits between BaseVideoProcessor and TorchvisionBackend in the MRO of the classes below, so that
    # Qwen3VLVideoProcessor.resize's super().resize(...) and _preprocess's rescale_and_normalize land here.
    def resize(self, image, size, resample=None, antialias=True, **kwargs):
        return exact_bicubic_resize(image, size.height, size.width)

    def rescale_and_normalize(self, images, do_rescale, rescale_factor, do_normalize, image_mean, image_std):
        if do_normalize:
            return _fused_normalize(images, image_mean, image_std, rescale_factor if do_rescale else 1.0)
        return images.to(torch.float32) * rescale_factor if do_rescale else images


class TorchQwen3VLVideoProcessor(Qwen3VLVideoProcessor, _TorchOnlyOps):
    """The stock ``Qwen3VLVideoProcessor`` with torch-only image primitives (no torchvision)."""

    stock_name = "Qwen3VLVideoProcessor"

    def convert_to_rgb(self, video, **kwargs):
        # BaseVideoProcessor defines this itself (with torchvision), so it is overridden at the top.
        channels = video.shape[-3]
        if channels == 1:
            return video.expand(*video.shape[:-3], 3, *video.shape[-2:])
        return video[..., :3, :, :] if channels == 4 else video  # omniembed's frames are RGB already

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "video_processor_type": self.stock_name}


class _Qwen2VLVideoKwargs(Qwen3VLVideoProcessorInitKwargs, total=False):
    min_pixels: int
    max_pixels: int


class TorchQwen2VLVideoProcessor(TorchQwen3VLVideoProcessor):
    """``Qwen2VLVideoProcessor`` (Qwen2-VL, Qwen2.5-VL): its defaults, frame sampler and per-frame resize."""

    stock_name = "Qwen2VLVideoProcessor"
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
                raise ValueError("sampling video frames at `fps` needs the source fps (video metadata)")
            max_frames = math.floor(min(max_frames, total) / temporal) * temporal
            num_frames = math.floor(min(max(total / metadata.fps * fps, min_frames), max_frames, total) / temporal)
            num_frames *= temporal
        if num_frames is None:
            # transformers crashes here (TypeError comparing None with an int); fail clearly instead
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
