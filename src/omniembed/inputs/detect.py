"""Which modality is an input (one item or a batch), and is ``encode``'s argument one item or a batch?

The reference's rules (sentence-transformers 6.2), in its order: decoded objects, strings (image → video →
audio → text, by URL path or existing-file extension), text pairs, chat messages, array dicts, multimodal
dicts, arrays/tensors by ``ndim``. omniembed adds ``pathlib.Path``, bytes and binary file objects (magic
numbers, :func:`sniff_media`), ``data:audio/`` and ``data:video/`` URIs, and sniffing of existing local files
without a known media extension (only when the model can encode media).

Strings stay forgiving, as in the reference: media the model cannot encode is embedded as text. Any other
input is explicit (PIL image, array, bytes, path object, ``{"image": x}``): on a model without its modality,
:func:`infer_modality` raises :class:`~omniembed.errors.UnsupportedModalityError` with the reference's text.

Example:
    >>> from omniembed.inputs.detect import infer_modality, infer_batch_modality, sniff_media
    >>> infer_modality("https://example.com/cat.jpg?size=large")
    'image'
    >>> infer_modality("https://example.com/cat.jpg", ["text"])  # text-only model: the URL is text
    'text'
    >>> infer_modality({"text": "a cat", "image": "cat.png"})
    ('image', 'text')
    >>> infer_batch_modality(["a cat", "https://youtu.be/x"], ["text", "video", "message"])
    'message'
    >>> sniff_media(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt ")
    ('audio', 'wav')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from omniembed.errors import InputError, UnsupportedInputError, UnsupportedModalityError, describe_item
from omniembed.inputs.sniff import (
    _bytes_head,
    _file_head,
    _peek_stream,
    _sniff_string,
    _sniffed_modality,
    looks_like_url,
    sniff_media,
)

__all__ = [
    "AUDIO_EXTENSIONS", "IMAGE_EXTENSIONS", "MULTIMODAL_DICT_KEYS", "VIDEO_EXTENSIONS", "Modality",
    "check_modality_supported", "format_modality", "infer_batch_modality", "infer_modality", "is_audio_url_or_path",
    "is_image_url_or_path", "is_message_dict", "is_non_text_pair", "is_singular_input", "is_video_url_or_path",
    "sniff_media", "supports",
]  # fmt: skip

Modality = str | tuple[str, ...]

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tiff", ".webp")
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mov", ".wmv", ".flv", ".mkv")
AUDIO_EXTENSIONS: tuple[str, ...] = (".mp3", ".wav", ".ogg", ".flac", ".aac")
MULTIMODAL_DICT_KEYS = frozenset({"text", "image", "audio", "video"})
YOUTUBE_HOSTS = frozenset({"www.youtube.com", "youtube.com", "youtu.be", "m.youtube.com"})
MEDIA_MODALITIES = ("image", "video", "audio")
_EXTENSIONS = (("image", IMAGE_EXTENSIONS), ("video", VIDEO_EXTENSIONS), ("audio", AUDIO_EXTENSIONS))
_DEFAULT_OWNER = "SentenceTransformer model"
_DECODED_TYPES = (
    ("PIL.Image", "Image", "image"),
    ("torchcodec.decoders", "AudioDecoder", "audio"),
    ("torchcodec.decoders", "VideoDecoder", "video"),
)
_OWN_DECODED = {"AudioClip": "audio", "VideoClip": "video"}
# 1-2: a waveform, mono or (channels, samples), so a 2-D float array is ONE clip; 3: (H, W, C) or (C, H, W);
# 4-5: (frames, C, H, W) or (batch, frames, C, H, W).
_NDIM_MODALITY = {1: "audio", 2: "audio", 3: "image", 4: "video", 5: "video"}
# Sibling metadata keys are a common mistake; the reference points at the nested form that carries them.
_STRAY_KEY_HINTS = {
    "video_metadata": "To attach per-sample video metadata, pass the video itself as a dict, and keep processor "
    'options in processing_kwargs, e.g.:\n{"video": {"array": frames, "video_metadata": {"fps": 15, '
    '"total_num_frames": 3}}}\nprocessing_kwargs={"video": {"do_sample_frames": False}}',
    "sampling_rate": "To attach the sampling rate, pass the audio itself as a dict, e.g.:\n"
    '{"audio": {"array": waveform, "sampling_rate": 16000}}',
}


# ----------------------------------------------------------------------------------------------- strings
def _media_from_name(text: str) -> str | None:
    """The reference's string rules (data URI, URL path or existing file extension, YouTube), minus support."""
    for modality in MEDIA_MODALITIES:  # data:image/ is the reference's; data:audio/ and data:video/ are ours
        if text.startswith(f"data:{modality}/"):
            return modality
    if looks_like_url(text):
        try:
            parsed = urlparse(text)
        except ValueError:  # e.g. "http://[invalid": the reference embeds it as text (#3850)
            return None
        path = parsed.path.lower()
        if path.endswith(IMAGE_EXTENSIONS):
            return "image"
        if path.endswith(VIDEO_EXTENSIONS) or parsed.netloc in YOUTUBE_HOSTS:
            return "video"
        return "audio" if path.endswith(AUDIO_EXTENSIONS) else None
    lowered = text.lower()
    for modality, extensions in _EXTENSIONS:
        if lowered.endswith(extensions) and os.path.isfile(text):
            return modality
    return None


def _names_media(text: Any, modality: str) -> bool:
    """The reference's per-modality name test: ``data:image/`` (images only), a URL whose path has the extension
    (YouTube hosts count as video), or an existing local file with the extension. Non-strings are not media names."""
    if not isinstance(text, str):
        return False
    if modality == "image" and text.startswith("data:image/"):
        return True
    extensions = dict(_EXTENSIONS)[modality]
    if looks_like_url(text):
        try:
            parsed = urlparse(text)
        except ValueError:
            return False
        return parsed.path.lower().endswith(extensions) or (modality == "video" and parsed.netloc in YOUTUBE_HOSTS)
    return text.lower().endswith(extensions) and os.path.isfile(text)


def is_image_url_or_path(text: str) -> bool:
    """True for an image URL (by its path's extension), an existing local image file, or a ``data:image/`` URI.

    The reference's rule (``sentence_transformers.base.modality``); :func:`infer_modality` also sniffs content.

    Example:
        >>> is_image_url_or_path("https://example.com/cat.JPG?size=large"), is_image_url_or_path("a cat.jpg")
        (True, False)
    """
    return _names_media(text, "image")


def is_video_url_or_path(text: str) -> bool:
    """True for a video URL (by extension, or any YouTube link) or an existing local video file.

    Example:
        >>> is_video_url_or_path("https://youtu.be/abc"), is_video_url_or_path("https://example.com/a.mp4#t=3")
        (True, True)
    """
    return _names_media(text, "video")


def is_audio_url_or_path(text: str) -> bool:
    """True for an audio URL (by extension) or an existing local audio file.

    Example:
        >>> is_audio_url_or_path("https://example.com/talk.mp3"), is_audio_url_or_path("data:audio/wav;base64,")
        (True, False)
    """
    return _names_media(text, "audio")


def _detect_string(text: str, supported: Sequence[Modality] | None) -> str:
    modality = _media_from_name(text)
    if modality is not None:
        # The reference's forgiving rule: media the model cannot encode is embedded as text.
        return modality if supported is None or modality in supported else "text"
    # Sniffing reads a file, so it only happens when the model could use the answer (a text-only model keeps
    # the reference's behaviour, and its speed).
    if supported is None or any(m in supported for m in MEDIA_MODALITIES):
        sniffed = _sniff_string(text)
        if sniffed is not None and (supported is None or sniffed in supported):
            return sniffed
    return "text"


# ---------------------------------------------------------------------------------------------- detection
def is_message_dict(value: Any) -> bool:
    """A chat message: a dict with ``role`` and ``content``."""
    return isinstance(value, dict) and "role" in value and "content" in value


def is_non_text_pair(sample: Any) -> bool:
    """A 2-element list/tuple with a non-string element (e.g. ``(image, "caption")``): a CrossEncoder pair that
    the reference turns into query/document messages. :func:`infer_modality` rejects these, as the reference does."""
    if not isinstance(sample, (tuple, list)) or len(sample) != 2:
        return False
    if isinstance(sample[0], str) and isinstance(sample[1], str):
        return False
    return not any(is_message_dict(e) or (isinstance(e, list) and e and isinstance(e[0], dict)) for e in sample)


def _module_type(module: str, name: str) -> type | None:
    # Only look at libraries the caller already imported: an object of that type cannot exist otherwise,
    # and detection must not pay for (or require) importing torch, PIL or torchcodec.
    mod = sys.modules.get(module)
    found = getattr(mod, name, None) if mod is not None else None
    return found if isinstance(found, type) else None


def _decoded_modality(sample: Any) -> str | None:
    for module, name, modality in _DECODED_TYPES:
        cls = _module_type(module, name)
        if cls is not None and isinstance(sample, cls):
            return modality
    cls = type(sample)  # omniembed's own decoded items (inputs.AudioClip / inputs.VideoClip)
    return _OWN_DECODED.get(cls.__name__) if cls.__module__.startswith("omniembed.") else None


def _detect_dict(sample: dict) -> Modality:
    if "array" in sample:
        if "sampling_rate" in sample:
            return "audio"
        if "video_metadata" in sample:
            return "video"
        raise UnsupportedInputError(
            "Dict input with 'array' key must also include 'sampling_rate' (for audio) or 'video_metadata' "
            f"(for video). Got keys: {sorted(sample.keys(), key=str)}"
        )
    if not sample:
        raise UnsupportedInputError("Empty dict input is not a valid input sample.")
    unknown = set(sample) - MULTIMODAL_DICT_KEYS
    if unknown:
        hints = [text for key, text in _STRAY_KEY_HINTS.items() if key in unknown]
        hint = (" " + "\n\n".join(hints)) if hints else ""
        raise UnsupportedInputError(
            f"Multimodal dict input contains unrecognized modality keys: {sorted(unknown, key=str)}. "
            f"Expected keys from: {sorted(MULTIMODAL_DICT_KEYS)}.{hint}"
        )
    # One key is the bare modality ({"image": pil} routes like a PIL image, #3779); 2+ keys a sorted tuple.
    return next(iter(sample)) if len(sample) == 1 else tuple(sorted(sample))


def _detect_ndim(ndim: int) -> str:
    if ndim in _NDIM_MODALITY:
        return _NDIM_MODALITY[ndim]
    raise UnsupportedInputError(
        f"Unsupported tensor dimensionality: {ndim}D. Expected 1-2D for audio, 3D for image, or 4-5D for video."
    )


def _detect_path(sample: os.PathLike) -> str:
    name = os.fsdecode(os.fspath(sample))
    lowered = name.lower()
    for modality, extensions in _EXTENSIONS:
        if lowered.endswith(extensions):
            return modality  # a missing file is reported by the loader, which knows the item's position
    if os.path.isdir(name):
        raise UnsupportedInputError(f"{name!r} is a directory, not an image, audio or video file.")
    head = _file_head(name)
    if head is None:
        raise UnsupportedInputError(
            f"Cannot determine the modality of {name!r}: the file does not exist or cannot be read, and its "
            "extension is not a known image, audio or video one."
        )
    return _sniffed_modality(head, f"The file {name!r}")


def _detect(sample: Any, supported: Sequence[Modality] | None) -> Modality:
    """Detection without the final support check (strings still fall back to text)."""
    decoded = _decoded_modality(sample)
    if decoded is not None:
        return decoded
    if isinstance(sample, str):
        return _detect_string(sample, supported)
    if isinstance(sample, (bytes, bytearray, memoryview)):  # bytes are media, never text
        return _sniffed_modality(_bytes_head(sample), "The bytes input")
    if isinstance(sample, (tuple, list)) and len(sample) == 2 and all(isinstance(e, str) for e in sample):
        return "text"  # a (query, document) pair
    if is_message_dict(sample) or (isinstance(sample, list) and sample and is_message_dict(sample[0])):
        return "message"
    if isinstance(sample, dict):
        return _detect_dict(sample)
    np_array, torch_tensor = _module_type("numpy", "ndarray"), _module_type("torch", "Tensor")
    if (np_array and isinstance(sample, np_array)) or (torch_tensor and isinstance(sample, torch_tensor)):
        return _detect_ndim(sample.ndim)
    if isinstance(sample, os.PathLike):
        return _detect_path(sample)
    if callable(getattr(sample, "read", None)):
        return _sniffed_modality(_peek_stream(sample), "The file object")
    raise UnsupportedInputError(
        f"Unsupported input type: {type(sample).__name__}. "
        "Expected one of: str, dict, PIL.Image.Image, np.ndarray, torch.Tensor"
    )


def infer_modality(
    sample: Any, supported_modalities: Sequence[Modality] | None = None, *, owner: str = _DEFAULT_OWNER
) -> Modality:
    """The modality of one input: ``"text"``, ``"image"``, ``"audio"``, ``"video"``, ``"message"`` or a sorted
    tuple such as ``("image", "text")`` for a multimodal dict.

    With ``supported_modalities`` (the model's list), a media-looking *string* the model cannot encode is text,
    as in the reference; any other input whose modality is not supported raises
    :class:`~omniembed.errors.UnsupportedModalityError` (the reference raises the same text later, per batch).
    Malformed inputs raise :class:`~omniembed.errors.UnsupportedInputError`. Both are ``ValueError``.
    """
    try:
        modality = _detect(sample, supported_modalities)
        if supported_modalities is not None:
            check_modality_supported(modality, supported_modalities, owner=owner)
    except InputError as err:  # describe the item, so `err.at_index(i)` can say which one it was
        if err.item_description is None:
            err.item_description = describe_item(sample)
        raise
    return modality


def infer_batch_modality(
    samples: Sequence[Any], supported_modalities: Sequence[Modality] | None = None, *, owner: str = _DEFAULT_OWNER
) -> Modality:
    """The modality of a batch: ``"text"`` when empty, the shared modality, or ``"message"`` when mixed."""
    if len(samples) == 0:
        return "text"
    found = {infer_modality(s, supported_modalities, owner=owner) for s in samples}
    return found.pop() if len(found) == 1 else "message"


def is_singular_input(inputs: Any) -> bool:
    """True when ``encode(inputs)`` gets one item (to wrap, then unwrap), False for a batch.

    Lists, tuples and ``datasets.Column`` are batches, except a list starting with a chat message (one
    conversation); numpy string/object arrays with ``ndim >= 1`` are batches; anything else (a str, an image,
    a dict, a float array of any shape) is one item.
    """
    if isinstance(inputs, list) and inputs and is_message_dict(inputs[0]):
        return True
    column = _module_type("datasets", "Column")
    if isinstance(inputs, (list, tuple)) or (column is not None and isinstance(inputs, column)):
        return False
    np_array = _module_type("numpy", "ndarray")
    return not (np_array and isinstance(inputs, np_array) and inputs.ndim >= 1 and inputs.dtype.kind in "UO")


# ------------------------------------------------------------------------------------------------- support
def format_modality(modality: Modality) -> str:
    """``("image", "text")`` → ``"image+text"``; strings unchanged."""
    return "+".join(modality) if isinstance(modality, tuple) else modality


def supports(modalities: Sequence[Modality], modality: Modality) -> bool:
    """The reference's rule: listed, or a tuple whose every part is listed while ``"message"`` is listed too."""
    if modality in modalities:
        return True
    return isinstance(modality, tuple) and "message" in modalities and all(p in modalities for p in modality)


def check_modality_supported(
    modality: Modality, supported_modalities: Sequence[Modality], *, owner: str = _DEFAULT_OWNER,
    inputs: Sequence[Any] | None = None,
) -> None:  # fmt: skip
    """Raise :class:`~omniembed.errors.UnsupportedModalityError` with the reference's text unless supported.

    ``owner`` names the rejecting component ("SentenceTransformer model", "Transformer module"…). For a batch
    modality of ``"message"``, pass the batch as ``inputs`` so a mixed batch is told apart from chat messages.
    """
    if supports(supported_modalities, modality):
        return
    listed = ", ".join(format_modality(m) for m in supported_modalities)
    if modality == "message":
        kinds = {"message"} if inputs is None else _sample_modalities(inputs, supported_modalities)
        chat = f"This {owner} does not support chat-style 'message' inputs (dicts or lists of dicts with 'role' and"
        if kinds == {"message"}:
            raise UnsupportedModalityError(f"{chat} 'content'). Supported modalities: {listed}.")
        if "message" in kinds:
            raise UnsupportedModalityError(
                f"{chat} 'content'), which this batch mixes with other modalities. Supported modalities: {listed}."
            )
        if kinds:
            present = ", ".join(sorted(format_modality(k) for k in kinds))
            parts = {p for k in kinds for p in (k if isinstance(k, tuple) else (k,))}
            missing = sorted(p for p in parts if p not in supported_modalities)
            if missing:
                raise UnsupportedModalityError(
                    f"This batch mixes multiple modalities ({present}), but this {owner} does not support "
                    f"{', '.join(missing)}. Supported modalities: {listed}."
                )
            raise UnsupportedModalityError(
                f"This batch mixes multiple modalities ({present}), which this {owner} cannot encode in a single "
                "batch. Encode each modality separately (one call per modality)."
            )
    if isinstance(modality, tuple) and all(p in supported_modalities for p in modality):
        raise UnsupportedModalityError(
            f"This {owner} supports {' and '.join(modality)} individually, but cannot combine them in a single "
            "input. Encode each modality separately (one call per modality)."
        )
    raise UnsupportedModalityError(
        f"Modality '{format_modality(modality)}' is not supported by this {owner}. Supported modalities: {listed}."
    )


def _sample_modalities(inputs: Sequence[Any], supported: Sequence[Modality]) -> set[Modality]:
    try:
        return {_detect(sample, supported) for sample in inputs}
    except (ValueError, TypeError):  # e.g. a non-text pair: fall back to the generic text, like the reference
        return set()
