"""The examples in the util docstrings run and give the shown results."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    ["omniembed.util", "omniembed.util.tensor", "omniembed.util.similarity", "omniembed.util.search",
     "omniembed.util.quantization"],
)
def test_util_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
