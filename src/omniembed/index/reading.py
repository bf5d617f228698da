"""Reading one source before it is embedded: stat, content hash, modality by content, text files' text.

The bytes are read once here (hashing needs them all); media are decoded later by ``encode_document`` from
the path, which the operating system's cache makes cheap.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "note.md")
    >>> _ = open(path, "w", encoding="utf-8").write("# Pancakes\\nflour, eggs, milk")
    >>> item = read_item(Source(path))
    >>> item.modality, item.text.splitlines()[0], len(item.content_hash)
    ('text', '# Pancakes', 32)
    >>> classify(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(8), "photo.dat")
    'image'
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from omniembed.errors import InputError, MediaDecodeError
from omniembed.index.schema import MAX_STORED_TEXT
from omniembed.index.sources import Source
from omniembed.inputs import FetchPolicy, MediaLimits
from omniembed.inputs.detect import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from omniembed.inputs.sniff import sniff_media
from omniembed.inputs.sources import read_source

__all__ = ["MEDIA_EXTENSIONS", "TEXT_EXTENSIONS", "ReadItem", "classify", "read_item"]

# Files embedded as their text content. Other text-like files (code, CSV, JSON) are left out: they are rarely
# what a media search is for, and a manifest is the way to index them with metadata.
TEXT_EXTENSIONS = (".txt", ".md", ".markdown", ".rst")
# Extensions that claim a modality even when the content does not sniff as one: such a file is decoded anyway,
# so a broken photo is reported as a failure instead of being silently ignored.
MEDIA_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image": (*IMAGE_EXTENSIONS, ".tif", ".heic", ".avif"),
    "audio": (*AUDIO_EXTENSIONS, ".m4a", ".opus", ".wma", ".aiff", ".aif"),
    "video": (*VIDEO_EXTENSIONS, ".webm", ".m4v", ".mpg", ".mpeg", ".3gp", ".ts"),
    "document": (".pdf",),
}
# Text beyond this is not read: the model truncates long before (MiniLM: 256 tokens ≈ 1,000 characters).
MAX_TEXT_BYTES = 1 << 20
_BLOCK = 1 << 20


@dataclass
class ReadItem:
    """A source after reading: its modality (None when it is neither media nor text), size, mtime, content
    hash, text (text files) or bytes (URLs), or the ``error`` that stopped it."""

    source: Source
    modality: str | None = None
    size: int = 0
    mtime: float | None = None
    content_hash: str = ""
    text: str | None = None
    data: bytes | None = None
    error: Exception | None = None

    @property
    def path(self) -> str:
        return self.source.path

    def encode_input(self) -> Any:
        """The item as ``encode_document`` takes it, with the modality made explicit (a text file whose content
        looks like a path or URL stays text; an extension-less image stays an image)."""
        if self.modality == "text":
            return {"text": self.text or ""}
        return {self.modality: self.data if self.data is not None else self.path}


def classify(head: bytes, name: str) -> str | None:
    """The modality of a file from its first bytes, else from its extension; None when it is neither."""
    found = sniff_media(head)
    if found is not None:
        return found[0]
    ext = os.path.splitext(name.lower())[1]
    if ext in TEXT_EXTENSIONS:
        return "text"
    return next((m for m, extensions in MEDIA_EXTENSIONS.items() if ext in extensions), None)


def read_item(source: Source, *, fetch: FetchPolicy | None = None, limits: MediaLimits | None = None,
              stat: os.stat_result | None = None) -> ReadItem:
    """Stat, hash and classify ``source``; errors are returned in ``ReadItem.error``, never raised."""
    item = ReadItem(source)
    try:
        if source.is_url:
            _read_url(item, fetch, limits)
        else:
            _read_file(item, stat)
    except (OSError, InputError) as exc:
        item.error = exc
    return item


def _read_file(item: ReadItem, stat: os.stat_result | None) -> None:
    path = item.path
    st = stat or os.stat(path)
    item.size, item.mtime = st.st_size, st.st_mtime
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        block = handle.read(_BLOCK)
        item.modality = classify(block[:4096], path)
        if item.modality is None:
            return  # neither media nor text: not worth reading further (a 4 GB archive costs one block)
        kept = bytearray(block) if item.modality == "text" else None
        while block:
            digest.update(block)
            block = handle.read(_BLOCK)
            if kept is not None and len(kept) < MAX_TEXT_BYTES:
                kept += block
    item.content_hash = digest.hexdigest()
    if kept is not None:
        item.text = _decode_text(bytes(kept[:MAX_TEXT_BYTES]), path, cut=item.size > MAX_TEXT_BYTES)
        if not item.text.strip():
            item.modality = None  # an empty note is not something to find


def _read_url(item: ReadItem, fetch: FetchPolicy | None, limits: MediaLimits | None) -> None:
    source = read_source(item.path, fetch=fetch, limits=limits)
    data = source.data if source.data is not None else open(source.path, "rb").read()  # noqa: SIM115
    item.size, item.data = len(data), data
    item.content_hash = hashlib.blake2b(data, digest_size=16).hexdigest()
    item.modality = classify(data[:4096], urlparse(item.path).path)
    if item.modality is None and (source.mime or "").startswith("text/"):
        item.modality = "text"
    if item.modality == "text":
        item.text, item.data = _decode_text(data[:MAX_TEXT_BYTES], item.path, cut=len(data) > MAX_TEXT_BYTES), None
        if not item.text.strip():
            item.modality = None


def _decode_text(data: bytes, name: str, cut: bool) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(data) - 3:  # the byte cap cut a multi-byte character in two
            return data[: exc.start].decode("utf-8-sig")
        raise MediaDecodeError(f"not UTF-8 text (byte {exc.start})", item=name) from None


def stored_text(text: str | None) -> str | None:
    return None if text is None else text[:MAX_STORED_TEXT]
