"""The search page's HTTP API (FastAPI TestClient): JSON search by text and by uploaded file, cached thumbnails,
original files, and the rule that only indexed files inside the indexed folders are served."""

from __future__ import annotations

import io
import os
from pathlib import Path
from urllib.parse import quote

import pytest
from support.index_corpus import EMBEDDED

from omniembed.index import MediaIndex
from omniembed.index.web import allowed_file, create_search_app, create_search_router


@pytest.fixture(scope="module")
def client(indexed, tmp_path_factory):
    from starlette.testclient import TestClient

    index, _ = indexed
    app = create_search_app(index, thumbnail_dir=str(tmp_path_factory.mktemp("thumbs")))
    with TestClient(app) as test_client:
        yield test_client


def search(client, q, **params):
    response = client.get("/index/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_page_is_one_self_contained_html_document(client):
    response = client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'id="q"' in html and 'id="file"' in html and 'id="modality"' in html
    assert '"search": "/index/search"' in html and '"thumbnail": "/index/thumbnail"' in html
    assert "<script src" not in html and "<link" not in html  # no external resources


def test_info(client, indexed):
    info = client.get("/index/info").json()
    assert info["rows"] == len(EMBEDDED) and info["dimension"] == 384 and info["similarity"] == "cosine"
    assert info["modalities"] == {"text": 5, "image": 4, "audio": 2, "video": 1}
    assert info["model"] == indexed[0].info.model and info["ann_index"] is False


def test_text_search_json_matches_the_python_api(client, indexed, corpus):
    results = search(client, "whisk flour eggs and milk", top_k=5)
    expected = indexed[0].search("whisk flour eggs and milk", top_k=5)
    assert [r["path"] for r in results] == [h.path for h in expected]
    assert [r["score"] for r in results] == pytest.approx([h.score for h in expected], abs=1e-6)
    first = results[0]
    assert first["path"] == corpus["pancakes.txt"] and first["name"] == "pancakes.txt" and first["rank"] == 1
    assert first["text"].startswith("Pancake recipe") and first["thumbnail"] is None
    assert first["file"] == f"/index/file?id={quote(corpus['pancakes.txt'], safe='')}"


def test_modality_filter_and_bad_requests(client):
    assert {r["modality"] for r in search(client, "x", modality="image", top_k=50)} == {"image"}
    assert len(search(client, "x", modality="all", top_k=50)) == len(EMBEDDED)
    bad = client.get("/index/search", params={"q": "x", "modality": "picture"})
    assert bad.status_code == 400 and "Unknown modality 'picture'" in bad.json()["error"]
    assert client.get("/index/search", params={"q": "  "}).json()["error"] == "The search query is empty."
    assert client.get("/index/search").status_code == 422  # FastAPI's own validation: q is required


def test_thumbnails_are_generated_once_and_cached(client, corpus):
    from PIL import Image

    hits = {r["path"]: r for r in search(client, "x", top_k=50)}
    for name in ("photos/cat.jpg", "photos/astronaut_no_extension", "clips/count.mp4"):
        url = hits[corpus[name]]["thumbnail"]
        first = client.get(url)
        assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
        picture = Image.open(io.BytesIO(first.content))
        assert picture.format == "JPEG" and max(picture.size) <= 320
        assert client.get(url).content == first.content
    cat = Image.open(io.BytesIO(client.get(hits[corpus["photos/cat.jpg"]]["thumbnail"]).content))
    assert cat.size == (320, 213)  # chelsea.png is 451 × 300: the aspect ratio is kept
    assert hits[corpus["sounds/tone.wav"]]["thumbnail"] is None  # audio gets a player, not a picture


def test_original_files_are_served_with_ranges(client, corpus):
    hits = {r["path"]: r for r in search(client, "x", top_k=50)}
    wav = Path(corpus["sounds/tone.wav"]).read_bytes()
    response = client.get(hits[corpus["sounds/tone.wav"]]["file"])
    assert response.status_code == 200 and response.content == wav
    partial = client.get(hits[corpus["sounds/tone.wav"]]["file"], headers={"Range": "bytes=0-99"})
    assert partial.status_code == 206 and partial.content == wav[:100]


def test_query_by_uploaded_file(client, corpus):
    for name in ("photos/coffee.png", "sounds/hiss.flac"):
        files = {"file": (os.path.basename(name), Path(corpus[name]).read_bytes())}
        response = client.post("/index/search", files=files, data={"top_k": "3"})
        assert response.status_code == 200, response.text
        assert response.json()["results"][0]["path"] == corpus[name]
    note = client.post("/index/search", files={"file": ("q.txt", b"capital of Germany")}, data={"top_k": "1"})
    assert note.json()["results"][0]["path"] == corpus["berlin.md"]
    junk = client.post("/index/search", files={"file": ("x.bin", b"\x00\x01junk")})
    assert junk.status_code == 400 and "Drop an image, audio, video or text file" in junk.json()["error"]
    broken = client.post("/index/search", files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + bytes(30))})
    assert broken.status_code == 400 and "image" in broken.json()["error"]


def test_files_not_in_the_index_are_never_served(client, corpus):
    for row_id in ("/etc/passwd", corpus["broken/garbage.jpg"], corpus["ignored/data.json"], "../../etc/passwd"):
        assert client.get("/index/file", params={"id": row_id}).status_code == 404
        assert client.get("/index/thumbnail", params={"id": row_id}).status_code == 404


def test_symlinks_out_of_an_indexed_folder_are_not_served(tmp_path, omni_model):
    from starlette.testclient import TestClient

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("the secret plans")
    (outside / "single.txt").write_text("a note indexed on its own")
    (root / "fine.txt").write_text("an ordinary note")
    os.symlink(outside / "secret.txt", root / "escape.txt")
    index = MediaIndex(tmp_path / "db", omni_model)
    index.sync(root)
    index.add(outside / "single.txt")
    assert len(index) == 3
    roots = index.roots()
    assert allowed_file(str(root / "fine.txt"), roots)
    assert not allowed_file(str(root / "escape.txt"), roots)
    assert allowed_file(str(outside / "single.txt"), roots)  # named one by one: served as itself
    with TestClient(create_search_app(index, thumbnail_dir=str(tmp_path / "t"))) as client:
        get = lambda p: client.get("/index/file", params={"id": str(p)}).status_code
        assert (get(root / "fine.txt"), get(root / "escape.txt"), get(outside / "single.txt")) == (200, 404, 200)
        hits = {r["path"]: r for r in client.get("/index/search", params={"q": "secret"}).json()["results"]}
        assert hits[str(root / "escape.txt")]["file"] is None


def test_router_mounts_under_a_prefix(indexed, tmp_path):
    from fastapi import FastAPI
    from starlette.testclient import TestClient

    app = FastAPI()
    app.include_router(create_search_router(indexed[0], thumbnail_dir=str(tmp_path)), prefix="/media")
    with TestClient(app) as client:
        assert '"search": "/media/index/search"' in client.get("/media/").text
        results = client.get("/media/index/search", params={"q": "guitar strings"}).json()["results"]
        assert results[0]["name"] == "guitar.txt" and results[0]["file"].startswith("/media/index/file?id=")
        assert client.get(results[0]["file"]).status_code == 200
