"""Tiny rerankers for the CrossEncoder tests, built once per session (random weights, deterministic)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def bert_ce_dir(tmp_path_factory) -> str:
    """BertForSequenceClassification, one label (a reranker head)."""
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("ce_bert1"), head="seq-cls", num_labels=1))


@pytest.fixture(scope="session")
def bert3_ce_dir(tmp_path_factory) -> str:
    """BertForSequenceClassification, three labels (NLI-style)."""
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("ce_bert3"), head="seq-cls", num_labels=3))


@pytest.fixture(scope="session")
def llama_reranker_dir(tmp_path_factory) -> str:
    """LlamaForCausalLM with a query/document chat template and single-token "yes"/"no"."""
    from support.models import build_llama_reranker

    return str(build_llama_reranker(tmp_path_factory.mktemp("ce_llama_rr")))


@pytest.fixture(scope="session")
def llava_dir(tmp_path_factory) -> str:
    from support.models import build_llava

    return str(build_llava(tmp_path_factory.mktemp("ce_llava")))


@pytest.fixture(scope="session")
def pair_images(tmp_path_factory) -> dict:
    """Two small random RGB images, in memory and as PNG files."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path_factory.mktemp("ce_images")
    found = {}
    for name, size in (("wide", (40, 48)), ("square", (32, 32))):
        image = Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8))
        path = folder / f"{name}.png"
        image.save(path)
        found[name], found[f"{name}_path"] = image, str(path)
    return found
