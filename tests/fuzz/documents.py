"""PDF documents for the fuzzer: a seed corpus, a PDF-aware edit, and the ``document`` entry point.

PDFs reach omniembed through :func:`~omniembed.inputs.document_pages` and through ``encode``/``load_item``
(a PDF item embedded as one of its pages). PDFium parses them: object tables, page trees, content streams,
fonts and image XObjects, all of which a hostile file can lie about. The seeds are hand-written (so every object
is known) plus the PDFs Pillow and PDFium themselves write; the hostile seeds claim a ``/Count`` of 2^31 pages,
a page tree that contains itself, a 10^9-point page, a 30000×30000 image XObject backed by a few bytes, a
content stream that inflates a thousandfold and a broken cross-reference table.

The PDF edit rewrites the numbers PDFium trusts (``/Length``, ``/Count``, ``/Width``, ``/Height``, ``/MediaBox``,
``/BitsPerComponent``, cross-reference offsets, object numbers), drops ``endobj``/``endstream`` keywords, and
duplicates or deletes whole objects, keeping the ``%%EOF`` tail most of the time so the input gets past
omniembed's truncation check and into PDFium.

Example:
    >>> import random
    >>> from fuzz.documents import pdf_seeds, pdf_edit
    >>> seeds = pdf_seeds()
    >>> all(data.startswith(b"%PDF-") for data in seeds.values())
    True
    >>> edited = pdf_edit(seeds["text.pdf"], random.Random(3))
    >>> edited != seeds["text.pdf"] and edited.startswith(b"%PDF-")
    True
"""

from __future__ import annotations

import base64
import io
import random
import re
import time
import zlib
from typing import Any

from fuzz.common import Context
from fuzz.common import guard as _guard
from fuzz.formats import INTERESTING_32, MAX_SIZE, STRUCTURED

__all__ = ["DOCUMENT_ENTRY_POINTS", "build_pdf", "pdf_edit", "pdf_seeds"]


# ----------------------------------------------------------------------------------------------- writing
def build_pdf(objects: list[bytes], *, root: int = 1, trailer: bytes = b"", version: bytes = b"1.7") -> bytes:
    """A PDF whose objects 1..n are ``objects`` (their bodies), with a correct cross-reference table."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, trailer, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"", *, flate: bool = False) -> bytes:
    if flate:
        data, extra = zlib.compress(data, 9), extra + b" /Filter /FlateDecode"
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_TEXT = b"BT /F1 18 Tf 12 40 Td (Hello, PDF) Tj 0 -20 Td (second line) Tj ET"


def _one_page(content: bytes, *, media_box: bytes = b"[0 0 200 100]", resources: bytes = b"<< /Font << /F1 4 0 R >> >>",
              extra_objects: tuple[bytes, ...] = (), pages_extra: bytes = b"", flate: bool = False) -> bytes:
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 %s>>" % pages_extra,
        b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Resources %s /Contents 5 0 R >>" % (media_box, resources),
        _FONT,
        _stream(content, flate=flate),
        *extra_objects,
    ])


def _image_page(width: int, height: int, pixels: bytes, filt: bytes, *, declared: tuple[int, int] | None = None) -> bytes:
    w, h = declared or (width, height)
    image = b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 " \
            b"/Length %d /Filter %s >>\nstream\n" % (w, h, len(pixels), filt) + pixels + b"\nendstream"
    return _one_page(b"q 180 0 0 90 10 5 cm /Im1 Do Q", resources=b"<< /XObject << /Im1 6 0 R >> >>",
                     extra_objects=(image,))


# Seeds must be byte-identical in every process (a case is replayed by rebuilding its seed): Pillow is given fixed
# dates, PDFium's save (no option for it) gets its random /ID and its clock-and-time-zone /CreationDate replaced.
_FIXED_DATE = time.gmtime(946684800)  # 2000-01-01T00:00:00Z
_PDF_DATE = re.compile(rb"\(D:\d{14}([^)]*)\)")
_PDF_ID = re.compile(rb"/ID\s*\[[^\]]*\]")


def _fixed_id_and_dates(pdf: bytes) -> bytes:
    """``pdf`` with every date set to 2000-01-01 UTC and an ``/ID`` of zeros, each the same length as before (so
    every cross-reference offset stays valid): the time-zone suffix becomes ``Z`` and spaces after the string."""
    def date(match: re.Match) -> bytes:
        zone = match[1]
        return b"(D:20000101000000" + (b"Z)" + b" " * (len(zone) - 1) if zone else b")")

    def file_id(match: re.Match) -> bytes:
        return re.sub(rb"<[0-9A-Fa-f]*>", lambda m: b"<" + b"0" * (len(m[0]) - 2) + b">", match[0])

    return _PDF_ID.sub(file_id, _PDF_DATE.sub(date, pdf))


def pdf_seeds() -> dict[str, bytes]:
    """Small valid PDFs of every structure PDFium handles, and the hostile ones (see the module docstring)."""
    import numpy as np
    from PIL import Image

    out: dict[str, bytes] = {}
    out["text.pdf"] = _one_page(_TEXT)
    out["flate_text.pdf"] = _one_page(_TEXT, flate=True)
    out["vector.pdf"] = _one_page(b"0.2 0.4 0.8 rg 10 10 80 60 re f 1 0 0 RG 4 w 0 0 m 200 100 l S", flate=True)
    rgb = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    out["image_flate.pdf"] = _image_page(8, 8, zlib.compress(rgb.tobytes()), b"/FlateDecode")
    jpeg = io.BytesIO()
    Image.fromarray(rgb).resize((16, 16)).save(jpeg, "JPEG", quality=70)
    out["image_jpeg.pdf"] = _image_page(16, 16, jpeg.getvalue(), b"/DCTDecode")
    out["three_pages.pdf"] = build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 /MediaBox [0 0 120 80] >>",
        b"<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 6 0 R >> >> /Contents 7 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /Rotate 90 /Contents 7 0 R /Resources << /Font << /F1 6 0 R >> >> >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 60 300] /CropBox [0 0 30 30] >>",
        _FONT,
        _stream(b"BT /F1 12 Tf 5 30 Td (page) Tj ET"),
    ])
    buffer = io.BytesIO()
    Image.fromarray(rgb).resize((24, 12)).save(buffer, "PDF", save_all=True,
                                                 append_images=[Image.fromarray(rgb[::-1]).resize((12, 24))],
                                                 creationDate=_FIXED_DATE, modDate=_FIXED_DATE)
    out["pillow.pdf"] = buffer.getvalue()
    try:
        import pypdfium2

        doc = pypdfium2.PdfDocument.new()
        doc.new_page(150, 90)
        doc.new_page(40, 40)
        buffer = io.BytesIO()
        doc.save(buffer)
        doc.close()
        out["pdfium_blank.pdf"] = _fixed_id_and_dates(buffer.getvalue())
    except ImportError:  # the [documents] extra is missing: the entry point then expects MissingDependencyError
        pass
    # hostile
    out["huge_mediabox.pdf"] = _one_page(_TEXT, media_box=b"[0 0 1000000000 1000000000]")
    out["user_unit.pdf"] = _one_page(_TEXT, media_box=b"[0 0 14400 14400] /UserUnit 75000")
    out["count_bomb.pdf"] = _one_page(_TEXT, pages_extra=b"/Count 2147483647 ").replace(b"/Count 1 ", b"", 1)
    out["kids_loop.pdf"] = build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 50 50] /Kids [2 0 R] >>",
    ])
    out["image_bomb.pdf"] = _image_page(8, 8, zlib.compress(b"\x80" * 4096), b"/FlateDecode", declared=(30000, 30000))
    ops = b"0 0 m 200 100 l 0 100 m 200 0 l S q Q\n" * 25_000  # about 1 MB once inflated, 1 kB compressed
    out["content_bomb.pdf"] = _one_page(ops, flate=True)
    broken = bytearray(out["flate_text.pdf"])
    at = broken.find(b"xref\n") + 30
    broken[at : at + 10] = b"9999999999"
    out["broken_xref.pdf"] = bytes(broken)
    out["open_action_js.pdf"] = build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R /AcroForm << /XFA 5 0 R >> >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 60 60] >>",
        b"<< /S /JavaScript /JS (app.alert\\(1\\); while\\(true\\){}) >>",
        _stream(b"<xdp:xdp xmlns:xdp='http://ns.adobe.com/xdp/'/>"),
    ])
    first = out["text.pdf"]
    update = b"6 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\nxref\n0 1\n0000000000 65535 f \n" \
             b"6 1\n%010d 00000 n \ntrailer\n<< /Size 7 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n"
    xref_at = first.rfind(b"startxref\n") + len(b"startxref\n")
    prev = int(first[xref_at : first.find(b"\n", xref_at)])
    obj_at = len(first)
    body = update % (obj_at, prev, obj_at + update.find(b"xref"))
    out["incremental.pdf"] = first + body
    return out


# ----------------------------------------------------------------------------------------------- the edit
_NUMBER_KEYS = (b"/Length", b"/Count", b"/Width", b"/Height", b"/BitsPerComponent", b"/Size", b"/Prev",
                b"/Rotate", b"/UserUnit", b"/Colors", b"/Columns", b"/Predictor", b"/N")
_INTERESTING = (0, 1, -1, 2, 3, 7, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32, 10**12, 99999999999999999999)
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")


def pdf_edit(data: bytes, rng: random.Random) -> bytes | None:
    """One PDF-aware edit (see the module docstring), or None when ``data`` is not a PDF."""
    if not data.startswith(b"%PDF-"):
        return None
    kind = rng.randrange(8)
    if kind <= 2:  # a number after a key PDFium sizes things by
        key = rng.choice(_NUMBER_KEYS)
        spots = [m.end() for m in re.finditer(re.escape(key) + rb"\s+", data)]
        if not spots:
            return None
        at = rng.choice(spots)
        match = _NUMBER.match(data, at)
        end = match.end() if match else at
        value = rng.choice(_INTERESTING) if rng.random() < 0.8 else rng.choice(INTERESTING_32)
        return data[:at] + str(value).encode() + data[end:]
    if kind == 3:  # a MediaBox / CropBox corner
        spots = [m.span(1) for m in re.finditer(rb"/(?:MediaBox|CropBox)\s*\[([^\]]*)\]", data)]
        if not spots:
            return None
        start, end = rng.choice(spots)
        corners = [rng.choice((b"0", b"-1e30", b"1e30", b"NaN", b"14400", b"3.4e38", b"1", b"-200"))
                   for _ in range(4)]
        return data[:start] + b" ".join(corners) + data[end:]
    if kind == 4:  # cross-reference offsets and object numbers
        spots = [m.span() for m in re.finditer(rb"\d{10} \d{5} [nf]", data)]
        spots += [m.span(1) for m in re.finditer(rb"(\d+) 0 (?:obj|R)", data)]
        if not spots:
            return None
        start, end = rng.choice(spots)
        return data[:start] + str(rng.choice(_INTERESTING)).encode().rjust(end - start, b"0")[: max(1, end - start)] \
            + data[end:]
    if kind == 5:  # a keyword PDFium relies on, dropped
        word = rng.choice((b"endobj", b"endstream", b"stream", b"xref", b"trailer", b">>", b"R"))
        spots = [m.start() for m in re.finditer(re.escape(word), data)]
        if not spots:
            return None
        at = rng.choice(spots)
        return data[:at] + data[at + len(word) :]
    objects = [m.span() for m in re.finditer(rb"\d+ 0 obj.*?endobj\n", data, flags=re.DOTALL)]
    if not objects:
        return None
    start, end = rng.choice(objects)
    if kind == 6:  # an object deleted
        return data[:start] + data[end:]
    where = rng.choice(objects)[0]  # an object repeated (same number twice), a few times
    return data[:where] + data[start:end] * rng.randint(1, 8) + data[where:]


def mutate_pdf(seed: bytes, rng: random.Random, ctx: Context) -> bytes:
    """Mostly PDF edits, sometimes the generic byte edits; the ``%%EOF`` tail restored most of the time."""
    from fuzz.mutate import mutate

    data = seed
    for _ in range(rng.choice((1, 1, 2, 3))):
        if rng.random() < 0.7:
            data = pdf_edit(data, rng) or data
        else:
            data = mutate(data, rng, structured=(*STRUCTURED, pdf_edit))
    if rng.random() < 0.8 and b"%%EOF" not in data[-1024:]:
        data += b"\n%%EOF\n"
    return data[:MAX_SIZE]


# ------------------------------------------------------------------------------------------ entry point
_LIMITS_KW = {"max_page_seconds": 4.0, "max_document_seconds": 8.0}  # under the campaign's 10 s hang threshold


def _make_document(rng: random.Random, ctx: Context) -> tuple[str, bytes, dict[str, Any]]:
    seeds = ctx.seed_lists["document"]
    roll = rng.random()
    if roll < 0.05:
        data = b"%PDF-1." + rng.randbytes(rng.choice((0, 16, 512, 4096))) + b"\n%%EOF\n"
    else:
        _, data = rng.choice(seeds)
        if roll >= 0.12:
            data = mutate_pdf(data, rng, ctx)
    mode = rng.choices(("pages", "load_item", "isolated", "detect"), weights=(55, 33, 4, 8))[0]
    form = rng.choices(("bytes", "stream", "path", "data_uri"), weights=(60, 15, 15, 10))[0]
    args = {
        "form": form,
        "dpi": rng.choice((72.0, 150.0, 10.0, 300.0)),
        "max_pixels": rng.choice((4_000_000, 10_000, 1_000_000)),
        "pages": rng.choice((None, None, 1, 2, [1, 1], [3, 1], 2**31)),
        "text": rng.random() < 0.7,
        "page": rng.choice(("first", 1, 2)),
        "as": rng.choice(("document", "image")),
        "image_size": rng.choice((None, 224)),
    }
    return mode, data, args


def _document_ref(data: bytes, form: str, ctx: Context) -> Any:
    if form == "stream":
        return io.BytesIO(data)
    if form == "path":
        return ctx.scratch_file(data, ".pdf")
    if form == "data_uri":
        return "data:application/pdf;base64," + base64.b64encode(data).decode()
    return data


def _run_document(case: tuple[str, bytes, dict[str, Any]], ctx: Context) -> str:
    from omniembed.inputs import (
        DocumentOptions,
        IsolationLimits,
        MediaLimits,
        MediaOptions,
        document_pages,
        infer_modality,
        load_item,
    )

    mode, data, args = case
    ref = _document_ref(data, args["form"], ctx)
    limits = MediaLimits(**_LIMITS_KW)
    if mode == "detect":
        outcome, modality = _guard(lambda: infer_modality(ref, ["text", "image"]))
        return outcome if outcome != "ok" else f"ok:{modality}"
    if mode == "pages":
        def render_all() -> int:
            with document_pages(ref, dpi=args["dpi"], max_pixels=args["max_pixels"], pages=args["pages"],
                                text=args["text"], limits=limits) as pages:
                count = 0
                for page in pages:
                    w, h = page.image.size
                    if page.image.mode != "RGB" or w * h == 0 or w * h > args["max_pixels"]:
                        raise AssertionError(f"page {page.number}: mode={page.image.mode} size={page.image.size}")
                    if page.text is not None and not isinstance(page.text, str):
                        raise AssertionError(f"page text is {type(page.text).__name__}")
                    count += 1
                return count

        outcome, count = _guard(render_all)
        return outcome if outcome != "ok" else f"ok:{count}-pages"
    options = MediaOptions(limits=limits, document=DocumentOptions(page=args["page"]))
    if mode == "isolated":
        options = MediaOptions(limits=limits, document=DocumentOptions(page=args["page"]), isolation="process",
                               isolation_limits=IsolationLimits(workers=1, wall_seconds=30))
    outcome, image = _guard(lambda: load_item(ref, args["as"], options=options, image_size=args["image_size"]))
    if outcome == "ok" and (image.mode != "RGB" or image.size[0] * image.size[1] == 0):
        return f"BAD:document page mode={image.mode} size={image.size}"
    return outcome


DOCUMENT_ENTRY_POINTS = {"document": (_make_document, _run_document)}
