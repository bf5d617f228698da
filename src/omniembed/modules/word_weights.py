"""WordWeights: scale each token embedding by a per-word weight (e.g. IDF) before pooling.

Weights come from ``word_weights`` (looked up as is, then lower-cased); other vocabulary words get
``unknown_word_weight``. The module multiplies ``token_embeddings`` by the weights of the attended tokens and
writes their sum as ``token_weights_sum``, which a following mean Pooling divides by (a weighted mean). On disk:
``config.json`` (``vocab``, ``word_weights``, ``unknown_word_weight``) and ``model.safetensors``
(``emb_layer.weight``, one weight per word).

Example:
    >>> import torch
    >>> module = WordWeights(["a", "cat"], {"cat": 3.0}, unknown_word_weight=1.0)
    >>> features = {"input_ids": torch.tensor([[0, 1]]), "attention_mask": torch.tensor([[1, 1]]),
    ...             "token_embeddings": torch.ones(1, 2, 2)}
    >>> out = module(features)
    >>> out["token_embeddings"][0].tolist(), out["token_weights_sum"].tolist()
    ([[1.0, 1.0], [3.0, 3.0]], [4.0])
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.modules.base import Module

logger = logging.getLogger(__name__)


def vocabulary_weights(vocab: list[str], word_weights: dict[str, float], unknown_word_weight: float) -> list[float]:
    """One weight per vocabulary word: its own, its lower-cased form's, or ``unknown_word_weight``."""
    weights, unknown = [], 0
    for word in vocab:
        if word in word_weights:
            weights.append(word_weights[word])
        elif word.lower() in word_weights:
            weights.append(word_weights[word.lower()])
        else:
            weights.append(unknown_word_weight)
            unknown += 1
    logger.info("%d of %d words without a weight: they get %s.", unknown, len(vocab), unknown_word_weight)
    return weights


class WordWeights(Module):
    """See the module docstring."""

    config_keys: ClassVar[list[str]] = ["vocab", "word_weights", "unknown_word_weight"]

    def __init__(self, vocab: list[str], word_weights: dict[str, float], unknown_word_weight: float = 1) -> None:
        super().__init__()
        self.vocab = vocab
        self.word_weights = word_weights
        self.unknown_word_weight = unknown_word_weight
        weights = vocabulary_weights(vocab, word_weights, unknown_word_weight)
        self.emb_layer = nn.Embedding(len(vocab), 1)
        self.emb_layer.load_state_dict({"weight": torch.tensor(weights, dtype=torch.float).unsqueeze(1)})

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        weights = self.emb_layer(features["input_ids"]).squeeze(-1) * features["attention_mask"].float()
        features["token_embeddings"] = features["token_embeddings"] * weights.unsqueeze(-1)
        features["token_weights_sum"] = weights.sum(dim=1)
        return features
