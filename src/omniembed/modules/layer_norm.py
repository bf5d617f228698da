"""LayerNorm: layer normalisation of the sentence embedding (learned scale and shift).

On disk: ``config.json`` (``dimension``) and ``model.safetensors`` (``norm.weight``, ``norm.bias``), the
reference's layout.

Example:
    >>> import torch
    >>> out = LayerNorm(2)({"sentence_embedding": torch.tensor([[1.0, 3.0]])})
    >>> [round(v, 4) for v in out["sentence_embedding"][0].tolist()]
    [-1.0, 1.0]
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from omniembed.modules.base import Module


class LayerNorm(Module):
    """``nn.LayerNorm(dimension)`` applied to ``features["sentence_embedding"]``."""

    config_keys: ClassVar[list[str]] = ["dimension"]

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension
        self.norm = nn.LayerNorm(dimension)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["sentence_embedding"] = self.norm(features["sentence_embedding"])
        return features

    def get_embedding_dimension(self) -> int:
        return self.dimension
