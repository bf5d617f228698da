"""PDF documents in the index (issue 15, points 2-3): one row per page with the page's text layer and a cached
thumbnail, vectors equal to `encode_document` of the rendered pages, results that name the document and the
page, the text layer embedded by a text model (the real MiniLM) and merged with page images, reranking of
pages, per-document incremental runs, and the command line end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support.index_pages import VOLCANO_QUERY, write_pdf_folder
from support.pdfs import build_pdf, numbered_pages

from omniembed import CrossEncoder
from omniembed.index import MediaIndex
from omniembed.index.search import rerank_document
from omniembed.index.thumbnails import ThumbnailCache, default_thumbnail_dir
from omniembed.inputs import document_pages


def stored(index: MediaIndex, where: str) -> list[dict]:
    table = index.store.table.search().where(where).limit(None).to_list()
    return sorted(table, key=lambda r: r["id"])


def test_one_row_per_page_with_text_thumbnail_and_the_page_embedding(pages_indexed, pdf_folder, omni_model):
    index, report = pages_indexed
    assert report.embedded == 4 and report.pages == 18  # three documents (12 + 3 + 3 pages) and the note
    assert [(f.path, f.error) for f in report.failed] == [(pdf_folder["broken.pdf"], "MediaDecodeError")]
    topics = pdf_folder["topics.pdf"]
    images = stored(index, f"path = '{topics}' AND modality = 'image'")
    texts = stored(index, f"path = '{topics}' AND modality = 'text'")
    assert sorted(r["page"] for r in images) == list(range(1, 13)) == sorted(r["page"] for r in texts)
    assert {r["id"] for r in images} == {f"{topics}#page={n}" for n in range(1, 13)}
    assert {r["id"] for r in texts} == {f"{topics}#page={n}&layer=text" for n in range(1, 13)}
    rendered = list(document_pages(topics, dpi=72))
    by_page = {r["page"]: r for r in images}
    assert [by_page[p.number]["text"] for p in rendered] == [p.text for p in rendered]
    np.testing.assert_allclose(np.array([by_page[p.number]["vector"] for p in rendered]),
                               omni_model.encode_document([p.image for p in rendered]), atol=1e-5)
    text_rows = {r["page"]: r for r in texts}
    np.testing.assert_allclose(np.array([text_rows[p.number]["vector"] for p in rendered]),
                               omni_model.encode_document([{"text": p.text} for p in rendered]), atol=1e-5)
    cache = ThumbnailCache(default_thumbnail_dir(index.db))
    for row in images:  # written while the pages were rendered for embedding
        assert os.path.isfile(cache._target(cache.key(topics, row["content_hash"], row["page"])))


def test_query_by_example_names_the_document_and_the_page(pages_indexed, pdf_folder, tmp_path):
    index, _ = pages_indexed
    assert index.store.count(f"path = '{pdf_folder['photos.pdf']}' AND modality = 'text'") == 0  # no text layer
    with document_pages(pdf_folder["photos.pdf"], pages=2, dpi=72) as pages:
        page = next(pages)
    page.image.save(tmp_path / "page2.png")
    hit = index.search(Path(tmp_path / "page2.png"), top_k=1)[0]
    assert (hit.path, hit.page, hit.modality) == (pdf_folder["photos.pdf"], 2, "image")
    assert hit.score == pytest.approx(1.0, abs=1e-5) and hit.text is None


def test_text_layer_finds_page_7_and_each_page_is_one_result(pages_indexed, pdf_folder):
    index, _ = pages_indexed
    hits = index.search(VOLCANO_QUERY, top_k=10, modality="document")
    assert (hits[0].path, hits[0].page) == (pdf_folder["topics.pdf"], 7)
    assert set(hits[0].page_scores) == {"text", "image"} or set(hits[0].page_scores) == {"text"}
    assert hits[0].score == max(hits[0].page_scores.values())
    assert len({(h.path, h.page) for h in hits}) == len(hits) == 10  # image and text rows of a page merged
    assert all(h.page is not None for h in hits)
    assert [h.rank for h in hits] == list(range(1, 11)) and [h.score for h in hits] == sorted(
        (h.score for h in hits), reverse=True)


def test_a_text_only_model_indexes_the_text_layer(pdf_folder, minilm_dir, tmp_path):
    """The real MiniLM (it takes no images) embeds each page's text layer: a paraphrase finds page 7."""
    index = MediaIndex(tmp_path / "db", minilm_dir)
    report = index.sync(pdf_folder["."])
    assert report.pages == 15 and report.embedded == 3  # photos.pdf has no text layer: a failure with a text model
    assert [f.reason for f in report.failed if f.path == pdf_folder["photos.pdf"]] == [
        "no page has a text layer (a scan?) and the store's model embeds only text"]
    assert index.store.count("modality = 'image'") == 0 and index.store.count("page IS NOT NULL") == 15
    hits = index.search(VOLCANO_QUERY, top_k=3)
    assert (hits[0].path, hits[0].page, hits[0].modality) == (pdf_folder["topics.pdf"], 7, "text")
    assert hits[0].id == pdf_folder["topics.pdf"] + "#page=7&layer=text"


def test_rerank_pages_with_a_vlm_reranker(pages_indexed, reranker_dir):
    index, _ = pages_indexed
    candidates = index.search(VOLCANO_QUERY, top_k=6, modality="image")  # page images only
    reranker = CrossEncoder(reranker_dir, device="cpu")
    documents = [rerank_document({"id": h.id, "path": h.path, "page": h.page, "modality": h.modality,
                                  "text": h.text}) for h in candidates]
    assert all(set(d) == {"image"} and d["image"].width == 1275 for d in documents)  # pages at 150 dpi
    expected = reranker.rank(VOLCANO_QUERY, documents, top_k=3, on_error="skip")
    hits = index.search(VOLCANO_QUERY, top_k=3, modality="image", rerank=reranker_dir, rerank_candidates=6)
    assert [(h.path, h.page) for h in hits] == [(candidates[e["corpus_id"]].path, candidates[e["corpus_id"]].page)
                                                for e in expected]
    np.testing.assert_allclose([h.score for h in hits], [e["score"] for e in expected], atol=1e-5)


def test_incremental_runs_work_per_document(omni_model, tmp_path):
    paths = write_pdf_folder(tmp_path / "pdfs")
    os.remove(paths["broken.pdf"])
    index = MediaIndex(tmp_path / "db", omni_model)
    first = index.sync(paths["."])
    assert first.pages == 18 and not first.failed
    topics_before = {r["id"]: r["vector"] for r in stored(index, f"path = '{paths['topics.pdf']}'")}

    again = index.sync(paths["."])
    assert (again.embedded, again.pages, again.unchanged) == (0, 0, 4)

    Path(paths["numbered.pdf"]).write_bytes(build_pdf(numbered_pages(2)))  # 3 pages → 2
    changed = index.sync(paths["."])
    assert (changed.embedded, changed.pages, changed.unchanged) == (1, 2, 3)
    rows = stored(index, f"path = '{paths['numbered.pdf']}'")
    assert [(r["page"], r["text"]) for r in rows] == [(1, "Page 1 of 2"), (2, "Page 2 of 2")]
    topics_after = {r["id"]: r["vector"] for r in stored(index, f"path = '{paths['topics.pdf']}'")}
    assert topics_after.keys() == topics_before.keys()
    for row_id, vector in topics_before.items():  # the unchanged document was not re-embedded
        np.testing.assert_array_equal(topics_after[row_id], vector)

    os.remove(paths["topics.pdf"])
    gone = index.sync(paths["."])
    assert gone.removed == 1 and index.store.count(f"path = '{paths['topics.pdf']}'") == 0
    assert index.store.count() == 6  # two numbered pages, three photo pages and the note


@pytest.mark.slow
def test_command_line_end_to_end(pdf_folder, omni_model_dir, tmp_path):
    folder = tmp_path / "pdfs"
    shutil.copytree(pdf_folder["."], folder)
    db = str(tmp_path / "db")
    run = [sys.executable, "-m", "omniembed"]
    done = subprocess.run([*run, "index", str(folder), "--model", omni_model_dir, "--db", db, "--json",
                           "--no-progress", "--failures", str(tmp_path / "failed.jsonl")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 3, done.stderr  # the truncated PDF failed; the rest is indexed
    report = json.loads(done.stdout)
    assert report["pages"] == 18 and report["embedded"] == 4
    failed = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert [f["path"] for f in failed] == [str((folder / "broken.pdf").resolve())]
    with document_pages(folder / "photos.pdf", pages=3, dpi=72) as pages:
        next(pages).image.save(tmp_path / "page3.png")
    found = subprocess.run([*run, "search", "--query-file", str(tmp_path / "page3.png"), "--db", db, "--top-k", "2",
                            "--modality", "document", "--json"], capture_output=True, text=True, timeout=600,
                           check=False)
    assert found.returncode == 0, found.stderr
    first = json.loads(found.stdout.splitlines()[0])
    assert (first["path"], first["page"], first["modality"]) == (str((folder / "photos.pdf").resolve()), 3, "image")
    table = subprocess.run([*run, "search", "--query-file", str(tmp_path / "page3.png"), "--db", db, "--top-k", "1"],
                           capture_output=True, text=True, timeout=600, check=False)
    assert table.returncode == 0 and "photos.pdf (page 3)" in table.stdout


def test_web_results_carry_the_page_and_its_thumbnail(pages_indexed, pdf_folder, tmp_path):
    from starlette.testclient import TestClient

    from omniembed.index.web import create_search_app

    index, _ = pages_indexed
    with TestClient(create_search_app(index)) as client:
        response = client.get("/index/search", params={"q": VOLCANO_QUERY, "top_k": 3, "modality": "document"})
        assert response.status_code == 200, response.text
        first = response.json()["results"][0]
        assert (first["path"], first["page"]) == (pdf_folder["topics.pdf"], 7) and first["thumbnail"]
        thumb = client.get(first["thumbnail"])
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
        import io

        from PIL import Image

        picture = Image.open(io.BytesIO(thumb.content))
        assert max(picture.size) == 320 and picture.size[1] > picture.size[0]  # a portrait page
