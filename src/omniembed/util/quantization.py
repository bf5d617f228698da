"""Embedding quantisation: float embeddings to int8, uint8 or packed binary codes.

Precisions:

* ``float32``: returned as float32 numpy (no quantisation).
* ``binary``: one bit per dimension, ``x > 0``, packed 8 to a byte along the last axis, minus 128, as int8
  (``np.packbits(x > 0, axis=-1) - 128``). Shape ``(n, ceil(d / 8))``.
* ``ubinary``: the same bits as uint8 (``np.packbits(x > 0, axis=-1)``).
* ``uint8`` / ``int8``: 256 equal-width buckets per dimension between that dimension's ``min`` and ``max``:

  - ``step = (max - min) / 255``
  - ``bucket = clip(floor((x - min) / step), 0, 255)`` in float32; values outside the range saturate rather
    than wrap around; a dimension with ``max == min`` uses ``step = 1``. These are the reference's exact
    operations, so the codes are bit-identical to sentence-transformers'.
  - ``uint8 = bucket``; ``int8 = bucket - 128``.
  - Round trip: ``min + (bucket + 0.5) * step`` is within ``step / 2`` of every in-range value.

  ``min``/``max`` come from ``ranges`` (shape ``(2, d)``), else from ``calibration_embeddings``, else from the
  embeddings being quantised. For in-range values ``uint8`` equals the reference's ``astype(np.uint8)``
  codes.

Example:
    >>> import numpy as np
    >>> emb = np.array([[0.5, -1.0, 2.0, 0.0, 1.0, -0.1, 0.3, 0.2, 4.0]], dtype=np.float32)
    >>> quantize_embeddings(emb, "ubinary").tolist()  # bits 1,0,1,0,1,0,1,1 | 1
    [[171, 128]]
    >>> quantize_embeddings(emb, "binary").tolist()
    [[43, 0]]
    >>> quantize_embeddings(np.array([[0.0], [0.5], [1.0]]), "uint8").ravel().tolist()
    [0, 127, 254]
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import torch

from omniembed.errors import ConfigError

__all__ = ["VALID_PRECISIONS", "check_precision", "quantize_embeddings", "semantic_search_faiss",  # noqa: F822
           "semantic_search_usearch"]  # the searches come from __getattr__ below

logger = logging.getLogger(__name__)

#: Precisions accepted by ``quantize_embeddings`` and by ``encode(precision=...)`` (which also takes None).
VALID_PRECISIONS: tuple[str, ...] = ("float32", "int8", "uint8", "binary", "ubinary")

# Rendered like a set but in a fixed order: a real set's order changes from run to run with string hashing.
_PRECISIONS_TEXT = "{" + ", ".join(repr(p) for p in VALID_PRECISIONS) + "}"

#: Below this many embeddings, int8/uint8 ranges computed from the data itself are unreliable.
_MIN_EMBEDDINGS_FOR_RANGES = 100


def check_precision(precision: Any, allow_none: bool = False) -> str | None:
    """Validate a precision name; ``allow_none`` accepts ``None`` (``encode`` treats it as float32).

    Example:
        >>> check_precision("float16")
        Traceback (most recent call last):
        ...
        omniembed.errors.ConfigError: Precision 'float16' is not supported, must be one of \
{'float32', 'int8', 'uint8', 'binary', 'ubinary'}
    """
    if precision is None and allow_none:
        return None
    if not isinstance(precision, str) or precision not in VALID_PRECISIONS:
        raise ConfigError(f"Precision {precision!r} is not supported, must be one of {_PRECISIONS_TEXT}")
    return precision


def _to_numpy(embeddings: Any) -> np.ndarray:
    """A numpy array from an array, a tensor (any device, bf16 included) or a list of either."""
    if isinstance(embeddings, torch.Tensor):
        t = embeddings.detach().cpu()
        # numpy has no bfloat16; float32 holds every bf16 value exactly.
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    if isinstance(embeddings, (list, tuple)) and embeddings and isinstance(embeddings[0], torch.Tensor):
        return np.stack([_to_numpy(e) for e in embeddings])
    return np.asarray(embeddings)


def _ranges_of(data: np.ndarray) -> np.ndarray:
    """Per-dimension (min, max) over every embedding; NaN rows (failed items) are ignored."""
    flat = data.reshape(-1, data.shape[-1]).astype(np.float64, copy=False)
    if flat.shape[0] == 0:
        raise ConfigError("Cannot compute quantization ranges from zero embeddings.")
    with warnings.catch_warnings():
        # An all-NaN column warns and gets NaN bounds; _buckets then puts its values in bucket 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.vstack((np.nanmin(flat, axis=0), np.nanmax(flat, axis=0)))


def _buckets(x: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """Bucket index 0..255 of every value, as uint8, in the reference's float32 arithmetic.

    Same operations, same dtype as sentence-transformers, so the codes are bit-identical to its own (a
    zero-width dimension uses step 1; NaN values, i.e. failed rows, land in bucket 0).
    """
    lo = ranges[0].astype(np.float32)
    step = (ranges[1].astype(np.float32) - lo) / np.float32(255)
    step = np.where(step == 0, np.float32(1), step)
    with np.errstate(invalid="ignore"):
        u = np.clip(np.floor((x.astype(np.float32, copy=False) - lo) / step), 0, 255)
    return np.nan_to_num(u, nan=0.0).astype(np.uint8)


def quantize_embeddings(
    embeddings: Any,
    precision: str,
    ranges: Any | None = None,
    calibration_embeddings: Any | None = None,
) -> np.ndarray:
    """Quantise float embeddings to ``precision`` (see the module docstring for the exact formulas).

    Args:
        embeddings: ``(n, d)`` (or ``(d,)``) floats: numpy array, tensor, or a list of ``(d,)`` rows. A list of
            ``(n_i, d)`` matrices (token embeddings) is quantised matrix by matrix, with int8/uint8 ranges taken
            over all their rows, and gives a list back; ``[]`` gives ``[]``.
        precision: one of ``float32``, ``int8``, ``uint8``, ``binary``, ``ubinary``.
        ranges: int8/uint8 only: ``(2, d)`` per-dimension minimum (row 0) and maximum (row 1).
        calibration_embeddings: int8/uint8 only, when ``ranges`` is None: embeddings to take the ranges from.
            Reuse the same ranges (or calibration set) for queries and corpus, or codes are not comparable.

    Returns:
        A numpy array: float32, int8 or uint8 (a list of them for a list of matrices).

    Raises:
        ConfigError: an unknown precision, int8/uint8 input (already quantised), or ranges of the wrong shape.

    Example:
        >>> import numpy as np
        >>> quantize_embeddings(np.array([[-1.0, 0.0, 1.0]]), "int8", ranges=np.array([[-1.0] * 3, [1.0] * 3]))
        array([[-128,   -1,  126]], dtype=int8)
    """
    precision = check_precision(precision)
    if isinstance(embeddings, (list, tuple)) and (not embeddings or _is_matrix(embeddings[0])):
        return _quantize_matrices(list(embeddings), precision, ranges, calibration_embeddings)
    data = _to_numpy(embeddings)
    if data.dtype in (np.int8, np.uint8):
        raise ConfigError("Embeddings to quantize must be float rather than int8 or uint8.")
    if data.dtype == object:
        raise ConfigError("Embeddings to quantize must be a numeric array, a tensor, or a list of either.")

    if precision == "float32":
        return data.astype(np.float32)
    if precision == "binary":
        return (np.packbits(data > 0, axis=-1).astype(np.int16) - 128).astype(np.int8)
    if precision == "ubinary":
        return np.packbits(data > 0, axis=-1)

    if data.ndim == 0:
        raise ConfigError("Embeddings to quantize must have at least one dimension.")
    dim = data.shape[-1]
    if ranges is not None:
        bounds = _to_numpy(ranges).astype(np.float64)
        source = "ranges"
    elif calibration_embeddings is not None:
        bounds = _ranges_of(_to_numpy(calibration_embeddings))
        source = "calibration_embeddings"
    else:
        count = int(np.prod(data.shape[:-1]))
        if count == 0:
            return np.zeros(data.shape, dtype=np.int8 if precision == "int8" else np.uint8)
        if count < _MIN_EMBEDDINGS_FOR_RANGES:
            logger.warning(
                f"Computing {precision} quantization buckets based on {count} embedding{'s' if count != 1 else ''}."
                f" {precision} quantization is more stable with `ranges` calculated from more embeddings or a "
                "`calibration_embeddings` that can be used to calculate the buckets."
            )
        bounds = _ranges_of(data)
        source = "the embeddings"
    if bounds.shape != (2, dim):
        raise ConfigError(
            f"Quantization {source} must give a (min, max) pair per dimension: expected shape (2, {dim}), "
            f"got {tuple(bounds.shape)}."
        )

    codes = _buckets(data, bounds)
    if precision == "uint8":
        return codes
    return (codes.astype(np.int16) - 128).astype(np.int8)


def _is_matrix(value: Any) -> bool:
    return isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim == 2


def _quantize_matrices(matrices: list[Any], precision: str, ranges: Any, calibration: Any) -> list[np.ndarray]:
    """A list of ``(n_i, d)`` matrices (token or multi-vector embeddings; ``[]`` included) → a list of code
    matrices, as the reference returns. int8/uint8 ranges span the rows of every matrix, so codes are comparable
    across them."""
    if not matrices:
        return []
    arrays = [_to_numpy(m) for m in matrices]
    if precision in ("int8", "uint8") and ranges is None:
        rows = np.concatenate([a.reshape(-1, a.shape[-1]) for a in arrays]) if calibration is None else calibration
        rows = _to_numpy(rows)
        if rows.shape[0] == 0:  # nothing to take ranges from, and nothing to quantise either
            ranges = np.zeros((2, arrays[0].shape[-1]), dtype=np.float32)
        else:
            if calibration is None and rows.shape[0] < _MIN_EMBEDDINGS_FOR_RANGES:
                logger.warning(
                    f"Computing {precision} quantization buckets based on {rows.shape[0]} embeddings. {precision} "
                    "quantization is more stable with `ranges` calculated from more embeddings or a "
                    "`calibration_embeddings` that can be used to calculate the buckets."
                )
            ranges = _ranges_of(rows)
    return [quantize_embeddings(a, precision, ranges=ranges) for a in arrays]


def __getattr__(name: str):
    # The reference keeps its FAISS/usearch search next to quantization; ours lives in util.ann (optional libraries).
    if name in ("semantic_search_faiss", "semantic_search_usearch"):
        from omniembed.util import ann

        return getattr(ann, name)
    raise AttributeError(f"module 'omniembed.util.quantization' has no attribute {name!r}")
