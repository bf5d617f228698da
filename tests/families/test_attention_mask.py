"""The broadcast padding mask: every listed encoder family gives the same bits as with transformers' own 4-D mask,
and models it does not apply to keep their 2-D mask."""

from __future__ import annotations

import pytest
import torch
from support.tiny_encoders import batch, tiny

from omniembed.families.attention_mask import FAMILIES, applies_to, padding_only_mask, with_padding_only_mask
from omniembed.modules import Transformer


@pytest.mark.parametrize("model_type", sorted(FAMILIES))
def test_every_family_gives_the_same_bits_as_transformers_own_mask(model_type):
    model, inputs = tiny(model_type), batch()
    assert applies_to(model)
    ours = with_padding_only_mask(model, inputs)
    assert ours["attention_mask"].shape == (5, 1, 1, 12) and inputs["attention_mask"].ndim == 2  # caller's kept
    with torch.inference_mode():
        expected = model(**inputs).last_hidden_state
        got = model(**ours).last_hidden_state
    assert torch.equal(got, expected)


def test_a_batch_without_padding_keeps_its_mask():
    model, inputs = tiny("bert"), batch([6, 6])
    assert padding_only_mask(inputs["attention_mask"]) is None
    assert with_padding_only_mask(model, inputs) is inputs


@pytest.mark.parametrize(
    "model",
    [pytest.param(lambda: tiny("bert", attn="eager"), id="eager-attention"),
     pytest.param(lambda: tiny("bert", is_decoder=True), id="decoder"),
     pytest.param(lambda: tiny("llama"), id="causal-family")],
)
def test_other_models_keep_transformers_mask(model):
    model, inputs = model(), batch()
    assert not applies_to(model)
    assert with_padding_only_mask(model, inputs) is inputs


def test_the_transformer_module_runs_the_backbone_with_it_and_equals_a_direct_call(tiny_bert_dir):
    module = Transformer(tiny_bert_dir)
    texts = ["a photo of a cat sitting on the old red mat", "a dog", "berlin", "the city by the river at night"]
    features = module.preprocess(texts)
    assert int(features["attention_mask"].sum()) < features["attention_mask"].numel()  # the batch is padded
    direct = {k: features[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    seen = []
    original = module.auto_model.forward

    def spy(**kwargs):
        seen.append(kwargs["attention_mask"].shape)
        return original(**kwargs)

    module.auto_model.forward = spy
    try:
        with torch.inference_mode():
            got = module(dict(features))["token_embeddings"]
    finally:
        module.auto_model.forward = original
    with torch.inference_mode():
        expected = module.auto_model(**direct).last_hidden_state
    assert seen == [(4, 1, 1, features["input_ids"].shape[1])]
    assert torch.equal(got, expected)
