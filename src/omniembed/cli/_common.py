"""Helpers shared by the ``index``, ``search`` and ``encode`` subcommands (not a subcommand itself)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class RawDefaults(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keep the examples' line breaks in ``--help`` and show each option's default."""


def usage_error(command: str, message: str) -> int:
    """Report a usage problem found after parsing (argparse's own errors already exit with 2)."""
    print(f"omniembed {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


@contextmanager
def quiet_libraries(debug: bool) -> Iterator[None]:
    """Keep stderr for the command's own progress and errors while it runs: transformers' per-load progress
    bars and the per-call "N inputs failed" warnings repeat what the command reports itself. Everything is put
    back afterwards (the CLI also runs in-process, e.g. from tests). Libraries not imported yet are quietened
    through their environment variables, so that a command that never loads a model never imports them."""
    if debug:
        yield
        return
    with ExitStack() as undo:
        omni = logging.getLogger("omniembed")
        undo.callback(omni.setLevel, omni.level)
        omni.setLevel(logging.ERROR)
        if "transformers" in sys.modules:
            from transformers.utils import logging as hf_logging

            undo.callback(hf_logging.set_verbosity, hf_logging.get_verbosity())
            if hf_logging.is_progress_bar_enabled():
                undo.callback(hf_logging.enable_progress_bar)
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        else:
            _set_env(undo, "TRANSFORMERS_VERBOSITY", "error")
        if "huggingface_hub" in sys.modules:
            from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

            if not are_progress_bars_disabled():
                undo.callback(enable_progress_bars)
            disable_progress_bars()
        else:
            _set_env(undo, "HF_HUB_DISABLE_PROGRESS_BARS", "1")
        yield


def _set_env(undo: ExitStack, name: str, value: str) -> None:
    previous = os.environ.get(name)
    os.environ[name] = value
    undo.callback(lambda: os.environ.pop(name, None) if previous is None else os.environ.__setitem__(name, previous))


def write_jsonl(path: str, rows: Iterable[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON lines to ``path`` (``-``: stdout)."""
    if path == "-":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value
