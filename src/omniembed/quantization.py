"""``omniembed.quantization``: the reference's ``sentence_transformers.quantization`` path. ``quantize_embeddings``
lives in :mod:`omniembed.util.quantization`; the FAISS / usearch searches in :mod:`omniembed.util.ann` (the
``[ann]`` extra) and load on first use.

Example:
    >>> from omniembed.quantization import quantize_embeddings
    >>> quantize_embeddings([[0.3, -0.2]], "ubinary").tolist()
    [[128]]
"""

from __future__ import annotations

from typing import Any

from omniembed.util.quantization import quantize_embeddings

__all__ = ["quantize_embeddings", "semantic_search_faiss", "semantic_search_usearch"]  # noqa: F822 (__getattr__)


def __getattr__(name: str) -> Any:
    if name in ("semantic_search_faiss", "semantic_search_usearch"):
        from omniembed.util import ann

        return getattr(ann, name)
    raise AttributeError(f"module 'omniembed.quantization' has no attribute {name!r}")
