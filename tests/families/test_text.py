"""Text preparation: prompts, and tokenising a call's texts once (padding per batch equals a padded tokenizer call)."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from omniembed.errors import UnsupportedInputError
from omniembed.families.text import apply_prompt, tokenize, tokenize_unpadded

TEXTS = ["a photo of a cat", "how many people live in berlin today", "a dog", "  berlin is the capital  ", "hi"]
PAIRS = [("a cat", "a photo of a cat on a mat"), ("berlin", "berlin is the capital of germany"), ("a", "b")]


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir):
    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def assert_same(ours: dict, direct: dict) -> None:
    assert set(ours) == set(direct)
    for key, value in direct.items():
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0)


@pytest.mark.parametrize(
    "options",
    [{}, {"padding_side": "left"}, {"pad_to_multiple_of": 8}, {"padding": "max_length", "max_length": 24},
     {"return_token_type_ids": False}, {"max_length": 5}, {"truncation": False}],
    ids=["default", "left", "multiple-of-8", "max-length", "no-token-types", "truncated", "no-truncation"],
)
@pytest.mark.parametrize("rows", [[1, 3, 0], [4], [2, 4]])
def test_collate_equals_the_padded_call(tokenizer, options, rows):
    tokens = tokenize_unpadded(tokenizer, TEXTS, max_length=128, options=options)
    direct = tokenize(tokenizer, [TEXTS[i] for i in rows], max_length=128, options=options)
    assert tokens is not None
    assert_same(tokens.collate(rows), direct)


@pytest.mark.parametrize("max_length", [128, 6])
def test_collate_equals_the_padded_call_for_pairs_and_lower_case(tokenizer, max_length):
    upper = [(q.upper(), d) for q, d in PAIRS]
    tokens = tokenize_unpadded(tokenizer, apply_prompt(upper, "query: "), max_length=max_length, do_lower_case=True)
    direct = tokenize(tokenizer, apply_prompt([upper[2], upper[0]], "query: "), max_length=max_length,
                      do_lower_case=True)
    assert_same(tokens.collate([2, 0]), direct)
    assert tokens.lengths.tolist() == [int(n) for n in tokenize(
        tokenizer, apply_prompt(upper, "query: "), max_length=max_length, do_lower_case=True)["attention_mask"].sum(1)]


def test_calls_the_padder_cannot_reproduce_fall_back(tokenizer):
    assert tokenize_unpadded(tokenizer, TEXTS, max_length=128, options={"stride": 2}) is None
    assert tokenize_unpadded(tokenizer, TEXTS, max_length=128, options={"padding": False}) is None
    assert tokenize_unpadded(tokenizer, TEXTS, max_length=None, options={"padding": "max_length"}) is None
    assert tokenize_unpadded(tokenizer, TEXTS, max_length=128, options={"return_tensors": "np"}) is None
    assert tokenize_unpadded(tokenizer, [], max_length=128) is None

    class Slow:
        is_fast = False

    assert tokenize_unpadded(Slow(), TEXTS, max_length=128) is None


def test_single_texts_and_pairs_do_not_mix(tokenizer):
    with pytest.raises(UnsupportedInputError, match="cannot mix single texts and"):
        tokenize(tokenizer, ["a", ("b", "c")], max_length=16)
