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

__all__ = ["ThumbnailCache"]


class ThumbnailCache:
    """JPEG thumbnails of at most ``size`` × ``size`` pixels under ``folder`` (created on first use)."""

    def __init__(self, folder: str, size: int = 320, quality: int = 82) -> None:
        self.folder, self.size, self.quality = folder, size, quality
        self._lock = threading.Lock()  # two requests for one new thumbnail decode it once

    def key(self, path: str, content_hash: str | None) -> str:
        return hashlib.sha1(f"{path}\0{content_hash}\0{self.size}".encode()).hexdigest()

    def get(self, path: str, modality: str, content_hash: str | None = None) -> str:
        """The cached thumbnail's path, made now if missing. Raises the decoder's InputError when the file
        cannot be decoded, ValueError for a modality without a picture (audio, text)."""
        key = self.key(path, content_hash)
        target = os.path.join(self.folder, key[:2], key + ".jpg")
        if os.path.isfile(target):
            return target
        with self._lock:
            if not os.path.isfile(target):
                picture = self._picture(path, modality)
                picture.thumbnail((self.size, self.size))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                # Write then rename: a reader never sees half a JPEG, even if this process is killed.
                fd, scratch = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".part")
                with os.fdopen(fd, "wb") as handle:
                    picture.save(handle, "JPEG", quality=self.quality)
                os.replace(scratch, target)
        return target

    def _picture(self, path: str, modality: str) -> Any:
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
