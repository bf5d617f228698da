"""Dual encoders (CLIP, SigLIP, SigLIP2, ALIGN, Chinese-CLIP, CLAP, X-CLIP) through ``get_<modality>_features``:
modalities inferred from the processor, dimension = projection size, each modality equal to a direct transformers
computation on the same inputs, and mixed-modality batches equal to encoding each item alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.mm_helpers import assert_same_direction, hf

from omniembed import SentenceTransformer

pytestmark = pytest.mark.usefixtures("quiet_transformers")

TEXTS = ["a photo of a cat", "a dog is barking loudly in the park", "berlin"]
IMAGE_TEXT = ["clip", "siglip", "siglip2", "align", "chinese_clip"]
# SigLIP pools the last position: its text must be padded to max_length (the model card's own recipe)
TEXT_PADDING = {"siglip": "max_length", "siglip2": "max_length"}


def _direct_text(folder: str, name: str, texts: list[str]) -> torch.Tensor:
    model, processor = hf(folder)
    padding = TEXT_PADDING.get(name, True)
    tokens = processor.tokenizer(texts, padding=padding, truncation=True, return_tensors="pt",
                                 max_length=processor.tokenizer.model_max_length)
    with torch.no_grad():
        return model.get_text_features(**tokens)


@pytest.mark.parametrize("name", IMAGE_TEXT)
def test_mm_image_text_dual_encoder_matches_transformers(name, model_dirs, images):
    folder = model_dirs[name]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", "image"]
    assert len(model) == 1 and model[0].module_output_name == "sentence_embedding"  # pools itself: no Pooling
    config = model[0].config
    expected_dim = getattr(config, "projection_dim", None) or config.text_config.projection_size
    assert model.get_embedding_dimension() == expected_dim

    hf_model, processor = hf(folder)
    with torch.no_grad():
        direct_images = hf_model.get_image_features(**processor.image_processor(images, return_tensors="pt"))
    assert_same_direction(model.encode(images), direct_images)
    assert_same_direction(model.encode(TEXTS), _direct_text(folder, name, TEXTS))
    assert model.encode(TEXTS).shape == (3, expected_dim)


@pytest.mark.parametrize("name", IMAGE_TEXT)
@pytest.mark.parametrize("batch_size", [1, 2, 32])
def test_mm_mixed_batch_equals_items_alone(name, batch_size, model_dirs, images):
    model = SentenceTransformer(model_dirs[name], device="cpu")
    items = ["a cat", images[0], "a dog is barking loudly in the park", images[1], "berlin"]
    alone = np.stack([model.encode(item) for item in items])
    mixed = model.encode(items, batch_size=batch_size)
    np.testing.assert_allclose(mixed, alone, atol=2e-6)


def test_mm_clap_text_and_audio(model_dirs, speech_paths):
    from support.av_models import CLAP_SAMPLING_RATE
    from support.mm_helpers import tone

    folder = model_dirs["clap"]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", "audio"] and model.get_embedding_dimension() == 24
    assert model[0].media_hints()["sampling_rate"] == CLAP_SAMPLING_RATE
    hf_model, processor = hf(folder)
    clips = [tone(1.5, CLAP_SAMPLING_RATE), tone(2.5, CLAP_SAMPLING_RATE, 220.0)]
    feats = processor.feature_extractor([c["array"] for c in clips], sampling_rate=CLAP_SAMPLING_RATE,
                                        return_tensors="pt")
    with torch.no_grad():
        direct = hf_model.get_audio_features(**feats)
        direct_text = hf_model.get_text_features(**processor.tokenizer(TEXTS, padding=True, return_tensors="pt"))
    assert_same_direction(model.encode(clips), direct)
    assert_same_direction(model.encode(TEXTS), direct_text)
    # a 16 kHz file is resampled to the extractor's 48 kHz by the input layer, mixed with text at any batch size
    items = ["a dog barking", speech_paths[1], "hello", clips[0]]
    alone = np.stack([model.encode(item) for item in items])
    for batch_size in (1, 2, 32):
        np.testing.assert_allclose(model.encode(items, batch_size=batch_size), alone, atol=2e-6)


def test_mm_xclip_video_matches_transformers_on_the_same_frames(model_dirs, video_frames):
    """Video goes frame-wise through X-CLIP's image processor (no torchvision) and equals transformers'
    ``processor(videos=...)`` + ``get_video_features`` on the frames the input layer sampled (8, as the model
    needs)."""
    from omniembed.inputs import load_item

    folder = model_dirs["xclip"]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", "video"] and model.get_embedding_dimension() == 24
    hints = model[0].media_hints()
    assert hints["video_sampling"].num_frames == 8

    sampled = [load_item(v, "video", **hints).frames for v in video_frames]
    assert [s.shape[0] for s in sampled] == [8, 8]
    np.testing.assert_array_equal(sampled[0], video_frames[0][[i * 12 // 8 for i in range(8)]])
    hf_model, processor = hf(folder)
    with torch.no_grad():
        direct = hf_model.get_video_features(**processor(videos=[list(s) for s in sampled], return_tensors="pt"))
        direct_text = hf_model.get_text_features(**processor.tokenizer(TEXTS, padding=True, return_tensors="pt"))
    assert_same_direction(model.encode(video_frames), direct)
    assert_same_direction(model.encode(TEXTS), direct_text)

    items = ["a video of people dancing", video_frames[0], "a dog", {"video": video_frames[1]}]
    alone = np.stack([model.encode(item) for item in items])
    for batch_size in (1, 2, 32):
        np.testing.assert_allclose(model.encode(items, batch_size=batch_size), alone, atol=2e-6)


def test_mm_xclip_video_file(model_dirs, tmp_path):
    """An mp4 on disk: decoded and sampled by PyAV, embedded like its decoded frames."""
    from support import media

    from omniembed.inputs import load_item

    path = media.encode_video([media.index_frame(i, 48) for i in range(20)], fps=10, path=str(tmp_path / "v.mp4"))
    model = SentenceTransformer(model_dirs["xclip"], device="cpu")
    clip = load_item(path, "video", **model[0].media_hints())
    assert clip.frames.shape[0] == 8
    np.testing.assert_allclose(model.encode(path), model.encode(clip.frames), atol=1e-6)
    scores = model.similarity(model.encode(["a video of people dancing"]), model.encode([path]))
    assert scores.shape == (1, 1)


def test_mm_image_only_prompt_is_ignored_on_dual_encoders(model_dirs, images):
    model = SentenceTransformer(model_dirs["clip"], device="cpu")
    np.testing.assert_allclose(model.encode(images, prompt="query: "), model.encode(images), atol=1e-6)
    assert not np.allclose(model.encode("a cat", prompt="query: "), model.encode("a cat"))


def test_mm_unsupported_modality_is_a_typed_error(model_dirs, images, video_frames):
    from omniembed.errors import UnsupportedModalityError

    model = SentenceTransformer(model_dirs["clip"], device="cpu")
    with pytest.raises(UnsupportedModalityError, match="'video' is not supported.*Supported modalities: text, image"):
        model.encode([video_frames[0]])
    with pytest.raises(UnsupportedModalityError, match="supports image and text individually, but cannot combine"):
        model.encode([{"text": "a cat", "image": images[0]}])
    with pytest.raises(UnsupportedModalityError) as info:
        model.encode(["a cat", {"audio": {"array": np.zeros(1600, np.float32), "sampling_rate": 16000}}])
    assert info.value.index == 1 and "'audio'" in str(info.value)


def test_mm_video_sampling_follows_processing_kwargs(model_dirs):
    """The reference's video knobs (num_frames / fps / do_sample_frames) choose the loader's sampling for models
    without a fixed frame count; X-CLIP's fixed 8 frames always win."""
    from types import SimpleNamespace

    from omniembed.families.video import sampling_for

    model, processor = SimpleNamespace(config=SimpleNamespace()), SimpleNamespace()
    assert sampling_for(model, processor) is None
    assert sampling_for(model, processor, {"num_frames": 4}).num_frames == 4
    by_fps = sampling_for(model, processor, {"fps": 1.0})
    assert by_fps.fps == 1.0 and by_fps.num_frames is None
    assert sampling_for(model, processor, {"do_sample_frames": False}).fps is None
    xclip = SentenceTransformer(model_dirs["xclip"], device="cpu")[0]
    assert xclip.media_hints("video", {"video": {"num_frames": 3}})["video_sampling"].num_frames == 8


def test_mm_git_takes_text_and_image_text_pairs(model_dirs, images):
    """GIT (reference edge case): text alone and (image, text) together, through the processor's own call."""
    folder = model_dirs["git"]
    model = SentenceTransformer(folder, device="cpu")
    assert model.modalities == ["text", ("image", "text")]
    hf_model, processor = hf(folder)
    with torch.no_grad():
        direct = hf_model(**processor(text=["a cat"], images=[images[0]], return_tensors="pt")).last_hidden_state
    assert_same_direction(model.encode({"text": "a cat", "image": images[0]}), direct.mean(1))
    items = ["a cat", {"image": images[0], "text": "a dog"}, "berlin"]
    alone = np.stack([model.encode(item) for item in items])
    np.testing.assert_allclose(model.encode(items, batch_size=32), alone, atol=2e-6)
