"""Modalities: the names, the ``"image+text"`` key of a combination, and which modalities a model supports.

A modality is a string (``"text"``, ``"image"``, ``"audio"``, ``"video"``, ``"message"``) or, for an input that
carries several at once (``{"text": ..., "image": ...}``), a sorted tuple such as ``("image", "text")``, written
``"image+text"`` in configuration files and messages. Every part of omniembed (detection, the Transformer's
``modality_config``, Router route keys, error texts) uses the helpers below, so the rules exist once.

Example:
    >>> from omniembed.modality import modality_key, normalize_modality, parse_modality_key, supports
    >>> modality_key(("image", "text")), parse_modality_key("audio+text")
    ('image+text', ('audio', 'text'))
    >>> normalize_modality("text+image"), normalize_modality(("image",))
    (('image', 'text'), 'image')
    >>> supports(["text", "image"], ("image", "text")), supports(["text", "image", "message"], ("image", "text"))
    (False, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from omniembed.errors import ConfigError, UnsupportedModalityError

__all__ = [
    "COMBINABLE",
    "MEDIA",
    "MODALITIES",
    "Modality",
    "check_supported",
    "modality_key",
    "normalize_modality",
    "parse_modality_key",
    "supports",
]

Modality = str | tuple[str, ...]

#: Every modality name. ``message`` is a chat conversation (dicts with ``role`` and ``content``).
MODALITIES: tuple[str, ...] = ("text", "image", "audio", "video", "message")
#: Media modalities, in the order string detection tries them (the reference's: image → video → audio).
MEDIA: tuple[str, ...] = ("image", "video", "audio")
#: The keys a combined input dict may hold (``{"text": ..., "image": ...}``).
COMBINABLE = frozenset({"text", "image", "audio", "video"})


def modality_key(modality: Modality) -> str:
    """The string form of a modality: tuples are written ``"audio+text"`` (config keys, error texts)."""
    return "+".join(modality) if isinstance(modality, tuple) else modality


def parse_modality_key(key: str) -> Modality:
    """The inverse of :func:`modality_key`: ``"audio+text"`` → ``("audio", "text")``."""
    return tuple(key.split("+")) if "+" in key else key


def normalize_modality(modality: Any) -> Modality | None:
    """The canonical form: a sorted tuple for combinations (given as a tuple, a list or ``"a+b"``), a plain string
    for one modality (``("image",)`` → ``"image"``); None stays None."""
    if modality is None:
        return None
    if isinstance(modality, str):
        return tuple(sorted(modality.split("+"))) if "+" in modality else modality
    if isinstance(modality, (tuple, list)):
        parts = tuple(sorted(str(m) for m in modality))
        return parts[0] if len(parts) == 1 else parts
    raise ConfigError(f"Invalid modality {modality!r}: expected a string or a tuple of strings.")


def supports(modalities: Sequence[Modality], modality: Modality) -> bool:
    """The reference's rule: listed, or a combination whose every part is listed while ``"message"`` is listed too
    (the parts then go into one chat message). A ``"document"`` (PDF) is supported by models that take images: they
    embed its pages."""
    if modality in modalities:
        return True
    if modality == "document":
        return "image" in modalities
    return isinstance(modality, tuple) and "message" in modalities and all(p in modalities for p in modality)


def check_supported(modality: Modality, supported: Sequence[Modality], *, owner: str = "SentenceTransformer model",
                    ) -> None:
    """Raise :class:`~omniembed.errors.UnsupportedModalityError` with the reference's text unless supported.

    ``owner`` names the rejecting component (``"SentenceTransformer model"``, ``"Transformer module"``…).
    """
    if supports(supported, modality):
        return
    listed = ", ".join(modality_key(m) for m in supported)
    if modality == "message":
        raise UnsupportedModalityError(
            f"This {owner} does not support chat-style 'message' inputs (dicts or lists of dicts with 'role' and "
            f"'content'). Supported modalities: {listed}."
        )
    if isinstance(modality, tuple) and all(p in supported for p in modality):
        raise UnsupportedModalityError(
            f"This {owner} supports {' and '.join(modality)} individually, but cannot combine them in a single "
            "input. Encode each modality separately (one call per modality)."
        )
    hint = ""
    if modality == "document":
        hint = (
            " A PDF document is embedded as page images; to search documents with a text model, embed the text "
            "layer of each page instead: [page.text for page in omniembed.inputs.document_pages(doc)]."
        )
    raise UnsupportedModalityError(
        f"Modality '{modality_key(modality)}' is not supported by this {owner}. Supported modalities: {listed}."
        + hint
    )
