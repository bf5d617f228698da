"""``POST /v1/embeddings`` (and ``/embeddings``): OpenAI's request and response, for every modality."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import Response

from omniembed.errors import InputError
from omniembed.server.errors import ApiError, ItemError, failures_error, item_error, run_batched
from omniembed.server.items import is_token_array
from omniembed.server.schemas import EmbeddingRequest, EmbeddingResponse
from omniembed.server.served import EmbeddingModel, ItemResult
from omniembed.server.state import ServerState

__all__ = ["router"]

router = APIRouter(tags=["embeddings"])
# Responses with more floats than this are serialised on a worker thread, not on the event loop.
_INLINE_FLOATS = 65_536


def _raw_items(body: EmbeddingRequest) -> tuple[list[Any], bool]:
    """The request's items, and whether they are one vLLM ``messages`` conversation."""
    if body.messages is not None:
        if body.input is not None:
            raise ApiError(400, "Send either 'input' or 'messages', not both.", param="messages")
        return [body.messages], True
    value = body.input
    if value is None:
        raise ApiError(400, "'input' is required.", param="input", code="missing_input")
    if is_token_array(value):
        raise ApiError(400, "Token-id arrays are not accepted: send the text itself. (LangChain's OpenAIEmbeddings "
                            "sends token ids unless check_embedding_ctx_length=False.)", param="input",
                       code="token_arrays_not_supported")
    if isinstance(value, (str, dict)):
        return [value], False
    if not value:
        raise ApiError(400, "'input' must not be an empty list.", param="input", code="empty_input")
    return list(value), False


def _lane(item: Any, text_only: bool) -> str:
    """Plain text and media run in separate model calls, so a slow URL never holds up a text-only request."""
    if isinstance(item, str) and text_only:
        return "text"
    return "text" if isinstance(item, dict) and set(item) == {"text"} else "media"


async def _run(served: EmbeddingModel, key: tuple, items: list[Any], text_only: bool) -> list[ItemResult]:
    lanes: dict[str, list[int]] = {}
    for position, item in enumerate(items):
        lanes.setdefault(_lane(item, text_only), []).append(position)
    assert served.batcher is not None
    futures = {lane: served.batcher.submit((*key, lane), [items[p] for p in positions])
               for lane, positions in lanes.items()}
    done = await asyncio.gather(*(asyncio.wrap_future(f) for f in futures.values()))
    results: list[Any] = [None] * len(items)
    for lane, lane_results in zip(futures, done):
        for position, result in zip(lanes[lane], lane_results):
            results[position] = result
    return results


def _vector(row: np.ndarray, dimensions: int | None) -> np.ndarray:
    row = np.asarray(row, dtype=np.float32)
    if dimensions is not None:
        row = row[:dimensions]
        norm = float(np.linalg.norm(row))
        if norm > 0:
            row = row / norm
    return row.astype("<f4", copy=False)


def _render(body: EmbeddingRequest, served: EmbeddingModel, rows: list[np.ndarray | None], tokens: int,
            errors: list[ItemError]) -> bytes:
    data = []
    for index, row in enumerate(rows):
        if row is None:
            embedding: Any = None
        else:
            vector = _vector(row, body.dimensions)
            embedding = (base64.b64encode(vector.tobytes()).decode("ascii") if body.encoding_format == "base64"
                         else vector.tolist())
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    response: dict[str, Any] = {"object": "list", "data": data, "model": served.name,
                                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
    if body.on_error == "skip":
        response["failures"] = [e.as_json() for e in errors]
    return json.dumps(response, separators=(",", ":")).encode()


@router.post("/v1/embeddings", response_model=EmbeddingResponse, summary="Create embeddings (OpenAI)")
async def create_embeddings(body: EmbeddingRequest, request: Request) -> Response:
    """Embed text, images, audio, video and combinations; see docs/serving.md for every accepted item form."""
    state: ServerState = request.app.state.omniembed
    served = state.embedding_model(body.model)
    raws, is_conversation = _raw_items(body)
    if len(raws) > state.settings.max_items:
        raise ApiError(413, f"{len(raws)} items in one request; this server takes at most "
                            f"{state.settings.max_items} (--max-items).", param="input", code="too_many_items")
    if body.prompt_name is not None and body.prompt_name not in served.model.prompts:
        raise ApiError(400, f"Unknown prompt_name {body.prompt_name!r}; this model's prompts: "
                            f"{sorted(served.model.prompts)}.", param="prompt_name", code="unknown_prompt")
    width = served.dimensions
    if body.dimensions is not None and width is not None and body.dimensions > width:
        raise ApiError(400, f"dimensions={body.dimensions} is more than this model's {width}.", param="dimensions")

    errors: dict[int, ItemError] = {}
    prepared: list[tuple[int, Any]] = []
    modalities = served.modalities
    for index, raw in enumerate(raws):
        try:
            item = (state.policy.prepare_messages(raw, modalities=modalities) if is_conversation
                    else state.policy.prepare(raw, modalities=modalities, modality=body.modality))
        except InputError as exc:
            errors[index] = item_error(index, exc)
            continue
        prepared.append((index, item))
    if errors and body.on_error == "raise":
        raise failures_error([errors[i] for i in sorted(errors)], param="input")

    text_only = not any(m != "text" for m in modalities)
    results = await run_batched(_run(served, (body.task, body.prompt_name), [item for _, item in prepared], text_only))
    rows: list[np.ndarray | None] = [None] * len(raws)
    tokens = 0
    for (index, _), result in zip(prepared, results):
        tokens += result.tokens
        if result.error is not None:
            errors[index] = item_error(index, result.error)
        else:
            rows[index] = result.value
    ordered = [errors[i] for i in sorted(errors)]
    if ordered and body.on_error == "raise":
        raise failures_error(ordered, param="input")
    floats = len(raws) * (body.dimensions or width or 0)
    if floats > _INLINE_FLOATS:
        content = await asyncio.to_thread(_render, body, served, rows, tokens, ordered)
    else:
        content = _render(body, served, rows, tokens, ordered)
    return Response(content, media_type="application/json")
