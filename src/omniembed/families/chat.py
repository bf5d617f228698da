"""Chat messages → model tensors, for VLM embedders (LLaVA-like, Qwen-VL-Embedding-like) and chat-template rerankers.

Two entry points:

* :func:`to_messages` turns one decoded item into a conversation: a text, an image, an audio clip, a video or a
  ``{"text": ..., "image": ...}`` dict becomes **one user message** whose content items follow the dict's key
  order; a ``(str, str)`` pair becomes a ``query`` message and a ``document`` message; a conversation passes
  through (normalised to the template's format).
* :func:`render_messages` renders a batch of conversations with the chat template and runs the processor on the
  rendered text plus the media found in the content items, in order. **Stable API** (the CrossEncoder calls it
  with ``[{"role": "query", ...}, {"role": "document", ...}]`` conversations)::

      render_messages(transformer, conversations, *, prompt=None, add_generation_prompt=False,
                      processing_kwargs=None) -> dict[str, Any]   # input_ids, attention_mask, pixel_values…

Message formats (reference §6): ``structured`` content is a list of ``{"type": "text", "text": ...}`` /
``{"type": "image", "image": ...}`` items; ``flat`` content is a plain string (media cannot be expressed). A prompt
becomes a system message in front of the conversation.

Why the template is rendered to text first and the processor called by us (not ``apply_chat_template(
tokenize=True)``): transformers would then load the media itself (URLs, paths, torchvision video decoding). Here
every media item is already decoded by :mod:`omniembed.inputs`, and backbones never open files or URLs.

Example:
    >>> from omniembed.backbones.chat import to_messages
    >>> to_messages({"text": "a cat", "image": "IMG"}, ("image", "text"))
    [{'role': 'user', 'content': [{'type': 'text', 'text': 'a cat'}, {'type': 'image', 'image': 'IMG'}]}]
    >>> to_messages("a cat", "text", fmt="flat", prompt="Represent this:")
    [{'role': 'system', 'content': 'Represent this:'}, {'role': 'user', 'content': 'a cat'}]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from omniembed.errors import ConfigError, UnsupportedInputError, UnsupportedModalityError

__all__ = ["collect_media", "conversation_format", "render_messages", "render_prompts", "to_messages"]

Conversation = list[dict[str, Any]]
_MEDIA_TYPES = ("image", "audio", "video")
_MARKER = "\u2063omniembed-suffix-probe\u2063"  # an invisible separator no template produces by itself


def conversation_format(transformer: Any) -> str:
    """The message format saved in the module's ``modality_config`` (``structured`` unless it says ``flat``)."""
    return (getattr(transformer, "modality_config", {}).get("message") or {}).get("format", "structured")


def _content_item(modality: str, value: Any) -> dict[str, Any]:
    if modality == "text":
        return {"type": "text", "text": value}
    return {"type": modality, modality: value}


def _to_format(content: Any, fmt: str) -> Any:
    """Message content in the template's format: a list of typed items (structured) or one string (flat)."""
    if fmt == "structured":
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        if isinstance(content, dict):
            return [content]
        return list(content)
    if isinstance(content, str):
        return content
    items = [content] if isinstance(content, dict) else list(content)
    texts = []
    for item in items:
        kind = item.get("type", "text") if isinstance(item, dict) else "text"
        if kind != "text":
            raise UnsupportedModalityError(
                f"This model's chat template takes plain-string message content ('flat' format), so a {kind!r} "
                "content item cannot be expressed. Supported in messages: text."
            )
        texts.append(item.get("text", "") if isinstance(item, dict) else str(item))
    return "\n".join(texts)


def to_messages(item: Any, modality: Any, *, fmt: str = "structured", prompt: str | None = None) -> Conversation:
    """One decoded item → one conversation (see the module docstring); ``prompt`` becomes a system message."""
    if modality == "message":
        if isinstance(item, dict):
            item = [item]
        conversation = [{**m, "content": _to_format(m["content"], fmt)} for m in item]
    elif modality == "text" and isinstance(item, (tuple, list)):
        if len(item) != 2:
            raise UnsupportedInputError("A text pair must have exactly two texts.", item=item)
        conversation = [{"role": "query", "content": _to_format([_content_item("text", item[0])], fmt)},
                        {"role": "document", "content": _to_format([_content_item("text", item[1])], fmt)}]
    elif isinstance(item, dict):  # a combined input: content items in the dict's key order
        content = []
        for key, value in item.items():
            several = _is_text_list(value) if key == "text" else isinstance(value, list)  # several per modality
            content.extend(_content_item(key, v) for v in (value if several else [value]))
        conversation = [{"role": "user", "content": _to_format(content, fmt)}]
    elif isinstance(modality, str) and modality in ("text", *_MEDIA_TYPES):
        conversation = [{"role": "user", "content": _to_format([_content_item(modality, item)], fmt)}]
    else:
        raise UnsupportedModalityError(f"Cannot turn a {modality!r} input into chat messages.")
    if prompt:
        system = [_content_item("text", prompt)] if fmt == "structured" else prompt
        conversation = [{"role": "system", "content": system}, *conversation]
    return conversation


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def collect_media(conversation: Conversation) -> dict[str, list[Any]]:
    """The decoded media of one conversation, per modality, in content order."""
    found: dict[str, list[Any]] = {m: [] for m in _MEDIA_TYPES}
    for message in conversation:
        content = message.get("content")
        if isinstance(content, str) or content is None:
            continue
        for part in [content] if isinstance(content, dict) else content:
            kind = part.get("type") if isinstance(part, dict) else None
            if kind in found:
                value = next((part[k] for k in (kind, "url", "path") if part.get(k) is not None), None)
                if value is None:
                    raise UnsupportedInputError(f"A {kind!r} content item carries no {kind}.", item=part)
                found[kind].append(value)
    return found


def _template_kwargs(processing_kwargs: dict | None) -> dict[str, Any]:
    return dict((processing_kwargs or {}).get("chat_template") or {})


def render_prompts(
    transformer: Any, conversations: Sequence[Conversation], *, add_generation_prompt: bool = False,
    processing_kwargs: dict | None = None,
) -> list[str]:
    """The chat template applied to each conversation, as text (nothing tokenised, no media touched)."""
    processor = transformer.processor
    if not getattr(processor, "chat_template", None) and not getattr(transformer.tokenizer, "chat_template", None):
        raise ConfigError(
            f"{type(transformer.auto_model).__name__} has no chat template, so it cannot encode chat messages. Set "
            "one with processor_kwargs={'chat_template': ...}."
        )
    owner = processor if getattr(processor, "chat_template", None) else transformer.tokenizer
    kwargs = {"add_generation_prompt": add_generation_prompt, **_template_kwargs(processing_kwargs)}
    rendered = owner.apply_chat_template([list(c) for c in conversations], tokenize=False, **kwargs)
    return [rendered] if isinstance(rendered, str) else list(rendered)


def render_messages(
    transformer: Any,
    conversations: Sequence[Conversation],
    *,
    prompt: str | None = None,
    add_generation_prompt: bool = False,
    processing_kwargs: dict | None = None,
) -> dict[str, Any]:
    """Render conversations with the chat template and prepare them for the model.

    ``conversations`` are lists of message dicts (any roles, ``query``/``document`` included) whose media content
    items are decoded (PIL images, ``AudioClip``, ``VideoClip``). ``prompt`` is prepended as a system message.
    ``processing_kwargs`` follows the reference's keys (``common``, ``text``, ``image``, ``audio``, ``video``,
    ``chat_template``), merged over the module's saved ones. Returns the processor's tensors (``input_ids``,
    ``attention_mask``, ``pixel_values``…) with ``modality="message"``.

    Example:
        >>> features = render_messages(transformer, [[{"role": "user", "content": "hi"}]])  # doctest: +SKIP
        >>> sorted(features)                                                                 # doctest: +SKIP
        ['attention_mask', 'input_ids', 'modality']
    """
    fmt = conversation_format(transformer)
    conversations = [to_messages(c, "message", fmt=fmt, prompt=prompt) for c in conversations]
    prompts = render_prompts(transformer, conversations, add_generation_prompt=add_generation_prompt,
                             processing_kwargs=_merged(transformer, processing_kwargs))
    media = [collect_media(c) for c in conversations]
    features = _tokenize(transformer, prompts, media, processing_kwargs)
    has_media = any(v for m in media for v in m.values())
    max_length = getattr(transformer, "max_seq_length", None)
    if max_length and not has_media and features["input_ids"].shape[1] > max_length:
        suffix = _fixed_suffix(transformer, fmt, add_generation_prompt, processing_kwargs)
        _truncate(features, max_length, suffix, transformer.tokenizer)
    features["modality"] = "message"
    return features


def _merged(transformer: Any, processing_kwargs: dict | None) -> dict:
    saved = getattr(transformer, "processing_kwargs", None) or {}
    merged = {k: dict(v) for k, v in saved.items()}
    for key, value in (processing_kwargs or {}).items():
        merged[key] = {**merged.get(key, {}), **value}
    return merged


def _tokenize(transformer: Any, prompts: list[str], media: list[dict[str, list]], processing_kwargs: dict | None):
    from omniembed.backbones import audio, video, vision

    processor, tokenizer = transformer.processor, transformer.tokenizer
    text_kwargs = {k: v for k, v in transformer.call_kwargs("text", processing_kwargs).items()
                   if k not in ("truncation", "max_length", "return_tensors")}  # truncation is ours (keeps the suffix)
    common = transformer.call_kwargs("common", processing_kwargs)
    bos = getattr(tokenizer, "bos_token", None)
    # A rendered template that already starts with BOS must not get a second one (what transformers does too).
    text_kwargs["add_special_tokens"] = not (bos and prompts and prompts[0].startswith(bos))
    has_media = any(v for m in media for v in m.values())
    if processor is tokenizer or getattr(processor, "tokenizer", None) is None:
        if has_media:
            raise UnsupportedModalityError(
                "This model's processor is a plain tokenizer: its chat messages can carry text only."
            )
        return dict(tokenizer(prompts, **text_kwargs, **common))
    for kind, part in (("image", "image_processor"), ("audio", "feature_extractor"), ("video", "video_processor")):
        if any(m[kind] for m in media) and getattr(processor, part, None) is None:
            raise UnsupportedModalityError(
                f"Modality '{kind}' is not supported in this model's chat messages: its processor has no {part}."
            )
    call: dict[str, Any] = {"text": prompts, "text_kwargs": text_kwargs}
    images = [m["image"] for m in media]
    if any(images):
        call["images"] = images  # one list per prompt, as transformers' own apply_chat_template passes them
        call["images_kwargs"] = vision.image_call_kwargs(transformer, processing_kwargs)
    clips = [c for m in media for c in m["audio"]]
    if clips:
        call["audio"] = [audio.as_array(c) for c in clips]
        call["audio_kwargs"] = {**audio.extractor_kwargs(transformer, processing_kwargs),
                                "sampling_rate": audio.common_rate(clips)}
    videos = [v for m in media for v in m["video"]]
    if videos:
        call["videos"] = [video.frame_list(v) for v in videos]
        call["videos_kwargs"] = {k: v for k, v in transformer.call_kwargs("video", processing_kwargs).items()
                                 if k != "return_tensors"}
    return dict(processor(**call, **common))


def _fixed_suffix(transformer: Any, fmt: str, add_generation_prompt: bool, processing_kwargs: dict | None) -> list[int]:
    """Token ids the template writes after the last message's content (e.g. ``<|im_end|>\\n``), found by rendering a
    probe conversation; kept when a long conversation is truncated, since last-token pooling reads them."""
    probe = to_messages(_MARKER, "text", fmt=fmt)
    text = render_prompts(transformer, [probe], add_generation_prompt=add_generation_prompt,
                          processing_kwargs=_merged(transformer, processing_kwargs))[0]
    if _MARKER not in text:
        return []
    suffix = text.split(_MARKER)[-1]
    return list(transformer.tokenizer(suffix, add_special_tokens=False)["input_ids"]) if suffix else []


def _truncate(features: dict[str, Any], max_length: int, suffix: list[int], tokenizer: Any) -> None:
    """Cut each row to ``max_length`` tokens, keeping the template suffix, and re-pad on the tokenizer's side."""
    ids, mask = features["input_ids"], features["attention_mask"]
    keep = max(1, max_length - len(suffix))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    left = getattr(tokenizer, "padding_side", "right") == "left"
    rows = []
    for row_ids, row_mask in zip(ids.tolist(), mask.tolist()):
        tokens = [t for t, m in zip(row_ids, row_mask) if m]
        if len(tokens) > max_length:
            tail = suffix if suffix and tokens[-len(suffix):] == suffix else []
            tokens = tokens[: (keep if tail else max_length)] + tail
        rows.append(tokens)
    width = max(len(r) for r in rows)
    new_ids = torch.full((len(rows), width), pad_id, dtype=ids.dtype)
    new_mask = torch.zeros((len(rows), width), dtype=mask.dtype)
    for i, tokens in enumerate(rows):
        span = slice(width - len(tokens), width) if left else slice(0, len(tokens))
        new_ids[i, span] = torch.tensor(tokens, dtype=ids.dtype)
        new_mask[i, span] = 1
    features["input_ids"], features["attention_mask"] = new_ids, new_mask
    for key in ("token_type_ids", "mm_token_type_ids"):
        if key in features and torch.is_tensor(features[key]) and features[key].shape != new_ids.shape:
            features.pop(key)
