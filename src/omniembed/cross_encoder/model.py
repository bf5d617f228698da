"""``omniembed.cross_encoder.model``: where the reference defines ``CrossEncoder``.

Example:
    >>> from omniembed.cross_encoder.model import CrossEncoder
    >>> CrossEncoder.__name__
    'CrossEncoder'
"""

from omniembed.models.cross_encoder import CrossEncoder

__all__ = ["CrossEncoder"]
