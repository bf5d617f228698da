"""Text → token tensors: prompts, pairs, truncation, the prompt length Pooling may exclude, and tokenising once.

``encode`` and ``predict`` sort texts by token count (less padding per batch). Counting tokens means tokenising,
so the texts of a call are tokenised **once**, unpadded (:func:`tokenize_unpadded` → :class:`TokenizedTexts`),
and each batch is then padded from those ids (:meth:`TokenizedTexts.collate`), giving exactly the tensors a
padded tokenizer call on the batch would. Calls the padder cannot reproduce (a slow tokenizer, unusual options)
tokenise per batch with :func:`tokenize` instead.

Example:
    >>> from omniembed.families.text import apply_prompt
    >>> apply_prompt(["a cat", ("q", "d")], "query: ")
    ['query: a cat', ('query: q', 'd')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from omniembed.errors import UnsupportedInputError
from omniembed.families.token_ids import token_ids

TextItem = str | tuple[str, str]

# Options the padder reproduces; any other makes the caller fall back to tokenising per batch.
_PADDER_OPTIONS = frozenset({"padding", "truncation", "max_length", "return_tensors", "pad_to_multiple_of",
                             "return_token_type_ids", "return_attention_mask", "add_special_tokens", "padding_side"})
_PADDING_ONLY = ("padding", "return_tensors", "pad_to_multiple_of", "padding_side")


def apply_prompt(texts: Sequence[TextItem], prompt: str | None) -> list[TextItem]:
    """Prepend the prompt to each text; for a pair, to its first element (the query side)."""
    if not prompt:
        return list(texts)
    return [(prompt + t[0], t[1]) if isinstance(t, (tuple, list)) else prompt + t for t in texts]


def _tokenizer_args(texts: Sequence[TextItem], do_lower_case: bool) -> tuple[list[str], ...]:
    """The positional arguments of the tokenizer call: ``(texts,)`` or ``(firsts, seconds)`` for pairs."""
    items = [tuple(t) if isinstance(t, list) else t for t in texts]
    if do_lower_case:
        items = [tuple(p.lower() for p in t) if isinstance(t, tuple) else t.lower() for t in items]
    if items and all(isinstance(t, tuple) for t in items):
        firsts, seconds = zip(*[(str(a).strip(), str(b).strip()) for a, b in items])
        return list(firsts), list(seconds)
    if any(isinstance(t, tuple) for t in items):
        # Each single text as (text, "") would change its tokens; the caller must not mix the two forms.
        raise UnsupportedInputError("A text batch cannot mix single texts and (text, text) pairs.")
    return ([str(t).strip() for t in items],)


def _with_max_length(options: dict[str, Any], max_length: int | None) -> dict[str, Any]:
    options = {"padding": True, "truncation": "longest_first", "return_tensors": "pt", **options}
    if max_length is not None and options.get("truncation"):
        options.setdefault("max_length", max_length)
    return options


def tokenize(tokenizer: Any, texts: Sequence[TextItem], *, max_length: int | None, do_lower_case: bool = False,
             options: dict | None = None) -> dict:
    """Tokenise single texts or (a, b) pairs of one batch into padded tensors (``options``: the text section)."""
    return dict(tokenizer(*_tokenizer_args(texts, do_lower_case), **_with_max_length(options or {}, max_length)))


def tokenize_unpadded(tokenizer: Any, texts: Sequence[TextItem], *, max_length: int | None,
                      do_lower_case: bool = False, options: dict | None = None) -> TokenizedTexts | None:
    """Tokenise every text of a call once, without padding; None when :meth:`TokenizedTexts.collate` could not
    reproduce the padded call (slow tokenizer, no pad token, options it does not know)."""
    options = _with_max_length(options or {}, max_length)
    padding, pad_to = options["padding"], None
    if padding == "max_length":
        pad_to = options.get("max_length")
    elif padding not in (True, "longest"):
        return None
    usable = (getattr(tokenizer, "is_fast", False) and set(options) <= _PADDER_OPTIONS and texts
              and options.get("return_tensors") == "pt" and tokenizer.pad_token_id is not None
              and (padding != "max_length" or pad_to is not None))
    if not usable:
        return None
    args = _tokenizer_args(texts, do_lower_case)
    call_options = {k: v for k, v in options.items() if k not in _PADDING_ONLY}
    pad_values = {"input_ids": tokenizer.pad_token_id, "attention_mask": 0,
                  "token_type_ids": getattr(tokenizer, "pad_token_type_id", 0), "special_tokens_mask": 1}
    lengths, flat = token_ids(tokenizer, args, call_options)
    if not set(flat) <= set(pad_values):
        return None
    return TokenizedTexts.from_arrays(
        flat, lengths, {k: pad_values[k] for k in flat},
        left=options.get("padding_side", getattr(tokenizer, "padding_side", "right")) == "left",
        pad_to=pad_to, multiple=options.get("pad_to_multiple_of"),
    )


@dataclass(frozen=True)
class TokenizedTexts:
    """The unpadded token ids of a call's texts, one flat array per key (``input_ids``, ``attention_mask``…)."""

    flat: dict[str, np.ndarray]
    lengths: np.ndarray  # tokens per text
    offsets: np.ndarray  # start of each text in the flat arrays
    pad_values: dict[str, int]
    left: bool = False
    pad_to: int | None = None  # padding="max_length"
    multiple: int | None = None  # pad_to_multiple_of

    @classmethod
    def from_arrays(cls, flat: dict[str, np.ndarray], lengths: np.ndarray, pad_values: dict[str, int],
                    **padding: Any) -> TokenizedTexts:
        offsets = np.zeros(len(lengths), np.int64)
        np.cumsum(lengths[:-1], out=offsets[1:])
        return cls(flat, lengths, offsets, pad_values, **padding)

    def collate(self, rows: Sequence[int]) -> dict[str, torch.Tensor]:
        """The padded tensors of the texts at ``rows``, as the tokenizer pads a batch (side, target length,
        ``pad_to_multiple_of``, pad value per key)."""
        rows = np.asarray(rows, np.int64)
        lengths = self.lengths[rows]
        width = self.pad_to if self.pad_to is not None else int(lengths.max(initial=0))
        if self.multiple and width % self.multiple:
            width = (width // self.multiple + 1) * self.multiple
        columns = np.arange(width)[None, :]
        shift = (width - lengths)[:, None] if self.left else np.zeros((len(rows), 1), np.int64)
        inside = (columns >= shift) & (columns < shift + lengths[:, None])
        source = np.where(inside, self.offsets[rows][:, None] + columns - shift, 0)
        return {key: torch.from_numpy(np.where(inside, flat[source] if flat.size else 0, self.pad_values[key]))
                for key, flat in self.flat.items()}


@dataclass(frozen=True)
class TokenRows:
    """One batch of a call's texts, already tokenised: what ``Transformer.preprocess`` pads instead of tokenising."""

    tokens: TokenizedTexts
    rows: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.rows)

    def collate(self) -> dict[str, torch.Tensor]:
        return self.tokens.collate(self.rows)


def prompt_token_count(tokenizer: Any, prompt: str) -> int:
    """Tokens a prompt occupies at the start of a sequence: BOS/CLS counted, a trailing EOS/SEP not."""
    ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    if ids and ids[-1] in special and len(ids) > 1:
        ids = ids[:-1]
    return len(ids)
