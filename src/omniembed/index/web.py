"""The search page: one dependency-free HTML page and a small JSON API, as a FastAPI router.

Routes (relative to where the router is mounted):

=========================  ===========================================================================
``GET /``                  the page: query box, drop zone for query-by-example, modality filter, results
``GET /index/info``        store facts: model, dimension, rows per modality
``GET /index/search``      ``?q=TEXT&top_k=10&modality=image`` → ``{"results": [...]}``
``POST /index/search``     multipart ``file`` (an image, audio, video or text file) + ``top_k``, ``modality``
``GET /index/thumbnail``   ``?id=ROW_ID`` → a cached JPEG (images; video posters)
``GET /index/file``        ``?id=ROW_ID`` → the original file (audio players, full-size images)
=========================  ===========================================================================

Only files of rows in the store are served, and a file found by walking a folder is served only if it still
lies inside that folder once symbolic links are resolved.

``omniembed serve --db DB`` mounts it in the HTTP server (:mod:`omniembed.index.serving`); to mount it in
another FastAPI app::

    from omniembed.index import MediaIndex
    from omniembed.index.web import create_search_router
    app.include_router(create_search_router(MediaIndex.open(db, model=already_loaded_model)))

or run it alone from Python: :func:`serve_search_page`.

Example:
    >>> router = create_search_router(MediaIndex.open("photos.db"))   # doctest: +SKIP
    >>> sorted(route.path for route in router.routes)                  # doctest: +SKIP
    ['/', '/index/file', '/index/info', '/index/search', '/index/search', '/index/thumbnail']
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations at definition
# time, and they name classes of the lazily imported fastapi module.
import json
import os
from collections.abc import Callable
from importlib import resources
from typing import Any

from omniembed.errors import InputError, OmniEmbedError
from omniembed.index.errors import SearchQueryError
from omniembed.index.media_index import MediaIndex
from omniembed.index.reading import classify
from omniembed.index.search import FILTERS, SearchHit
from omniembed.index.thumbnails import ThumbnailCache, default_thumbnail_dir
from omniembed.optional import require

__all__ = ["MAX_UPLOAD_BYTES", "allowed_file", "create_search_app", "create_search_router", "serve_search_page"]

MAX_UPLOAD_BYTES = 32 * 1024 * 1024
_SNIPPET = 400
_MAX_TOP_K = 200


def _fastapi() -> Any:
    return require("fastapi", name="fastapi", purpose="The search page", extra="index", spec="fastapi")


def allowed_file(path: str, roots: list[str]) -> bool:
    """May the page serve ``path`` (a stored row's path)? A local regular file; if it lies in an indexed folder,
    its real path (symbolic links resolved) must lie in that folder's real path too."""
    if "://" in path or not os.path.isfile(path):
        return False
    for root in roots:
        if path.startswith(root.rstrip(os.sep) + os.sep):
            real_root = os.path.realpath(root).rstrip(os.sep) + os.sep
            return os.path.realpath(path).startswith(real_root)
    return True  # named one by one (an argument, a stdin line, a manifest row): served as itself


def create_search_router(index: MediaIndex, *, thumbnail_dir: str | None = None, rerank: Any = None,
                         max_upload_bytes: int = MAX_UPLOAD_BYTES, ready: Callable[[], bool] | None = None) -> Any:
    """A FastAPI ``APIRouter`` with the page and its API over ``index``. ``thumbnail_dir``: the thumbnail cache
    (default ``DB/_thumbnails``); ``rerank``: a CrossEncoder (or id) applied to every search; ``ready``: searches
    answer 503 while it returns False (a server still loading the model the index will use)."""
    fastapi = _fastapi()
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

    router = fastapi.APIRouter()
    cache = ThumbnailCache(thumbnail_dir or default_thumbnail_dir(index.db))
    page = resources.files("omniembed.index").joinpath("static/search.html").read_text(encoding="utf-8")

    def urls(request: Any) -> dict[str, str]:
        return {name: str(request.url_for(f"omniembed_index_{name}").path)
                for name in ("search", "info", "thumbnail", "file")}

    def hit_json(request: Any, hit: SearchHit, roots: list[str], links: dict[str, str]) -> dict[str, Any]:
        data = hit.to_dict()
        data["name"] = os.path.basename(hit.path.rstrip("/")) or hit.path
        data["text"] = hit.text[:_SNIPPET] if hit.text else None
        data["thumbnail"] = data["file"] = None
        from urllib.parse import quote

        if allowed_file(hit.path, roots):
            ref = quote(hit.id, safe="")
            data["file"] = f"{links['file']}?id={ref}"
            if hit.modality in ("image", "video") or hit.page is not None:
                data["thumbnail"] = f"{links['thumbnail']}?id={ref}"
        elif hit.path.startswith(("http://", "https://")):
            data["file"] = hit.path
            data["thumbnail"] = hit.path if hit.modality == "image" else None
        return data

    def run_search(request: Any, query: Any, top_k: int, modality: str | None) -> Any:
        if ready is not None and not ready():
            return JSONResponse({"error": "The model is still loading; retry shortly."}, status_code=503,
                                headers={"Retry-After": "2"})
        if modality in ("", "all"):
            modality = None
        if modality is not None and modality not in FILTERS:
            return _error(JSONResponse, 400, f"Unknown modality {modality!r}.")
        try:
            hits = index.search(query, top_k=max(1, min(int(top_k), _MAX_TOP_K)), modality=modality, rerank=rerank)
        except (SearchQueryError, InputError) as exc:
            return _error(JSONResponse, 400, str(exc))
        roots, links = index.roots(), urls(request)
        return {"results": [hit_json(request, h, roots, links) for h in hits]}

    @router.get("/", response_class=HTMLResponse, include_in_schema=False, name="omniembed_index_page")
    def search_page(request: fastapi.Request) -> Any:
        config = json.dumps(urls(request)).replace("</", "<\\/")
        return HTMLResponse(page.replace("/*OMNIEMBED_CONFIG*/{}", config))

    @router.get("/index/info", name="omniembed_index_info")
    def info() -> Any:
        store = index.store
        counts = {m: store.count(f"modality = '{m}'") for m in store.info.modalities}
        return {"model": store.info.model, "revision": store.info.revision, "dimension": store.info.dimension,
                "similarity": store.info.similarity, "rows": store.count(), "modalities": counts,
                "ann_index": store.has_vector_index()}

    @router.get("/index/search", name="omniembed_index_search")
    def search_text(request: fastapi.Request, q: str, top_k: int = 10, modality: str | None = None) -> Any:
        return run_search(request, q, top_k, modality)

    @router.post("/index/search", name="omniembed_index_search_file")
    async def search_file(request: fastapi.Request, file: fastapi.UploadFile, top_k: int = fastapi.Form(10),
                          modality: str | None = fastapi.Form(None)) -> Any:
        data = await file.read(max_upload_bytes + 1)
        if len(data) > max_upload_bytes:
            return _error(JSONResponse, 413, f"The file is larger than {max_upload_bytes // (1024 * 1024)} MiB.")
        kind = classify(data[:4096], file.filename or "")
        if kind is None:
            return _error(JSONResponse, 400, "Drop an image, audio, video or text file.")
        query: Any = data.decode("utf-8", errors="replace") if kind == "text" else {kind: data}
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(run_search, request, query, top_k, modality)

    def served_row(row_id: str) -> dict[str, Any]:
        row = index.get(row_id)
        if row is None or not allowed_file(row["path"], index.roots()):
            raise fastapi.HTTPException(404, "No such file in the index.")
        return row

    @router.get("/index/thumbnail", name="omniembed_index_thumbnail")
    def thumbnail(id: str) -> Any:
        row = served_row(id)
        try:
            target = cache.get(row["path"], row["modality"], row["content_hash"], page=row["page"])
        except (OmniEmbedError, ValueError, OSError) as exc:
            raise fastapi.HTTPException(404, f"No thumbnail: {exc}") from None
        return FileResponse(target, media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    @router.get("/index/file", name="omniembed_index_file")
    def original(id: str) -> Any:
        row = served_row(id)
        return FileResponse(row["path"], headers={"Cache-Control": "max-age=600"})

    return router


def create_search_app(index: "MediaIndex | str", **kwargs: Any) -> Any:
    """A FastAPI app serving only the search page (for running it without ``omniembed serve``)."""
    fastapi = _fastapi()
    if not isinstance(index, MediaIndex):
        index = MediaIndex.open(index)
    app = fastapi.FastAPI(title="omniembed search", docs_url=None, redoc_url=None)
    app.include_router(create_search_router(index, **kwargs))
    return app


def serve_search_page(index: "MediaIndex | str", host: str = "127.0.0.1", port: int = 8000, **kwargs: Any) -> None:
    """Serve the search page alone with uvicorn until interrupted (``omniembed serve --db DB`` serves it next to
    the embedding API)."""
    uvicorn = require("uvicorn", name="uvicorn", purpose="The search page", extra="index", spec="uvicorn")
    if not isinstance(index, MediaIndex):
        index = MediaIndex.open(index)
    _ = index.model  # load it now, so that the first search is not the one that waits for it
    app = create_search_app(index, **kwargs)
    print(f"omniembed search page on http://{host}:{port}/ (Ctrl+C to stop)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _error(response_class: Any, status: int, message: str) -> Any:
    return response_class({"error": message}, status_code=status)
