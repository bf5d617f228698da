"""The module stack: Transformer → Pooling → Dense → Normalize, plus Router, LogitScore and GenerativeScore."""

from omniembed.modules.base import Module
from omniembed.modules.dense import Dense
from omniembed.modules.generative_score import GenerativeScore
from omniembed.modules.logit_score import LogitScore
from omniembed.modules.normalize import Normalize
from omniembed.modules.pooling import Pooling
from omniembed.modules.router import Asym, Router
from omniembed.modules.transformer import Transformer

__all__ = ["Asym", "Dense", "GenerativeScore", "LogitScore", "Module", "Normalize", "Pooling", "Router", "Transformer"]
