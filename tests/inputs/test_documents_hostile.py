"""Encrypted, truncated, broken and hostile PDFs: typed errors naming the item (and the page), never a crash,
a hang or a half-rendered document."""

from __future__ import annotations

import time

import numpy as np
import pytest
from support.pdfs import Page, build_pdf, numbered_pages

from omniembed.errors import MediaDecodeError, MediaTooLargeError, OmniEmbedError
from omniembed.inputs import MediaLimits, document_pages


@pytest.fixture(scope="module")
def three_pages() -> bytes:
    return build_pdf(numbered_pages(3))


# ---------------------------------------------------------------------------------------------- encrypted
def test_encrypted_pdf_needs_its_password(tmp_path):
    data = build_pdf(numbered_pages(2), user_password="s3cret")
    path = tmp_path / "locked.pdf"
    path.write_bytes(data)
    with pytest.raises(MediaDecodeError, match="encrypted PDF: it needs a password") as err:
        document_pages(str(path))
    assert isinstance(err.value, ValueError) and str(err.value).startswith(f"{str(path)!r}: encrypted PDF")
    with pytest.raises(MediaDecodeError, match="encrypted PDF: the password is wrong"):
        document_pages(str(path), password="guess")
    pages = list(document_pages(str(path), password="s3cret", dpi=20))
    assert [p.text for p in pages] == ["Page 1 of 2", "Page 2 of 2"]
    plain = list(document_pages(build_pdf(numbered_pages(2)), dpi=20))
    assert all(np.array_equal(np.asarray(a.image), np.asarray(b.image)) for a, b in zip(pages, plain))


def test_encrypted_with_an_empty_user_password_opens_without_one():
    # Owner-password-only files (permissions, no secrecy) are common; every viewer opens them.
    pages = list(document_pages(build_pdf(numbered_pages(1), user_password=""), dpi=20))
    assert pages[0].text == "Page 1 of 1"


# ------------------------------------------------------------------------------------- truncated, broken
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_files_are_refused_not_half_rendered(three_pages, keep):
    cut = three_pages[: int(len(three_pages) * keep)]
    with pytest.raises(MediaDecodeError, match="truncated PDF"):
        document_pages(cut)


def test_cut_just_before_the_end_marker_is_still_truncated(three_pages):
    # PDFium alone would open this one (the trailer is intact): the %%EOF rule refuses it all the same.
    with pytest.raises(MediaDecodeError, match="truncated PDF"):
        document_pages(three_pages[: three_pages.rindex(b"%%EOF")])


def test_trailing_bytes_after_the_end_marker_are_fine(three_pages):
    assert len(list(document_pages(three_pages + b"\n" * 100, dpi=10))) == 3


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"%PDF-1.7\n" + bytes(2000) + b"%%EOF", "not a valid PDF"),
        (b"%PDF-1.4\nthis is not a pdf at all\n%%EOF\n", "not a valid PDF"),
        (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a PDF document"),
        (b"", "empty input"),
    ],
)
def test_broken_files(data, match):
    with pytest.raises(MediaDecodeError, match=match):
        document_pages(data)


def test_damaged_cross_reference_tables(three_pages):
    import re

    # A wrong startxref, offsets shifted by an edit, a missing table: PDFium rebuilds the table by scanning the
    # objects, as viewers do, and all three pages still come out right.
    wrong_start = re.sub(rb"startxref\n\d+", b"startxref\n999999", three_pages)
    shifted = three_pages.replace(b"%PDF-1.4\n", b"%PDF-1.4\n% an inserted comment\n", 1)
    xref, trailer = three_pages.index(b"xref"), three_pages.index(b"trailer")
    missing = three_pages[:xref] + three_pages[trailer:]
    for repaired in (wrong_start, shifted, missing):
        assert [p.text for p in document_pages(repaired, dpi=10)] == ["Page 1 of 3", "Page 2 of 3", "Page 3 of 3"]
    # Garbage where the table was is beyond repair: a typed error, not a crash.
    garbage = three_pages[:xref] + b"?" * (trailer - xref) + three_pages[trailer:]
    with pytest.raises(MediaDecodeError, match="not a valid PDF"):
        document_pages(garbage)


def test_a_broken_page_names_the_page(three_pages):
    broken = three_pages.replace(b"/Kids [4 0 R 6 0 R 8 0 R]", b"/Kids [4 0 R 99 0 R 8 0 R]")
    pages = document_pages(broken, dpi=10)
    assert next(pages).text == "Page 1 of 3"  # the pages before it are fine
    with pytest.raises(MediaDecodeError, match=r"^<\d+ bytes>: page 2: PDFium cannot load the page") as err:
        next(pages)
    assert err.value.page == 2
    assert list(pages) == []  # the document was closed by the error


def test_a_pdf_without_pages(tmp_path):
    import io

    import pypdfium2

    empty = pypdfium2.PdfDocument.new()
    buffer = io.BytesIO()
    empty.save(buffer)
    path = tmp_path / "empty.pdf"
    path.write_bytes(buffer.getvalue())
    for source in (buffer.getvalue(), str(path)):
        with pytest.raises(MediaDecodeError, match="the PDF has no pages"):
            document_pages(source)


# ------------------------------------------------------------------------------------------ size and time
def test_byte_limit_applies_before_pdfium_sees_the_file(three_pages):
    with pytest.raises(MediaTooLargeError, match="max_bytes=1000"):
        document_pages(three_pages, limits=MediaLimits(max_bytes=1000))


def test_a_page_over_the_render_time_limit_is_stopped():
    # 20,000 objects: PDFium asks the pause callback every 100 of them, so the render stops at the deadline.
    dots = [(x % 600, (x // 600) * 2 % 790, 1, 1) for x in range(20_000)]
    data = build_pdf([Page(text=["quick"]), Page(rects=dots)])
    pages = document_pages(data, limits=MediaLimits(max_page_seconds=1e-6))
    started = time.monotonic()
    with pytest.raises(MediaTooLargeError, match=r"page 1: rendering took longer than 1e-06 s"):
        next(pages)  # even the quick page cannot render in a microsecond
    assert time.monotonic() - started < 5
    slow = document_pages(data, pages=2, limits=MediaLimits(max_page_seconds=0.001))
    with pytest.raises(MediaTooLargeError, match="page 2: rendering took longer") as err:
        next(slow)
    assert err.value.page == 2
    assert len(list(document_pages(data, dpi=20))) == 2  # without the tight limit it renders fine


def test_the_document_time_budget_spans_pages():
    data = build_pdf(numbered_pages(3))
    pages = document_pages(data, dpi=10, limits=MediaLimits(max_document_seconds=1e-9))
    with pytest.raises(MediaTooLargeError, match="max_document_seconds|rendering took longer"):
        list(pages)


def test_huge_media_box_with_content_everywhere_stays_bounded():
    # 100,000 × 100,000 points (about 35 m a side) at 600 dpi would be 6.9e11 pixels.
    data = build_pdf([Page(width=100_000, height=100_000, rects=[(0, 0, 100_000, 100_000)])])
    started = time.monotonic()
    page = next(document_pages(data, dpi=600))
    assert time.monotonic() - started < 10
    assert page.image.width * page.image.height <= 4_000_000
    assert np.asarray(page.image).max() == 127 or np.asarray(page.image).max() == 128  # the 50% grey fill


def test_every_error_is_an_omniembed_value_error(three_pages):
    for bad in (three_pages[:100], build_pdf(numbered_pages(1), user_password="x"), b"%PDF-junk%%EOF"):
        with pytest.raises(OmniEmbedError) as err:
            document_pages(bad)
        assert isinstance(err.value, ValueError)
