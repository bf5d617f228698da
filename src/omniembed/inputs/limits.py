"""MediaLimits: the bounds every decoder checks before (and while) it spends memory or time on an item.

The defaults suit untrusted input on a server and ordinary files on a laptop: a 64 MiB byte cap, Pillow's own
decompression-bomb *warning* threshold for images (~89.5 megapixels; Pillow raises only at twice that), ten
minutes of audio, four hours of video of at most 8K frames, at most 256 decoded (sampled) video frames, and PDF
documents of at most 2,000 rendered pages, each rendered in at most 20 seconds (10 minutes per document).
Every decoder raises :class:`~omniembed.errors.MediaTooLargeError` when a limit is exceeded, naming the limit.
Seconds limits accept ``math.inf`` to switch them off; the pixel and byte limits cannot be switched off (Pillow's
own SECURITY notes: never disable the bomb check in production).

Example:
    >>> from omniembed.inputs.limits import MediaLimits
    >>> limits = MediaLimits(max_image_pixels=4096 * 4096, max_audio_seconds=30)
    >>> limits.max_bytes
    67108864
    >>> MediaLimits(max_video_frames=0)
    Traceback (most recent call last):
    ...
    omniembed.errors.ConfigError: MediaLimits.max_video_frames must be a positive number, got 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from omniembed.errors import ConfigError

__all__ = ["DEFAULT_LIMITS", "MediaLimits", "check_decoded_bytes", "join_releasing"]

MiB = 1024 * 1024


@dataclass(frozen=True)
class MediaLimits:
    """Per-item bounds on media size and length.

    ``max_bytes``: the encoded size of one item (file, download, data URI, bytes, file object).
    ``max_image_pixels``: width × height of an image, checked from the file header before any pixel is decoded.
    ``max_animation_frames``: frames read from an animated image (GIF/WebP/APNG) that is loaded as a *video*;
    :func:`~omniembed.inputs.load_image` reads only the first frame, whatever this says.
    ``max_audio_seconds``: the length of an audio item (also of the audio track taken from a video).
    ``max_video_seconds``: the length of a video, from its container metadata and again while decoding.
    ``max_video_frames``: the most frames one video item may yield after sampling (a hard cap on top of
    :class:`~omniembed.inputs.VideoSampling`'s ``max_frames``).
    ``max_video_pixels``: width × height of one video frame (8K by default).
    ``max_decoded_bytes``: the size of the decoded result of one item (all sampled video frames together, all
    frames of an animation, the samples of an audio clip), checked from the metadata before decoding and again
    while decoding. Small files can declare huge results (an 8K video repeated into 256 frames, a GIF of a
    thousand 1-pixel updates on a 9000×9000 canvas); this keeps them bounded. Video frames are written into the
    result as they are decoded, so it is held once (plus the decoder's working memory).
    ``max_document_pages``: pages rendered from one PDF (the selected ones when ``pages=`` is given).
    ``max_page_seconds``: time to render one PDF page; PDFium is stopped when it runs over.
    ``max_document_seconds``: rendering time for all the pages of one PDF together.
    The pixels of one rendered page are bounded by ``max_image_pixels`` (pages larger than the caller's pixel
    budget are rendered at a lower scale, not refused).
    """

    max_bytes: int = 64 * MiB
    max_image_pixels: int = 89_478_485
    max_animation_frames: int = 1_000
    max_audio_seconds: float = 600.0
    max_video_seconds: float = 4 * 3600.0
    max_video_frames: int = 256
    max_video_pixels: int = 7680 * 4320
    max_decoded_bytes: int = 1024 * MiB
    max_document_pages: int = 2_000
    max_page_seconds: float = 20.0
    max_document_seconds: float = 600.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
            if ok and isinstance(value, float) and math.isnan(value):
                ok = False
            if ok and math.isinf(value) and not f.name.endswith("_seconds"):
                ok = False  # byte, pixel and frame caps must stay finite: they guard memory, not patience
            if not ok:
                raise ConfigError(f"MediaLimits.{f.name} must be a positive number, got {value!r}.")


DEFAULT_LIMITS = MediaLimits()


def join_releasing(parts: list, axis: int = 0, stack: bool = False):
    """``np.stack`` / ``np.concatenate`` of ``parts`` that drops each part from the list once copied.

    The output is allocated untouched (``np.empty``: pages become resident only as they are written), so resident
    memory peaks at about the size of the result plus one part, not twice the result.
    """
    import numpy as np

    first = np.asarray(parts[0])
    if stack:
        shape = (len(parts), *first.shape)
    else:
        shape = list(first.shape)
        shape[axis] = sum(np.shape(p)[axis] for p in parts)
    out = np.empty(shape, dtype=np.result_type(*[np.asarray(p).dtype for p in parts[:1]]))
    offset = 0
    for i in range(len(parts)):
        part = np.asarray(parts[i])
        parts[i] = None
        if stack:
            out[i] = part
        else:
            index = [slice(None)] * out.ndim
            index[axis] = slice(offset, offset + part.shape[axis])
            out[tuple(index)] = part
            offset += part.shape[axis]
        del part
    parts.clear()
    return out


def check_decoded_bytes(nbytes: float, limits: MediaLimits, what: str, item: object = None) -> None:
    """Raise MediaTooLargeError when ``nbytes`` of decoded output would exceed ``limits.max_decoded_bytes``."""
    if nbytes > limits.max_decoded_bytes:
        from omniembed.errors import MediaTooLargeError

        raise MediaTooLargeError(
            f"{what} would decode to {int(nbytes)} bytes, more than MediaLimits.max_decoded_bytes="
            f"{limits.max_decoded_bytes}", item=item)
