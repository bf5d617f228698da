"""`make demo` shows real text search and real speech offline; example scripts fail in one helpful line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           **(env or {})}
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600, env=env,
                          cwd=ROOT, check=False)


@pytest.mark.slow
def test_demo_searches_text_and_compares_real_speech(whisper_encoder_dir):
    # The tests' converted Whisper has the demo cache's layout: point the demo at it instead of converting again.
    cache = str(Path(whisper_encoder_dir).parents[1])
    done = _run("examples/demo.py", env={"OMNIEMBED_CACHE": cache})
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert done.stderr == ""  # quiet: no progress bars or load reports
    # text: the reference's figures for all-MiniLM-L6-v2 (offline-assets.md §3.1)
    assert "Someone is having a meal.\n    0.689  A man is eating food.\n    0.580  A man is eating a piece of bread." in out
    assert "A person rides an animal.\n    0.580  A man is riding a horse." in out
    # audio: speech is closer to speech than to a tone or noise
    rows = {m.group(1).strip(): [float(x) for x in m.group(2).split()]
            for m in re.finditer(r"^ {2}([ \w]{12}) ((?: +-?\d\.\d{3}){5})$", out, re.MULTILINE)}
    assert set(rows) == {"hello", "dog", "weather", "tone 440 Hz", "noise"}
    for clip in ("hello", "dog", "weather"):
        speech = [rows[clip][i] for i, other in enumerate(rows) if other not in (clip, "tone 440 Hz", "noise")]
        assert min(speech) > max(rows[clip][3], rows[clip][4]), (clip, rows[clip])
    # audio -> text: each clip ranks its own transcript first
    assert re.search(r"hello\.wav +-\d\.\d\d  Hello world, this is a test", out)
    assert re.search(r"dog\.wav +-\d\.\d\d  A dog is barking loudly", out)
    assert re.search(r"weather\.wav +-\d\.\d\d  The weather will be sunny", out)


@pytest.mark.slow
@pytest.mark.parametrize(("script", "folder_hint"), [
    ("audio_similarity.py", "whisper_tiny_en() / 'encoder'"),
    ("text_image_similarity.py", "a CLIP, SigLIP or ALIGN folder"),
    ("video_text.py", "an X-CLIP folder"),
    ("retrieval_query_document.py", "python examples/retrieval_query_document.py MODEL_FOLDER"),
])
def test_examples_offline_say_which_folder_to_pass(script, folder_hint):
    done = _run(f"examples/{script}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith(f"{script}: Model '") and "hub access is off" in done.stderr
    assert "Pass a local folder instead" in done.stderr and folder_hint in done.stderr


def test_packaged_whisper_converts_once_into_the_cache(whisper_encoder_dir, monkeypatch):
    from omniembed import SentenceTransformer
    from omniembed.serialization.ctranslate2 import whisper_tiny_en

    root = Path(whisper_encoder_dir).parents[1]
    monkeypatch.setenv("OMNIEMBED_CACHE", str(root))
    folders = whisper_tiny_en()  # already converted by the test fixture: returned at once, same place
    assert folders == Path(whisper_encoder_dir).parent
    model = SentenceTransformer(str(folders / "encoder"), device="cpu")
    assert model.get_embedding_dimension() == 384
