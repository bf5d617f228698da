"""Auth, /v1/models, /health, /metrics and /docs."""

from __future__ import annotations

import httpx
import openai
import pytest

from conftest import API_KEY


@pytest.mark.parametrize("method, path", [
    ("POST", "/v1/embeddings"), ("POST", "/v1/rerank"), ("POST", "/rerank"), ("GET", "/v1/models"),
    ("GET", "/metrics"), ("GET", "/docs"), ("GET", "/openapi.json"), ("GET", "/no-such-route"),
])
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {API_KEY}"},
                                     {"Authorization": API_KEY}])
def test_every_route_but_health_needs_the_key(api_server, method, path, headers):
    response = httpx.request(method, api_server.url + path, headers=headers, json={"input": "a"}, timeout=30)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert response.headers["www-authenticate"] == "Bearer"


def test_health_needs_no_key(api_server):
    response = httpx.get(api_server.url + "/health", timeout=30)
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_openai_client_with_a_wrong_key(api_server):
    wrong = openai.OpenAI(base_url=f"{api_server.url}/v1", api_key="not-the-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.embeddings.create(model="minilm", input="a")


def test_bearer_scheme_is_case_insensitive(api_server):
    response = httpx.get(api_server.url + "/v1/models", headers={"Authorization": f"bearer {API_KEY}"}, timeout=30)
    assert response.status_code == 200


def test_models_list(client, http):
    listed = {m.id: m for m in client.models.list()}
    assert set(listed) == {"minilm", "bert", "prompted", "clip", "clap", "xclip", "ce", "whisper"}
    body = {m["id"]: m for m in http.get("/v1/models").json()["data"]}
    assert body["minilm"] == {"id": "minilm", "object": "model", "created": 0, "owned_by": "omniembed",
                              "task": "embedding", "modalities": ["text"], "dimensions": 384, "prompts": []}
    assert body["clip"]["modalities"] == ["text", "image"] and body["clip"]["dimensions"] == 24
    assert body["clap"]["modalities"] == ["text", "audio"] and body["xclip"]["modalities"] == ["text", "video"]
    assert body["prompted"]["prompts"] == ["document", "query", "title"]
    assert body["ce"]["task"] == body["whisper"]["task"] == "rerank"
    assert http.get("/models").json() == http.get("/v1/models").json()


def test_startup_message_lists_the_url_and_each_model(api_server):
    text = "\n".join(api_server.stdout)
    assert api_server.url.startswith("http://127.0.0.1:")
    assert f"omniembed serve: {api_server.url}" in text
    assert "embedding  minilm  [text]  384 dims" in text
    assert "embedding  clip  [text, image]  24 dims" in text
    assert "rerank     whisper  [" in text and "audio" in text
    assert "ready (API key required" in text


def test_docs_and_openapi(http):
    docs = http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = http.get("/openapi.json").json()
    assert {"/v1/embeddings", "/v1/rerank", "/rerank", "/v1/models", "/health", "/metrics"} <= set(schema["paths"])
    properties = schema["components"]["schemas"]["EmbeddingRequest"]["properties"]
    assert {"input", "model", "encoding_format", "dimensions", "task", "prompt_name", "on_error"} <= set(properties)


def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if line.startswith((name + "{", name + " ")):
            found = dict(part.split("=", 1) for part in line[line.find("{") + 1: line.find("}")].split(",")
                         if "=" in part)
            if all(found.get(k) == f'"{v}"' for k, v in labels.items()):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_items_and_errors(http, media_server):
    before = http.get("/metrics").text
    http.post("/v1/embeddings", json={"model": "clip", "input": ["a", "b", media_server.url("/cat.png")]})
    http.post("/v1/embeddings", json={"model": "clip", "input": [media_server.url("/broken.png")]})
    http.post("/v1/embeddings", json={"model": "nope", "input": "a"})
    after = http.get("/metrics")
    assert after.headers["content-type"].startswith("text/plain")
    text = after.text

    def delta(name: str, **labels: str) -> float:
        return _metric(text, name, **labels) - _metric(before, name, **labels)

    assert delta("omniembed_items_total", model="clip", modality="text") == 2
    assert delta("omniembed_items_total", model="clip", modality="image") == 2
    assert delta("omniembed_item_errors_total", model="clip", type="MediaDecodeError") == 1
    assert delta("omniembed_requests_total", route="/v1/embeddings", status="200") == 1
    assert delta("omniembed_requests_total", route="/v1/embeddings", status="400") == 1
    assert delta("omniembed_requests_total", route="/v1/embeddings", status="404") == 1
    assert delta("omniembed_request_errors_total", code="model_not_found") == 1
    assert delta("omniembed_request_errors_total", code="MediaDecodeError") == 1
    assert delta("omniembed_batch_items_count", model="clip") == 3  # a text lane call and two media lane calls
    assert delta("omniembed_inference_seconds_count", model="clip") == 3
    assert delta("omniembed_request_seconds_count", route="/v1/embeddings") == 3
    assert _metric(text, "omniembed_models_ready") == 1


def test_loaded_objects_are_hidden_from_the_collector(http):
    """`omniembed serve` freezes what loading created, so full collections during requests stay short (p99)."""
    assert _metric(http.get("/metrics").text, "omniembed_gc_frozen_objects") > 100_000


def test_openmp_threads_wait_passively(api_server):
    """The command restarts itself with OMP_WAIT_POLICY=PASSIVE unless the variable was set (then it is kept)."""
    import os

    with open(f"/proc/{api_server.proc.pid}/environ", "rb") as fh:
        env = dict(e.split(b"=", 1) for e in fh.read().split(b"\0") if b"=" in e)
    assert env[b"OMP_WAIT_POLICY"] == os.environ.get("OMP_WAIT_POLICY", "PASSIVE").encode()
