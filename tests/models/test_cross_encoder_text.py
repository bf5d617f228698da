"""CrossEncoder on text pairs: sequence-classification (1 and 3 labels) and causal-LM rerankers, each checked
against a direct transformers computation; predict's return forms; rank."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from torch import nn

from omniembed import CrossEncoder
from omniembed.errors import ConfigError, UnsupportedInputError

PAIRS = [
    ("how many people live in berlin", "berlin is the capital of germany"),
    ("a photo of a cat", "a dog"),
    ("a photo of a dog", "how many people live in berlin and what do they do on a sunday afternoon"),
    ("x", "y"),
    ("query: a cat", "passage: a photo of a cat"),
]


@pytest.fixture(scope="module")
def bert(bert_ce_dir):
    return CrossEncoder(bert_ce_dir, device="cpu")


@pytest.fixture(scope="module")
def bert3(bert3_ce_dir):
    return CrossEncoder(bert3_ce_dir, device="cpu")


@pytest.fixture(scope="module")
def llama(llama_reranker_dir):
    return CrossEncoder(llama_reranker_dir, device="cpu")


def direct_seq_cls(folder: str, pairs) -> torch.Tensor:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    batch = tokenizer([p[0] for p in pairs], [p[1] for p in pairs], padding=True, truncation=True,
                      return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits.float()


def direct_causal(folder: str, pairs) -> torch.Tensor:
    """Template-rendered query/document messages, left padded, yes − no logits at the last position."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    prompts = [tokenizer.apply_chat_template([{"role": "query", "content": q}, {"role": "document", "content": d}],
                                             tokenize=False) for q, d in pairs]
    batch = tokenizer(prompts, padding=True, add_special_tokens=False, return_tensors="pt")
    yes, no = tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no")
    with torch.no_grad():
        last = model(**batch).logits[:, -1]
    return (last[:, yes] - last[:, no]).float()


# -- heads ---------------------------------------------------------------------------------------------------
def test_seq_cls_one_label_matches_transformers(bert, bert_ce_dir):
    assert [type(m).__name__ for m in bert] == ["Transformer"]
    assert bert.num_labels == 1 and isinstance(bert.activation_fn, nn.Sigmoid)
    expected = torch.sigmoid(direct_seq_cls(bert_ce_dir, PAIRS)[:, 0]).numpy()
    scores = bert.predict(PAIRS)
    assert scores.dtype == np.float32 and scores.shape == (len(PAIRS),)
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_seq_cls_three_labels_identity_and_softmax(bert3, bert3_ce_dir):
    assert bert3.num_labels == 3 and isinstance(bert3.activation_fn, nn.Identity)
    logits = direct_seq_cls(bert3_ce_dir, PAIRS)
    np.testing.assert_allclose(bert3.predict(PAIRS), logits.numpy(), atol=1e-5)
    soft = bert3.predict(PAIRS, apply_softmax=True)
    np.testing.assert_allclose(soft, torch.softmax(logits, dim=1).numpy(), atol=1e-5)
    np.testing.assert_allclose(soft.sum(1), 1.0, atol=1e-6)


def test_causal_reranker_matches_transformers(llama, llama_reranker_dir):
    assert [type(m).__name__ for m in llama] == ["Transformer", "LogitScore"]
    assert llama[0].transformer_task == "text-generation" and llama.tokenizer.padding_side == "left"
    assert llama.modalities == ["text", "message"] and llama.num_labels == 1
    expected = torch.sigmoid(direct_causal(llama_reranker_dir, PAIRS)).numpy()
    np.testing.assert_allclose(llama.predict(PAIRS), expected, atol=1e-5)
    np.testing.assert_allclose(llama.predict(PAIRS, batch_size=1), expected, atol=1e-5)


def test_causal_reranker_refuses_right_padding(llama_reranker_dir):
    model = CrossEncoder(llama_reranker_dir, device="cpu")
    model.tokenizer.padding_side = "right"
    with pytest.raises(ConfigError, match="left padding"):
        model.predict(PAIRS[:3])


def test_causal_without_yes_no_tokens_raises():
    from omniembed.models.cross_encoder_heads import yes_no_ids as _yes_no_ids

    class NoYesNo:  # a tokenizer that maps unknown tokens to its unk id, like most real ones
        unk_token, unk_token_id = "<unk>", 0

        def convert_tokens_to_ids(self, token):
            return 0

    with pytest.raises(ConfigError, match="does not have 'yes' and/or 'no' tokens"):
        _yes_no_ids(NoYesNo())


# -- predict's forms -------------------------------------------------------------------------------------------
def test_single_pair_returns_scalar(bert, bert3):
    one = bert.predict(PAIRS[0])
    assert isinstance(one, np.float32)
    assert one == pytest.approx(float(bert.predict(PAIRS)[0]), abs=1e-6)
    assert isinstance(bert.predict(list(PAIRS[1])), np.float32)  # a list of two strings is one pair too
    assert bert3.predict(PAIRS[0]).shape == (3,)
    assert isinstance(bert.predict(PAIRS[0], convert_to_tensor=True), torch.Tensor)


def test_return_types_and_empty_input(bert):
    tensor = bert.predict(PAIRS, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.shape == (len(PAIRS),) and tensor.dtype == torch.float32
    as_list = bert.predict(PAIRS, convert_to_numpy=False)
    assert isinstance(as_list, list) and len(as_list) == len(PAIRS) and torch.is_tensor(as_list[0])
    assert isinstance(bert.predict([]), np.ndarray) and bert.predict([]).size == 0
    assert bert.predict([], convert_to_tensor=True).numel() == 0
    assert bert.predict([], convert_to_numpy=False) == []


def test_batch_size_independence_and_order(bert, llama):
    for model in (bert, llama):
        full = model.predict(PAIRS, batch_size=32)
        for size in (1, 2, 3):
            np.testing.assert_allclose(model.predict(PAIRS, batch_size=size), full, atol=1e-6)
        reversed_scores = model.predict(PAIRS[::-1], batch_size=2)
        np.testing.assert_allclose(reversed_scores[::-1], full, atol=1e-6)


def test_numpy_string_array_inputs(bert):
    array = np.array(PAIRS)
    np.testing.assert_allclose(bert.predict(array), bert.predict(PAIRS), atol=1e-7)
    assert isinstance(bert.predict(array[0]), np.float32)


def test_activation_override_is_per_call(bert, bert_ce_dir):
    logits = direct_seq_cls(bert_ce_dir, PAIRS)[:, 0].numpy()
    np.testing.assert_allclose(bert.predict(PAIRS, activation_fn=nn.Identity()), logits, atol=1e-5)
    assert isinstance(bert.activation_fn, nn.Sigmoid)
    model = CrossEncoder(bert_ce_dir, device="cpu", activation_fn=nn.Identity())
    np.testing.assert_allclose(model.predict(PAIRS), logits, atol=1e-5)


def test_prompt_goes_on_the_query(bert, bert_ce_dir):
    prompted = [("query: " + q, d) for q, d in PAIRS]
    expected = torch.sigmoid(direct_seq_cls(bert_ce_dir, prompted)[:, 0]).numpy()
    np.testing.assert_allclose(bert.predict(PAIRS, prompt="query: "), expected, atol=1e-5)
    model = CrossEncoder(bert_ce_dir, device="cpu", prompts={"q": "query: "}, default_prompt_name="q")
    assert model.prompts == {"q": "query: "}
    np.testing.assert_allclose(model.predict(PAIRS), expected, atol=1e-5)
    assert CrossEncoder.default_prompts == {}


def test_unknown_kwargs_are_ignored_and_bad_inputs_raise(bert):
    np.testing.assert_allclose(bert.predict(PAIRS, not_a_real_option=1), bert.predict(PAIRS), atol=0)
    with pytest.raises(UnsupportedInputError, match=r"Item 1 .*\(query, document\) pair"):
        bert.predict([PAIRS[0], ("a", "b", "c")])
    with pytest.raises(ConfigError, match="batch_size must be a positive integer, got 0."):
        bert.predict(PAIRS, batch_size=0)


def test_max_length_truncates(bert_ce_dir):
    model = CrossEncoder(bert_ce_dir, device="cpu", max_length=8)
    assert model.max_seq_length == 8 and model.tokenizer.model_max_length == 8
    long_pairs = [(q + " " + q, d + " " + d) for q, d in PAIRS]
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(bert_ce_dir)
    hf = AutoModelForSequenceClassification.from_pretrained(bert_ce_dir).eval()
    batch = tokenizer([p[0] for p in long_pairs], [p[1] for p in long_pairs], padding=True, truncation=True,
                      max_length=8, return_tensors="pt")
    assert batch["input_ids"].shape[1] == 8
    with torch.no_grad():
        expected = torch.sigmoid(hf(**batch).logits[:, 0]).numpy()
    np.testing.assert_allclose(model.predict(long_pairs), expected, atol=1e-5)


def test_deprecated_arguments_still_work(bert_ce_dir, caplog):
    with caplog.at_level(logging.WARNING):
        model = CrossEncoder(bert_ce_dir, 1, 16, nn.Identity(), "cpu")
    assert "positional argument" in caplog.text
    assert model.max_seq_length == 16 and isinstance(model.activation_fn, nn.Identity)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        model = CrossEncoder(model_name=bert_ce_dir, device="cpu", automodel_args={}, tokenizer_args={},
                             config_args={}, default_activation_function=nn.Tanh())
    assert isinstance(model.activation_fn, nn.Tanh)
    for old in ("model_name", "automodel_args", "tokenizer_args", "config_args", "default_activation_function"):
        assert f"`{old}` argument was renamed" in caplog.text
    assert model.predict(sentences=PAIRS[:2], activation_fct=nn.Identity()).shape == (2,)


# -- rank ----------------------------------------------------------------------------------------------------------
def test_rank_orders_cuts_and_returns_documents(bert):
    query = "how many people live in berlin"
    documents = [d for _, d in PAIRS]
    scores = bert.predict([(query, d) for d in documents])
    ranked = bert.rank(query, documents)
    assert [r["corpus_id"] for r in ranked] == list(np.argsort(-scores, kind="stable"))
    assert all(type(r["score"]) is float for r in ranked)
    assert [r["score"] for r in ranked] == sorted((float(s) for s in scores), reverse=True)
    top = bert.rank(query, documents, top_k=2, return_documents=True)
    assert len(top) == 2 and [r["corpus_id"] for r in top] == [r["corpus_id"] for r in ranked[:2]]
    assert all(r["text"] == documents[r["corpus_id"]] for r in top)
    assert "text" not in ranked[0]


def test_rank_causal_and_multilabel(llama, bert3, caplog):
    documents = [d for _, d in PAIRS]
    ranked = llama.rank("a photo of a cat", documents)
    scores = llama.predict([("a photo of a cat", d) for d in documents])
    assert ranked[0]["corpus_id"] == int(np.argmax(scores))
    with pytest.raises(ValueError, match=r"CrossEncoder.rank\(\) only works for models with num_labels=1"):
        bert3.rank("a", ["b"])
    with caplog.at_level(logging.WARNING):
        assert len(llama.rank("a", ["b", "c"], apply_softmax=True, convert_to_tensor=True)) == 2
    assert "has no effect" in caplog.text
