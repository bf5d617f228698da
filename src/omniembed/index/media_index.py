"""MediaIndex: a folder of text, images, audio and video → an embedded vector store → search.

Example:
    >>> from omniembed.index import MediaIndex
    >>> index = MediaIndex("photos.db", "sentence-transformers/clip-ViT-B-32")  # doctest: +SKIP
    >>> report = index.sync("photos/")            # embeds only new or changed files  # doctest: +SKIP
    >>> for hit in index.search("a dog on a beach", top_k=5):                          # doctest: +SKIP
    ...     print(hit.rank, round(hit.score, 3), hit.path)
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence
from typing import Any

from omniembed.index.errors import ModelMismatchError, SearchQueryError, StoreNotFoundError
from omniembed.index.pages import DEFAULT_PAGE_DPI
from omniembed.index.schema import StoreInfo
from omniembed.index.search import (
    MODALITIES,
    SearchHit,
    build_filter,
    merge_pages,
    query_input,
    query_modality,
    rerank_document,
)
from omniembed.index.sources import discover
from omniembed.index.store import ANN_THRESHOLD, Store, write_lock
from omniembed.index.sync import SyncOptions, SyncReport, run_sync
from omniembed.index.thumbnails import ThumbnailCache, default_thumbnail_dir

__all__ = ["MediaIndex"]

# Vector-search candidates handed to the reranker when ``rerank_candidates`` is not given.
RERANK_CANDIDATES = 50
_SNAPSHOT = re.compile(r"[\\/]snapshots[\\/]([0-9a-f]{40})(?:[\\/]|$)")
# A folder of the Hugging Face cache: .../models--org--name/snapshots/<commit>
_HUB_CACHE = re.compile(r"[\\/]models--([^\\/]+)[\\/]snapshots[\\/][0-9a-f]{40}[\\/]?$")


def model_key(model: Any) -> str | None:
    """How a model is named in a store: the hub id as given, or the absolute path of a local folder. A loaded
    model is named by its hub id when it was loaded from the Hugging Face cache, else by its folder.

    Example:
        >>> model_key("sentence-transformers/all-MiniLM-L6-v2")
        'sentence-transformers/all-MiniLM-L6-v2'
        >>> class Loaded:
        ...     model_path = "/root/.cache/huggingface/hub/models--org--name/snapshots/" + "0" * 40
        >>> model_key(Loaded())
        'org/name'
    """
    if isinstance(model, (str, os.PathLike)):
        name = os.fspath(model)
        return os.path.abspath(name) if os.path.isdir(os.path.expanduser(name)) else name
    path = getattr(model, "model_path", None)
    if not path:
        return None
    cached = _HUB_CACHE.search(str(path))
    return cached.group(1).replace("--", "/") if cached else os.path.abspath(path)


class MediaIndex:
    """An omniembed store at ``db`` (a folder; created on first write) and the model that fills and queries it.

    ``model`` is a model id or folder (loaded on first use; a run with nothing to embed never loads it), a
    loaded :class:`~omniembed.SentenceTransformer`, or None to use the model recorded in an existing store.
    A model other than the store's raises :class:`~omniembed.index.errors.ModelMismatchError`. ``model_id``
    names a loaded model when :func:`model_key` cannot tell (e.g. a server that loaded it from a copied folder). ``device``,
    ``revision`` and ``media`` (:class:`~omniembed.inputs.MediaOptions`) are passed to the model;
    ``ann_threshold`` is the row count from which an ANN index is built (None: never).
    """

    def __init__(self, db: str | os.PathLike, model: Any = None, *, model_id: str | None = None,
                 revision: str | None = None, device: str | None = None, media: Any = None,
                 ann_threshold: int | None = ANN_THRESHOLD) -> None:
        self.db = os.fspath(db)
        self.revision, self.device, self.media, self.ann_threshold = revision, device, media, ann_threshold
        self._model = None if isinstance(model, (str, os.PathLike)) or model is None else model
        self._model_name = model_id or (model_key(model) if model is not None else None)
        self._store: Store | None = Store.open(self.db) if Store.exists(self.db) else None
        self._lock = threading.RLock()  # one model call at a time (the web page serves several threads)
        self._rerankers: dict[str, Any] = {}
        if self._store is not None:
            self._check_name(self._store.info)

    @classmethod
    def open(cls, db: str | os.PathLike, model: Any = None, **kwargs: Any) -> MediaIndex:
        """An existing store (:class:`StoreNotFoundError` when there is none), with its recorded model."""
        if not Store.exists(os.fspath(db)):
            Store.open(db)  # raises the error with the message that says how to create one
        return cls(db, model, **kwargs)

    # -- properties -----------------------------------------------------------------------------------------
    @property
    def info(self) -> StoreInfo | None:
        return None if self._store is None else self._store.info

    @property
    def store(self) -> Store:
        if self._store is None:
            raise StoreNotFoundError(
                f"No omniembed store at {self.db!r} yet: index something first (MediaIndex.sync / omniembed index)."
            )
        return self._store

    def __len__(self) -> int:
        return 0 if self._store is None else self._store.count()

    @property
    def model(self) -> Any:
        """The SentenceTransformer, loaded on first use."""
        with self._lock:
            if self._model is None:
                name = self._model_name or (self.info.model if self.info else None)
                if name is None:
                    raise ModelMismatchError(f"No model given and no store at {self.db!r} to take one from: pass a model.")
                from omniembed import SentenceTransformer

                revision = self.revision or (self.info.revision if self.info else None)
                self._model = SentenceTransformer(name, revision=revision, device=self.device, media=self.media)
            if self._store is not None:
                self._check_loaded(self._store.info, self._model)
            return self._model

    def use_model(self, model: Any) -> None:
        """Search (and index) with ``model``, an already loaded SentenceTransformer (a server's copy), after
        checking it makes the store's kind of vectors (:class:`ModelMismatchError` otherwise)."""
        with self._lock:
            if self._store is not None:
                self._check_loaded(self._store.info, model)
            self._model = model

    # -- writing --------------------------------------------------------------------------------------------
    def sync(self, roots: str | os.PathLike | Sequence[str | os.PathLike], **options: Any) -> SyncReport:
        """Make the store mirror ``roots`` (folders, files, URLs, ``-`` for stdin): embed new and changed
        files, reuse vectors of renamed ones, delete files gone from the walked folders. See :meth:`index`."""
        paths = [os.fspath(roots)] if isinstance(roots, (str, os.PathLike)) else [os.fspath(p) for p in roots]
        return self.index(paths, **options)

    def add(self, paths: str | os.PathLike | Sequence[str | os.PathLike], **options: Any) -> SyncReport:
        """Embed ``paths`` (files, folders, URLs) if new or changed; never deletes anything."""
        return self.index(paths if not isinstance(paths, (str, os.PathLike)) else [paths], prune=False, **options)

    def index(self, paths: Sequence[str | os.PathLike] = (), *, manifests: Sequence[str] = (),
              path_column: str | None = None, prune: bool = True, include_hidden: bool = False,
              stdin: Any = None, batch_size: int = 32, commit_every: int = 256, num_workers: int | None = None,
              retry_failed: bool = False, progress: bool = False, fetch: Any = None, text_layer: bool = False,
              page_dpi: float = DEFAULT_PAGE_DPI) -> SyncReport:
        """Index folders, files, URLs and manifests incrementally (the Python form of ``omniembed index``).

        ``prune``: delete stored files that vanished from the walked folders. ``commit_every``: sources per
        commit (a killed run loses at most that many). ``fetch``: the :class:`~omniembed.inputs.FetchPolicy`
        for URLs. PDF documents get one row per page (rendered at ``page_dpi``; their thumbnails cached for the
        search page); ``text_layer`` also embeds each page's text layer (:mod:`omniembed.index.pages`). Returns a
        :class:`SyncReport`; failures are in ``report.failed`` (never raised).
        """
        exclude = [self.db] if "://" not in self.db else []
        found = discover([os.fspath(p) for p in paths], manifests=manifests, path_column=path_column, stdin=stdin,
                         include_hidden=include_hidden, exclude=exclude)
        options = SyncOptions(batch_size=batch_size, commit_every=max(1, commit_every), num_workers=num_workers,
                              retry_failed=retry_failed, ann_threshold=self.ann_threshold, progress=progress,
                              fetch=fetch, limits=getattr(self.media, "limits", None), prune=prune,
                              text_layer=text_layer, page_dpi=page_dpi,
                              thumbnails=ThumbnailCache(default_thumbnail_dir(self.db)) if "://" not in self.db else None)
        with write_lock(self.db), self._lock:
            return run_sync(self._writable_store(), lambda: self.model, found, options)

    def rebuild(self) -> None:
        """Delete the store's tables; the next :meth:`sync` starts from nothing (needs a model)."""
        with write_lock(self.db):
            Store.drop(self.db)
        self._store = None

    def _writable_store(self) -> Store:
        if self._store is None:
            model = self.model
            self._store = Store.create(self.db, self._describe(model))
        return self._store

    def _describe(self, model: Any) -> StoreInfo:
        dimension = model.get_embedding_dimension()
        if dimension is None:
            dimension = int(model.encode("dimension probe").shape[-1])
        path = getattr(model, "model_path", "") or ""
        found = _SNAPSHOT.search(path)
        modalities = tuple(m for m in model.modalities if m in MODALITIES)
        return StoreInfo(model=self._model_name or model_key(model) or "<in-memory model>",
                         revision=found.group(1) if found else self.revision, dimension=int(dimension),
                         similarity=model.similarity_fn_name, modalities=modalities)

    # -- checks ---------------------------------------------------------------------------------------------
    def _check_name(self, info: StoreInfo) -> None:
        name = self._model_name
        if name is not None and name != info.model and info.model != "<in-memory model>":
            raise ModelMismatchError(
                f"The store at {self.db!r} was built with {info.describe()}; you asked for {name!r}. Search with "
                f"that model (or give no model), or re-index into another --db or with --rebuild."
            )
        revision = self.revision
        if revision and info.revision and not (revision.startswith(info.revision) or info.revision.startswith(revision)):
            raise ModelMismatchError(
                f"The store at {self.db!r} was built with revision {info.revision!r} of {info.model!r}; you asked "
                f"for revision {revision!r}."
            )

    def _check_loaded(self, info: StoreInfo, model: Any) -> None:
        dimension = model.get_embedding_dimension()
        if dimension is not None and dimension != info.dimension:
            raise ModelMismatchError(
                f"The store at {self.db!r} holds {info.dimension}-d vectors from {info.describe()}; this model "
                f"makes {dimension}-d vectors."
            )
        if model.similarity_fn_name != info.similarity:
            raise ModelMismatchError(
                f"The store at {self.db!r} ranks by {info.similarity!r} similarity; this model uses "
                f"{model.similarity_fn_name!r}."
            )

    # -- reading --------------------------------------------------------------------------------------------
    def search(self, query: Any, top_k: int = 10, where: str | None = None, *, modality: str | None = None,
               rerank: Any = None, rerank_candidates: int | None = None, exact: bool | None = None) -> list[SearchHit]:
        """The ``top_k`` best rows for ``query``, best first.

        ``query``: a ``str`` (always text), a ``pathlib.Path`` to an image, audio, video or text file
        (query-by-example; modality from its content), bytes, or any input ``encode_query`` takes.
        ``where``: a SQL filter on the columns (``size > 1000``, ``path LIKE '%/2024/%'``,
        ``json_get_string(metadata, 'color') = 'red'``); ``modality`` keeps one modality. ``rerank``: a
        CrossEncoder or its id/folder; the best ``rerank_candidates`` (default 50) vector hits are re-scored
        with ``CrossEncoder.rank`` (mixed pairs included; documents that fail come last). ``exact``: None uses
        the ANN index when the store has one, True always compares every row.
        """
        if top_k < 1:
            raise SearchQueryError(f"top_k must be a positive integer, got {top_k}.")
        store = self.store
        value = query_input(query)
        asked = query_modality(value)
        if asked in MODALITIES and asked not in store.info.modalities:
            raise SearchQueryError(
                f"The store's model ({store.info.model}) does not embed {asked}; it embeds "
                f"{', '.join(store.info.modalities)}."
            )
        where_sql = build_filter(modality=modality, where=where)
        limit = max(top_k, rerank_candidates or RERANK_CANDIDATES) if rerank is not None else top_k
        with self._lock:
            vector = self.model.encode_query(value, convert_to_numpy=True, show_progress_bar=False)
        # Twice the rows: a page found through its image and its text layer is one result (merge_pages).
        rows = store.search(vector, 2 * limit, where_sql, exact=exact,
                            columns=["id", "path", "page", "modality", "size", "mtime", "metadata", "text"])
        rows = merge_pages(rows)[:limit]
        if rerank is None:
            return [SearchHit.from_row(rank, row) for rank, row in enumerate(rows, start=1)]
        return self._rerank(value, rows, rerank, top_k)

    def _rerank(self, value: Any, rows: list[dict[str, Any]], rerank: Any, top_k: int) -> list[SearchHit]:
        if not rows:
            return []
        reranker = self.reranker(rerank)
        query = value["text"] if isinstance(value, dict) and set(value) == {"text"} else value
        with self._lock:
            ranked = reranker.rank(query, [rerank_document(r) for r in rows], top_k=top_k, on_error="skip",
                                   show_progress_bar=False)
        return [SearchHit.from_row(rank, rows[r["corpus_id"]], score=r["score"], retrieval_score=rows[r["corpus_id"]]["score"])
                for rank, r in enumerate(ranked, start=1)]

    def reranker(self, rerank: Any) -> Any:
        """A CrossEncoder from an id/folder (loaded once and kept) or the object itself."""
        if not isinstance(rerank, (str, os.PathLike)):
            return rerank
        key = os.fspath(rerank)
        with self._lock:
            if key not in self._rerankers:
                from omniembed import CrossEncoder

                self._rerankers[key] = CrossEncoder(key, device=self.device, media=self.media)
            return self._rerankers[key]

    def get(self, row_id: str) -> dict[str, Any] | None:
        """The stored row ``row_id`` (without its vector), or None."""
        rows = self.store.rows([row_id], ["path", "page", "modality", "size", "mtime", "content_hash", "metadata",
                                          "text"])
        return rows.get(row_id)

    def roots(self) -> list[str]:
        return [] if self._store is None else self._store.roots()

    def __repr__(self) -> str:
        described = self.info.describe() if self.info else "(no store yet)"
        return f"MediaIndex({self.db!r}, {described}, {len(self)} rows)"
