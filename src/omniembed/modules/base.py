"""The module contract: every module of a model stack saves and loads its own small config.

A model is a sequence of modules (``Transformer → Pooling → Dense → Normalize``). Each module reads a
``features`` dict and returns it with new entries (``token_embeddings``, ``sentence_embedding``, ``scores``…),
and owns a folder on disk: ``config.json`` (the keys in :attr:`Module.config_keys`) plus, when it has
parameters, ``model.safetensors``. The folder layout and keys are the reference library's, so either library
reads what the other wrote.

Example:
    >>> import torch
    >>> from omniembed.modules import Normalize
    >>> out = Normalize()({"sentence_embedding": torch.tensor([[3.0, 4.0]])})
    >>> out["sentence_embedding"].tolist()
    [[0.6000000238418579, 0.800000011920929]]
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from typing import Any, ClassVar

import torch
from torch import nn

from omniembed.errors import ModelLoadError

logger = logging.getLogger(__name__)

SAFETENSORS_NAME = "model.safetensors"
PICKLE_NAME = "pytorch_model.bin"


class Module(nn.Module):
    """Base class of every stack module.

    Subclasses set :attr:`config_keys` (constructor arguments saved to ``config_file_name``) and
    optionally :attr:`reference_type` (the class path written into ``modules.json``; omniembed's own modules
    are listed in :mod:`omniembed.serialization.registry`).
    """

    config_keys: ClassVar[list[str]] = []
    config_file_name: ClassVar[str] = "config.json"
    #: Saved in the model's root folder instead of ``{idx}_{ClassName}`` (Transformer, Router).
    save_in_root: ClassVar[bool] = False
    #: ``encode(**kwargs)`` names this module consumes in ``forward``.
    forward_kwargs: ClassVar[set[str]] = set()
    #: Dotted class path written to modules.json so the reference library can load our folders.
    reference_type: ClassVar[str | None] = None

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    # -- saving ---------------------------------------------------------------------------------------------
    def save(self, output_path: str, *, safe_serialization: bool = True) -> None:
        os.makedirs(output_path, exist_ok=True)
        write_json(os.path.join(output_path, self.config_file_name), self.get_config_dict())
        if any(True for _ in self.parameters()):
            save_state_dict(self.state_dict(), output_path, safe_serialization=safe_serialization)

    # -- loading --------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str, **kwargs: Any) -> Module:
        """Build the module from its folder. ``kwargs`` are load-time options (device, trust_remote_code…)
        that a module may use or ignore."""
        config = read_json(os.path.join(path, cls.config_file_name)) if path else {}
        module = cls(**config)
        if any(True for _ in module.parameters()):
            module.load_state_dict(load_state_dict(path, allow_pickle=bool(kwargs.get("allow_pickle"))))
        return module

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        return torch.device("cpu")


def run_stack(modules: Iterable[nn.Module], features: dict[str, Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Call each module in turn (``module(features)``, so forward hooks and ``torch.compile`` apply) with the
    call's keyword arguments it declares in ``forward_kwargs``. The one forward of SentenceTransformer,
    CrossEncoder and every Router route."""
    for module in modules:
        accepted = getattr(module, "forward_kwargs", ())
        features = module(features, **{k: v for k, v in kwargs.items() if k in accepted})
    return features


def write_json(path: str, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


def read_json(path: str, default: Any = None) -> Any:
    if not os.path.isfile(path):
        if default is not None:
            return default
        raise ModelLoadError(f"Missing configuration file {path!r}.")
    with open(path, encoding="utf-8") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as exc:
            raise ModelLoadError(f"Configuration file {path!r} is not valid JSON: {exc}") from exc


def save_state_dict(state: dict[str, torch.Tensor], folder: str, *, safe_serialization: bool = True) -> None:
    if safe_serialization:
        from safetensors.torch import save_file

        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, os.path.join(folder, SAFETENSORS_NAME))
    else:
        torch.save(state, os.path.join(folder, PICKLE_NAME))


def load_state_dict(folder: str, *, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """Safetensors first; a pickle file only with ``allow_pickle=True``, and then only through
    ``torch.load(weights_only=True)``, which refuses code."""
    safe = os.path.join(folder, SAFETENSORS_NAME)
    if os.path.isfile(safe):
        from safetensors.torch import load_file

        from omniembed.serialization.preflight import check_safetensors

        check_safetensors(safe)  # a truncated or inconsistent file is refused from its header, before reading
        return load_file(safe)
    pickled = os.path.join(folder, PICKLE_NAME)
    if os.path.isfile(pickled):
        if not allow_pickle:
            raise ModelLoadError(
                f"{pickled}: the weights are pickled, which can run code when loaded. Convert them to safetensors, "
                "or pass allow_pickle=True if you trust the source (they are then read with "
                "torch.load(weights_only=True)).")
        try:
            return torch.load(pickled, map_location="cpu", weights_only=True)
        except Exception as exc:  # an unsafe pickle is refused, not executed
            raise ModelLoadError(f"Could not load {pickled!r} safely (weights_only=True): {exc}") from exc
    raise ModelLoadError(f"No weights found in {folder!r} (expected {SAFETENSORS_NAME} or {PICKLE_NAME}).")
