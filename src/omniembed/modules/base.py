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

from omniembed.errors import ConfigError, ModelLoadError

logger = logging.getLogger(__name__)

SAFETENSORS_NAME = "model.safetensors"
PICKLE_NAME = "pytorch_model.bin"


class Module(nn.Module):
    """Base class of every stack module, with the reference's module API.

    Subclasses set :attr:`config_keys` (constructor arguments saved to ``config_file_name``), implement
    ``forward``, and optionally :attr:`reference_type` (the class path written into ``modules.json``; omniembed's
    own modules are listed in :mod:`omniembed.serialization.registry`). A module written for the reference
    (``sentence_transformers.models.Module``) works unchanged: ``save_config`` / ``save_torch_weights``,
    ``load_config`` / ``load_torch_weights`` / ``load_file_path`` / ``load_dir_path``, ``config_key_renames`` and
    ``get_embedding_dimension`` are the reference's names and signatures.

    Example:
        >>> import tempfile, torch
        >>> class Scale(Module):
        ...     config_keys = ["factor"]
        ...     def __init__(self, factor: float = 2.0):
        ...         super().__init__()
        ...         self.factor = factor
        ...     def forward(self, features, **kwargs):
        ...         features["sentence_embedding"] = features["sentence_embedding"] * self.factor
        ...         return features
        >>> folder = tempfile.mkdtemp()
        >>> Scale(3.0).save(folder)
        >>> Scale.load(folder).factor
        3.0
    """

    config_keys: ClassVar[list[str]] = []
    config_file_name: ClassVar[str] = "config.json"
    #: Old config keys read under their new names when loading (``{"word_embedding_dimension": ...}``).
    config_key_renames: ClassVar[dict[str, str]] = {}
    #: Saved in the model's root folder instead of ``{idx}_{ClassName}`` (Transformer, Router).
    save_in_root: ClassVar[bool] = False
    #: ``encode(**kwargs)`` names this module consumes in ``forward``.
    forward_kwargs: ClassVar[set[str]] = set()
    #: Dotted class path written to modules.json so the reference library can load our folders.
    reference_type: ClassVar[str | None] = None

    def get_config_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self.config_keys}

    # -- dimensions: the reference's new name and omniembed's (older) one, whichever a subclass defines ---------
    def get_embedding_dimension(self) -> int | None:
        if type(self).get_sentence_embedding_dimension is not Module.get_sentence_embedding_dimension:
            return self.get_sentence_embedding_dimension()
        return None

    def get_sentence_embedding_dimension(self) -> int | None:
        if type(self).get_embedding_dimension is not Module.get_embedding_dimension:
            return self.get_embedding_dimension()
        return None

    # -- saving ---------------------------------------------------------------------------------------------
    def save(self, output_path: str, *args: Any, safe_serialization: bool = True, **kwargs: Any) -> None:
        os.makedirs(output_path, exist_ok=True)
        self.save_config(output_path)
        if any(True for _ in self.parameters()):
            self.save_torch_weights(output_path, safe_serialization=safe_serialization)

    def save_config(self, output_path: str, filename: str | None = None) -> None:
        """Write :meth:`get_config_dict` as JSON to ``output_path/filename`` (default ``config_file_name``)."""
        os.makedirs(output_path, exist_ok=True)
        write_json(os.path.join(output_path, filename or self.config_file_name), self.get_config_dict())

    def save_torch_weights(self, output_path: str, safe_serialization: bool = True) -> None:
        """Write the state dict as ``model.safetensors`` (or ``pytorch_model.bin`` when not ``safe_serialization``)."""
        save_state_dict(self.state_dict(), output_path, safe_serialization=safe_serialization)

    # -- loading --------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None,
             cache_folder: str | None = None, revision: str | None = None, local_files_only: bool = False,
             **kwargs: Any) -> Module:
        """Build the module from its folder (a local path, or a hub id + ``subfolder``). ``kwargs`` are load-time
        options (device, trust_remote_code…) that a module may use or ignore."""
        hub = {"token": token, "cache_folder": cache_folder, "revision": revision,
               "local_files_only": local_files_only}
        config = cls.load_config(model_name_or_path, subfolder=subfolder, **hub)
        try:
            module = cls(**config)
        except TypeError as exc:
            where = os.path.join(model_name_or_path, subfolder)
            raise ModelLoadError(f"Could not build {cls.__name__} from the config in {where!r}: {exc}") from exc
        if any(True for _ in module.parameters()):
            cls.load_torch_weights(model_name_or_path, subfolder=subfolder, model=module,
                                   allow_pickle=bool(kwargs.get("allow_pickle")), **hub)
        return module

    @classmethod
    def load_config(cls, model_name_or_path: str, subfolder: str = "", config_filename: str | None = None,
                    token: bool | str | None = None, cache_folder: str | None = None, revision: str | None = None,
                    local_files_only: bool = False) -> dict[str, Any]:
        """The saved config (``{}`` when the file is absent), with :attr:`config_key_renames` applied."""
        path = cls.load_file_path(model_name_or_path, config_filename or cls.config_file_name, subfolder=subfolder,
                                  token=token, cache_folder=cache_folder, revision=revision,
                                  local_files_only=local_files_only)
        config = read_json(path) if path else {}
        for old, new in cls.config_key_renames.items():
            if old in config:
                value = config.pop(old)
                config.setdefault(new, value)
        return config

    @classmethod
    def load_torch_weights(cls, model_name_or_path: str, subfolder: str = "", token: bool | str | None = None,
                           cache_folder: str | None = None, revision: str | None = None,
                           local_files_only: bool = False, model: nn.Module | None = None,
                           allow_pickle: bool = False) -> Any:
        """The saved weights (safetensors first; a pickle only with ``allow_pickle``, read ``weights_only``): loaded
        into ``model`` and ``model`` returned, or the state dict when ``model`` is None."""
        hub = {"token": token, "cache_folder": cache_folder, "revision": revision,
               "local_files_only": local_files_only}
        for name in (SAFETENSORS_NAME, PICKLE_NAME):
            path = cls.load_file_path(model_name_or_path, name, subfolder=subfolder, **hub)
            if path is not None:
                state = load_state_dict(os.path.dirname(path), allow_pickle=allow_pickle)
                break
        else:
            where = os.path.join(model_name_or_path, subfolder)
            raise ModelLoadError(f"No weights found in {where!r} (expected {SAFETENSORS_NAME} or {PICKLE_NAME}).")
        if model is None:
            return state
        model.load_state_dict(state)
        return model

    @staticmethod
    def load_file_path(model_name_or_path: str, filename: str, subfolder: str = "", token: bool | str | None = None,
                       cache_folder: str | None = None, revision: str | None = None,
                       local_files_only: bool = False) -> str | None:
        """Local path of ``subfolder/filename`` in a model folder or hub repo; None when the file is absent."""
        _check_relative(subfolder)
        _check_relative(str(filename))
        local = os.path.join(model_name_or_path, subfolder, filename)
        if os.path.isfile(local):
            return local
        if os.path.isdir(model_name_or_path):
            return None
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError, HFValidationError, LocalEntryNotFoundError

        try:
            return hf_hub_download(model_name_or_path, filename=str(filename), subfolder=subfolder or None,
                                   revision=revision, cache_dir=cache_folder, token=token,
                                   local_files_only=local_files_only)
        except (EntryNotFoundError, HFValidationError, LocalEntryNotFoundError):
            return None

    @staticmethod
    def load_dir_path(model_name_or_path: str, subfolder: str, token: bool | str | None = None,
                      cache_folder: str | None = None, revision: str | None = None,
                      local_files_only: bool = False) -> str | None:
        """Local path of ``subfolder`` in a model folder or hub repo; None when a local folder lacks it."""
        _check_relative(subfolder)
        local = os.path.join(model_name_or_path, subfolder)
        if os.path.isdir(local):
            return local
        if os.path.isdir(model_name_or_path):
            return None
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

        try:
            root = snapshot_download(model_name_or_path, allow_patterns=f"{subfolder}/**", revision=revision,
                                     cache_dir=cache_folder, token=token, local_files_only=local_files_only)
        except (HFValidationError, LocalEntryNotFoundError):
            return None
        return os.path.join(root, subfolder)

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
        if getattr(module, "routes_call_kwargs", False):  # a Router: its route modules pick theirs
            features = module(features, **kwargs)
            continue
        accepted = getattr(module, "forward_kwargs", ())
        features = module(features, **{k: v for k, v in kwargs.items() if k in accepted})
    return features


def _check_relative(path: str) -> None:
    """Sub-paths named by a (possibly downloaded) config must stay inside the model folder."""
    parts = path.replace("\\", "/").split("/")
    if os.path.isabs(path) or ".." in parts:
        raise ConfigError(f"Invalid model path {path!r}: expected a relative path without '..' components.")


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
