"""Fixtures of the first-hour tests (what a new user hits first: loading, arguments, messages, docs)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def reranker_dir(tmp_path_factory) -> str:
    """A tiny random BertForSequenceClassification (one label): a raw folder that loads as a CrossEncoder."""
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("firsthour_reranker"), head="seq-cls", num_labels=1))
