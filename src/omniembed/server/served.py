"""The models a server holds: each wraps a loaded model, its dynamic batcher and what it reports about itself.

:class:`EmbeddingModel` runs ``SentenceTransformer.encode`` / ``encode_query`` / ``encode_document`` and
:class:`RerankModel` runs ``CrossEncoder.predict``, always with ``on_error="skip", return_failures=True``, so
one bad item never fails the items of other requests sharing its batch. Both run on their batcher's worker
thread; nothing here touches the event loop.

Example:
    >>> from omniembed.server.served import ModelSpec
    >>> ModelSpec.parse("minilm=/models/all-MiniLM-L6-v2", "embedding").name
    'minilm'
    >>> ModelSpec.parse("sentence-transformers/all-MiniLM-L6-v2", "embedding").name
    'sentence-transformers/all-MiniLM-L6-v2'
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from omniembed.errors import ConfigError
from omniembed.inputs import MediaOptions, infer_modality
from omniembed.server.batcher import DynamicBatcher
from omniembed.server.metrics import Metrics
from omniembed.server.settings import ServerSettings

__all__ = ["EmbeddingModel", "ItemResult", "ModelSpec", "RerankModel", "ServedModel", "load_models"]


@dataclass(frozen=True)
class ItemResult:
    """One item's outcome: ``value`` (an embedding row or a score) or ``error``; text tokens; its modality."""

    value: Any
    error: BaseException | None
    tokens: int
    modality: str


@dataclass(frozen=True)
class ModelSpec:
    """A model to load: ``name`` (what requests put in ``model``), ``path`` (folder or hub id), ``kind``."""

    name: str
    path: str
    kind: str  # "embedding" or "rerank"

    @classmethod
    def parse(cls, text: str, kind: str) -> ModelSpec:
        """``NAME=PATH`` or ``PATH``; a local folder is then named after its last component, a hub id is itself."""
        name, sep, path = text.partition("=")
        if sep and name and path and not os.path.exists(text):
            return cls(name, path, kind)
        path = text
        name = os.path.basename(os.path.normpath(path)) if os.path.isdir(path) else path
        return cls(name, path, kind)


class ServedModel:
    """One model behind the API (see the subclasses)."""

    kind: ClassVar[str] = ""

    def __init__(self, name: str, model: Any, *, aliases: Iterable[str] = ()) -> None:
        self.name, self.model = name, model
        self.aliases = tuple(a for a in aliases if a and a != name)
        self.batcher: DynamicBatcher | None = None
        self.media: MediaOptions | None = None
        self.batch_size = 32
        self.decode_workers: int | None = None
        self.metrics: Metrics | None = None

    @property
    def modalities(self) -> list[Any]:
        return list(self.model.modalities)

    def modality_names(self) -> list[str]:
        return ["+".join(m) if isinstance(m, tuple) else str(m) for m in self.modalities]

    def describe(self) -> dict[str, Any]:
        """The ``/v1/models`` entry (OpenAI's fields, then omniembed's)."""
        return {"id": self.name, "object": "model", "created": 0, "owned_by": "omniembed", "task": self.kind,
                "modalities": self.modality_names()}

    def start(self, settings: ServerSettings, media: MediaOptions, metrics: Metrics) -> None:
        self.media, self.metrics = media, metrics
        self.batch_size, self.decode_workers = settings.max_batch_size, settings.decode_workers
        self.batcher = DynamicBatcher(self.name, self.run, max_batch_size=settings.max_batch_size,
                                      wait_s=settings.batch_wait_ms / 1000.0, on_batch=metrics.observe_batch)
        self.batcher.start()
        metrics.queued.labels(model=self.name).set_function(lambda: self.batcher.queued_items if self.batcher else 0)

    def stop(self, timeout: float | None = None) -> None:
        if self.batcher is not None:
            self.batcher.close(timeout)

    def run(self, key: Hashable, items: list[Any]) -> list[ItemResult]:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- shared helpers (worker thread) --------------------------------------------------------------------
    def _common_kwargs(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "on_error": "skip", "return_failures": True,
                "show_progress_bar": False, "media": self.media, "num_workers": self.decode_workers}

    def _count_tokens(self, texts: Sequence[str | None]) -> list[int]:
        """Token counts (with special tokens, truncated as the model truncates); 0 for non-text, or if unknown."""
        counts = [0] * len(texts)
        wanted = [(i, t) for i, t in enumerate(texts) if isinstance(t, str)]
        tokenizer = getattr(self.model, "tokenizer", None)
        if not wanted or tokenizer is None or not callable(tokenizer):
            return counts
        limit = getattr(self.model, "max_seq_length", None)
        try:
            encoded = tokenizer([t for _, t in wanted], add_special_tokens=True, truncation=limit is not None,
                                max_length=limit)["input_ids"]
        except Exception:  # noqa: BLE001 - a processor without a plain text call: usage is informative, not worth failing for
            return counts
        for (i, _), ids in zip(wanted, encoded):
            counts[i] = len(ids)
        return counts

    def _modality(self, item: Any) -> str:
        try:
            modality = infer_modality(item, self.modalities)
        except Exception:  # noqa: BLE001 - a metrics label must never fail the batch
            return "invalid"
        return "+".join(modality) if isinstance(modality, tuple) else modality

    def _record(self, results: Sequence[ItemResult]) -> None:
        if self.metrics is None:
            return
        for result in results:
            self.metrics.items.labels(model=self.name, modality=result.modality).inc()
            if result.error is not None:
                self.metrics.item_errors.labels(model=self.name, type=type(result.error).__name__).inc()


def _text_of(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and isinstance(item.get("text"), str):
        return item["text"]
    if isinstance(item, list):  # a conversation: its text parts
        parts = []
        for message in item:
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                parts.append(content)
            elif isinstance(content, list):
                parts.extend(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str))
        return " ".join(parts) if parts else None
    return None


class EmbeddingModel(ServedModel):
    """A SentenceTransformer behind ``/v1/embeddings``. Batch key: ``(task, prompt_name)``."""

    kind = "embedding"

    @property
    def dimensions(self) -> int | None:
        return self.model.get_embedding_dimension()

    @property
    def prompt_names(self) -> list[str]:
        return sorted(name for name, text in self.model.prompts.items() if text)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "dimensions": self.dimensions, "prompts": self.prompt_names}

    def run(self, key: Hashable, items: list[Any]) -> list[ItemResult]:
        task, prompt_name = key[:2]  # type: ignore[index]  (the third part is the lane)
        model = self.model
        encode = {"query": model.encode_query, "document": model.encode_document}.get(task, model.encode)
        kwargs = self._common_kwargs()
        if prompt_name is not None:
            kwargs["prompt_name"] = prompt_name
        embeddings, failures = encode(items, **kwargs)
        errors = {f.index: f.error for f in failures}
        tokens = self._count_tokens([_text_of(item) for item in items])
        results = [
            ItemResult(None if i in errors else embeddings[i], errors.get(i), tokens[i], self._modality(item))
            for i, item in enumerate(items)
        ]
        self._record(results)
        return results


class RerankModel(ServedModel):
    """A CrossEncoder behind ``/v1/rerank`` and ``/rerank``. Items are (query, document) pairs.
    Batch key: ``(raw_scores, prompt_name)``."""

    kind = "rerank"

    def __init__(self, name: str, model: Any, *, aliases: Iterable[str] = ()) -> None:
        if getattr(model, "num_labels", 1) != 1:
            raise ConfigError(f"{name!r} has {model.num_labels} labels per pair; a reranker must give one score.")
        super().__init__(name, model, aliases=aliases)

    def run(self, key: Hashable, items: list[Any]) -> list[ItemResult]:
        raw_scores, prompt_name = key  # type: ignore[misc]
        kwargs = self._common_kwargs()
        if prompt_name is not None:
            kwargs["prompt_name"] = prompt_name
        if raw_scores:
            from torch import nn

            kwargs["activation_fn"] = nn.Identity()
        scores, failures = self.model.predict(items, convert_to_numpy=True, **kwargs)
        errors = {f.index: f.error for f in failures}
        queries = self._count_tokens([_text_of(q) for q, _ in items])
        documents = self._count_tokens([_text_of(d) for _, d in items])
        results = []
        for i, (_, document) in enumerate(items):
            score = float(scores[i])
            error = errors.get(i)
            if error is None and math.isnan(score):
                error = ValueError("the model returned a NaN score")
            results.append(ItemResult(None if error is not None else score, error, queries[i] + documents[i],
                                      self._modality(document)))
        self._record(results)
        return results


def load_models(specs: Sequence[ModelSpec], *, device: str | None = None) -> list[ServedModel]:
    """Load every model of ``specs`` (names must be unique)."""
    from omniembed import CrossEncoder, SentenceTransformer

    seen: set[str] = set()
    served: list[ServedModel] = []
    for spec in specs:
        if spec.name in seen:
            raise ConfigError(f"two models are named {spec.name!r}; name them with NAME=PATH")
        seen.add(spec.name)
        aliases = [spec.path] if spec.path != spec.name else []
        if spec.kind == "rerank":
            served.append(RerankModel(spec.name, CrossEncoder(spec.path, device=device), aliases=aliases))
        else:
            served.append(EmbeddingModel(spec.name, SentenceTransformer(spec.path, device=device), aliases=aliases))
    return served
