"""Shared fixtures of the hardening tests: tiny models built once per session, the loopback helpers on sys.path."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # _loopback_media


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> str:
    from support.models import build_clip

    return str(build_clip(tmp_path_factory.mktemp("harden_clip")))


@pytest.fixture(scope="session")
def clap_dir(tmp_path_factory) -> str:
    from support.models import build_clap

    return str(build_clap(tmp_path_factory.mktemp("harden_clap")))
