"""Embedding: what ``encode`` adds to the runtime (:mod:`omniembed.processing.runtime`), step by step.

* **Modality** of each item: :func:`omniembed.inputs.infer_modality` against the model's modalities (a text-only
  model takes every string as text without looking, as the reference's rules give). ``{"text": x}`` is ``x``.
* **Decoding**: :func:`omniembed.inputs.load_item` with the model's hints (image size, sampling rate, frames).
* **Preprocessing**: ``model.preprocess`` (the first module's, through a Router's route when there is one).
* **Post-processing** per batch, in the reference's order: truncate → select ``output_value`` → L2-normalise
  (sentence embeddings only) → CPU; then, once for the whole call, :func:`finalize_embeddings`: quantise → convert.
  Failed items (``on_error="skip"``) become NaN rows in float outputs, ``None`` in lists, and — for integer
  precisions, which cannot hold NaN — zero rows; the failures list says which rows they are.

Example:
    >>> import torch
    >>> rows = [torch.tensor([1.0, 2.0]), None]
    >>> finalize_embeddings(rows, output_value="sentence_embedding", precision="float32", convert_to_numpy=True,
    ...                     convert_to_tensor=False, width=2, dtype=torch.float32).tolist()
    [[1.0, 2.0], [nan, nan]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from omniembed.errors import ConfigError
from omniembed.inputs.detect import infer_modality
from omniembed.modality import MEDIA
from omniembed.processing.batches import Job, input_length
from omniembed.processing.runtime import CallContext
from omniembed.util.quantization import quantize_embeddings

__all__ = ["Embedding", "check_model_kwargs", "finalize_embeddings"]

ALWAYS_ALLOWED_KWARGS = frozenset({"task", "processing_kwargs"})


def check_model_kwargs(model: Any, kwargs: dict[str, Any]) -> None:
    """The reference's rule: extra ``encode`` kwargs must be ones a module consumes (``get_model_kwargs()``)."""
    valid = set(model.get_model_kwargs())
    unknown = sorted(set(kwargs) - valid - ALWAYS_ALLOWED_KWARGS)
    if not unknown:
        return
    name = type(model).__name__
    message = (f"{name}.encode() has been called with additional keyword arguments that this model does not use: "
               f"{unknown}. As per {name}.get_model_kwargs(), ")
    if valid:
        message += f"the valid additional keyword arguments are: {sorted(valid)}."
    else:
        message += "this model does not accept any additional keyword arguments."
    raise ConfigError(message)


@dataclass(frozen=True)
class Embedding:
    """The embedding task of one ``encode`` call (see the module docstring)."""

    modalities: tuple[Any, ...] = ("text",)  # the model's
    owner: str = "SentenceTransformer model"  # names the model in unsupported-modality errors
    output_value: str | None = "sentence_embedding"
    truncate_dim: int | None = None
    normalize_embeddings: bool = False
    noun: str = "inputs"

    @property
    def strings_are_text(self) -> bool:
        """On a model without media, a string is text whatever it looks like (the reference's rule)."""
        return "text" in self.modalities and not any(m in self.modalities for m in MEDIA)

    def classify(self, ctx: CallContext, index: int, item: Any) -> Job:
        if type(item) is str and self.strings_are_text:
            return Job(index, "text", (item,), length=len(item), text=item)
        modality = infer_modality(item, self.modalities, owner=self.owner)
        if modality == "text" and isinstance(item, dict):
            item = item["text"]  # {"text": x} is x, spelled explicitly
        text = item if modality == "text" and isinstance(item, str) else None
        return Job(index, modality, (item,), (modality,), length=input_length(item), text=text)

    def decode(self, ctx: CallContext, side: Any, modality: Any, hints: dict[str, Any]) -> Any:
        from omniembed.inputs.loader import load_item  # Pillow/PyAV only when media are actually loaded

        return load_item(side, modality, options=ctx.media, **hints)

    def assemble(self, job: Job, sides: tuple[Any, ...]) -> Any:
        return sides[0]

    def prepare(self, ctx: CallContext, kind: Any, values: Any) -> dict[str, Any]:
        return ctx.model.preprocess(values, ctx.prompt, modality=kind, processing_kwargs=ctx.processing_kwargs,
                                    **ctx.forward_kwargs)

    def postprocess(self, ctx: CallContext, out: dict[str, Any]) -> list[Any]:
        """One output per item: truncated + normalised sentence vectors, trimmed token matrices, or feature dicts."""
        if self.output_value == "sentence_embedding":
            emb = out["sentence_embedding"]
            if self.truncate_dim is not None:
                emb = emb[..., : self.truncate_dim]
            if self.normalize_embeddings:
                emb = F.normalize(emb, p=2, dim=-1)
            return list(emb.detach().cpu())
        if self.output_value == "token_embeddings":
            return _token_rows(out["token_embeddings"], out.get("attention_mask"))
        batch = next(v.shape[0] for v in out.values() if torch.is_tensor(v) and v.dim() > 0)
        return [{key: value[i].detach().cpu() if torch.is_tensor(value) and value.dim() > 0 and value.shape[0] == batch
                 else value for key, value in out.items()} for i in range(batch)]


def _token_rows(tokens: torch.Tensor, mask: torch.Tensor | None) -> list[torch.Tensor]:
    """Each row's token embeddings, cut after its last attended position."""
    rows = []
    for i in range(tokens.shape[0]):
        length = tokens.shape[1]
        if mask is not None and mask.shape[-1] == tokens.shape[1]:
            attended = torch.nonzero(mask[i]).flatten()
            length = int(attended[-1]) + 1 if len(attended) else 0
        rows.append(tokens[i, :length].detach().cpu())
    return rows


def stack_rows(rows: list[torch.Tensor | None], width: int | None, dtype: torch.dtype) -> torch.Tensor:
    """Stack per-item vectors; missing (failed) rows are NaN."""
    template = next((r for r in rows if r is not None), None)
    if template is None:
        return torch.full((len(rows), width or 0), float("nan"), dtype=dtype)
    filler = torch.full_like(template, float("nan"))
    return torch.stack([filler if r is None else r for r in rows])


def finalize_embeddings(rows: list[Any], *, output_value: str | None, precision: str | None,
                        convert_to_numpy: bool, convert_to_tensor: bool, width: int | None, dtype: torch.dtype) -> Any:
    """Rows of the whole call → what ``encode`` returns (quantised once, over the whole call, as the reference)."""
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
