"""64 concurrent requests mixing modalities and endpoints all get their own right answer; concurrent requests
really share model calls; SIGTERM / Ctrl-C with requests in flight loses none and exits 0."""

from __future__ import annotations

import asyncio
import signal
import threading
import time

import httpx
import pytest
from _harness import start_server

from conftest import API_KEY, cosine, data_uri


def _metric(text: str, name: str, model: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_64_concurrent_mixed_requests(api_server, reference, media, media_server, loopback_media):
    cases = []  # (path, payload, check)
    for i in range(16):
        sentence = f"Sentence number {i} about {'cats' if i % 2 else 'the weather'}."
        want = reference["minilm"].encode(sentence)
        cases.append(("/v1/embeddings", {"model": "minilm", "input": sentence}, ("embed", [want])))
    images = [media_server.url(p) for p in ("/cat.png", "/coffee.png", "/rocket.jpg")]
    image_want = reference["clip"].encode(images, media=loopback_media)
    for i in range(16):
        items = [images[i % 3], f"caption {i}"]
        want = [image_want[i % 3], reference["clip"].encode(f"caption {i}")]
        cases.append(("/v1/embeddings", {"model": "clip", "input": items}, ("embed", want)))
    audio_want = reference["clap"].encode([media.wav, media.wav2])
    for i in range(10):
        item = data_uri("audio/wav", media.wav) if i % 2 else {"audio": media_server.url("/noise.wav")}
        cases.append(("/v1/embeddings", {"model": "clap", "input": [item]}, ("embed", [audio_want[(i + 1) % 2]])))
    video_want = reference["xclip"].encode([media.mp4, media.mp4_b])
    for i in range(6):
        url = media_server.url("/clip.mp4" if i % 2 == 0 else "/clip-b.mp4")
        cases.append(("/v1/embeddings", {"model": "xclip", "input": url}, ("embed", [video_want[i % 2]])))
    docs = ["Berlin has 3.5 million people.", "Cats purr.", "Berlin is the capital of Germany."]
    for i in range(16):
        query = f"Question {i} about Berlin?"
        want = [e["corpus_id"] for e in reference["ce"].rank(query, docs)]
        cases.append(("/v1/rerank", {"model": "ce", "query": query, "documents": docs}, ("rank", want)))
    assert len(cases) == 64
    before = httpx.get(api_server.url + "/metrics", headers={"Authorization": f"Bearer {API_KEY}"}).text

    async def main():
        async with httpx.AsyncClient(base_url=api_server.url, headers={"Authorization": f"Bearer {API_KEY}"},
                                     timeout=300) as client:
            return await asyncio.gather(*(client.post(path, json=payload) for path, payload, _ in cases))

    responses = asyncio.run(main())
    for (path, payload, (kind, want)), response in zip(cases, responses):
        assert response.status_code == 200, (payload, response.text)
        body = response.json()
        if kind == "embed":
            got = [d["embedding"] for d in body["data"]]
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert cosine(g, w) >= 0.99999, payload
        else:
            assert [r["index"] for r in body["results"]] == want
    after = httpx.get(api_server.url + "/metrics", headers={"Authorization": f"Bearer {API_KEY}"}).text
    calls = _metric(after, "omniembed_batch_items_count", "minilm") - _metric(before, "omniembed_batch_items_count",
                                                                              "minilm")
    items = _metric(after, "omniembed_batch_items_sum", "minilm") - _metric(before, "omniembed_batch_items_sum",
                                                                            "minilm")
    assert items == 16 and calls < 16  # concurrent requests were batched together


def _post_in_threads(url: str, payloads: list[dict], headers: dict) -> tuple[list, list[threading.Thread]]:
    results: list = [None] * len(payloads)

    def post(i: int) -> None:
        try:
            results[i] = httpx.post(url + "/v1/embeddings", json=payloads[i], headers=headers, timeout=120)
        except Exception as exc:  # noqa: BLE001 - recorded, so the assertion below names it
            results[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(payloads))]
    for thread in threads:
        thread.start()
    return results, threads


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_with_requests_in_flight_loses_none(model_dirs, reference, sig):
    # A long batch wait keeps the requests queued inside the server until the signal arrives; the signal makes
    # the server run them at once (it must not wait a minute for more requests that will never come).
    # The API key comes from the environment here (OMNIEMBED_API_KEY), which this test checks on the way.
    server = start_server([f"bert={model_dirs['bert']}", "--batch-wait-ms", "60000", "--max-batch-size", "256"],
                          env={"OMNIEMBED_API_KEY": "from-env"})
    auth = {"Authorization": "Bearer from-env"}
    try:
        assert httpx.get(server.url + "/v1/models", timeout=30).status_code == 401
        assert httpx.get(server.url + "/v1/models", headers=auth, timeout=30).json()["data"][0]["id"] == "bert"
        sentences = [f"in flight {i}" for i in range(24)]
        results, threads = _post_in_threads(server.url, [{"model": "bert", "input": s} for s in sentences], auth)
        deadline = time.monotonic() + 50
        while time.monotonic() < deadline:  # until the server holds every request in its queue
            queued = _metric(httpx.get(server.url + "/metrics", headers=auth).text, "omniembed_queued_items", "bert")
            if queued == len(sentences):
                break
            time.sleep(0.02)
        assert queued == len(sentences)
        signalled = time.monotonic()
        server.proc.send_signal(sig)
        for thread in threads:
            thread.join(120)
        rc = server.proc.wait(60)
        assert time.monotonic() - signalled < 40  # the queued batch ran at once, not after the 60 s wait
    finally:
        if server.proc.poll() is None:
            server.proc.kill()
    assert rc == 0, server.stderr()[-3000:]
    want = reference["bert"].encode(sentences)
    for response, expected in zip(results, want):
        assert isinstance(response, httpx.Response) and response.status_code == 200, response
        assert cosine(response.json()["data"][0]["embedding"], expected) >= 0.99999
    assert "shutting down" in server.stderr()
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=5)
