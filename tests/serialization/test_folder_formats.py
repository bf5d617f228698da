"""On-disk formats: save/load round trips, the reference's folder layout, and its legacy forms."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from omniembed import SentenceTransformer
from omniembed.errors import ModelNotFoundError, RemoteCodeError
from omniembed.modules import Dense, Normalize, Pooling, Transformer

TEXTS = ["a photo of a cat", "how many people live in berlin", "a dog"]


def write(path, name, data):
    with open(os.path.join(path, name), "w") as handle:
        json.dump(data, handle)


@pytest.fixture()
def legacy_folder(tiny_bert_dir, tmp_path):
    """A folder as sentence-transformers 2.x wrote it: old class paths, boolean pooling flags, empty Normalize."""
    folder = tmp_path / "legacy"
    shutil.copytree(tiny_bert_dir, folder)
    write(folder, "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    write(folder, "sentence_bert_config.json", {"max_seq_length": 64, "do_lower_case": False})
    os.makedirs(folder / "1_Pooling")
    write(folder / "1_Pooling", "config.json", {
        "word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False})
    os.makedirs(folder / "2_Normalize")
    write(folder, "config_sentence_transformers.json", {"__version__": {"sentence_transformers": "2.0.0"}})
    return str(folder)


def test_legacy_folder_loads_and_matches_manual_stack(legacy_folder, tiny_bert_dir):
    model = SentenceTransformer(legacy_folder, device="cpu")
    assert [type(m).__name__ for m in model] == ["Transformer", "Pooling", "Normalize"]
    assert model.max_seq_length == 64
    raw = SentenceTransformer(tiny_bert_dir, device="cpu")
    np.testing.assert_allclose(model.encode(TEXTS), raw.encode(TEXTS, normalize_embeddings=True), atol=1e-6)


def test_legacy_multi_flag_pooling_concatenates(legacy_folder):
    write(os.path.join(legacy_folder, "1_Pooling"), "config.json", {
        "word_embedding_dimension": 32, "pooling_mode_cls_token": True, "pooling_mode_mean_tokens": True})
    model = SentenceTransformer(legacy_folder, device="cpu")
    assert model.get_embedding_dimension() == 64
    tokens = model.encode(TEXTS, output_value="token_embeddings")  # (length_i, 32) per text, padding cut off
    expected = np.stack([np.concatenate([t[0].numpy(), t.mean(0).numpy()]) for t in tokens])  # cls, then mean
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)  # the folder's Normalize
    np.testing.assert_allclose(model.encode(TEXTS), expected, atol=1e-5)


def test_legacy_model_specific_config_name(legacy_folder):
    os.rename(os.path.join(legacy_folder, "sentence_bert_config.json"),
              os.path.join(legacy_folder, "sentence_roberta_config.json"))
    assert SentenceTransformer(legacy_folder, device="cpu").max_seq_length == 64


def test_missing_normalize_folder_loads(legacy_folder):
    shutil.rmtree(os.path.join(legacy_folder, "2_Normalize"))  # all-MiniLM-L6-v2 ships this way
    assert type(SentenceTransformer(legacy_folder, device="cpu")[2]).__name__ == "Normalize"


def test_save_writes_reference_layout_and_round_trips(tiny_bert_dir, tmp_path):
    model = SentenceTransformer(modules=[Transformer(tiny_bert_dir), Pooling(32, "mean"),
                                         Dense(32, 16), Normalize()], device="cpu",
                                prompts={"query": "query: "}, similarity_fn_name="dot")
    out = tmp_path / "saved"
    model.save(str(out))
    entries = json.load(open(out / "modules.json"))
    assert [(e["path"], e["type"]) for e in entries] == [
        ("", "sentence_transformers.base.modules.transformer.Transformer"),
        ("1_Pooling", "sentence_transformers.sentence_transformer.modules.pooling.Pooling"),
        ("2_Dense", "sentence_transformers.base.modules.dense.Dense"),
        ("3_Normalize", "sentence_transformers.base.modules.normalize.Normalize"),
    ]
    config = json.load(open(out / "config_sentence_transformers.json"))
    assert config["model_type"] == "SentenceTransformer" and config["similarity_fn_name"] == "dot"
    assert config["prompts"] == {"query": "query: ", "document": ""}
    sbert = json.load(open(out / "sentence_bert_config.json"))
    assert sbert["transformer_task"] == "feature-extraction" and sbert["module_output_name"] == "token_embeddings"
    assert sbert["modality_config"] == {"text": {"method": "forward", "method_output_name": "last_hidden_state"}}
    assert os.path.isfile(out / "model.safetensors") and os.path.isfile(out / "2_Dense" / "model.safetensors")
    assert json.load(open(out / "1_Pooling" / "config.json"))["pooling_mode"] == "mean"

    loaded = SentenceTransformer(str(out), device="cpu")
    assert loaded.similarity_fn_name == "dot" and loaded.prompts["query"] == "query: "
    np.testing.assert_array_equal(loaded.encode(TEXTS), model.encode(TEXTS))
    np.testing.assert_array_equal(loaded.encode_query(TEXTS), model.encode_query(TEXTS))


def test_truncate_dim_is_persisted(tiny_bert_dir, tmp_path):
    SentenceTransformer(tiny_bert_dir, device="cpu", truncate_dim=8).save(str(tmp_path / "m"))
    assert SentenceTransformer(str(tmp_path / "m"), device="cpu").encode("a cat").shape == (8,)


def test_constructor_beats_saved_values(tiny_bert_dir, tmp_path):
    SentenceTransformer(tiny_bert_dir, device="cpu", similarity_fn_name="dot",
                        prompts={"query": "query: "}).save(str(tmp_path / "m"))
    model = SentenceTransformer(str(tmp_path / "m"), device="cpu", similarity_fn_name="manhattan",
                                prompts={"query": "passage: ", "document": None})
    assert model.similarity_fn_name == "manhattan" and model.prompts["query"] == "passage: "


def test_unsaved_similarity_reads_as_cosine(tiny_bert_dir, tmp_path):
    model = SentenceTransformer(tiny_bert_dir, device="cpu")
    assert model.similarity_fn_name == "cosine"
    model.save(str(tmp_path / "m"))
    assert json.load(open(tmp_path / "m" / "config_sentence_transformers.json"))["similarity_fn_name"] == "cosine"


def test_causal_lm_folder_gets_last_token_pooling(tiny_llama_dir):
    model = SentenceTransformer(tiny_llama_dir, device="cpu")
    assert model[1].pooling_mode in ("lasttoken", ["lasttoken"], ("lasttoken",))
    texts = ["a photo of a cat", "a dog"]
    last = np.stack([t[-1].numpy() for t in model.encode(texts, output_value="token_embeddings")])
    np.testing.assert_allclose(model.encode(texts), last, atol=1e-6)


def test_unknown_module_type_needs_trust_remote_code(legacy_folder):
    entries = json.load(open(os.path.join(legacy_folder, "modules.json")))
    entries[2]["type"] = "my_package.layers.Custom"
    write(legacy_folder, "modules.json", entries)
    with pytest.raises(RemoteCodeError, match="trust_remote_code=True"):
        SentenceTransformer(legacy_folder, device="cpu")


def test_path_errors(tmp_path):
    file_path = tmp_path / "weights.bin"
    file_path.write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match="is a file, not a directory"):
        SentenceTransformer(str(file_path))
    with pytest.raises(FileNotFoundError, match=r"^Path /no/such/model not found$"):
        SentenceTransformer("/no/such/model")
    with pytest.raises(ModelNotFoundError, match="hub access is off") as info:
        SentenceTransformer("omniembed-tests/definitely-not-cached")
    assert isinstance(info.value, FileNotFoundError)


def test_empty_modules_list_rejected():
    with pytest.raises(ValueError, match="An empty modules list was passed to SentenceTransformer"):
        SentenceTransformer(modules=[])


def test_save_none_is_noop(tiny_bert_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert SentenceTransformer(tiny_bert_dir, device="cpu").save(None) is None
    assert list(tmp_path.iterdir()) == []  # nothing written, not even to the working directory


def test_hub_cache_is_used_offline(tiny_bert_dir, tmp_path, monkeypatch):
    """A hub id resolves through huggingface_hub's cache layout (what a prior online download leaves)."""
    cache = tmp_path / "hub"
    snapshot = cache / "models--acme--tiny-bert" / "snapshots" / ("0" * 40)
    shutil.copytree(tiny_bert_dir, snapshot)
    (cache / "models--acme--tiny-bert" / "refs").mkdir()
    (cache / "models--acme--tiny-bert" / "refs" / "main").write_text("0" * 40)
    model = SentenceTransformer("acme/tiny-bert", cache_folder=str(cache), device="cpu")
    assert model.encode("a cat").shape == (32,)
