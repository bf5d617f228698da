"""The module stack: Transformer → Pooling → Dense → Normalize, plus Router, LogitScore and GenerativeScore, and
the reference's other modules (StaticEmbedding, word-embedding models, CNN, LSTM, LayerNorm, …).

Example:
    >>> from omniembed.modules import Pooling, StaticEmbedding, InputModule
    >>> issubclass(StaticEmbedding, InputModule), Pooling(8).get_embedding_dimension()
    (True, 8)
"""

from omniembed.modules.base import Module
from omniembed.modules.bow import BoW
from omniembed.modules.cnn import CNN
from omniembed.modules.dense import Dense
from omniembed.modules.dropout import Dropout
from omniembed.modules.generative_score import GenerativeScore
from omniembed.modules.input_module import InputModule
from omniembed.modules.layer_norm import LayerNorm
from omniembed.modules.logit_score import LogitScore
from omniembed.modules.lstm import LSTM
from omniembed.modules.normalize import Normalize
from omniembed.modules.pooling import Pooling
from omniembed.modules.router import Asym, Router
from omniembed.modules.static_embedding import StaticEmbedding
from omniembed.modules.transformer import Transformer
from omniembed.modules.weighted_layer_pooling import WeightedLayerPooling
from omniembed.modules.word_embeddings import WordEmbeddings
from omniembed.modules.word_weights import WordWeights

#: The reference's ``CLIPModel`` module is a Transformer that loads CLIP-style folders; ours does that itself.
CLIPModel = Transformer

__all__ = [
    "CNN",
    "LSTM",
    "Asym",
    "BoW",
    "CLIPModel",
    "Dense",
    "Dropout",
    "GenerativeScore",
    "InputModule",
    "LayerNorm",
    "LogitScore",
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
