"""``omniembed serve`` as a command: usage errors, load failures and bind failures exit non-zero with one line;
/health is 503 until the models are loaded. (The API key from the environment: test_server_concurrency.)"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import httpx


def serve(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "omniembed", "serve", *args], capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_no_model_is_a_usage_error():
    result = serve("--port", "0")
    assert result.returncode == 2 and "give at least one MODEL" in result.stderr


def test_a_model_that_cannot_load_exits_1_with_one_line(tmp_path):
    result = serve(str(tmp_path / "no-such-model"), "--port", "0")
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("omniembed serve: error: ") and "no-such-model" in last
    assert "Traceback" not in result.stderr


def test_bad_settings_exit_1(tmp_path):
    result = serve("some-model", "--allow-local-files", str(tmp_path / "missing-dir"), "--port", "0")
    assert result.returncode == 1 and "--allow-local-files must name an existing folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_busy_port_exits_1(tiny_bert_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = serve(tiny_bert_dir, "--port", str(port))
    assert result.returncode == 1 and f"could not serve on 127.0.0.1:{port}" in result.stderr


def test_health_is_503_until_the_models_are_loaded(tiny_bert_dir):
    import uvicorn

    from omniembed import SentenceTransformer
    from omniembed.server import EmbeddingModel, ServerSettings, create_app

    release = threading.Event()

    def load():
        release.wait(60)
        return [EmbeddingModel("bert", SentenceTransformer(tiny_bert_dir, device="cpu"))]

    app = create_app(load, ServerSettings())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        assert httpx.get(url + "/health").status_code == 503
        assert httpx.get(url + "/health").json() == {"status": "loading"}
        busy = httpx.post(url + "/v1/embeddings", json={"input": "a"})
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "loading"
        assert busy.headers["retry-after"] == "2"
        release.set()
        deadline = time.monotonic() + 60
        while httpx.get(url + "/health").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(url + "/health").json() == {"status": "ok"}
        assert httpx.post(url + "/v1/embeddings", json={"input": "a"}).status_code == 200
    finally:
        release.set()
        server.should_exit = True
        thread.join(30)


def test_health_reports_a_failed_load():
    import uvicorn

    from omniembed.server import ServerSettings, create_app

    def load():
        raise FileNotFoundError("weights are gone")

    app = create_app(load, ServerSettings())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        deadline = time.monotonic() + 30
        while app.state.omniembed.status == "loading" and time.monotonic() < deadline:
            time.sleep(0.02)
        response = httpx.get(url + "/health")
        assert response.status_code == 503
        assert response.json() == {"status": "failed", "error": "FileNotFoundError: weights are gone"}
        assert httpx.post(url + "/v1/embeddings", json={"input": "a"}).json()["error"]["code"] == "load_failed"
    finally:
        server.should_exit = True
        thread.join(30)
