"""Incremental indexing: compare what was found with what the store holds, embed only what is new or changed,
and commit in bounded chunks.

For each source:

* **unchanged** — a local file whose size and mtime equal the stored ones: nothing is read;
* **touched** — size/mtime changed but the content hash did not: the row is rewritten without embedding;
* **reused** — new path, but its content hash is already in the store (a rename or a copy): the stored
  vector is copied;
* **embedded** — everything else, through ``model.encode_document(..., on_error="skip")``; a PDF document
  becomes one row per page (:mod:`omniembed.index.pages`), and a changed document re-embeds all its pages;
* **failed** — unreadable or undecodable: listed with the reason, recorded in the ``failures`` table so an
  unchanged broken file is reported again without being decoded again (``retry_failed`` forces a retry);
* **ignored** — neither media nor text (or an empty text file); **unsupported** — a modality the model
  cannot embed. Both are recorded in the ``failures`` table too, so a re-run does not read them again.

Sources that vanished from a walked folder are deleted. Each chunk of ``commit_every`` sources is committed
at once (appended when new, ``merge_insert`` on ``id`` when stored), so a killed run loses at most the chunk in
flight, and the next run picks up from the last commit. Reading and hashing the next chunk runs in threads
while the model embeds the current one (and ``encode_document`` itself decodes media ahead of the model).

What a run reports (:class:`SyncReport`, :class:`FailedItem`) is defined in :mod:`omniembed.index.sync_report`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from omniembed.errors import InputError
from omniembed.index.pages import DEFAULT_PAGE_DPI, page_plan, page_rows
from omniembed.index.reading import ReadItem, read_item, stored_text
from omniembed.index.sources import Discovery, Source
from omniembed.index.store import FileState, Store
from omniembed.index.sync_report import FailedItem, SyncReport

__all__ = ["FailedItem", "SyncOptions", "SyncReport", "run_sync"]

# ``error`` values of the ``failures`` table for sources that did not fail but are not indexed either.
IGNORED, UNSUPPORTED = "Ignored", "Unsupported"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SyncOptions:
    batch_size: int = 32
    commit_every: int = 256
    num_workers: int | None = None
    read_workers: int = 4
    retry_failed: bool = False
    ann_threshold: int | None = None
    progress: bool = False
    fetch: Any = None
    limits: Any = None
    prune: bool = True  # delete stored files that vanished from the walked folders (False: MediaIndex.add)
    text_layer: bool = False  # also embed the text layer of document pages (omniembed.index.pages)
    page_dpi: float = DEFAULT_PAGE_DPI
    thumbnails: Any = None  # a ThumbnailCache that receives page thumbnails while the pages are rendered


def run_sync(store: Store, model: Callable[[], Any], found: Discovery, options: SyncOptions) -> SyncReport:
    """Bring ``store`` up to date with ``found``; ``model()`` returns the SentenceTransformer (loaded lazily:
    a run with nothing to embed never loads it)."""
    return _Sync(store, model, found, options).run()


class _Sync:
    def __init__(self, store: Store, model: Callable[[], Any], found: Discovery, options: SyncOptions) -> None:
        self.store, self.model, self.found, self.options = store, model, found, options
        self.report = SyncReport()
        self.states, self.by_hash = store.file_states(with_metadata=any(s.metadata for s in found.sources))
        self.previous_failures = store.failures()
        self.stored_paths = frozenset(self.states)
        self.stale: list[str] = []  # stored sources that changed into something not indexed (deleted at the end)
        self.changed = False

    def run(self) -> SyncReport:
        started = time.perf_counter()
        todo = self._plan()
        try:
            self._process(todo)
            self._remove()
            self.store.add_roots(self.found.roots)
            if self.changed:
                self.report.ann_index_built = self.store.maintain(self.options.ann_threshold)
        except KeyboardInterrupt:
            self.report.interrupted = True
        self.report.total_rows = self.store.count()
        self.report.seconds = time.perf_counter() - started
        return self.report

    # -- planning -------------------------------------------------------------------------------------------
    def _plan(self) -> list[tuple[Source, os.stat_result | None]]:
        todo: list[tuple[Source, os.stat_result | None]] = []
        for path in self.found.missing:
            self.report.failed.append(FailedItem(path, "FileNotFoundError", "no such file or folder"))
        new_metadata = self._metadata_changes()
        for source in self.found.sources:
            if source.is_url:
                todo.append((source, None))
                continue
            try:
                st = os.stat(source.path)
            except OSError as exc:
                self.report.failed.append(FailedItem(source.path, type(exc).__name__, exc.strerror or str(exc)))
                continue
            known = self.states.get(source.path)
            if known is not None and _same_stat(known.size, known.mtime, st) and source.path not in new_metadata:
                self.report.unchanged += 1
                continue
            before = self.previous_failures.get(source.path)
            if before is not None and _same_stat(before["size"], before["mtime"], st) and self._repeat(source, before):
                if known is not None:
                    self.stale.append(source.path)  # a run killed between the two commits left the old row
                continue
            todo.append((source, st))
        return todo

    def _repeat(self, source: Source, before: dict[str, Any]) -> bool:
        """Report an unchanged file that was not indexed last time as it was then, without reading it again
        (``retry_failed`` reads the failed ones again)."""
        if before["error"] == IGNORED:
            self.report.ignored += 1
        elif before["error"] == UNSUPPORTED:
            self.report.unsupported[before["reason"]] = self.report.unsupported.get(before["reason"], 0) + 1
        elif self.options.retry_failed:
            return False
        else:
            self.report.failed.append(FailedItem(source.path, before["error"], before["reason"]))
        return True

    def _metadata_changes(self) -> set[str]:
        """Stored sources whose manifest metadata differs from this run's (they are rewritten, not re-embedded)."""
        return {s.path for s in self.found.sources
                if s.metadata is not None and s.path in self.states
                and not _json_equal(self.states[s.path].metadata, s.metadata)}

    # -- processing -----------------------------------------------------------------------------------------
    def _process(self, todo: list[tuple[Source, os.stat_result | None]]) -> None:
        if not todo:
            return
        opts = self.options
        bar = _progress(len(todo), opts.progress)
        reader = ThreadPoolExecutor(max(1, opts.read_workers), thread_name_prefix="omniembed-read")
        try:
            chunks = [todo[i:i + opts.commit_every] for i in range(0, len(todo), opts.commit_every)]
            pending = self._submit(reader, chunks[0])
            for number in range(len(chunks)):
                items = [f.result() for f in pending]
                # Read the next chunk while this one is embedded: the disk and the model work at once.
                pending = self._submit(reader, chunks[number + 1]) if number + 1 < len(chunks) else []
                self._commit(items)
                bar.update(len(items))
        finally:
            reader.shutdown(wait=True, cancel_futures=True)
            bar.close()

    def _submit(self, reader: ThreadPoolExecutor, chunk: Sequence[tuple[Source, Any]]) -> list[Future]:
        opts = self.options
        return [reader.submit(read_item, s, fetch=opts.fetch, limits=opts.limits, stat=st) for s, st in chunk]

    def _commit(self, items: list[ReadItem]) -> None:
        rows: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        to_embed: list[ReadItem] = []
        touched: list[ReadItem] = []
        donors: dict[str, list[ReadItem]] = {}
        documents: list[ReadItem] = []
        modalities = set(self.store.info.modalities)
        if any(page_plan(self.store.info.modalities, text_layer=self.options.text_layer)):
            modalities.add("document")
        for item in items:
            known = self.states.get(item.path)
            if item.error is not None:
                failures.append(self._failure(item, item.error))
            elif item.modality is None:
                self.report.ignored += 1
                failures.append(self._not_indexed(item, IGNORED, "neither media nor text"))
            elif item.modality not in modalities:
                self.report.unsupported[item.modality] = self.report.unsupported.get(item.modality, 0) + 1
                failures.append(self._not_indexed(item, UNSUPPORTED, item.modality))
            elif item.modality == "document":
                documents.append(item)  # pages are embedded again when the file changed (per document)
            elif known is not None and known.content_hash == item.content_hash:
                touched.append(item)
            elif item.content_hash in self.by_hash:
                donors.setdefault(self.by_hash[item.content_hash], []).append(item)
            else:
                to_embed.append(item)
        touched_rows, lost = self._copied_rows({item.path: [item] for item in touched})
        reused_rows, lost_donors = self._copied_rows(donors)
        self.report.touched += len(touched_rows)
        self.report.reused += len(reused_rows)
        rows += touched_rows + reused_rows
        embedded_rows, embed_failures = self._embed(to_embed + lost + lost_donors)
        rows += embedded_rows
        failures += embed_failures
        page_rows_, page_failures = self._embed_documents(documents)
        failures += page_failures
        rows += page_rows_
        self._keep_metadata(rows)
        # A changed document loses its old pages first (it may have fewer now); its new pages are appended. A run
        # killed between the two commits left the document without rows, so the next run embeds it again.
        redone = sorted({r["path"] for r in page_rows_ if r["path"] in self.stored_paths})
        if redone:
            self.store.delete_paths(redone)
        # Paths the store did not hold when this run started are appended (this run holds the writer lock, and a
        # crashed run's committed rows are "unchanged" on the next one, so they are never appended twice); rows
        # of stored paths replace theirs by id.
        self.store.upsert([r for r in rows if r["path"] in self.stored_paths and r["page"] is None])
        self.store.insert([r for r in rows if r["path"] not in self.stored_paths or r["page"] is not None])
        done = [r["path"] for r in rows]
        if failures:
            self.store.record_failures(failures)
            # A stored source whose new content fails (or is no longer something to index) keeps no stale vector.
            stale = [f["path"] for f in failures if f["path"] in self.states]
            if stale:
                self.store.delete_paths(stale)
                for path in stale:
                    del self.states[path]
        retried = [p for p in done if p in self.previous_failures]
        if retried:
            self.store.clear_failures(retried)
        for row in rows:
            self.states[row["path"]] = FileState(row["size"], row["mtime"], row["content_hash"], row["metadata"])
            if row["page"] is None:
                self.by_hash.setdefault(row["content_hash"], row["id"])
        self.changed = self.changed or bool(rows or failures)

    def _keep_metadata(self, rows: list[dict[str, Any]]) -> None:
        """A file found by a folder walk (no manifest metadata) keeps the metadata a manifest once gave it."""
        missing = [r["path"] for r in rows if r["metadata"] is None and r["path"] in self.states]
        if missing:
            stored = self.store.rows(missing, ["metadata"])
            for row in rows:
                if row["metadata"] is None and row["path"] in stored:
                    row["metadata"] = stored[row["path"]]["metadata"]

    def _failure(self, item: ReadItem, error: Exception) -> dict[str, Any]:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or str(error)
        self.report.failed.append(FailedItem(item.path, type(error).__name__, reason))
        return {"path": item.path, "size": item.size, "mtime": item.mtime, "content_hash": item.content_hash or None,
                "error": type(error).__name__, "reason": reason}

    def _not_indexed(self, item: ReadItem, kind: str, reason: str) -> dict[str, Any]:
        return {"path": item.path, "size": item.size, "mtime": item.mtime, "content_hash": item.content_hash or None,
                "error": kind, "reason": reason}

    def _row(self, item: ReadItem, modality: str, vector: Any, text: str | None) -> dict[str, Any]:
        return {"id": item.path, "path": item.path, "page": None, "modality": modality, "size": item.size,
                "mtime": item.mtime, "content_hash": item.content_hash, "metadata": item.source.metadata,
                "text": stored_text(text), "vector": vector}

    def _copied_rows(self, wanted: dict[str, list[ReadItem]]) -> tuple[list[dict[str, Any]], list[ReadItem]]:
        """Rows for items whose vector is already stored under another row id (``wanted``: id → items), and
        the items whose row vanished meanwhile (they are embedded instead)."""
        if not wanted:
            return [], []
        stored = self.store.rows(list(wanted), ["modality", "text", "vector"])
        rows, missing = [], []
        for row_id, items in wanted.items():
            old = stored.get(row_id)
            for item in items:
                if old is None:
                    missing.append(item)
                else:
                    rows.append(self._row(item, old["modality"], old["vector"], old["text"]))
        return rows, missing

    def _embed(self, items: list[ReadItem]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        if not items:
            return [], []
        opts = self.options
        model = self.model()
        embeddings, failures = model.encode_document(
            [item.encode_input() for item in items], batch_size=opts.batch_size, on_error="skip",
            return_failures=True, num_workers=opts.num_workers, show_progress_bar=False, convert_to_numpy=True,
        )
        failed_at = {f.index: f.error for f in failures}
        rows, failed = [], []
        for index, item in enumerate(items):
            error = failed_at.get(index)
            if error is None and not np.all(np.isfinite(embeddings[index])):
                error = ValueError("the model returned a non-finite embedding")
            if error is not None:
                failed.append(self._failure(item, error))
                continue
            rows.append(self._row(item, item.modality, embeddings[index], item.text))
        self.report.embedded += len(rows)
        return rows, failed

    def _embed_documents(self, items: list[ReadItem]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rows: list[dict[str, Any]] = []
        failures: list[dict[str, Any]] = []
        if not items:
            return rows, failures
        opts, model = self.options, self.model()
        for item in items:
            try:
                found = page_rows(model, item, modalities=self.store.info.modalities, text_layer=opts.text_layer,
                                  batch_size=opts.batch_size, dpi=opts.page_dpi, limits=opts.limits,
                                  thumbnails=opts.thumbnails)
            except InputError as exc:
                failures.append(self._failure(item, exc))
                continue
            rows += found
            self.report.embedded += 1
            self.report.pages += len({r["page"] for r in found})
        return rows, failures

    # -- removal --------------------------------------------------------------------------------------------
    def _remove(self) -> None:
        """Delete what vanished from the walked folders (when pruning) and what changed into something that
        cannot be indexed; forget failures of files that are gone."""
        seen = {s.path for s in self.found.sources}
        gone = []
        if self.options.prune:
            gone = [p for p in self.states if p not in seen and (self.found.in_scope(p) or p in self.found.missing)]
            lost = [p for p in self.previous_failures if p not in seen and self.found.in_scope(p)]
            if lost:
                self.store.clear_failures(lost)
        doomed = sorted(set(gone) | set(self.stale))
        if doomed:
            self.store.delete_paths(doomed)
            self.changed = True
        self.report.removed = len(gone)


def _same_stat(size: int | None, mtime: float | None, st: os.stat_result) -> bool:
    return size == st.st_size and mtime == st.st_mtime


def _json_equal(stored: str | None, given: str | None) -> bool:
    try:
        return (json.loads(stored) if stored else None) == (json.loads(given) if given else None)
    except ValueError:
        return False


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="file", file=sys.stderr, desc="indexing", dynamic_ncols=True, smoothing=0.1)
