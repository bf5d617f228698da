"""A call's token ids, unpadded, as flat arrays: transformers' tokenizer call, without the work its results skip.

:func:`omniembed.families.text.tokenize_unpadded` needs the ids of every text of a call (and their token types).
A fast tokenizer's ``__call__`` asks its Rust backend for ``encode_batch``, which also tracks each token's
character offsets, and then builds a dict of Python lists per text. Here the first texts go through that call
(which also sets the backend's truncation as the options say), and the rest through the backend's
``encode_batch_fast``, which skips the offsets (17–24% of a BERT tokenizer's time on this CPU) and is read
straight into arrays, in slices. The shortcut is only taken when it gives the first texts' ids exactly as the
tokenizer call did; otherwise every slice goes through the tokenizer call.

Slices, because transformers' lists are a few Python objects per text: a slice's die before the garbage collector
promotes them to its oldest generation, a whole call's would not, and each collection of that generation walks
every object torch and transformers hold (~0.15 s here).

Example:
    >>> from transformers import AutoTokenizer
    >>> tokenizer = AutoTokenizer.from_pretrained(minilm_folder)
    >>> lengths, flat = token_ids(tokenizer, (["a cat", "a photo of a dog"],), {"truncation": True})
    >>> lengths.tolist(), sorted(flat)
    ([4, 7], ['attention_mask', 'input_ids', 'token_type_ids'])
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np

SLICE = 256  # texts per tokenizer (or backend) call
CHECKED = 16  # texts tokenised by the tokenizer call, against which the backend shortcut is checked
# The check re-encodes the CHECKED texts, and the shortcut saves ~20% on each later text: below this many later
# texts it would cost more than it saves (a server request of a few texts), so they go through the tokenizer call.
SHORTCUT_FROM = 8 * CHECKED
_ENCODING_FIELDS = {"input_ids": "ids", "token_type_ids": "type_ids", "special_tokens_mask": "special_tokens_mask"}


def token_ids(tokenizer: Any, args: tuple[list[str], ...], options: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """``(lengths, {key: flat int64 array})`` of ``tokenizer(*args, padding=False, **options)``: the same ids,
    token types and masks, one flat array per key, rows concatenated."""
    count = len(args[0])
    head = _arrays(dict(tokenizer(*(a[:CHECKED] for a in args), padding=False, **options)))
    shortcut = _backend_shortcut(tokenizer, args, options, head) if count - CHECKED >= SHORTCUT_FROM else None
    encode = shortcut or _tokenizer_call(tokenizer, args, options)
    parts = [head, *(encode(start, min(start + SLICE, count)) for start in range(min(CHECKED, count), count, SLICE))]
    lengths = np.concatenate([p[0] for p in parts])
    return lengths, {key: np.concatenate([p[1][key] for p in parts]) for key in parts[0][1]}


def _arrays(columns: dict[str, list[list[int]]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    lengths = np.fromiter(map(len, columns["input_ids"]), np.int64, count=len(columns["input_ids"]))
    total = int(lengths.sum())
    return lengths, {k: np.fromiter(chain.from_iterable(v), np.int64, count=total) for k, v in columns.items()}


def _tokenizer_call(tokenizer: Any, args: tuple[list[str], ...], options: dict[str, Any]) -> Callable:
    return lambda start, stop: _arrays(dict(tokenizer(*(a[start:stop] for a in args), padding=False, **options)))


def _stock_call(tokenizer: Any) -> bool:
    """Whether the tokenizer call hands the texts to its backend as they are: transformers' own ``__call__`` and
    ``_encode_plus`` (some tokenizer classes rewrite texts in Python first, which only the check on the first texts
    would otherwise catch, and only if those texts needed it)."""
    try:
        from transformers.tokenization_utils_base import PreTrainedTokenizerBase
        from transformers.tokenization_utils_tokenizers import TokenizersBackend
    except ImportError:  # another transformers layout: no shortcut
        return False
    cls = type(tokenizer)
    return (isinstance(tokenizer, TokenizersBackend) and cls.__call__ is PreTrainedTokenizerBase.__call__
            and cls._encode_plus is TokenizersBackend._encode_plus)


def _backend_shortcut(tokenizer: Any, args: tuple[list[str], ...], options: dict[str, Any],
                      head: tuple[np.ndarray, dict[str, np.ndarray]]) -> Callable | None:
    """The backend encoder for the remaining slices, or None when it would not give what the tokenizer call gave:
    no ``encode_batch_fast`` (tokenizers < 0.21), keys it cannot fill, untruncated texts (the call's too-long
    warning is then the tokenizer's to give), a tokenizer class with its own call, or different ids on the checked
    texts."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    fast = getattr(backend, "encode_batch_fast", None)
    keys = list(head[1])
    if (fast is None or not options.get("truncation") or not set(keys) <= {*_ENCODING_FIELDS, "attention_mask"}
            or not _stock_call(tokenizer)):
        return None
    add_special = options.get("add_special_tokens", True)
    # What the tokenizer call set on the backend; put back before each slice, should another call on the same
    # tokenizer (another thread, other options) have changed it meanwhile.
    truncation, split_special = backend.truncation, getattr(backend, "encode_special_tokens", None)
    if truncation is None:
        return None

    def encode(start: int, stop: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        if backend.truncation != truncation or backend.padding is not None:
            backend.enable_truncation(**truncation)
            backend.no_padding()
        if split_special is not None and backend.encode_special_tokens != split_special:
            backend.encode_special_tokens = split_special
        batch = list(zip(*(a[start:stop] for a in args))) if len(args) == 2 else args[0][start:stop]
        encodings = fast(batch, add_special_tokens=add_special)
        lengths = np.fromiter(map(len, encodings), np.int64, count=len(encodings))
        flat = {}
        for key in keys:  # unpadded, so every attention_mask entry is 1
            flat[key] = (np.ones(int(lengths.sum()), np.int64) if key == "attention_mask" else
                         np.fromiter(chain.from_iterable(getattr(e, _ENCODING_FIELDS[key]) for e in encodings),
                                     np.int64, count=int(lengths.sum())))
        return lengths, flat

    checked = encode(0, min(CHECKED, len(args[0])))
    same = np.array_equal(checked[0], head[0]) and all(np.array_equal(checked[1][k], head[1][k]) for k in keys)
    return encode if same else None
