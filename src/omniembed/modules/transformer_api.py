"""The reference's public surface of its Transformer module, kept apart from the model-running code.

* ``model`` is the wrapped transformers model (the reference's name; ``auto_model`` stays an alias, and either
  name can be assigned). ``state_dict()`` keys therefore read ``model.…``, as in the reference.
* ``max_seq_length`` also sets the tokenizer's ``model_max_length``.
* ``get_embedding_dimension()``: the token (hidden) size, or the projection size of dual encoders.
* ``unpad_inputs``: accepted and saved. omniembed always pads (no FlashAttention packing), so ``True`` logs the
  reference's fallback warning.
* ``Transformer.load_config(path)``: the saved ``sentence_bert_config.json`` (or a legacy name), text-only when it
  predates multimodality.
* A ``sequence-classification`` checkpoint without a classification head gets one label
  (:func:`default_num_labels`).
* Deprecated arguments ``model_args`` / ``tokenizer_args`` / ``config_args`` are renamed with the reference's
  warning; ``modality_config`` entries must be dicts with ``method`` and ``method_output_name``.

Example:
    >>> renamed = rename_deprecated_args({"model_args": {"dtype": "float16"}})   # logs a deprecation warning
    >>> renamed
    {'model_kwargs': {'dtype': 'float16'}}
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from omniembed.errors import ConfigError

logger = logging.getLogger(__name__)

_RENAMED_ARGS = {"model_args": "model_kwargs", "tokenizer_args": "processor_kwargs", "config_args": "config_kwargs"}
TEXT_ONLY = {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}


def rename_deprecated_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    """``kwargs`` with the reference's renamed Transformer arguments moved to their new names (new names win)."""
    kwargs = dict(kwargs)
    for old, new in _RENAMED_ARGS.items():
        if old in kwargs:
            value = kwargs.pop(old)
            logger.warning("The Transformer `%s` argument was renamed and is now deprecated, please use `%s` "
                           "instead.", old, new)
            if kwargs.get(new) is None:
                kwargs[new] = value
            else:
                kwargs[new] = {**(value or {}), **kwargs[new]}
    return kwargs


def check_modality_config(modality_config: dict[Any, Any]) -> None:
    """Every entry must say which model method to call and which output to read."""
    for key, entry in modality_config.items():
        if not isinstance(entry, dict) or "method" not in entry or "method_output_name" not in entry:
            raise ConfigError(
                f"Invalid modality_config entry for {key!r}: each entry must be a dict with 'method' and "
                f"'method_output_name' keys, but got {entry!r}"
            )


def default_num_labels(config: Any, transformer_task: str, config_kwargs: dict[str, Any] | None) -> None:
    """A checkpoint without a classification head gets ONE label as a reranker (the reference's rule), not
    transformers' default of two: ``CrossEncoder("bert-base-uncased")`` scores ``(n,)``. An explicit
    ``num_labels`` (``config_kwargs`` / ``CrossEncoder(num_labels=...)``) is kept."""
    if transformer_task != "sequence-classification" or "num_labels" in (config_kwargs or {}):
        return
    architectures = getattr(config, "architectures", None) or []
    if not any(name.endswith("ForSequenceClassification") for name in architectures):
        config.num_labels = 1


class TransformerReferenceAPI:
    """Mixed into :class:`~omniembed.modules.Transformer` (see the module docstring)."""

    #: The config file names tried in order (the current one first).
    config_file_names: ClassVar[list[str]] = []

    def __setattr__(self, name: str, value: Any) -> None:
        # nn.Module registers a submodule under the name it is assigned to, bypassing properties: keep one child.
        super().__setattr__("model" if name == "auto_model" else name, value)

    @property
    def auto_model(self) -> Any:
        """The wrapped transformers model (older name of ``model``)."""
        return self.model

    @property
    def max_seq_length(self) -> int | None:
        return self.__dict__.get("_max_seq_length")

    @max_seq_length.setter
    def max_seq_length(self, value: int | None) -> None:
        self.__dict__["_max_seq_length"] = value
        tokenizer = getattr(self, "tokenizer", None)
        if value is not None and hasattr(tokenizer, "model_max_length"):
            tokenizer.model_max_length = value

    def get_embedding_dimension(self) -> int:
        return self.get_word_embedding_dimension()

    def _warn_unpad(self, unpad_inputs: bool | None) -> None:
        if unpad_inputs:
            logger.warning("unpad_inputs=True was set, but the prerequisites for skipping padding are not met. "
                           "Falling back to padded inputs.")

    @classmethod
    def load_config(cls, model_name_or_path: str, subfolder: str = "", config_filename: str | None = None,
                    token: bool | str | None = None, cache_folder: str | None = None, revision: str | None = None,
                    local_files_only: bool = False) -> dict[str, Any]:
        """The saved module config; one saved before multimodality (or none) reads as text-only."""
        names = [config_filename] if config_filename else cls.config_file_names
        config: dict[str, Any] = {}
        for name in names:
            config = super().load_config(model_name_or_path, subfolder=subfolder, config_filename=name, token=token,
                                         cache_folder=cache_folder, revision=revision,
                                         local_files_only=local_files_only)
            if config:
                break
        if "modality_config" not in config and "transformer_task" not in config:
            config = {**config, "modality_config": dict(TEXT_ONLY), "module_output_name": "token_embeddings"}
        return config
