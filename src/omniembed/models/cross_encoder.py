"""CrossEncoder: score (query, document) pairs where either side is text, an image, audio, video or a mix.

Heads, chosen from the checkpoint when no ``modules.json`` says otherwise (reference §10):

* ``*ForSequenceClassification`` (BERT, XLM-RoBERTa, DeBERTa-v2…) → ``Transformer("sequence-classification")``;
* ``*ForCausalLM`` (Qwen3-Reranker-like) → ``Transformer("text-generation")`` + ``LogitScore(id("yes"), id("no"))``,
  left-padded, pairs rendered as ``query``/``document`` chat messages when the tokenizer has a chat template;
* a speech encoder–decoder (Whisper) → :class:`~omniembed.modules.generative_score.GenerativeScore`, scoring
  (audio, text) pairs by mean log p(text | audio) (omniembed only);
* VLM rerankers are assembled by hand, as in the reference: ``Transformer("any-to-any")`` + ``LogitScore``.

The choice is made in :mod:`omniembed.models.cross_encoder_heads`.

Example (a hub id such as ``"cross-encoder/ms-marco-MiniLM-L6-v2"`` or a local folder; here a tiny random
reranker, so the scores themselves mean nothing):
    >>> from omniembed import CrossEncoder
    >>> model = CrossEncoder(reranker_folder, device="cpu")
    >>> scores = model.predict([("How many people live in Berlin?", "Berlin has 3.5M people."), ("a", "b")])
    >>> scores.shape, scores.dtype
    ((2,), dtype('float32'))
    >>> ranking = model.rank("a cat", ["a dog", "https://example.com/cat.jpg"])
    >>> sorted(entry["corpus_id"] for entry in ranking), sorted(ranking[0])
    ([0, 1], ['corpus_id', 'score'])
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from omniembed.errors import ArgumentError, ConfigError, RemoteCodeError
from omniembed.models import cross_encoder_heads
from omniembed.models.base import ModelBase
from omniembed.models.reference_api import CrossEncoderReferenceAPI
from omniembed.processing.scores import (
    Scoring,
    as_pair_items,
    finalize_scores,
    is_singular_pair_input,
    order_ranking,
)

logger = logging.getLogger(__name__)

_POSITIONAL = ("num_labels", "max_length", "activation_fn", "device")
_RENAMED = {"model_name": "model_name_or_path", "automodel_args": "model_kwargs", "tokenizer_args": "processor_kwargs",
            "tokenizer_kwargs": "processor_kwargs", "config_args": "config_kwargs", "cache_dir": "cache_folder",
            "default_activation_function": "activation_fn"}


def _warn_renamed(kwargs: dict[str, Any], mapping: dict[str, str], owner: str) -> None:
    for old, new in mapping.items():
        if old in kwargs:
            value = kwargs.pop(old)
            logger.warning("The %s `%s` argument was renamed and is now deprecated. Please use `%s` instead.",
                           owner, old, new)
            kwargs.setdefault(new, value)


class CrossEncoder(CrossEncoderReferenceAPI, ModelBase):
    """Scores pairs jointly (see the module docstring for the heads).

    Arguments are the reference's: ``model_name_or_path``, ``modules``, ``device``, ``prompts`` (default ``{}``),
    ``default_prompt_name``, ``cache_folder``, ``trust_remote_code``, ``revision``, ``local_files_only``,
    ``token``, ``model_kwargs`` / ``processor_kwargs`` / ``config_kwargs``, ``num_labels`` (→ the config),
    ``max_length`` (→ the tokenizer's ``model_max_length``) and ``activation_fn``. ``media`` sets the default
    :class:`omniembed.inputs.MediaOptions` for media sides. Deprecated forms still work with a warning:
    positional ``num_labels, max_length, activation_fn, device``, and ``model_name``, ``automodel_args``,
    ``tokenizer_args``, ``config_args``, ``cache_dir``, ``default_activation_function``, ``classifier_dropout``.

    ``activation_fn`` is resolved as: the argument > the dotted path saved in ``config_sentence_transformers.json``
    (``torch.*`` only unless ``trust_remote_code``) > ``config.json``'s ``sentence_transformers.activation_fn`` (or
    the pre-v4 ``sbert_ce_default_activation_function``) > Sigmoid for one label, else Identity (a module may
    declare its own default: GenerativeScore's log-probabilities stay as they are).

    Example:
        >>> model = CrossEncoder(reranker_folder, num_labels=1, max_length=64, device="cpu")
        >>> model.activation_fn, model.num_labels, model.max_seq_length
        (Sigmoid(), 1, 64)
    """

    model_type: ClassVar[str] = "CrossEncoder"
    default_prompts: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        model_name_or_path: str | os.PathLike | None = None,
        *args: Any,
        num_labels: int | None = None,
        max_length: int | None = None,
        activation_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
        media: Any = None,
        keep_in_fp32_modules: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if len(args) > len(_POSITIONAL):
            raise ArgumentError(f"CrossEncoder takes at most {len(_POSITIONAL) + 1} positional arguments.")
        given = {"num_labels": num_labels, "max_length": max_length, "activation_fn": activation_fn}
        for name, value in zip(_POSITIONAL, args):  # v5.3-and-earlier positional order
            logger.warning("Passing `%s` as a positional argument to CrossEncoder is deprecated. Please use "
                           "`%s=%r` as a keyword argument instead.", name, name, value)
            if name == "device":
                kwargs.setdefault("device", value)
            elif given[name] is None:
                given[name] = value
        _warn_renamed(kwargs, _RENAMED, "CrossEncoder")
        for name in ("num_labels", "max_length", "activation_fn"):
            if name in kwargs:  # arrived through a renamed argument; the current name wins
                renamed = kwargs.pop(name)
                given[name] = given[name] if given[name] is not None else renamed
        model_name_or_path = kwargs.pop("model_name_or_path", model_name_or_path)
        if "classifier_dropout" in kwargs:
            dropout = kwargs.pop("classifier_dropout")
            logger.warning("The CrossEncoder `classifier_dropout` argument is deprecated. Please use "
                           "`config_kwargs={'classifier_dropout': %s}` instead.", dropout)
            kwargs["config_kwargs"] = {**(kwargs.get("config_kwargs") or {}), "classifier_dropout": dropout}
        if given["num_labels"] is not None:
            kwargs["config_kwargs"] = {**(kwargs.get("config_kwargs") or {}), "num_labels": given["num_labels"]}
        if given["max_length"] is not None:
            kwargs["processor_kwargs"] = {**(kwargs.get("processor_kwargs") or {}),
                                          "model_max_length": given["max_length"]}
        if keep_in_fp32_modules:
            logger.warning("keep_in_fp32_modules is not supported by omniembed and is ignored (models load in fp32 "
                           "unless model_kwargs asks for another dtype).")
        object.__setattr__(self, "_init_activation_fn", given["activation_fn"])
        super().__init__(model_name_or_path, **kwargs)
        if given["max_length"] is not None:
            self.max_seq_length = given["max_length"]  # beats a max_seq_length saved with the module, as in ST
        self.media = media

    def __setattr__(self, name: str, value: Any) -> None:
        # An activation is an nn.Module, but not a stage of the stack: keep it out of the Sequential.
        if name == "activation_fn":
            object.__setattr__(self, name, value)
            return
        super().__setattr__(name, value)

    # -- loading --------------------------------------------------------------------------------------------
    def _default_modules(self, path: str, load_kwargs: dict[str, Any]) -> list[nn.Module]:
        return cross_encoder_heads.default_modules(path, load_kwargs)

    def _apply_saved_config(self, saved: dict[str, Any]) -> None:
        first = self[0]
        if getattr(first, "transformer_task", None) in cross_encoder_heads.CAUSAL_TASKS:
            cross_encoder_heads.left_pad(first)  # the score is read at the last position
        activation = self._init_activation_fn
        if activation is None and saved.get("activation_fn"):
            activation = self._resolve_activation_fn(saved["activation_fn"])
        if activation is None:
            activation = self._config_activation_fn()
        if activation is None:
            declared = getattr(self[-1], "default_activation_fn", None)
            activation = self._resolve_activation_fn(declared) if declared else None
        if activation is None:
            activation = nn.Sigmoid() if self.num_labels == 1 else nn.Identity()
        self.activation_fn = activation

    def _resolve_activation_fn(self, path: str) -> Callable | None:
        """Import a saved dotted path: ``torch.*`` always, anything else only with ``trust_remote_code``."""
        from omniembed.serialization.registry import import_path

        try:
            target = import_path(path, trust_remote_code=bool(self._load_kwargs.get("trust_remote_code")),
                                 trusted_prefixes=("torch.",))
        except RemoteCodeError:
            logger.warning(
                "Activation function path '%s' is not trusted, using default activation function instead. Please "
                "load the CrossEncoder with `trust_remote_code=True` to allow loading custom activation functions "
                "via the configuration.", path)
            return None
        return target() if inspect.isclass(target) else target

    def _config_activation_fn(self) -> Callable | None:
        """The activation stored inside the Hugging Face ``config.json`` (v4+ and pre-v4 keys)."""
        config = self.config
        if config is None:
            return None
        stored = getattr(config, "sentence_transformers", None)
        path = stored.get("activation_fn") if isinstance(stored, dict) else None
        if path is None and getattr(config, "sbert_ce_default_activation_function", None) is not None:
            path = config.sbert_ce_default_activation_function
            del config.sbert_ce_default_activation_function  # migrated: saved as activation_fn from now on
        return self._resolve_activation_fn(path) if path else None

    # -- properties -----------------------------------------------------------------------------------------
    @property
    def num_labels(self) -> int:
        """Scores per pair: a trailing ``Dense`` → ``scores`` gives its width, LogitScore 1, else the config's."""
        for module in reversed(list(self)):
            if type(module).__name__ == "Dense" and getattr(module, "module_output_name", None) == "scores":
                return int(module.out_features)
            if hasattr(module, "num_labels"):
                return int(module.num_labels)
            if type(module).__name__ == "LogitScore":
                return 1
            if getattr(module, "auto_model", None) is not None:
                return int(getattr(module.auto_model.config, "num_labels", 1))
        return 1

    @property
    def config(self) -> Any:
        """The Hugging Face config of the backbone (None for stacks without one)."""
        return getattr(self[0], "config", None)

    @property
    def model(self) -> nn.Module | None:
        return self.transformers_model

    @property
    def max_length(self) -> int | None:
        logger.warning("The `max_length` property was renamed and is now deprecated. Please use `max_seq_length`.")
        return self.max_seq_length

    @max_length.setter
    def max_length(self, value: int) -> None:
        logger.warning("The `max_length` property was renamed and is now deprecated. Please use `max_seq_length`.")
        self.max_seq_length = value

    @property
    def default_activation_function(self) -> Callable:
        logger.warning("The `default_activation_function` property was renamed and is now deprecated. Please use "
                       "`activation_fn` instead.")
        return self.activation_fn

    def _config_to_save(self) -> dict[str, Any]:
        from omniembed.modules.dense import activation_path

        return {**super()._config_to_save(), "activation_fn": activation_path(self.activation_fn)}

    # -- scoring --------------------------------------------------------------------------------------------
    def is_singular_input(self, inputs: Any) -> bool:
        """True when ``inputs`` is one pair (a list/tuple whose first item is not a list/tuple)."""
        return is_singular_pair_input(inputs)

    def scoring_task(self, activation_fn: Callable | None = None, *, apply_softmax: bool = False) -> Scoring:
        """The :class:`~omniembed.processing.scores.Scoring` task of a call on this model (predict, preprocess)."""
        first = self[0]
        return Scoring(
            modalities=tuple(self.modalities), scorer=first if hasattr(first, "preprocess_pairs") else None,
            message_format=getattr(first, "message_format", "structured"), num_labels=self.num_labels,
            activation_fn=activation_fn if activation_fn is not None else self.activation_fn,
            apply_softmax=apply_softmax,
        )

    def predict(
        self,
        inputs: Any = None,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Callable | None = None,
        apply_softmax: bool | None = False,
        convert_to_numpy: bool = True,
        convert_to_tensor: bool = False,
        device: str | list[str] | None = None,
        pool: Any = None,
        chunk_size: int | None = None,
        *,
        on_error: Literal["raise", "skip"] = "raise",
        return_failures: bool = False,
        num_workers: int | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Score pairs: ``(query, document)`` each of any modality, or one pair alone.

        Returns a float32 numpy array (``convert_to_numpy``), a tensor (``convert_to_tensor``) or a list of
        tensors: shape ``(N,)`` for one label, ``(N, L)`` otherwise; for a single pair a scalar ``np.float32``
        (or an ``(L,)`` array). ``activation_fn`` overrides the model's for this call; ``apply_softmax``
        normalises multi-label scores. Unknown keyword arguments are ignored, as in the reference, except
        ``processing_kwargs`` (per-call processor options). Beyond the reference: ``on_error="skip"`` scores
        failed pairs NaN (``return_failures=True`` returns ``(scores, failures)`` with each failure's index and
        reason), ``num_workers`` threads decode media ahead of the model, ``media`` overrides MediaOptions.

        Example (a text reranker reads "cat.jpg" as text, as the reference does):
            >>> model = CrossEncoder(reranker_folder, device="cpu")
            >>> model.predict([("a cat", "a photo of a cat"), ("a cat", "cat.jpg")]).shape
            (2,)
            >>> type(model.predict(("a cat", "a dog"))).__name__
            'float32'
        """
        if inputs is None and "sentences" in kwargs:
            logger.warning("The `sentences` argument was renamed and is now deprecated. Please use `inputs`.")
            inputs = kwargs.pop("sentences")
        if activation_fn is None and "activation_fct" in kwargs:
            logger.warning("The `activation_fct` argument was renamed and is now deprecated. Please use "
                           "`activation_fn`.")
            activation_fn = kwargs.pop("activation_fct")
        if chunk_size is not None and chunk_size < 1:
            raise ConfigError(f"chunk_size must be a positive integer, got {chunk_size}.")
        devices = device if isinstance(device, (list, tuple)) else None
        ctx = self.call_context(
            prompt=self.resolve_prompt(prompt, prompt_name), batch_size=batch_size,
            show_progress_bar=show_progress_bar, device=None if devices else device, on_error=on_error, media=media,
            num_workers=num_workers, processing_kwargs=kwargs.get("processing_kwargs"),
        )
        task = self.scoring_task(activation_fn, apply_softmax=bool(apply_softmax))
        singular = is_singular_pair_input(inputs)
        items = as_pair_items(inputs, singular)
        rows, failures = self.run(ctx, task, items, pool=pool, devices=devices, chunk_size=chunk_size)
        scores = finalize_scores(rows, num_labels=task.num_labels, convert_to_numpy=convert_to_numpy and not
                                 convert_to_tensor, convert_to_tensor=convert_to_tensor, device=ctx.device)
        if singular:
            scores = scores[0]
        return (scores, failures) if return_failures else scores

    def rank(
        self,
        query: Any,
        documents: list[Any],
        top_k: int | None = None,
        return_documents: bool = False,
        prompt_name: str | None = None,
        prompt: str | None = None,
        batch_size: int = 32,
        show_progress_bar: bool | None = None,
        activation_fn: Callable | None = None,
        device: str | list[str] | None = None,
        pool: Any = None,
        chunk_size: int | None = None,
        *,
        on_error: Literal["raise", "skip"] = "raise",
        return_failures: bool = False,
        num_workers: int | None = None,
        media: Any = None,
        **kwargs: Any,
    ) -> Any:
        """Rank ``documents`` (any modalities) for ``query``: ``[{"corpus_id", "score"(, "text")}]``, best first.

        Scores are Python floats; ``top_k`` cuts the list; ``return_documents`` adds each document under
        ``"text"`` (whatever its type). Needs ``num_labels == 1``. ``apply_softmax``, ``convert_to_numpy`` and
        ``convert_to_tensor`` are accepted and ignored with a warning, as in the reference.

        With ``on_error="skip"`` a document that cannot be loaded or scored does not sink the ranking: it is
        placed **after every scored document, with score NaN** (failed documents keep their input order), so
        the list still has one entry per document and ``top_k`` drops failures first. ``return_failures=True``
        returns ``(results, failures)``, each failure carrying the document's index and the reason.

        Example (a text reranker cannot score an explicit image: that document fails and goes last):
            >>> model = CrossEncoder(reranker_folder, device="cpu")
            >>> ranking = model.rank("a cat", ["a dog", {"image": "cat.jpg"}, "a cat"], on_error="skip")
            >>> [entry["corpus_id"] for entry in ranking][-1], str(ranking[-1]["score"])
            (1, 'nan')
        """
        documents = list(documents)  # a generator would be consumed by the pairs below
        if self.num_labels != 1:
            raise ConfigError("CrossEncoder.rank() only works for models with num_labels=1. Consider using "
                              "CrossEncoder.predict() with input pairs instead.")
        for name in ("apply_softmax", "convert_to_numpy", "convert_to_tensor"):
            if name in kwargs:
                kwargs.pop(name)
                logger.warning("The CrossEncoder.rank `%s` argument is deprecated and has no effect, as `rank` "
                               "always returns Python floats. It will be removed in a future version.", name)
        scores, failures = self.predict(
            [[query, doc] for doc in documents], prompt_name=prompt_name, prompt=prompt, batch_size=batch_size,
            show_progress_bar=show_progress_bar, activation_fn=activation_fn, convert_to_tensor=True,
            device=device, pool=pool, chunk_size=chunk_size, on_error=on_error, return_failures=True,
            num_workers=num_workers, media=media, **kwargs,
        )
        results = order_ranking(scores.tolist(), top_k, documents if return_documents else None)
        return (results, failures) if return_failures else results
