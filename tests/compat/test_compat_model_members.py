"""Members of SentenceTransformer, CrossEncoder and the Transformer module that reference scripts call, with the
reference's results (token ids and texts checked against sentence-transformers 6.2 on the same tiny BERT)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import ConfigError, ModelLoadError
from omniembed.models import Dense, Normalize, Pooling, Router, Transformer


@pytest.fixture(scope="module")
def bert_model(tiny_bert_dir) -> SentenceTransformer:
    return SentenceTransformer(tiny_bert_dir, device="cpu")


@pytest.fixture(scope="module")
def tiny_ce_dir(tmp_path_factory) -> str:
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("tiny_ce"), head="seq-cls"))


def test_compat_tokenize_is_preprocess_with_a_deprecation_warning(bert_model, tiny_bert_dir, caplog):
    texts = ["a photo of a cat", "a dog"]
    with caplog.at_level(logging.WARNING):
        features = bert_model.tokenize(texts)
    assert "The `tokenize` method is deprecated, please use `preprocess` instead." in caplog.text
    direct = AutoTokenizer.from_pretrained(tiny_bert_dir)(texts, padding=True, truncation="longest_first",
                                                          return_tensors="pt")
    assert torch.equal(features["input_ids"], direct["input_ids"])
    assert torch.equal(features["attention_mask"], direct["attention_mask"])
    assert features["modality"] == "text"
    assert bert_model.preprocess([]) == {}


def test_compat_get_max_seq_length_and_singular_input(bert_model):
    assert bert_model.get_max_seq_length() == bert_model.max_seq_length == 128
    assert bert_model.is_singular_input("a") and bert_model.is_singular_input({"text": "a"})
    assert bert_model.is_singular_input([{"role": "user", "content": "x"}])  # one conversation
    assert not bert_model.is_singular_input(["a"]) and not bert_model.is_singular_input(("a", "b"))
    assert not bert_model.is_singular_input(np.array(["a", "b"]))


def test_compat_supported_similarity_names():
    assert SentenceTransformer.SUPPORTED_SIMILARITY_FN_NAMES == ("cosine", "dot", "euclidean", "manhattan")


def test_compat_set_pooling_include_prompt_changes_the_first_pooling_and_the_embeddings(tiny_bert_dir):
    transformer = Transformer(tiny_bert_dir)
    two = SentenceTransformer(modules=[transformer, Pooling(32), Pooling(32)], device="cpu")
    two.set_pooling_include_prompt(False)
    assert two[1].include_prompt is False and two[2].include_prompt is True  # the reference: the first one only
    model = SentenceTransformer(modules=[transformer, Pooling(32)], device="cpu")
    with_prompt = model.encode("a cat", prompt="query: ")
    model.set_pooling_include_prompt(False)
    without = model.encode("a cat", prompt="query: ")
    assert not np.allclose(with_prompt, without)
    # dropping the prompt's 3 tokens ([CLS] query :) = pooling the text's own tokens after the prompt
    features = model.preprocess(["query: a cat"])
    tokens = model[0](dict(features))["token_embeddings"][0]
    np.testing.assert_allclose(without, tokens[3:].mean(dim=0).detach().numpy(), atol=1e-6)
    router = Router({"query": [Transformer(tiny_bert_dir), Pooling(32)]})
    routed = SentenceTransformer(modules=[router], device="cpu")
    routed.set_pooling_include_prompt(False)  # no top-level Pooling: nothing changes, no error
    assert router.sub_modules["query"][1].include_prompt is True


def test_compat_save_safe_serialization_false_writes_pickles_that_load_back(tiny_bert_dir, tmp_path):
    torch.manual_seed(0)
    model = SentenceTransformer(modules=[Transformer(tiny_bert_dir), Pooling(32), Dense(32, 8), Normalize()],
                                device="cpu")
    model.save(str(tmp_path / "pickled"), safe_serialization=False)
    assert (tmp_path / "pickled" / "2_Dense" / "pytorch_model.bin").is_file()
    assert not (tmp_path / "pickled" / "2_Dense" / "model.safetensors").exists()
    model.save(str(tmp_path / "safe"))
    assert (tmp_path / "safe" / "2_Dense" / "model.safetensors").is_file()
    with pytest.raises(ModelLoadError, match="allow_pickle=True"):  # pickle-only folders are opt-in (docs §17)
        SentenceTransformer(str(tmp_path / "pickled"), device="cpu")
    reloaded = SentenceTransformer(str(tmp_path / "pickled"), device="cpu", allow_pickle=True)
    np.testing.assert_array_equal(reloaded.encode(["a cat"]), model.encode(["a cat"]))


def test_compat_cross_encoder_preprocess_is_the_pair_encoding(tiny_ce_dir):
    model = CrossEncoder(tiny_ce_dir, device="cpu")
    pairs = [("a photo", "a dog"), ("berlin", "germany")]
    features = model.preprocess(pairs)
    direct = AutoTokenizer.from_pretrained(tiny_ce_dir)(["a photo", "berlin"], ["a dog", "germany"], padding=True,
                                                        truncation="longest_first", return_tensors="pt")
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        assert torch.equal(features[key], direct[key]), key
    assert model.preprocess([]) == {}
    scores = model.forward(dict(features))["scores"]
    np.testing.assert_allclose(torch.sigmoid(scores).squeeze(-1).detach().numpy(), model.predict(pairs), atol=1e-6)
    assert model.get_max_seq_length() == 128 and model.is_singular_input(("a", "b"))
    assert torch.equal(model.tokenize([("a", "b")])["input_ids"], model.preprocess([("a", "b")])["input_ids"])


# -- the Transformer module ---------------------------------------------------------------------------------
def test_compat_transformer_model_attribute(tiny_bert_dir):
    module = Transformer(tiny_bert_dir)
    assert type(module.model).__name__ == "BertModel" and module.auto_model is module.model
    assert [name for name, _ in module.named_children()] == ["model"]
    assert next(iter(module.state_dict())).startswith("model.")  # the reference's state-dict keys
    replacement = type(module.model)(module.model.config)
    module.auto_model = replacement  # the old name still assigns the one wrapped model
    assert module.model is replacement and [name for name, _ in module.named_children()] == ["model"]


def test_compat_transformer_dimension_max_length_and_config(tiny_bert_dir, caplog):
    module = Transformer(tiny_bert_dir)
    assert module.get_embedding_dimension() == 32
    assert module.max_seq_length == module.tokenizer.model_max_length == 128
    module.max_seq_length = 17
    assert module.tokenizer.model_max_length == 17
    assert module.preprocess(["a " * 40])["input_ids"].shape[1] == 17
    assert Transformer(tiny_bert_dir, max_seq_length=11).tokenizer.model_max_length == 11
    assert Transformer.load_config(tiny_bert_dir) == {
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
        "module_output_name": "token_embeddings",
    }
    with caplog.at_level(logging.WARNING):
        unpadded = Transformer(tiny_bert_dir, unpad_inputs=True)
    assert "unpad_inputs=True was set, but the prerequisites for skipping padding are not met" in caplog.text
    assert unpadded.get_config_dict()["unpad_inputs"] is True and "unpad_inputs" not in module.get_config_dict()


def test_compat_transformer_load_config_reads_the_saved_file(tiny_bert_dir, tmp_path):
    model = SentenceTransformer(modules=[Transformer(tiny_bert_dir, processing_kwargs={"text": {"padding": True}}),
                                         Pooling(32)], device="cpu")
    model.save(str(tmp_path / "saved"))
    config = Transformer.load_config(str(tmp_path / "saved"))
    assert config["processing_kwargs"] == {"text": {"padding": True}}
    assert config["transformer_task"] == "feature-extraction"
    assert Pooling.load_config(str(tmp_path / "saved"), subfolder="1_Pooling") == {
        "embedding_dimension": 32, "include_prompt": True, "pooling_mode": "mean"}


@pytest.mark.parametrize("entry", [{"method": "forward"}, {"method_output_name": "last_hidden_state"}, "forward"])
def test_compat_invalid_modality_config_entry_is_a_value_error(tiny_bert_dir, entry):
    with pytest.raises(ValueError, match=r"Invalid modality_config entry for 'text': each entry must be a dict "
                                         r"with 'method' and 'method_output_name' keys"):
        Transformer(tiny_bert_dir, modality_config={"text": entry}, module_output_name="token_embeddings")


def test_compat_deprecated_transformer_arguments_are_renamed(tiny_bert_dir, caplog):
    with caplog.at_level(logging.WARNING):
        module = Transformer(tiny_bert_dir, tokenizer_args={"model_max_length": 20},
                             config_args={"hidden_dropout_prob": 0.3}, model_args={})
    for old, new in (("model_args", "model_kwargs"), ("tokenizer_args", "processor_kwargs"),
                     ("config_args", "config_kwargs")):
        assert (f"The Transformer `{old}` argument was renamed and is now deprecated, please use `{new}` instead."
                in caplog.text)
    assert module.tokenizer.model_max_length == 20 and module.model.config.hidden_dropout_prob == 0.3


def test_compat_model_constructor_warnings(tiny_bert_dir, caplog):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SentenceTransformer(tiny_bert_dir, use_auth_token=False, device="cpu")
    assert any(w.category is FutureWarning and "`use_auth_token` argument is deprecated" in str(w.message)
               for w in caught)
    with pytest.raises(ConfigError, match="Both `token` and `use_auth_token`"):
        SentenceTransformer(tiny_bert_dir, use_auth_token="a", token="b", device="cpu")
    with caplog.at_level(logging.WARNING):
        model = SentenceTransformer(tiny_bert_dir, modules=[Normalize()], device="cpu")
    assert "Both `model_name_or_path` and `modules` were provided." in caplog.text
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling"]


def test_compat_weighted_layer_pooling_reads_the_hidden_states(tiny_bert_dir):
    from omniembed.models import WeightedLayerPooling

    transformer = Transformer(tiny_bert_dir, config_kwargs={"output_hidden_states": True})
    features = transformer(transformer.preprocess(["a photo of a cat"]))
    layers = features["all_layer_embeddings"]
    assert len(layers) == 3  # embeddings + 2 layers
    pool = WeightedLayerPooling(32, num_hidden_layers=2, layer_start=1)
    with torch.no_grad():
        pool.layer_weights.copy_(torch.tensor([3.0, 1.0]))
    out = pool(dict(features))["token_embeddings"]
    torch.testing.assert_close(out, (3 * layers[1] + layers[2]) / 4)
    assert Path(tiny_bert_dir).is_dir()
