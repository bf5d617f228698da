"""`omniembed serve --db DB`: the search page inside the HTTP server (in process, FastAPI TestClient), sharing
the model the server loaded, and refusing to search before it is loaded; the command line's store errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from omniembed.index.media_index import model_key
from omniembed.index.serving import ServedSearchPage
from omniembed.server import EmbeddingModel, ServerSettings, create_app
from omniembed.server.served import ModelSpec


def test_the_store_model_is_added_unless_a_served_model_is_it(indexed, omni_model_dir, tiny_bert_dir):
    index, _ = indexed
    other = ModelSpec.parse(f"bert={tiny_bert_dir}", "embedding")
    page = ServedSearchPage(index.db, [other])
    assert page.specs[0] == other and len(page.specs) == 2
    assert model_key(page.specs[1].path) == index.info.model and page.model_name == page.specs[1].name
    same = ModelSpec.parse(f"omni={omni_model_dir}", "embedding")
    page = ServedSearchPage(index.db, [other, same])
    assert page.specs == [other, same] and page.model_name == "omni"


@pytest.fixture(scope="module")
def served(indexed, omni_model):
    """The app `omniembed serve --db` builds, with the models handed over already loaded."""
    from starlette.testclient import TestClient

    index, _ = indexed
    page = ServedSearchPage(index.db, [ModelSpec.parse(f"omni={index.info.model}", "embedding")])
    app = create_app([EmbeddingModel("omni", omni_model)], ServerSettings(), extra_routers=[page.router])
    before = TestClient(app).get("/index/search", params={"q": "pancakes"})  # no lifespan: models not installed
    app.state.omniembed.on_ready.append(page.ready)
    with TestClient(app) as client:
        yield client, page, before


def test_searches_wait_for_the_model_then_use_the_servers_copy(served, indexed, omni_model, corpus):
    client, page, before = served
    assert before.status_code == 503 and before.json()["error"].startswith("The model is still loading")
    assert page.index.model is omni_model  # one copy: the server's
    response = client.get("/index/search", params={"q": "how do I make pancakes", "top_k": 3})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    index, _ = indexed
    expected = index.search("how do I make pancakes", top_k=3)
    assert [r["path"] for r in results] == [h.path for h in expected] and results[0]["path"] == corpus["pancakes.txt"]
    np.testing.assert_allclose([r["score"] for r in results], [h.score for h in expected], rtol=1e-5)


def test_the_page_and_the_embedding_api_share_one_server(served):
    client, _, _ = served
    html = client.get("/")
    assert html.status_code == 200 and 'id="q"' in html.text
    embedded = client.post("/v1/embeddings", json={"model": "omni", "input": "how do I make pancakes"})
    assert embedded.status_code == 200, embedded.text
    assert len(embedded.json()["data"][0]["embedding"]) == 384
    assert client.get("/health").status_code == 200


def test_serve_with_a_missing_store_exits_1_with_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "omniembed", "serve", "--db", str(tmp_path / "nowhere"),
                             "--port", "0"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("omniembed serve: error: StoreNotFoundError: No omniembed store at")
    assert "Traceback" not in result.stderr and not (tmp_path / "nowhere").exists()
