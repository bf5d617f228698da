"""The issue-8 Qwen tests of the oracle itself. The session fixtures (``qwen_suite``, ``qwen_reference``,
``qwen_oracle``, ``qwen_media_url``) and ``ReferenceFixture`` live in ``support.qwen_fixtures``, registered by
``tests/conftest.py`` so that every test folder shares one build of the suite."""

from __future__ import annotations

import logging
import warnings

import pytest
from support.qwen_fixtures import ReferenceFixture  # noqa: F401  (re-exported: imported from here before)


@pytest.fixture(autouse=True)
def _quiet():
    # transformers warns about tiny-config quirks and the unused lm_head on every AutoModel load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield
