"""SentenceTransformer: one ``encode()`` for text, images, audio, video and mixtures of them.

Example (``minilm_folder`` holds all-MiniLM-L6-v2; a hub id works the same):
    >>> from omniembed import SentenceTransformer
    >>> model = SentenceTransformer(minilm_folder, device="cpu")
    >>> emb = model.encode(["A man is eating food.", "A man is riding a horse."])
    >>> model.similarity(emb, emb).shape
    torch.Size([2, 2])
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from omniembed.errors import ConfigError
from omniembed.inputs.detect import is_singular_input
from omniembed.models.base import ModelBase
from omniembed.models.reference_api import renamed_argument
from omniembed.processing.embeddings import Embedding, as_items, check_model_kwargs, finalize_embeddings
from omniembed.util import similarity as sim
from omniembed.util.quantization import check_precision

logger = logging.getLogger(__name__)


class SentenceTransformer(ModelBase):
    """Embeds inputs of every modality the model supports into one vector space.

    Args mirror sentence-transformers: ``model_name_or_path`` (a folder or a hub id), ``modules``, ``device``,
    ``prompts``, ``default_prompt_name``, ``cache_folder``, ``trust_remote_code`` (False), ``revision``,
    ``local_files_only``, ``token``, ``model_kwargs`` / ``processor_kwargs`` / ``config_kwargs`` (forwarded to
    ``transformers``), ``similarity_fn_name`` and ``truncate_dim``. ``media`` sets the default
    :class:`omniembed.inputs.MediaOptions` (limits, fetch policy, decoding choices).
    """

    model_type: ClassVar[str] = "SentenceTransformer"
    default_prompts: ClassVar[dict[str, str]] = {"query": "", "document": ""}

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *,
        similarity_fn_name: str | sim.SimilarityFunction | None = None,
        truncate_dim: int | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> None:
        self._init_similarity = similarity_fn_name
        self._init_truncate_dim = truncate_dim
        super().__init__(model_name_or_path, **kwargs)
        self.media = media

    # -- loading --------------------------------------------------------------------------------------------
    def _default_modules(self, path: str, load_kwargs: dict[str, Any]) -> list[nn.Module]:
        from omniembed.modules import Pooling, Transformer

        transformer = Transformer.load(path, **load_kwargs)
        if transformer.module_output_name != "token_embeddings":
            return [transformer]
        architectures = getattr(transformer.config, "architectures", None) or []
        causal = bool(architectures) and architectures[0].endswith("ForCausalLM")
        causal = causal and getattr(transformer.config, "is_causal", None) is not False
        mode = "lasttoken" if causal else "mean"
        return [transformer, Pooling(transformer.get_word_embedding_dimension(), pooling_mode=mode)]

    def _apply_saved_config(self, saved: dict[str, Any]) -> None:
        name = self._init_similarity if self._init_similarity is not None else saved.get("similarity_fn_name")
        self._similarity_fn_name: str | None = None
        if name is not None:
            self.similarity_fn_name = name
        self.truncate_dim = self._init_truncate_dim if self._init_truncate_dim is not None else saved.get("truncate_dim")

    def _config_to_save(self) -> dict[str, Any]:
        config = {**super()._config_to_save(), "similarity_fn_name": self.similarity_fn_name}
        if self.truncate_dim is not None:
            config["truncate_dim"] = self.truncate_dim
        return config

    # -- encoding -------------------------------------------------------------------------------------------
    def encode(
        self,
        inputs: Any = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        output_value: Literal["sentence_embedding", "token_embeddings"] | None = "sentence_embedding",
        precision: Literal["float32", "int8", "uint8", "binary", "ubinary"] = "float32",
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | list[str] | None = None,
        normalize_embeddings: bool = False,
        truncate_dim: int | None = None,
        pool: Any = None,
        chunk_size: int | None = None,
        *,
        on_error: Literal["raise", "skip"] = "raise",
        return_failures: bool = False,
        num_workers: int | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Embed one input or a batch; see docs/inputs.md for every accepted input form.

        A string naming no existing file is text, as in the reference (on a model that embeds text); a
        ``pathlib.Path`` or ``{"image": path}`` makes a missing file a ``FileNotFoundError``
        (:class:`~omniembed.errors.MediaFileNotFoundError`). ``media`` takes a MediaOptions or a dict of its fields.

        Beyond the reference's parameters: ``on_error="skip"`` keeps going past bad items (their rows are
        NaN; ``return_failures=True`` returns ``(embeddings, failures)``), ``num_workers`` threads decode
        media ahead of the model (0 = inline), and ``media`` overrides the model's MediaOptions. A string that looks
        like a media path but names no file is embedded as text, as in the reference, and named in one warning per
        call (``MediaOptions(missing_files="text" | "warn" | "error")``; "error" fails those items instead).

        Example (a text model cannot embed an explicit image: that item fails, the others are embedded):
            >>> model = SentenceTransformer(minilm_folder, device="cpu")
            >>> emb, failures = model.encode(["a cat", {"image": "cat.jpg"}], on_error="skip", return_failures=True)
            >>> emb.shape, [failure.index for failure in failures]
            ((2, 384), [1])
        """
        inputs = renamed_argument(inputs, kwargs, "sentences", "inputs", "encode")
        devices = device if isinstance(device, (list, tuple)) else None
        ctx, task, finish = self._plan_encode(
            prompt_name=prompt_name, prompt=prompt, batch_size=batch_size, show_progress_bar=show_progress_bar,
            output_value=output_value, precision=precision, convert_to_numpy=convert_to_numpy,
            convert_to_tensor=convert_to_tensor, device=device, normalize_embeddings=normalize_embeddings,
            truncate_dim=truncate_dim, chunk_size=chunk_size, on_error=on_error, num_workers=num_workers,
            media=media, kwargs=kwargs,
        )
        singular = is_singular_input(inputs)
        items = as_items(inputs, singular)
        rows, failures = self.run(ctx, task, items, pool=pool, devices=devices, chunk_size=chunk_size)
        embeddings = finish(rows)
        if singular:
            embeddings = embeddings[0]
        return (embeddings, failures) if return_failures else embeddings

    def _plan_encode(self, *, prompt_name: str | None, prompt: str | None, batch_size: int,
                     show_progress_bar: bool | None, output_value: str | None, precision: str | None,
                     convert_to_numpy: bool, convert_to_tensor: bool, device: Any, normalize_embeddings: bool,
                     truncate_dim: int | None, chunk_size: int | None, on_error: str, num_workers: int | None,
                     media: Any, kwargs: dict[str, Any]) -> tuple[Any, Embedding, Callable[[list[Any]], Any]]:
        """An ``encode`` call's context, its task, and the function that turns its rows into the output; shared by
        ``encode`` and ``encode_iter`` so both check and resolve arguments the same way."""
        if chunk_size is not None and chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size}.")
        devices = device if isinstance(device, (list, tuple)) else None
        prompt = self.resolve_prompt(prompt, prompt_name)
        check_precision(precision, allow_none=True)
        check_model_kwargs(self, kwargs)
        if convert_to_tensor:
            convert_to_numpy = False
        if output_value != "sentence_embedding":
            convert_to_numpy = convert_to_tensor = False
        ctx = self.call_context(
            prompt=prompt, batch_size=batch_size, show_progress_bar=show_progress_bar,
            device=None if devices else device, on_error=on_error, media=media, num_workers=num_workers,
            processing_kwargs=kwargs.get("processing_kwargs"),
            forward_kwargs={k: v for k, v in kwargs.items() if k != "processing_kwargs"},
        )
        task = Embedding(
            modalities=tuple(self.modalities), owner=f"{type(self).__name__} model", output_value=output_value,
            truncate_dim=truncate_dim if truncate_dim is not None else self.truncate_dim,
            normalize_embeddings=normalize_embeddings,
        )
        finish = partial(finalize_embeddings, output_value=output_value, precision=precision,
                         convert_to_numpy=convert_to_numpy, convert_to_tensor=convert_to_tensor,
                         width=self.get_embedding_dimension(), dtype=self.dtype,
                         device=ctx.device)
        return ctx, task, finish

    def encode_iter(self, inputs: Iterable[Any], chunk_size: int | None = None, pool: Any = None,
                    device: str | list[str] | None = None, return_failures: bool = False,
                    **kwargs: Any) -> Iterator[tuple[Any, ...]]:
        """Embed any iterable (a generator over a million files) chunk by chunk, in bounded memory: yields
        ``(indices, embeddings)`` per chunk (``(indices, embeddings, failures)`` with ``return_failures``), in input
        order. ``kwargs`` are ``encode``'s; ``pool`` / ``device=[...]`` spread the chunks over worker processes
        with a few chunks in flight. See :mod:`omniembed.parallel.streaming`.

        Example:
            >>> model = SentenceTransformer(minilm_folder, device="cpu")
            >>> texts = (f"line {i}" for i in range(5))
            >>> [(indices.tolist(), emb.shape) for indices, emb in model.encode_iter(texts, chunk_size=2)]
            [([0, 1], (2, 384)), ([2, 3], (2, 384)), ([4], (1, 384))]
        """
        from omniembed.parallel.streaming import encode_iter

        return encode_iter(self, inputs, chunk_size=chunk_size, pool=pool, device=device,
                           return_failures=return_failures, **kwargs)

    def encode_query(self, inputs: Any = None, prompt_name: str | None = None, prompt: str | None = None, **kwargs: Any):
        """``encode`` with the ``query`` prompt (when configured) and ``task="query"`` for Router models."""
        inputs = renamed_argument(inputs, kwargs, "sentences", "inputs", "encode_query")
        if prompt is None and prompt_name is None and "query" in self.prompts:
            prompt_name = "query"
        kwargs.setdefault("task", "query")
        return self.encode(inputs, prompt_name=prompt_name, prompt=prompt, **kwargs)

    def encode_document(self, inputs: Any = None, prompt_name: str | None = None, prompt: str | None = None, **kwargs: Any):
        """``encode`` with the first of the ``document``/``passage``/``corpus`` prompts, and ``task="document"``."""
        inputs = renamed_argument(inputs, kwargs, "sentences", "inputs", "encode_document")
        if prompt is None and prompt_name is None:
            prompt_name = next((n for n in ("document", "passage", "corpus") if n in self.prompts), None)
        kwargs.setdefault("task", "document")
        return self.encode(inputs, prompt_name=prompt_name, prompt=prompt, **kwargs)

    def preprocess(self, inputs: list[Any], prompt: str | None = None, **kwargs: Any) -> dict[str, Any]:
        if len(inputs) == 0:
            return {}  # nothing to prepare, as in the reference
        return self[0].preprocess(inputs, prompt, **kwargs)

    # -- similarity -----------------------------------------------------------------------------------------
    @property
    def similarity_fn_name(self) -> str:
        if self._similarity_fn_name is None:
            self._similarity_fn_name = "cosine"
        return self._similarity_fn_name

    @similarity_fn_name.setter
    def similarity_fn_name(self, value: str | sim.SimilarityFunction | None) -> None:
        self._similarity_fn_name = None if value is None else sim.check_similarity_fn_name(value)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores between every pair of rows: shape (n, m), by ``similarity_fn_name``."""
        return sim.similarity_fn(self.similarity_fn_name)(embeddings1, embeddings2)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> torch.Tensor:
        """Scores between row i of each input: shape (n,)."""
        return sim.similarity_fn(self.similarity_fn_name, pairwise=True)(embeddings1, embeddings2)

    # -- dimensions -----------------------------------------------------------------------------------------
    def get_embedding_dimension(self) -> int | None:
        dim = None
        for module in reversed(list(self)):
            getter = getattr(module, "get_sentence_embedding_dimension", None)
            if getter is not None and getter() is not None:
                dim = getter()
                break
        if dim is not None and self.truncate_dim is not None:
            dim = min(dim, self.truncate_dim)
        return dim

    get_sentence_embedding_dimension = get_embedding_dimension

    @contextmanager
    def truncate_embeddings(self, truncate_dim: int | None) -> Iterator[None]:
        """Temporarily truncate embeddings to ``truncate_dim`` (Matryoshka models)."""
        original, self.truncate_dim = self.truncate_dim, truncate_dim
        try:
            yield
        finally:
            self.truncate_dim = original


