"""PDF documents as inputs, page by page: each page an RGB image, with its text layer and its size.

:func:`document_pages` opens a PDF (path, URL, ``file://`` or ``data:`` URI, bytes, binary file object — the
same sources and :class:`~omniembed.inputs.FetchPolicy` / :class:`~omniembed.inputs.MediaLimits` as images)
and renders it one page at a time with PDFium (``pypdfium2``, extra ``[documents]``): only the page being
handed out is in memory, so a 500-page file costs no more than one page.

Bounds (every one a typed error naming the item, and the page where it applies):

* bytes: ``MediaLimits.max_bytes``; a file whose ``%%EOF`` marker is not in its last 1,024 bytes (Acrobat's
  rule) is refused as truncated rather than rendered from whatever PDFium can repair;
* pages: ``MediaLimits.max_document_pages`` pages rendered per document (pick fewer with ``pages=``);
* pixels: a page is rendered at ``dpi``, or at a lower scale when that would exceed ``max_pixels`` (capped by
  ``MediaLimits.max_image_pixels``): a huge page becomes a small image, never a refusal or a memory blow-up;
* time: ``MediaLimits.max_page_seconds`` per page and ``max_document_seconds`` per document, enforced while
  PDFium renders;
* encrypted files open with ``password=``; without it (or with a wrong one) they are refused.

The checks made before PDFium renders anything (bytes, ``%%EOF``, pages, render arguments) are in
:mod:`omniembed.inputs.document_checks`; the PDFium calls themselves in :mod:`omniembed.inputs.pdf_render`.

``encode()`` returns one vector per input, so it does not turn a whole document into one vector: a PDF given
to it raises an error pointing here, unless :class:`DocumentOptions` (``MediaOptions(document=...)``) names
the one page to embed (``page="first"`` or a page number).

Example:
    >>> import io, pypdfium2
    >>> blank = pypdfium2.PdfDocument.new(); _ = blank.new_page(144, 72); buffer = io.BytesIO(); blank.save(buffer)
    >>> from omniembed.inputs import document_pages
    >>> with document_pages(buffer.getvalue(), dpi=72) as pages:
    ...     [(page.number, page.image.size, page.text) for page in pages]
    [(1, (144, 72), None)]
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from omniembed.errors import ConfigError, InputError, MediaDecodeError, MediaTooLargeError, UnsupportedInputError
from omniembed.inputs.document_checks import (
    check_pdf_bytes,
    check_render_args,
    document_label,
    document_name,
    document_source,
    is_int,
    is_pdf,
    select_pages,
)
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits
from omniembed.inputs.sources import SourceData, read_source

if TYPE_CHECKING:
    from typing import Self  # Python ≥ 3.11; only for type checkers here

    from PIL.Image import Image as PILImage

    from omniembed.inputs.fetch import FetchPolicy

__all__ = [
    "DEFAULT_DPI", "DEFAULT_PAGE_PIXELS", "DocumentOptions", "DocumentPage", "DocumentPages", "document_pages",
    "document_source", "is_pdf", "load_document_image",
]  # fmt: skip

DEFAULT_DPI = 150.0
# 4 megapixels: an A4 or Letter page at 150 dpi (about 2.1 MP) with room to spare; posters and engineering
# drawings are scaled down to it. Models look at far fewer pixels (CLIP 224², Qwen-VL about 1 MP).
DEFAULT_PAGE_PIXELS = 4_000_000


@dataclass(frozen=True)
class DocumentOptions:
    """How PDFs given to ``encode()`` / ``predict()`` are handled (``MediaOptions(document=...)``).

    ``page``: the one page that stands for a whole document — ``"first"`` or a page number (1-based). None
    (the default) refuses documents with an error that explains how to embed every page
    (:func:`document_pages`). ``dpi``, ``max_pixels`` and ``password`` are as in :func:`document_pages`.

    Example:
        >>> DocumentOptions(page="first").page_number
        1
    """

    page: int | Literal["first"] | None = None
    dpi: float = DEFAULT_DPI
    max_pixels: int = DEFAULT_PAGE_PIXELS
    password: str | None = None

    def __post_init__(self) -> None:
        page = self.page
        if page is not None and page != "first" and not (is_int(page) and page >= 1):
            raise ConfigError(f"DocumentOptions.page must be None, 'first' or a page number >= 1, got {page!r}.")
        check_render_args(self.dpi, self.max_pixels, "DocumentOptions.")

    @property
    def page_number(self) -> int | None:
        return 1 if self.page == "first" else self.page  # type: ignore[return-value]


@dataclass(frozen=True, repr=False, eq=False)
class DocumentPage:
    """One rendered page.

    ``number``: 1-based page number. ``image``: RGB ``PIL.Image``. ``text``: the page's text layer (what a
    viewer would copy), None when the page has none (a scan). ``size``: (width, height) in points (1/72 inch)
    as displayed, i.e. after the page's rotation. ``scale``: pixels per point used (``dpi / 72``, or less when
    the pixel budget applied). ``page_count``: pages in the whole document. ``document``: the path or URL the
    caller gave (None for bytes and file objects without a name).
    """

    number: int
    image: PILImage
    text: str | None
    size: tuple[float, float]
    scale: float
    page_count: int
    document: str | None = None

    @property
    def dpi(self) -> float:
        """The resolution actually rendered at."""
        return self.scale * 72.0

    def thumbnail(self, max_side: int = 256) -> PILImage:
        """A copy of the page image, shrunk so its longer side is at most ``max_side`` pixels."""
        copy = self.image.copy()
        copy.thumbnail((max_side, max_side))
        return copy

    def __repr__(self) -> str:
        text = "no text" if self.text is None else f"{len(self.text)} chars of text"
        width, height = self.image.size
        return f"DocumentPage({self.document!r}, page {self.number}/{self.page_count}, {width}×{height}, {text})"


class DocumentPages(Iterator[DocumentPage]):
    """The pages of one PDF, rendered one at a time as the iterator is advanced (see :func:`document_pages`).

    The document is opened (and checked) when this object is created; ``page_count`` is the document's number
    of pages and ``len()`` the number this iterator yields. It closes itself when exhausted; use it as a
    context manager (or call :meth:`close`) to release the file early.
    """

    def __init__(
        self,
        source: Any,
        *,
        dpi: float = DEFAULT_DPI,
        max_pixels: int = DEFAULT_PAGE_PIXELS,
        pages: int | Iterable[int] | None = None,
        password: str | None = None,
        text: bool = True,
        limits: MediaLimits | None = None,
        fetch: FetchPolicy | None = None,
    ) -> None:
        check_render_args(dpi, max_pixels, "")
        self._pdf: Any = None
        limits = limits or DEFAULT_LIMITS
        data = read_source(source, fetch=fetch, limits=limits, kind="document")
        self._label = document_label(source)  # errors from here on name the document (encode() adds "Item i" instead)
        try:
            self._open(data, source, dpi=dpi, max_pixels=max_pixels, pages=pages, password=password, text=text,
                       limits=limits)
        except InputError as err:
            raise self._named(err) from None

    @classmethod
    def _from_source(cls, data: SourceData, item: Any, **kwargs: Any) -> DocumentPages:
        """Open an already resolved source (the encode() path has read it to find out it is a PDF)."""
        self = cls.__new__(cls)
        self._pdf, self._label = None, None
        check_render_args(kwargs["dpi"], kwargs["max_pixels"], "")
        self._open(data, item, **kwargs)
        return self

    def _open(self, data: SourceData, item: Any, *, dpi: float, max_pixels: int, pages: Any, password: str | None,
              text: bool, limits: MediaLimits) -> None:
        from omniembed.inputs import pdf_render

        self._item, self._limits = item, limits
        self._dpi, self._text = float(dpi), bool(text)
        self._max_pixels = min(int(max_pixels), limits.max_image_pixels)
        self.document = document_name(item)
        check_pdf_bytes(data, item)
        with pdf_render.PDFIUM_LOCK:
            self._pdf = pdf_render.open_pdf(data.data, data.path, password=password, item=item)
            self.page_count = len(self._pdf)
        try:
            self._numbers = select_pages(pages, self.page_count, limits, item)
        except BaseException:
            self.close()
            raise
        self._position = 0
        self._render_seconds = 0.0

    def __len__(self) -> int:
        return len(self._numbers)

    def __iter__(self) -> DocumentPages:
        return self

    def __next__(self) -> DocumentPage:
        if self._position >= len(self._numbers) or self._pdf is None:
            self.close()
            raise StopIteration
        number = self._numbers[self._position]
        self._position += 1
        try:
            return self._render(number)
        except InputError as err:
            self.close()
            raise self._named(err) from None
        except BaseException:
            self.close()
            raise

    def _named(self, err: InputError) -> InputError:
        if self._label is not None and err.index is None:
            err.reason = f"{self._label}: {err.reason}"
            err.args = (str(err),)
        return err

    def _render(self, number: int) -> DocumentPage:
        from omniembed.inputs import pdf_render

        limits = self._limits
        seconds = min(limits.max_page_seconds, limits.max_document_seconds - self._render_seconds)
        if seconds <= 0:
            raise pdf_render.page_error(
                MediaTooLargeError, number,
                f"rendering the document took longer than MediaLimits.max_document_seconds="
                f"{limits.max_document_seconds:g}", self._item,
            )  # fmt: skip
        with pdf_render.PDFIUM_LOCK:
            started = time.monotonic()
            page = self._load_page(number)
            try:
                size = pdf_render.page_size(page, number, self._item)
                scale = pdf_render.fit_scale(size, dpi=self._dpi, max_pixels=self._max_pixels)
                deadline = started + seconds
                image = pdf_render.render_page(
                    page, scale, deadline=deadline, seconds=seconds, number=number, item=self._item
                )
                text = pdf_render.page_text(page) if self._text else None
            finally:
                page.close()
            self._render_seconds += time.monotonic() - started
        return DocumentPage(number, image, text, size, scale, self.page_count, self.document)

    def _load_page(self, number: int) -> Any:
        from omniembed.inputs import pdf_render

        lib = pdf_render.pdfium()
        try:
            return self._pdf[number - 1]
        except lib.PdfiumError:
            raise pdf_render.page_error(
                MediaDecodeError, number, "PDFium cannot load the page (broken page object)", self._item
            ) from None

    def close(self) -> None:
        """Release the document (idempotent)."""
        pdf, self._pdf = getattr(self, "_pdf", None), None
        if pdf is not None:
            from omniembed.inputs.pdf_render import PDFIUM_LOCK

            with PDFIUM_LOCK:  # PDFium is not thread-safe, not even to close a document
                pdf.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown the modules close() needs may be gone
            self.close()

    def __repr__(self) -> str:
        return f"DocumentPages({self.document!r}, {len(self._numbers)} of {self.page_count} pages)"


def document_pages(
    source: Any,
    *,
    dpi: float = DEFAULT_DPI,
    max_pixels: int = DEFAULT_PAGE_PIXELS,
    pages: int | Iterable[int] | None = None,
    password: str | None = None,
    text: bool = True,
    limits: MediaLimits | None = None,
    fetch: FetchPolicy | None = None,
) -> DocumentPages:
    """The pages of a PDF as :class:`DocumentPage` objects, rendered one at a time.

    ``source``: a path, ``pathlib.Path``, http(s)/``file://``/``data:`` URL, bytes or binary file object.
    ``dpi``: render resolution (72 = one pixel per point). ``max_pixels``: the most pixels one page image may
    have; larger pages are rendered at a lower scale (``page.scale`` says which). ``pages``: a page number or
    an iterable of page numbers, 1-based, in the order to yield them (None: all). ``password``: for encrypted
    files. ``text``: also extract each page's text layer. ``limits`` / ``fetch``: as for images.

    Raises, when the document is opened: :class:`~omniembed.errors.MediaDecodeError` (not a PDF, truncated,
    corrupt, encrypted without the right password), ``MediaTooLargeError`` (bytes, page count),
    ``MediaFetchError``, ``UnsupportedInputError`` (a page number the document does not have), ``ConfigError``
    (bad ``dpi`` / ``max_pixels``); while iterating: ``MediaDecodeError`` / ``MediaTooLargeError`` naming the
    page (a page PDFium cannot load, a render over the time limit).

    To embed the pages, pass their images to ``encode`` (batch by batch for long documents)::

        for page, vector in zip(pages, model.encode([p.image for p in pages])): ...
    """
    return DocumentPages(
        source, dpi=dpi, max_pixels=max_pixels, pages=pages, password=password, text=text, limits=limits, fetch=fetch
    )


# ------------------------------------------------------------------------------------------ encode() path
def load_document_image(source: SourceData, options: DocumentOptions, *, limits: MediaLimits, item: Any) -> PILImage:
    """The image ``encode()`` embeds for a PDF item: the page :class:`DocumentOptions` chose, else the error
    that explains how to embed a document's pages."""
    number = options.page_number
    if number is None:
        raise UnsupportedInputError(
            "this is a PDF document, and encode() gives one vector per input, so it does not embed a whole "
            "document as one. Embed its pages: `pages = list(omniembed.inputs.document_pages(doc))` then "
            "`model.encode([page.image for page in pages])` (one vector per page, with page.number and "
            "page.text), or choose the page that stands for each document: "
            "`media=MediaOptions(document=DocumentOptions(page='first'))`.",
            item=item,
        )
    with DocumentPages._from_source(
        source, item, dpi=options.dpi, max_pixels=options.max_pixels, pages=[number], password=options.password,
        text=False, limits=limits,
    ) as pages:  # fmt: skip
        return next(pages).image
