"""Turn ``model_name_or_path`` into a local folder: an existing directory, or a Hugging Face Hub snapshot.

Hub ids go through ``huggingface_hub.snapshot_download`` (its cache, ``revision``, ``token``,
``local_files_only``, and ``HF_HUB_OFFLINE``). Formats omniembed never reads (ONNX, TF, Flax…) are not
downloaded, and a pickled ``pytorch_model.bin`` is skipped when safetensors weights exist.

Example:
    >>> import tempfile
    >>> from omniembed.serialization.hub import resolve_model_folder
    >>> folder = tempfile.mkdtemp()
    >>> resolve_model_folder(folder) == folder
    True
"""

from __future__ import annotations

import os

from omniembed.errors import ModelLoadError, ModelNotFoundError, ModelPathIsFileError

_NEVER_READ = [
    "*.onnx", "onnx/*", "openvino/*", "*.h5", "*.msgpack", "*.ot", "tf_model*", "flax_model*",
    "rust_model*", "*.tflite", "coreml/*", "*.mlmodel", "*.gguf",
]


def resolve_model_folder(
    model_name_or_path: str,
    *,
    cache_folder: str | None = None,
    revision: str | None = None,
    token: bool | str | None = None,
    local_files_only: bool = False,
    backend: str = "torch",
) -> str:
    """Return a local folder holding the model; download (or read from the cache) for a hub id. With
    ``backend="onnx"`` / ``"openvino"`` the repository's files of that backend are downloaded too."""
    path = os.path.expanduser(str(model_name_or_path))
    if os.path.isdir(path):
        return path
    if os.path.isfile(path):
        raise ModelPathIsFileError(
            f"Path {model_name_or_path} is a file, not a directory. `model_name_or_path` must be a local "
            "directory containing a model, or a Hugging Face Hub model ID."
        )
    if path.count("/") > 1 or path.startswith((".", "/", "~")) or os.sep != "/" and os.sep in path:
        raise ModelNotFoundError(f"Path {model_name_or_path} not found")
    repo_id = path if "/" in path else f"sentence-transformers/{path}"
    return _snapshot(repo_id, cache_folder, revision, token, local_files_only, backend)


# the files a compiled backend reads, which a torch load skips
_BACKEND_FILES = {"onnx": ("*.onnx", "onnx/*"), "openvino": ("openvino/*",)}


def _snapshot(repo_id, cache_folder, revision, token, local_files_only, backend="torch") -> str:
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import HfHubHTTPError

    offline = local_files_only or os.environ.get("HF_HUB_OFFLINE", "0").lower() in {"1", "true", "yes", "on"}
    kwargs = dict(repo_id=repo_id, revision=revision, cache_dir=cache_folder, token=token)
    try:
        ignore = [p for p in _NEVER_READ if p not in _BACKEND_FILES.get(backend, ())]
        if not offline:
            ignore += _redundant_pickles(repo_id, revision, token)
        return snapshot_download(**kwargs, local_files_only=offline, ignore_patterns=ignore)
    except (HfHubHTTPError, OSError, ValueError) as exc:
        name = type(exc).__name__
        if offline:
            raise ModelNotFoundError(
                f"Model {repo_id!r} is neither a local folder nor in the Hugging Face cache, and hub access is "
                f"off (HF_HUB_OFFLINE or local_files_only). Pass a local folder path or download it first. ({name})"
            ) from exc
        if "RepositoryNotFound" in name or "RevisionNotFound" in name or "EntryNotFound" in name:
            raise ModelNotFoundError(
                f"Model {repo_id!r} (revision {revision or 'main'}) was not found on the Hugging Face Hub, and no "
                "local folder has that name. Check the id, or pass `token=` for a private repository."
            ) from exc
        raise ModelLoadError(f"Could not download {repo_id!r} from the Hugging Face Hub: {exc}") from exc


def _redundant_pickles(repo_id: str, revision: str | None, token) -> list[str]:
    """Skip ``*.bin`` pickles in folders that also hold safetensors (safer and half the download)."""
    try:
        from huggingface_hub import list_repo_files

        files = list_repo_files(repo_id, revision=revision, token=token)
    except Exception:  # listing is an optimisation only; the snapshot call reports real errors
        return []
    folders_with_safetensors = {os.path.dirname(f) for f in files if f.endswith(".safetensors")}
    return [f for f in files if f.endswith(".bin") and os.path.dirname(f) in folders_with_safetensors]
