"""``omniembed.util.retrieval``: where the reference keeps its search helpers (``sentence_transformers.util.
retrieval``). The functions live in :mod:`omniembed.util.search`; this module re-exports them.

Example:
    >>> from omniembed.util.retrieval import semantic_search
    >>> semantic_search([[1.0, 0.0]], [[0.0, 1.0], [1.0, 0.0]], top_k=1)
    [[{'corpus_id': 1, 'score': 1.0}]]
"""

from __future__ import annotations

import warnings
from typing import Any

from omniembed.util.search import community_detection, paraphrase_mining, paraphrase_mining_embeddings, semantic_search

__all__ = ["community_detection", "information_retrieval", "paraphrase_mining", "paraphrase_mining_embeddings",
           "semantic_search"]


def information_retrieval(*args: Any, **kwargs: Any) -> list[list[dict[str, int | float]]]:
    """Deprecated name of :func:`semantic_search` (same arguments, same result)."""
    warnings.warn("information_retrieval is deprecated; use semantic_search instead.", DeprecationWarning,
                  stacklevel=2)
    return semantic_search(*args, **kwargs)
