"""Fixtures for the command-line tests (defined in support/index_fixtures.py, shared with tests/index)."""

from support.index_fixtures import (  # noqa: F401 - pytest finds fixtures by name in this module
    _quiet,
    corpus,
    corpus_copy,
    indexed,
    omni_model,
    omni_model_dir,
    reranker_dir,
)
