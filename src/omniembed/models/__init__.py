"""``omniembed.models``: the model classes and, as in the reference's ``sentence_transformers.models``, the module
classes (``Transformer``, ``Pooling``, ``Dense``, ``Normalize``, ``StaticEmbedding``…).

Everything loads on first access, so importing a submodule stays cheap.

Example:
    >>> from omniembed.models import Pooling, Transformer, SentenceTransformer
    >>> Pooling.__module__, SentenceTransformer.__name__
    ('omniembed.modules.pooling', 'SentenceTransformer')
"""

from __future__ import annotations

import importlib
from typing import Any

_MODULE_CLASSES = (
    "Asym", "BoW", "CLIPModel", "CNN", "Dense", "Dropout", "GenerativeScore", "InputModule", "LSTM", "LayerNorm",
    "LogitScore", "Module", "Normalize", "Pooling", "Router", "StaticEmbedding", "Transformer",
    "WeightedLayerPooling", "WordEmbeddings", "WordWeights",
)  # fmt: skip
_MODEL_CLASSES = {"SentenceTransformer": "sentence_transformer", "CrossEncoder": "cross_encoder"}

__all__ = [  # noqa: RUF022 (models first, then modules)
    "CrossEncoder", "SentenceTransformer",
    "Asym", "BoW", "CLIPModel", "CNN", "Dense", "Dropout", "GenerativeScore", "InputModule", "LSTM", "LayerNorm",
    "LogitScore", "Module", "Normalize", "Pooling", "Router", "StaticEmbedding", "Transformer",
    "WeightedLayerPooling", "WordEmbeddings", "WordWeights",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MODULE_CLASSES:
        return getattr(importlib.import_module("omniembed.modules"), name)
    if name in _MODEL_CLASSES:
        return getattr(importlib.import_module(f"omniembed.models.{_MODEL_CLASSES[name]}"), name)
    raise AttributeError(f"module 'omniembed.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
