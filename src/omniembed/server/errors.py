"""Errors as HTTP responses, in OpenAI's shape, so every client's error handling works unchanged.

``{"error": {"message", "type", "param", "code"}}`` with a 4xx status (OpenAI's Python client raises
``BadRequestError`` for 400, ``AuthenticationError`` for 401, ``NotFoundError`` for 404…). Per-item failures add
``"failures": [{"index", "type", "message"}]``, where ``type`` is the omniembed error class
(``MediaFetchError``, ``MediaDecodeError``…). No response ever carries a traceback.

Example:
    >>> from omniembed.server.errors import ApiError
    >>> err = ApiError(404, "The model 'x' does not exist.", param="model", code="model_not_found")
    >>> err.body()["error"]["code"]
    'model_not_found'
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from omniembed.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

__all__ = ["ApiError", "ItemError", "error_response_bytes", "failures_error", "item_error", "run_batched"]

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "invalid_request_error",
          413: "invalid_request_error", 503: "service_unavailable", 500: "server_error"}


class ApiError(Exception):
    """An error the server answers with ``status`` and an OpenAI-shaped body."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 failures: Sequence[dict[str, Any]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.failures = list(failures) if failures is not None else None
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "type": _TYPES.get(self.status, "invalid_request_error"),
                                 "param": self.param, "code": self.code}
        if self.failures is not None:
            error["failures"] = self.failures
        return {"error": error}


def error_response_bytes(status: int, message: str, *, code: str | None = None, param: str | None = None) -> bytes:
    """The JSON body of an error, for the ASGI middlewares that answer before FastAPI is reached."""
    return json.dumps(ApiError(status, message, code=code, param=param).body()).encode()


@dataclass(frozen=True)
class ItemError:
    """One failed item of a request: its index in the request, the error class name and a message."""

    index: int
    type: str
    message: str
    client_error: bool

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "type": self.type, "message": self.message}


def item_error(index: int, error: BaseException, *, what: str = "Item") -> ItemError:
    """Describe ``error`` as the failure of the request's item ``index`` (the batch's own index is dropped)."""
    if isinstance(error, InputError):
        where = f"{what} {index}"
        if error.item_description:
            where += f" ({error.item_description})"
        return ItemError(index, type(error).__name__, f"{where}: {error.reason}", True)
    return ItemError(index, type(error).__name__, f"{what} {index}: {type(error).__name__}: {error}", False)


def failures_error(errors: Sequence[ItemError], *, param: str) -> ApiError:
    """The response for a request whose items failed and that did not ask for ``on_error="skip"``."""
    first = errors[0]
    more = f" ({len(errors) - 1} more item(s) failed; see 'failures')" if len(errors) > 1 else ""
    status = 400 if all(e.client_error for e in errors) else 500
    return ApiError(status, first.message + more, param=f"{param}[{first.index}]", code=first.type,
                    failures=[e.as_json() for e in errors])


async def run_batched(call: Awaitable[Any]) -> Any:
    """Await a batched model call; a whole-call failure becomes an ApiError (per-item ones never get here)."""
    from omniembed.server.batcher import BatcherClosedError

    try:
        return await call
    except BatcherClosedError as exc:
        raise ApiError(503, f"The server is shutting down: {exc}", code="shutting_down") from None
    except (ConfigError, InputError) as exc:
        raise ApiError(400, str(exc), code=type(exc).__name__) from None
    except Exception as exc:
        logger.exception("A model call failed")
        raise ApiError(500, f"The model call failed: {type(exc).__name__}: {exc}", code=type(exc).__name__) from None
