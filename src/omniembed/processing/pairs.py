"""CrossEncoder inputs: one (query, document) pair of any modalities → a job → model features.

Every pair is classified once, up front, into one of three kinds (the batch loop groups and batches by kind):

* ``"text"``: two strings on a model without a chat template → the tokenizer's pair encoding
  (``[CLS] query [SEP] document [SEP]``), the prompt going on the query;
* ``"message"``: anything on a model that supports chat ``message`` inputs (text pairs too, as the reference
  does) → a ``query`` message and a ``document`` message rendered by :func:`omniembed.backbones.chat.
  render_messages`; a whole conversation given as one input passes through;
* ``"pair"``: a first module with its own pair scorer (:class:`~omniembed.modules.generative_score.
  GenerativeScore`) → its ``preprocess_pairs``.

Each side's modality comes from :func:`omniembed.inputs.detect.infer_modality` with the model's modalities, so a
media path or URL on a text-only reranker is text (the reference's rule), while an explicit media input (a PIL
image, bytes, ``{"image": ...}``) raises :class:`~omniembed.errors.UnsupportedModalityError` naming the modality.
Media sides are decoded by :func:`omniembed.inputs.loader.load_item`, the same code ``encode`` uses.

Example:
    >>> from omniembed.models.pairs import classify
    >>> kind, pair = classify(("a query", "https://example.com/cat.jpg"), ["text"])
    >>> kind, pair.modalities
    ('text', ('text', 'text'))
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import torch

from omniembed.errors import ConfigError, InputError, UnsupportedInputError, UnsupportedModalityError
from omniembed.inputs import detect

OWNER = "CrossEncoder model"
TEXT_PAIR, CHAT_PAIR, SCORER_PAIR = "text", "message", "pair"
PAIR_ROLES = ("query", "document")
# A baseline pair, then one probe per role that changes only that role's content (the reference's probes).
PAIR_ROLE_PROBES = (("alpha", "bravo"), ("charlie", "bravo"), ("alpha", "foxtrot"))
CAUSAL_TASKS = ("text-generation", "any-to-any")
# apply_chat_template kwargs that size or tokenise the output; they never change the rendered text.
_SIZING_KWARGS = {"max_length", "truncation", "padding", "return_tensors", "return_dict", "tokenize", "restore_suffix",
                  "padding_side", "pad_to_multiple_of", "return_attention_mask"}


@dataclass(frozen=True)
class Pair:
    """One input: its sides (``(query, document)``, or ``(conversation,)``) and the modality of each."""

    sides: tuple[Any, ...]
    modalities: tuple[Any, ...]

    @property
    def needs_loading(self) -> bool:
        return any(m != "text" for m in self.modalities)


def _is_conversation(item: Any) -> bool:
    return detect.is_message_dict(item) or (isinstance(item, list) and bool(item) and detect.is_message_dict(item[0]))


def _unwrap_text(side: Any) -> Any:
    """``{"text": "x"}`` is the string ``"x"`` (so it can take the tokenizer's pair path)."""
    if isinstance(side, dict) and set(side) == {"text"} and isinstance(side["text"], str):
        return side["text"]
    return side


def classify(item: Any, supported: Sequence[Any], *, scorer: Any = None, message_format: str = "structured",
             ) -> tuple[str, Pair]:
    """The kind of one input and its sides' modalities; raises an :class:`~omniembed.errors.InputError`."""
    if _is_conversation(item):
        detect.check_modality_supported("message", supported, owner=OWNER)
        return CHAT_PAIR, Pair((item,), ("message",))
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        raise UnsupportedInputError(
            "Each CrossEncoder input must be a (query, document) pair: a list or tuple of two items, got "
            f"{type(item).__name__}" + (f" of length {len(item)}" if isinstance(item, (list, tuple)) else "") + ".",
            item=item,
        )
    sides = tuple(_unwrap_text(side) for side in item)
    modalities = tuple(detect.infer_modality(side, supported, owner=OWNER) for side in sides)
    if "message" in modalities:
        raise UnsupportedInputError(
            "A chat conversation cannot be one side of a (query, document) pair; pass the whole conversation as "
            "one input instead.", item=item)
    if scorer is not None:
        scorer.check_pair(modalities)
        return SCORER_PAIR, Pair(sides, modalities)
    all_text = modalities == ("text", "text") and all(isinstance(s, str) for s in sides)
    if "message" in supported:
        if message_format == "flat" and not all_text:
            shown = ", ".join(detect.format_modality(m) for m in modalities if m != "text")
            raise UnsupportedModalityError(
                f"This {OWNER}'s chat template takes plain-string message content ('flat' format), so a pair with "
                f"a {shown} side cannot be rendered. Supported in pairs: text.")
        return CHAT_PAIR, Pair(sides, modalities)
    if all_text:
        return TEXT_PAIR, Pair(sides, modalities)
    if modalities == ("text", "text"):
        raise UnsupportedInputError("A text side of a pair must be one string.", item=item)
    listed = ", ".join(detect.format_modality(m) for m in supported)
    shown = ", ".join(detect.format_modality(m) for m in modalities)
    raise UnsupportedModalityError(
        f"This {OWNER} cannot score a ({shown}) pair: a pair with a non-text side is rendered as 'query'/'document' "
        f"chat messages, and this model does not support chat-style 'message' inputs. Supported modalities: {listed}."
    )


def pair_length(pair: Pair) -> int:
    """Sort key: the sum of the sides' lengths (characters for text, pixels/samples for media), as the reference."""
    from omniembed.processing.pipeline import input_length

    return sum(input_length(side) for side in pair.sides)


def make_loader(model: Any, media: Any) -> Callable[[Any], Pair]:
    """The per-job loader (runs in the prefetch threads): decodes every media side with ``inputs.load_item``.

    A side object that appears in several pairs (``rank(image, documents)`` repeats the query in every pair) is
    decoded once per call and shared: no repeated downloads, and a lazily-opened PIL image is never read by two
    threads at once."""
    first = model[0]
    hints = first.media_hints() if hasattr(first, "media_hints") else {}
    shared: dict[tuple[int, Any], Future] = {}
    lock = threading.Lock()

    def decode(side: Any, modality: Any) -> Any:
        from omniembed.inputs.loader import load_item  # Pillow/PyAV only when media are actually loaded

        if isinstance(side, dict) and isinstance(modality, str) and set(side) == {modality}:
            # {"image": x} and {"image": [x, y]}: decode as a one-key combined input (lists allowed)
            return load_item(side, (modality,), options=media, **hints)
        return load_item(side, modality, options=media, **hints)

    def decode_once(side: Any, modality: Any) -> Any:
        key = (id(side), detect.format_modality(modality))  # the caller's list keeps `side` alive meanwhile
        with lock:
            future, owner = shared.get(key), False
            if future is None:
                future, owner = Future(), True
                shared[key] = future
        if owner:
            try:
                future.set_result(decode(side, modality))
            except BaseException as exc:
                future.set_exception(exc)
                raise
            return future.result()
        try:
            return future.result()
        except InputError as exc:  # each pair reports its own index: never mutate the shared error
            fresh = copy.copy(exc)
            fresh.index = None
            fresh.args = (fresh.reason,)
            raise fresh from None

    def load(job: Any) -> Pair:
        pair: Pair = job.item
        decoded = [side if modality == "text" else decode_once(side, modality)
                   for side, modality in zip(pair.sides, pair.modalities)]
        return Pair(tuple(decoded), pair.modalities)

    return load


# ---------------------------------------------------------------------------------------------- messages
def _content(value: Any, modality: Any) -> list[dict[str, Any]]:
    """Structured content items for one decoded side; a combined dict gives its items in its key order."""
    if isinstance(value, dict):  # decoded combined input: {modality: value or list of values}
        items: list[dict[str, Any]] = []
        for key, part in value.items():
            for one in part if isinstance(part, (list, tuple)) else [part]:
                items.extend(_content(one, key))
        return items
    if modality == "text":
        return [{"type": "text", "text": value}]
    return [{"type": modality, modality: value}]


def to_conversation(pair: Pair) -> list[dict[str, Any]]:
    """A decoded pair → ``[{"role": "query", ...}, {"role": "document", ...}]`` (structured content items;
    ``render_messages`` flattens them for flat templates)."""
    if pair.modalities == ("message",):
        conversation = pair.sides[0]
        return [conversation] if isinstance(conversation, dict) else list(conversation)
    return [{"role": role, "content": _content(side, modality)}
            for role, side, modality in zip(PAIR_ROLES, pair.sides, pair.modalities)]


def pair_roles_failure(transformer: Any, processing_kwargs: dict | None) -> str | None:
    """Why the chat template cannot carry a query/document pair (None when it can), by rendering probe pairs.

    Rendering, not reading the template source: templates may pass roles through without naming them (ChatML),
    so only a render that does not move with its input proves the content goes nowhere. Cached per template."""
    from omniembed.backbones import chat

    template = getattr(transformer.processor, "chat_template", None) or getattr(transformer.tokenizer,
                                                                                 "chat_template", None)
    if not template:
        return "the model has no chat template"
    merged = chat._merged(transformer, processing_kwargs)
    merged["chat_template"] = {k: v for k, v in merged.get("chat_template", {}).items() if k not in _SIZING_KWARGS}
    key = (str(template), repr(sorted(merged["chat_template"].items(), key=lambda kv: kv[0])))
    cached = getattr(transformer, "_omniembed_pair_probe", None)
    if cached is not None and cached[0] == key:
        return cached[1]
    conversations = [to_conversation(Pair(probe, ("text", "text"))) for probe in PAIR_ROLE_PROBES]
    fmt = chat.conversation_format(transformer)
    conversations = [chat.to_messages(c, "message", fmt=fmt) for c in conversations]
    try:
        base, *varied = chat.render_prompts(transformer, conversations, processing_kwargs=merged)
    except Exception as exc:  # noqa: BLE001 - any template error (Jinja, TypeError…) is the verdict itself
        failure: str | None = f"it raised {type(exc).__name__}: {exc}"
    else:
        dropped = [role for role, render in zip(PAIR_ROLES, varied) if render == base]
        failure = f"the {' and '.join(repr(r) for r in dropped)} content does not reach the rendered prompt" \
            if dropped else None
    object.__setattr__(transformer, "_omniembed_pair_probe", (key, failure))
    return failure


def check_pair_roles(transformer: Any, processing_kwargs: dict | None) -> None:
    """Raise the reference's ValueError when the chat template drops the query or the document."""
    failure = pair_roles_failure(transformer, processing_kwargs)
    if failure is None:
        return
    from omniembed.backbones import chat

    name = getattr(getattr(transformer, "config", None), "name_or_path", None) or "this model"
    if chat.conversation_format(transformer) == "structured":
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


# ------------------------------------------------------------------------------------------- preprocessing
def preprocess(model: Any, kind: str, pairs: list[Pair], prompt: str | None,
               processing_kwargs: dict | None = None) -> dict[str, Any]:
    """One batch of decoded pairs of one kind → model-ready features (see the module docstring)."""
    first = model[0]
    if kind == SCORER_PAIR:
        return first.preprocess_pairs([p.sides for p in pairs], [p.modalities for p in pairs], prompt=prompt,
                                      processing_kwargs=processing_kwargs)
    if kind == TEXT_PAIR:
        features = first.preprocess([tuple(p.sides) for p in pairs], prompt, modality="text",
                                    processing_kwargs=processing_kwargs)
    else:
        from omniembed.backbones.chat import render_messages

        conversations = [to_conversation(p) for p in pairs]
        if any(set(PAIR_ROLES) <= {m.get("role") for m in c} for c in conversations):
            check_pair_roles(first, processing_kwargs)
        features = render_messages(first, conversations, prompt=prompt, processing_kwargs=processing_kwargs)
        features["modality"] = "message"
    if getattr(first, "transformer_task", None) in CAUSAL_TASKS:
        _prepare_causal(first, features)
    return features


def _prepare_causal(transformer: Any, features: dict[str, Any]) -> None:
    """Causal scorers read the last position: it must hold a real token, and only its logits are needed."""
    mask = features.get("attention_mask")
    if torch.is_tensor(mask) and mask.dim() == 2 and not bool(mask[:, -1].all()):
        raise ConfigError(
            "At least one sample ends in a padding token, but causal models require left padding, as the score is "
            "read from the final position. Set `model.tokenizer.padding_side = \"left\"` (omniembed sets it on load, "
            "so it was changed afterwards)."
        )
    if _accepts(transformer.auto_model, "logits_to_keep"):
        # (B, L, V) logits for a 150k vocabulary would cost gigabytes; an index tensor keeps the last position.
        features["logits_to_keep"] = torch.tensor([-1])


def _accepts(model: Any, name: str) -> bool:
    import inspect

    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
