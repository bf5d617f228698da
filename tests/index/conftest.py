"""Fixtures for the media-index tests: the four-modality model, a generated media folder and a store indexed
from it, each built once per session (see support/index_corpus.py)."""

from __future__ import annotations

import logging
import os
import shutil
import warnings

import pytest


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

    return omni_model_path(tmp_path_factory.getbasetemp() / "omni-model")


@pytest.fixture(scope="session")
def omni_model(omni_model_dir):
    from omniembed import SentenceTransformer

    return SentenceTransformer(omni_model_dir, device="cpu")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, str]:
    """The generated media folder (read-only: copy it with `corpus_copy` to change files)."""
    from support.index_corpus import write_media_folder

    folder = tmp_path_factory.getbasetemp() / "corpus"
    paths = write_media_folder(folder)
    paths["."] = os.path.abspath(folder)
    return paths


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

    index = MediaIndex(tmp_path_factory.getbasetemp() / "corpus-db", omni_model)
    report = index.sync(corpus["."])
    return index, report


@pytest.fixture(scope="session")
def reranker_dir(tmp_path_factory) -> str:
    """A tiny LLaVA yes/no CrossEncoder (text and image documents) saved as a folder."""
    from support.index_corpus import build_mixed_reranker

    return build_mixed_reranker(tmp_path_factory.getbasetemp() / "mixed-reranker")
