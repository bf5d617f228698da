"""The server decodes request media in sandboxed worker processes and refuses strings that look like missing media
files (``server.settings.build_media_options``), while files of its ``--allow-local-files`` folder stay in-process.

The server runs in this process (uvicorn in a thread) so the decoder workers can be swapped for ones that crash on
request (``support/crashy_decoder.py``): a request item that kills its decoder fails alone, with the signal named,
and the next request is served by a fresh worker with exactly the in-process embeddings.
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from support import media

from omniembed.inputs import MediaOptions, isolation
from omniembed.server.settings import ServerSettings, build_media_options

TESTS = Path(__file__).resolve().parents[1]


def _uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_build_media_options_isolates_requests_and_trusts_only_the_local_folder(tmp_path):
    plain = build_media_options(ServerSettings())
    assert (plain.isolation, plain.missing_files, plain.trusted_folders) == ("process", "error", ())
    assert plain.fetch.allow_private_hosts is False
    served = build_media_options(ServerSettings(allow_local_files=str(tmp_path), allow_private_urls=True))
    assert served.trusted_folders == (os.path.realpath(tmp_path),) and served.fetch.allow_private_hosts is True
    inside, outside = tmp_path / "cat.png", tmp_path.parent / "elsewhere.png"
    assert not isolation.worth_isolating(str(inside), served.trusted_folders)
    for item in (str(outside), str(tmp_path / ".." / "elsewhere.png"), _uri(b"x"), b"\x89PNG", "https://x.test/a.png",
                 f"file://{inside}"):
        assert isolation.worth_isolating(item, served.trusted_folders), item


def test_trusted_folders_follow_symbolic_links(tmp_path):
    trusted, other = tmp_path / "trusted", tmp_path / "other"
    trusted.mkdir(), other.mkdir()
    (other / "evil.png").write_bytes(b"x")
    (trusted / "link.png").symlink_to(other / "evil.png")
    options = MediaOptions(isolation="process", trusted_folders=(str(trusted),))
    assert isolation.worth_isolating(str(trusted / "link.png"), options.trusted_folders)  # resolves outside
    with pytest.raises(ValueError, match="trusted_folders must be a tuple"):
        MediaOptions(trusted_folders=str(trusted))


@pytest.fixture
def crashy(monkeypatch):
    monkeypatch.setattr(isolation, "WORKER_MODULE", "support.crashy_decoder")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    isolation.shutdown_pools()
    yield
    isolation.shutdown_pools()


@pytest.fixture
def server(crashy, clip_dir, tmp_path):
    import uvicorn

    from omniembed import SentenceTransformer
    from omniembed.server import EmbeddingModel, create_app

    model = SentenceTransformer(clip_dir, device="cpu")
    folder = tmp_path / "served"
    folder.mkdir()
    app = create_app([EmbeddingModel("clip", model)], ServerSettings(allow_local_files=str(folder)))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{srv.servers[0].sockets[0].getsockname()[1]}"
    while httpx.get(url + "/health").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield url, model, folder
    finally:
        srv.should_exit = True
        thread.join(30)


def _embed(url: str, items: list) -> httpx.Response:
    return httpx.post(url + "/v1/embeddings", json={"model": "clip", "input": items}, timeout=120)


def test_a_request_item_that_crashes_its_decoder_fails_alone(server):
    url, model, _ = server
    png = media.encode_image(media.mode_image("RGB", (32, 32)), "PNG")
    crashed = _embed(url, ["a cat", {"image": _uri(png)}, {"image": _uri(b"SEGFAULT")}])
    assert crashed.status_code == 400, crashed.text
    failures = crashed.json()["error"]["failures"]
    assert [(f["index"], f["type"]) for f in failures] == [(2, "MediaDecodeError")]
    assert "crashed (SIGSEGV)" in failures[0]["message"]
    # The worker was replaced: the same server answers the next request, with the in-process embeddings.
    ok = _embed(url, ["a cat", {"image": _uri(png)}])
    assert ok.status_code == 200, ok.text
    rows = np.array([d["embedding"] for d in ok.json()["data"]], np.float32)
    expected = model.encode(["a cat", png], media=MediaOptions())
    np.testing.assert_allclose(rows, expected, rtol=1e-5, atol=1e-6)


def test_files_of_the_local_folder_are_decoded_in_process(server):
    url, _, folder = server
    (folder / "magic.png").write_bytes(b"SEGFAULT")  # kills a worker, but is just a broken image in-process
    response = _embed(url, [{"image": "magic.png"}])
    assert response.status_code == 400
    failure = response.json()["error"]["failures"][0]
    assert failure["type"] == "MediaDecodeError" and "not a valid image" in failure["message"], failure
    assert "crashed" not in failure["message"]


def test_a_missing_media_path_in_a_text_position_is_refused_by_the_server_options(clip_dir):
    from omniembed import SentenceTransformer
    from omniembed.errors import MediaDecodeError

    model = SentenceTransformer(clip_dir, device="cpu")
    with pytest.raises(MediaDecodeError, match=r"^Item 1 .*no such file: 'photos/catt\.jpg'"):
        model.encode(["a cat", "photos/catt.jpg"], media=build_media_options(ServerSettings()))
