"""Write a variant (optimised, quantised) of each graph of a loaded compiled model next to the model's files.

``<model_name_or_path>/onnx/model.onnx`` → ``<model_name_or_path>/onnx/model_<suffix>.onnx`` (and the same for
each tower of a dual encoder), as the reference names them; ``push_to_hub=True`` uploads them instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

from omniembed.errors import ConfigError


def compiled_model(model: Any, cls: type, backend: str) -> Any:
    """The loaded ``cls`` model inside a SentenceTransformer / CrossEncoder, or the reference's error."""
    inner = getattr(model, "transformers_model", None)
    if not isinstance(inner, cls):
        raise ConfigError(
            "The model must be a Transformer-based SentenceTransformer, SparseEncoder, CrossEncoder, or "
            f'MultiVectorEncoder model loaded with `backend="{backend}"`.'
        )
    return inner


def variant_name(source_relative: str, suffix: str, extension: str) -> str:
    """``onnx/model.onnx`` + ``O3`` → ``model_O3.onnx`` (the base name)."""
    stem = os.path.splitext(os.path.basename(source_relative))[0]
    return f"{stem}_{suffix}{extension}"


def write_variants(inner: Any, model_name_or_path: str, suffix: str, folder: str, extension: str,
                   make: Callable[[str, str], None], *, push_to_hub: bool = False, create_pr: bool = False,
                   export_function_name: str = "") -> list[str]:
    """Call ``make(source, target)`` for each graph file; return the written paths relative to the model folder."""
    if push_to_hub:
        target_root = tempfile.mkdtemp(prefix="omniembed-variant-")
    else:
        target_root = str(model_name_or_path)
    written = []
    for source, relative in inner.files.values():
        name = os.path.join(folder, variant_name(relative, suffix, extension))
        target = os.path.join(target_root, name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        make(source, target)
        written.append(name)
    if push_to_hub:
        _push(target_root, written, str(model_name_or_path), create_pr, export_function_name)
    return written


def _push(root: str, names: list[str], repo_id: str, create_pr: bool, function_name: str) -> None:
    from huggingface_hub import CommitOperationAdd, HfApi

    operations = [CommitOperationAdd(path_in_repo=n, path_or_fileobj=os.path.join(root, n)) for n in names]
    HfApi().create_commit(repo_id=repo_id, operations=operations, create_pr=create_pr,
                          commit_message=f"Add {', '.join(names)} ({function_name} from omniembed)")
