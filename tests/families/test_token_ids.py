"""A call's token ids: the backend shortcut gives exactly the tokenizer call's ids, and is left when it would not."""

from __future__ import annotations

import random

import numpy as np
import pytest
from transformers import AutoTokenizer

from omniembed.families import token_ids as module
from omniembed.families.token_ids import token_ids

WORDS = ["the", "cat", "sat", "on", "a", "mat", "berlin", "is", "capital", "germany", "photo", "of", "dog", "ünïcode",
         "[SEP]", "running", "quickly"]


def texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 40))) for _ in range(n)]


N = module.CHECKED + 2 * module.SLICE + 37  # the checked head, two full slices and a partial one
SINGLES = (texts(N, 0),)
PAIRS = (texts(N, 1), texts(N, 2))


@pytest.fixture(scope="module")
def tokenizer(minilm_dir):
    return AutoTokenizer.from_pretrained(minilm_dir)


def direct(tokenizer, args, options):
    encoded = tokenizer(*args, padding=False, **options)
    lengths = [len(ids) for ids in encoded["input_ids"]]
    return lengths, {key: np.concatenate([np.asarray(r, np.int64) for r in rows]) for key, rows in encoded.items()}


def assert_same(got, expected):
    lengths, flat = got
    assert lengths.tolist() == expected[0]
    assert sorted(flat) == sorted(expected[1])
    for key, values in expected[1].items():
        assert np.array_equal(flat[key], values), key


class SpyBackend:
    """The tokenizer's Rust backend, with ``encode_batch_fast`` counted (or its ids corrupted)."""

    def __init__(self, backend, corrupt: bool = False):
        self._backend, self.corrupt, self.calls = backend, corrupt, 0

    def encode_batch_fast(self, batch, **kwargs):
        self.calls += 1
        encodings = self._backend.encode_batch_fast(batch, **kwargs)
        if self.corrupt:
            return self._backend.encode_batch_fast([("x" + b[0], b[1]) if isinstance(b, tuple) else "x" + b
                                                    for b in batch], **kwargs)
        return encodings

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def __setattr__(self, name, value):
        if name in ("_backend", "corrupt", "calls"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._backend, name, value)


@pytest.fixture()
def spy(tokenizer, monkeypatch):
    def install(corrupt: bool = False) -> SpyBackend:
        backend = SpyBackend(tokenizer.backend_tokenizer, corrupt)
        monkeypatch.setattr(type(tokenizer), "backend_tokenizer", property(lambda self: backend))
        return backend

    return install


@pytest.mark.parametrize("args", [SINGLES, PAIRS], ids=["singles", "pairs"])
@pytest.mark.parametrize(
    "options",
    [{"truncation": "longest_first", "max_length": 256}, {"truncation": "longest_first", "max_length": 12},
     {"truncation": True, "add_special_tokens": False},
     {"truncation": True, "return_token_type_ids": False}, {"truncation": True, "return_special_tokens_mask": True}],
    ids=["default", "truncating", "no-special-tokens", "no-token-types", "special-tokens-mask"],
)
def test_the_backend_shortcut_gives_the_tokenizer_calls_ids(tokenizer, spy, args, options):
    backend = spy()
    got = token_ids(tokenizer, args, options)
    assert backend.calls == 1 + 3  # the check on the head, then three slices
    assert_same(got, direct(tokenizer, args, options))


def test_only_second_truncation(tokenizer, spy):
    args, options = ([t[:12] for t in PAIRS[0]], PAIRS[1]), {"truncation": "only_second", "max_length": 24}
    backend = spy()
    got = token_ids(tokenizer, args, options)
    assert backend.calls == 4
    assert_same(got, direct(tokenizer, args, options))


def test_without_truncation_the_tokenizer_call_does_it_all(tokenizer, spy):
    backend = spy()
    got = token_ids(tokenizer, SINGLES, {"truncation": False})
    assert backend.calls == 0
    assert_same(got, direct(tokenizer, SINGLES, {"truncation": False}))


def test_a_shortcut_that_disagrees_on_the_checked_texts_is_not_taken(tokenizer, spy):
    backend = spy(corrupt=True)
    got = token_ids(tokenizer, PAIRS, {"truncation": True, "max_length": 20})
    assert backend.calls == 1  # the check only
    assert_same(got, direct(tokenizer, PAIRS, {"truncation": True, "max_length": 20}))


def test_another_calls_truncation_is_undone_before_each_slice(tokenizer, spy, monkeypatch):
    backend = spy()
    original = SpyBackend.encode_batch_fast

    def meddling(self, batch, **kwargs):  # another thread tokenises with other options between two slices
        result = original(self, batch, **kwargs)
        tokenizer(["x"], truncation=True, max_length=3, padding="max_length")
        return result

    monkeypatch.setattr(SpyBackend, "encode_batch_fast", meddling)
    options = {"truncation": True, "max_length": 20}
    got = token_ids(tokenizer, SINGLES, options)
    assert backend.calls == 4
    assert_same(got, direct(tokenizer, SINGLES, options))


def test_fewer_texts_than_the_checked_head(tokenizer):
    args = (["a cat", "berlin is the capital of germany"],)
    assert_same(token_ids(tokenizer, args, {"truncation": True}), direct(tokenizer, args, {"truncation": True}))


def test_a_tokenizer_class_with_its_own_encoding_step_is_never_shortcut(tokenizer, spy, monkeypatch):
    """Some tokenizer classes rewrite the texts in Python before the backend sees them (here: every text gets a
    suffix), possibly only for some inputs: the check on the first texts cannot be relied on, so no shortcut."""
    real = type(tokenizer)._encode_plus

    def own_encode_plus(self, text, text_pair=None, **kwargs):
        return real(self, [t + " suffix" for t in text], text_pair, **kwargs)

    monkeypatch.setattr(type(tokenizer), "_encode_plus", own_encode_plus)
    backend = spy()
    got = token_ids(tokenizer, SINGLES, {"truncation": True})
    assert backend.calls == 0
    assert_same(got, direct(tokenizer, SINGLES, {"truncation": True}))


def test_a_small_call_is_not_worth_the_check(tokenizer, spy):
    args = (texts(module.CHECKED + module.SHORTCUT_FROM - 1, 3),)
    backend = spy()
    got = token_ids(tokenizer, args, {"truncation": True})
    assert backend.calls == 0  # neither the check nor a slice
    assert_same(got, direct(tokenizer, args, {"truncation": True}))
