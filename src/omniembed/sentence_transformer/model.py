"""``omniembed.sentence_transformer.model``: where the reference defines ``SentenceTransformer``.

Example:
    >>> from omniembed.sentence_transformer.model import SentenceTransformer
    >>> SentenceTransformer.__name__
    'SentenceTransformer'
"""

from omniembed.models.sentence_transformer import SentenceTransformer

__all__ = ["SentenceTransformer"]
