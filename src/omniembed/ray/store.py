"""A Ray job's embeddings → an omniembed store (LanceDB), so that a cluster job and ``omniembed search`` meet.

The store is the one ``omniembed index`` writes (docs/cli.md): a LanceDB database whose ``items`` table holds
one row per embedded file, keyed by ``id``, with the model's description in the schema metadata (under
``b"omniembed"``; the schema is :mod:`omniembed.index.schema`'s), and a ``failures`` table for the files that could not be embedded. :func:`store_rows` turns
the batches :class:`~omniembed.ray.Encoder` produced from ``read_binary_files(include_paths=True)`` into rows
of that schema (the hashing runs on the cluster, with the embedding); :func:`write_store` writes them from the
driver with ``merge_insert("id")``, so running a job again replaces rows instead of duplicating them, and a
store another writer created is added to only when its model and dimension match.

``path`` is what ``read_binary_files`` reports (``include_paths=True``): an absolute path for local files;
for object storage Ray drops the scheme (``bucket/key``), so pass ``path_prefix="s3://"`` to store URLs.

Example:
    >>> import ray                                                                     # doctest: +SKIP
    >>> from omniembed.ray import encode_dataset, write_store                          # doctest: +SKIP
    >>> ds = ray.data.read_binary_files("s3://bucket/photos/", include_paths=True)      # doctest: +SKIP
    >>> ds = encode_dataset(ds, "openai/clip-vit-base-patch32", input_column="bytes",
    ...                     method="encode_document", num_gpus=1)                       # doctest: +SKIP
    >>> write_store(ds, "s3://bucket/photos.lancedb", model="openai/clip-vit-base-patch32",
    ...             dimension=512, path_prefix="s3://")                                 # doctest: +SKIP
    StoreWrite(written=999998, failed=2)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from omniembed.errors import ConfigError
from omniembed.index.schema import (
    FAILURES_TABLE,
    ITEMS_TABLE,
    MAX_STORED_TEXT,
    StoreInfo,
    failures_schema,
    items_schema,
)
from omniembed.optional import require

HASH_DIGEST_BYTES = 16  # blake2b-128 (index.schema.HASH_NAME), as ``omniembed index`` hashes sources


@dataclass(frozen=True)
class StoreWrite:
    """What :func:`write_store` wrote: rows upserted into ``items`` and files recorded in ``failures``."""

    written: int
    failed: int


def _modality(data: Any) -> str:
    from omniembed.inputs.sniff import sniff_media

    if isinstance(data, str):
        return "text"
    found = sniff_media(bytes(data[:4096])) if data is not None else None
    return found[0] if found is not None else "unknown"


class StoreRows:
    """``map_batches`` function: Encoder output (``path``, ``bytes``/text, ``embedding``, ``error``) → rows of the
    store schema plus an ``error`` column (null for rows to store), hashing each source on the cluster."""

    def __init__(self, *, path_column: str = "path", input_column: str = "bytes",
                 embedding_column: str = "embedding", error_column: str = "error", path_prefix: str = "") -> None:
        self.path_column, self.input_column = path_column, input_column
        self.embedding_column, self.error_column, self.path_prefix = embedding_column, error_column, path_prefix

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from omniembed.ray.columns import column_values, to_table

        table = to_table(batch)
        paths = column_values(table, self.path_column)
        sources = column_values(table, self.input_column)
        errors = column_values(table, self.error_column)
        vectors = table.column(self.embedding_column)
        out: dict[str, list[Any]] = {name: [] for name in ("id", "path", "modality", "size", "content_hash", "text",
                                                           "error")}
        for path, source, error in zip(paths, sources, errors):
            data = source.encode() if isinstance(source, str) else (bytes(source) if source is not None else b"")
            name = f"{self.path_prefix}{path}"
            out["id"].append(name)
            out["path"].append(name)
            out["modality"].append(_modality(source))
            out["size"].append(len(data))
            out["content_hash"].append(hashlib.blake2b(data, digest_size=HASH_DIGEST_BYTES).hexdigest())
            out["text"].append(source[:MAX_STORED_TEXT] if isinstance(source, str) else None)
            out["error"].append(error)
        columns = {name: pa.array(values) for name, values in out.items()}
        columns["size"] = pa.array(out["size"], pa.int64())
        columns["text"] = pa.array(out["text"], pa.string())
        columns["error"] = pa.array(out["error"], pa.string())
        columns["vector"] = vectors.combine_chunks() if isinstance(vectors, pa.ChunkedArray) else vectors
        return pa.table(columns)


def _connect(uri: str) -> Any:
    lancedb = require("lancedb", name="lancedb", purpose="writing an omniembed store from Ray", extra="index",
                      spec="lancedb>=0.40")
    if "://" not in uri:
        os.makedirs(uri, exist_ok=True)
    return lancedb.connect(uri)


def open_items(db: Any, info: StoreInfo) -> Any:
    """The ``items`` table, created with ``info`` when missing; an existing one must match its model and width."""
    if ITEMS_TABLE not in db.table_names():
        return db.create_table(ITEMS_TABLE, schema=items_schema(info))
    table = db.open_table(ITEMS_TABLE)
    stored = StoreInfo.from_schema(table.schema)
    if stored is None:
        raise ConfigError(f"The table {ITEMS_TABLE!r} was not written by omniembed (no store metadata).")
    if (stored.model, stored.dimension, stored.schema_version) != (info.model, info.dimension, info.schema_version):
        raise ConfigError(f"This store holds {stored.model} ({stored.dimension}-d, schema {stored.schema_version}); "
                          f"this job embeds with {info.model} ({info.dimension}-d, schema {info.schema_version}).")
    return table


def write_store(ds: Any, uri: str | os.PathLike, *, model: str, dimension: int, revision: str | None = None,
                similarity: str = "cosine", modalities: tuple[str, ...] = ("text", "image", "audio", "video"),
                path_column: str = "path", input_column: str = "bytes", embedding_column: str = "embedding",
                error_column: str = "error", path_prefix: str = "", rows_per_commit: int = 10_000) -> StoreWrite:
    """Write an Encoder-annotated dataset into the store at ``uri`` (see the module docstring): embedded rows are
    upserted into ``items`` (one commit per ``rows_per_commit`` rows), failed ones into ``failures``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    info = StoreInfo(model=str(model), revision=revision, dimension=int(dimension), similarity=similarity,
                     modalities=tuple(modalities))
    db = _connect(os.fspath(uri))
    items = open_items(db, info)
    rows = ds.map_batches(StoreRows(path_column=path_column, input_column=input_column,
                                    embedding_column=embedding_column, error_column=error_column,
                                    path_prefix=path_prefix), batch_format="pyarrow")
    schema = items_schema(info)
    written = failed = 0
    for batch in rows.iter_batches(batch_size=rows_per_commit, batch_format="pyarrow"):
        ok = batch.filter(pc.is_null(batch.column("error")))
        if ok.num_rows:
            data = pa.table({name: ok.column(name) if name in ok.column_names else pa.nulls(ok.num_rows, f.type)
                             for name, f in zip(schema.names, schema)}).cast(schema)
            items.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
            written += ok.num_rows
        bad = batch.filter(pc.invert(pc.is_null(batch.column("error"))))
        if bad.num_rows:
            _record_failures(db, bad)
            failed += bad.num_rows
    return StoreWrite(written, failed)


def _record_failures(db: Any, bad: Any) -> None:
    import pyarrow as pa

    errors = bad.column("error").to_pylist()
    table = pa.table({
        "path": bad.column("path"), "size": bad.column("size"), "mtime": pa.nulls(bad.num_rows, pa.float64()),
        "content_hash": bad.column("content_hash"),
        "error": pa.array([e.split(":", 1)[0] for e in errors], pa.string()),
        "reason": pa.array([e.split(":", 1)[1].strip() if ":" in e else e for e in errors], pa.string()),
    }).cast(failures_schema())
    if FAILURES_TABLE in db.table_names():
        target = db.open_table(FAILURES_TABLE)
    else:
        target = db.create_table(FAILURES_TABLE, schema=failures_schema())
    target.merge_insert("path").when_matched_update_all().when_not_matched_insert_all().execute(table)
