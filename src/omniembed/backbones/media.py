"""Non-text preprocessing dispatch: decoded items of one modality → model-ready features.

``Transformer.preprocess`` calls :func:`preprocess` for every modality except plain text on a model without a chat
template. The rules (the reference's, §6):

* a module whose ``modality_config`` has ``message`` turns **every** batch into chat messages (text, images,
  combined dicts, conversations), rendered by :func:`omniembed.backbones.chat.render_messages`; a prompt becomes
  the system message;
* otherwise each modality goes through its own part of the processor: images → :mod:`.vision`, audio →
  :mod:`.audio` (with valid-frame counts), video → :mod:`.video` (frame-wise), combined dicts → :mod:`.combined`.
  A prompt on a non-text input of such a model is ignored, as in the reference.

Example:
    >>> from omniembed.backbones.media import uses_messages
    >>> class T: modality_config = {"text": {}, "message": {"format": "flat"}}
    >>> uses_messages(T())
    True
"""

from __future__ import annotations

from typing import Any

from omniembed.backbones import audio, chat, combined, video, vision
from omniembed.errors import UnsupportedModalityError


def uses_messages(transformer: Any) -> bool:
    return "message" in getattr(transformer, "modality_config", {})


def preprocess(
    transformer: Any,
    items: list[Any],
    modality: str | tuple[str, ...],
    *,
    prompt: str | None = None,
    processing_kwargs: dict | None = None,
) -> dict[str, Any]:
    """See the module docstring; returns the processor's tensors plus any omniembed bookkeeping keys."""
    if uses_messages(transformer):
        fmt = chat.conversation_format(transformer)
        conversations = [chat.to_messages(item, modality, fmt=fmt) for item in items]
        return chat.render_messages(transformer, conversations, prompt=prompt, processing_kwargs=processing_kwargs)
    if modality == "image":
        return vision.preprocess_images(transformer, items, processing_kwargs)
    if modality == "audio":
        return audio.preprocess_audio(transformer, items, processing_kwargs)
    if modality == "video":
        return video.preprocess_video(transformer, items, processing_kwargs)
    if isinstance(modality, tuple):
        return combined.preprocess_combined(transformer, items, modality, prompt=prompt,
                                            processing_kwargs=processing_kwargs)
    raise UnsupportedModalityError(
        f"Modality '{modality}' is not supported by this Transformer module. Supported modalities: "
        f"{', '.join(transformer.modality_config)}."
    )


def media_hints(module: Any, modality: Any = None, processing_kwargs: dict | None = None) -> dict[str, Any]:
    """The ``inputs.load_item`` hints of a model's first module; for a Router, those of the first route whose
    first module takes ``modality`` (so an image route's image size applies to images, an audio route's rate to
    audio). ``processing_kwargs`` are the call's (video sampling knobs)."""
    if hasattr(module, "media_hints"):
        try:
            return module.media_hints(processing_kwargs)
        except TypeError:  # modules whose media_hints() takes no arguments
            return module.media_hints()
    routes = getattr(module, "sub_modules", None)
    if routes is None:
        return {}
    firsts = [route[0] for route in routes.values() if len(route)]
    for first in firsts:
        takes = modality is None or modality in getattr(first, "modalities", ["text"])
        if takes and hasattr(first, "media_hints"):
            return media_hints(first, modality, processing_kwargs)
    return {}

