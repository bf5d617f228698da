"""User-defined modules, written the way reference users write them, for the compatibility tests: saved folders
name them by this module path, so they load with ``trust_remote_code=True``."""

from __future__ import annotations

import json
import os
from typing import ClassVar

import torch
from torch import nn

from omniembed.models import InputModule, Module


class CharCounts(InputModule):
    """An input module: per text, the counts of a few characters (a 4-d vector), after the prompt."""

    config_keys: ClassVar[list[str]] = ["alphabet"]

    def __init__(self, alphabet: str = "aeio") -> None:
        super().__init__()
        self.alphabet = alphabet

    def preprocess(self, inputs, prompt=None, **kwargs):
        texts = [(prompt or "") + text for text in inputs]
        return {"counts": torch.tensor([[float(t.count(c)) for c in self.alphabet] for t in texts])}

    def forward(self, features, **kwargs):
        features["sentence_embedding"] = features["counts"]
        return features

    def get_embedding_dimension(self) -> int:
        return len(self.alphabet)

    def save(self, output_path, *args, safe_serialization=True, **kwargs):
        self.save_config(output_path)


class Scale(Module):
    """A module with weights, saved and loaded through the reference's helper methods only."""

    config_keys: ClassVar[list[str]] = ["dimension"]

    def __init__(self, dimension: int) -> None:
        super().__init__()
        self.dimension = dimension
        self.weight = nn.Parameter(torch.ones(dimension))

    def forward(self, features, **kwargs):
        features["sentence_embedding"] = features["sentence_embedding"] * self.weight
        return features

    def save(self, output_path, *args, safe_serialization=True, **kwargs):
        self.save_config(output_path)
        self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    @classmethod
    def load(cls, model_name_or_path, subfolder="", token=None, cache_folder=None, revision=None,
             local_files_only=False, **kwargs):
        hub = {"token": token, "cache_folder": cache_folder, "revision": revision, "local_files_only": local_files_only}
        module = cls(**cls.load_config(model_name_or_path, subfolder=subfolder, **hub))
        return cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=module, **hub)


class OldStyleShift(nn.Module):
    """A plain torch module with the sentence-transformers v2 save/load convention: ``load(input_path)``."""

    def __init__(self, shift: float) -> None:
        super().__init__()
        self.shift = shift

    def forward(self, features):
        features["sentence_embedding"] = features["sentence_embedding"] + self.shift
        return features

    def save(self, output_path, **kwargs):
        os.makedirs(output_path, exist_ok=True)
        with open(os.path.join(output_path, "shift.json"), "w") as handle:
            json.dump({"shift": self.shift}, handle)

    @staticmethod
    def load(input_path):
        with open(os.path.join(input_path, "shift.json")) as handle:
            return OldStyleShift(**json.load(handle))
