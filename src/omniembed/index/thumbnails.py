"""Server-side thumbnails for the search page: images scaled down, videos by one poster frame, cached on disk.

The cache key includes the file's content hash, so an edited photo gets a new thumbnail; decoding goes through
``omniembed.inputs`` (pixel and size limits, EXIF orientation, reduced-scale JPEG decoding).

Example:
    >>> import os, tempfile
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.new("RGB", (1200, 800), (200, 30, 30)).save(os.path.join(folder, "red.png"))
    >>> cache = ThumbnailCache(os.path.join(folder, "thumbs"), size=128)
    >>> path = cache.get(os.path.join(folder, "red.png"), "image", content_hash="abc")
    >>> Image.open(path).size
    (128, 85)
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from typing import Any

__all__ = ["ThumbnailCache", "default_thumbnail_dir"]


class ThumbnailCache:
    """JPEG thumbnails of at most ``size`` × ``size`` pixels under ``folder`` (created on first use)."""

    def __init__(self, folder: str, size: int = 320, quality: int = 82) -> None:
        self.folder, self.size, self.quality = folder, size, quality
        self._lock = threading.Lock()  # two requests for one new thumbnail decode it once

    def key(self, path: str, content_hash: str | None, page: int | None = None) -> str:
        name = path if page is None else f"{path}#page={page}"
        return hashlib.sha1(f"{name}\0{content_hash}\0{self.size}".encode()).hexdigest()

    def _target(self, key: str) -> str:
        return os.path.join(self.folder, key[:2], key + ".jpg")

    def get(self, path: str, modality: str, content_hash: str | None = None, page: int | None = None) -> str:
        """The cached thumbnail's path, made now if missing (``page``: a page of a PDF document, rendered).
        Raises the decoder's InputError when the file cannot be decoded, ValueError for a modality without a
        picture (audio, text)."""
        target = self._target(self.key(path, content_hash, page))
        if os.path.isfile(target):
            return target
        with self._lock:
            if not os.path.isfile(target):
                self._write(target, self._picture(path, modality, page))
        return target

    def put(self, path: str, content_hash: str | None, picture: Any, page: int | None = None) -> str:
        """Store a picture already in memory (a page the indexer just rendered) as the thumbnail of ``path``."""
        target = self._target(self.key(path, content_hash, page))
        with self._lock:
            self._write(target, picture)
        return target

    def _write(self, target: str, picture: Any) -> None:
        picture = picture.convert("RGB") if picture.mode != "RGB" else picture.copy()
        picture.thumbnail((self.size, self.size))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        # Write then rename: a reader never sees half a JPEG, even if this process is killed.
        fd, scratch = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
        with os.fdopen(fd, "wb") as handle:
            picture.save(handle, "JPEG", quality=self.quality)
        os.replace(scratch, target)

    def _picture(self, path: str, modality: str, page: int | None = None) -> Any:
        if page is not None:
            from omniembed.inputs import document_pages

            # Pages of documents indexed before their thumbnail was cached: render that one page, small.
            with document_pages(path, pages=page, dpi=36, text=False) as pages:
                return next(pages).image
        if modality == "image":
            from omniembed.inputs import load_image

            return load_image(path, target_size=self.size)
        if modality == "video":
            from PIL import Image

            from omniembed.inputs import VideoSampling, load_video

            # The frame a third of the way in: first frames are often black or a title card.
            clip = load_video(path, sampling=VideoSampling(num_frames=3))
            return Image.fromarray(clip.frames[min(1, len(clip.frames) - 1)])
        raise ValueError(f"no thumbnail for {modality}")


def default_thumbnail_dir(db: str) -> str:
    """Where the thumbnails of the store ``db`` are cached: ``DB/_thumbnails`` (a temporary folder for remote
    stores)."""
    if "://" in db:
        return os.path.join(tempfile.gettempdir(), "omniembed-thumbnails")
    return os.path.join(db, "_thumbnails")
