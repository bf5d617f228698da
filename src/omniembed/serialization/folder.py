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

from omniembed.errors import MissingDependencyError, ModelLoadError
from omniembed.modules.base import read_json, write_json
from omniembed.serialization import registry

MODULES_JSON = "modules.json"
MODEL_CONFIG = "config_sentence_transformers.json"


def read_modules_json(folder: str) -> list[dict[str, Any]] | None:
    path = os.path.join(folder, MODULES_JSON)
    if not os.path.isfile(path):
        return None
    entries = read_json(path)
    return sorted(entries, key=lambda e: int(e.get("idx", 0)))


def read_model_config(folder: str) -> dict[str, Any]:
    config = read_json(os.path.join(folder, MODEL_CONFIG), default={})
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
    modules = []
    for entry in entries:
        cls = registry.module_class(entry["type"], trust_remote_code=load_kwargs.get("trust_remote_code", False))
        sub = os.path.join(folder, entry.get("path", ""))
        if not os.path.isdir(sub):
            try:
                modules.append(cls())  # modules without weights or config (Normalize) may be omitted on disk
                continue
            except TypeError:
                raise ModelLoadError(f"Module folder {sub!r} listed in modules.json does not exist.") from None
        modules.append(cls.load(sub, **load_kwargs))
    return modules


def save_modules(folder: str, modules: list[torch.nn.Module], *, safe_serialization: bool = True) -> None:
    os.makedirs(folder, exist_ok=True)
    entries = []
    for idx, module in enumerate(modules):
        in_root = idx == 0 and getattr(module, "save_in_root", False)
        sub = "" if in_root else f"{idx}_{type(module).__name__}"
        module.save(os.path.join(folder, sub), safe_serialization=safe_serialization)
        entries.append({"idx": idx, "name": str(idx), "path": sub, "type": registry.reference_type(module)})
    write_json(os.path.join(folder, MODULES_JSON), entries)


def version_stamp() -> dict[str, str]:
    import transformers

    from omniembed import __version__

    return {"omniembed": __version__, "transformers": transformers.__version__, "pytorch": torch.__version__}


def write_model_config(folder: str, config: dict[str, Any]) -> None:
    write_json(os.path.join(folder, MODEL_CONFIG), {"__version__": version_stamp(), **config})
