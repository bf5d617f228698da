"""Shared folders for the backend tests: each test that saves works on its own copy of a tiny model."""

from __future__ import annotations

import pytest
from support.backend_models import copy_folder, tiny_reranker


@pytest.fixture(scope="session")
def reranker_dir(tmp_path_factory) -> str:
    return tiny_reranker(tmp_path_factory.mktemp("tiny_reranker"))


@pytest.fixture()
def bert_copy(tiny_bert_dir, tmp_path) -> str:
    return copy_folder(tiny_bert_dir, tmp_path / "bert")


@pytest.fixture(scope="session")
def onnx_bert_dir(tiny_bert_dir, tmp_path_factory) -> str:
    """The tiny BERT with its ONNX export saved (``onnx/model.onnx``) next to the torch weights."""
    from omniembed import SentenceTransformer

    folder = copy_folder(tiny_bert_dir, tmp_path_factory.mktemp("bert_onnx"))
    SentenceTransformer(folder, backend="onnx", device="cpu").save(folder)
    return folder
