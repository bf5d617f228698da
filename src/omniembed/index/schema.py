"""The on-disk format of an omniembed store: one LanceDB table, ``items``, plus a small ``roots`` table.

Everything that writes a store (``omniembed index``, :class:`~omniembed.index.MediaIndex`, a Ray job, the PDF
page splitter) must follow this module, so that any of them can add to a store another one created.

**A store** is a LanceDB database (a folder on disk, or the same layout on object storage) holding:

``items`` — one row per embedded thing:

==============  ==================================  ==========================================================
column          Arrow type                          meaning
==============  ==================================  ==========================================================
``id``          string, not null, unique            the key: the absolute local path or the URL, plus
                                                    ``#page=N`` for a page of a document, ``#page=N&layer=text``
                                                    for its text layer (see :func:`row_id`)
``path``        string, not null                    the absolute local path or the URL of the source file
``page``        int32, nullable                     null, or the 1-based page number when the row is one
                                                    page of a document (one row per page)
``modality``    string, not null                    ``text``, ``image``, ``audio``, ``video`` (``document``
                                                    pages may use ``image`` or ``text``)
``size``        int64, not null                     the source's size in bytes
``mtime``       float64, nullable                   the source's modification time (POSIX seconds); null for
                                                    URLs
``content_hash``string, not null                    :data:`HASH_NAME` hex digest of the source's bytes (the
                                                    whole file, also for page rows)
``metadata``    JSON (``pa.json_``), nullable       manifest columns as a JSON object; reads back as ``str``;
                                                    filter with ``json_get_string(metadata, 'key') = 'v'``
``text``        string, nullable                    a text file's content or a page's text layer (capped at
                                                    :data:`MAX_STORED_TEXT` characters)
``vector``      fixed_size_list<float32>[dim]       the embedding from ``encode_document``
==============  ==================================  ==========================================================

``id`` is unique: rows are upserted with ``merge_insert("id")``, or appended only by a writer that holds the
store's writer lock (:func:`omniembed.index.store.write_lock`) and knows the ids are not stored yet, so a write
repeated after a crash never duplicates a row.

**Store metadata** lives in the ``items`` schema's metadata under the key ``b"omniembed"``: a JSON object with
the fields of :class:`StoreInfo` (model id, revision, dimension, similarity, the model's modalities, the omniembed
version and :data:`SCHEMA_VERSION`). A search with another model is refused by comparing against it.

``roots`` — one row per folder that was indexed (``root``: its absolute path); the web page serves only files
inside these folders or files that were named one by one.

``failures`` — one row per source that could not be embedded (``path``, ``size``, ``mtime``, ``content_hash``,
``error``, ``reason``), so that an unchanged broken file is reported again without being decoded again.

Example:
    >>> info = StoreInfo(model="sentence-transformers/all-MiniLM-L6-v2", revision=None, dimension=384,
    ...                  similarity="cosine", modalities=("text",))
    >>> schema = items_schema(info)
    >>> schema.field("vector").type
    FixedSizeListType(fixed_size_list<item: float>[384])
    >>> StoreInfo.from_schema(schema) == info
    True
    >>> row_id("/photos/a.pdf", page=3)
    '/photos/a.pdf#page=3'
    >>> row_id("/photos/a.pdf", page=3, layer="text")
    '/photos/a.pdf#page=3&layer=text'
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from omniembed.optional import require

__all__ = [
    "COLUMNS",
    "FAILURES_TABLE",
    "HASH_NAME",
    "ITEMS_TABLE",
    "MAX_STORED_TEXT",
    "METADATA_KEY",
    "ROOTS_TABLE",
    "SCHEMA_VERSION",
    "StoreInfo",
    "failures_schema",
    "items_schema",
    "items_table",
    "roots_schema",
    "row_id",
]

ITEMS_TABLE = "items"
ROOTS_TABLE = "roots"
FAILURES_TABLE = "failures"
METADATA_KEY = b"omniembed"
# Bumped when a column changes meaning or type; a store with another version is refused with a clear error.
SCHEMA_VERSION = 1
# blake2b with a 16-byte digest: as fast as the disk on one core, and collisions are not a concern here.
HASH_NAME = "blake2b-128"
# The web page and the reranker read stored text; the embedding itself is computed from the file.
MAX_STORED_TEXT = 65_536
COLUMNS = ("id", "path", "page", "modality", "size", "mtime", "content_hash", "metadata", "text", "vector")


def _arrow() -> Any:
    return require("pyarrow", name="pyarrow", purpose="Media indexes", extra="index", spec="pyarrow")


def row_id(path: str, page: int | None = None, layer: str | None = None) -> str:
    """The ``id`` of a row: the source's path or URL, plus ``#page=N`` for one page of a document (its image),
    and ``&layer=text`` for the embedding of that page's text layer (``--text-layer``)."""
    if page is None:
        return path
    return f"{path}#page={int(page)}" + (f"&layer={layer}" if layer else "")


@dataclass(frozen=True)
class StoreInfo:
    """What a store was built with. ``model`` is the model id or the absolute path of a local model folder;
    ``revision`` the hub revision (a commit hash when known); ``similarity`` the model's similarity function
    (``cosine``, ``dot`` or ``euclidean``)."""

    model: str
    revision: str | None
    dimension: int
    similarity: str
    modalities: tuple[str, ...] = ("text",)
    omniembed_version: str = field(default_factory=lambda: _version())
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "modalities": list(self.modalities)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> StoreInfo:
        data = json.loads(text)
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["modalities"] = tuple(known.get("modalities") or ("text",))
        return cls(**known)

    @classmethod
    def from_schema(cls, schema: Any) -> StoreInfo | None:
        """The info recorded in an ``items`` schema, or None when the table was not written by omniembed."""
        raw = (schema.metadata or {}).get(METADATA_KEY)
        return None if raw is None else cls.from_json(raw)

    def describe(self) -> str:
        revision = f"@{self.revision}" if self.revision else ""
        return f"{self.model}{revision} ({self.dimension}-d, {self.similarity})"


def _version() -> str:
    from omniembed import __version__

    return __version__


def items_schema(info: StoreInfo) -> Any:
    """The Arrow schema of the ``items`` table, with ``info`` in its metadata."""
    pa = _arrow()
    return pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("path", pa.string(), nullable=False),
            pa.field("page", pa.int32()),
            pa.field("modality", pa.string(), nullable=False),
            pa.field("size", pa.int64(), nullable=False),
            pa.field("mtime", pa.float64()),
            pa.field("content_hash", pa.string(), nullable=False),
            pa.field("metadata", pa.json_(pa.utf8())),
            pa.field("text", pa.string()),
            pa.field("vector", pa.list_(pa.float32(), info.dimension)),
        ],
        metadata={METADATA_KEY: info.to_json().encode()},
    )


def items_table(rows: Any, info: StoreInfo) -> Any:
    """Rows (dicts with the :data:`COLUMNS`; ``metadata`` a JSON string or None, ``vector`` any float sequence)
    as an Arrow table of :func:`items_schema`, ready for ``merge_insert("id")``. Writers other than omniembed's
    own (a Ray job) should build their batches with it: the ``metadata`` column must be written with the JSON
    type, or ``json_get_*`` filters find nothing.

    Example:
        >>> info = StoreInfo(model="m", revision=None, dimension=2, similarity="cosine")
        >>> table = items_table([{"id": "/a.jpg", "path": "/a.jpg", "page": None, "modality": "image", "size": 3,
        ...                       "mtime": 0.0, "content_hash": "00", "metadata": '{"tag": "x"}', "text": None,
        ...                       "vector": [0.5, 0.5]}], info)
        >>> table.num_rows, table.schema.field("metadata").type
        (1, JsonType(extension<arrow.json>))
    """
    import numpy as np

    pa = _arrow()
    prepared = [{**row, "vector": np.asarray(row["vector"], dtype=np.float32)} for row in rows]
    return pa.Table.from_pylist(prepared, schema=items_schema(info))


def roots_schema() -> Any:
    """The Arrow schema of the ``roots`` table (indexed folders, for the web page's file access check)."""
    pa = _arrow()
    return pa.schema([pa.field("root", pa.string(), nullable=False)])


def failures_schema() -> Any:
    """The Arrow schema of the ``failures`` table (sources that could not be embedded, keyed by ``path``)."""
    pa = _arrow()
    return pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("size", pa.int64()),
            pa.field("mtime", pa.float64()),
            pa.field("content_hash", pa.string()),
            pa.field("error", pa.string()),
            pa.field("reason", pa.string()),
        ]
    )
