"""Strings that look like media files but name no file: ``encode(["photos/catt.jpg"])``.

The reference library embeds such a string as text (a missing file is not media), and so does omniembed, but
silently embedding a typo'd path as the words "photos/catt.jpg" is rarely what the caller meant.
``MediaOptions(missing_files=...)`` decides:

* ``"text"``: the reference's behaviour, nothing said;
* ``"warn"`` (default): the same embeddings, plus **one** warning per call listing the items (index and string);
* ``"error"``: each such item fails with :class:`~omniembed.errors.MediaDecodeError` ("no such file"), raised
  or recorded per ``on_error`` like any other bad item. Servers and indexers use this.

A string "looks like a media path" when it ends with an image, PDF, audio or video extension the model can encode,
has no whitespace, is not a URL or data URI, and no file of that name exists.

Example:
    >>> from omniembed.inputs.missing import looks_like_missing_media
    >>> looks_like_missing_media("photos/catt.jpg", ["text", "image"])
    True
    >>> looks_like_missing_media("a photo of a cat.jpg", ["text", "image"])  # prose: has spaces
    False
    >>> looks_like_missing_media("photos/catt.jpg", ["text"])  # a text-only model never reads files
    False
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from omniembed.errors import ItemFailure, MediaDecodeError

__all__ = ["looks_like_missing_media", "screen_missing_files"]

logger = logging.getLogger("omniembed.inputs.missing")
_SHOWN = 10


def looks_like_missing_media(text: Any, supported: Sequence[Any]) -> bool:
    """True for a string with a media extension the model supports, no whitespace, no URL scheme, no file."""
    from omniembed.inputs.detect import AUDIO_EXTENSIONS, DOCUMENT_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

    if not isinstance(text, str) or not text or len(text) > 4096 or any(c.isspace() for c in text):
        return False
    if "://" in text or text.startswith("data:"):
        return False
    lowered = text.lower()
    # A PDF is embedded through its page images, so it counts on models that take images.
    for modality, extensions in (("image", IMAGE_EXTENSIONS), ("image", DOCUMENT_EXTENSIONS),
                                 ("audio", AUDIO_EXTENSIONS), ("video", VIDEO_EXTENSIONS)):
        if lowered.endswith(extensions) and lowered not in extensions and modality in supported:
            try:
                return not os.path.exists(text)
            except (OSError, ValueError):  # embedded NUL and friends: not a usable path either
                return True
    return False


def _text_sides(job: Any, original: Any) -> list[str]:
    """The plain-text strings of one job (``processing.batches.Job``: an encode item, or the text sides of a
    CrossEncoder pair) that the caller passed as bare strings: ``{"text": "cat.jpg"}`` says "this is text" and is
    never screened."""
    given = [original] if isinstance(original, str) else list(original) if isinstance(original, (list, tuple)) else []
    return [s for s, m in zip(job.sides, job.modalities)
            if m == "text" and isinstance(s, str) and any(s is g for g in given)]


def screen_missing_files(
    jobs: list[Any], failures: list[ItemFailure], options: Any, supported: Sequence[Any], on_error: str,
    items: Sequence[Any],
) -> list[Any]:
    """Apply ``options.missing_files`` to classified jobs (``.index``, ``.sides``, ``.modalities``) of the call's
    ``items``.

    Returns the jobs to keep. ``"warn"`` logs once per call; ``"error"`` raises the first offender's
    ``MediaDecodeError`` (``on_error="raise"``) or records one :class:`~omniembed.errors.ItemFailure` each.
    """
    mode = getattr(options, "missing_files", "warn") if options is not None else "warn"
    if mode == "text" or not any(m in supported for m in ("image", "audio", "video")):
        return jobs
    offenders: list[tuple[Any, str]] = []
    for job in jobs:
        for text in _text_sides(job, items[job.index]):
            if looks_like_missing_media(text, supported):
                offenders.append((job, text))
                break
    if not offenders:
        return jobs
    if mode == "warn":
        shown = ", ".join(f"{job.index}: {text!r}" for job, text in offenders[:_SHOWN])
        more = f" and {len(offenders) - _SHOWN} more" if len(offenders) > _SHOWN else ""
        logger.warning(
            "%d input(s) look like media file paths but no such file exists, so they are embedded as text: "
            "%s%s. Pass media=MediaOptions(missing_files='error') to refuse them, or 'text' to silence this.",
            len(offenders), shown, more)
        return jobs
    bad = {id(job) for job, _ in offenders}
    for job, text in offenders:
        error = MediaDecodeError(
            f"no such file: {text!r} looks like a media path but does not exist "
            "(MediaOptions(missing_files='error'))", item=text).at_index(job.index)
        if on_error == "raise":
            raise error
        failures.append(ItemFailure(job.index, error))
    return [job for job in jobs if id(job) not in bad]
