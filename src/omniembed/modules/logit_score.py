"""LogitScore: a causal LM's next-token logits → one relevance score per row (rerankers such as Qwen3-Reranker).

``score = logits[:, -1, true_token_id] − logits[:, -1, false_token_id]`` (just the true logit when
``false_token_id`` is None), as a (B, 1) float32 tensor. The last position is the next-token prediction
because causal models are left-padded. Folder: ``config.json`` ``{"true_token_id", "false_token_id",
"module_input_name"}`` (``module_output_name`` is added only when it is not ``"scores"``).

Example:
    >>> import torch
    >>> from omniembed.modules.logit_score import LogitScore
    >>> logits = torch.tensor([[[0.0, 0.0, 0.0], [0.5, 3.0, 1.0]]])  # (B=1, L=2, V=3)
    >>> LogitScore(true_token_id=1, false_token_id=2)({"causal_logits": logits})["scores"].tolist()
    [[2.0]]
"""

from __future__ import annotations

import logging
import os
from typing import Any, ClassVar

import torch

from omniembed.modules.base import Module, read_json

logger = logging.getLogger(__name__)


class LogitScore(Module):
    """Turns ``features[module_input_name]`` (B, L, V) or (B, V) into ``features[module_output_name]`` (B, 1)."""

    config_keys: ClassVar[list[str]] = ["true_token_id", "false_token_id", "module_input_name"]

    def __init__(
        self,
        true_token_id: int,
        false_token_id: int | None = None,
        module_input_name: str = "causal_logits",
        module_output_name: str = "scores",
    ) -> None:
        super().__init__()
        self.true_token_id = int(true_token_id)
        self.false_token_id = None if false_token_id is None else int(false_token_id)
        self.module_input_name = module_input_name
        self.module_output_name = module_output_name

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        logits: torch.Tensor = features[self.module_input_name]
        last = logits[:, -1, :] if logits.dim() == 3 else logits  # (B, V): the next-token distribution
        score = last[:, self.true_token_id].float()
        if self.false_token_id is not None:
            score = score - last[:, self.false_token_id].float()
        features[self.module_output_name] = score.unsqueeze(-1)
        return features

    def get_config_dict(self) -> dict[str, Any]:
        config = super().get_config_dict()
        if self.module_output_name != "scores":
            config["module_output_name"] = self.module_output_name
        return config

    def extra_repr(self) -> str:
        return repr(self.get_config_dict())

    @classmethod
    def load(cls, path: str, **kwargs: Any) -> LogitScore:
        config = read_json(os.path.join(path, cls.config_file_name))
        accepted = {*cls.config_keys, "module_output_name"}
        unknown = sorted(set(config) - accepted)
        if unknown:
            logger.warning("Ignoring unrecognized LogitScore config key(s) %s in %r.", unknown, path)
        return cls(**{k: v for k, v in config.items() if k in accepted})
