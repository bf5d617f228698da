"""Audio encoders (Wav2Vec2, HuBERT, the real Whisper tiny.en encoder): mean pooling over the *valid* frames only,
checked against direct transformers computations, plus the switch that restores the reference's padded pooling."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from support.mm_helpers import assert_same_direction, cosines, hf, load_json, masked_mean, tone, white_noise

from omniembed import SentenceTransformer
from omniembed.inputs import load_item

pytestmark = pytest.mark.usefixtures("quiet_transformers")

PADDED = {"audio": {"pool_valid_frames": False}}


def _clips(rate: int = 16_000) -> list[dict]:
    rng = np.random.default_rng(3)
    return [{"array": (0.3 * rng.standard_normal(n)).astype(np.float32), "sampling_rate": rate}
            for n in (16_000, 7_000, 11_000)]


@pytest.mark.slow  # one forward pass per clip, several clips per family
@pytest.mark.parametrize("name", ["wav2vec2", "hubert"])
def test_mm_conv_audio_encoder_pools_valid_frames(name, model_dirs):
    folder = model_dirs[name]
    model = SentenceTransformer(folder, device="cpu")
    expected = ["audio", ("audio", "text")] if name == "wav2vec2" else ["audio"]  # hubert: no tokenizer
    assert model.modalities == expected
    assert type(model[1]).__name__ == "Pooling" and model.get_embedding_dimension() == 32

    hf_model, _ = hf(folder)
    from transformers import AutoFeatureExtractor

    extractor = AutoFeatureExtractor.from_pretrained(folder)
    direct = []
    for clip in _clips():  # each clip alone: no padding, every frame is real audio
        feats = extractor([clip["array"]], sampling_rate=16_000, return_tensors="pt")
        with torch.no_grad():
            direct.append(hf_model(**feats).last_hidden_state.mean(1)[0].numpy())
    batched = model.encode(_clips(), batch_size=32)
    assert_same_direction(batched, np.stack(direct))
    for batch_size in (1, 2):
        np.testing.assert_allclose(model.encode(_clips(), batch_size=batch_size), batched, atol=2e-6)


def test_mm_conv_audio_padded_pooling_switch_reproduces_the_reference(model_dirs):
    """pool_valid_frames=False: one padded batch, mean over every frame (what sentence-transformers computes)."""
    folder = model_dirs["wav2vec2"]
    model = SentenceTransformer(folder, device="cpu")
    hf_model, processor = hf(folder)
    clips = _clips()
    feats = processor.feature_extractor([c["array"] for c in clips], sampling_rate=16_000, padding=True,
                                        return_tensors="pt")
    with torch.no_grad():
        reference = hf_model(**feats).last_hidden_state.mean(1)
    assert_same_direction(model.encode(clips, processing_kwargs=PADDED), reference)
    assert cosines(model.encode(clips), reference).min() < 0.9999  # the default really differs


def test_mm_audio_text_combined_input_embeds_the_audio(model_dirs):
    model = SentenceTransformer(model_dirs["wav2vec2"], device="cpu")
    clip = _clips()[0]
    combined = model.encode({"audio": clip, "text": "hello world"})
    np.testing.assert_allclose(combined, model.encode(clip), atol=1e-6)


@pytest.mark.slow  # the real Whisper tiny.en encoder over 30 s windows
def test_mm_whisper_encoder_matches_transformers(whisper_encoder_dir, speech_paths):
    model = SentenceTransformer(whisper_encoder_dir, device="cpu")
    assert model.modalities == ["audio", ("audio", "text")]
    assert model.get_embedding_dimension() == 384 and model[0].media_hints()["sampling_rate"] == 16_000
    from transformers import AutoProcessor
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    hf_model = WhisperEncoder.from_pretrained(whisper_encoder_dir, dtype=torch.float32).eval()
    processor = AutoProcessor.from_pretrained(whisper_encoder_dir)
    clips = [load_item(p, "audio", sampling_rate=16_000) for p in speech_paths[:2]] + [tone(1.0)]
    feats = processor.feature_extractor([c.array if hasattr(c, "array") else c["array"] for c in clips],
                                        sampling_rate=16_000, return_tensors="pt")
    with torch.no_grad():
        hidden = hf_model(**feats).last_hidden_state
    assert hidden.shape[1] == 1500
    seconds = [len(c.array if hasattr(c, "array") else c["array"]) / 16_000 for c in clips]
    valid = [max(1, int(s * 50)) for s in seconds]
    assert_same_direction(model.encode(clips), masked_mean(hidden, valid))
    assert_same_direction(model.encode(clips, processing_kwargs=PADDED), hidden.mean(1))
    tokens = model.encode(clips, output_value="token_embeddings")
    assert [t.shape for t in tokens] == [(n, 384) for n in valid]  # trimmed at the last real frame


def _whisper_similarities(model, speech_paths, **kwargs) -> np.ndarray:
    items = [*speech_paths, tone(3.0), white_noise(3.0)]
    emb = model.encode(items, convert_to_tensor=True, **kwargs)
    return model.similarity(emb, emb).numpy()


@pytest.mark.slow  # the real Whisper tiny.en encoder over 30 s windows
def test_mm_whisper_speech_clips_are_closer_to_each_other_than_to_tone_or_noise(whisper_encoder_dir, speech_paths):
    """The real check: hello/dog/weather (speech) vs a 440 Hz tone and white noise. Valid-frame pooling keeps
    every speech–speech similarity above every speech–(tone|noise) one, and pulls speech–noise far below the
    padded pooling's (which averages ~27 s of identical padding into every clip). Measured numbers:
    docs/differences.md."""
    model = SentenceTransformer(whisper_encoder_dir, device="cpu")
    valid = _whisper_similarities(model, speech_paths)
    padded = _whisper_similarities(model, speech_paths, processing_kwargs=PADDED)
    speech, other = slice(0, 3), slice(3, 5)
    for sims in (valid, padded):
        for i in range(3):
            same = [sims[i, j] for j in range(3) if j != i]
            assert min(same) > sims[i, other].max()
    assert valid[speech, other].max() < 0.7 and padded[speech, other].min() > 0.8
    assert (padded[speech, 4] - valid[speech, 4]).min() > 0.15  # speech–noise drops by > 0.15 for every clip
    assert valid[speech, speech][np.triu_indices(3, 1)].min() < 0.95  # no longer squeezed to ≈ 0.99


@pytest.mark.slow  # the real Whisper tiny.en encoder over 30 s windows
def test_mm_pool_valid_frames_saved_on_the_transformer(whisper_encoder_dir, tmp_path):
    from omniembed.modules import Pooling, Transformer

    transformer = Transformer(whisper_encoder_dir, processing_kwargs=PADDED)
    model = SentenceTransformer(modules=[transformer, Pooling(384)], device="cpu")
    model.save(str(tmp_path / "padded"))
    saved = load_json(os.path.join(tmp_path, "padded", "sentence_bert_config.json"))
    assert saved["processing_kwargs"] == PADDED
    assert saved["modality_config"]["audio+text"]["method"] == "forward"
    reloaded = SentenceTransformer(str(tmp_path / "padded"), device="cpu")
    clip = tone(2.0)
    np.testing.assert_allclose(reloaded.encode(clip), model.encode(clip), atol=1e-6)
    default = SentenceTransformer(whisper_encoder_dir, device="cpu")
    np.testing.assert_allclose(reloaded.encode(clip), default.encode(clip, processing_kwargs=PADDED), atol=1e-6)
    # a per-call value wins over the saved one, without changing the module
    np.testing.assert_allclose(reloaded.encode(clip, processing_kwargs={"audio": {"pool_valid_frames": True}}),
                               default.encode(clip), atol=1e-6)
    assert reloaded[0].processing_kwargs == PADDED


def test_mm_audio_in_another_rate_is_resampled_by_the_loader(model_dirs):
    model = SentenceTransformer(model_dirs["wav2vec2"], device="cpu")
    at_8k = tone(1.0, rate=8_000)
    emb = model.encode([at_8k, tone(1.0)])
    assert emb.shape == (2, 32) and cosines(emb[0], emb[1])[0] > 0.99
