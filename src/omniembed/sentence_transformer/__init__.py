"""``omniembed.sentence_transformer``: the counterpart of ``sentence_transformers.sentence_transformer``.

Example:
    >>> from omniembed.sentence_transformer import SentenceTransformer
    >>> SentenceTransformer.__module__
    'omniembed.models.sentence_transformer'
"""

from omniembed.models.sentence_transformer import SentenceTransformer

__all__ = ["SentenceTransformer"]
