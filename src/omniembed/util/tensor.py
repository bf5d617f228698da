"""Tensor helpers shared by the similarity, search and encode code.

Every public scoring function accepts what users actually hold (Python lists, numpy arrays of any float
precision, torch tensors, one vector or a matrix) and turns it into a torch tensor here, so the conversion rules
live in one place.

Example:
    >>> import numpy as np
    >>> to_batch_tensor(np.array([3.0, 4.0], dtype=np.float16)).shape
    torch.Size([1, 2])
    >>> normalize_embeddings(to_batch_tensor([[3.0, 4.0]])).tolist()
    [[0.6000000238418579, 0.800000011920929]]
    >>> truncate_embeddings(np.arange(6.0).reshape(2, 3), 2).tolist()
    [[0.0, 1.0], [3.0, 4.0]]
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from omniembed.errors import ConfigError

__all__ = [
    "batch_to_device",
    "normalize_embeddings",
    "to_batch_tensor",
    "to_float_batch_tensor",
    "to_tensor",
    "truncate_embeddings",
]

_T = TypeVar("_T", np.ndarray, Tensor)


def to_tensor(a: Any) -> Tensor:
    """Convert a list, tuple, numpy array (any dtype numpy and torch share, fp16 included) or tensor to a tensor.

    Tensors are returned unchanged (no copy, same device). A list of tensors or arrays is stacked, because
    ``torch.tensor`` refuses a list of multi-element tensors. Numpy arrays share memory where possible.

    Example:
        >>> to_tensor([[1, 2], [3, 4]]).dtype
        torch.int64
        >>> to_tensor([torch.ones(2), torch.zeros(2)]).tolist()
        [[1.0, 1.0], [0.0, 0.0]]
    """
    if isinstance(a, Tensor):
        return a
    if isinstance(a, (np.ndarray, np.generic)):
        return _from_numpy(np.asarray(a))
    if isinstance(a, (list, tuple)):
        if len(a) > 0 and all(isinstance(x, Tensor) for x in a):
            return torch.stack(list(a))
        if len(a) > 0 and all(isinstance(x, np.ndarray) for x in a):
            return _from_numpy(np.stack(a))
        return torch.tensor(a)
    raise ConfigError(f"Expected a list, numpy array or torch.Tensor of embeddings, got {type(a).__name__}.")


def _from_numpy(arr: np.ndarray) -> Tensor:
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise ConfigError(f"Expected numeric embeddings, got a numpy array of dtype {arr.dtype}.")
    # torch.from_numpy warns on read-only arrays (e.g. np.frombuffer, memory maps): copy those instead.
    if not arr.flags.writeable:
        arr = arr.copy()
    return torch.from_numpy(arr)


def to_batch_tensor(a: Any) -> Tensor:
    """Like :func:`to_tensor`, and a single 1-D vector becomes a batch of one row, shape ``(1, d)``.

    Example:
        >>> to_batch_tensor([1.0, 2.0]).shape
        torch.Size([1, 2])
    """
    t = to_tensor(a)
    if t.dim() == 1:
        t = t.unsqueeze(0)
    return t


def to_float_batch_tensor(a: Any) -> Tensor:
    """A 2-D floating-point tensor for scoring: fp16, bf16 (and fp8) become float32, integers become float32.

    Half-precision matmuls round every score to ~3 significant digits, which turns nearby scores into ties, so
    scores are always computed in at least float32. float64 input stays float64 (the reference does the same).

    Example:
        >>> to_float_batch_tensor(torch.ones(3, dtype=torch.bfloat16)).dtype
        torch.float32
    """
    t = to_batch_tensor(a)
    if t.dim() != 2:
        raise ConfigError(f"Expected 1-D or 2-D embeddings, got shape {tuple(t.shape)}.")
    if not torch.is_floating_point(t) or torch.finfo(t.dtype).bits < 32:
        t = t.to(torch.float32)
    return t


def normalize_embeddings(embeddings: _T) -> _T:
    """Scale each row (the last axis) to unit L2 length; all-zero rows stay zero.

    Works on tensors and numpy arrays and returns the same kind. The norm is clamped at 1e-12, as
    ``torch.nn.functional.normalize`` does, so a zero vector does not become NaN.

    Example:
        >>> normalize_embeddings(torch.tensor([[0.0, 2.0], [0.0, 0.0]])).tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """
    if isinstance(embeddings, np.ndarray):
        norms = np.linalg.norm(embeddings, ord=2, axis=-1, keepdims=True)
        return embeddings / np.maximum(norms, 1e-12)
    return torch.nn.functional.normalize(embeddings, p=2, dim=-1)


def truncate_embeddings(embeddings: _T, truncate_dim: int | None) -> _T:
    """Keep the first ``truncate_dim`` values of each embedding (``embeddings[..., :truncate_dim]``).

    ``None`` or a value at least the embedding size returns the input unchanged (Matryoshka models are
    truncated this way; normalise *after* truncating). Works on numpy arrays and tensors; the result is a view.

    Example:
        >>> truncate_embeddings(torch.arange(4.0), 2).tolist()
        [0.0, 1.0]
        >>> truncate_embeddings(torch.arange(4.0), None).tolist()
        [0.0, 1.0, 2.0, 3.0]
    """
    if truncate_dim is None:
        return embeddings
    # bool is an int subclass; True would silently mean "1 dimension".
    if isinstance(truncate_dim, bool) or not isinstance(truncate_dim, (int, np.integer)) or truncate_dim < 1:
        raise ConfigError(f"truncate_dim must be a positive integer or None, got {truncate_dim!r}.")
    return embeddings[..., :truncate_dim]


_Batch = TypeVar("_Batch")


def batch_to_device(batch: _Batch, target_device: torch.device | str | None) -> _Batch:
    """Move every tensor in a model input batch to ``target_device``; other values are left alone.

    A mapping (``dict``, transformers ``BatchEncoding``/``BatchFeature``) is updated in place and returned, as
    in the reference. Nested mappings, lists and tuples (multimodal processors return e.g. lists of pixel
    tensors) are walked too. ``target_device=None`` returns the batch untouched.

    Example:
        >>> batch = {"input_ids": torch.tensor([[1, 2]]), "modality": "text"}
        >>> batch_to_device(batch, "cpu")["input_ids"].device.type
        'cpu'
    """
    if target_device is None:
        return batch
    return _move(batch, torch.device(target_device))


def _move(value: Any, device: torch.device) -> Any:
    if isinstance(value, Tensor):
        return value if value.device == device else value.to(device)
    if isinstance(value, MutableMapping):
        for key in list(value.keys()):
            value[key] = _move(value[key], device)
        return value
    if isinstance(value, Mapping):
        return {key: _move(item, device) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and not isinstance(value, (str, bytes)):
        moved = [_move(item, device) for item in value]
        if isinstance(value, tuple):
            # namedtuples take positional fields; plain tuples take one iterable.
            return type(value)(*moved) if hasattr(value, "_fields") else tuple(moved)
        return moved
    return value
