"""document_pages(): PDFs rendered page by page — pixels equal to a direct pypdfium2 render, the text layer,
page sizes and rotation, every kind of source, page selection, the pixel budget and streaming."""

from __future__ import annotations

import io
import pathlib
import threading

import numpy as np
import pypdfium2
import pytest
from PIL import Image
from support.pdfs import TOPICS, Page, build_pdf, numbered_pages, topic_pages

from omniembed.errors import ConfigError, MediaTooLargeError, MissingDependencyError, UnsupportedInputError
from omniembed.inputs import DocumentOptions, DocumentPage, MediaLimits, document_pages
from omniembed.inputs.pdf_render import MAX_SIDE


def direct_render(data: bytes, number: int, scale: float) -> Image.Image:
    """What pypdfium2 itself gives for a page: the reference for every pixel comparison."""
    pdf = pypdfium2.PdfDocument(data)
    try:
        return pdf[number - 1].render(scale=scale).to_pil()
    finally:
        pdf.close()


def same_pixels(a: Image.Image, b: Image.Image) -> bool:
    return a.mode == b.mode and a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def gradient(width: int, height: int) -> Image.Image:
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), (x + y) % 256], axis=-1)
    return Image.fromarray(rgb.astype(np.uint8))


@pytest.fixture(scope="module")
def topics_pdf() -> bytes:
    return build_pdf(topic_pages())


@pytest.fixture(scope="module")
def mixed_pdf() -> bytes:
    """Page 1 text, page 2 an image only, page 3 text and image, page 4 rotated by 90 degrees."""
    return build_pdf([
        Page(text=["Annual report", "Second line (with brackets)"]),
        Page(image=gradient(64, 48), image_box=(100, 300, 320, 240)),
        Page(text=["Chart below"], image=gradient(32, 32), image_box=(36, 36, 200, 200)),
        Page(text=["Landscape page"], rotate=90),
    ])


# ------------------------------------------------------------------------------------------------ pixels
def test_text_pages_equal_a_direct_pypdfium2_render(topics_pdf):
    pages = list(document_pages(topics_pdf, dpi=60))
    assert [p.number for p in pages] == list(range(1, 13))
    for page in pages:
        assert page.page_count == 12 and page.size == (612.0, 792.0)
        assert page.scale == pytest.approx(60 / 72) and page.dpi == pytest.approx(60)
        assert page.image.mode == "RGB" and page.image.size == (510, 660)
        assert same_pixels(page.image, direct_render(topics_pdf, page.number, 60 / 72))
    assert [p.text for p in pages] == TOPICS


def test_default_resolution_is_150_dpi(topics_pdf):
    with document_pages(topics_pdf, pages=1) as pages:
        page = next(pages)
    assert page.scale == pytest.approx(150 / 72)
    assert page.image.size == direct_render(topics_pdf, 1, 150 / 72).size
    assert abs(page.image.width - 1275) <= 1 and abs(page.image.height - 1650) <= 1


def test_mixed_image_and_rotated_pages(mixed_pdf):
    pages = list(document_pages(mixed_pdf, dpi=72))
    assert [p.text for p in pages] == [
        "Annual report\nSecond line (with brackets)", None, "Chart below", "Landscape page"
    ]
    for page in pages:
        assert same_pixels(page.image, direct_render(mixed_pdf, page.number, 1.0))
    # The image-only page shows the picture where it was placed: 64×48 pixels stretched over 320×240 points.
    picture = np.asarray(pages[1].image)[792 - 300 - 240 : 792 - 300, 100:420].astype(int)
    expected = np.asarray(gradient(64, 48).resize((320, 240), Image.NEAREST)).astype(int)
    assert np.abs(picture - expected).mean() < 12
    assert (np.asarray(pages[1].image)[:100] == 255).all()  # white above it
    # /Rotate 90: the page is displayed (and rendered) landscape.
    assert pages[3].size == (792.0, 612.0) and pages[3].image.size == (792, 612)


def test_image_pages_written_by_pillow():
    # A second, independent producer: Pillow's PDF writer (JPEG-compressed page images at 72 dpi).
    frames = [gradient(120, 80), gradient(60, 90)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "PDF", save_all=True, append_images=frames[1:], resolution=72)
    pages = list(document_pages(buffer.getvalue(), dpi=72))
    assert [(p.number, p.text, p.image.size) for p in pages] == [(1, None, (120, 80)), (2, None, (60, 90))]
    for page, frame in zip(pages, frames):
        assert np.abs(np.asarray(page.image, int) - np.asarray(frame, int)).mean() < 4  # JPEG, not lossless


def test_text_false_skips_the_text_layer(topics_pdf):
    assert [p.text for p in document_pages(topics_pdf, dpi=10, text=False)] == [None] * 12


# -------------------------------------------------------------------------------------------- pixel budget
def test_max_pixels_lowers_the_scale_instead_of_refusing(topics_pdf):
    page = next(document_pages(topics_pdf, dpi=300, max_pixels=100_000))
    width, height = page.image.size
    assert width * height <= 100_000 and page.scale < 300 / 72
    assert width / height == pytest.approx(612 / 792, abs=0.01)
    assert same_pixels(page.image, direct_render(topics_pdf, 1, page.scale))


def test_a_100000_point_square_page_renders_small():
    data = build_pdf([Page(text=["Huge page"], width=100_000, height=100_000, font_size=2000)])
    page = next(document_pages(data))
    width, height = page.image.size
    assert page.size == (100_000.0, 100_000.0)
    assert width * height <= 4_000_000 and width == height and width > 1900
    assert page.text == "Huge page"
    assert np.asarray(page.image).min() < 50  # the 2000-point text is visible at this scale


def test_a_very_long_thin_page_is_capped_per_side():
    page = next(document_pages(build_pdf([Page(width=200_000, height=5)]), dpi=300))
    width, height = page.image.size
    assert width <= MAX_SIDE and height >= 1


def test_max_pixels_is_capped_by_the_image_pixel_limit(topics_pdf):
    limits = MediaLimits(max_image_pixels=50_000)
    page = next(document_pages(topics_pdf, max_pixels=10_000_000, limits=limits))
    assert page.image.width * page.image.height <= 50_000


# ---------------------------------------------------------------------------------------------- sources
def test_every_kind_of_source_gives_the_same_page(tmp_path, topics_pdf):
    path = tmp_path / "topics.pdf"
    path.write_bytes(topics_pdf)
    import base64

    sources = [
        (str(path), str(path)),
        (path, str(path)),
        (path.as_uri(), path.as_uri()),
        (topics_pdf, None),
        (bytearray(topics_pdf), None),
        (memoryview(topics_pdf), None),
        ("data:application/pdf;base64," + base64.b64encode(topics_pdf).decode(), None),
    ]
    expected = direct_render(topics_pdf, 7, 0.5)
    for source, name in sources:
        page = next(document_pages(source, dpi=36, pages=7))
        assert page.document == name
        assert page.text == TOPICS[6] and same_pixels(page.image, expected)
    with open(path, "rb") as handle:
        page = next(document_pages(handle, dpi=36, pages=[7]))
    assert page.document == str(path) and same_pixels(page.image, expected)


def test_a_url_is_fetched_under_the_fetch_policy(http_media, media_dir, topics_pdf):
    base, policy = http_media
    (media_dir / "topics.pdf").write_bytes(topics_pdf)
    page = next(document_pages(f"{base}/topics.pdf", pages=7, dpi=36, fetch=policy))
    assert page.document == f"{base}/topics.pdf" and page.text == TOPICS[6]
    from omniembed.errors import MediaFetchError

    with pytest.raises(MediaFetchError):  # the default policy refuses loopback addresses
        document_pages(f"{base}/topics.pdf")


# ------------------------------------------------------------------------------------ selection, streaming
def test_page_selection_in_the_given_order():
    data = build_pdf(numbered_pages(200))
    with document_pages(data, dpi=10, pages=[200, 1, 100]) as pages:
        assert pages.page_count == 200 and len(pages) == 3
        assert [(p.number, p.text) for p in pages] == [
            (200, "Page 200 of 200"), (1, "Page 1 of 200"), (100, "Page 100 of 200")
        ]


def test_two_hundred_pages_stream_one_at_a_time():
    data = build_pdf(numbered_pages(200))
    pages = document_pages(data, dpi=10)
    assert len(pages) == 200
    seen = 0
    for page in pages:
        seen += 1
        assert page.number == seen and page.text == f"Page {seen} of 200"
        assert pages._position == seen  # nothing is rendered ahead of the consumer
    assert seen == 200 and pages._pdf is None  # exhausted: the document is closed


def test_page_count_limit():
    data = build_pdf(numbered_pages(30))
    with pytest.raises(MediaTooLargeError, match="max_document_pages=20; pass pages=range"):
        document_pages(data, limits=MediaLimits(max_document_pages=20))
    assert len(document_pages(data, pages=range(1, 21), limits=MediaLimits(max_document_pages=20))) == 20


@pytest.mark.parametrize(
    ("pages", "error", "match"),
    [
        (0, UnsupportedInputError, "page 0 does not exist: the document has 3 pages"),
        ([1, 4], UnsupportedInputError, "page 4 does not exist"),
        ("1", ConfigError, "pages must be a page number"),
        ([1.0], ConfigError, "page numbers must be integers"),
        ([True], ConfigError, "page numbers must be integers"),
    ],
)
def test_bad_page_selections(pages, error, match):
    with pytest.raises(error, match=match):
        document_pages(build_pdf(numbered_pages(3)), pages=pages)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"dpi": 0}, "dpi must be a positive number"), ({"dpi": float("nan")}, "dpi must be"),
     ({"dpi": True}, "dpi must be"), ({"max_pixels": 0}, "max_pixels must be a positive integer"),
     ({"max_pixels": 1.5}, "max_pixels must be")],
)  # fmt: skip
def test_bad_render_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        document_pages(build_pdf(numbered_pages(1)), **kwargs)


def test_document_options_validation():
    assert DocumentOptions(page="first").page_number == 1 and DocumentOptions(page=3).page_number == 3
    for bad in (0, "last", 1.0, True):
        with pytest.raises(ConfigError, match="DocumentOptions.page"):
            DocumentOptions(page=bad)
    with pytest.raises(ConfigError, match="DocumentOptions.dpi"):
        DocumentOptions(dpi=-1)


def test_close_and_context_manager(topics_pdf):
    pages = document_pages(topics_pdf, dpi=10)
    first = next(pages)
    pages.close()
    pages.close()  # idempotent
    assert first.number == 1 and list(pages) == []
    with document_pages(topics_pdf, dpi=10) as pages:
        next(pages)
    assert pages._pdf is None


def test_page_object_helpers(topics_pdf):
    page = next(document_pages(topics_pdf, dpi=100))
    assert isinstance(page, DocumentPage)
    thumb = page.thumbnail(128)
    assert max(thumb.size) == 128 and page.image.size == (850, 1100)
    assert repr(page) == "DocumentPage(None, page 1/12, 850×1100, 74 chars of text)"


def test_threads_share_pdfium_safely(topics_pdf):
    # PDFium is not thread-safe; encode() decodes items in a thread pool, so every call holds one lock.
    expected = [p.image for p in document_pages(topics_pdf, dpi=20)]
    results: dict[int, list] = {}

    def work(k: int) -> None:
        results[k] = [p.image for p in document_pages(topics_pdf, dpi=20)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1, 2, 3]
    for images in results.values():
        assert all(same_pixels(a, b) for a, b in zip(images, expected, strict=True))


def test_missing_pypdfium2_names_the_extra(monkeypatch, topics_pdf):
    import sys

    monkeypatch.setitem(sys.modules, "pypdfium2", None)
    with pytest.raises(MissingDependencyError, match=r"omniembed\[documents\]"):
        document_pages(topics_pdf)


def test_a_pathlib_path_that_does_not_exist(tmp_path):
    from omniembed.errors import MediaDecodeError

    with pytest.raises(MediaDecodeError, match="no such file"):
        document_pages(pathlib.Path(tmp_path / "missing.pdf"))
