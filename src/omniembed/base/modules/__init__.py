"""``omniembed.base.modules``: the modules shared by every model type, as ``sentence_transformers.base.modules``
exports them.

Example:
    >>> from omniembed.base.modules import InputModule, Module
    >>> issubclass(InputModule, Module)
    True
"""

from omniembed.modules import Dense, InputModule, Module, Normalize, Router, Transformer

__all__ = ["Dense", "InputModule", "Module", "Normalize", "Router", "Transformer"]
