"""The reference's module API for user code: ``Module`` / ``InputModule`` base classes with its helper methods,
custom modules saved and loaded by class path, the word tokenizers and the new modules' own behaviour."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omniembed.models.tokenizer import ENGLISH_STOP_WORDS, WhitespaceTokenizer
from support.custom_modules import CharCounts, OldStyleShift, Scale

from omniembed import SentenceTransformer
from omniembed.errors import ConfigError, MissingDependencyError, ModelLoadError, RemoteCodeError
from omniembed.models import CNN, LSTM, BoW, InputModule, LayerNorm, Module, Pooling, StaticEmbedding, WordEmbeddings

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


def test_compat_custom_modules_save_and_load_by_class_path(tmp_path):
    scale = Scale(4)
    with torch.no_grad():
        scale.weight.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    model = SentenceTransformer(modules=[CharCounts(), scale, OldStyleShift(0.5)], device="cpu")
    expected = np.array([[3 * 1 + 0.5, 0 * 2 + 0.5, 1 * 3 + 0.5, 1 * 4 + 0.5]], dtype=np.float32)  # "banana oi"
    np.testing.assert_array_equal(model.encode(["banana oi"]), expected)
    np.testing.assert_array_equal(model.encode(["nana oi"], prompt="ba"), expected)  # the prompt is prepended
    assert model.get_embedding_dimension() == 4
    model.save(str(tmp_path / "custom"))
    entries = json.loads((tmp_path / "custom" / "modules.json").read_text())
    assert [e["type"] for e in entries] == ["support.custom_modules.CharCounts", "support.custom_modules.Scale",
                                            "support.custom_modules.OldStyleShift"]
    assert entries[0]["path"] == ""  # an InputModule first is saved in the root, as in the reference
    with pytest.raises(RemoteCodeError, match="trust_remote_code=True"):
        SentenceTransformer(str(tmp_path / "custom"), device="cpu")
    loaded = SentenceTransformer(str(tmp_path / "custom"), device="cpu", trust_remote_code=True)
    np.testing.assert_array_equal(loaded.encode(["banana oi"]), expected)


def test_compat_module_helpers(tmp_path):
    scale = Scale(3)
    scale.save(str(tmp_path / "scale"), safe_serialization=False)
    assert sorted(p.name for p in (tmp_path / "scale").iterdir()) == ["config.json", "pytorch_model.bin"]
    assert Scale.load_config(str(tmp_path), subfolder="scale") == {"dimension": 3}
    assert Scale.load_config(str(tmp_path), subfolder="missing") == {}
    state = Scale.load_torch_weights(str(tmp_path / "scale"), allow_pickle=True)
    assert torch.equal(state["weight"], torch.ones(3))
    assert Module.load_file_path(str(tmp_path), "config.json", subfolder="scale") == str(tmp_path / "scale" /
                                                                                          "config.json")
    assert Module.load_file_path(str(tmp_path), "nothing.json") is None
    assert Module.load_dir_path(str(tmp_path), "scale") == str(tmp_path / "scale")
    assert Module.load_dir_path(str(tmp_path), "nothing") is None
    for bad in ("../x", "/etc"):
        with pytest.raises(ConfigError, match="expected a relative path without '..' components"):
            Module.load_file_path(str(tmp_path), "config.json", subfolder=bad)
    with pytest.raises(ModelLoadError, match="No weights found"):
        Scale.load_torch_weights(str(tmp_path), subfolder="missing")


def test_compat_config_key_renames_read_old_names(tmp_path):
    (tmp_path / "cnn_config.json").write_text(json.dumps({"in_word_embedding_dimension": 6, "out_channels": 4,
                                                          "kernel_sizes": [1, 3], "stride_sizes": [1, 1]}))
    torch.manual_seed(0)
    CNN(6, 4, [1, 3]).save_torch_weights(str(tmp_path))
    assert CNN.load(str(tmp_path)).in_embedding_dimension == 6
    (tmp_path / "lstm_config.json").write_text(json.dumps({"word_embedding_dimension": 6, "hidden_dim": 5}))
    assert LSTM.load_config(str(tmp_path)) == {"embedding_dimension": 6, "hidden_dim": 5}


def test_compat_input_module_contract(caplog):
    class Neither(InputModule):
        def forward(self, features, **kwargs):
            return features

    with pytest.raises(NotImplementedError, match="Neither must implement the `preprocess` method"):
        Neither().preprocess(["a"])

    class OnlyTokenize(InputModule):
        def tokenize(self, texts, **kwargs):
            return {"texts": texts}

        def forward(self, features, **kwargs):
            return features

    with caplog.at_level(logging.WARNING):
        assert OnlyTokenize().preprocess(["ab"], prompt="q: ") == {"texts": ["q: ab"]}
    assert "overrides `tokenize` instead of `preprocess`" in caplog.text
    assert CharCounts().tokenize(["aa"])["counts"].tolist() == [[2.0, 0.0, 0.0, 0.0]]
    assert CharCounts().modalities == ["text"] and CharCounts.save_in_root


def test_compat_dimension_names_are_interchangeable():
    assert CharCounts().get_sentence_embedding_dimension() == 4  # defines get_embedding_dimension only
    assert Pooling(8, ("mean", "max")).get_embedding_dimension() == 16
    assert LayerNorm(5).get_sentence_embedding_dimension() == 5
    assert OldStyleShift(1.0) is not None and Module().get_embedding_dimension() is None


def test_compat_whitespace_tokenizer():
    tokenizer = WhitespaceTokenizer(["berlin", "is", "capital", "Germany", "of"], stop_words=["the", "of"])
    assert tokenizer.tokenize("Berlin is the capital of Germany!") == [0, 1, 2, 3]
    assert WhitespaceTokenizer(["a"], do_lower_case=True, stop_words=[]).tokenize("A a!") == [0, 0]
    saved = json.loads((FIXTURES / "glove_weights" / "whitespacetokenizer_config.json").read_text())
    assert set(saved["stop_words"]) == set(ENGLISH_STOP_WORDS) and len(ENGLISH_STOP_WORDS) == 386  # the default


def test_compat_word_embeddings_from_text_file_matches_the_reference_table(tmp_path):
    from safetensors.torch import load_file

    lines = ["the 0.1 -0.2 0.3 0.0 0.5 -0.1", "cat 0.9 0.1 -0.4 0.2 0.0 0.3", "bad 1 2", "dog 0.8 0.2 -0.3 0.1 0.1 0.4"]
    (tmp_path / "glove.txt").write_text("3 6\n" + "\n".join(lines) + "\n")
    module = WordEmbeddings.from_text_file(str(tmp_path / "glove.txt"))
    assert module.tokenizer.get_vocab() == ["PADDING_TOKEN", "the", "cat", "dog"]  # header and bad line skipped
    reference = load_file(str(FIXTURES / "glove_weights" / "model.safetensors"))["emb_layer.weight"]
    torch.testing.assert_close(module.emb_layer.weight[:3], reference[:3])  # PADDING_TOKEN, the, cat
    features = module.preprocess(["the cat", "zzz"])
    assert features["sentence_lengths"].tolist() == [1, 0]  # "the" is a stop word; unknown words are dropped
    assert features["input_ids"].shape == (2, 1)


def test_compat_word_embeddings_refuse_unknown_tokenizer_classes(tmp_path):
    folder = tmp_path / "glove"
    SentenceTransformer(str(FIXTURES / "glove_weights"), device="cpu").save(str(folder))
    config = json.loads((folder / "wordembedding_config.json").read_text())
    config["tokenizer_class"] = "evil.Tokenizer"
    (folder / "wordembedding_config.json").write_text(json.dumps(config))
    with pytest.raises(RemoteCodeError, match="trust_remote_code"):
        SentenceTransformer(str(folder), device="cpu")


def test_compat_static_embedding_is_the_mean_of_token_vectors():
    from tokenizers import Tokenizer

    module = SentenceTransformer(str(FIXTURES / "static"), device="cpu")[0]
    assert isinstance(module, StaticEmbedding) and module.max_seq_length == float("inf")
    tokenizer = Tokenizer.from_file(str(FIXTURES / "static" / "tokenizer.json"))
    ids = tokenizer.encode("a photo of a cat", add_special_tokens=False).ids
    out = module(module.preprocess(["a photo of a cat", ""]))["sentence_embedding"]
    torch.testing.assert_close(out[0], module.embedding.weight[ids].mean(dim=0))
    assert torch.equal(out[1], torch.zeros(module.embedding_dim))
    with pytest.raises(ConfigError, match="must be fast"):
        StaticEmbedding(object(), embedding_dim=4)
    with pytest.raises(ConfigError, match="embedding_weights` or `embedding_dim"):
        StaticEmbedding(tokenizer)


@pytest.mark.parametrize("variant", ["plain", "weighted", "mapped"])
def test_compat_static_embedding_from_model2vec_equals_model2vec(tmp_path, variant):
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(FIXTURES / "static" / "tokenizer.json"))
    vocab = tokenizer.get_vocab_size()
    rng = np.random.RandomState(0)
    extra = {"weighted": {"weights": rng.rand(vocab).astype(np.float32)},
             "mapped": {"weights": rng.rand(vocab).astype(np.float32), "token_mapping": rng.randint(0, 20, vocab)}}
    rows = 20 if variant == "mapped" else vocab
    StaticModel(rng.randn(rows, 6).astype(np.float32), tokenizer, **extra.get(variant, {})).save_pretrained(
        str(tmp_path / variant))
    texts = ["a photo of a cat", "the dog is barking", ""]
    model = SentenceTransformer(modules=[StaticEmbedding.from_model2vec(str(tmp_path / variant))], device="cpu")
    np.testing.assert_allclose(model.encode(texts), StaticModel.from_pretrained(str(tmp_path / variant)).encode(
        texts), atol=1e-6)


def test_compat_static_embedding_from_model2vec_names_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "model2vec", None)
    with pytest.raises(MissingDependencyError, match="model2vec"):
        StaticEmbedding.from_model2vec("minishlab/potion-base-8M")
    with pytest.raises(MissingDependencyError, match="model2vec"):
        StaticEmbedding.from_distillation("sentence-transformers/all-MiniLM-L6-v2")


def test_compat_bow_counts_weighted_words():
    bow = BoW(["a", "cat", "dog"], {"cat": 2.0}, unknown_word_weight=0.5)
    assert bow.preprocess(["a cat cat dog", "zzz", "Cat"])["sentence_embedding"].tolist() == [
        [0.5, 4.0, 0.5], [0.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    once = BoW(["a", "cat"], {"cat": 2.0}, cumulative_term_frequency=False)
    assert once.preprocess(["cat cat"])["sentence_embedding"].tolist() == [[0.0, 2.0]]
    assert bow.get_embedding_dimension() == 3


def test_compat_pooling_flattened_batch_and_word_weights():
    # values observed with the reference's Pooling on the same tensors
    flat = torch.arange(10, dtype=torch.float).reshape(1, 5, 2)
    features = {"token_embeddings": flat, "cu_seq_lens_q": torch.tensor([0, 2, 5], dtype=torch.int32)}
    expected = {"mean": [[1.0, 2.0], [6.0, 7.0]], "max": [[2.0, 3.0], [8.0, 9.0]], "cls": [[0.0, 1.0], [4.0, 5.0]],
                "lasttoken": [[2.0, 3.0], [8.0, 9.0]],
                "weightedmean": [[4 / 3, 7 / 3], [20 / 3, 23 / 3]]}
    for mode, values in expected.items():
        torch.testing.assert_close(Pooling(2, mode)(dict(features))["sentence_embedding"], torch.tensor(values))
    padded = {"token_embeddings": torch.tensor([[[0.0, 1.0], [2.0, 3.0], [0.0, 0.0]], [[4.0, 5.0], [6.0, 7.0],
                                                                                       [8.0, 9.0]]]),
              "attention_mask": torch.tensor([[1, 1, 0], [1, 1, 1]])}
    torch.testing.assert_close(Pooling(2, "mean")(dict(features))["sentence_embedding"],
                               Pooling(2, "mean")(padded)["sentence_embedding"])
    dropped = Pooling(2, "mean", include_prompt=False)({**features, "prompt_length": torch.tensor([1])})
    torch.testing.assert_close(dropped["sentence_embedding"], torch.tensor([[2.0, 3.0], [7.0, 8.0]]))
    tokens = torch.arange(12, dtype=torch.float).reshape(2, 3, 2)
    weighted = {"token_embeddings": tokens, "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]]),
                "token_weights_sum": torch.tensor([2.0, 4.0])}
    expected = {"mean": [[3.0, 4.5], [3.5, 4.0]], "weightedmean": [[8.0, 11.0], [5.5, 6.25]],
                "mean_sqrt_len_tokens": [[6 / 2 ** 0.5, 9 / 2 ** 0.5], [7.0, 8.0]], "max": [[4.0, 5.0], [8.0, 9.0]]}
    for mode, values in expected.items():
        torch.testing.assert_close(Pooling(2, mode)(dict(weighted))["sentence_embedding"], torch.tensor(values))


@pytest.mark.parametrize("name", [
    "omniembed.modules.base", "omniembed.modules.input_module", "omniembed.modules.static_embedding",
    "omniembed.modules.word_embeddings", "omniembed.modules.word_weights", "omniembed.modules.bow",
    "omniembed.modules.cnn", "omniembed.modules.lstm", "omniembed.modules.layer_norm", "omniembed.modules.dropout",
    "omniembed.modules.weighted_layer_pooling", "omniembed.modules.transformer_api", "omniembed.modules.tokenizer",
    "omniembed.modules.tokenizer.whitespace", "omniembed.modules.tokenizer.stop_words", "omniembed.modules.pooling",
    "omniembed.util.late_interaction", "omniembed.util.ann", "omniembed.util.misc", "omniembed.util.retrieval",
    "omniembed.util.file_io",
    "omniembed.import_aliases", "omniembed.models", "omniembed.base.modality", "omniembed.similarity_functions",
    "omniembed.quantization", "omniembed.inputs.detect",
])
def test_compat_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_compat_modules_json_kwargs_route_call_keywords_to_that_module(tmp_path):
    from support.call_kwarg_modules import TaskOffset

    folder = tmp_path / "routed"
    SentenceTransformer(modules=[CharCounts(), TaskOffset()], device="cpu").save(str(folder))
    entries = json.loads((folder / "modules.json").read_text())
    assert "kwargs" not in entries[1]
    entries[1]["kwargs"] = ["task"]  # as the reference writes module_kwargs
    (folder / "modules.json").write_text(json.dumps(entries))
    model = SentenceTransformer(str(folder), device="cpu", trust_remote_code=True)
    assert "task" in model.get_model_kwargs()
    counts = np.array([[3.0, 0.0, 1.0, 1.0]], dtype=np.float32)  # "banana oi"
    np.testing.assert_array_equal(model.encode(["banana oi"]), counts)
    np.testing.assert_array_equal(model.encode_query(["banana oi"]), counts + 1.0)
    np.testing.assert_array_equal(model.encode_document(["banana oi"]), counts)
    model.save(str(tmp_path / "again"))
    assert json.loads((tmp_path / "again" / "modules.json").read_text())[1]["kwargs"] == ["task"]
