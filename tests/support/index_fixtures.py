"""Fixtures shared by tests/index and tests/cli (imported into each folder's conftest): the four-modality model,
the generated media folder, a store indexed from it, and a mixed reranker. The builders are idempotent and keep
their results under the session's base temporary folder, so each is built once per session."""

from __future__ import annotations

import logging
import os
import shutil
import warnings

import pytest

__all__ = ["_quiet", "corpus", "corpus_copy", "indexed", "omni_model", "omni_model_dir", "reranker_dir"]

# Each conftest that imports these fixtures registers its own copy, so a session fixture would run once per
# folder: the values are cached here to build each thing once per process.
_ONCE: dict[str, object] = {}


def _once(key: str, make):
    if key not in _ONCE:
        _ONCE[key] = make()
    return _ONCE[key]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield


@pytest.fixture(scope="session")
def omni_model_dir(tmp_path_factory) -> str:
    """Router model: real MiniLM for text, tiny CLIP / CLAP / X-CLIP towers for image / audio / video (384-d)."""
    from support.index_corpus import omni_model_path

    return _once("omni_model_dir", lambda: omni_model_path(tmp_path_factory.getbasetemp() / "omni-model"))


@pytest.fixture(scope="session")
def omni_model(omni_model_dir):
    from omniembed import SentenceTransformer

    return _once("omni_model", lambda: SentenceTransformer(omni_model_dir, device="cpu"))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, str]:
    """The generated media folder (read-only: copy it with `corpus_copy` to change files)."""
    from support.index_corpus import write_media_folder

    def make() -> dict[str, str]:
        folder = tmp_path_factory.getbasetemp() / "corpus"
        paths = write_media_folder(folder)
        paths["."] = os.path.abspath(folder)
        return paths

    return _once("corpus", make)


@pytest.fixture
def corpus_copy(corpus, tmp_path) -> str:
    """A private copy of the media folder, for tests that add, change or delete files."""
    target = tmp_path / "media"
    shutil.copytree(corpus["."], target)
    return str(target)


@pytest.fixture(scope="session")
def indexed(corpus, omni_model, tmp_path_factory):
    """A MediaIndex over the whole corpus, and the report of the run that built it."""
    from omniembed.index import MediaIndex

    def make():
        index = MediaIndex(tmp_path_factory.getbasetemp() / "corpus-db", omni_model)
        return index, index.sync(corpus["."])

    return _once("indexed", make)


@pytest.fixture(scope="session")
def reranker_dir(tmp_path_factory) -> str:
    """A tiny LLaVA yes/no CrossEncoder (text and image documents) saved as a folder."""
    from support.index_corpus import build_mixed_reranker

    return _once("reranker_dir", lambda: build_mixed_reranker(tmp_path_factory.getbasetemp() / "mixed-reranker"))
