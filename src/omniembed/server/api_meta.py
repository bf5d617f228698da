"""``GET /v1/models``, ``GET /health`` and ``GET /metrics``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from omniembed.server.schemas import Health, ModelList
from omniembed.server.state import ServerState

__all__ = ["router"]

router = APIRouter(tags=["service"])


@router.get("/v1/models", response_model=ModelList, summary="List the served models (OpenAI)")
async def list_models(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.omniembed
    state.require_ready()
    return JSONResponse({"object": "list", "data": [m.describe() for m in state.models]})


@router.get("/health", response_model=Health, summary="200 once every model is loaded, else 503",
            responses={503: {"model": Health}})
async def health(request: Request) -> JSONResponse:
    state: ServerState = request.app.state.omniembed
    if state.status == "ready":
        return JSONResponse({"status": "ok"})
    body = {"status": state.status}
    if state.error is not None:
        body["error"] = f"{type(state.error).__name__}: {state.error}"
    return JSONResponse(body, status_code=503)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    state: ServerState = request.app.state.omniembed
    content, content_type = state.metrics.render()
    return Response(content, media_type=content_type)
