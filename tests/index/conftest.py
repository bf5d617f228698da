"""Fixtures for the media-index tests (defined in support/index_fixtures.py, shared with tests/cli)."""

import pytest
from support.index_fixtures import (  # noqa: F401 - pytest finds fixtures by name in this module
    _quiet,
    corpus,
    corpus_copy,
    indexed,
    omni_model,
    omni_model_dir,
    reranker_dir,
)


@pytest.fixture(scope="session")
def corpus_page_url(indexed):  # noqa: F811 - the imported fixture
    """`omniembed serve --db` over the indexed media corpus (its model loaded by the server), for the session."""
    from support.index_browser import served_store

    index, _ = indexed
    with served_store(index.db) as url:
        yield url


@pytest.fixture(scope="session")
def pdf_folder(tmp_path_factory) -> dict[str, str]:
    from support.index_pages import write_pdf_folder

    return write_pdf_folder(tmp_path_factory.mktemp("pdfs"))


@pytest.fixture(scope="session")
def pages_indexed(pdf_folder, omni_model, tmp_path_factory):  # noqa: F811 - the imported fixture
    """The PDF folder indexed with the four-modality model and --text-layer: per page an image row (tiny CLIP)
    and a text-layer row (the real MiniLM)."""
    from omniembed.index import MediaIndex

    index = MediaIndex(tmp_path_factory.mktemp("pages") / "db", omni_model)
    return index, index.index([pdf_folder["."]], text_layer=True)


@pytest.fixture(scope="session")
def pages_page_url(pages_indexed):
    """`omniembed serve --db` over the indexed PDF folder, for the session."""
    from support.index_browser import served_store

    index, _ = pages_indexed
    with served_store(index.db) as url:
        yield url
