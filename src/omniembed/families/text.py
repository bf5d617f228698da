"""Text → token tensors: prompts, pairs, truncation and the prompt length that Pooling may exclude.

Example:
    >>> from omniembed.backbones.text import apply_prompt
    >>> apply_prompt(["a cat", ("q", "d")], "query: ")
    ['query: a cat', ('query: q', 'd')]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TextItem = str | tuple[str, str]


def apply_prompt(texts: Sequence[TextItem], prompt: str | None) -> list[TextItem]:
    """Prepend the prompt to each text; for a pair, to its first element (the query side)."""
    if not prompt:
        return list(texts)
    return [(prompt + t[0], t[1]) if isinstance(t, (tuple, list)) else prompt + t for t in texts]


def tokenize(
    tokenizer: Any,
    texts: Sequence[TextItem],
    *,
    max_length: int | None,
    do_lower_case: bool = False,
    call_kwargs: dict | None = None,
) -> dict:
    """Tokenise single texts or (a, b) pairs into padded tensors."""
    kwargs = {"padding": True, "truncation": "longest_first", "return_tensors": "pt", **(call_kwargs or {})}
    if max_length is not None and kwargs.get("truncation"):
        kwargs.setdefault("max_length", max_length)
    items = [tuple(t) if isinstance(t, list) else t for t in texts]
    if do_lower_case:
        items = [tuple(p.lower() for p in t) if isinstance(t, tuple) else t.lower() for t in items]
    if items and all(isinstance(t, tuple) for t in items):
        firsts, seconds = zip(*[(str(a).strip(), str(b).strip()) for a, b in items])
        return dict(tokenizer(list(firsts), list(seconds), **kwargs))
    if any(isinstance(t, tuple) for t in items):
        # A batch that mixes single texts and pairs: each single text becomes (text, "") would change its
        # tokens, so encode the pairs' parts joined by the tokenizer's own pair template per item instead.
        raise ValueError("A text batch cannot mix single texts and (text, text) pairs.")
    return dict(tokenizer([str(t).strip() for t in items], **kwargs))


def prompt_token_count(tokenizer: Any, prompt: str) -> int:
    """Tokens a prompt occupies at the start of a sequence: BOS/CLS counted, a trailing EOS/SEP not."""
    ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    if ids and ids[-1] in special and len(ids) > 1:
        ids = ids[:-1]
    return len(ids)
