"""Tiny models for the fuzz regression tests (built once per session)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def clap_model(tmp_path_factory):
    from support.models import build_clap

    from omniembed import SentenceTransformer

    return SentenceTransformer(str(build_clap(tmp_path_factory.mktemp("fuzz_clap"))), device="cpu")


@pytest.fixture(scope="session")
def xclip_model(tmp_path_factory):
    from support.models import build_xclip

    from omniembed import SentenceTransformer

    return SentenceTransformer(str(build_xclip(tmp_path_factory.mktemp("fuzz_xclip"))), device="cpu")
