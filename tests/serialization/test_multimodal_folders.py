"""Save/load of every family in the reference's on-disk format, equal embeddings after the round trip, and the
folders the reference writes (current and legacy ``0_CLIPModel``) loading with the same embeddings."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from support.mm_helpers import load_json, tone

from omniembed import SentenceTransformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")

TRANSFORMER_TYPE = "sentence_transformers.base.modules.transformer.Transformer"
POOLING_TYPE = "sentence_transformers.sentence_transformer.modules.pooling.Pooling"


def _inputs(name: str, images, video_frames) -> list:
    return {
        "clap": ["a dog barking", tone(1.0, 48_000)],
        "xclip": ["people dancing", video_frames[0]],
        "wav2vec2": [tone(1.0), {"audio": tone(0.5), "text": "hello"}],
        "hubert": [tone(1.0), tone(0.3)],
        "llava": ["a cat", images[0], {"text": "a cat", "image": images[1]}],
    }.get(name, ["a photo of a cat", images[0]])


FAMILIES = ["clip", "siglip", "siglip2", "align", "chinese_clip", "clap", "xclip", "wav2vec2", "hubert", "llava"]


@pytest.mark.parametrize("name", FAMILIES)
def test_mm_round_trip_every_family(name, model_dirs, images, video_frames, tmp_path):
    model = SentenceTransformer(model_dirs[name], device="cpu")
    items = _inputs(name, images, video_frames)
    before = model.encode(items)
    model.save(str(tmp_path / name))

    folder = tmp_path / name
    entries = load_json(folder / "modules.json")
    assert entries[0] == {"idx": 0, "name": "0", "path": "", "type": TRANSFORMER_TYPE}
    saved = load_json(folder / "sentence_bert_config.json")
    assert saved["transformer_task"] == "feature-extraction"
    assert saved["modality_config"] == {k: v for k, v in model[0].modality_config.items()}
    assert saved["module_output_name"] == model[0].module_output_name
    if saved["module_output_name"] == "sentence_embedding":
        assert len(entries) == 1 and all(v["method"].startswith("get_") for v in saved["modality_config"].values())
    else:
        assert entries[1]["type"] == POOLING_TYPE and (folder / "1_Pooling" / "config.json").is_file()

    reloaded = SentenceTransformer(str(folder), device="cpu")
    assert reloaded.modalities == model.modalities
    np.testing.assert_allclose(reloaded.encode(items), before, atol=1e-6)


def test_mm_saved_configs_match_the_reference(model_dirs, tmp_path):
    SentenceTransformer(model_dirs["clip"], device="cpu").save(str(tmp_path / "clip"))
    clip = load_json(tmp_path / "clip" / "sentence_bert_config.json")
    assert clip["modality_config"] == {
        "text": {"method": "get_text_features", "method_output_name": "pooler_output"},
        "image": {"method": "get_image_features", "method_output_name": "pooler_output"},
    }
    SentenceTransformer(model_dirs["llava"], device="cpu").save(str(tmp_path / "llava"))
    llava = load_json(tmp_path / "llava" / "sentence_bert_config.json")
    assert llava["modality_config"]["message"] == {"method": "forward", "method_output_name": "last_hidden_state",
                                                   "format": "structured"}
    SentenceTransformer(model_dirs["wav2vec2"], device="cpu").save(str(tmp_path / "w2v"))
    w2v = load_json(tmp_path / "w2v" / "sentence_bert_config.json")
    assert sorted(w2v["modality_config"]) == ["audio", "audio+text"]
    assert "processing_kwargs" not in w2v  # omniembed's family defaults are not written


@pytest.mark.slow  # the real Whisper tiny.en encoder
def test_mm_whisper_encoder_round_trip(whisper_encoder_dir, speech_paths, tmp_path):
    model = SentenceTransformer(whisper_encoder_dir, device="cpu")
    before = model.encode(speech_paths[1])
    model.save(str(tmp_path / "whisper"))
    config = load_json(tmp_path / "whisper" / "config.json")
    assert config["architectures"] == ["WhisperEncoder"]
    np.testing.assert_allclose(SentenceTransformer(str(tmp_path / "whisper"), device="cpu").encode(speech_paths[1]),
                               before, atol=1e-6)


def test_mm_legacy_clip_model_folder_loads(model_dirs, images, tmp_path):
    """sentence-transformers < 5: modules.json names sentence_transformers.models.CLIPModel, and 0_CLIPModel/ holds
    the HF CLIP model + processor with no sentence_bert_config.json."""
    root = tmp_path / "legacy"
    shutil.copytree(model_dirs["clip"], root / "0_CLIPModel")
    (root / "modules.json").write_text(json.dumps(
        [{"idx": 0, "name": "0", "path": "0_CLIPModel", "type": "sentence_transformers.models.CLIPModel"}]))
    legacy = SentenceTransformer(str(root), device="cpu")
    raw = SentenceTransformer(model_dirs["clip"], device="cpu")
    assert legacy.modalities == ["text", "image"] and legacy.get_embedding_dimension() == 24
    items = ["a photo of a cat", images[0], "berlin"]
    np.testing.assert_allclose(legacy.encode(items), raw.encode(items), atol=1e-6)
    legacy.save(str(tmp_path / "resaved"))  # saved again in today's format
    assert load_json(tmp_path / "resaved" / "modules.json")[0]["path"] == ""
    np.testing.assert_allclose(SentenceTransformer(str(tmp_path / "resaved"), device="cpu").encode(items),
                               raw.encode(items), atol=1e-6)


def test_mm_reference_written_folder_loads(model_dirs, images, tmp_path):
    """A folder as sentence-transformers 6.2 writes it for a VLM embedder (hand-written here: the reference is not
    installed), with last-token pooling and a saved processing_kwargs."""
    root = tmp_path / "st_llava"
    shutil.copytree(model_dirs["llava"], root)
    (root / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": TRANSFORMER_TYPE},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": POOLING_TYPE}]))
    (root / "sentence_bert_config.json").write_text(json.dumps({
        "transformer_task": "feature-extraction",
        "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"},
                            "image": {"method": "forward", "method_output_name": "last_hidden_state"},
                            "message": {"method": "forward", "method_output_name": "last_hidden_state",
                                        "format": "structured"}},
        "module_output_name": "token_embeddings",
        "processing_kwargs": {"chat_template": {"add_generation_prompt": True}}}))
    os.makedirs(root / "1_Pooling")
    (root / "1_Pooling" / "config.json").write_text(json.dumps(
        {"embedding_dimension": 32, "pooling_mode": "lasttoken", "include_prompt": True}))
    (root / "config_sentence_transformers.json").write_text(json.dumps(
        {"model_type": "SentenceTransformer", "prompts": {"query": "Find the image:", "document": ""},
         "default_prompt_name": None, "similarity_fn_name": "cosine"}))
    model = SentenceTransformer(str(root), device="cpu")
    assert model[1].pooling_mode == "lasttoken" and model.prompts["query"] == "Find the image:"
    features = model[0].render_messages([[{"role": "user", "content": "a cat"}]])
    assert model.tokenizer.decode(features["input_ids"][0]).endswith("assistant:")
    emb = model.encode_query(["a cat", images[0]])
    assert emb.shape == (2, 32) and np.isfinite(emb).all()
