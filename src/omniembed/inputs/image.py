"""load_image(): any image reference → an upright RGB ``PIL.Image``, decoded safely and no larger than needed.

What it does, in order:

1. resolves the reference (:func:`~omniembed.inputs.sources.read_source`: path, URL, data URI, bytes, file
   object), or converts an in-memory PIL image / numpy array / torch tensor;
2. opens it with Pillow restricted to :data:`IMAGE_FORMATS` (never EPS, PDF, FITS…), and checks
   width × height *from the header* against ``MediaLimits.max_image_pixels`` before any pixel is decoded;
3. for JPEG with ``target_size``, asks libjpeg for a reduced-scale decode (``Image.draft``: 1/2, 1/4 or 1/8)
   that keeps the shortest side at least :data:`DRAFT_MARGIN` × ``target_size``: a 3000×2000 photo for a
   224-pixel model decodes at 750×500, several times faster, and the processed tensor barely changes;
4. decodes fully inside the error guard (``ImageFile.LOAD_TRUNCATED_IMAGES`` stays False, so a truncated file
   is an error, never a half-grey image);
5. applies the EXIF orientation, keeps the first frame of animations, and converts every mode to RGB.
   Transparent pixels are composited on ``background`` (white by default). ``background=None`` is the
   reference's plain ``convert("RGB")``, which drops alpha and leaves whatever colour the transparent pixels
   happen to store (often black). 16-bit and float images are scaled to 8 bits instead of clipped.

Errors: :class:`~omniembed.errors.MediaDecodeError` (corrupt, truncated, not an allowed format),
:class:`~omniembed.errors.MediaTooLargeError` (bytes or pixels), ``UnsupportedInputError`` (array shapes and
value ranges that are not an image), ``MediaFetchError`` (URLs).

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.image import load_image
    >>> img = load_image(np.zeros((2, 3, 4), dtype=np.uint8))  # fully transparent RGBA → white
    >>> img.mode, img.size, img.getpixel((0, 0))
    ('RGB', (3, 2), (255, 255, 255))
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from omniembed.errors import (
    MediaDecodeError,
    MediaTooLargeError,
    OmniEmbedError,
    UnsupportedInputError,
)
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits
from omniembed.inputs.sources import SourceData, read_source
from omniembed.optional import require

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from omniembed.inputs.fetch import FetchPolicy

__all__ = ["DRAFT_MARGIN", "IMAGE_FORMATS", "array_to_image", "as_numpy", "load_image", "to_uint8"]

logger = logging.getLogger(__name__)

# Raster formats people send as photos. EPS runs Ghostscript; PDF, FITS, McIdas, JPEG2000 and friends have a
# history of bombs and out-of-bounds reads and are not photos: they are never tried, whatever the file says.
IMAGE_FORMATS: tuple[str, ...] = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "BMP", "DIB", "TIFF", "ICO", "PPM", "AVIF")
# draft() keeps the shortest side >= DRAFT_MARGIN × target_size. At 2 the resize that follows still averages
# over at least 2×2 decoded pixels per output pixel, which keeps the result within a few grey levels of a
# full-resolution decode (see the benchmark); at 1 libjpeg's DCT scaling shows through the resampling.
DRAFT_MARGIN = 2.0
_REGISTERED: tuple[str, ...] | None = None
_ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
_HIGH_DEPTH_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})
_ACCEPTED = "a PIL image, a path, URL, data URI, bytes, a file object, or an (H, W[, C]) / (C, H, W) array"


def _pil():
    require("PIL", name="Pillow", purpose="Image inputs", extra="image", spec="pillow>=12.3")
    from PIL import Image

    return Image


def load_image(
    ref: Any,
    *,
    limits: MediaLimits | None = None,
    fetch: FetchPolicy | None = None,
    target_size: int | Sequence[int] | None = None,
    background: Sequence[int] | None = (255, 255, 255),
    exif_transpose: bool = True,
) -> PILImage:
    """Decode ``ref`` into an RGB ``PIL.Image.Image``.

    ``target_size``: the smallest side (int) or the ``(width, height)`` the model resizes to; enables JPEG draft
    decoding (None: always decode at full resolution). ``background``: the RGB colour transparent pixels are
    composited on, or None to drop alpha like the reference. ``exif_transpose``: apply the EXIF orientation.
    ``fetch``: the :class:`~omniembed.inputs.FetchPolicy` for URLs.
    """
    Image = _pil()
    limits = limits or DEFAULT_LIMITS
    if isinstance(ref, Image.Image):
        _check_pixels(ref.size, limits, ref)
        img = _guarded(lambda: _finish(ref, background, exif_transpose), ref)
        return img if img is not ref else ref.copy()  # never hand back (or later mutate) the caller's object
    if _is_array(ref):
        img = array_to_image(ref, limits=limits)
        return _guarded(lambda: _to_rgb(img, background), ref)
    if isinstance(ref, dict):
        raise UnsupportedInputError(
            f"an image dict is not accepted here (keys {sorted(map(str, ref))}); pass the image itself: {_ACCEPTED}",
            item=ref,
        )
    source = read_source(ref, fetch=fetch, limits=limits, kind="image")
    return decode_image_source(
        source, limits=limits, target_size=target_size, background=background, exif_transpose=exif_transpose, item=ref
    )


def decode_image_source(
    source: SourceData,
    *,
    limits: MediaLimits,
    target_size: int | Sequence[int] | None = None,
    background: Sequence[int] | None = (255, 255, 255),
    exif_transpose: bool = True,
    item: Any = None,
) -> PILImage:
    """Decode already-resolved bytes or a path (the second half of :func:`load_image`)."""
    item = source.name if item is None else item

    def decode():
        fp = source.open()
        try:
            img = _open_checked(fp, limits, item)
            _apply_draft(img, target_size)
            img.load()
        finally:
            fp.close()
        return _finish(img, background, exif_transpose)

    return _guarded(decode, item)


def _allowed_formats() -> tuple[str, ...]:
    # Pillow raises KeyError for a format name it has no plugin for (MPO is opened by the JPEG plugin,
    # AVIF needs libavif): pass only the ones this build registers.
    global _REGISTERED
    if _REGISTERED is None:
        Image = _pil()
        Image.init()
        _REGISTERED = tuple(f for f in IMAGE_FORMATS if f in Image.OPEN)
    return _REGISTERED


def _open_checked(fp: Any, limits: MediaLimits, item: Any) -> Any:
    Image = _pil()
    img = Image.open(fp, formats=_allowed_formats())
    _check_pixels(img.size, limits, item)
    return img


def _guarded(step, item: Any) -> Any:
    """Run a decoding step; anything the decoder raises becomes a typed omniembed error."""
    Image = _pil()
    try:
        return step()
    except OmniEmbedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (its MAX_IMAGE_PIXELS, or the warning under `-W error`) also means "too large".
        raise MediaTooLargeError(f"image refused as a decompression bomb: {exc}", item=item) from None
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - hostile files make Pillow raise anything (struct.error, IndexError…)
        from PIL import UnidentifiedImageError

        if isinstance(exc, UnidentifiedImageError):
            raise MediaDecodeError(
                f"not a valid image, or not an allowed format ({', '.join(IMAGE_FORMATS)})", item=item
            ) from None
        raise MediaDecodeError(f"corrupt or truncated image: {type(exc).__name__}: {exc}", item=item) from None


def _check_pixels(size: tuple[int, int], limits: MediaLimits, item: Any) -> None:
    width, height = size
    if width * height > limits.max_image_pixels:
        raise MediaTooLargeError(
            f"image is {width}×{height} = {width * height} pixels, more than "
            f"MediaLimits.max_image_pixels={limits.max_image_pixels}",
            item=item,
        )
    if width <= 0 or height <= 0:
        raise MediaDecodeError(f"image has an empty size {width}×{height}", item=item)


def _apply_draft(img: Any, target_size: int | Sequence[int] | None) -> None:
    if target_size is None or img.format not in ("JPEG", "MPO"):
        return
    side = target_size if isinstance(target_size, int) else max(target_size)
    # Both requested sides are the margin × the target: the orientation (EXIF may swap width and height
    # afterwards) and the aspect ratio then cannot push the shortest side under the margin.
    want = max(1, round(side * DRAFT_MARGIN))
    img.draft("RGB", (want, want))


def _finish(img: Any, background: Sequence[int] | None, exif_transpose: bool) -> Any:
    img.load()  # a lazily opened PIL image passed in by the caller still has to decode here, in the guard
    if exif_transpose:
        from PIL import ImageOps

        try:
            img = ImageOps.exif_transpose(img)
        except Exception as exc:  # noqa: BLE001 - a malformed EXIF block must not cost a decodable picture
            logger.debug("ignoring unreadable EXIF orientation: %s", exc)
    return _to_rgb(img, background)


def _to_rgb(img: Any, background: Sequence[int] | None) -> Any:
    Image = _pil()
    if img.mode in _HIGH_DEPTH_MODES:
        img = Image.fromarray(_high_depth_to_uint8(img))
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    has_alpha = mode in _ALPHA_MODES or "transparency" in img.info
    if not has_alpha:
        return img.convert("RGB")
    if mode == "La":
        img = img.convert("LA")  # Pillow un-premultiplies La only towards LA
    rgba = img.convert("RGBA")  # also un-premultiplies RGBa and applies palette/colour-key transparency
    if background is None:
        return rgba.convert("RGB")
    fill = tuple(int(c) for c in background)
    if len(fill) != 3 or not all(0 <= c <= 255 for c in fill):
        raise UnsupportedInputError(f"background must be an (R, G, B) tuple of 0..255 values, got {background!r}")
    return Image.alpha_composite(Image.new("RGBA", img.size, fill + (255,)), rgba).convert("RGB")


def _high_depth_to_uint8(img: Any) -> np.ndarray:
    # The reference's convert("RGB") clips 16-bit and float pixels at 255 (most of a 16-bit photo turns
    # white); scale them into 8 bits instead.
    a = np.asarray(img)
    if img.mode.startswith("I;16"):
        return np.rint(a.astype(np.float32) / 257.0).astype(np.uint8)
    if img.mode == "F":
        a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if a.size and a.min() >= 0.0 and a.max() <= 1.0:
            a = a * 255.0
        return np.rint(np.clip(a, 0.0, 255.0)).astype(np.uint8)
    a = np.clip(a.astype(np.int64), 0, 65535)  # mode "I": 8-bit values stay, 16-bit ranges are scaled
    if a.size and a.max() > 255:
        return np.rint(a / 257.0).astype(np.uint8)
    return a.astype(np.uint8)


# -------------------------------------------------------------------------------------------------- arrays
def _is_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) or type(value).__module__.split(".")[0] == "torch"


def as_numpy(value: Any) -> np.ndarray:
    """numpy view of an ndarray or a torch tensor (detached, on CPU; half precisions widened to float32)."""
    if isinstance(value, np.ndarray):
        return value
    if type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach"):
        import torch

        tensor = value.detach().cpu()
        if tensor.dtype in (torch.bfloat16, torch.float16):
            tensor = tensor.float()
        return tensor.numpy()
    raise UnsupportedInputError(f"expected a numpy array or a torch tensor, got {type(value).__name__}", item=value)


def to_uint8(a: np.ndarray, item: Any = None) -> np.ndarray:
    """Pixel values → uint8: floats in [0, 1] are scaled by 255, floats in [0, 255] rounded, bools → 0/255,
    uint16 scaled by 1/257, other integers must already lie in 0..255."""
    kind = a.dtype.kind
    if a.dtype == np.uint8:
        return a
    if kind == "b":
        return a.astype(np.uint8) * 255
    if a.size == 0:
        raise UnsupportedInputError("the image array is empty", item=item)
    if a.dtype == np.uint16:
        return np.rint(a.astype(np.float32) / 257.0).astype(np.uint8)
    if kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        if lo >= 0 and hi <= 255:
            return a.astype(np.uint8)
        raise UnsupportedInputError(
            f"integer pixel values must lie in 0..255 (or use uint8/uint16), got {lo}..{hi}", item=item
        )
    if kind == "f":
        if not np.isfinite(a).all():
            raise UnsupportedInputError("the image array contains NaN or infinite values", item=item)
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0.0 and hi <= 1.0:
            return np.rint(a.astype(np.float32) * 255.0).astype(np.uint8)
        if lo >= 0.0 and hi <= 255.0:
            return np.rint(a).astype(np.uint8)
        raise UnsupportedInputError(
            f"float pixel values must lie in [0, 1] or [0, 255], got [{lo:g}, {hi:g}]", item=item
        )
    raise UnsupportedInputError(f"unsupported image array dtype {a.dtype}", item=item)


def channels_last(a: np.ndarray, *, channels_first_hint: bool = False, item: Any = None) -> np.ndarray:
    """(…, H, W, C) from (…, H, W, C) or (…, C, H, W), deciding by which axis has 1–4 entries.

    When both could be channels (a 3×H×3 array), HWC wins, unless ``channels_first_hint`` (torch tensors).
    """
    first_ok, last_ok = a.shape[-3] in (1, 2, 3, 4), a.shape[-1] in (1, 2, 3, 4)
    if last_ok and not (first_ok and channels_first_hint):
        return a
    if first_ok:
        return np.moveaxis(a, -3, -1)
    raise UnsupportedInputError(
        f"cannot find the colour channels of an array of shape {tuple(a.shape)}: expected (H, W, C) or "
        "(C, H, W) with C in 1..4",
        item=item,
    )


def array_to_image(value: Any, *, limits: MediaLimits | None = None) -> PILImage:
    """An (H, W), (H, W, C), (C, H, W) or (1, …) array or tensor → a PIL image (L, LA, RGB or RGBA)."""
    Image = _pil()
    limits = limits or DEFAULT_LIMITS
    is_torch = not isinstance(value, np.ndarray)
    a = as_numpy(value)
    while a.ndim > 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3:
        a = channels_last(a, channels_first_hint=is_torch, item=value)
        if a.shape[-1] == 1:
            a = a[..., 0]
    elif a.ndim != 2:
        raise UnsupportedInputError(
            f"an image array must be (H, W), (H, W, C) or (C, H, W), got shape {tuple(a.shape)}", item=value
        )
    _check_pixels((a.shape[1], a.shape[0]), limits, value)
    return Image.fromarray(np.ascontiguousarray(to_uint8(a, value)))
