"""``omniembed.cross_encoder``: the counterpart of ``sentence_transformers.cross_encoder``.

Example:
    >>> from omniembed.cross_encoder import CrossEncoder
    >>> CrossEncoder.__module__
    'omniembed.models.cross_encoder'
"""

from omniembed.models.cross_encoder import CrossEncoder

__all__ = ["CrossEncoder"]
