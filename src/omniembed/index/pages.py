"""PDF documents in a store: one row per page, embedded from the rendered page image and/or the page's text layer.

A document found by ``omniembed index`` is rendered page by page with :func:`omniembed.inputs.document_pages`
(one page image in memory at a time; the same pixel, page-count, size and time limits as ``encode``). Each page
becomes a row ``path#page=N`` (``page`` = N, 1-based) whose vector is ``encode_document`` of the page image, whose
``text`` is the page's text layer, and whose thumbnail is written to the search page's cache while the page is in
memory. With ``text_layer`` (or a model that embeds text but not images) the page's text layer is embedded too,
as the row ``path#page=N&layer=text`` (modality ``text``); pages without a text layer (scans) get no such row.

Example:
    >>> from omniembed.index.pages import page_plan
    >>> page_plan(("text", "image"), text_layer=False), page_plan(("text",), text_layer=False)
    ((True, False), (False, True))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omniembed.errors import InputError, MediaDecodeError
from omniembed.index.reading import stored_text
from omniembed.index.schema import row_id

__all__ = ["DEFAULT_PAGE_DPI", "page_plan", "page_rows"]

# Pages are rendered at 72 dpi (one pixel per point: 612 x 792 for a Letter page): more than CLIP-sized models'
# 224 px input, and the cheapest render (docs/documents.md: render time grows with the pixel count).
DEFAULT_PAGE_DPI = 72.0


def page_plan(modalities: tuple[str, ...] | list[str], *, text_layer: bool) -> tuple[bool, bool]:
    """``(embed page images, embed page text layers)`` for a store whose model embeds ``modalities``."""
    images = "image" in modalities
    return images, "text" in modalities and (text_layer or not images)


def page_rows(model: Any, item: Any, *, modalities: tuple[str, ...], text_layer: bool, batch_size: int,
              dpi: float = DEFAULT_PAGE_DPI, limits: Any = None, thumbnails: Any = None) -> list[dict[str, Any]]:
    """The rows of every page of the document ``item`` (a :class:`~omniembed.index.reading.ReadItem`).

    Raises :class:`~omniembed.errors.InputError` (naming the page where one is at fault) when the document cannot
    be rendered, or when no page gave anything to embed (a scan, with a text-only model)."""
    from omniembed.inputs import document_pages

    images, texts = page_plan(modalities, text_layer=text_layer)
    rows: list[dict[str, Any]] = []
    batch: list[Any] = []
    source = item.data if item.data is not None else item.path
    with document_pages(source, dpi=dpi, limits=limits, text=True) as pages:
        for page in pages:
            if thumbnails is not None:
                thumbnails.put(item.path, item.content_hash, page.thumbnail(thumbnails.size), page=page.number)
            batch.append(page)
            if len(batch) >= batch_size:
                rows += _embed_pages(model, item, batch, images, texts)
                batch = []
        if batch:
            rows += _embed_pages(model, item, batch, images, texts)
    if not rows:
        raise MediaDecodeError("no page has a text layer (a scan?) and the store's model embeds only text",
                               item=item.path)
    return rows


def _embed_pages(model: Any, item: Any, pages: list[Any], images: bool, texts: bool) -> list[dict[str, Any]]:
    rows = []
    kwargs = {"batch_size": len(pages), "show_progress_bar": False, "convert_to_numpy": True}
    if images:
        vectors = model.encode_document([page.image for page in pages], **kwargs)
        rows += [_row(item, page, "image", vector, None) for page, vector in zip(pages, vectors)]
    with_text = [page for page in pages if page.text and page.text.strip()] if texts else []
    if with_text:
        vectors = model.encode_document([{"text": page.text} for page in with_text], **kwargs)
        rows += [_row(item, page, "text", vector, "text") for page, vector in zip(with_text, vectors)]
    for row in rows:
        if not np.all(np.isfinite(row["vector"])):
            raise InputError(f"page {row['page']}: the model returned a non-finite embedding", item=item.path)
    return rows


def _row(item: Any, page: Any, modality: str, vector: Any, layer: str | None) -> dict[str, Any]:
    return {"id": row_id(item.path, page.number, layer), "path": item.path, "page": page.number,
            "modality": modality, "size": item.size, "mtime": item.mtime, "content_hash": item.content_hash,
            "metadata": item.source.metadata, "text": stored_text(page.text), "vector": vector}
