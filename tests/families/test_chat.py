"""VLM / chat-template embedders (tiny LLaVA, tiny Llama with a flat template): message inputs, combined dicts as
one user message in key order, prompts as the system message, pooling per the saved config, suffix-keeping
truncation, render_messages for query/document conversations, and image-size caps (max_pixels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.mm_helpers import assert_same_direction, hf

from omniembed import SentenceTransformer
from omniembed.errors import UnsupportedModalityError
from omniembed.families.chat import to_messages

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _user(*parts):
    return [{"role": "user", "content": list(parts)}]


def _text(t):
    return {"type": "text", "text": t}


def _image(img):
    return {"type": "image", "image": img}


def _direct(folder: str, conversations, mode: str = "mean") -> np.ndarray:
    """transformers' own apply_chat_template(tokenize=True) + the base model + masked pooling."""
    model, processor = hf(folder)
    rows = []
    for conversation in conversations:  # one at a time: no padding question
        feats = processor.apply_chat_template([conversation], tokenize=True, return_dict=True, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**feats).last_hidden_state[0]
        rows.append(hidden[-1].numpy() if mode == "lasttoken" else hidden.mean(0).numpy())
    return np.stack(rows)


def test_mm_llava_modalities_and_inputs_match_transformers(model_dirs, images):
    folder = model_dirs["llava"]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", "image", "message"]
    assert model[0].modality_config["message"]["format"] == "structured"
    assert model[1].pooling_mode == "mean" and model.get_embedding_dimension() == 32
    assert model.supports(("image", "text"))

    inputs = ["a photo of a cat", images[0], {"text": "a cat", "image": images[1]},
              {"image": images[1], "text": "a cat"}, _user(_image(images[0]), _text("describe it")),
              {"image": images, "text": "two images"}]  # several items per modality → one embedding
    expected = [_user(_text("a photo of a cat")), _user(_image(images[0])), _user(_text("a cat"), _image(images[1])),
                _user(_image(images[1]), _text("a cat")), inputs[4],
                _user(_image(images[0]), _image(images[1]), _text("two images"))]
    ours = np.stack([model.encode(x) for x in inputs])
    assert_same_direction(ours, _direct(folder, expected))
    assert not np.allclose(ours[2], ours[3])  # key order decides the content order


def test_mm_llava_prompt_becomes_the_system_message(model_dirs, images):
    folder = model_dirs["llava"]
    model = SentenceTransformer(folder, device="cpu", prompts={"query": "Find the matching image."})
    system = {"role": "system", "content": [_text("Find the matching image.")]}
    direct = _direct(folder, [[system, *_user(_text("a cat"))], [system, *_user(_image(images[0]))]])
    assert_same_direction(model.encode_query(["a cat", images[0]]), direct)


@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_mm_llava_mixed_batch_equals_items_alone(batch_size, model_dirs, images):
    model = SentenceTransformer(model_dirs["llava"], device="cpu")
    items = ["a cat", images[0], {"text": "a dog", "image": images[1]}, _user(_text("hello"), _image(images[0])),
             "how many people live in berlin"]
    alone = np.stack([model.encode(item) for item in items])
    np.testing.assert_allclose(model.encode(items, batch_size=batch_size), alone, atol=2e-5)


def test_mm_render_messages_batches_mixed_conversations(model_dirs, images):
    """The CrossEncoder's entry point: query/document roles, some rows with images and some without."""
    model = SentenceTransformer(model_dirs["llava"], device="cpu")
    conversations = [
        [{"role": "query", "content": [_text("a cat")]}, {"role": "document", "content": [_image(images[0])]}],
        [{"role": "query", "content": "berlin"}, {"role": "document", "content": "the capital of germany"}],
    ]
    features = model[0].render_messages(conversations, add_generation_prompt=True)
    assert features["modality"] == "message" and features["input_ids"].shape[0] == 2
    assert features["pixel_values"].shape[0] == 1
    decoded = model.tokenizer.decode(features["input_ids"][1], skip_special_tokens=True)
    assert "query: berlin" in decoded and "document: the capital of germany" in decoded and "assistant:" in decoded
    with torch.no_grad():
        out = model.forward({**features})
    assert out["sentence_embedding"].shape == (2, 32)


def test_mm_flat_template_text_model(model_dirs):
    """A causal LM with a flat template: text goes through the template, last-token pooling, like the reference."""
    folder = model_dirs["llama"]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", "message"]
    assert model[0].modality_config["message"]["format"] == "flat"
    assert model[1].pooling_mode == "lasttoken"
    direct = _direct(folder, [[{"role": "user", "content": "a photo of a cat"}],
                              [{"role": "system", "content": "Represent:"}, {"role": "user", "content": "a dog"}]],
                     mode="lasttoken")
    ours = np.stack([model.encode("a photo of a cat"), model.encode("a dog", prompt="Represent:")])
    assert_same_direction(ours, direct)
    for batch_size in (1, 32):  # left padding + last token: batch-independent
        np.testing.assert_allclose(model.encode(["a photo of a cat", "a dog"], batch_size=batch_size),
                                   np.stack([model.encode("a photo of a cat"), model.encode("a dog")]), atol=2e-5)
    with pytest.raises(UnsupportedModalityError, match="flat"):
        to_messages({"text": "x", "image": "img"}, ("image", "text"), fmt="flat")


def test_mm_message_truncation_keeps_the_template_suffix(model_dirs):
    model = SentenceTransformer(model_dirs["llama"], device="cpu")
    model.max_seq_length = 12
    long_text = " ".join(["a photo of a cat"] * 20)
    features = model[0].render_messages([[{"role": "user", "content": long_text}], [{"role": "user", "content": "a"}]])
    ids, mask = features["input_ids"], features["attention_mask"]
    assert ids.shape[1] == 12 and int(mask[0].sum()) == 12
    newline = model.tokenizer("\n", add_special_tokens=False)["input_ids"]
    assert ids[0, -len(newline):].tolist() == newline  # the flat template's "\n" after the content survives
    assert model.encode(long_text).shape == (32,)


def test_mm_vlm_lasttoken_pooling_from_saved_config(model_dirs, images, tmp_path):
    from omniembed.modules import Pooling, Transformer

    folder = model_dirs["llava"]
    model = SentenceTransformer(modules=[Transformer(folder), Pooling(32, "lasttoken")], device="cpu")
    model.save(str(tmp_path / "lt"))
    reloaded = SentenceTransformer(str(tmp_path / "lt"), device="cpu")
    assert reloaded[1].pooling_mode == "lasttoken"
    conversation = _user(_text("a cat"), _image(images[0]))
    assert_same_direction(reloaded.encode(conversation), _direct(folder, [conversation], mode="lasttoken"))


def test_mm_max_pixels_caps_visual_tokens():
    """Qwen-VL-style dynamic resolution: a 12-megapixel photo under max_pixels gives the capped token count, from
    load-time processor_kwargs (which from_pretrained ignores, transformers #41955) or per-call processing_kwargs.
    (Qwen-VL *processors* need torchvision here, so the image processor is exercised through a stub module.)"""
    from types import SimpleNamespace

    from PIL import Image
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from omniembed.families import vision
    from omniembed.families.processing_kwargs import ProcessingKwargs

    photo = Image.new("RGB", (4000, 3000), (120, 80, 40))
    cap = 256 * 28 * 28  # 256 visual tokens after the 2x2 merge

    def tokens(image_processor, per_call=None, saved=None) -> int:
        feats = vision.prepare_images(image_processor, [photo], ProcessingKwargs.resolve(saved, per_call))
        return int(feats["image_grid_thw"].prod()) // 4

    def stub(processor_kwargs=None):
        processor = SimpleNamespace(image_processor=Qwen2VLImageProcessorPil())
        vision.apply_image_caps(processor, processor_kwargs)
        return processor.image_processor

    uncapped = tokens(stub())
    assert uncapped > 1000
    assert tokens(stub(processor_kwargs={"max_pixels": cap})) <= 256
    assert tokens(stub(), {"image": {"max_pixels": cap}}) <= 256
    assert tokens(stub(), saved={"image": {"max_pixels": cap}}) <= 256
    assert vision.shortest_side_needed(stub(processor_kwargs={"max_pixels": cap})) == 448


def test_mm_message_media_the_processor_lacks_is_a_typed_error(model_dirs, video_frames):
    model = SentenceTransformer(model_dirs["llava"], device="cpu")
    conversation = _user(_text("what happens here?"), {"type": "video", "video": video_frames[0]})
    with pytest.raises(UnsupportedModalityError, match="'video'"):
        model.encode(conversation)
    with pytest.raises(UnsupportedModalityError, match="'audio' is not supported"):
        model.encode({"array": np.zeros(16000, np.float32), "sampling_rate": 16000})
