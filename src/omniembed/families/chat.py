"""Chat messages → model tensors, for VLM embedders (LLaVA-like, Qwen-VL-Embedding-like) and chat-template rerankers.

Three entry points:

* :func:`to_messages` turns one decoded item into a conversation: a text, an image, an audio clip, a video or a
  ``{"text": ..., "image": ...}`` dict becomes **one user message** whose content items follow the dict's key
  order; a ``(str, str)`` pair becomes a ``query`` message and a ``document`` message; a conversation passes
  through (normalised to the template's format).
* :func:`render_messages` renders a batch of conversations with the chat template and runs the processor on the
  rendered text plus the media found in the content items, in order (the CrossEncoder calls it with
  ``[{"role": "query", ...}, {"role": "document", ...}]`` conversations; ``Transformer.render_messages`` is the
  module-level form);
* :func:`check_pair_roles` refuses a template that drops the ``query`` or the ``document`` message.

Message formats (reference §6): ``structured`` content is a list of ``{"type": "text", "text": ...}`` /
``{"type": "image", "image": ...}`` items; ``flat`` content is a plain string (media cannot be expressed). A prompt
becomes a system message in front of the conversation.

Why the template is rendered to text first and the processor called by us (not ``apply_chat_template(
tokenize=True)``): transformers would then load the media itself (URLs, paths, torchvision video decoding). Here
every media item is already decoded by :mod:`omniembed.inputs`, and family helpers never open files or URLs.

Example:
    >>> from omniembed.families.chat import to_messages
    >>> to_messages({"text": "a cat", "image": "IMG"}, ("image", "text"))
    [{'role': 'user', 'content': [{'type': 'text', 'text': 'a cat'}, {'type': 'image', 'image': 'IMG'}]}]
    >>> to_messages("a cat", "text", fmt="flat", prompt="Represent this:")
    [{'role': 'system', 'content': 'Represent this:'}, {'role': 'user', 'content': 'a cat'}]
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import torch

from omniembed.errors import ConfigError, UnsupportedInputError, UnsupportedModalityError
from omniembed.families.processing_kwargs import ProcessingKwargs

__all__ = ["check_pair_roles", "collect_media", "render_messages", "render_prompts", "to_messages"]

Conversation = list[dict[str, Any]]
_MEDIA_TYPES = ("image", "audio", "video")
_MARKER = "\u2063omniembed-suffix-probe\u2063"  # an invisible separator no template produces by itself


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


def _tokenizer_of(processor: Any) -> Any:
    return getattr(processor, "tokenizer", None) or processor


def render_prompts(
    processor: Any, conversations: Sequence[Conversation], kwargs: ProcessingKwargs, *,
    add_generation_prompt: bool = False,
) -> list[str]:
    """The chat template applied to each conversation, as text (nothing tokenised, no media touched)."""
    owner = processor if getattr(processor, "chat_template", None) else _tokenizer_of(processor)
    if not getattr(owner, "chat_template", None):
        raise ConfigError(
            "This model has no chat template, so it cannot encode chat messages. Set one with "
            "processor_kwargs={'chat_template': ...}."
        )
    options = {"add_generation_prompt": add_generation_prompt, **kwargs.section("chat_template")}
    rendered = owner.apply_chat_template([list(c) for c in conversations], tokenize=False, **options)
    return [rendered] if isinstance(rendered, str) else list(rendered)


def render_messages(
    processor: Any,
    conversations: Sequence[Conversation],
    kwargs: ProcessingKwargs,
    *,
    fmt: str = "structured",
    max_length: int | None = None,
    prompt: str | None = None,
    add_generation_prompt: bool = False,
) -> dict[str, Any]:
    """Render conversations with the chat template and prepare them for the model.

    ``conversations`` are lists of message dicts (any roles, ``query``/``document`` included) whose media content
    items are decoded (PIL images, ``AudioClip``, ``VideoClip``). ``fmt`` is the template's message format,
    ``prompt`` is prepended as a system message, and text-only rows longer than ``max_length`` tokens are cut,
    keeping the template's fixed suffix. Returns the processor's tensors (``input_ids``, ``attention_mask``,
    ``pixel_values``…) with ``modality="message"``. ``Transformer.render_messages`` calls it with the module's
    processor, format and length.
    """
    conversations = [to_messages(c, "message", fmt=fmt, prompt=prompt) for c in conversations]
    prompts = render_prompts(processor, conversations, kwargs, add_generation_prompt=add_generation_prompt)
    media = [collect_media(c) for c in conversations]
    features = _tokenize(processor, prompts, media, kwargs)
    has_media = any(v for m in media for v in m.values())
    if max_length and not has_media and features["input_ids"].shape[1] > max_length:
        suffix = _fixed_suffix(processor, fmt, add_generation_prompt, kwargs)
        _truncate(features, max_length, suffix, _tokenizer_of(processor))
    features["modality"] = "message"
    return features


def _tokenize(processor: Any, prompts: list[str], media: list[dict[str, list]], kwargs: ProcessingKwargs):
    from omniembed.families import audio, video, vision

    tokenizer = _tokenizer_of(processor)
    text_kwargs = {k: v for k, v in kwargs.for_modality("text").items()
                   if k not in ("truncation", "max_length", "return_tensors")}  # truncation is ours (keeps the suffix)
    common = kwargs.common()
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
        call["images_kwargs"] = vision.image_kwargs(vision.image_processor_of(processor), kwargs)
    clips = [c for m in media for c in m["audio"]]
    if clips:
        call["audio"] = [audio.as_array(c) for c in clips]
        call["audio_kwargs"] = {**audio.extractor_kwargs(kwargs), "sampling_rate": audio.common_rate(clips)}
    videos = [v for m in media for v in m["video"]]
    if videos:
        call["videos"] = [video.frame_list(v) for v in videos]
        call["videos_kwargs"] = {k: v for k, v in kwargs.for_modality("video").items() if k != "return_tensors"}
    return dict(processor(**call, **common))


def _fixed_suffix(processor: Any, fmt: str, add_generation_prompt: bool, kwargs: ProcessingKwargs) -> list[int]:
    """Token ids the template writes after the last message's content (e.g. ``<|im_end|>\\n``), found by rendering a
    probe conversation; kept when a long conversation is truncated, since last-token pooling reads them."""
    probe = to_messages(_MARKER, "text", fmt=fmt)
    text = render_prompts(processor, [probe], kwargs, add_generation_prompt=add_generation_prompt)[0]
    if _MARKER not in text:
        return []
    suffix = text.split(_MARKER)[-1]
    return list(_tokenizer_of(processor)(suffix, add_special_tokens=False)["input_ids"]) if suffix else []


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


# ------------------------------------------------------------------------------------ query/document pairs
PAIR_ROLES = ("query", "document")
# A baseline pair, then one probe per role that changes only that role's content (the reference's probes).
_PAIR_ROLE_PROBES = (("alpha", "bravo"), ("charlie", "bravo"), ("alpha", "foxtrot"))
# apply_chat_template kwargs that size or tokenise the output; they never change the rendered text.
_SIZING_KWARGS = {"max_length", "truncation", "padding", "return_tensors", "return_dict", "tokenize", "restore_suffix",
                  "padding_side", "pad_to_multiple_of", "return_attention_mask"}
# Verdicts per processor and (template, options): the probe renders three conversations, once per processor.
_PAIR_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pair_roles_failure(processor: Any, kwargs: ProcessingKwargs, fmt: str) -> str | None:
    """Why the chat template cannot carry a query/document pair (None when it can), by rendering probe pairs.

    Rendering, not reading the template source: templates may pass roles through without naming them (ChatML),
    so only a render that does not move with its input proves the content goes nowhere."""
    template = getattr(processor, "chat_template", None) or getattr(_tokenizer_of(processor), "chat_template", None)
    if not template:
        return "the model has no chat template"
    options = {k: v for k, v in kwargs.section("chat_template").items() if k not in _SIZING_KWARGS}
    key = (str(template), repr(sorted(options.items(), key=lambda kv: kv[0])))
    cached = _PAIR_PROBES.get(processor)
    if cached is not None and cached[0] == key:
        return cached[1]
    probe_kwargs = ProcessingKwargs({**kwargs.sections, "chat_template": options})
    conversations = [to_messages(probe, "text", fmt=fmt) for probe in _PAIR_ROLE_PROBES]
    try:
        base, *varied = render_prompts(processor, conversations, probe_kwargs)
    except Exception as exc:  # noqa: BLE001 - any template error (Jinja, TypeError…) is the verdict itself
        failure: str | None = f"it raised {type(exc).__name__}: {exc}"
    else:
        dropped = [role for role, render in zip(PAIR_ROLES, varied) if render == base]
        failure = f"the {' and '.join(repr(r) for r in dropped)} content does not reach the rendered prompt" \
            if dropped else None
    _PAIR_PROBES[processor] = (key, failure)
    return failure


def check_pair_roles(processor: Any, kwargs: ProcessingKwargs, fmt: str, name: str) -> None:
    """Raise the reference's ValueError (a :class:`~omniembed.errors.ConfigError`) when the chat template drops the
    query or the document; ``name`` is the model's name for the message."""
    failure = pair_roles_failure(processor, kwargs, fmt)
    if failure is None:
        return
    if fmt == "structured":
        example = ('    <Query>: {{ (messages | selectattr("role", "eq", "query") | first).content[0].text }}\n'
                   '    <Document>: {{ (messages | selectattr("role", "eq", "document") | first).content[0].text }}\n')
    else:
        example = ('    <Query>: {{ messages | selectattr("role", "eq", "query") | map(attribute="content") | first }}\n'
                   '    <Document>: {{ messages | selectattr("role", "eq", "document") | map(attribute="content") | '
                   'first }}\n')
    raise ConfigError(
        f"The chat template of {name} cannot carry a 'query'/'document' pair ({failure}). Pair inputs are mapped to "
        "one message per role, so set a chat template that renders both roles, e.g.:\n"
        f"{example}"
        'via `processor_kwargs={"chat_template": ...}` when loading, `model.processor.chat_template = ...` '
        "afterwards, or a `chat_template.jinja` file alongside the model."
    )
