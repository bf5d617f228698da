"""omniembed.index: index a folder of text, images, audio and video into an embedded vector store (LanceDB), keep
it up to date incrementally, search it (text or query-by-example, filters, reranking), and browse it.

The command line (``omniembed index``, ``omniembed search``) is a thin layer over :class:`MediaIndex`. The store
format is in :mod:`omniembed.index.schema`; the search page is :mod:`omniembed.index.web`. Needs the ``index``
extra (``pip install 'omniembed[index]'``).

Example:
    >>> from omniembed.index import MediaIndex
    >>> index = MediaIndex("notes.db", "sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
    >>> index.sync("notes/").summary()                                          # doctest: +SKIP
    'indexed 3 (embedded 3, reused 0, touched 0), unchanged 0, removed 0, failed 0; 3 rows in the store (0.4 s)'
    >>> [hit.path for hit in index.search("pancake recipe", top_k=1)]            # doctest: +SKIP
    ['/home/me/notes/pancakes.md']
"""

from omniembed.index.errors import (
    ManifestError,
    ModelMismatchError,
    SearchQueryError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)
from omniembed.index.media_index import MediaIndex
from omniembed.index.schema import StoreInfo
from omniembed.index.search import SearchHit
from omniembed.index.store import ANN_THRESHOLD
from omniembed.index.sync_report import FailedItem, SyncReport

__all__ = [
    "ANN_THRESHOLD",
    "FailedItem",
    "ManifestError",
    "MediaIndex",
    "ModelMismatchError",
    "SearchHit",
    "SearchQueryError",
    "StoreError",
    "StoreInfo",
    "StoreLockedError",
    "StoreNotFoundError",
    "SyncReport",
]
