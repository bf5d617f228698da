"""The padding mask that encoder backbones run with SDPA receive.

Given a 2-D padding mask, transformers builds a ``[batch, 1, length, length]`` boolean mask for every batch (a few
elementwise ops over length² entries), and SDPA turns it into a float mask of that size again in every layer. For an
encoder with plain bidirectional self-attention that mask is the padding mask repeated along the query axis, so
omniembed hands the model the padding mask as a broadcastable ``[batch, 1, 1, length]`` boolean view instead:
transformers takes a 4-D mask as it is, SDPA broadcasts it, and every attention score gets the same ``0`` or
``-inf`` as before. The outputs are the same bit for bit (``tests/families/test_attention_mask.py`` checks every
family listed below against transformers' own mask); the mask work per batch shrinks by a factor of the length.
Measured on this CPU at 1 thread: 5–8% of a tiny BERT cross-encoder's time; about 0.5% of MiniLM's, whose
matmuls dominate.

Example:
    >>> import torch
    >>> mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    >>> padding_only_mask(mask).shape
    torch.Size([2, 1, 1, 3])
    >>> padding_only_mask(torch.ones(2, 3, dtype=torch.long)) is None  # nothing padded: transformers skips the mask
    True
"""

from __future__ import annotations

from typing import Any

import torch

# Model types whose modeling code (transformers 5) uses the 2-D attention mask only to build this bidirectional
# self-attention mask; any other model keeps transformers' own mask.
FAMILIES = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert"})


def is_plain_encoder(model: Any) -> bool:
    """Whether ``model`` is one of the listed encoder families, neither a decoder nor cross-attending: the models
    whose layers omniembed's inference rewrites (this mask, ``inplace_activation``) know."""
    config = getattr(model, "config", None)
    return (getattr(config, "model_type", None) in FAMILIES and not getattr(config, "is_decoder", False)
            and not getattr(config, "add_cross_attention", False))


def applies_to(model: Any) -> bool:
    """Whether ``model``'s self-attention mask can be given as a broadcast padding mask: a plain encoder
    (:func:`is_plain_encoder`) run with SDPA, and not being traced or compiled (the check reads the mask's values)."""
    return (is_plain_encoder(model) and getattr(model.config, "_attn_implementation", None) == "sdpa"
            and not torch.jit.is_tracing() and not torch.compiler.is_compiling())


def padding_only_mask(attention_mask: torch.Tensor) -> torch.Tensor | None:
    """The ``[batch, 1, 1, length]`` boolean view of a 2-D padding mask, or None when nothing is padded (then
    transformers passes no mask to SDPA either)."""
    keep = attention_mask.bool()
    if bool(keep.all()):
        return None
    return keep[:, None, None, :]


def with_padding_only_mask(model: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` with its 2-D ``attention_mask`` replaced by :func:`padding_only_mask` where
    :func:`applies_to` the model (a new dict; the caller's features keep the 2-D mask, which pooling reads)."""
    mask = inputs.get("attention_mask")
    if mask is None or mask.ndim != 2 or not applies_to(model):
        return inputs
    broadcast = padding_only_mask(mask)
    if broadcast is None:
        return inputs
    return {**inputs, "attention_mask": broadcast}
