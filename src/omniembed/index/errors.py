"""Errors of the media index. Each is an :class:`~omniembed.errors.OmniEmbedError` and the builtin a caller
would catch, and its message says what to do next.

Example:
    >>> from omniembed.index.errors import ModelMismatchError, StoreError
    >>> err = ModelMismatchError("The store was built with 'a'; you asked for 'b'.")
    >>> isinstance(err, (StoreError, ValueError))
    True
"""

from __future__ import annotations

from omniembed.errors import OmniEmbedError

__all__ = ["ManifestError", "ModelMismatchError", "SearchQueryError", "StoreError", "StoreLockedError",
           "StoreNotFoundError"]


class StoreError(OmniEmbedError):
    """The vector store cannot be used as asked (missing, incompatible, damaged)."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No omniembed store at the given location (search before index, or a typo in ``--db``)."""


class StoreLockedError(StoreError, BlockingIOError):
    """Another process is writing to the store (one writer at a time; readers never wait)."""


class ModelMismatchError(StoreError, ValueError):
    """The store was built with another model (or another dimension / similarity / schema version)."""


class ManifestError(OmniEmbedError, ValueError):
    """A manifest (CSV / JSONL / Parquet list of files) cannot be read or has no path/URL column."""


class SearchQueryError(OmniEmbedError, ValueError):
    """A search argument is invalid: a bad ``where`` filter, an unknown modality, an unreadable query file."""
