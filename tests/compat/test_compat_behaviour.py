"""Issue 16's numbered behaviours, against what sentence-transformers 6.2 does on the same real model.

``fixtures/behaviour_expected.json`` is the reference's own record of ``support.behaviour_probe.record`` on
all-MiniLM-L6-v2 (written by ``benchmarks/compat_behaviour.py`` in the reference's virtualenv); each test runs the
same probe on omniembed and compares one entry, plus direct checks the probe cannot express.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import ConfigError, UnsupportedModalityError
from omniembed.inputs.detect import infer_modality
from omniembed.modules import LogitScore, Normalize, Pooling, Transformer

EXPECTED = json.loads((Path(__file__).parent / "fixtures" / "behaviour_expected.json").read_text())


@pytest.fixture(scope="module")
def probe(minilm_dir):
    from support.behaviour_probe import record

    return record("omniembed", minilm_dir)


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return SentenceTransformer(minilm_dir, device="cpu")


@pytest.mark.parametrize("key", [
    "sentences_keyword", "truncate_none", "truncate_tokens", "empty", "empty_tokens", "empty_quantize",
    "numpy_texts", "cross_encoder_no_head", "dtype_without_parameters", "router_forward_kwargs",
    "infer_image_on_text_model", "encode_image_on_text_model",
])
def test_compat_behaviour_matches_the_reference(probe, key):
    assert probe[key] == EXPECTED[key]


def test_compat_numbers_match_the_reference(probe):
    np.testing.assert_allclose(probe["truncate_none_values"], EXPECTED["truncate_none_values"], atol=2e-5)
    assert probe["numpy_pairs"]["shape"] == EXPECTED["numpy_pairs"]["shape"] == [2, 384]
    assert probe["numpy_pairs"]["vs_lists"] == EXPECTED["numpy_pairs"]["vs_lists"] == 0.0
    np.testing.assert_allclose(probe["numpy_pairs"]["row0"], EXPECTED["numpy_pairs"]["row0"], atol=2e-5)


# -- 1. sentences= ------------------------------------------------------------------------------------------------
def test_compat_sentences_keyword_warns_and_inputs_wins(minilm, caplog):
    with caplog.at_level(logging.WARNING):
        old = minilm.encode(sentences=["a cat"])
    assert "The `sentences` argument was renamed and is now deprecated. Please use `inputs` instead." in caplog.text
    np.testing.assert_array_equal(old, minilm.encode(["a cat"]))
    np.testing.assert_array_equal(minilm.encode(inputs=["a dog"], sentences=["a cat"]), minilm.encode(["a dog"]))
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'inputs'"):
        minilm.encode()


# -- 2. no classification head → one label --------------------------------------------------------------------
def test_compat_cross_encoder_on_a_bare_checkpoint_has_one_label(tiny_bert_dir, quiet_transformers):
    pairs = [("a cat", "a photo of a cat"), ("berlin", "germany"), ("a", "b")]
    bare = CrossEncoder(tiny_bert_dir, device="cpu")
    assert bare.num_labels == 1 and bare.predict(pairs).shape == (3,)
    assert bare.rank("a cat", ["a dog", "a cat"])[0]["corpus_id"] in (0, 1)  # rank needs num_labels == 1
    explicit = CrossEncoder(tiny_bert_dir, num_labels=2, device="cpu")  # an explicit count is kept
    assert explicit.num_labels == 2 and explicit.predict(pairs).shape == (3, 2)


# -- 3. truncate_dim everywhere ----------------------------------------------------------------------------------
def test_compat_truncate_dim_applies_to_the_features_of_output_value_none(minilm):
    full = minilm.encode(["a cat", "a dog"], convert_to_tensor=True)
    rows = minilm.encode(["a cat", "a dog"], output_value=None, truncate_dim=8)
    for row, vector in zip(rows, full):
        torch.testing.assert_close(row["sentence_embedding"], vector[:8])
        assert row["token_embeddings"].shape[-1] == 384  # as in the reference: token vectors keep their width
    with minilm.truncate_embeddings(16):
        assert minilm.encode("a cat", output_value=None)["sentence_embedding"].shape == (16,)


# -- 4. empty inputs --------------------------------------------------------------------------------------------
def test_compat_empty_encode_keeps_the_device_and_never_quantizes(minilm):
    empty = minilm.encode([], precision="binary", convert_to_tensor=True)
    assert empty.dtype == torch.float32 and empty.shape == (0,) and empty.device == minilm.device
    assert minilm.encode([], precision="int8").dtype == np.float64


# -- 5. numpy string arrays --------------------------------------------------------------------------------------
def test_compat_numpy_string_arrays_are_texts_and_text_pairs(minilm):
    pairs = np.array([["a cat sits", "on the mat"], ["berlin", "is the capital of germany"]])
    np.testing.assert_array_equal(minilm.encode(pairs), minilm.encode([("a cat sits", "on the mat"),
                                                                        ("berlin", "is the capital of germany")]))
    texts = np.array(["a cat", "a dog"])
    np.testing.assert_array_equal(minilm.encode(texts), minilm.encode(["a cat", "a dog"]))


# -- 6. encode and predict through nn.Module.__call__: model.compile() takes effect ------------------------------
def test_compat_model_compile_is_used_by_encode(tiny_bert_dir):
    compiled_graphs = []

    def counting_backend(graph, example_inputs):  # a torch.compile backend that runs the graph as traced
        compiled_graphs.append(graph)
        return graph.forward

    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    expected = model.encode(["a photo of a cat", "a dog"])
    model.compile(backend=counting_backend)
    try:
        np.testing.assert_allclose(model.encode(["a photo of a cat", "a dog"]), expected, atol=1e-6)
    finally:
        torch._dynamo.reset()
    assert compiled_graphs  # the forward pass went through the compiled __call__


# -- 7. dtype, Router route kwargs --------------------------------------------------------------------------------
def test_compat_dtype_follows_the_parameters(tiny_bert_dir):
    assert SentenceTransformer(modules=[Normalize()]).dtype is None
    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    assert model.dtype == torch.float32
    assert model.half().dtype == torch.float16


def test_compat_router_route_modules_receive_their_call_keywords(tiny_bert_dir):
    from omniembed.modules import Module, Router

    class Shift(Module):
        forward_kwargs = {"shift"}  # noqa: RUF012

        def forward(self, features, shift: float = 0.0, **kwargs):
            features["sentence_embedding"] = features["sentence_embedding"] + shift
            return features

    transformer = Transformer(tiny_bert_dir)
    router = Router({"query": [Shift()], "document": [Normalize()]}, default_route="document")
    model = SentenceTransformer(modules=[transformer, Pooling(32), router], device="cpu")
    assert model.get_model_kwargs() == ["modality", "shift", "task"]
    plain = model.encode_query(["a cat"])
    np.testing.assert_allclose(model.encode_query(["a cat"], shift=2.5), plain + 2.5, atol=1e-6)
    # the document route has no module that takes `shift`: it is accepted and has no effect there
    np.testing.assert_array_equal(model.encode_document(["a cat"], shift=2.5), model.encode_document(["a cat"]))
    with pytest.raises(ConfigError, match="does not use: \\['scale'\\]"):
        model.encode(["a cat"], scale=2.0)


# -- 8. infer_modality leaves the decision to the caller --------------------------------------------------------
def test_compat_infer_modality_reports_unsupported_media_and_encode_refuses_it(minilm):
    from PIL import Image

    image = Image.new("RGB", (4, 4))
    assert infer_modality(image, ["text"]) == "image"
    assert infer_modality({"image": image}, ["text"]) == "image"
    assert infer_modality("https://example.com/cat.jpg", ["text"]) == "text"  # strings stay forgiving
    with pytest.raises(UnsupportedModalityError, match="Modality 'image' is not supported"):
        infer_modality(image, ["text"], raise_unsupported=True)
    embeddings, failures = minilm.encode(["a cat", image], on_error="skip", return_failures=True)
    assert [f.index for f in failures] == [1] and np.isnan(embeddings[1]).all()


# -- CrossEncoder.preprocess runs predict's own steps --------------------------------------------------------------
def test_compat_cross_encoder_preprocess_with_image_pairs_is_what_predict_scores(model_dirs):
    from PIL import Image

    logits = {"method": "forward", "method_output_name": "logits"}
    transformer = Transformer(model_dirs["llava"], transformer_task="any-to-any", module_output_name="causal_logits",
                              modality_config={"text": logits, "image": logits,
                                               "message": {**logits, "format": "structured"}})
    tokenizer = transformer.tokenizer
    score = LogitScore(tokenizer.convert_tokens_to_ids("yes"), tokenizer.convert_tokens_to_ids("no"))
    model = CrossEncoder(modules=[transformer, score], device="cpu")
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    pairs = [("a photo of a cat", image), ("a dog", image)]
    features = model.preprocess(pairs)
    assert features["modality"] == "message" and features["input_ids"].shape[0] == 2
    with torch.inference_mode():
        scores = model(features)["scores"].squeeze(-1)
    np.testing.assert_allclose(model.activation_fn(scores).numpy(), model.predict(pairs, batch_size=2), atol=1e-5)
    with pytest.raises(UnsupportedModalityError) as info:
        CrossEncoder(model_dirs["bert"], device="cpu").preprocess([("a", "b"), ("a cat", image)])
    assert str(info.value).startswith("Item 1 (")
