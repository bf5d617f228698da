"""Search results, query inputs (text or query-by-example), filters and reranking.

Example:
    >>> query_input("red shoes")
    {'text': 'red shoes'}
    >>> build_filter(modality="image", where="size > 1000")
    "(modality = 'image') AND (size > 1000)"
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from typing import Any

from omniembed.index.errors import SearchQueryError
from omniembed.index.reading import classify
from omniembed.index.store import sql_str

__all__ = ["FILTERS", "MODALITIES", "SearchHit", "build_filter", "merge_pages", "query_input", "rerank_document"]

MODALITIES = ("text", "image", "audio", "video")
# A page handed to a reranker is rendered at 150 dpi (a Letter page: 1275 x 1650): VLM rerankers read the words on
# it, which the 72 dpi used for embedding blurs.
RERANK_PAGE_DPI = 150.0
# What ``modality=`` may keep: a modality, or "document" for the pages of PDF documents (whatever embedded them).
FILTERS = (*MODALITIES, "document")


@dataclass(frozen=True)
class SearchHit:
    """One result: ``rank`` (1-based), ``score`` (the model's similarity, or the reranker's score when
    reranked; then ``retrieval_score`` keeps the vector similarity), the row's ``id``, ``path``, ``page`` (the
    1-based page of a PDF document; ``page_scores``: its image and text-layer scores),
    ``modality``, ``metadata`` (a dict), ``text`` (text files), ``size`` and ``mtime``."""

    rank: int
    score: float
    id: str
    path: str
    modality: str
    page: int | None = None
    metadata: dict[str, Any] | None = None
    text: str | None = None
    size: int | None = None
    mtime: float | None = None
    retrieval_score: float | None = None
    page_scores: dict[str, float] | None = None

    @classmethod
    def from_row(cls, rank: int, row: dict[str, Any], score: float | None = None,
                 retrieval_score: float | None = None) -> SearchHit:
        metadata = row.get("metadata")
        return cls(rank=rank, score=float(row["score"] if score is None else score), id=row["id"], path=row["path"],
                   modality=row["modality"], page=row.get("page"),
                   metadata=json.loads(metadata) if metadata else None, text=row.get("text"),
                   size=row.get("size"), mtime=row.get("mtime"), retrieval_score=retrieval_score,
                   page_scores=row.get("page_scores"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def query_input(query: Any) -> Any:
    """What ``encode_query`` gets for a search query: a ``str`` is always text (even ``"cat.jpg"``); a
    ``pathlib.Path`` (or other path-like) is a file whose modality is read from its content; bytes are
    sniffed; dicts, PIL images and arrays pass through."""
    if isinstance(query, str):
        if not query.strip():
            raise SearchQueryError("The search query is empty.")
        return {"text": query}
    if isinstance(query, os.PathLike):
        path = os.fspath(query)
        try:
            with open(path, "rb") as handle:
                head = handle.read(4096)
        except OSError as exc:
            raise SearchQueryError(f"Cannot read the query file {path!r}: {exc.strerror or exc}") from None
        modality = classify(head, path)
        if modality is None:
            raise SearchQueryError(f"The query file {path!r} is not an image, audio, video or text file.")
        if modality == "text":
            with open(path, encoding="utf-8", errors="replace") as handle:
                return {"text": handle.read()}
        return {modality: path}
    return query


def query_modality(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value))
    return None


def build_filter(*, modality: str | None = None, where: str | None = None) -> str | None:
    """The SQL filter for ``modality`` and a user ``where`` clause (LanceDB / DataFusion SQL)."""
    parts = []
    if modality is not None:
        if modality not in FILTERS:
            raise SearchQueryError(f"Unknown modality {modality!r}: expected one of {', '.join(FILTERS)}.")
        parts.append("page IS NOT NULL" if modality == "document" else f"modality = {sql_str(modality)}")
    if where is not None and where.strip():
        parts.append(where.strip())
    if not parts:
        return None
    return parts[0] if len(parts) == 1 and modality is None else " AND ".join(f"({p})" for p in parts)


def rerank_document(row: dict[str, Any]) -> Any:
    """A stored row as a CrossEncoder document: its text for text rows, the rendered page for a page image of a
    document, else ``{modality: path}``."""
    if row["modality"] == "text":
        return {"text": row.get("text") or ""}
    if row.get("page") is not None:
        from omniembed.inputs import document_pages

        with document_pages(row["path"], pages=row["page"], dpi=RERANK_PAGE_DPI, text=False) as pages:
            return {"image": next(pages).image}
    return {row["modality"]: row["path"]}


def merge_pages(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One result per document page: a page found through its image and through its text layer
    (``--text-layer``) keeps the row with the higher score; rows stay sorted best first.

    Both rows hold the same model's similarity between the query and the page (its picture, its words), so
    the scores are compared as they are, without rescaling: the page is as good as its best evidence. The other
    row's score is kept in ``page_scores`` (``{"image": s, "text": s}``).

    Example:
        >>> rows = [{"id": "a.pdf#page=2&layer=text", "path": "a.pdf", "page": 2, "score": 0.8},
        ...         {"id": "a.pdf#page=1", "path": "a.pdf", "page": 1, "score": 0.5},
        ...         {"id": "a.pdf#page=2", "path": "a.pdf", "page": 2, "score": 0.3}]
        >>> [(r["page"], r["score"], r["page_scores"]) for r in merge_pages(rows)]
        [(2, 0.8, {'text': 0.8, 'image': 0.3}), (1, 0.5, {'image': 0.5})]
    """
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    out: list[dict[str, Any]] = []
    for row in rows:
        if row.get("page") is None:
            out.append(row)
            continue
        kind = "text" if row["id"].endswith("&layer=text") else "image"
        key = (row["path"], row["page"])
        if key in merged:
            merged[key]["page_scores"][kind] = row["score"]
            continue
        row = {**row, "page_scores": {kind: row["score"]}}
        merged[key] = row
        out.append(row)
    return out
