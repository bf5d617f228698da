"""LSTM: a (bi-directional) LSTM over the token embeddings of word-embedding models.

It reads ``token_embeddings`` and ``sentence_lengths`` (written by :class:`~omniembed.modules.WordEmbeddings`),
runs the packed sequences, and writes the per-token outputs (``hidden_dim × 2`` wide when bidirectional) back as
``token_embeddings``; a Pooling module follows. On disk: ``lstm_config.json`` and ``model.safetensors``
(``encoder.*``, PyTorch's LSTM parameter names); configs that say ``word_embedding_dimension`` load too.

Example:
    >>> import torch
    >>> lstm = LSTM(4, hidden_dim=3)
    >>> features = {"token_embeddings": torch.zeros(2, 5, 4), "sentence_lengths": torch.tensor([5, 2])}
    >>> lstm(features)["token_embeddings"].shape
    torch.Size([2, 5, 6])
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.modules.base import Module


class LSTM(Module):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["embedding_dimension", "hidden_dim", "num_layers", "dropout", "bidirectional"]
    config_file_name: ClassVar[str] = "lstm_config.json"
    config_key_renames: ClassVar[dict[str, str]] = {"word_embedding_dimension": "embedding_dimension"}

    def __init__(self, embedding_dimension: int, hidden_dim: int, num_layers: int = 1, dropout: float = 0,
                 bidirectional: bool = True) -> None:
        super().__init__()
        self.embedding_dimension = embedding_dimension
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.embeddings_dimension = hidden_dim * (2 if bidirectional else 1)
        self.encoder = nn.LSTM(embedding_dimension, hidden_dim, num_layers=num_layers, dropout=dropout,
                               bidirectional=bidirectional, batch_first=True)

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        tokens = features["token_embeddings"]
        # pack_padded_sequence wants CPU lengths; an empty text still gets one (padding) step.
        lengths = torch.clamp(features["sentence_lengths"], min=1).to("cpu", torch.int64)
        packed = nn.utils.rnn.pack_padded_sequence(tokens, lengths, batch_first=True, enforce_sorted=False)
        encoded, _ = self.encoder(packed)
        features["token_embeddings"] = nn.utils.rnn.pad_packed_sequence(encoded, batch_first=True)[0]
        return features

    def get_embedding_dimension(self) -> int:
        return self.embeddings_dimension
