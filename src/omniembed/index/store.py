"""LanceDB access for an omniembed store: open/create, upserts, deletes, vector search, index upkeep.

Nothing else in omniembed talks to LanceDB; the table layout is in :mod:`omniembed.index.schema`.

Example:
    >>> import tempfile, numpy as np
    >>> from omniembed.index.schema import StoreInfo
    >>> info = StoreInfo(model="m", revision=None, dimension=2, similarity="cosine")
    >>> store = Store.create(tempfile.mkdtemp() + "/db", info)
    >>> store.upsert([dict(id="/a.txt", path="/a.txt", page=None, modality="text", size=1, mtime=0.0,
    ...                    content_hash="00", metadata=None, text="a", vector=np.array([1, 0], np.float32))])
    >>> [row["id"] for row in store.search(np.array([1, 0.1], np.float32), 5)]
    ['/a.txt']
"""

from __future__ import annotations

import datetime
import logging
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.index.errors import (
    ModelMismatchError,
    SearchQueryError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)
from omniembed.index.schema import (
    FAILURES_TABLE,
    ITEMS_TABLE,
    ROOTS_TABLE,
    SCHEMA_VERSION,
    StoreInfo,
    failures_schema,
    items_schema,
    items_table,
    roots_schema,
)
from omniembed.optional import require

__all__ = ["ANN_THRESHOLD", "FileState", "Store", "sql_list", "sql_str", "write_lock"]

logger = logging.getLogger(__name__)

# Below this many rows a search is exact (brute force: 150-350 ms p50 over 100,000 512-d rows, half that at
# 50,000, on this project's busy 2-core machine). From it on an IVF-SQ index is built (7 s for 100,000 512-d
# rows) and searches probe it, then re-rank with exact distances: recall@10 1.0, ~18 ms p50. IVF-HNSW-SQ
# searched 2x faster but took 25x longer to build, with as much memory. See benchmarks/bench_index.py.
ANN_THRESHOLD = 50_000
ANN_INDEX_TYPE = "IVF_SQ"
# Candidates re-scored with exact distances per result when the ANN index answers (LanceDB's refine_factor).
REFINE_FACTOR = 10
NPROBES = 20
# LanceDB distances → omniembed similarity scores (higher is better), per similarity function.
_METRICS = {"cosine": "cosine", "dot": "dot", "euclidean": "l2"}
# Rows per SQL IN (...) list: long lists make DataFusion's planner slow.
_IN_CHUNK = 512


def _lancedb() -> Any:
    return require("lancedb", name="lancedb", purpose="Media indexes", extra="index", spec="lancedb")


def sql_str(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def sql_list(values: Iterable[str]) -> str:
    return "(" + ", ".join(sql_str(v) for v in values) + ")"


def _is_local(uri: str) -> bool:
    return "://" not in uri


@dataclass(frozen=True)
class FileState:
    """What the store knows about one source: its size, mtime and content hash when it was embedded."""

    size: int
    mtime: float | None
    content_hash: str
    metadata: str | None = None


def metric_for(similarity: str) -> str:
    if similarity not in _METRICS:
        raise StoreError(
            f"The model's similarity function {similarity!r} has no vector-store equivalent; use a model with "
            f"one of {sorted(_METRICS)} (set similarity_fn_name when saving it)."
        )
    return _METRICS[similarity]


def distance_to_score(distance: float, similarity: str) -> float:
    """LanceDB's ``_distance`` → the model's similarity (cosine → cos, dot → dot, euclidean → −distance)."""
    if similarity == "euclidean":
        return -float(np.sqrt(max(distance, 0.0)))  # LanceDB's l2 is the squared distance
    return 1.0 - float(distance)


class Store:
    """An open store: the ``items`` table, its :class:`StoreInfo`, and the ``roots``/``failures`` tables."""

    def __init__(self, uri: str, db: Any, table: Any, info: StoreInfo) -> None:
        self.uri, self._db, self.table, self.info = uri, db, table, info

    # -- opening --------------------------------------------------------------------------------------------
    @classmethod
    def exists(cls, uri: str | os.PathLike) -> bool:
        uri = os.fspath(uri)
        if _is_local(uri) and not os.path.isdir(uri):
            return False
        return ITEMS_TABLE in _table_names(_connect(uri))

    @classmethod
    def open(cls, uri: str | os.PathLike) -> Store:
        """Open an existing store; :class:`StoreNotFoundError` when there is none at ``uri``."""
        uri = os.fspath(uri)
        if not cls.exists(uri):
            raise StoreNotFoundError(
                f"No omniembed store at {uri!r}: create one with `omniembed index PATH --model MODEL --db {uri}`."
            )
        db = _connect(uri)
        table = db.open_table(ITEMS_TABLE)
        info = StoreInfo.from_schema(table.schema)
        if info is None:
            raise StoreError(f"The table {ITEMS_TABLE!r} at {uri!r} was not written by omniembed (no store metadata).")
        if info.schema_version != SCHEMA_VERSION:
            raise ModelMismatchError(
                f"The store at {uri!r} has schema version {info.schema_version}; this omniembed reads version "
                f"{SCHEMA_VERSION}. Re-index with --rebuild."
            )
        return cls(uri, db, table, info)

    @classmethod
    def create(cls, uri: str | os.PathLike, info: StoreInfo) -> Store:
        uri = os.fspath(uri)
        metric_for(info.similarity)
        if _is_local(uri):
            os.makedirs(uri, exist_ok=True)
        db = _connect(uri)
        table = db.create_table(ITEMS_TABLE, schema=items_schema(info))
        return cls(uri, db, table, info)

    @classmethod
    def drop(cls, uri: str | os.PathLike) -> None:
        """Delete the store's tables (``--rebuild``); other files in the folder are left alone."""
        uri = os.fspath(uri)
        if _is_local(uri) and not os.path.isdir(uri):
            return
        db = _connect(uri)
        for name in (ITEMS_TABLE, ROOTS_TABLE, FAILURES_TABLE):
            db.drop_table(name, ignore_missing=True)

    # -- reading --------------------------------------------------------------------------------------------
    def count(self, where: str | None = None) -> int:
        return int(self.table.count_rows(where))

    def scan(self, columns: Sequence[str], where: str | None = None, batch_size: int = 8192) -> Iterator[Any]:
        """Record batches of ``columns`` (optionally filtered), without reading the other columns."""
        query = self.table.search().select(list(columns)).limit(None)
        if where:
            query = query.where(where)
        yield from query.to_batches(batch_size)

    def file_states(self, with_metadata: bool = False) -> tuple[dict[str, FileState], dict[str, str]]:
        """``path → FileState`` for every source in the store, and ``content_hash → id`` of whole-file rows
        (the rows whose vector a renamed or copied file can reuse). One scan, without the vectors."""
        states: dict[str, FileState] = {}
        by_hash: dict[str, str] = {}
        columns = ["id", "path", "page", "size", "mtime", "content_hash"] + (["metadata"] if with_metadata else [])
        for batch in self.scan(columns):
            cols = batch.to_pydict()
            metadata = cols.get("metadata") or [None] * batch.num_rows
            for rid, path, page, size, mtime, digest, meta in zip(
                cols["id"], cols["path"], cols["page"], cols["size"], cols["mtime"], cols["content_hash"], metadata
            ):
                states[path] = FileState(size, mtime, digest, meta)
                if page is None:
                    by_hash.setdefault(digest, rid)
        return states, by_hash

    def rows(self, ids: Sequence[str], columns: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            where = f"id IN {sql_list(ids[start:start + _IN_CHUNK])}"
            for batch in self.scan(["id", *[c for c in columns if c != "id"]], where):
                for row in batch.to_pylist():
                    found[row["id"]] = row
        return found

    # -- writing --------------------------------------------------------------------------------------------
    def upsert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert or replace rows by ``id``: one atomic commit (a crash leaves all or none of them)."""
        if not rows:
            return
        # The schema from schema.py, not the table's: LanceDB reports the JSON column back as large_binary, and
        # strings written under that type would not be stored as JSON (json_get_* filters would find nothing).
        data = items_table(rows, self.info)
        (self.table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data))

    def insert(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append rows whose ids are not in the table: one atomic commit. Cheaper than :meth:`upsert` (no join
        against every stored id, and less memory held per commit); only for a writer that holds
        :func:`write_lock` and knows the ids are new, otherwise a repeated write would duplicate rows."""
        if rows:
            self.table.add(items_table(rows, self.info))

    def delete_paths(self, paths: Sequence[str]) -> None:
        """Delete every row (all pages) of these sources."""
        for start in range(0, len(paths), _IN_CHUNK):
            self.table.delete(f"path IN {sql_list(paths[start:start + _IN_CHUNK])}")

    # -- roots and failures ---------------------------------------------------------------------------------
    def _side_table(self, name: str, schema: Any, create: bool) -> Any | None:
        if name in _table_names(self._db):
            return self._db.open_table(name)
        return self._db.create_table(name, schema=schema) if create else None

    def add_roots(self, roots: Iterable[str]) -> None:
        roots = sorted(set(roots))
        if roots:
            table = self._side_table(ROOTS_TABLE, roots_schema(), create=True)
            (table.merge_insert("root").when_not_matched_insert_all().execute([{"root": r} for r in roots]))

    def roots(self) -> list[str]:
        table = self._side_table(ROOTS_TABLE, roots_schema(), create=False)
        return [] if table is None else sorted(table.to_arrow().column("root").to_pylist())

    def failures(self) -> dict[str, dict[str, Any]]:
        """``path → {size, mtime, error, reason}`` of sources that failed and were not retried since."""
        table = self._side_table(FAILURES_TABLE, failures_schema(), create=False)
        return {} if table is None else {r["path"]: r for r in table.to_arrow().to_pylist()}

    def record_failures(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            table = self._side_table(FAILURES_TABLE, failures_schema(), create=True)
            table.merge_insert("path").when_matched_update_all().when_not_matched_insert_all().execute(list(rows))

    def clear_failures(self, paths: Sequence[str]) -> None:
        table = self._side_table(FAILURES_TABLE, failures_schema(), create=False)
        if table is not None:
            for start in range(0, len(paths), _IN_CHUNK):
                table.delete(f"path IN {sql_list(paths[start:start + _IN_CHUNK])}")

    # -- search ---------------------------------------------------------------------------------------------
    def has_vector_index(self) -> bool:
        return any(list(getattr(ix, "columns", [])) == ["vector"] for ix in self.table.list_indices())

    def search(self, vector: np.ndarray, limit: int, where: str | None = None, *, exact: bool | None = None,
               columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The ``limit`` nearest rows, best first, each with ``score`` (the model's similarity).

        ``exact``: None uses the ANN index when there is one; True always compares every row.
        """
        query = self.table.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector")
        query = query.distance_type(metric_for(self.info.similarity)).limit(limit)
        if columns is not None:
            query = query.select([c for c in columns if c not in ("vector", "_distance")] + ["_distance"])
        if where:
            query = query.where(where, prefilter=True)
        if exact:
            query = query.bypass_vector_index()
        elif self.has_vector_index():
            query = query.nprobes(NPROBES).refine_factor(REFINE_FACTOR)
        try:
            rows = query.to_list()
        except ValueError as exc:  # DataFusion reports SQL and schema problems as ValueError
            raise SearchQueryError(f"Invalid search filter {where!r}: {_first_line(exc)}") from exc
        for row in rows:
            row["score"] = distance_to_score(row.pop("_distance"), self.info.similarity)
        return rows

    # -- upkeep ---------------------------------------------------------------------------------------------
    def maintain(self, ann_threshold: int | None = ANN_THRESHOLD) -> bool:
        """Compact after writes, fold new rows into the indexes, and build the ANN index once the table has
        ``ann_threshold`` rows (None: never). Returns True when an ANN index was built now."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            # Keep one hour of old versions: a web page or search reading an older version keeps working.
            self.table.optimize(cleanup_older_than=datetime.timedelta(hours=1))
        if ann_threshold is None or self.has_vector_index() or self.count() < ann_threshold:
            return False
        logger.info("Building the ANN index over %d rows.", self.count())
        self.table.create_index(metric=metric_for(self.info.similarity), index_type=ANN_INDEX_TYPE,
                                vector_column_name="vector", replace=True)
        self.table.create_scalar_index("id", replace=True)
        return True


@contextmanager
def write_lock(uri: str) -> Iterator[None]:
    """Hold the store's writer lock: two runs filling one store at once would both insert the same new files
    (LanceDB does not check keys across concurrent commits). Readers never wait. The operating system frees
    the lock when the process dies, so a killed run never blocks the next one. Local stores only."""
    if not _is_local(uri):
        yield
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; one writer at a time is on the user
        yield
        return
    os.makedirs(uri, exist_ok=True)
    with open(os.path.join(uri, ".omniembed-write.lock"), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StoreLockedError(
                f"Another process is writing to the store at {uri!r} (omniembed index?); wait for it to finish."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _connect(uri: str) -> Any:
    return _lancedb().connect(uri)


def _table_names(db: Any) -> list[str]:
    return list(db.list_tables().tables)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
