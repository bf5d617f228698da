"""PDFium, through pypdfium2, wrapped for untrusted files: one lock, typed errors, bounded pixels and time.

PDFium runs in-process and is not thread-safe, so every call into it holds :data:`PDFIUM_LOCK` (``encode``
decodes items in a thread pool). What it guards against:

* **size**: a page's scale is lowered until its bitmap fits a pixel budget and 32,768 pixels per side, so a
  page with a 100,000 × 100,000 point media box renders as a small picture instead of a 200-gigapixel bitmap;
* **time**: pages render progressively (``FPDF_RenderPageBitmap_Start``) with a pause callback that PDFium
  polls every hundred page objects; past the deadline the render is abandoned and the page refused;
* **errors**: PDFium's error codes (wrong password, bad format, unsupported security handler) become
  :class:`~omniembed.errors.MediaDecodeError` naming the item; a failed page load or render names the page.

Parsing a page's content stream (``FPDF_LoadPage``) cannot be interrupted; it is bounded by the file size
(``MediaLimits.max_bytes``). For fully hostile input on a server, run extraction in a separate process.

Example:
    >>> from omniembed.inputs.pdf_render import fit_scale
    >>> fit_scale((612.0, 792.0), dpi=150, max_pixels=4_000_000)  # a Letter page at 150 dpi fits
    2.0833333333333335
    >>> round(fit_scale((100_000.0, 100_000.0), dpi=150, max_pixels=4_000_000), 5)  # a huge page is scaled down
    0.02
"""

from __future__ import annotations

import math
import os
import threading
import time
from typing import Any

from omniembed.errors import MediaDecodeError, MediaError, MediaTooLargeError
from omniembed.optional import require

__all__ = [
    "MAX_SIDE", "PDFIUM_LOCK", "fit_scale", "open_pdf", "page_error", "page_size", "page_text", "pdfium", "render_page",
]

PDFIUM_LOCK = threading.RLock()
# PDFium bitmaps address rows with a 32-bit stride; far below that, a 32k-pixel side is already useless to a model.
MAX_SIDE = 32_768
_WHITE = (255, 255, 255, 255)


def pdfium() -> Any:
    return require("pypdfium2", name="pypdfium2", purpose="PDF documents", extra="documents", spec="pypdfium2>=5.0")


def page_error(cls: type[MediaError], number: int, reason: str, item: Any) -> MediaError:
    """A typed error about one page: the message names the page, and ``err.page`` holds its number."""
    err = cls(f"page {number}: {reason}", item=item)
    err.page = number  # type: ignore[attr-defined]
    return err


# ------------------------------------------------------------------------------------------------ opening
def _load_failure(err_code: int | None, password: str | None) -> str:
    raw = pdfium().raw
    if err_code == raw.FPDF_ERR_PASSWORD:
        if password:
            return "encrypted PDF: the password is wrong"
        return "encrypted PDF: it needs a password (DocumentOptions(password=...) or document_pages(password=...))"
    if err_code == raw.FPDF_ERR_SECURITY:
        return "encrypted PDF with a security handler PDFium does not support"
    if err_code == raw.FPDF_ERR_FILE:
        return "the PDF file cannot be opened or read"
    return "not a valid PDF: corrupt, truncated or not a PDF at all"


def open_pdf(data: bytes | None, path: str | None, *, password: str | None, item: Any) -> Any:
    """A ``pypdfium2.PdfDocument`` from bytes or a path; the caller holds :data:`PDFIUM_LOCK`."""
    lib = pdfium()
    try:
        return lib.PdfDocument(data if data is not None else path, password=password)
    except lib.PdfiumError as exc:
        if _loads_without_pages(data, path, password):
            raise MediaDecodeError("the PDF has no pages", item=item) from None
        raise MediaDecodeError(_load_failure(getattr(exc, "err_code", None), password), item=item) from None
    except OSError as exc:  # the file vanished between the checks and PDFium's open
        raise MediaDecodeError(f"cannot open the PDF: {exc}", item=item) from None


def _loads_without_pages(data: bytes | None, path: str | None, password: str | None) -> bool:
    # pypdfium2 refuses a document with no pages but then reports PDFium's last error, which is stale after a
    # successful load; opening it again through the raw API tells "no pages" apart from "not loadable".
    raw = pdfium().raw
    secret = None if password is None else password.encode("utf-8") + b"\x00"
    if data is not None:
        handle = raw.FPDF_LoadMemDocument64(data, len(data), secret)
    else:
        handle = raw.FPDF_LoadDocument(os.fsencode(path) + b"\x00", secret)  # type: ignore[arg-type]
    if not handle:
        return False
    try:
        return raw.FPDF_GetPageCount(handle) == 0
    finally:
        raw.FPDF_CloseDocument(handle)


# ---------------------------------------------------------------------------------------------- rendering
def fit_scale(size: tuple[float, float], *, dpi: float, max_pixels: int) -> float:
    """Pixels per point: ``dpi / 72``, lowered until the bitmap has at most ``max_pixels`` pixels and
    :data:`MAX_SIDE` pixels per side (each side at least one pixel)."""
    width, height = size
    scale = min(dpi / 72.0, MAX_SIDE / width, MAX_SIDE / height)
    if width * height * scale * scale > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
    # The bitmap is ceil(side × scale): nudge the scale down until the rounded-up sides fit as well.
    while scale > 0 and math.ceil(width * scale) * math.ceil(height * scale) > max_pixels:
        scale *= 0.999
    return scale


def _pause_callback(deadline: float) -> Any:
    raw = pdfium().raw
    callback_type = dict(raw.IFSDK_PAUSE._fields_)["NeedToPauseNow"]
    # PDFium polls this between page objects; answering True makes the render return "to be continued".
    return callback_type(lambda _pause: time.monotonic() > deadline)


def render_page(page: Any, scale: float, *, deadline: float, seconds: float, number: int, item: Any) -> Any:
    """Render ``page`` at ``scale`` into an RGB ``PIL.Image``; the caller holds :data:`PDFIUM_LOCK`.

    The same pixels as ``page.render(scale=scale).to_pil()`` (same bitmap format, white fill and flags), but
    rendered progressively so that ``deadline`` (``time.monotonic()``) can stop it.
    """
    lib = pdfium()
    raw = lib.raw
    width_pt, height_pt = page.get_size()
    width, height = math.ceil(width_pt * scale), math.ceil(height_pt * scale)
    bitmap = lib.PdfBitmap.new_native(width, height, format=raw.FPDFBitmap_BGR)
    try:
        bitmap.fill_rect(_WHITE, 0, 0, width, height)
        pause = raw.IFSDK_PAUSE(version=1)
        callback = _pause_callback(deadline)  # kept referenced until the render is closed
        pause.NeedToPauseNow = callback
        status = raw.FPDF_RenderPageBitmap_Start(bitmap, page, 0, 0, width, height, 0, raw.FPDF_ANNOT, pause)
        raw.FPDF_RenderPage_Close(page)
        del callback
        if status == raw.FPDF_RENDER_TOBECONTINUED:  # only ever paused by the deadline
            raise page_error(
                MediaTooLargeError, number,
                f"rendering took longer than {seconds:g} s (MediaLimits.max_page_seconds / max_document_seconds)",
                item,
            )  # fmt: skip
        if status != raw.FPDF_RENDER_DONE:
            raise page_error(MediaDecodeError, number, "PDFium failed to render the page", item)
        return bitmap.to_pil()  # BGR → RGB: Pillow copies, so the bitmap can be freed
    finally:
        bitmap.close()


def page_text(page: Any) -> str | None:
    """The page's text layer inside its visible box, with ``\\n`` line breaks; None when it has none."""
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() <= 0:
            return None
        text = textpage.get_text_bounded()
    finally:
        textpage.close()
    # PDFium ends lines with \r\n and marks soft hyphens with \x02; NULs can come from broken font encodings.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x02", "-").replace("\x00", "")
    return text.strip() or None


def page_size(page: Any, number: int, item: Any) -> tuple[float, float]:
    """Width and height in points as displayed (after the page's /Rotate); refuses empty or absurd sizes."""
    width, height = page.get_size()
    if not (math.isfinite(width) and math.isfinite(height) and width > 0 and height > 0):
        raise page_error(MediaDecodeError, number, f"the page has an empty or invalid size {width}×{height}", item)
    return float(width), float(height)

