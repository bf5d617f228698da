"""Each example in examples/ runs end to end on a tiny local folder, offline, in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each example starts a fresh interpreter and loads its model

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, *args: str) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run([sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True,
                          timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_mm_example_text_image_similarity(model_dirs):
    out = _run("text_image_similarity.py", model_dirs["clip"])
    assert "modalities=['text', 'image']" in out and "images x captions" in out and "Mixed call" in out


def test_mm_example_retrieval_query_document(model_dirs):
    out = _run("retrieval_query_document.py", model_dirs["llava"], "--query-prompt", "Find the matching item.")
    assert "'a red square'" in out and out.count("<image") >= 4


def test_mm_example_audio_similarity(whisper_encoder_dir, speech_paths):
    out = _run("audio_similarity.py", whisper_encoder_dir, *speech_paths[:2])
    assert "Audio x audio" in out and "dog.wav" in out and "noise" in out


def test_mm_example_video_text(model_dirs):
    out = _run("video_text.py", model_dirs["xclip"])
    assert "videos x captions" in out and "moving square" in out
