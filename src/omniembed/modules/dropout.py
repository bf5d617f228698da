"""Dropout on the sentence embedding: a training-time regulariser, the identity at inference (``model.eval()``,
which ``encode`` sets).

Example:
    >>> import torch
    >>> module = Dropout(0.5).eval()
    >>> module({"sentence_embedding": torch.ones(1, 3)})["sentence_embedding"].tolist()
    [[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from omniembed.modules.base import Module


class Dropout(Module):
    """``nn.Dropout(dropout)`` applied to ``features["sentence_embedding"]``; config ``{"dropout": p}``."""

    config_keys: ClassVar[list[str]] = ["dropout"]

    def __init__(self, dropout: float = 0.2) -> None:
        super().__init__()
        self.dropout = dropout
        self.dropout_layer = nn.Dropout(self.dropout)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        features["sentence_embedding"] = self.dropout_layer(features["sentence_embedding"])
        return features
