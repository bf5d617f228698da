"""CrossEncoder folders: round trips, the reference's layout (as sentence-transformers 6.2 writes it), the legacy
activation keys in config.json, and which saved activations are trusted."""

from __future__ import annotations

import json
import logging
import os
import shutil

import numpy as np
import pytest
from torch import nn

from omniembed import CrossEncoder

PAIRS = [("how many people live in berlin", "berlin is the capital of germany"), ("a photo of a cat", "a dog"),
         ("x", "y")]


def read(folder, name):
    with open(os.path.join(folder, name)) as handle:
        return json.load(handle)


def write(folder, name, data):
    with open(os.path.join(folder, name), "w") as handle:
        json.dump(data, handle, indent=2)


def test_seq_cls_round_trip_in_reference_layout(bert_ce_dir, tmp_path):
    model = CrossEncoder(bert_ce_dir, device="cpu")
    model.save(str(tmp_path / "saved"))
    saved = str(tmp_path / "saved")
    config = read(saved, "config_sentence_transformers.json")
    assert config["model_type"] == "CrossEncoder" and config["prompts"] == {}
    assert config["activation_fn"] == "torch.nn.modules.activation.Sigmoid" and config["default_prompt_name"] is None
    assert read(saved, "modules.json") == [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"}]
    bert_config = read(saved, "sentence_bert_config.json")
    assert bert_config["transformer_task"] == "sequence-classification"
    assert bert_config["modality_config"] == {"text": {"method": "forward", "method_output_name": "logits"}}
    assert bert_config["module_output_name"] == "scores"
    loaded = CrossEncoder(saved, device="cpu")
    assert isinstance(loaded.activation_fn, nn.Sigmoid)
    np.testing.assert_allclose(loaded.predict(PAIRS), model.predict(PAIRS), atol=1e-7)


def test_causal_round_trip_keeps_logit_score(llama_reranker_dir, tmp_path):
    model = CrossEncoder(llama_reranker_dir, device="cpu")
    saved = str(tmp_path / "saved")
    model.save(saved)
    assert [e["type"].rsplit(".", 1)[-1] for e in read(saved, "modules.json")] == ["Transformer", "LogitScore"]
    yes, no = (model.tokenizer.convert_tokens_to_ids(t) for t in ("yes", "no"))
    assert read(os.path.join(saved, "1_LogitScore"), "config.json") == {
        "true_token_id": yes, "false_token_id": no, "module_input_name": "causal_logits"}
    bert_config = read(saved, "sentence_bert_config.json")
    assert bert_config["transformer_task"] == "text-generation" and bert_config["module_output_name"] == "causal_logits"
    assert bert_config["modality_config"]["message"]["format"] == "flat"
    loaded = CrossEncoder(saved, device="cpu")
    assert loaded.tokenizer.padding_side == "left"
    np.testing.assert_allclose(loaded.predict(PAIRS), model.predict(PAIRS), atol=1e-7)


def test_activation_is_saved_and_the_argument_wins(bert3_ce_dir, tmp_path):
    saved = str(tmp_path / "saved")
    CrossEncoder(bert3_ce_dir, device="cpu", activation_fn=nn.Tanh()).save(saved)
    assert read(saved, "config_sentence_transformers.json")["activation_fn"] == "torch.nn.modules.activation.Tanh"
    assert isinstance(CrossEncoder(saved, device="cpu").activation_fn, nn.Tanh)
    assert isinstance(CrossEncoder(saved, device="cpu", activation_fn=nn.Sigmoid()).activation_fn, nn.Sigmoid)


def test_folder_written_by_the_reference_loads(bert_ce_dir, tmp_path):
    """The files sentence-transformers 6.2.0 writes for a one-label CrossEncoder (observed), on our weights."""
    folder = tmp_path / "reference"
    shutil.copytree(bert_ce_dir, folder)
    write(folder, "modules.json", [{"idx": 0, "name": "0", "path": "",
                                    "type": "sentence_transformers.base.modules.transformer.Transformer"}])
    write(folder, "sentence_bert_config.json", {
        "transformer_task": "sequence-classification",
        "modality_config": {"text": {"method": "forward", "method_output_name": "logits"}},
        "module_output_name": "scores"})
    write(folder, "config_sentence_transformers.json", {
        "__version__": {"pytorch": "2.13.0+cpu", "sentence_transformers": "6.2.0", "transformers": "5.24.0"},
        "activation_fn": "torch.nn.modules.linear.Identity", "default_prompt_name": None,
        "model_type": "CrossEncoder", "prompts": {}})
    model = CrossEncoder(str(folder), device="cpu")
    assert isinstance(model.activation_fn, nn.Identity)
    raw = CrossEncoder(bert_ce_dir, device="cpu", activation_fn=nn.Identity())
    np.testing.assert_allclose(model.predict(PAIRS), raw.predict(PAIRS), atol=1e-7)


@pytest.mark.parametrize("key", ["v4", "pre-v4"])
def test_legacy_activation_keys_in_config_json(bert_ce_dir, tmp_path, key):
    folder = tmp_path / "legacy"
    shutil.copytree(bert_ce_dir, folder)
    config = read(folder, "config.json")
    if key == "v4":
        config["sentence_transformers"] = {"activation_fn": "torch.nn.modules.activation.Tanh"}
    else:
        config["sbert_ce_default_activation_function"] = "torch.nn.modules.activation.Tanh"
    write(folder, "config.json", config)
    model = CrossEncoder(str(folder), device="cpu")
    assert isinstance(model.activation_fn, nn.Tanh)
    logits = model.predict(PAIRS, activation_fn=nn.Identity())
    np.testing.assert_allclose(model.predict(PAIRS), np.tanh(logits), atol=1e-6)
    model.save(str(tmp_path / "resaved"))  # migrated to the current key
    resaved = read(tmp_path / "resaved", "config_sentence_transformers.json")
    assert resaved["activation_fn"] == "torch.nn.modules.activation.Tanh"
    assert isinstance(CrossEncoder(str(tmp_path / "resaved"), device="cpu").activation_fn, nn.Tanh)


def test_untrusted_activation_path_falls_back_with_warning(bert_ce_dir, tmp_path, caplog):
    saved = str(tmp_path / "saved")
    CrossEncoder(bert_ce_dir, device="cpu").save(saved)
    config = read(saved, "config_sentence_transformers.json")
    write(saved, "config_sentence_transformers.json", {**config, "activation_fn": "builtins.abs"})
    with caplog.at_level(logging.WARNING):
        model = CrossEncoder(saved, device="cpu")
    assert "Activation function path 'builtins.abs' is not trusted, using default activation function" in caplog.text
    assert isinstance(model.activation_fn, nn.Sigmoid)
    trusted = CrossEncoder(saved, device="cpu", trust_remote_code=True)
    assert trusted.activation_fn is abs
    logits = trusted.predict(PAIRS, activation_fn=nn.Identity())
    np.testing.assert_allclose(trusted.predict(PAIRS), np.abs(logits), atol=1e-7)


def test_sentence_transformer_folder_converts(minilm_dir, caplog):
    with caplog.at_level(logging.INFO):
        model = CrossEncoder(minilm_dir, num_labels=1, device="cpu")
    assert type(model.model).__name__ == "BertForSequenceClassification" and model.num_labels == 1
    assert model.prompts == {}
    assert model.predict(PAIRS).shape == (3,)
