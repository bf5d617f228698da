"""``POST /v1/rerank``, ``/v2/rerank`` and ``/rerank``: Cohere v2 / Jina shape, and TEI's ``texts`` shape.

A request with ``documents`` gets Cohere/Jina's answer (``{"id", "model", "results": [{"index",
"relevance_score", "document"?}], "usage", "meta"}``); a request with ``texts`` (and no ``documents``) gets TEI's
(a list of ``{"index", "score", "text"?}``). Results are sorted best first, as ``CrossEncoder.rank`` sorts them.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from omniembed.errors import InputError
from omniembed.server.errors import ApiError, ItemError, failures_error, item_error, run_batched
from omniembed.server.schemas import RerankRequest, RerankResponse
from omniembed.server.state import ServerState

__all__ = ["router"]

router = APIRouter(tags=["rerank"])


def _document_json(raw: Any) -> Any:
    return {"text": raw} if isinstance(raw, str) else raw


async def rerank(body: RerankRequest, request: Request) -> JSONResponse:
    state: ServerState = request.app.state.omniembed
    tei = body.documents is None and body.texts is not None
    if body.documents is not None and body.texts is not None:
        raise ApiError(400, "Send either 'documents' or 'texts', not both.", param="documents")
    documents: list[Any] = list(body.texts if tei else body.documents or [])  # type: ignore[arg-type]
    if body.documents is None and body.texts is None:
        raise ApiError(400, "'documents' is required.", param="documents", code="missing_documents")
    served = state.rerank_model(body.model)
    if len(documents) > state.settings.max_items:
        raise ApiError(413, f"{len(documents)} documents in one request; this server takes at most "
                            f"{state.settings.max_items} (--max-items).", param="documents", code="too_many_items")
    if body.prompt_name is not None and body.prompt_name not in served.model.prompts:
        raise ApiError(400, f"Unknown prompt_name {body.prompt_name!r}; this model's prompts: "
                            f"{sorted(served.model.prompts)}.", param="prompt_name", code="unknown_prompt")
    modalities = served.modalities
    try:
        query = state.policy.prepare(body.query, modalities=modalities, as_message=False)
    except InputError as exc:
        raise ApiError(400, f"query: {exc.reason}", param="query", code=type(exc).__name__) from None

    errors: dict[int, ItemError] = {}
    pairs: list[tuple[int, list[Any]]] = []
    for index, raw in enumerate(documents):
        try:
            document = state.policy.prepare(raw, modalities=modalities, as_message=False)
            pairs.append((index, [query, document]))
        except InputError as exc:
            errors[index] = item_error(index, exc, what="Document")
    if errors and body.on_error == "raise":
        raise failures_error([errors[i] for i in sorted(errors)], param="documents")

    assert served.batcher is not None
    future = served.batcher.submit((body.raw_scores, body.prompt_name), [pair for _, pair in pairs])
    results = await run_batched(asyncio.wrap_future(future))
    scores: dict[int, float] = {}
    tokens = 0
    for (index, _), result in zip(pairs, results):
        tokens += result.tokens
        if result.error is not None:
            errors[index] = item_error(index, result.error, what="Document")
        else:
            scores[index] = result.value
    ordered_errors = [errors[i] for i in sorted(errors)]
    if ordered_errors and body.on_error == "raise":
        raise failures_error(ordered_errors, param="documents")

    # CrossEncoder.rank's order: best first (a stable sort, so ties keep input order), failed documents last.
    ranking = sorted(scores, key=lambda i: scores[i], reverse=True) + sorted(errors)
    if body.top_n is not None:
        ranking = ranking[: body.top_n]
    if tei:
        return JSONResponse([{"index": i, "score": scores.get(i), **({"text": documents[i]} if body.return_text
                                                                      else {})} for i in ranking])
    results_json = []
    for i in ranking:
        entry: dict[str, Any] = {"index": i, "relevance_score": scores.get(i)}
        if body.return_documents:
            entry["document"] = _document_json(documents[i])
        results_json.append(entry)
    response: dict[str, Any] = {
        "id": str(uuid.uuid4()), "model": served.name, "results": results_json,
        "usage": {"total_tokens": tokens},
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
    }
    if body.on_error == "skip":
        response["failures"] = [e.as_json() for e in ordered_errors]
    return JSONResponse(response)


_DESCRIPTION = "Rerank documents (any modality) for a query; Cohere v2 / Jina shape, or TEI's with 'texts'."
for _path in ("/v1/rerank", "/v2/rerank", "/rerank"):
    router.add_api_route(_path, rerank, methods=["POST"], response_model=RerankResponse, summary="Rerank",
                         description=_DESCRIPTION, response_model_exclude_none=True,
                         include_in_schema=_path != "/v2/rerank")
