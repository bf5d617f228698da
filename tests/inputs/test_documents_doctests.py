"""The examples in the docstrings of the input modules the document support touches run as shown."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    ["omniembed.inputs", "omniembed.inputs.documents", "omniembed.inputs.document_checks", "omniembed.inputs.pdf_render",
     "omniembed.inputs.detect", "omniembed.inputs.sniff", "omniembed.inputs.limits", "omniembed.inputs.loader"],
)  # fmt: skip
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
