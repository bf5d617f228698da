"""The tiny Qwen builders: deterministic, small, loadable with plain transformers, and equal to what the fixture
was computed on; plus the transformers facts (without torchvision) that docs/design/qwen-vl.md relies on."""

from __future__ import annotations

import hashlib
import importlib.util
import json

import pytest

HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None
VL = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")
SPECIAL = ("<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>", "yes", "no")


def test_weights_equal_the_ones_the_fixture_was_computed_on(qwen_suite, qwen_reference):
    # The fixture is only meaningful for these exact weights; a torch upgrade that changes seeded init shows here.
    expected = qwen_reference.manifest["weights_sha256"]
    actual = {name: hashlib.sha256((qwen_suite[name] / "model.safetensors").read_bytes()).hexdigest() for name in expected}
    assert actual == expected, "regenerate the fixture: python benchmarks/compat_qwen.py"


@pytest.mark.parametrize("name", [f"{f}/raw" for f in VL] + ["causal/raw-left"])
def test_folders_are_tiny(qwen_suite, name):
    size = sum(p.stat().st_size for p in qwen_suite[name].rglob("*") if p.is_file())
    assert 100_000 < size < 600_000


@pytest.mark.parametrize("family", VL)
def test_vl_folders_load_with_plain_transformers(qwen_suite, family):
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForImageTextToText, AutoTokenizer

    folder = qwen_suite[f"{family}/raw"]
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == family
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ids = [tokenizer.convert_tokens_to_ids(t) for t in SPECIAL]
    assert len(set(ids)) == len(SPECIAL) and tokenizer.unk_token_id not in ids
    for token, token_id in zip(SPECIAL, ids):
        assert tokenizer(token, add_special_tokens=False)["input_ids"] == [token_id]
    assert (config.image_token_id, config.video_token_id) == (ids[4], ids[5])
    assert tokenizer.bos_token is None and tokenizer.eos_token == "<|im_end|>"
    base = AutoModel.from_pretrained(folder).eval()
    assert type(base).__name__ == {"qwen2_vl": "Qwen2VLModel", "qwen2_5_vl": "Qwen2_5_VLModel", "qwen3_vl": "Qwen3VLModel"}[family]
    head = AutoModelForImageTextToText.from_pretrained(folder).eval()
    text = tokenizer(["<|im_start|>user\na photo of a cat<|im_end|>"], return_tensors="pt")
    with torch.inference_mode():
        hidden = base(**text).last_hidden_state
        logits = head(**text).logits
    assert hidden.shape == (1, text["input_ids"].shape[1], 32)
    assert logits.shape[-1] == config.text_config.vocab_size
    # both heads load the same (seeded, non-trivial) weights
    torch.testing.assert_close(head.model.language_model.embed_tokens.weight, base.language_model.embed_tokens.weight)


def test_causal_lm_has_a_plain_tokenizer_that_appends_eos(qwen_suite):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = qwen_suite["causal/raw-left"]
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert type(tokenizer).__name__ in {"TokenizersBackend", "PreTrainedTokenizerFast"}
    assert not (folder / "processor_config.json").exists()
    plain = tokenizer("a photo of a cat")["input_ids"]
    assert plain[-1] == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    assert tokenizer.padding_side == "left"
    assert AutoTokenizer.from_pretrained(qwen_suite["causal/raw-right"]).padding_side == "right"
    # a chat render is tokenised without special tokens: no EOS after the template's own ending
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=True, return_dict=True)
    assert rendered["input_ids"][-1] != plain[-1]
    assert AutoModelForCausalLM.from_pretrained(folder).config.architectures == ["Qwen3ForCausalLM"]


def test_saved_forms_carry_the_reference_configs(qwen_suite, qwen_reference):
    # compat_qwen re-saved each hand-written folder with the reference: identical JSON, except the legacy
    # text-only embedder, which the reference upgrades to a modality_config on save (as it does for the hub's).
    check = qwen_reference.manifest["saved_format_check"]
    assert {name for name, result in check.items() if not result["identical"]} == {"causal/embedder-legacy"}
    sbert = json.loads((qwen_suite["qwen3_vl/reranker"] / "sentence_bert_config.json").read_text())
    assert sbert["processing_kwargs"] == {"chat_template": {"chat_template": "reranker", "add_generation_prompt": True}}
    assert (qwen_suite["qwen3_vl/reranker"] / "additional_chat_templates" / "reranker.jinja").exists()


@pytest.mark.parametrize("family", VL)
def test_autoprocessor_needs_torchvision_for_the_video_processor(qwen_suite, family):
    from transformers import AutoProcessor

    folder = qwen_suite[f"{family}/raw"]
    if HAS_TORCHVISION:
        assert AutoProcessor.from_pretrained(folder).video_processor is not None
        return
    with pytest.raises(ImportError, match="Torchvision"):
        AutoProcessor.from_pretrained(folder)


@pytest.mark.skipif(HAS_TORCHVISION, reason="documents the failure without torchvision")
def test_stock_processor_rejects_video_processor_none_without_torchvision(qwen_suite):
    from support.qwen_direct import ExactQwen2VLImageProcessor
    from transformers import AutoTokenizer
    from transformers.models.qwen2_vl.processing_qwen2_vl import Qwen2VLProcessor

    tokenizer = AutoTokenizer.from_pretrained(qwen_suite["qwen2_vl/raw"])
    with pytest.raises(AttributeError, match="_extra_content"):
        Qwen2VLProcessor(image_processor=ExactQwen2VLImageProcessor(), tokenizer=tokenizer, video_processor=None)


@pytest.mark.parametrize("family", VL)
def test_torchvision_free_processors_build(qwen_suite, family):
    from support.qwen_direct import full_processor, image_only_processor

    folder = qwen_suite[f"{family}/raw"]
    image_only = image_only_processor(folder)
    assert image_only.get_attributes() == ["image_processor", "tokenizer"]
    assert not hasattr(image_only, "video_processor")
    full = full_processor(folder)
    assert type(full).__mro__[1].__name__ == type(image_only).__mro__[1].__name__
    assert set(full.chat_template) == {"default", "reranker"}
    expected_video = "TorchQwen3VLVideoProcessor" if family == "qwen3_vl" else "TorchQwen2VLVideoProcessor"
    assert type(full.video_processor).__name__ == expected_video


@pytest.mark.parametrize("family", VL)
def test_forward_with_media_needs_mm_token_type_ids(qwen_suite, family):
    # Qwen2-VL / Qwen3-VL refuse to guess M-RoPE positions; Qwen2.5-VL silently uses sequential ones instead.
    import torch
    from support.qwen_direct import image_only_processor, qwen_model_inputs
    from support.qwen_inputs import resolve
    from transformers import AutoModel

    folder = qwen_suite[f"{family}/raw"]
    processor = image_only_processor(folder)
    conversation = [{"role": "user", "content": [{"type": "image", "image": resolve({"$image": "odd"}, folder)}]}]
    features = qwen_model_inputs(processor.apply_chat_template([conversation], tokenize=True, return_dict=True,
                                                               return_tensors="pt"))  # fmt: skip
    expected_image_tokens = 12 if family == "qwen3_vl" else 6  # 60x90 px -> grid 6x8 (patch 8) or 4x6 (patch 14)
    assert int(features["mm_token_type_ids"].sum()) == expected_image_tokens  # image tokens are type 1
    features.pop("mm_token_type_ids")
    model = AutoModel.from_pretrained(folder).eval()
    with torch.inference_mode():
        if family == "qwen2_5_vl":
            assert model(**features).last_hidden_state.shape[1] == features["input_ids"].shape[1]
        else:
            with pytest.raises(ValueError, match="mm_token_type_ids"):
                model(**features)
