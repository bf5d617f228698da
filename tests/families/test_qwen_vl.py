"""The Qwen-VL family module: processors built without torchvision, bit-exact against the reference's recorded
processor outputs; the torchvision seam; dtype and pixel switches; hub ids; save/load round trips."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import torch

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.families import qwen_vl
from omniembed.families.qwen_vl import load_processor

_CASES = json.loads((__import__("pathlib").Path(__file__).resolve().parents[1] / "support" / "fixtures"
                     / "qwen_reference.json").read_text())["cases"]
VL = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")


@pytest.fixture(autouse=True)
def _quiet(quiet_transformers):
    yield


def _sha1(array) -> str:
    return hashlib.sha1(np.ascontiguousarray(np.asarray(array, dtype=np.float32)).tobytes()).hexdigest()


def _processor(suite, name: str, **processor_kwargs):
    return load_processor(str(suite[name]), name.split("/")[0], processor_kwargs=processor_kwargs, hub_kwargs={})


@pytest.mark.parametrize("case_id", [c["id"] for c in _CASES if c["call"] == "image_processor"])
def test_image_processor_is_bit_exact(case_id, qwen_reference, qwen_suite):
    case = qwen_reference.cases[case_id]
    expected = case["image_processor"]
    processor = _processor(qwen_suite, case["model"])
    out = processor.image_processor([qwen_reference.inputs(case_id)], return_tensors="pt")
    assert out["image_grid_thw"].tolist() == expected["image_grid_thw"]
    assert list(out["pixel_values"].shape) == expected["pixel_values_shape"]
    assert _sha1(out["pixel_values"].numpy()) == expected["pixel_values_sha1"]


@pytest.mark.parametrize("case_id", [c["id"] for c in _CASES if c["call"] == "video_processor"])
def test_video_processor_is_bit_exact(case_id, qwen_reference, qwen_suite):
    case = qwen_reference.cases[case_id]
    expected = case["video_processor"]
    video = qwen_reference.inputs(case_id)
    kwargs = {"do_sample_frames": case["kwargs"]["do_sample_frames"], "return_metadata": True}
    frames = video
    if isinstance(video, dict):
        frames, kwargs["video_metadata"] = video["video"]["array"], [video["video"]["video_metadata"]]
    processor = _processor(qwen_suite, case["model"])
    if "error" in expected:  # transformers crashes (Qwen2-VL sampling without fps); we fail with a clear error
        with pytest.raises(ValueError, match="needs `fps`"):
            processor.video_processor(videos=[frames], return_tensors="pt", **kwargs)
        return
    out = processor.video_processor(videos=[frames], return_tensors="pt", **kwargs)
    assert out["video_grid_thw"].tolist() == expected["video_grid_thw"]
    assert _sha1(out["pixel_values_videos"].numpy()) == expected["pixel_values_videos_sha1"]
    full = processor(text=["<|vision_start|><|video_pad|><|vision_end|>"], videos=[frames], return_tensors="pt",
                     videos_kwargs=kwargs)
    assert processor.tokenizer.decode(full["input_ids"][0].tolist()) == expected["prompt"]


@pytest.mark.parametrize("family", VL)
def test_the_stock_processor_classes_are_built_without_torchvision(family, qwen_suite):
    import importlib

    module, name, _ = qwen_vl.QWEN_VL_TYPES[family]
    processor = _processor(qwen_suite, f"{family}/raw")
    assert isinstance(processor, getattr(importlib.import_module(module), name))
    assert type(processor).__name__ == name  # what save_pretrained writes
    assert processor.video_processor is not None and processor.image_processor is not None
    assert isinstance(processor.chat_template, dict) and "reranker" in processor.chat_template  # named templates


def test_with_torchvision_transformers_own_processor_is_used(qwen_suite, monkeypatch):
    monkeypatch.setattr(qwen_vl, "_torchvision_available", lambda: True)
    assert load_processor(str(qwen_suite["qwen3_vl/raw"]), "qwen3_vl", processor_kwargs={}, hub_kwargs={}) is None
    assert load_processor(str(qwen_suite["causal/raw-left"]), "qwen3", processor_kwargs={}, hub_kwargs={}) is None


def test_other_families_are_left_to_autoprocessor(qwen_suite):
    assert load_processor(str(qwen_suite["causal/raw-left"]), "qwen3", processor_kwargs={}, hub_kwargs={}) is None


def test_max_pixels_at_load_reaches_the_image_processor(qwen_suite):
    processor = _processor(qwen_suite, "qwen3_vl/raw", max_pixels=1568)
    assert processor.image_processor.size["longest_edge"] == 1568
    large = np.zeros((300, 451, 3), np.uint8)
    grid = processor.image_processor([large], return_tensors="pt")["image_grid_thw"]
    patch = processor.image_processor.patch_size
    assert int(grid.prod()) * patch * patch <= 1568  # pixels after resize ≤ max_pixels


@pytest.mark.parametrize("key", ["torch_dtype", "dtype"])
def test_bfloat16_on_request_float32_by_default(key, qwen_suite):
    folder = str(qwen_suite["qwen3_vl/embedder"])
    default = SentenceTransformer(folder, device="cpu")
    assert default.dtype == torch.float32  # never bf16 by default on CPU
    half = SentenceTransformer(folder, device="cpu", model_kwargs={key: torch.bfloat16})
    assert half[0].auto_model.dtype == torch.bfloat16
    image = np.random.default_rng(0).integers(0, 255, (64, 48, 3), dtype=np.uint8)
    items = ["a photo of a cat", image, {"video": np.stack([image, image])}]
    a, b = default.encode(items), half.encode(items)
    assert np.isfinite(b).all()
    assert ((a * b).sum(-1) / np.linalg.norm(b, axis=-1)).min() > 0.95  # bf16 rounding on a random tiny model


def _hub_cache(tmp_path, folder, repo: str):
    cache = tmp_path / "hub"
    root = cache / f"models--{repo.replace('/', '--')}"
    shutil.copytree(folder, root / "snapshots" / ("0" * 40))
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text("0" * 40)
    return cache


def test_hub_ids_resolve_through_huggingface_hub_offline(qwen_suite, tmp_path):
    cache = _hub_cache(tmp_path, qwen_suite["qwen3_vl/embedder"], "acme/tiny-qwen3-vl-embedding")
    model = SentenceTransformer("acme/tiny-qwen3-vl-embedding", device="cpu", cache_folder=str(cache))
    local = SentenceTransformer(str(qwen_suite["qwen3_vl/embedder"]), device="cpu")
    image = np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    np.testing.assert_array_equal(model.encode(["a cat", image]), local.encode(["a cat", image]))
    cache = _hub_cache(tmp_path / "ce", qwen_suite["qwen3_vl/reranker"], "acme/tiny-qwen3-vl-reranker")
    reranker = CrossEncoder("acme/tiny-qwen3-vl-reranker", device="cpu", cache_folder=str(cache))
    local_reranker = CrossEncoder(str(qwen_suite["qwen3_vl/reranker"]), device="cpu")
    np.testing.assert_array_equal(reranker.predict([("a cat", image)]), local_reranker.predict([("a cat", image)]))


@pytest.mark.parametrize("name", ["qwen2_vl/embedder", "qwen3_vl/raw", "causal/embedder-chat", "causal/embedder-legacy"])
def test_sentence_transformer_save_load_round_trip(name, qwen_suite, tmp_path):
    model = SentenceTransformer(str(qwen_suite[name]), device="cpu")
    model.save(str(tmp_path / "saved"))
    again = SentenceTransformer(str(tmp_path / "saved"), device="cpu")
    items = ["a photo of a cat", "berlin is the capital of germany"]
    if "causal" not in name:
        items.append(np.random.default_rng(2).integers(0, 255, (56, 84, 3), dtype=np.uint8))
    assert [type(m).__name__ for m in again] == [type(m).__name__ for m in model]
    assert again.modalities == model.modalities and again.prompts == model.prompts
    np.testing.assert_array_equal(again.encode(items), model.encode(items))
    np.testing.assert_array_equal(again.encode_query(items[:1]), model.encode_query(items[:1]))


@pytest.mark.parametrize("name", ["qwen3_vl/reranker", "qwen2_5_vl/reranker", "causal/reranker"])
def test_cross_encoder_save_load_round_trip(name, qwen_suite, tmp_path):
    model = CrossEncoder(str(qwen_suite[name]), device="cpu")
    model.save(str(tmp_path / "saved"))
    saved = json.loads((tmp_path / "saved" / "sentence_bert_config.json").read_text())
    assert saved["processing_kwargs"] == {"chat_template": {"chat_template": "reranker", "add_generation_prompt": True}}
    again = CrossEncoder(str(tmp_path / "saved"), device="cpu")
    pairs = [("how many people live in berlin", "berlin is the capital of germany"), ("a cat", "a cup of coffee")]
    if "causal" not in name:
        pairs.append(("a cat", np.random.default_rng(3).integers(0, 255, (40, 40, 3), dtype=np.uint8)))
    np.testing.assert_array_equal(again.predict(pairs), model.predict(pairs))


def test_a_vlm_processor_that_needs_torchvision_falls_back_to_its_tokenizer(qwen_suite, monkeypatch, caplog):
    # what another VLM family without a torchvision-free builder gets: its text side, and a warning saying why
    import logging

    from omniembed.modules import loading

    monkeypatch.setattr(loading, "PROCESSOR_BUILDERS", [])
    with caplog.at_level(logging.WARNING, logger="omniembed.modules.loading"):
        model = SentenceTransformer(str(qwen_suite["qwen3_vl/raw"]), device="cpu")
    assert "torchvision" in caplog.text.lower()
    assert "image" not in model.modalities and "text" in model.modalities
    assert model.encode(["a photo of a cat"]).shape == (1, 32)
