"""ASGI middlewares that answer before FastAPI parses anything: API key, body size, request metrics.

They are plain ASGI (no per-request task or thread), so they add microseconds, and they answer with the same
OpenAI-shaped JSON errors as the routes.

Example:
    >>> from omniembed.server.middleware import bearer_token
    >>> bearer_token([(b"authorization", b"Bearer s3cret")])
    's3cret'
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

from omniembed.server.errors import error_response_bytes
from omniembed.server.metrics import Metrics

__all__ = ["ApiKeyMiddleware", "BodyLimitMiddleware", "RequestMetricsMiddleware", "bearer_token"]

Scope = dict[str, Any]
ASGIApp = Callable[..., Any]


async def _send_json(send: Callable, status: int, body: bytes, headers: Iterable[tuple[bytes, bytes]] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})


def bearer_token(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive), else None."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return None


class ApiKeyMiddleware:
    """Every route but the public ones (``/health``) needs ``Authorization: Bearer <api_key>``."""

    def __init__(self, app: ASGIApp, api_key: str, public_paths: Iterable[str] = ("/health",)) -> None:
        self.app, self._key = app, api_key.encode()
        self.public_paths = frozenset(public_paths)

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("path") in self.public_paths:
            await self.app(scope, receive, send)
            return
        token = bearer_token(scope.get("headers") or ())
        if token is not None and hmac.compare_digest(token.encode(), self._key):
            await self.app(scope, receive, send)
            return
        message = ("Missing API key: send 'Authorization: Bearer <key>'." if token is None
                   else "Incorrect API key provided.")
        body = error_response_bytes(401, message, code="invalid_api_key")
        await _send_json(send, 401, body, [(b"www-authenticate", b"Bearer")])


class BodyLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with 413, by ``Content-Length`` or while reading the stream.

    The body is read here (it is read whole anyway to parse the JSON) and replayed to the app, so a chunked
    upload cannot get past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name.lower() == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await self._too_large(send)
                return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the real channel would

        await self.app(scope, replay, send)

    async def _too_large(self, send: Callable) -> None:
        megabytes = self.max_bytes / (1024 * 1024)
        body = error_response_bytes(413, f"The request body is larger than this server's limit of {megabytes:g} MB "
                                         "(--max-body-mb).", code="request_too_large")
        await _send_json(send, 413, body, [(b"connection", b"close")])


class RequestMetricsMiddleware:
    """Counts requests by route and status and times them. The route label is the matched route's path
    (which the router records in the shared scope), so unknown paths share the label ``other``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "other"
            self.metrics.requests.labels(route=route, status=str(status)).inc()
            self.metrics.latency.labels(route=route).observe(time.perf_counter() - started)
