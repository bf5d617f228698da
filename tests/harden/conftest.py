"""Shared fixtures of the hardening tests: tiny models built once per session. (The loopback helpers are imported
as ``harden._loopback_media``: this folder is not put on sys.path, where its conftest.py would shadow the one
``tests/server`` imports by name.)"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory) -> str:
    from support.models import build_clip

    return str(build_clip(tmp_path_factory.mktemp("harden_clip")))


@pytest.fixture(scope="session")
def clap_dir(tmp_path_factory) -> str:
    from support.models import build_clap

    return str(build_clap(tmp_path_factory.mktemp("harden_clap")))
