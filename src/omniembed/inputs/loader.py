"""load_item(): one detected input item → its decoded form (the table in docs/architecture.md).

The batch loop detects each item's modality (:mod:`omniembed.inputs.detect`), then calls :func:`load_item`
with the model's needs (``image_size`` for JPEG draft decoding, ``sampling_rate`` for audio,
``video_sampling``) and the caller's :class:`MediaOptions`. Text passes through; media go to
:func:`~omniembed.inputs.load_image` / ``load_audio`` / ``load_video``; a multimodal dict decodes each value
(lists of values one by one); chat messages have their media content parts decoded.

Example:
    >>> import numpy as np
    >>> from omniembed.inputs.loader import load_item
    >>> load_item({"text": "a cat", "image": np.zeros((2, 2, 3), np.uint8)}, ("image", "text"))["image"].mode
    'RGB'
    >>> load_item(b"not an image at all", "image")
    Traceback (most recent call last):
    ...
    omniembed.errors.MediaDecodeError: not a valid image, or not an allowed format (JPEG, MPO, PNG, ...)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from omniembed.errors import ConfigError, MediaDecodeError, UnsupportedInputError
from omniembed.inputs.audio import load_audio
from omniembed.inputs.documents import DocumentOptions, DocumentPage, document_source, is_pdf, load_document_image
from omniembed.inputs.image import decode_image_source, load_image
from omniembed.inputs.isolation import IsolationLimits, decode_isolated, worth_isolating
from omniembed.inputs.limits import DEFAULT_LIMITS, MediaLimits
from omniembed.inputs.sources import read_source
from omniembed.inputs.video import VideoSampling, load_video

if TYPE_CHECKING:
    from omniembed.inputs.fetch import FetchPolicy

__all__ = ["MediaOptions", "load_item"]

_MEDIA = ("image", "audio", "video")
_VISUAL = ("image", "document")  # a PDF is embedded as the image of one of its pages (DocumentOptions.page)


@dataclass(frozen=True)
class MediaOptions:
    """How media items are obtained and decoded.

    ``limits``: :class:`~omniembed.inputs.MediaLimits`. ``fetch``: the
    :class:`~omniembed.inputs.FetchPolicy` for URLs (None: the default policy; ``FetchPolicy(enabled=False)``
    refuses every URL). ``image_background``: colour for transparent pixels (None drops alpha like the
    reference). ``exif_transpose``: honour EXIF orientation. ``draft``: reduced-scale JPEG decoding when the
    model's image size is known. ``video``: the default :class:`~omniembed.inputs.VideoSampling`.
    ``video_audio``: also decode the audio track of videos. ``document``: the
    :class:`~omniembed.inputs.DocumentOptions` for PDFs given as items (by default they are refused with an
    error that explains how to embed their pages).

    Hardening switches (see docs/security.md): ``isolation="process"`` decodes every media reference (PDFs
    included) in a pool of sandboxed worker processes limited by ``isolation_limits``
    (:class:`~omniembed.inputs.IsolationLimits`), so a decoder crash, hang or memory blow-up fails that one item
    with ``MediaDecodeError``; local files inside ``trusted_folders`` (the caller's own) are still decoded
    in-process. ``missing_files`` says what ``encode``/``predict`` do with a string that looks
    like a media path (a known media extension, no whitespace) but names no file: ``"text"`` embeds it as text
    silently (the reference's behaviour), ``"warn"`` (default) also logs one warning per call naming those
    items, ``"error"`` fails those items with ``MediaDecodeError``. :meth:`untrusted` gives the settings for
    input from strangers.
    """

    limits: MediaLimits = DEFAULT_LIMITS
    fetch: FetchPolicy | None = None
    image_background: tuple[int, int, int] | None = (255, 255, 255)
    exif_transpose: bool = True
    draft: bool = True
    video: VideoSampling = field(default_factory=VideoSampling)
    video_audio: bool = False
    document: DocumentOptions = field(default_factory=DocumentOptions)
    isolation: str = "none"
    isolation_limits: IsolationLimits = field(default_factory=IsolationLimits)
    trusted_folders: tuple[str, ...] = ()
    missing_files: str = "warn"

    def __post_init__(self) -> None:
        from omniembed.inputs.fetch import FetchPolicy  # lazily: fetch pulls in the socket/ssl machinery

        if self.fetch is not None and not isinstance(self.fetch, FetchPolicy):
            raise ConfigError(f"MediaOptions.fetch must be a FetchPolicy or None, got {type(self.fetch).__name__}")
        if not isinstance(self.limits, MediaLimits):
            raise ConfigError(f"MediaOptions.limits must be a MediaLimits, got {type(self.limits).__name__}")
        if not isinstance(self.video, VideoSampling):
            raise ConfigError(f"MediaOptions.video must be a VideoSampling, got {type(self.video).__name__}")
        if not isinstance(self.document, DocumentOptions):
            raise ConfigError(
                f"MediaOptions.document must be a DocumentOptions, got {type(self.document).__name__}"
            )
        if self.isolation not in ("none", "process"):
            raise ConfigError(f"MediaOptions.isolation must be 'none' or 'process', got {self.isolation!r}")
        if not isinstance(self.isolation_limits, IsolationLimits):
            raise ConfigError("MediaOptions.isolation_limits must be an IsolationLimits, got "
                              f"{type(self.isolation_limits).__name__}")
        if isinstance(self.trusted_folders, (str, os.PathLike)) or not all(
            isinstance(f, (str, os.PathLike)) for f in self.trusted_folders
        ):
            raise ConfigError("MediaOptions.trusted_folders must be a tuple of folder paths, got "
                              f"{self.trusted_folders!r}")
        object.__setattr__(self, "trusted_folders", tuple(os.fspath(f) for f in self.trusted_folders))
        if self.missing_files not in ("text", "warn", "error"):
            raise ConfigError(f"MediaOptions.missing_files must be 'text', 'warn' or 'error', got {self.missing_files!r}")

    @classmethod
    def untrusted(cls, **overrides: Any) -> MediaOptions:
        """Settings for media from strangers (a server's requests, a crawled folder, scraped URLs): decoders in
        sandboxed processes, and strings that look like missing media files refused instead of embedded as text.

        Example:
            >>> from omniembed.inputs import MediaOptions
            >>> opts = MediaOptions.untrusted()
            >>> opts.isolation, opts.missing_files
            ('process', 'error')
        """
        return cls(**{"isolation": "process", "missing_files": "error", **overrides})


DEFAULT_OPTIONS = MediaOptions()


def load_item(
    item: Any,
    modality: str | tuple[str, ...],
    *,
    options: MediaOptions | None = None,
    image_size: int | tuple[int, int] | None = None,
    sampling_rate: int | None = None,
    video_sampling: VideoSampling | None = None,
) -> Any:
    """Decode one item of the given (already detected) ``modality``; raises an InputError subclass when the
    item is unusable."""
    ctx = _Context(options or DEFAULT_OPTIONS, image_size, sampling_rate, video_sampling)
    if isinstance(modality, tuple):
        if not isinstance(item, dict):
            raise UnsupportedInputError(
                f"a {'+'.join(modality)} input must be a dict keyed by modality, got {type(item).__name__}", item=item
            )
        return {key: ctx.value(value, key) for key, value in item.items()}
    if modality == "message":
        return ctx.messages(item)
    if modality == "text":
        return item
    if modality in _MEDIA or modality == "document":
        if isinstance(item, dict) and len(item) == 1 and modality in item:  # {"image": x} routes like x
            item = item[modality]
        return ctx.one(item, modality)
    raise UnsupportedInputError(
        f"unknown modality {modality!r}: expected text, image, audio, video, document or message", item=item
    )


@dataclass(frozen=True)
class _Context:
    options: MediaOptions
    image_size: Any
    sampling_rate: int | None
    video_sampling: VideoSampling | None

    def one(self, item: Any, modality: str) -> Any:
        o = self.options
        if o.isolation == "process" and worth_isolating(item, o.trusted_folders):
            return decode_isolated(
                item, modality, o.isolation_limits, options=replace(o, isolation="none"),
                image_size=self.image_size, sampling_rate=self.sampling_rate, video_sampling=self.video_sampling,
            )
        if modality in _VISUAL:
            return self.visual(item, modality)
        if modality == "audio":
            return load_audio(item, sampling_rate=self.sampling_rate, limits=o.limits, fetch=o.fetch)
        return load_video(
            item,
            sampling=self.video_sampling or o.video,
            limits=o.limits,
            fetch=o.fetch,
            with_audio=o.video_audio,
            audio_sampling_rate=self.sampling_rate or 16000,
        )

    def visual(self, item: Any, modality: str) -> Any:
        """An image, or the page of a PDF that DocumentOptions picks: the bytes decide, not the name."""
        o = self.options
        target = self.image_size if o.draft else None
        image_args = {"background": o.image_background, "exif_transpose": o.exif_transpose}
        if isinstance(item, DocumentPage):
            return load_image(item.image, limits=o.limits, **image_args)
        if not document_source(item):
            if modality == "document":
                raise UnsupportedInputError(
                    f"a document must be a PDF path, URL, bytes or file object, got {type(item).__name__}", item=item
                )
            return load_image(item, limits=o.limits, fetch=o.fetch, target_size=target, **image_args)
        source = read_source(item, fetch=o.fetch, limits=o.limits, kind=modality)
        if is_pdf(source.head(8)):
            return load_document_image(source, o.document, limits=o.limits, item=item)
        if modality == "document":
            raise MediaDecodeError(f"not a PDF document (first bytes: {source.head(8).hex(' ')!r})", item=item)
        return decode_image_source(source, limits=o.limits, target_size=target, item=item, **image_args)

    def value(self, value: Any, key: str) -> Any:
        if key == "text" or key not in _MEDIA:
            return value
        if isinstance(value, (list, tuple)) and not (key == "video" and _is_frame_list(value)):
            return [self.one(v, key) for v in value]
        return self.one(value, key)

    def messages(self, item: Any) -> Any:
        if isinstance(item, dict):
            return self._message(item)
        if isinstance(item, (list, tuple)):
            return [self._message(m) for m in item]
        raise UnsupportedInputError(
            f"a chat input must be a message dict or a list of them, got {type(item).__name__}", item=item
        )

    def _message(self, message: Any) -> Any:
        if not isinstance(message, dict) or not isinstance(message.get("content"), (list, tuple)):
            return message  # plain-text content (or not a message at all: the template will say so)
        return {**message, "content": [self._part(part) for part in message["content"]]}

    def _part(self, part: Any) -> Any:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind not in _MEDIA:
            return part
        # transformers' chat templates take the media under its type, "url", "path" or "base64".
        for key in (kind, "url", "path", "base64"):
            if part.get(key) is not None:
                ref = part[key]
                if key == "base64" and isinstance(ref, str) and not ref.startswith("data:"):
                    ref = f"data:{kind}/*;base64,{ref}"
                decoded = self.one(ref, kind)
                rest = {k: v for k, v in part.items() if k not in (kind, "url", "path", "base64")}
                return {**rest, kind: decoded}
        raise UnsupportedInputError(
            f"a {kind!r} message part needs a {kind!r}, 'url', 'path' or 'base64' key, got {sorted(map(str, part))}",
            item=part,
        )


def _is_frame_list(value: Any) -> bool:
    """A list that is one video's frames (PIL images or ≤3-D arrays) rather than a list of videos."""
    if not value:
        return False
    first = value[0]
    if type(first).__module__.startswith("PIL"):
        return True
    ndim = getattr(first, "ndim", None)
    return ndim is not None and ndim <= 3
