"""Turn per-item results back into what ``encode`` returns (reference semantics), aligned with the input.

Failed items (``on_error="skip"``) become NaN rows in float outputs, ``None`` in lists, and — for integer
precisions, which cannot hold NaN — zero rows; the failures list says which rows they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from omniembed.util.quantization import check_precision, quantize_embeddings

__all__ = ["check_precision", "finalize_embeddings", "stack_rows"]


def stack_rows(rows: list[torch.Tensor | None], width: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Stack per-item vectors; missing (failed) rows are NaN."""
    template = next((r for r in rows if r is not None), None)
    if template is None:
        return torch.full((len(rows), width or 0), float("nan"), dtype=dtype)
    filler = torch.full_like(template, float("nan"))
    return torch.stack([filler if r is None else r for r in rows])


def finalize_embeddings(
    rows: list[Any],
    *,
    output_value: str | None,
    precision: str | None,
    convert_to_numpy: bool,
    convert_to_tensor: bool,
    width: int | None,
    dtype: torch.dtype,
) -> Any:
    if output_value != "sentence_embedding":
        return rows  # token embeddings / feature dicts stay a list, one entry per input (None if failed)
    if precision not in (None, "float32"):
        ok = [r for r in rows if r is not None]
        if not ok:
            return np.zeros((len(rows), 0), dtype=np.int8)
        quantized = np.asarray(quantize_embeddings(torch.stack(ok).float().numpy(), precision=precision))
        out = np.zeros((len(rows), quantized.shape[1]), dtype=quantized.dtype)
        out[[i for i, r in enumerate(rows) if r is not None]] = quantized
        if convert_to_tensor:
            return torch.from_numpy(out)
        return out if convert_to_numpy else list(torch.from_numpy(out))
    if convert_to_tensor:
        return stack_rows(rows, width, dtype) if rows else torch.tensor([])
    if convert_to_numpy:
        if not rows:
            return np.array([])
        stacked = stack_rows(rows, width, dtype)
        if stacked.dtype == torch.bfloat16:
            stacked = stacked.float()
        return stacked.numpy()
    return rows
