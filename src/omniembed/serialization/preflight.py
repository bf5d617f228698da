"""Check a model folder before anything in it is imported, allocated or unpickled.

A model folder is input like any other: it may come from a hub repository or a share nobody curated. Before a
module is built, :func:`preflight_folder` walks the folder (a few levels deep, reading headers only) and raises
:class:`~omniembed.errors.ModelLoadError` naming the offending file when:

* a JSON configuration holds ``NaN`` or ``Infinity``, or a size-like value (``*_size``, ``*_dim``, ``num_*``,
  ``in_features``…) that is negative, fractional or absurd (over :data:`MAX_DIMENSION`; layer and head counts
  over :data:`MAX_LAYERS`) — the values that would make a constructor allocate terabytes or loop for hours;
* a ``.safetensors`` file is truncated or inconsistent: its header must be valid JSON that fits in the file,
  every tensor's byte range must lie inside the file and match its dtype × shape, and the ranges must cover
  the data exactly;
* a folder holds only pickled weights (``pytorch_model.bin``, ``*.pt``, ``*.pth``, ``*.ckpt``) and no
  safetensors, unless ``allow_pickle=True`` (they are then read with ``torch.load(weights_only=True)``);
* a ``Dense``-style config's ``in_features``/``out_features`` do not match the shape of ``linear.weight``.

:func:`module_folder` resolves the ``path`` of a ``modules.json`` (or Router) entry and refuses absolute paths,
``..`` and symlinks that lead outside the model folder.

Example:
    >>> import json, os, tempfile
    >>> from omniembed.serialization.preflight import preflight_folder
    >>> folder = tempfile.mkdtemp()
    >>> with open(os.path.join(folder, "config.json"), "w") as handle:
    ...     _ = handle.write(json.dumps({"hidden_size": 10**12}))
    >>> preflight_folder(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    omniembed.errors.ModelLoadError: ...config.json: 'hidden_size' is 1000000000000, more than 16777216...
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
from typing import Any

from omniembed.errors import ModelLoadError

__all__ = ["MAX_DIMENSION", "MAX_LAYERS", "check_safetensors", "module_folder", "preflight_folder"]

MAX_DIMENSION = 1 << 24  # vocabularies of 16M entries, 16M positions: beyond any real model
MAX_LAYERS = 4096
_MAX_HEADER = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
_MAX_DEPTH = 4
_MAX_FILES = 20_000
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
_NOT_WEIGHTS = ("training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt")
# JSON files that are not model configurations (tokenizer vocabularies, training logs…): sizes there are free-form
_NOT_CONFIG_PREFIXES = ("tokenizer", "vocab", "special_tokens_map", "added_tokens", "merges", "trainer_state",
                        "generation_config", "preprocessor_config", "processor_config", "chat_template")
_SIZE_SUFFIXES = ("_size", "_sizes", "_dim", "_dims", "_dimension", "_features", "_layers", "_heads",
                  "_embeddings", "_channels", "_length")
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1, "U16": 2, "I16": 2,
                "F16": 2, "BF16": 2, "U32": 4, "I32": 4, "F32": 4, "U64": 8, "I64": 8, "F64": 8, "C64": 8}
_SUBBYTE_DTYPES = {"F4": 0.5, "F6_E2M3": 0.75, "F6_E3M2": 0.75}


# --------------------------------------------------------------------------------------------------- paths
def module_folder(root: str, relative: Any, *, listed_in: str) -> str:
    """``root/relative`` for a module entry, refusing paths that leave ``root`` (``..``, absolute, symlinks)."""
    if relative is None:
        relative = ""
    if not isinstance(relative, str):
        raise ModelLoadError(f"{listed_in}: a module path must be a string, got {relative!r}.")
    if os.path.isabs(relative) or relative.startswith(("/", "\\", "~")) or (len(relative) > 1 and relative[1] == ":"):
        raise ModelLoadError(f"{listed_in}: module path {relative!r} is absolute; module paths must stay inside "
                             "the model folder.")
    parts = relative.replace("\\", "/").split("/")
    if ".." in parts or "\x00" in relative:
        raise ModelLoadError(f"{listed_in}: module path {relative!r} leaves the model folder ('..').")
    joined = os.path.join(root, relative)
    real_root, real = os.path.realpath(root), os.path.realpath(joined)
    if real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep):
        raise ModelLoadError(f"{listed_in}: module path {relative!r} resolves to {real!r}, outside the model folder "
                             "(a symbolic link?).")
    return joined


# -------------------------------------------------------------------------------------------------- config
def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a valid JSON number")


def _load_json(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path}: not a valid configuration file ({exc}).") from None
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot be read ({exc.strerror or exc}).") from None


def _size_like(key: str) -> bool:
    return key.startswith(("num_", "n_")) or key.endswith(_SIZE_SUFFIXES) or key in (
        "in_features", "out_features", "vocab_size", "hidden_size", "d_model", "d_ff", "dim")


def _check_value(path: str, key: str, value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, (list, tuple)):
        for element in value:
            _check_value(path, key, element)
        return
    if isinstance(value, dict):
        _check_config(path, value)
        return
    if not isinstance(value, (int, float)):
        return
    if isinstance(value, float) and not value.is_integer():
        raise ModelLoadError(f"{path}: {key!r} must be a whole number, got {value!r}.")
    limit = MAX_LAYERS if ("layers" in key or "heads" in key) else MAX_DIMENSION
    if value < 0 and value != -1:  # -1 is a common "unset" marker (e.g. sliding windows)
        raise ModelLoadError(f"{path}: {key!r} is {value!r}; sizes cannot be negative.")
    if value > limit:
        raise ModelLoadError(f"{path}: {key!r} is {int(value)}, more than {limit}: refusing to build a model this "
                             "large from a configuration file.")


def _check_config(path: str, config: Any) -> None:
    if isinstance(config, list):
        for element in config:
            if isinstance(element, (dict, list)):
                _check_config(path, element)
        return
    if not isinstance(config, dict):
        return
    for key, value in config.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise ModelLoadError(f"{path}: {key!r} is {value!r}.")
        if isinstance(value, (dict, list)) and not _size_like(str(key)):
            _check_config(path, value)
        elif _size_like(str(key)):
            _check_value(path, str(key), value)


# --------------------------------------------------------------------------------------------- safetensors
def check_safetensors(path: str) -> dict[str, dict]:
    """Validate a safetensors file from its header alone; returns ``{tensor name: {"dtype", "shape"}}``."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise ModelLoadError(f"{path}: truncated safetensors file ({size} bytes, no header).")
            header_len = struct.unpack("<Q", prefix)[0]
            if header_len > min(_MAX_HEADER, size - 8):
                raise ModelLoadError(f"{path}: truncated or corrupt safetensors file: the header claims "
                                     f"{header_len} bytes, the file has {size}.")
            header_bytes = handle.read(header_len)
    except OSError as exc:
        raise ModelLoadError(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    try:
        header = json.loads(header_bytes.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path}: corrupt safetensors header ({exc}).") from None
    if not isinstance(header, dict):
        raise ModelLoadError(f"{path}: corrupt safetensors header (not a JSON object).")
    data_size = size - 8 - header_len
    spans, tensors = [], {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ModelLoadError(f"{path}: tensor {name!r} has a malformed header entry.") from None
        width = _DTYPE_BYTES.get(dtype, _SUBBYTE_DTYPES.get(dtype))
        if width is None:
            raise ModelLoadError(f"{path}: tensor {name!r} has an unknown dtype {dtype!r}.")
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                                  for d in shape):
            raise ModelLoadError(f"{path}: tensor {name!r} has an invalid shape {shape!r}.")
        if not all(isinstance(o, int) and not isinstance(o, bool) for o in (begin, end)) or not 0 <= begin <= end:
            raise ModelLoadError(f"{path}: tensor {name!r} has invalid data offsets {[begin, end]!r}.")
        if end > data_size:
            raise ModelLoadError(f"{path}: truncated safetensors file: tensor {name!r} ends at byte {end} of the "
                                 f"data, which holds only {data_size} bytes.")
        elements = math.prod(shape)
        if end - begin != math.ceil(elements * width):
            raise ModelLoadError(f"{path}: tensor {name!r} is {dtype} {shape} ({math.ceil(elements * width)} bytes) "
                                 f"but its data holds {end - begin} bytes.")
        spans.append((begin, end))
        tensors[name] = {"dtype": dtype, "shape": shape}
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise ModelLoadError(f"{path}: corrupt safetensors file: tensor data overlaps or leaves gaps.")
        position = end
    if position != data_size:
        raise ModelLoadError(f"{path}: corrupt safetensors file: {data_size - position} bytes after the last tensor.")
    return tensors


# ------------------------------------------------------------------------------------------------- folders
def _regular_file(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # a dangling link: the loader reports it as missing, with its own message


def _is_pickled_weights(name: str) -> bool:
    return name.endswith(_PICKLE_SUFFIXES) and name not in _NOT_WEIGHTS


def _check_dense(folder: str, config: dict, tensors: dict[str, dict]) -> None:
    weight = tensors.get("linear.weight")
    if weight is None or not {"in_features", "out_features"} <= set(config):
        return
    expected = [config["out_features"], config["in_features"]]
    if weight["shape"] != expected:
        raise ModelLoadError(f"{os.path.join(folder, 'config.json')}: in_features/out_features {expected[::-1]} do "
                             f"not match linear.weight {weight['shape']} in the weights file.")


def _check_directory(folder: str, files: list[str], allow_pickle: bool) -> None:
    tensors: dict[str, dict] = {}
    configs: dict[str, Any] = {}
    for name in sorted(files):
        path = os.path.join(folder, name)
        if name.endswith((".json", ".safetensors", *_PICKLE_SUFFIXES)) and not _regular_file(path):
            raise ModelLoadError(f"{path}: not a regular file (a FIFO or device would block or never end).")
        if name.endswith(".json") and not name.startswith(_NOT_CONFIG_PREFIXES) and not name.endswith(".index.json"):
            configs[name] = _load_json(path)
            _check_config(path, configs[name])
        elif name.endswith(".safetensors"):
            tensors.update(check_safetensors(path))
    has_safetensors = any(name.endswith(".safetensors") for name in files)
    pickled = sorted(name for name in files if _is_pickled_weights(name))
    if pickled and not has_safetensors and not allow_pickle:
        raise ModelLoadError(
            f"{os.path.join(folder, pickled[0])}: this folder holds only pickled weights ({', '.join(pickled)}), "
            "which can run code when loaded. Convert them to safetensors, or pass allow_pickle=True if you trust "
            "the source (they are then read with torch.load(weights_only=True)).")
    if isinstance(configs.get("config.json"), dict):
        _check_dense(folder, configs["config.json"], tensors)


def preflight_folder(root: str, *, allow_pickle: bool = False) -> None:
    """Run every check of the module docstring over ``root`` and its sub-folders (raises ModelLoadError)."""
    real_root = os.path.realpath(root)
    seen = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        depth = os.path.relpath(folder, root).count(os.sep) + (folder != root)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in ("onnx", "openvino", "__pycache__"))
        if depth >= _MAX_DEPTH:
            dirs[:] = []
        for d in list(dirs):  # a symlinked sub-folder must not lead outside the model
            real = os.path.realpath(os.path.join(folder, d))
            if os.path.islink(os.path.join(folder, d)) and not real.startswith(real_root.rstrip(os.sep) + os.sep):
                raise ModelLoadError(f"{os.path.join(folder, d)}: a symbolic link to {real!r}, outside the model "
                                     "folder.")
        seen += len(files)
        if seen > _MAX_FILES:
            raise ModelLoadError(f"{root}: more than {_MAX_FILES} files; this does not look like a model folder.")
        _check_directory(folder, files, allow_pickle)
