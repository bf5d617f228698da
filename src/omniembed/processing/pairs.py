"""CrossEncoder inputs: one (query, document) pair of any modalities → a job → model features.

Every pair is classified once, up front, into one of three kinds (the batch loop groups and batches by kind):

* ``"text"``: two strings on a model without a chat template → the tokenizer's pair encoding
  (``[CLS] query [SEP] document [SEP]``), the prompt going on the query;
* ``"message"``: anything on a model that supports chat ``message`` inputs (text pairs too, as the reference
  does) → a ``query`` message and a ``document`` message rendered by the chat template
  (:func:`omniembed.families.chat.render_messages`); a whole conversation given as one input passes through;
* ``"pair"``: a first module with its own pair scorer (:class:`~omniembed.modules.generative_score.
  GenerativeScore`) → its ``preprocess_pairs``.

Each side's modality comes from :func:`omniembed.inputs.detect.infer_modality` with the model's modalities, so a
media path or URL on a text-only reranker is text (the reference's rule), while an explicit media input (a PIL
image, bytes, ``{"image": ...}``) raises :class:`~omniembed.errors.UnsupportedModalityError` naming the modality.
Media sides are decoded by :func:`omniembed.inputs.loader.load_item`, the same code ``encode`` uses.

Example:
    >>> from omniembed.processing.pairs import classify
    >>> kind, pair = classify(("a query", "https://example.com/cat.jpg"), ["text"])
    >>> kind, pair.modalities
    ('text', ('text', 'text'))
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from omniembed.errors import ConfigError, UnsupportedInputError, UnsupportedModalityError
from omniembed.families import chat
from omniembed.families.text import TokenRows
from omniembed.inputs.detect import infer_modality, is_conversation
from omniembed.modality import check_supported, modality_key
from omniembed.processing.batches import input_length

OWNER = "CrossEncoder model"
TEXT_PAIR, CHAT_PAIR, SCORER_PAIR = "text", "message", "pair"
CAUSAL_TASKS = ("text-generation", "any-to-any")


@dataclass(frozen=True)
class Pair:
    """One input: its sides (``(query, document)``, or ``(conversation,)``) and the modality of each."""

    sides: tuple[Any, ...]
    modalities: tuple[Any, ...]


def _unwrap_text(side: Any) -> Any:
    """``{"text": "x"}`` is the string ``"x"`` (so it can take the tokenizer's pair path)."""
    if isinstance(side, dict) and set(side) == {"text"} and isinstance(side["text"], str):
        return side["text"]
    return side


def classify(item: Any, supported: Sequence[Any], *, scorer: Any = None, message_format: str = "structured",
             ) -> tuple[str, Pair]:
    """The kind of one input and its sides' modalities; raises an :class:`~omniembed.errors.InputError`."""
    if is_conversation(item):
        check_supported("message", supported, owner=OWNER)
        return CHAT_PAIR, Pair((item,), ("message",))
    if not isinstance(item, (list, tuple)) or len(item) != 2:
        raise UnsupportedInputError(
            "Each CrossEncoder input must be a (query, document) pair: a list or tuple of two items, got "
            f"{type(item).__name__}" + (f" of length {len(item)}" if isinstance(item, (list, tuple)) else "") + ".",
            item=item,
        )
    sides = tuple(_unwrap_text(side) for side in item)
    modalities = tuple(infer_modality(side, supported, owner=OWNER) for side in sides)
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
            shown = ", ".join(modality_key(m) for m in modalities if m != "text")
            raise UnsupportedModalityError(
                f"This {OWNER}'s chat template takes plain-string message content ('flat' format), so a pair with "
                f"a {shown} side cannot be rendered. Supported in pairs: text.")
        return CHAT_PAIR, Pair(sides, modalities)
    if all_text:
        return TEXT_PAIR, Pair(sides, modalities)
    if modalities == ("text", "text"):
        raise UnsupportedInputError("A text side of a pair must be one string.", item=item)
    listed = ", ".join(modality_key(m) for m in supported)
    shown = ", ".join(modality_key(m) for m in modalities)
    raise UnsupportedModalityError(
        f"This {OWNER} cannot score a ({shown}) pair: a pair with a non-text side is rendered as 'query'/'document' "
        f"chat messages, and this model does not support chat-style 'message' inputs. Supported modalities: {listed}."
    )


def pair_length(pair: Pair) -> int:
    """Sort key: the sum of the sides' lengths (characters for text, pixels/samples for media), as the reference."""
    return sum(input_length(side) for side in pair.sides)


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
            for role, side, modality in zip(chat.PAIR_ROLES, pair.sides, pair.modalities)]


# ------------------------------------------------------------------------------------------- preprocessing
def preprocess(first: Any, kind: str, pairs: Sequence[Pair] | TokenRows, prompt: str | None,
               processing_kwargs: dict | None = None) -> dict[str, Any]:
    """One batch of decoded pairs of one kind → model-ready features for the model's ``first`` module (see the
    module docstring). Text pairs may arrive already tokenised (``TokenRows``)."""
    if kind == SCORER_PAIR:
        return first.preprocess_pairs([p.sides for p in pairs], [p.modalities for p in pairs], prompt=prompt,
                                      processing_kwargs=processing_kwargs)
    if kind == TEXT_PAIR:
        texts = pairs if isinstance(pairs, TokenRows) else [tuple(p.sides) for p in pairs]
        features = first.preprocess(texts, prompt, modality="text", processing_kwargs=processing_kwargs)
    else:
        conversations = [to_conversation(p) for p in pairs]
        if any(set(chat.PAIR_ROLES) <= {m.get("role") for m in c} for c in conversations):
            name = getattr(getattr(first, "config", None), "name_or_path", None) or "this model"
            chat.check_pair_roles(first.processor, first.processing_kwargs_for(processing_kwargs),
                                  first.message_format, name)
        features = first.render_messages(conversations, prompt=prompt, processing_kwargs=processing_kwargs)
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
    try:
        return name in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
