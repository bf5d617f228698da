"""Files of a model folder or hub repository: the reference's ``util.load_file_path`` / ``load_dir_path`` /
``is_sentence_transformer_model``.

Example:
    >>> import tempfile, pathlib
    >>> folder = tempfile.mkdtemp()
    >>> is_sentence_transformer_model(folder)
    False
    >>> _ = (pathlib.Path(folder) / "modules.json").write_text("[]")
    >>> is_sentence_transformer_model(folder), load_file_path(folder, "modules.json") == f"{folder}/modules.json"
    (True, True)
"""

from __future__ import annotations

from omniembed.modules.base import Module

__all__ = ["is_sentence_transformer_model", "load_dir_path", "load_file_path"]

#: Local path of ``subfolder/filename`` in a folder or hub repo, or None when absent ('..' and absolute paths raise).
load_file_path = Module.load_file_path
#: Local path of ``subfolder`` in a folder or hub repo, or None when a local folder lacks it.
load_dir_path = Module.load_dir_path


def is_sentence_transformer_model(model_name_or_path: str, token: bool | str | None = None,
                                  cache_folder: str | None = None, revision: str | None = None,
                                  local_files_only: bool = False) -> bool:
    """True when the folder or hub repo has a ``modules.json`` (a saved module stack)."""
    return load_file_path(model_name_or_path, "modules.json", token=token, cache_folder=cache_folder,
                          revision=revision, local_files_only=local_files_only) is not None
