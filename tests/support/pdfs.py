"""PDF files written by hand for the document tests: no PDF library involved, so the renderer under test never
also produced its own input.

The writer knows just enough PDF (ISO 32000-1) for test pages: text in the standard Helvetica font (every
viewer has it, no font file is embedded), RGB images as Flate-compressed image XObjects, filled rectangles,
page rotation, any media box, and the Standard security handler with 40-bit RC4 (revision 2, the oldest and
simplest one that PDFium still opens) for password-protected files.

Example:
    >>> from support.pdfs import Page, build_pdf
    >>> data = build_pdf([Page(text=["Hello"]), Page(text=["World"], rotate=90)])
    >>> data[:8], data.rstrip().endswith(b"%%EOF")
    (b'%PDF-1.4', True)
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Page", "build_pdf", "numbered_pages", "rc4", "topic_pages"]

# The 32-byte padding string of the Standard security handler (ISO 32000-1, 7.6.3.3, Algorithm 2 step a).
_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_FILE_ID = bytes.fromhex("00112233445566778899aabbccddeeff")


@dataclass
class Page:
    """One test page. ``text`` lines are set in Helvetica ``font_size`` from the top left; ``image`` (a PIL
    image) is drawn at ``image_box`` = (x, y, width, height) in points; ``rects`` are filled grey rectangles
    (x, y, w, h), e.g. thousands of them for a slow page."""

    text: list[str] = field(default_factory=list)
    width: float = 612.0
    height: float = 792.0
    rotate: int = 0
    font_size: float = 24.0
    image: Any = None
    image_box: tuple[float, float, float, float] | None = None
    rects: list[tuple[float, float, float, float]] = field(default_factory=list)


def _escape(text: str) -> bytes:
    raw = text.encode("cp1252")  # Helvetica with WinAnsiEncoding
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _content(page: Page) -> bytes:
    ops: list[bytes] = []
    if page.rects:
        ops.append(b"0.5 g")
        ops.extend(b"%g %g %g %g re f" % r for r in page.rects)
    if page.image is not None:
        x, y, w, h = page.image_box or (0, 0, page.width, page.height)
        ops.append(b"q %g 0 0 %g %g %g cm /Im1 Do Q" % (w, h, x, y))
    if page.text:
        size = page.font_size
        top = page.height - 36 - size
        ops.append(b"0 g BT /F1 %g Tf %g TL 36 %g Td" % (size, size * 1.2, top))
        for i, line in enumerate(page.text):
            ops.append((b"T* " if i else b"") + b"(" + _escape(line) + b") Tj")
        ops.append(b"ET")
    return b"\n".join(ops)


def rc4(key: bytes, data: bytes) -> bytes:
    """RC4, as the PDF Standard security handler (revision 2) uses it."""
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


class _Encryption:
    """40-bit RC4, revision 2 (Algorithms 2, 3 and 4 of ISO 32000-1)."""

    P = -44  # permissions: everything allowed (bits 1-2 and 7-8 must be 1 / 0 as the standard says)

    def __init__(self, user_password: str, owner_password: str) -> None:
        user = (user_password.encode("latin-1") + _PAD)[:32]
        owner = (owner_password.encode("latin-1") + _PAD)[:32]
        self.o = rc4(hashlib.md5(owner).digest()[:5], user)
        digest = hashlib.md5(user + self.o + self.P.to_bytes(4, "little", signed=True) + _FILE_ID).digest()
        self.key = digest[:5]
        self.u = rc4(self.key, _PAD)

    def object_key(self, num: int) -> bytes:
        return hashlib.md5(self.key + num.to_bytes(3, "little") + (0).to_bytes(2, "little")).digest()[:10]

    def dictionary(self) -> bytes:
        return b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>" % (
            self.o.hex().encode(), self.u.hex().encode(), self.P,
        )  # fmt: skip


def build_pdf(
    pages: list[Page], *, user_password: str | None = None, owner_password: str = "owner", compress: bool = True
) -> bytes:
    """A complete PDF with ``pages``; ``user_password`` encrypts it (RC4, 40-bit) so it opens only with it."""
    crypt = _Encryption(user_password, owner_password) if user_password is not None else None
    objects: dict[int, bytes] = {}
    streams: dict[int, tuple[bytes, bytes]] = {}  # num -> (extra dict entries, raw data)
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    kids, num = [], 4
    for page in pages:
        page_num, content_num = num, num + 1
        num += 2
        resources = b"/Font << /F1 3 0 R >>"
        if page.image is not None:
            rgb = page.image.convert("RGB")
            streams[num] = (
                b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8"
                % rgb.size,
                rgb.tobytes(),
            )
            resources += b" /XObject << /Im1 %d 0 R >>" % num
            num += 1
        objects[page_num] = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Rotate %d " % (
            page.width, page.height, page.rotate,
        ) + b"/Resources << " + resources + b" >> /Contents %d 0 R >>" % content_num  # fmt: skip
        streams[content_num] = (b"", _content(page))
        kids.append(page_num)
    objects[2] = b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    encrypt_num = None
    if crypt is not None:
        encrypt_num = num
        objects[encrypt_num] = crypt.dictionary()
    for snum, (entries, data) in streams.items():
        filt = b""
        if compress:
            data, filt = zlib.compress(data), b" /Filter /FlateDecode"
        if crypt is not None:
            data = rc4(crypt.object_key(snum), data)
        objects[snum] = b"<< " + entries + filt + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for n in sorted(objects):
        offsets[n] = len(out)
        out += b"%d 0 obj\n" % n + objects[n] + b"\nendobj\n"
    size = max(objects) + 1
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for n in range(1, size):
        out += b"%010d 00000 n \n" % offsets[n] if n in offsets else b"0000000000 65535 f \n"
    trailer = b"/Size %d /Root 1 0 R /ID [<%s> <%s>]" % (size, _FILE_ID.hex().encode(), _FILE_ID.hex().encode())
    if encrypt_num is not None:
        trailer += b" /Encrypt %d 0 R" % encrypt_num
    out += b"trailer\n<< " + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def numbered_pages(count: int, **page_kwargs: Any) -> list[Page]:
    """``count`` text pages that say which page they are ("Page 1 of 200"…)."""
    return [Page(text=[f"Page {i} of {count}"], **page_kwargs) for i in range(1, count + 1)]


# Twelve pages on unrelated topics: a query about one of them must find that page (and no other).
TOPICS = [
    "Quarterly revenue grew by twelve percent thanks to strong sales in Europe.",
    "The recipe needs two cups of flour, three eggs and a pinch of salt.",
    "Our hiking trail climbs through pine forest to a glacier lake.",
    "Install the printer driver before connecting the USB cable.",
    "The football team won the championship after a penalty shootout.",
    "Photosynthesis converts sunlight, water and carbon dioxide into sugar.",
    "Volcanic eruptions release ash clouds that disrupt air travel.",
    "The violin concerto was performed by the city symphony orchestra.",
    "Reset your password from the account settings page.",
    "Honey bees communicate the location of flowers with a waggle dance.",
    "The museum exhibits ancient Egyptian mummies and pottery.",
    "Electric cars need charging stations along the motorway.",
]


def topic_pages() -> list[Page]:
    """One page per sentence of :data:`TOPICS` (page 7 is about volcanoes)."""
    return [Page(text=[topic], font_size=12) for topic in TOPICS]
