"""The examples in the index modules' docstrings run and give the shown results."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["omniembed.index.schema", "omniembed.index.store", "omniembed.index.sources",
                                  "omniembed.index.reading", "omniembed.index.search", "omniembed.index.thumbnails",
                                  "omniembed.index.errors", "omniembed.index.media_index", "omniembed.cli._outputs"])
def test_index_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("name", ["omniembed.index", "omniembed.index.web",
                                  "omniembed.index.sync"])
def test_examples_that_need_a_real_model_are_marked_skip(name):
    assert doctest.testmod(importlib.import_module(name)).failed == 0
