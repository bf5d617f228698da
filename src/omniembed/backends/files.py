"""Which backend file a folder's model loads from, or whether it must be exported first (the reference's rules).

``model_kwargs`` keys read here: ``file_name`` (default ``model.onnx`` / ``openvino_model.xml``, may hold folders),
``subfolder`` and ``export`` (True: always export; False: never, a missing file is an error). The file is looked for
at ``<subfolder>/<file_name>``, then in the backend's own folder ``<subfolder>/onnx/<file_name>``. Not found: the
torch model is exported (with the reference's warnings, and a reminder to ``save()`` the result).

Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp(); os.makedirs(os.path.join(folder, "onnx"))
    >>> open(os.path.join(folder, "onnx", "model.onnx"), "wb").close()
    >>> choice = locate(folder, {}, ONNX)
    >>> choice.export, os.path.relpath(choice.path, folder)
    (False, 'onnx/model.onnx')
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from omniembed.errors import ModelLoadError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BackendFiles:
    """How a backend names its files: ``name`` for messages, the default file, the glob of its files, its folder."""

    name: str
    default_file: str
    glob: str
    folder: str


ONNX = BackendFiles("ONNX", "model.onnx", "*.onnx", "onnx")
OPENVINO = BackendFiles("OpenVINO", "openvino_model.xml", "openvino*.xml", "openvino")


@dataclass(frozen=True)
class FileChoice:
    """The file to load (``path``), or ``export=True`` with ``path`` None; ``relative`` is its name to save under."""

    export: bool
    path: str | None
    relative: str


def locate(folder: str, model_kwargs: dict, files: BackendFiles) -> FileChoice:
    """Apply the lookup rules of the module docstring to a local ``folder`` (``model_kwargs`` is not changed)."""
    export = model_kwargs.get("export")
    file_name = model_kwargs.get("file_name") or files.default_file
    subfolder = model_kwargs.get("subfolder") or ""
    default_relative = Path(files.folder, files.default_file).as_posix()
    if export:
        return FileChoice(True, None, default_relative)
    root = Path(folder)
    search = root / subfolder if subfolder else root
    found = sorted(p.relative_to(root).as_posix() for p in search.glob(f"**/{files.glob}")) if search.is_dir() else []
    primary = Path(subfolder, file_name).as_posix()
    secondary = Path(subfolder, files.folder, file_name).as_posix()
    if primary in found:
        return FileChoice(False, str(root / primary), _saved_name(primary, files))
    if secondary in found:
        if len(found) > 1 and "file_name" not in model_kwargs:
            logger.warning(
                "Multiple %s files found in %r: %s, defaulting to %r. Please specify the desired file name via "
                '`model_kwargs={"file_name": "<file_name>"}`.', files.name, root.as_posix(), found, secondary)
        return FileChoice(False, str(root / secondary), _saved_name(secondary, files))
    if export is False:
        raise ModelLoadError(
            f"No {file_name!r} found in {root.as_posix()!r}, and model_kwargs has export=False. {files.name} files "
            f"there: {found or 'none'}."
        )
    logger.warning("No %r found in %r. Exporting the model to %s.", file_name, root.as_posix(), files.name)
    if found:
        logger.warning(
            "If you intended to load one of the %s %s files, please specify the desired file name via "
            '`model_kwargs={"file_name": "%s"}`.', found, files.name, found[0])
    return FileChoice(True, None, default_relative)


def warn_to_save(folder: str, files: BackendFiles) -> None:
    """After an export on load: the export is lost unless the model is saved (the reference's reminder)."""
    logger.warning(
        "Saving the exported %s model is heavily recommended to avoid having to export it again. Do so with "
        "`model.save_pretrained(%r)`.", files.name, os.path.normpath(folder))


def _saved_name(relative: str, files: BackendFiles) -> str:
    """Where ``save()`` writes a loaded file: in the backend's folder, under its own name (as the reference does)."""
    return Path(files.folder, os.path.basename(relative)).as_posix()
