"""The reference's public detection helpers (``sentence_transformers.base.modality``) that omniembed's own
detection (:mod:`omniembed.inputs.detect`, which also sniffs content) does not need: the per-modality name tests
and the batch modality.

Example:
    >>> is_image_url_or_path("https://example.com/cat.JPG?size=large"), is_image_url_or_path("a cat.jpg")
    (True, False)
    >>> infer_batch_modality(["a cat", "a dog"]), infer_batch_modality(["a cat", {"image": "cat.png"}])
    ('text', 'message')
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from omniembed.inputs.detect import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    YOUTUBE_HOSTS,
    infer_modality,
)
from omniembed.inputs.sniff import looks_like_url
from omniembed.modality import Modality

__all__ = ["infer_batch_modality", "is_audio_url_or_path", "is_image_url_or_path", "is_video_url_or_path"]


def _names_media(text: Any, extensions: tuple[str, ...], *, youtube: bool = False) -> bool:
    """A URL whose path has one of ``extensions`` (or, for video, a YouTube host), or an existing local file with
    one. Non-strings are not media names."""
    if not isinstance(text, str):
        return False
    if looks_like_url(text):
        try:
            parsed = urlparse(text)
        except ValueError:  # e.g. "https://[[invalid]]"
            return False
        return parsed.path.lower().endswith(extensions) or (youtube and parsed.netloc in YOUTUBE_HOSTS)
    return text.lower().endswith(extensions) and os.path.isfile(text)


def is_image_url_or_path(text: str) -> bool:
    """True for an image URL (by its path's extension), an existing local image file, or a ``data:image/`` URI.

    Example:
        >>> is_image_url_or_path("data:image/png;base64,AAAA"), is_image_url_or_path("https://x.org/a.mp4")
        (True, False)
    """
    return (isinstance(text, str) and text.startswith("data:image/")) or _names_media(text, IMAGE_EXTENSIONS)


def is_video_url_or_path(text: str) -> bool:
    """True for a video URL (by extension, or any YouTube link) or an existing local video file.

    Example:
        >>> is_video_url_or_path("https://youtu.be/abc"), is_video_url_or_path("https://example.com/a.mp4#t=3")
        (True, True)
    """
    return _names_media(text, VIDEO_EXTENSIONS, youtube=True)


def is_audio_url_or_path(text: str) -> bool:
    """True for an audio URL (by extension) or an existing local audio file.

    Example:
        >>> is_audio_url_or_path("https://example.com/talk.mp3"), is_audio_url_or_path("data:audio/wav;base64,")
        (True, False)
    """
    return _names_media(text, AUDIO_EXTENSIONS)


def infer_batch_modality(samples: Sequence[Any], supported_modalities: Sequence[Modality] | None = None,
                         ) -> Modality:
    """The modality of a batch: ``"text"`` when empty, the shared modality when every sample has the same one,
    else ``"message"`` (a mixed batch goes into chat messages on models that take them).

    Example:
        >>> infer_batch_modality([]), infer_batch_modality([{"image": "a.png", "text": "x"}])
        ('text', ('image', 'text'))
    """
    if not samples:
        return "text"
    modalities = {infer_modality(sample, supported_modalities) for sample in samples}
    return modalities.pop() if len(modalities) == 1 else "message"
