"""The ``omniembed`` command line: one entry point, one module per subcommand.

Each subcommand lives in its own module under ``omniembed.cli`` and exposes two functions:

* ``add_parser(subparsers) -> argparse.ArgumentParser``: registers the subcommand, its help and its options;
* ``run(args) -> int``: does the work and returns the process exit code.

Exit codes, the same for every subcommand: 0 success, 2 usage error (argparse's own code), 3 some items failed,
1 any other error. Errors are one line on stderr without a traceback unless ``--debug`` is given. Progress goes to
stderr, results to stdout.

Example:
    >>> from omniembed.cli import build_parser
    >>> "--debug" in build_parser().format_help()
    True
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from omniembed.errors import OmniEmbedError

__all__ = ["SUBCOMMANDS", "build_parser", "main"]

# Subcommand modules, in the order `omniembed --help` lists them. A module that is not importable because an
# optional extra is missing still gets its subcommand: running it then says which extra to install.
SUBCOMMANDS: tuple[str, ...] = ("serve", "index", "search", "encode")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="omniembed",
        description="Embed, index, search and serve text, images, audio and video.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logging")
    parser.add_argument("--version", action="version", version=_version())
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"omniembed.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"omniembed.cli.{name}":
                continue  # not written yet in this checkout
            raise
        sub = module.add_parser(subparsers)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if getattr(args, "_run", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args._run(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (OmniEmbedError, OSError) as exc:
        if args.debug:
            raise
        print(f"omniembed {args.command}: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _version() -> str:
    from omniembed import __version__

    return f"omniembed {__version__}"
