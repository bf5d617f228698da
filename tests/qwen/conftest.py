"""Session fixtures for the issue-8 Qwen tests: the tiny model suite, the committed reference fixture, the oracle."""

from __future__ import annotations

import json
import logging
import warnings
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "support" / "fixtures"


@pytest.fixture(autouse=True)
def _quiet():
    # transformers warns about tiny-config quirks and the unused lm_head on every AutoModel load
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("transformers").setLevel(logging.ERROR)
        yield


class ReferenceFixture:
    """``tests/support/fixtures/qwen_reference.{json,npz}``: what sentence-transformers 6.2.0 (with torchvision)
    computed on the suite built by ``support.qwen_saved.build_qwen_suite``; see ``benchmarks/compat_qwen.py``."""

    def __init__(self, folder: Path, media: Path):
        self.data = json.loads((folder / "qwen_reference.json").read_text())
        with np.load(folder / "qwen_reference.npz") as arrays:
            self.arrays = {key: arrays[key] for key in arrays.files}
        self.media = media

    @property
    def manifest(self) -> dict:
        return self.data["manifest"]

    @cached_property
    def cases(self) -> dict[str, dict]:
        return {case["id"]: case for case in self.data["cases"]}

    def select(self, **match: Any) -> list[dict]:
        return [c for c in self.data["cases"] if all(c.get(k) == v for k, v in match.items())]

    def inputs(self, case_id: str) -> Any:
        from support.qwen_inputs import resolve

        return resolve(self.cases[case_id]["inputs"], self.media)

    def kwargs(self, case_id: str) -> dict:
        from support.qwen_inputs import resolve

        return resolve(self.cases[case_id]["kwargs"], self.media)

    def array(self, key: str) -> np.ndarray:
        return self.arrays[key]


@pytest.fixture(scope="session")
def qwen_suite(tmp_path_factory) -> dict[str, Path]:
    """Every folder of ``support.qwen_saved.SUITE``, built once (about 2 s)."""
    from support.qwen_saved import build_qwen_suite

    return build_qwen_suite(tmp_path_factory.mktemp("qwen_suite"))


@pytest.fixture(scope="session")
def qwen_reference(tmp_path_factory) -> ReferenceFixture:
    return ReferenceFixture(FIXTURES, tmp_path_factory.mktemp("qwen_media"))


@pytest.fixture(scope="session")
def qwen_oracle(qwen_suite):
    from support.qwen_oracle import QwenOracle

    return QwenOracle(qwen_suite)
