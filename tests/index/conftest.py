"""Fixtures for the media-index tests (defined in support/index_fixtures.py, shared with tests/cli)."""

from support.index_fixtures import (  # noqa: F401 - pytest finds fixtures by name in this module
    _quiet,
    corpus,
    corpus_copy,
    indexed,
    omni_model,
    omni_model_dir,
    reranker_dir,
)
