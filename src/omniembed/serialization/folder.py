"""Read and write a model folder in the reference's layout (modules.json + config_sentence_transformers.json).

Example:
    >>> import tempfile, torch
    >>> from omniembed.modules.normalize import Normalize
    >>> from omniembed.serialization.folder import save_modules, read_modules_json
    >>> folder = tempfile.mkdtemp()
    >>> save_modules(folder, [Normalize()])
    >>> read_modules_json(folder)[0]["path"]
    '0_Normalize'
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import torch

from omniembed.errors import MissingDependencyError, ModelLoadError, OmniEmbedError
from omniembed.modules.base import read_json, write_json
from omniembed.serialization import registry
from omniembed.serialization.preflight import module_folder

MODULES_JSON = "modules.json"
MODEL_CONFIG = "config_sentence_transformers.json"


# model_type values a folder may declare: ours, and the reference's other model classes (converted on load)
KNOWN_MODEL_TYPES = ("SentenceTransformer", "CrossEncoder", "SparseEncoder", "MultiVectorEncoder")


def read_modules_json(folder: str) -> list[dict[str, Any]] | None:
    path = os.path.join(folder, MODULES_JSON)
    if not os.path.isfile(path):
        return None
    entries = read_json(path)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("type"), str)
                                                for e in entries):
        raise ModelLoadError(f"{path}: expected a list of {{'idx', 'name', 'path', 'type'}} entries.")
    try:
        return sorted(entries, key=lambda e: int(e.get("idx", 0)))
    except (TypeError, ValueError):
        raise ModelLoadError(f"{path}: every 'idx' must be a whole number.") from None


def read_model_config(folder: str) -> dict[str, Any]:
    path = os.path.join(folder, MODEL_CONFIG)
    config = read_json(path, default={})
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path}: expected a JSON object.")
    model_type = config.get("model_type")
    if model_type is not None and model_type not in KNOWN_MODEL_TYPES:
        raise ModelLoadError(f"{path}: unknown model_type {model_type!r}; expected one of {list(KNOWN_MODEL_TYPES)}.")
    for key in ("similarity_fn_name", "default_prompt_name", "activation_fn"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise ModelLoadError(f"{path}: {key!r} must be a string, got {config[key]!r}.")
    prompts = config.get("prompts")
    if prompts is not None and not (isinstance(prompts, dict) and all(isinstance(k, str) and
                                                                      (v is None or isinstance(v, str))
                                                                      for k, v in prompts.items())):
        raise ModelLoadError(f"{path}: 'prompts' must map names to strings.")
    _check_requirements(config.get("requirements") or {})
    return config


def _check_requirements(requirements: dict[str, str]) -> None:
    """A folder may declare packages it needs; fail before loading weights rather than after."""
    from packaging.requirements import Requirement

    for name, spec in requirements.items():
        requirement = Requirement(f"{name}{spec}")
        try:
            installed = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            raise MissingDependencyError(f"This model requires {requirement}, which is not installed.") from None
        if installed not in requirement.specifier:
            raise MissingDependencyError(f"This model requires {requirement}, but {installed} is installed.")


def load_modules(folder: str, entries: list[dict[str, Any]], **load_kwargs: Any) -> list[torch.nn.Module]:
    """Build each listed module from its sub-folder (a missing Normalize folder loads with defaults)."""
    listed_in = os.path.join(folder, MODULES_JSON)
    modules = []
    for entry in entries:
        try:
            cls = registry.module_class(entry["type"], trust_remote_code=load_kwargs.get("trust_remote_code", False))
        except ModelLoadError as exc:
            exc.args = (f"{listed_in}: {exc}",)
            raise
        sub = module_folder(folder, entry.get("path", ""), listed_in=listed_in)
        if not os.path.isdir(sub):
            try:
                modules.append(cls())  # modules without weights or config (Normalize) may be omitted on disk
                continue
            except TypeError:
                raise ModelLoadError(f"Module folder {sub!r} listed in modules.json does not exist.") from None
        modules.append(_with_call_kwargs(load_module(cls, sub, load_kwargs), entry.get("kwargs")))
    return modules


def _with_call_kwargs(module: torch.nn.Module, names: Any) -> torch.nn.Module:
    """A ``modules.json`` entry's ``"kwargs"`` (call keywords routed to that module, as the reference does, e.g.
    ``["task"]``): added to the module's ``forward_kwargs`` and kept for saving. A Router takes every keyword."""
    if not names or getattr(module, "routes_call_kwargs", False):
        return module
    module.modules_json_kwargs = list(names)
    module.forward_kwargs = set(getattr(module, "forward_kwargs", ())) | set(names)
    return module


def _accepted(load: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The load-time options a module's ``load`` takes: all of them with ``**kwargs``, else only those it names
    (user modules written for older reference versions define ``load(input_path)``)."""
    import inspect

    try:
        params = inspect.signature(load).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params}


def load_module(cls: type, sub: str, load_kwargs: dict[str, Any]) -> torch.nn.Module:
    """``cls.load(sub)``; whatever a hostile or broken folder makes the loaders raise becomes a ModelLoadError
    naming the folder (a shape mismatch, a corrupt weights file, a config value of the wrong type, a class
    without ``load``…). Only the options ``load`` takes are passed (:func:`_accepted`)."""
    try:
        return cls.load(sub, **_accepted(cls.load, load_kwargs))
    except OmniEmbedError as exc:
        if sub not in str(exc) and len(exc.args) == 1 and isinstance(exc.args[0], str):
            exc.args = (f"{sub}: {exc.args[0]}",)  # say which module folder holds the bad setting
        raise
    except (MemoryError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise ModelLoadError(f"Could not load the {cls.__name__} module from {sub!r}: {type(exc).__name__}: "
                             f"{exc}") from exc


def save_modules(folder: str, modules: list[torch.nn.Module], *, safe_serialization: bool = True) -> None:
    os.makedirs(folder, exist_ok=True)
    entries = []
    for idx, module in enumerate(modules):
        in_root = idx == 0 and getattr(module, "save_in_root", False)
        sub = "" if in_root else f"{idx}_{type(module).__name__}"
        module.save(os.path.join(folder, sub), safe_serialization=safe_serialization)
        entry = {"idx": idx, "name": str(idx), "path": sub, "type": registry.reference_type(module)}
        if getattr(module, "modules_json_kwargs", None):
            entry["kwargs"] = list(module.modules_json_kwargs)
        entries.append(entry)
    write_json(os.path.join(folder, MODULES_JSON), entries)


def version_stamp() -> dict[str, str]:
    import transformers

    from omniembed import __version__

    return {"omniembed": __version__, "transformers": transformers.__version__, "pytorch": torch.__version__}


def write_model_config(folder: str, config: dict[str, Any]) -> None:
    write_json(os.path.join(folder, MODEL_CONFIG), {"__version__": version_stamp(), **config})
