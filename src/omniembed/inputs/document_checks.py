"""What is checked before a PDF page is rendered (:mod:`omniembed.inputs.documents`): that the source is a PDF
at all and not cut short, that the page selection and render arguments are valid, and how errors name the
document.

These run before PDFium sees the file, so a truncated download or a bad ``pages=`` is refused with a typed
error naming the item instead of a half-repaired render or a page PDFium cannot find.

Example:
    >>> from omniembed.inputs.document_checks import is_pdf, select_pages
    >>> from omniembed.inputs.limits import DEFAULT_LIMITS
    >>> is_pdf(b"%PDF-1.7 ..."), is_pdf(b"GIF89a")
    (True, False)
    >>> select_pages(None, 3, DEFAULT_LIMITS, "doc.pdf"), select_pages(2, 3, DEFAULT_LIMITS, "doc.pdf")
    ([1, 2, 3], [2])
    >>> select_pages([4], 3, DEFAULT_LIMITS, "doc.pdf")
    Traceback (most recent call last):
    ...
    omniembed.errors.UnsupportedInputError: ...page 4 does not exist: the document has 3 pages (page numbers...
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import Any

from omniembed.errors import ConfigError, MediaDecodeError, MediaTooLargeError, UnsupportedInputError, describe_item
from omniembed.inputs.limits import MediaLimits
from omniembed.inputs.sources import SourceData

__all__ = [
    "PDF_MAGIC", "check_pdf_bytes", "check_render_args", "document_label", "document_name", "document_source",
    "is_int", "is_pdf", "select_pages",
]  # fmt: skip

PDF_MAGIC = b"%PDF-"
_EOF_WINDOW = 1024


def is_pdf(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts like a PDF."""
    return bytes(head[: len(PDF_MAGIC)]) == PDF_MAGIC


def document_source(ref: Any) -> bool:
    """True for references :func:`read_source` resolves (and so may turn out to be PDFs): strings, bytes,
    paths and binary file objects, as opposed to decoded images and arrays."""
    if isinstance(ref, (str, bytes, bytearray, memoryview, os.PathLike)):
        return True
    return callable(getattr(ref, "read", None)) and not type(ref).__module__.startswith("PIL")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_render_args(dpi: Any, max_pixels: Any, prefix: str) -> None:
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not math.isfinite(dpi) or dpi <= 0:
        raise ConfigError(f"{prefix}dpi must be a positive number, got {dpi!r}.")
    if not is_int(max_pixels) or max_pixels < 1:
        raise ConfigError(f"{prefix}max_pixels must be a positive integer, got {max_pixels!r}.")


def document_name(source: Any) -> str | None:
    if isinstance(source, str):
        return None if source.startswith("data:") else source
    if isinstance(source, os.PathLike):
        return os.fsdecode(os.fspath(source))
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else None


def document_label(source: Any) -> str:
    """How standalone errors name the document: the path (its end, when long) or the URL without credentials."""
    name = document_name(source)
    if name is None:
        return describe_item(source)
    if name.startswith(("http://", "https://")):
        from omniembed.inputs.fetch import _shown

        return _shown(name)
    return repr(name if len(name) <= 120 else "…" + name[-119:])


def check_pdf_bytes(data: SourceData, item: Any) -> None:
    head = data.head(len(PDF_MAGIC))
    if not is_pdf(head):
        raise MediaDecodeError(f"not a PDF document (first bytes: {bytes(head).hex(' ')!r})", item=item)
    if data.data is not None:
        tail = data.data[-_EOF_WINDOW:]
    else:
        with open(data.path, "rb") as handle:  # type: ignore[arg-type]
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - _EOF_WINDOW))
            tail = handle.read()
    if b"%%EOF" not in tail:
        raise MediaDecodeError(
            "truncated PDF: no %%EOF marker in its last 1024 bytes (the file was cut short)", item=item
        )


def select_pages(pages: Any, count: int, limits: MediaLimits, item: Any) -> list[int]:
    if pages is None:
        numbers = list(range(1, count + 1))
    else:
        if is_int(pages):
            pages = [pages]
        elif isinstance(pages, (str, bytes)) or not isinstance(pages, Iterable):
            raise ConfigError(f"pages must be a page number or an iterable of page numbers, got {pages!r}.")
        numbers = list(pages)
        bad = next((n for n in numbers if not is_int(n)), None)
        if bad is not None:
            raise ConfigError(f"page numbers must be integers (1-based), got {bad!r}.")
        missing = [n for n in numbers if not 1 <= n <= count]
        if missing:
            raise UnsupportedInputError(
                f"page {missing[0]} does not exist: the document has {count} page{'s' * (count != 1)} "
                "(page numbers start at 1)",
                item=item,
            )
    if len(numbers) > limits.max_document_pages:
        hint = "" if pages is not None else "; pass pages=range(1, N + 1) to render only the first N"
        raise MediaTooLargeError(
            f"{len(numbers)} pages to render, more than MediaLimits.max_document_pages="
            f"{limits.max_document_pages}{hint}",
            item=item,
        )
    return numbers
