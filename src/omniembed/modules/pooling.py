"""Pooling: token embeddings (B, L, H) → one sentence embedding per row (B, H × number of modes).

Modes, as the reference library defines them:

* ``cls``: the first *attended* token (position 0 with right padding, the first real token with left padding);
  a precomputed ``cls_token_embeddings`` feature wins when present.
* ``max``: element-wise max over attended tokens (padding is masked with −inf).
* ``mean`` / ``mean_sqrt_len_tokens``: sum of attended tokens divided by n / √n.
* ``weightedmean``: weights 1, 2, 3… counted from the first real token, so left and right padding agree.
* ``lasttoken``: the last attended token (right or left padding).

A tuple of modes concatenates the results in the order given.

Choices (documented because the reference leaves them open):

* ``mean``, ``mean_sqrt_len_tokens`` and ``weightedmean`` accumulate in float32 and are cast back to the
  dtype of ``token_embeddings``, so fp16/bf16 models keep their dtype without fp16 summation error.
* A row with no attended token gives zeros in every mode (the reference gives −inf for ``max``; zeros keep
  a later Normalize from producing NaN).
* An ``attention_mask`` whose shape differs from (B, L) (vision tokens appended by the model) is ignored:
  every token counts.
* ``include_prompt=False`` drops the first ``prompt_length`` attended tokens of each row. The pruned mask
  replaces ``features["attention_mask"]`` (a new tensor; the caller's tensor is not modified). ``cls`` and the
  ``weightedmean`` origin still follow the padding mask, so dropping the prompt does not shift them.

Example:
    >>> import torch
    >>> from omniembed.modules.pooling import Pooling
    >>> tokens = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> mask = torch.tensor([[1, 1, 0]])
    >>> Pooling(2, ("mean", "lasttoken"))({"token_embeddings": tokens, "attention_mask": mask})[
    ...     "sentence_embedding"].tolist()
    [[2.0, 3.0, 3.0, 4.0]]
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from omniembed.errors import ArgumentError, ConfigError
from omniembed.modules.base import Module, read_json

logger = logging.getLogger(__name__)

POOLING_MODES: tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len_tokens", "weightedmean", "lasttoken")

# Boolean flags of configs saved before ``pooling_mode`` existed, in the reference's concatenation order.
LEGACY_FLAGS: dict[str, str] = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


def convert_legacy_config(config: dict[str, Any]) -> dict[str, Any]:
    """A saved Pooling config in today's keys (a new dict; the input is left alone).

    ``word_embedding_dimension`` → ``embedding_dimension``; ``pooling_mode_*`` flags → ``pooling_mode`` (one
    mode as a string, several as a tuple in the order cls, max, mean, mean_sqrt_len_tokens, weightedmean,
    lasttoken). An explicit ``pooling_mode`` wins over the flags.
    """
    config = dict(config)
    if "word_embedding_dimension" in config:
        legacy_dim = config.pop("word_embedding_dimension")
        if config.get("embedding_dimension") is None:
            config["embedding_dimension"] = legacy_dim
    flags = {key: config.pop(key) for key in list(config) if key in LEGACY_FLAGS}
    if flags and config.get("pooling_mode") is None:
        modes = tuple(mode for key, mode in LEGACY_FLAGS.items() if flags.get(key))
        if not modes:
            raise ConfigError(
                f"Invalid pooling configuration: none of the legacy flags {sorted(flags)} is true, so no pooling "
                f"mode is selected. Valid pooling modes are: {POOLING_MODES}"
            )
        config["pooling_mode"] = modes[0] if len(modes) == 1 else modes
    return config


def _check_mode(mode: Any) -> str:
    name = mode.lower() if isinstance(mode, str) else mode
    if name not in POOLING_MODES:
        raise ConfigError(f"Invalid pooling mode: {mode!r}. Valid pooling modes are: {POOLING_MODES}")
    return name


class Pooling(Module):
    """Pools token embeddings into a sentence embedding (see the module docstring for the modes)."""

    POOLING_MODES: ClassVar[tuple[str, ...]] = POOLING_MODES
    config_keys: ClassVar[list[str]] = ["embedding_dimension", "pooling_mode", "include_prompt"]

    def __init__(
        self,
        embedding_dimension: int | None = None,
        pooling_mode: str | Sequence[str] | None = "mean",
        include_prompt: bool = True,
        **legacy_kwargs: Any,
    ) -> None:
        super().__init__()
        if legacy_kwargs:
            unknown = sorted(k for k in legacy_kwargs if k not in LEGACY_FLAGS and k != "word_embedding_dimension")
            if unknown:
                raise ArgumentError(f"Pooling() got unexpected keyword argument(s) {unknown}")
            warnings.warn(
                "The pooling_mode_* / word_embedding_dimension arguments of Pooling are deprecated; pass "
                "embedding_dimension and pooling_mode (a mode or a tuple of modes) instead.",
                FutureWarning,
                stacklevel=2,
            )
            explicit_mode = None if any(legacy_kwargs.get(k) for k in LEGACY_FLAGS) else pooling_mode
            converted = convert_legacy_config(
                {"embedding_dimension": embedding_dimension, "pooling_mode": explicit_mode, **legacy_kwargs}
            )
            embedding_dimension, pooling_mode = converted["embedding_dimension"], converted["pooling_mode"]
        if embedding_dimension is None:
            raise ConfigError("Pooling needs embedding_dimension (the size of the token embeddings).")
        if pooling_mode is None:
            pooling_mode = "mean"
        if isinstance(pooling_mode, str):
            self.pooling_mode: str | tuple[str, ...] = _check_mode(pooling_mode)
        else:
            modes = tuple(_check_mode(m) for m in pooling_mode)
            if not modes:
                raise ConfigError(f"Invalid pooling mode: (). Valid pooling modes are: {POOLING_MODES}")
            self.pooling_mode = modes
        self.embedding_dimension = int(embedding_dimension)
        self.include_prompt = bool(include_prompt)

    # -- introspection --------------------------------------------------------------------------------------
    @property
    def pooling_modes(self) -> tuple[str, ...]:
        """The modes as a tuple, in concatenation order."""
        return (self.pooling_mode,) if isinstance(self.pooling_mode, str) else self.pooling_mode

    @property
    def pooling_output_dimension(self) -> int:
        return self.embedding_dimension * len(self.pooling_modes)

    @property
    def word_embedding_dimension(self) -> int:
        """The name older code used for :attr:`embedding_dimension`."""
        return self.embedding_dimension

    def get_sentence_embedding_dimension(self) -> int:
        return self.pooling_output_dimension

    get_embedding_dimension = get_sentence_embedding_dimension

    def get_config_dict(self) -> dict[str, Any]:
        mode = self.pooling_mode if isinstance(self.pooling_mode, str) else list(self.pooling_mode)
        return {"embedding_dimension": self.embedding_dimension, "pooling_mode": mode,
                "include_prompt": self.include_prompt}

    def extra_repr(self) -> str:
        return repr(self.get_config_dict())

    # -- forward --------------------------------------------------------------------------------------------
    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        tokens: torch.Tensor = features["token_embeddings"]
        batch, length = tokens.shape[0], tokens.shape[1]
        given = features.get("attention_mask")
        if torch.is_tensor(given) and tuple(given.shape) == (batch, length):
            padding = given.to(tokens.device) != 0
        else:  # missing, or a text mask next to vision tokens: every token counts
            padding = torch.ones(batch, length, dtype=torch.bool, device=tokens.device)

        keep = padding
        if not self.include_prompt and features.get("prompt_length") is not None:
            keep = _drop_prompt(padding, features["prompt_length"])
            mask_dtype = given.dtype if torch.is_tensor(given) else torch.long
            features["attention_mask"] = keep.to(mask_dtype)  # a new tensor: the caller's mask stays intact

        outputs = [self._pool(mode, tokens, padding, keep, features) for mode in self.pooling_modes]
        features["sentence_embedding"] = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=1)
        return features

    def _pool(self, mode: str, tokens: torch.Tensor, padding: torch.Tensor, keep: torch.Tensor,
              features: dict[str, Any]) -> torch.Tensor:
        if mode == "cls":
            cls_tokens = features.get("cls_token_embeddings")
            if torch.is_tensor(cls_tokens):
                return cls_tokens.to(tokens.dtype)
            return _pick(tokens, padding, first=True)
        if mode == "lasttoken":
            return _pick(tokens, keep, first=False)
        if mode == "max":
            masked = tokens.masked_fill(~keep.unsqueeze(-1), float("-inf"))
            best = masked.max(dim=1).values
            return best.masked_fill(~keep.any(dim=1, keepdim=True), 0.0)
        weights = keep.to(torch.float32)
        if mode == "weightedmean":
            # Position weights counted from each row's first real token, so left padding gives the same
            # weights as right padding; the prompt (if dropped) keeps its positions and gets weight 0.
            first = padding.to(torch.int64).argmax(dim=1, keepdim=True)
            positions = torch.arange(tokens.shape[1], device=tokens.device).unsqueeze(0)
            weights = weights * (positions - first + 1).clamp(min=0).to(torch.float32)
        summed = torch.bmm(weights.unsqueeze(1), tokens.to(torch.float32)).squeeze(1)
        total = weights.sum(dim=1, keepdim=True)
        if mode == "mean_sqrt_len_tokens":
            pooled = summed / total.clamp(min=1.0).sqrt()
        else:  # mean, weightedmean
            pooled = summed / total.clamp(min=1e-9)
        return pooled.to(tokens.dtype)

    # -- loading --------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Pooling:
        config = convert_legacy_config(read_json(os.path.join(path, cls.config_file_name)))
        unknown = sorted(set(config) - set(cls.config_keys))
        if unknown:  # keys from a newer or foreign save: ignore rather than fail to load
            logger.warning("Ignoring unrecognized Pooling config key(s) %s in %r.", unknown, path)
            config = {k: v for k, v in config.items() if k in cls.config_keys}
        return cls(**config)


def _drop_prompt(padding: torch.Tensor, prompt_length: Any) -> torch.Tensor:
    """``padding`` without the first ``prompt_length`` attended positions of each row."""
    if torch.is_tensor(prompt_length):
        lengths = prompt_length.to(padding.device, torch.int64).reshape(-1)
        if lengths.numel() == 1:
            lengths = lengths.expand(padding.shape[0])
        elif lengths.numel() != padding.shape[0]:
            raise ConfigError(
                f"prompt_length has {lengths.numel()} values for a batch of {padding.shape[0]} rows."
            )
    else:
        lengths = torch.full((padding.shape[0],), int(prompt_length), dtype=torch.int64, device=padding.device)
    rank = padding.to(torch.int64).cumsum(dim=1)  # 1 for the first attended token, 2 for the second…
    return padding & (rank > lengths.unsqueeze(1))


def _pick(tokens: torch.Tensor, mask: torch.Tensor, *, first: bool) -> torch.Tensor:
    """The first or last token of each row where ``mask`` is set; zeros for a row with none."""
    as_int = mask.to(torch.int64)
    if first:
        index = as_int.argmax(dim=1)  # argmax returns the first maximal position
    else:
        index = tokens.shape[1] - 1 - as_int.flip(dims=[1]).argmax(dim=1)
    picked = tokens[torch.arange(tokens.shape[0], device=tokens.device), index]
    return picked.masked_fill(~mask.any(dim=1, keepdim=True), 0.0)
