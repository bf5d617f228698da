"""Normalize: L2-normalise an embedding over its last dimension (unit length, so dot product = cosine).

On disk the folder holds ``config.json`` with the input/output names only; an empty folder (as
all-MiniLM-L6-v2 ships ``2_Normalize/``), or none at all, loads the default module.

Example:
    >>> import torch
    >>> from omniembed.modules.normalize import Normalize
    >>> Normalize()({"sentence_embedding": torch.tensor([[3.0, 4.0]])})["sentence_embedding"].tolist()
    [[0.6000000238418579, 0.800000011920929]]
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from omniembed.modules.base import Module, read_json


class Normalize(Module):
    """L2-normalises ``features[module_input_name]`` into ``features[module_output_name]``."""

    config_keys: ClassVar[list[str]] = ["module_input_name", "module_output_name"]

    def __init__(self, module_input_name: str = "sentence_embedding", module_output_name: str | None = None) -> None:
        super().__init__()
        self.module_input_name = module_input_name
        self.module_output_name = module_output_name if module_output_name is not None else module_input_name

    def forward(self, features: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        x = features.get(self.module_input_name)
        if torch.is_tensor(x):  # a missing key is left alone, as in the reference
            features[self.module_output_name] = F.normalize(x, p=2, dim=-1)
        return features

    def extra_repr(self) -> str:
        return repr(self.get_config_dict())

    @classmethod
    def load(cls, path: str = "", **kwargs: Any) -> Normalize:
        config = read_json(os.path.join(path, cls.config_file_name), default={}) if path else {}
        return cls(**{k: v for k, v in config.items() if k in cls.config_keys})
