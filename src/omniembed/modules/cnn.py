"""CNN: 1-D convolutions over the token embeddings, one per kernel size, outputs concatenated per token.

Each kernel size ``k`` gets ``out_channels`` filters with padding ``(k - 1) // 2`` (odd kernels keep the sequence
length), so the token embedding size becomes ``out_channels × len(kernel_sizes)``. A Pooling module follows. On
disk: ``cnn_config.json`` and ``model.safetensors`` (``convs.{i}.weight`` / ``.bias``); configs that say
``in_word_embedding_dimension`` load too.

Example:
    >>> import torch
    >>> cnn = CNN(4, out_channels=3, kernel_sizes=[1, 3])
    >>> cnn({"token_embeddings": torch.zeros(2, 5, 4)})["token_embeddings"].shape
    torch.Size([2, 5, 6])
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.modules.base import Module


class CNN(Module):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["in_embedding_dimension", "out_channels", "kernel_sizes", "stride_sizes"]
    config_file_name: ClassVar[str] = "cnn_config.json"
    config_key_renames: ClassVar[dict[str, str]] = {"in_word_embedding_dimension": "in_embedding_dimension"}

    def __init__(self, in_embedding_dimension: int, out_channels: int = 256, kernel_sizes: list[int] = [1, 3, 5],  # noqa: B006
                 stride_sizes: list[int] | None = None) -> None:
        super().__init__()
        self.in_embedding_dimension = in_embedding_dimension
        self.out_channels = out_channels
        self.kernel_sizes = list(kernel_sizes)
        self.stride_sizes = list(stride_sizes) if stride_sizes is not None else [1] * len(self.kernel_sizes)
        self.embeddings_dimension = out_channels * len(self.kernel_sizes)
        self.convs = nn.ModuleList(
            nn.Conv1d(in_embedding_dimension, out_channels, kernel_size=kernel, stride=stride,
                      padding=(kernel - 1) // 2)
            for kernel, stride in zip(self.kernel_sizes, self.stride_sizes)
        )

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        channels_first = features["token_embeddings"].transpose(1, -1)
        outputs = torch.cat([conv(channels_first) for conv in self.convs], dim=1)
        features["token_embeddings"] = outputs.transpose(1, -1)
        return features

    def get_embedding_dimension(self) -> int:
        return self.embeddings_dimension
