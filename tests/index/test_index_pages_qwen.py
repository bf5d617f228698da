"""PDF pages indexed with a tiny Qwen-VL embedder (issue 15, point 4): a query naming the content of page 7 finds
page 7, and every stored page vector is ``encode_document`` of the page as ``document_pages`` renders it.

The models are random (``support.qwen_models``), so they cannot read: plain text pages come out alike (cosine
0.999999 between any two pages of ``topics.pdf``). What a random model does see is a picture, so the test's
``topics.pdf`` is the fixture's twelve topic sentences with one bundled photo per page (page 7, the volcano page,
shows a rocket launch), and page 7 is named by what it shows: the query is its rendered image (query by example)
or its sentence (through the text layer). The embedder is the suite's raw folder saved without a query
instruction, so for Qwen2-VL and Qwen2.5-VL the same input gives the same vector as query and document (score 1);
Qwen3-VL's chat template itself differs for queries and documents, so there the score is checked against a direct
``encode_query`` / ``encode_document`` computation. Pages are rendered at 36 dpi (not the default 72) to check
that the index's dpi reaches the renderer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.index_pages import write_pdf_folder
from support.media import skimage_image
from support.pdfs import TOPICS, Page, build_pdf
from support.qwen_models import QWEN_VL_FAMILIES
from support.qwen_saved import save_st_embedder

from omniembed import SentenceTransformer
from omniembed.index import MediaIndex
from omniembed.inputs import document_pages

PAGE_DPI = 36.0
# One bundled photo per topic page; page 7 ("Volcanic eruptions release ash clouds...") gets the rocket launch.
PICTURES = ("astronaut.png", "coffee.png", "chelsea.png", "camera.png", "coins.png", "horse.png", "rocket.jpg",
            "moon.png", "logo.png", "retina.jpg", "brick.png", "grass.png")


def illustrated_topic_pages() -> list[Page]:
    return [Page(text=[topic], font_size=12, image=skimage_image(name).convert("RGB").resize((128, 128)),
                 image_box=(56, 156, 500, 500)) for topic, name in zip(TOPICS, PICTURES, strict=True)]


@pytest.fixture(scope="module", params=QWEN_VL_FAMILIES)
def qwen_pages(request, qwen_suite, tmp_path_factory):
    """(model, index, report, pdf paths): the index tests' PDF folder, its topics.pdf illustrated, indexed page by
    page with the text layer by a tiny Qwen-VL embedder of one family."""
    family = request.param
    root = tmp_path_factory.mktemp(f"qwen_pages_{family}")
    folder = save_st_embedder(qwen_suite[f"{family}/raw"], root / "embedder")  # prompts: query "" and document ""
    model = SentenceTransformer(str(folder), device="cpu")
    paths = write_pdf_folder(root / "pdfs")
    Path(paths["topics.pdf"]).write_bytes(build_pdf(illustrated_topic_pages()))
    index = MediaIndex(root / "db", model)
    report = index.sync(paths["."], text_layer=True, page_dpi=PAGE_DPI)
    return model, index, report, paths


def _page(path: str, number: int, dpi: float = PAGE_DPI):
    with document_pages(path, pages=number, dpi=dpi) as pages:
        return next(pages)


def _stored(index: MediaIndex, where: str) -> dict[int, dict]:
    return {row["page"]: row for row in index.store.table.search().where(where).limit(None).to_list()}


def test_page_vectors_are_encode_document_of_the_pages_rendered_at_the_index_dpi(qwen_pages):
    model, index, report, paths = qwen_pages
    assert report.pages == 18 and report.embedded == 4  # topics (12), numbered (3), photos (3) and the note
    assert [(f.path, f.error) for f in report.failed] == [(paths["broken.pdf"], "MediaDecodeError")]
    topics = paths["topics.pdf"]
    images = _stored(index, f"path = '{topics}' AND modality = 'image'")
    texts = _stored(index, f"path = '{topics}' AND modality = 'text'")
    with document_pages(topics, dpi=PAGE_DPI) as pages:
        rendered = list(pages)
    assert [p.number for p in rendered] == sorted(images) == sorted(texts) == list(range(1, 13))
    assert rendered[6].text.strip() == TOPICS[6] and images[7]["text"] == rendered[6].text
    np.testing.assert_allclose(np.array([images[p.number]["vector"] for p in rendered]),
                               model.encode_document([p.image for p in rendered]), rtol=0, atol=1e-6)
    np.testing.assert_allclose(np.array([texts[p.number]["vector"] for p in rendered]),
                               model.encode_document([{"text": p.text} for p in rendered]), rtol=0, atol=1e-6)
    default_dpi = model.encode_document(_page(topics, 7, dpi=72).image)  # the default dpi gives another vector
    assert np.abs(default_dpi - np.asarray(images[7]["vector"])).max() > 1e-4


def test_the_rendered_image_of_page_7_finds_page_7(qwen_pages, tmp_path):
    model, index, _, paths = qwen_pages
    page = _page(paths["topics.pdf"], 7)
    page.image.save(tmp_path / "page7.png")
    hits = index.search(Path(tmp_path / "page7.png"), top_k=5, modality="image")
    assert (hits[0].path, hits[0].page, hits[0].modality) == (paths["topics.pdf"], 7, "image")
    assert hits[0].id == paths["topics.pdf"] + "#page=7"
    expected = float(model.encode_query(page.image) @ model.encode_document(page.image))
    assert hits[0].score == pytest.approx(expected, abs=1e-5) and expected > 0.99
    assert hits[1].score < hits[0].score - 1e-4  # the other pictures are not page 7's


def test_the_text_of_page_7_finds_page_7(qwen_pages):
    model, index, _, paths = qwen_pages
    hits = index.search(TOPICS[6], top_k=3, modality="document")  # "Volcanic eruptions release ash clouds..."
    assert (hits[0].path, hits[0].page) == (paths["topics.pdf"], 7)
    page = _page(paths["topics.pdf"], 7)
    expected = float(model.encode_query(TOPICS[6]) @ model.encode_document({"text": page.text}))
    assert hits[0].page_scores["text"] == pytest.approx(expected, abs=1e-5) and hits[0].score >= expected - 1e-6
    assert len({(h.path, h.page) for h in hits}) == 3  # a page's image and text rows are one result
    assert hits[1].score < hits[0].score - 1e-4
