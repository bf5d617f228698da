"""Loading hints: a full Whisper checkpoint embeds with its encoder; a raw VLM folder as a CrossEncoder says how
to assemble a reranker."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from omniembed import CrossEncoder, SentenceTransformer
from omniembed.errors import ModelLoadError


@pytest.mark.slow
def test_full_whisper_checkpoint_embeds_like_its_encoder(whisper_encoder_dir, speech_paths, tmp_path):
    full_dir = Path(whisper_encoder_dir).parent / "full"
    assert json.loads((full_dir / "config.json").read_text())["architectures"] == ["WhisperForConditionalGeneration"]
    from_full = SentenceTransformer(str(full_dir), device="cpu")
    from_encoder = SentenceTransformer(whisper_encoder_dir, device="cpu")
    assert type(from_full[0].auto_model).__name__ == "WhisperEncoder"
    a, b = from_full.encode(speech_paths), from_encoder.encode(speech_paths)
    np.testing.assert_array_equal(a, b)
    assert a.std() > 0.01  # real weights, not a constant
    from_full.save(str(tmp_path / "saved"))
    assert json.loads((tmp_path / "saved" / "config.json").read_text())["architectures"] == ["WhisperEncoder"]
    np.testing.assert_array_equal(SentenceTransformer(str(tmp_path / "saved"), device="cpu").encode(speech_paths), b)


def test_cross_encoder_on_a_raw_vlm_folder_says_how_to_build_a_reranker(model_dirs):
    with pytest.raises(ModelLoadError) as info:
        CrossEncoder(model_dirs["llava"], device="cpu")
    message = str(info.value)
    assert "holds a vision-language model (LlavaForConditionalGeneration)" in message
    assert "transformer_task='any-to-any'" in message and "LogitScore(<id of 'yes'>, <id of 'no'>)" in message
    assert "docs/getting-started.md ('A reranker from a vision-language model')" in message
    assert "## 6. A reranker from a vision-language model" in (
        Path(__file__).resolve().parents[2] / "docs" / "getting-started.md").read_text()
