"""WeightedLayerPooling: token embeddings as a learned weighted mean of the transformer's hidden layers.

It reads ``all_layer_embeddings`` (the embedding output plus every layer's hidden states, which the
:class:`~omniembed.modules.Transformer` writes when the model returns hidden states, e.g. loaded with
``config_kwargs={"output_hidden_states": True}``), keeps layers ``layer_start`` … ``num_hidden_layers``, and
replaces ``token_embeddings`` with ``Σ w_l · h_l / Σ w_l``. On disk: ``config.json`` (``embedding_dimension``,
``layer_start``, ``num_hidden_layers``) and ``model.safetensors`` (``layer_weights``).

Example:
    >>> import torch
    >>> layers = tuple(torch.full((1, 2, 3), float(i)) for i in range(4))   # embeddings + 3 layers
    >>> pool = WeightedLayerPooling(3, num_hidden_layers=3, layer_start=2)   # layers 2 and 3, weights 1 and 1
    >>> pool({"all_layer_embeddings": layers})["token_embeddings"][0, 0].tolist()
    [2.5, 2.5, 2.5]
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.modules.base import Module


class WeightedLayerPooling(Module):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["embedding_dimension", "layer_start", "num_hidden_layers"]
    config_key_renames: ClassVar[dict[str, str]] = {"word_embedding_dimension": "embedding_dimension"}

    def __init__(self, embedding_dimension: int, num_hidden_layers: int = 12, layer_start: int = 4,
                 layer_weights: torch.Tensor | None = None) -> None:
        super().__init__()
        self.embedding_dimension = embedding_dimension
        self.num_hidden_layers = num_hidden_layers
        self.layer_start = layer_start
        self.layer_weights = (
            layer_weights if layer_weights is not None
            else nn.Parameter(torch.ones(num_hidden_layers + 1 - layer_start, dtype=torch.float))
        )

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        layers = torch.stack(tuple(features["all_layer_embeddings"]))[self.layer_start :]
        weights = self.layer_weights.to(layers.dtype).view(-1, 1, 1, 1)
        features["token_embeddings"] = (weights * layers).sum(dim=0) / self.layer_weights.sum().to(layers.dtype)
        return features

    def get_embedding_dimension(self) -> int:
        return self.embedding_dimension
