"""/v1/rerank, /v2/rerank and /rerank return ``CrossEncoder.rank``'s ranking and scores (Cohere v2 / Jina
shape, and TEI's shape for ``texts``); media documents are fetched and scored like encode's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import CAPTIONS, data_uri

QUERY = "How many people live in Berlin?"
DOCUMENTS = ["Berlin has a population of 3,520,031 registered inhabitants.",
             "Berlin is well known for its museums.",
             "In 2014 the city state Berlin had 37,368 live births.",
             "The urban area of Berlin has about 4.1 million people.",
             "Cats sleep most of the day."]


@pytest.mark.parametrize("path", ["/v1/rerank", "/v2/rerank", "/rerank"])
def test_rerank_equals_crossencoder_rank(http, reference, path):
    expected = reference["ce"].rank(QUERY, DOCUMENTS)
    response = http.post(path, json={"model": "ce", "query": QUERY, "documents": DOCUMENTS})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["index"] for r in body["results"]] == [e["corpus_id"] for e in expected]
    np.testing.assert_allclose([r["relevance_score"] for r in body["results"]], [e["score"] for e in expected],
                               atol=1e-5)
    assert body["model"] == "ce" and body["id"] and body["usage"]["total_tokens"] > 0
    assert "document" not in body["results"][0]


def test_top_n_and_return_documents(http, reference):
    expected = reference["ce"].rank(QUERY, DOCUMENTS, top_k=2, return_documents=True)
    body = http.post("/v1/rerank", json={"query": QUERY, "documents": DOCUMENTS, "top_n": 2,
                                         "return_documents": True, "model": "ce"}).json()
    assert [(r["index"], r["document"]) for r in body["results"]] == [
        (e["corpus_id"], {"text": e["text"]}) for e in expected]


def test_jina_document_objects(http, reference):
    docs = [{"text": d} for d in DOCUMENTS]
    body = http.post("/v1/rerank", json={"model": "ce", "query": {"text": QUERY}, "documents": docs,
                                         "return_documents": True}).json()
    expected = reference["ce"].rank(QUERY, DOCUMENTS)
    assert [r["index"] for r in body["results"]] == [e["corpus_id"] for e in expected]
    assert body["results"][0]["document"] == docs[expected[0]["corpus_id"]]


def test_tei_shape_with_raw_scores(http, reference):
    model = reference["ce"]
    raw = model.predict([(QUERY, d) for d in DOCUMENTS], activation_fn=torch.nn.Identity())
    body = http.post("/rerank", json={"query": QUERY, "texts": DOCUMENTS, "raw_scores": True, "return_text": True,
                                      "model": "ce"}).json()
    assert isinstance(body, list) and len(body) == len(DOCUMENTS)
    order = list(np.argsort(-raw, kind="stable"))
    assert [r["index"] for r in body] == order
    np.testing.assert_allclose([r["score"] for r in body], raw[order], atol=1e-5)
    assert [r["text"] for r in body] == [DOCUMENTS[i] for i in order]
    sigmoid = http.post("/rerank", json={"query": QUERY, "texts": DOCUMENTS, "model": "ce"}).json()
    np.testing.assert_allclose(sorted(r["score"] for r in sigmoid), sorted(1 / (1 + np.exp(-raw))), atol=1e-5)


def test_audio_documents_rank_their_own_caption_first(http, media_server):
    """Real Whisper tiny.en: each speech clip scores its own transcript highest among the captions."""
    names = list(CAPTIONS)
    for name in names:
        body = http.post("/v1/rerank", json={
            "model": "whisper", "query": {"audio": media_server.url(f"/speech/{name}.wav")},
            "documents": [CAPTIONS[n] for n in names]})
        assert body.status_code == 200, body.text
        assert body.json()["results"][0]["index"] == names.index(name)


def test_audio_documents_equal_crossencoder_rank(http, reference, media_server, loopback_media):
    query = CAPTIONS["dog"]
    urls = [media_server.url(f"/speech/{n}.wav") for n in CAPTIONS]
    expected = reference["whisper"].rank(query, urls, media=loopback_media)
    body = http.post("/v1/rerank", json={"model": "whisper", "query": query, "documents": urls}).json()
    assert [r["index"] for r in body["results"]] == [e["corpus_id"] for e in expected]
    np.testing.assert_allclose([r["relevance_score"] for r in body["results"]], [e["score"] for e in expected],
                               atol=1e-4)
    assert expected[0]["corpus_id"] == list(CAPTIONS).index("dog")


def test_data_uri_audio_document(http, media_server):
    from conftest import SPEECH

    docs = [data_uri("audio/wav", (SPEECH / f"{n}.wav").read_bytes()) for n in CAPTIONS]
    body = http.post("/v1/rerank", json={"model": "whisper", "query": CAPTIONS["weather"], "documents": docs,
                                         "return_documents": True}).json()
    assert body["results"][0]["index"] == list(CAPTIONS).index("weather")
    assert body["results"][0]["document"] == {"text": docs[body["results"][0]["index"]]}


def test_empty_documents(http):
    body = http.post("/v1/rerank", json={"model": "ce", "query": QUERY, "documents": []}).json()
    assert body["results"] == []
