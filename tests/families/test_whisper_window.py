"""The opt-in that runs Whisper's encoder over the valid frames + margin only (families/whisper_window.py), on the
real Whisper tiny.en encoder: it reproduces the full window when the margin covers it, keeps speech apart from
tone and noise, gives a clip the same embedding alone as in a batch, and really shortens the window."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support.mm_helpers import cosines, tone, white_noise

from omniembed import SentenceTransformer
from omniembed.errors import ConfigError
from omniembed.families import whisper_window
from omniembed.inputs import load_item

pytestmark = pytest.mark.usefixtures("quiet_transformers")

SHORT = {"audio": {"encode_valid_frames": True}}


def test_key_mask_and_window_arithmetic():
    mask = whisper_window.key_mask(torch.tensor([2, 4]), length=3)
    assert mask.tolist() == [[True, True, False], [True, True, True]]

    class Conv:
        stride = (2,)

    class Config:
        max_source_positions = 1500

    class Encoder:
        conv1, conv2, config = type("C1", (), {"stride": (1,)})(), Conv(), Config()

    frames, attended = whisper_window.window(Encoder(), None, torch.tensor([100, 1490]), margin=50)
    assert attended.tolist() == [150, 1500] and frames == 1500  # capped at the 30 s window
    frames, attended = whisper_window.window(Encoder(), None, torch.tensor([100, 120]), margin=50)
    assert attended.tolist() == [150, 170] and frames == 171  # one spare frame for the convolutions' edge
    assert whisper_window.extractor_length(Encoder(), type("E", (), {"hop_length": 160})(), 171) == 171 * 320


@pytest.fixture(scope="module")
def whisper(whisper_encoder_dir):
    return SentenceTransformer(whisper_encoder_dir, device="cpu")


@pytest.fixture(scope="module")
def clips(speech_paths):
    return [load_item(p, "audio", sampling_rate=16_000) for p in speech_paths] + [tone(3.0), white_noise(3.0)]


@pytest.mark.slow  # the real Whisper tiny.en encoder
def test_full_margin_reproduces_the_30s_window(whisper, clips):
    """With a margin that reaches the end of the window, the shortened path runs exactly the encoder's 1500
    frames: the embeddings equal the default ones (transformers' own forward)."""
    default = whisper.encode(clips[:2])
    full = whisper.encode(clips[:2], processing_kwargs={"audio": {"encode_valid_frames": True,
                                                                  "valid_frames_margin": 1500}})
    np.testing.assert_allclose(full, default, atol=2e-5)


@pytest.mark.slow  # the real Whisper tiny.en encoder
def test_short_window_keeps_speech_apart_from_tone_and_noise(whisper, clips):
    short = whisper.encode(clips, processing_kwargs=SHORT, convert_to_tensor=True)
    sims = whisper.similarity(short, short).numpy()
    for i in range(3):  # every speech–speech similarity above every speech–(tone|noise) one
        assert min(sims[i, j] for j in range(3) if j != i) > sims[i, 3:].max()
    assert sims[:3, 3:].max() < 0.7
    default = whisper.encode(clips)
    assert cosines(short.numpy()[:3], default[:3]).min() > 0.97  # speech barely moves (measured 0.980-0.991)
    assert cosines(short.numpy(), default).min() < 0.99  # but it is not the same computation


@pytest.mark.slow  # the real Whisper tiny.en encoder
def test_short_window_embedding_does_not_depend_on_the_batch(whisper, clips):
    batched = whisper.encode(clips, processing_kwargs=SHORT, batch_size=8)
    alone = np.stack([whisper.encode([clip], processing_kwargs=SHORT)[0] for clip in clips])
    np.testing.assert_allclose(alone, batched, atol=2e-5)


def test_short_window_runs_fewer_frames_and_trims_tokens(whisper, clips):
    features = whisper[0].preprocess(clips[:2], modality="audio", processing_kwargs=SHORT)
    seconds = [len(c.array) / 16_000 for c in clips[:2]]
    valid = [int(s * 50) for s in seconds]
    assert features["audio_valid_frames"].tolist() == valid
    assert features["whisper_attended_frames"].tolist() == [v + 50 for v in valid]
    assert features["input_features"].shape[-1] == 2 * (max(valid) + 51) < 3000
    tokens = whisper.encode(clips[:2], processing_kwargs=SHORT, output_value="token_embeddings")
    assert [tuple(t.shape) for t in tokens] == [(v, 384) for v in valid]


def test_short_window_needs_valid_frame_pooling(whisper, clips):
    with pytest.raises(ConfigError, match="pool_valid_frames"):
        whisper.encode(clips[:1], processing_kwargs={"audio": {"encode_valid_frames": True,
                                                               "pool_valid_frames": False}})
    with pytest.raises(ConfigError, match="valid_frames_margin"):
        whisper.encode(clips[:1], processing_kwargs={"audio": {"encode_valid_frames": True,
                                                               "valid_frames_margin": -1}})
