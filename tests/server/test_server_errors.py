"""Every way a request can be wrong gets a clear 4xx in OpenAI's error shape (never a 500, never a traceback),
per-item failures name the item's index and omniembed error type, and the server keeps serving."""

from __future__ import annotations

import json
import os

import numpy as np
import openai
import pytest

from conftest import cosine, data_uri


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"error"} and {"message", "type", "param", "code"} <= set(body["error"])
    assert body["error"]["message"]
    return body["error"]


# -- request-level problems ---------------------------------------------------------------------------------
@pytest.mark.parametrize("content, code", [
    (b'{"model": "minilm", "input": ["a"', "invalid_json"),
    (b"[1, 2, 3]", "invalid_body"),
    (b'"just a string"', "invalid_body"),
    (b"", "invalid_body"),
])
def test_malformed_bodies(http, content, code):
    response = http.post("/v1/embeddings", content=content, headers={"Content-Type": "application/json"})
    assert error_of(response, 400)["code"] == code


@pytest.mark.parametrize("payload, param", [
    ({"model": "minilm", "input": 5}, "input"),
    ({"model": "minilm", "input": None}, "input"),
    ({"model": "minilm", "input": "a", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "minilm", "input": "a", "dimensions": 0}, "dimensions"),
    ({"model": "minilm", "input": "a", "dimensions": "many"}, "dimensions"),
    ({"model": "minilm", "input": "a", "dimensions": 385}, "dimensions"),
    ({"model": "minilm", "input": "a", "task": "summarise"}, "task"),
    ({"model": "minilm", "input": "a", "on_error": "ignore"}, "on_error"),
    ({"model": ["minilm"], "input": "a"}, "model"),
    ({"model": "minilm", "input": []}, "input"),
    ({"model": "minilm", "input": [101, 2023, 102]}, "input"),
    ({"model": "minilm", "input": [[101, 2023], [101]]}, "input"),
    ({"model": "minilm", "input": "a", "messages": [{"role": "user", "content": "a"}]}, "messages"),
    ({"model": "prompted", "input": "a", "prompt_name": "nope"}, "prompt_name"),
])
def test_invalid_fields(http, payload, param):
    assert error_of(http.post("/v1/embeddings", json=payload), 400)["param"] == param


def test_model_errors(http, client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="no-such-model", input="a")
    assert caught.value.body["code"] == "model_not_found" and "minilm" in caught.value.body["message"]
    assert error_of(http.post("/v1/embeddings", json={"input": "a"}), 400)["code"] == "model_required"
    assert error_of(http.post("/v1/embeddings", json={"model": "ce", "input": "a"}), 400)["code"] == \
        "wrong_model_kind"
    assert error_of(http.post("/v1/rerank", json={"model": "minilm", "query": "q", "documents": ["d"]}),
                    400)["code"] == "wrong_model_kind"


def test_too_many_items(http, client):
    error = error_of(http.post("/v1/embeddings", json={"model": "minilm", "input": ["a"] * 101}), 413)
    assert error["code"] == "too_many_items" and "100" in error["message"]
    error = error_of(http.post("/v1/rerank", json={"model": "ce", "query": "q", "documents": ["d"] * 101}), 413)
    assert error["code"] == "too_many_items"
    assert len(client.embeddings.create(model="minilm", input=["a"] * 100).data) == 100


def test_too_large_body(http):
    big = {"model": "minilm", "input": "x" * (2 * 1024 * 1024 + 10)}
    assert error_of(http.post("/v1/embeddings", json=big), 413)["code"] == "request_too_large"

    def chunked():  # no Content-Length: the limit is enforced while reading
        for _ in range(40):
            yield b" " * 65536
        yield json.dumps({"model": "minilm", "input": "a"}).encode()

    assert error_of(http.post("/v1/embeddings", content=chunked(),
                              headers={"Content-Type": "application/json"}), 413)["code"] == "request_too_large"


def test_unknown_route_and_method(http):
    assert error_of(http.get("/v1/nothing-here"), 404)["code"] == "not_found"
    assert error_of(http.get("/v1/embeddings"), 405)["code"] == "method_not_allowed"


def test_missing_rerank_fields(http):
    assert error_of(http.post("/v1/rerank", json={"model": "ce", "query": "q"}), 400)["param"] == "documents"
    assert error_of(http.post("/v1/rerank", json={"model": "ce", "documents": ["d"]}), 400)["param"] == "query"
    both = {"model": "ce", "query": "q", "documents": ["d"], "texts": ["d"]}
    assert error_of(http.post("/v1/rerank", json=both), 400)["param"] == "documents"
    assert error_of(http.post("/v1/rerank", json={"model": "ce", "query": "q", "documents": ["d"], "top_n": -1}),
                    400)["param"] == "top_n"


# -- per-item problems --------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, error_type, words", [
    ("/missing.png", "MediaFetchError", "404"),
    ("/broken.png", "MediaDecodeError", "image"),
])
def test_bad_media_item_names_index_and_type(client, media_server, bad, error_type, words):
    items = ["a caption", media_server.url("/cat.png"), media_server.url(bad)]
    with pytest.raises(openai.BadRequestError) as caught:
        client.embeddings.create(model="clip", input=items)
    body = caught.value.body
    assert body["code"] == error_type and body["param"] == "input[2]"
    assert body["message"].startswith("Item 2") and words in body["message"]
    assert body["failures"] == [{"index": 2, "type": error_type, "message": body["message"]}]


def test_skip_returns_the_good_items_and_lists_the_failures(http, reference, media_server, loopback_media):
    good = [media_server.url("/cat.png"), "a caption", media_server.url("/rocket.jpg")]
    items = [good[0], media_server.url("/broken.png"), good[1], {"image": "/etc/passwd"}, good[2],
             {"text": "a", "image": media_server.url("/cat.png")}]
    response = http.post("/v1/embeddings", json={"model": "clip", "input": items, "on_error": "skip"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [d["index"] for d in body["data"]] == list(range(6))
    assert [d["embedding"] is None for d in body["data"]] == [False, True, False, True, False, True]
    expected = reference["clip"].encode(good, media=loopback_media)
    for position, want in zip((0, 2, 4), expected):
        assert cosine(body["data"][position]["embedding"], want) >= 0.99999
    assert [(f["index"], f["type"]) for f in body["failures"]] == [
        (1, "MediaDecodeError"), (3, "LocalFileRefusedError"), (5, "UnsupportedModalityError")]
    assert all(f["message"].startswith(f"Item {f['index']}") for f in body["failures"])


@pytest.mark.parametrize("item, error_type", [
    ({"image": "/etc/hostname"}, "LocalFileRefusedError"),
    ({"image": "../not_served/secret.png"}, "LocalFileRefusedError"),
    ({"image": "link.png"}, "LocalFileRefusedError"),                  # a symlink out of the folder
    ({"image": "sub/../../x.png"}, "LocalFileRefusedError"),
    ({"image": "file:///etc/hostname"}, "LocalFileRefusedError"),
    ({"image": "missing.png"}, "MediaDecodeError"),
    ({"image": "ftp://example.com/cat.png"}, "UnsupportedInputError"),
    ({"image": 42}, "UnsupportedInputError"),
    ({"picture": "x"}, "UnsupportedInputError"),
    ({"type": "image_url"}, "UnsupportedInputError"),
    ({"type": "hologram", "hologram": "x"}, "UnsupportedInputError"),
    ([{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}], "UnsupportedInputError"),
    (3.5, "UnsupportedInputError"),
    ({"audio": "data:audio/wav;base64,UklGRg=="}, "UnsupportedModalityError"),  # CLIP takes no audio
    ({"image": "data:image/png;base64,!!!"}, "MediaDecodeError"),
])
def test_refused_items(http, media, item, error_type):
    error = error_of(http.post("/v1/embeddings", json={"model": "clip", "input": ["fine", item]}), 400)
    assert (error["code"], error["param"]) == (error_type, "input[1]")
    assert error["failures"][0]["index"] == 1
    assert media.outside_file not in error["message"]  # a refused path is never resolved into the answer


def test_plain_string_outside_the_folder_is_text(http, reference, media):
    """A plain string is text unless it names a file inside the allowed folder: never read from elsewhere."""
    outside = media.outside_file
    got = http.post("/v1/embeddings", json={"model": "clip", "input": [outside, "link.png"]}).json()["data"]
    expected = reference["clip"].encode([{"text": outside}, {"text": "link.png"}])
    for row, want in zip(got, expected):
        assert cosine(row["embedding"], want) >= 0.99999


def test_rerank_document_failures(http, reference, media_server):
    docs = ["Berlin is big.", {"image": "/etc/passwd"}, "Paris is far.", 7]
    error = error_of(http.post("/v1/rerank", json={"model": "ce", "query": "Berlin?", "documents": docs}), 400)
    assert error["param"] == "documents[1]" and error["message"].startswith("Document 1")
    assert [(f["index"], f["type"]) for f in error["failures"]] == [
        (1, "LocalFileRefusedError"), (3, "UnsupportedInputError")]
    body = http.post("/v1/rerank", json={"model": "ce", "query": "Berlin?", "documents": docs,
                                         "on_error": "skip"}).json()
    expected = reference["ce"].rank("Berlin?", ["Berlin is big.", "Paris is far."])
    assert [r["index"] for r in body["results"]] == [[0, 2][e["corpus_id"]] for e in expected] + [1, 3]
    assert [r["relevance_score"] is None for r in body["results"]] == [False, False, True, True]
    assert [f["index"] for f in body["failures"]] == [1, 3]
    top = http.post("/v1/rerank", json={"model": "ce", "query": "Berlin?", "documents": docs,
                                        "on_error": "skip", "top_n": 2}).json()
    assert all(r["relevance_score"] is not None for r in top["results"])


def test_rerank_fetch_failure_with_whisper(http, media_server):
    docs = [media_server.url("/speech/dog.wav"), media_server.url("/speech/nope.wav")]
    error = error_of(http.post("/v1/rerank", json={"model": "whisper", "query": "A dog.", "documents": docs}), 400)
    assert (error["code"], error["param"]) == ("MediaFetchError", "documents[1]")


def test_bad_query(http):
    error = error_of(http.post("/v1/rerank", json={"model": "ce", "query": {"image": "/etc/passwd"},
                                                   "documents": ["a"]}), 400)
    assert error["param"] == "query" and error["code"] == "LocalFileRefusedError"


def test_server_keeps_serving_after_the_errors(http, reference):
    assert http.get("/health").json() == {"status": "ok"}
    row = http.post("/v1/embeddings", json={"model": "minilm", "input": ["still here"]}).json()["data"][0]
    assert cosine(row["embedding"], reference["minilm"].encode("still here")) >= 0.99999


# -- the default (safe) server ------------------------------------------------------------------------------
def test_default_server_refuses_loopback_urls_and_local_paths(default_server, media_server, media):
    import httpx

    with httpx.Client(base_url=default_server.url, timeout=60) as http:
        items = [media_server.url("/cat.png?default"), {"image": os.path.join(media.local_dir, "cat.png")}, "cat.png"]
        body = http.post("/v1/embeddings", json={"model": "clip", "input": items, "on_error": "skip"}).json()
        assert [(f["index"], f["type"]) for f in body["failures"]] == [
            (0, "MediaFetchError"), (1, "LocalFileRefusedError")]
        assert "blocked" in body["failures"][0]["message"] and "loopback" in body["failures"][0]["message"]
        assert body["data"][2]["embedding"] is not None  # a plain string is text here
        assert "/cat.png?default" not in media_server.hits  # the media server was never contacted
        ok = http.post("/v1/embeddings", json={"model": "clip", "input": data_uri("image/png", media.png)})
        assert ok.status_code == 200 and np.isfinite(ok.json()["data"][0]["embedding"]).all()
