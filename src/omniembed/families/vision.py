"""Images → pixel tensors through the model's own image processor, with image-size caps honoured.

Size caps (``max_pixels`` / ``min_pixels``) matter for dynamic-resolution VLMs (Qwen-VL and kin): without one, a
12-megapixel photo becomes ~12k visual tokens. They can be given at load time
(``processor_kwargs={"max_pixels": ...}``, which ``from_pretrained`` silently ignores for some processors:
transformers #41955, so :func:`apply_image_caps` sets them on the loaded image processor) or per call
(``processing_kwargs={"image": {"max_pixels": ...}}``, translated by :func:`image_kwargs` into the
``size={"longest_edge": ...}`` form current processors read).

Example:
    >>> from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil
    >>> proc = Qwen2VLImageProcessorPil()
    >>> apply_image_caps(proc, {"max_pixels": 200_704})
    >>> proc.size["longest_edge"]
    200704
"""

from __future__ import annotations

import math
from typing import Any

from omniembed.errors import UnsupportedModalityError
from omniembed.families.processing_kwargs import ProcessingKwargs

_CAP_KEYS = ("max_pixels", "min_pixels")
_SIZE_KEYS = ("size", "crop_size", "longest_edge", "shortest_edge", "max_image_tiles", "image_seq_length")


def image_processor_of(processor: Any) -> Any:
    """The image processor inside a processor (or the processor itself when it is one); None if absent."""
    found = getattr(processor, "image_processor", None)
    if found is not None:
        return found
    name = type(processor).__name__
    return processor if name.endswith(("ImageProcessor", "ImageProcessorPil", "ImageProcessorFast")) else None


def _counts_pixels(image_processor: Any) -> bool:
    """True for processors whose ``size`` holds pixel *counts* (Qwen-VL's smart resize), not edge lengths."""
    kwargs_cls = getattr(image_processor, "valid_kwargs", None)
    annotations: dict[str, Any] = {}
    for cls in reversed(getattr(kwargs_cls, "__mro__", ())):
        annotations.update(getattr(cls, "__annotations__", {}))
    return "max_pixels" in annotations or hasattr(image_processor, "max_pixels")


def _caps_to_size(image_processor: Any, caps: dict[str, Any]) -> dict[str, int]:
    size = dict(getattr(image_processor, "size", None) or {})
    if caps.get("min_pixels") is not None:
        size["shortest_edge"] = int(caps["min_pixels"])
    if caps.get("max_pixels") is not None:
        size["longest_edge"] = int(caps["max_pixels"])
    return size


def apply_image_caps(processor: Any, processor_kwargs: dict | None) -> None:
    """Set load-time image-size caps from ``processor_kwargs`` on the loaded image processor (see module doc)."""
    image_processor = image_processor_of(processor)
    kwargs = processor_kwargs or {}
    if image_processor is None or not any(k in kwargs for k in _CAP_KEYS + _SIZE_KEYS):
        return
    caps = {k: kwargs[k] for k in _CAP_KEYS if k in kwargs}
    if caps and _counts_pixels(image_processor):
        image_processor.size = _caps_to_size(image_processor, caps)
        for key, value in caps.items():  # older processors read the attributes themselves
            if hasattr(image_processor, key):
                setattr(image_processor, key, value)
    else:
        for key, value in caps.items():
            setattr(image_processor, key, value)
    for key in _SIZE_KEYS:
        if key in kwargs and hasattr(image_processor, key):
            setattr(image_processor, key, kwargs[key])


def image_kwargs(image_processor: Any, kwargs: ProcessingKwargs) -> dict[str, Any]:
    """Per-call image-processor options: the ``image`` section, with pixel caps in the ``size`` form."""
    options = {k: v for k, v in kwargs.for_modality("image").items() if k != "return_tensors"}
    caps = {k: options.pop(k) for k in _CAP_KEYS if k in options}
    if caps and image_processor is not None:
        if _counts_pixels(image_processor):
            given = {"size": options["size"]} if "size" in options else {}
            options["size"] = _caps_to_size(image_processor, {**caps, **given})
        else:
            options.update(caps)
    return options


def prepare_images(image_processor: Any, images: list[Any], kwargs: ProcessingKwargs) -> dict[str, Any]:
    """Decoded RGB images → the image processor's tensors (``pixel_values`` and whatever else it returns), in one
    call for the whole batch."""
    if image_processor is None:
        raise UnsupportedModalityError("This model's processor has no image processor.")
    return dict(image_processor(list(images), **{**image_kwargs(image_processor, kwargs), **kwargs.common()}))


def shortest_side_needed(image_processor: Any) -> int | None:
    """The smallest shortest side an image needs before processing, so the loader can decode large photos at
    reduced scale (JPEG draft) without losing anything the model sees; None when unknown."""
    if image_processor is None:
        return None
    size = getattr(image_processor, "size", None)
    if isinstance(size, int):
        return size
    if not isinstance(size, dict) and size is not None:
        size = {k: getattr(size, k, None) for k in ("shortest_edge", "longest_edge", "height", "width")}
    size = dict(size or {})
    if _counts_pixels(image_processor):
        # A pixel budget: the resized shortest side is at most sqrt(budget) whatever the aspect ratio.
        budget = size.get("longest_edge") or getattr(image_processor, "max_pixels", None)
        return math.ceil(math.sqrt(budget)) if budget else None
    if getattr(image_processor, "do_resize", True) is False:
        return None  # the processor uses the pixels as given: never shrink on its behalf
    patches, patch = getattr(image_processor, "max_num_patches", None), getattr(image_processor, "patch_size", None)
    if isinstance(patches, int) and isinstance(patch, int):  # NaFlex (SigLIP2): a patch budget, like a pixel one
        return math.ceil(patch * math.sqrt(patches))
    if size.get("shortest_edge"):
        return int(size["shortest_edge"])
    # A fixed (height, width) target ignores the aspect ratio: the image's shortest side may end up as either.
    sides = [size[k] for k in ("height", "width") if size.get(k)]
    return int(max(sides)) if sides else None
