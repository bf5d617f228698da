"""``omniembed.sentence_transformer.modules``: the module classes, as ``sentence_transformers.sentence_transformer.
modules`` (also reachable as ``sentence_transformers.models``) exports them.

Example:
    >>> from omniembed.sentence_transformer.modules import Pooling, StaticEmbedding
    >>> Pooling.__module__
    'omniembed.modules.pooling'
"""

from omniembed.modules import (
    CNN,
    LSTM,
    Asym,
    BoW,
    CLIPModel,
    Dense,
    Dropout,
    InputModule,
    LayerNorm,
    Module,
    Normalize,
    Pooling,
    Router,
    StaticEmbedding,
    Transformer,
    WeightedLayerPooling,
    WordEmbeddings,
    WordWeights,
)

__all__ = [
    "CNN",
    "LSTM",
    "Asym",
    "BoW",
    "CLIPModel",
    "Dense",
    "Dropout",
    "InputModule",
    "LayerNorm",
    "Module",
    "Normalize",
    "Pooling",
    "Router",
    "StaticEmbedding",
    "Transformer",
    "WeightedLayerPooling",
    "WordEmbeddings",
    "WordWeights",
]  # fmt: skip
