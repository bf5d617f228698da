"""The examples in the server's docstrings run and give the shown results."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", [
    "omniembed.server", "omniembed.server.settings", "omniembed.server.errors", "omniembed.server.items",
    "omniembed.server.batcher", "omniembed.server.metrics", "omniembed.server.middleware",
    "omniembed.server.served", "omniembed.cli.serve",
])
def test_server_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
