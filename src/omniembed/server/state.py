"""What one app holds: settings, the item policy, the media options, metrics, and the served models.

Models are given loaded, or loaded in a background thread at startup (``/health`` answers 503 until they are
ready, and the inference routes 503 "loading").
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from omniembed.server.errors import ApiError
from omniembed.server.items import ItemPolicy
from omniembed.server.metrics import Metrics
from omniembed.server.served import EmbeddingModel, RerankModel, ServedModel
from omniembed.server.settings import ServerSettings, build_media_options

__all__ = ["ServerState"]

logger = logging.getLogger(__name__)

ModelSource = Iterable[ServedModel] | Callable[[], Iterable[ServedModel]]


class ServerState:
    def __init__(self, settings: ServerSettings, models: ModelSource) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.media = build_media_options(settings)
        self.policy = ItemPolicy(local_root=settings.local_root)
        self._source = models
        self.models: list[ServedModel] = []
        self._by_name: dict[str, ServedModel] = {}
        self.status = "loading"
        self.error: BaseException | None = None
        self._loader: threading.Thread | None = None
        self.on_ready: list[Callable[[ServerState], None]] = []
        self.on_load_error: list[Callable[[BaseException], None]] = []

    # -- lifecycle -----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Install the models now (already loaded) or load them in a background thread (a callable)."""
        if callable(self._source):
            self._loader = threading.Thread(target=self._load_in_background, name="omniembed-model-loader",
                                            daemon=True)
            self._loader.start()
        else:
            self._install(list(self._source))

    def _load_in_background(self) -> None:
        try:
            models = list(self._source())  # type: ignore[operator]
            self._install(models)
        except BaseException as exc:  # noqa: BLE001 - reported through /health and the callbacks
            self.status, self.error = "failed", exc
            log = logger.info if self.on_load_error else logger.error  # a callback reports it itself
            log("Loading the models failed: %s: %s", type(exc).__name__, exc)
            for callback in self.on_load_error:
                callback(exc)

    def _install(self, models: list[ServedModel]) -> None:
        by_name: dict[str, ServedModel] = {}
        for served in models:
            for name in (served.name, *served.aliases):
                if name in by_name and by_name[name] is not served:
                    raise ApiError(500, f"two served models answer to {name!r}")
                by_name[name] = served
        for served in models:
            served.start(self.settings, self.media, self.metrics)
        self.models, self._by_name = models, by_name
        self.status = "ready"
        self.metrics.ready.set(1)
        for callback in self.on_ready:
            callback(self)

    def flush(self) -> None:
        """Shutting down: run what is queued now instead of waiting for batches to fill."""
        for served in self.models:
            if served.batcher is not None:
                served.batcher.flush()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the queued work of every model, then stop the batchers."""
        for served in self.models:
            served.stop(timeout)

    # -- lookups -------------------------------------------------------------------------------------------
    def require_ready(self) -> None:
        if self.status == "loading":
            raise ApiError(503, "The models are still loading; retry shortly.", code="loading",
                           headers={"Retry-After": "2"})
        if self.status != "ready":
            raise ApiError(503, f"The models failed to load: {self.error}", code="load_failed")

    def embedding_model(self, name: str | None) -> EmbeddingModel:
        return self._lookup(name, EmbeddingModel, "embedding")  # type: ignore[return-value]

    def rerank_model(self, name: str | None) -> RerankModel:
        return self._lookup(name, RerankModel, "rerank")  # type: ignore[return-value]

    def _lookup(self, name: str | None, cls: type, kind: str) -> Any:
        self.require_ready()
        candidates = [m for m in self.models if isinstance(m, cls)]
        if name is None or name == "":
            if len(candidates) == 1:
                return candidates[0]
            if not candidates:
                raise ApiError(404, f"This server has no {kind} model.", param="model", code="model_not_found")
            names = ", ".join(repr(m.name) for m in candidates)
            raise ApiError(400, f"'model' is required: this server has several {kind} models ({names}).",
                           param="model", code="model_required")
        served = self._by_name.get(name)
        if served is None:
            names = ", ".join(repr(m.name) for m in candidates) or "none"
            raise ApiError(404, f"The model {name!r} does not exist. {kind.capitalize()} models served here: "
                                f"{names}.", param="model", code="model_not_found")
        if not isinstance(served, cls):
            raise ApiError(400, f"The model {name!r} is a {served.kind} model, not a {kind} model.", param="model",
                           code="wrong_model_kind")
        return served
