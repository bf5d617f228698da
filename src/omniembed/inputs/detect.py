"""Which modality is an input (one item or a batch), and is ``encode``'s argument one item or a batch?

The reference's rules (sentence-transformers 6.2), in its order: decoded objects, strings (image → video →
audio → text, by URL path or existing-file extension), text pairs, chat messages, array dicts, multimodal
dicts, arrays/tensors by ``ndim``. omniembed adds ``pathlib.Path``, bytes and binary file objects (magic
numbers, :mod:`omniembed.inputs.sniff`), ``data:audio/`` and ``data:video/`` URIs, sniffing of existing local
files without a known media extension (only when the model can encode media), and PDF documents (``"document"``:
``%PDF-`` bytes, ``.pdf`` files and URLs, ``data:application/pdf``). A model with image input encodes a document
as the image of one page (see :class:`~omniembed.inputs.DocumentOptions`), so with a model's modalities a
document is reported as ``"image"``. The modality names and the support rule live in :mod:`omniembed.modality`.

Strings stay forgiving, as in the reference: media the model cannot encode is embedded as text. Any other
input is explicit (PIL image, array, bytes, path object, ``{"image": x}``): on a model without its modality,
:func:`infer_modality` raises :class:`~omniembed.errors.UnsupportedModalityError` with the reference's text.

Example:
    >>> from omniembed.inputs.detect import infer_modality, is_singular_input
    >>> infer_modality("https://example.com/cat.jpg?size=large")
    'image'
    >>> infer_modality("https://example.com/cat.jpg", ["text"])  # text-only model: the URL is text
    'text'
    >>> infer_modality({"text": "a cat", "image": "cat.png"})
    ('image', 'text')
    >>> is_singular_input("a cat"), is_singular_input(["a cat"])
    (True, False)
    >>> infer_modality(b"%PDF-1.7 ..."), infer_modality(b"%PDF-1.7 ...", ["text", "image"])
    ('document', 'image')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from omniembed.errors import InputError, UnsupportedInputError, describe_item
from omniembed.inputs.sniff import (
    _bytes_head,
    _file_head,
    _peek_stream,
    _sniff_string,
    _sniffed_modality,
    looks_like_url,
)
from omniembed.modality import COMBINABLE, MEDIA, Modality, check_supported

__all__ = [
    "AUDIO_EXTENSIONS", "DOCUMENT_EXTENSIONS", "IMAGE_EXTENSIONS", "VIDEO_EXTENSIONS", "infer_modality",
    "is_conversation", "is_message_dict",
    "is_singular_input", "module_type",
]  # fmt: skip

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tiff", ".webp")
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".avi", ".mov", ".wmv", ".flv", ".mkv")
AUDIO_EXTENSIONS: tuple[str, ...] = (".mp3", ".wav", ".ogg", ".flac", ".aac")
DOCUMENT_EXTENSIONS: tuple[str, ...] = (".pdf",)
YOUTUBE_HOSTS = frozenset({"www.youtube.com", "youtube.com", "youtu.be", "m.youtube.com"})
_EXTENSIONS = (("image", IMAGE_EXTENSIONS), ("video", VIDEO_EXTENSIONS), ("audio", AUDIO_EXTENSIONS))
# PDFs are omniembed's: the reference embeds "deck.pdf" as text. Checked after the reference's media rules.
_DOCUMENT_MIME = "data:application/pdf"
_DEFAULT_OWNER = "SentenceTransformer model"
_DECODED_TYPES = (
    ("PIL.Image", "Image", "image"),
    ("torchcodec.decoders", "AudioDecoder", "audio"),
    ("torchcodec.decoders", "VideoDecoder", "video"),
)
_OWN_DECODED = {"AudioClip": "audio", "VideoClip": "video", "DocumentPage": "image"}
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
    for modality in MEDIA:  # data:image/ is the reference's; data:audio/ and data:video/ are ours
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
        if path.endswith(AUDIO_EXTENSIONS):
            return "audio"
        return "document" if path.endswith(DOCUMENT_EXTENSIONS) else None
    lowered = text.lower()
    for modality, extensions in (*_EXTENSIONS, ("document", DOCUMENT_EXTENSIONS)):
        if lowered.endswith(extensions) and os.path.isfile(text):
            return modality
    return "document" if lowered.startswith(_DOCUMENT_MIME) else None


def _for_model(modality: Modality, supported: Sequence[Modality] | None) -> Modality:
    """A document is a page image to a model that takes images but not documents as such."""
    if modality != "document" or supported is None or "document" in supported:
        return modality
    return "image" if "image" in supported else modality


def _detect_string(text: str, supported: Sequence[Modality] | None) -> str:
    modality = _media_from_name(text)
    if modality is not None:
        # The reference's forgiving rule: media the model cannot encode is embedded as text.
        modality = _for_model(modality, supported)
        return modality if supported is None or modality in supported else "text"
    # Sniffing reads a file, so it only happens when the model could use the answer (a text-only model keeps
    # the reference's behaviour, and its speed).
    if supported is None or any(m in supported for m in MEDIA):
        sniffed = _sniff_string(text)
        if sniffed is not None:
            sniffed = _for_model(sniffed, supported)
            if supported is None or sniffed in supported:
                return sniffed
    return "text"


# ---------------------------------------------------------------------------------------------- detection
def is_message_dict(value: Any) -> bool:
    """A chat message: a dict with ``role`` and ``content``."""
    return isinstance(value, dict) and "role" in value and "content" in value


def is_conversation(value: Any) -> bool:
    """One chat conversation: a message dict, or a list that starts with one."""
    return is_message_dict(value) or (isinstance(value, list) and bool(value) and is_message_dict(value[0]))


def module_type(module: str, name: str) -> type | None:
    # Only look at libraries the caller already imported: an object of that type cannot exist otherwise,
    # and detection must not pay for (or require) importing torch, PIL or torchcodec.
    mod = sys.modules.get(module)
    found = getattr(mod, name, None) if mod is not None else None
    return found if isinstance(found, type) else None


def _decoded_modality(sample: Any) -> str | None:
    for module, name, modality in _DECODED_TYPES:
        cls = module_type(module, name)
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
    unknown = set(sample) - COMBINABLE
    if unknown:
        hints = [text for key, text in _STRAY_KEY_HINTS.items() if key in unknown]
        hint = (" " + "\n\n".join(hints)) if hints else ""
        raise UnsupportedInputError(
            f"Multimodal dict input contains unrecognized modality keys: {sorted(unknown, key=str)}. "
            f"Expected keys from: {sorted(COMBINABLE)}.{hint}"
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
    for modality, extensions in (*_EXTENSIONS, ("document", DOCUMENT_EXTENSIONS)):
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
    if is_conversation(sample):
        return "message"
    if isinstance(sample, dict):
        return _detect_dict(sample)
    np_array, torch_tensor = module_type("numpy", "ndarray"), module_type("torch", "Tensor")
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
    """The modality of one input: ``"text"``, ``"image"``, ``"audio"``, ``"video"``, ``"document"`` (a PDF),
    ``"message"`` or a sorted tuple such as ``("image", "text")`` for a multimodal dict.

    With the modalities of a model that takes images, a PDF is ``"image"``: ``encode`` embeds one of its pages
    when :class:`~omniembed.inputs.DocumentOptions` picks one, and otherwise refuses it with an error that says
    how to embed every page (:func:`~omniembed.inputs.document_pages`).

    With ``supported_modalities`` (the model's list), a media-looking *string* the model cannot encode is text,
    as in the reference; any other input whose modality is not supported raises
    :class:`~omniembed.errors.UnsupportedModalityError` (the reference raises the same text later, per batch).
    Malformed inputs raise :class:`~omniembed.errors.UnsupportedInputError`. Both are ``ValueError``.
    """
    try:
        modality = _for_model(_detect(sample, supported_modalities), supported_modalities)
        if supported_modalities is not None:
            check_supported(modality, supported_modalities, owner=owner)
    except InputError as err:  # describe the item, so `err.at_index(i)` can say which one it was
        if err.item_description is None:
            err.item_description = describe_item(sample)
        raise
    return modality


def is_singular_input(inputs: Any) -> bool:
    """True when ``encode(inputs)`` gets one item (to wrap, then unwrap), False for a batch.

    Lists, tuples and ``datasets.Column`` are batches, except a list starting with a chat message (one
    conversation); numpy string/object arrays with ``ndim >= 1`` are batches; anything else (a str, an image,
    a dict, a float array of any shape) is one item.
    """
    if isinstance(inputs, list) and inputs and is_message_dict(inputs[0]):
        return True
    column = module_type("datasets", "Column")
    if isinstance(inputs, (list, tuple)) or (column is not None and isinstance(inputs, column)):
        return False
    np_array = module_type("numpy", "ndarray")
    return not (np_array and isinstance(inputs, np_array) and inputs.ndim >= 1 and inputs.dtype.kind in "UO")
