"""``create_app``: the FastAPI application (routes, error shapes, middlewares, model lifecycle).

Example (``uvicorn.run(app, host="127.0.0.1", port=8000)`` serves it; here an in-process client calls it):
    >>> from fastapi.testclient import TestClient
    >>> from omniembed import SentenceTransformer
    >>> from omniembed.server import EmbeddingModel, ServerSettings, create_app
    >>> model = SentenceTransformer(minilm_folder)
    >>> app = create_app([EmbeddingModel("minilm", model)], ServerSettings(api_key="s3cret"))
    >>> with TestClient(app) as client:
    ...     reply = client.post("/v1/embeddings", json={"model": "minilm", "input": ["a cat"]},
    ...                         headers={"Authorization": "Bearer s3cret"})
    >>> reply.status_code, len(reply.json()["data"][0]["embedding"])
    (200, 384)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from omniembed.server import api_embeddings, api_meta, api_rerank
from omniembed.server.errors import ApiError
from omniembed.server.middleware import ApiKeyMiddleware, BodyLimitMiddleware, RequestMetricsMiddleware
from omniembed.server.settings import ServerSettings
from omniembed.server.state import ModelSource, ServerState

__all__ = ["PUBLIC_PATHS", "create_app"]

logger = logging.getLogger(__name__)

# Routes that answer without the API key: load balancers and orchestrators probe health without credentials.
PUBLIC_PATHS = ("/health",)


def create_app(
    models: ModelSource,
    settings: ServerSettings | None = None,
    *,
    extra_routers: Sequence[APIRouter] = (),
    public_paths: Sequence[str] = PUBLIC_PATHS,
    title: str = "omniembed",
) -> FastAPI:
    """The server as an ASGI app.

    ``models``: :class:`~omniembed.server.ServedModel` objects (``EmbeddingModel`` / ``RerankModel``), or a
    callable returning them, which then runs in a background thread at startup (``/health`` answers 503 until it
    returns). ``extra_routers`` are mounted after the built-in routes, behind the same API key, body limit and
    metrics (for example a search page); ``public_paths`` lists the paths that need no API key. The app's
    :class:`~omniembed.server.state.ServerState` is ``app.state.omniembed``.
    """
    from omniembed import __version__

    settings = settings or ServerSettings()
    state = ServerState(settings, models)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state.start()
        try:
            yield
        finally:
            # Uvicorn has already waited for in-flight requests; this drains whatever is still queued.
            await asyncio.to_thread(state.stop)

    app = FastAPI(title=title, version=__version__, lifespan=lifespan, docs_url="/docs", redoc_url=None,
                  description="Embeddings and reranking for text, images, audio and video "
                              "(OpenAI, Cohere, Jina and TEI request shapes). See docs/serving.md.")
    app.state.omniembed = state
    app.include_router(api_embeddings.router)
    app.include_router(api_rerank.router)
    app.include_router(api_meta.router)
    # Aliases without the /v1 prefix (infinity's and some clients' default paths).
    app.add_api_route("/embeddings", api_embeddings.create_embeddings, methods=["POST"], include_in_schema=False)
    app.add_api_route("/models", api_meta.list_models, methods=["GET"], include_in_schema=False)
    for router in extra_routers:
        app.include_router(router)
    _install_error_handlers(app, state)

    # Added innermost first: the request passes metrics → API key → body limit → the routes.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.api_key:
        app.add_middleware(ApiKeyMiddleware, api_key=settings.api_key, public_paths=public_paths)
    app.add_middleware(RequestMetricsMiddleware, metrics=state.metrics)
    return app


def _install_error_handlers(app: FastAPI, state: ServerState) -> None:
    def respond(error: ApiError) -> JSONResponse:
        state.metrics.request_errors.labels(code=error.code or str(error.status)).inc()
        return JSONResponse(error.body(), status_code=error.status, headers=error.headers)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return respond(exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return respond(_validation_api_error(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = f"{exc.detail}: {request.method} {request.url.path}" if exc.status_code in (404, 405) \
            else str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
        return respond(ApiError(exc.status_code, message, code=code, headers=getattr(exc, "headers", None)))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("Unexpected error on %s %s", request.method, request.url.path)
        return respond(ApiError(500, f"Internal server error ({type(exc).__name__}).", code="internal_error"))


def _validation_api_error(errors: Sequence[dict[str, Any]]) -> ApiError:
    """Pydantic's list of problems → one OpenAI-style 400 naming the offending field."""
    if not errors:
        return ApiError(400, "Invalid request.", code="invalid_request")
    first = errors[0]
    kind = first.get("type", "")
    if kind == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return ApiError(400, f"The request body is not valid JSON ({detail}).".replace(" ()", ""),
                        code="invalid_json")
    loc = [str(p) for p in first.get("loc", ()) if p != "body"]
    if not loc:
        return ApiError(400, "The request body must be a JSON object (send it with Content-Type: application/json).",
                        code="invalid_body")
    field = loc[0]
    same_field = [e for e in errors if [str(p) for p in e.get("loc", ()) if p != "body"][:1] == [field]]
    if kind == "missing":
        return ApiError(400, f"'{field}' is required.", param=field, code="missing_field")
    messages = list(dict.fromkeys(e.get("msg", "") for e in same_field))
    where = ".".join(loc) if len(same_field) == 1 else field
    return ApiError(400, f"Invalid '{where}': {' or '.join(messages)}.", param=field, code="invalid_value")
