"""``omniembed.cross_encoder.modules``: the modules a reranker is built from, as the reference exports them.

Example:
    >>> from omniembed.cross_encoder.modules import LogitScore, Transformer
    >>> LogitScore.__module__
    'omniembed.modules.logit_score'
"""

from omniembed.modules import Asym, Dense, InputModule, LogitScore, Module, Router, Transformer

__all__ = ["Asym", "Dense", "InputModule", "LogitScore", "Module", "Router", "Transformer"]
