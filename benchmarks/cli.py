"""The ``transferkit`` command line.

Each subcommand lives in its own module exposing ``register(subparsers)``, which
adds a parser and sets ``func`` (a callable taking the parsed args and returning an
exit code).  Add a module to ``COMMANDS`` to add a subcommand.

Example:
    $ transferkit models
    $ transferkit encode --model minilm-l6 --input texts.txt --output vecs.npy
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from embeddings.errors import TransferkitError

COMMANDS: tuple[str, ...] = (
    "benchmarks.commands.cache",
    "benchmarks.commands.encode",
    "benchmarks.commands.models",
    "benchmarks.commands.data",
    "benchmarks.commands.train",
    "benchmarks.commands.curve",
    "benchmarks.commands.finetune",
    "benchmarks.commands.bench",
    "benchmarks.commands.report",
    "benchmarks.commands.store",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every registered subcommand."""
    from benchmarks.console import CommandParser

    parser = CommandParser(
        prog="transferkit", description="Transfer learning with text embeddings."
    )
    from embeddings import __version__

    parser.add_argument("--version", action="version", version=f"transferkit {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    sub.required = True
    for module in COMMANDS:
        importlib.import_module(module).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (errors print one clear line, exit 2)."""
    from benchmarks.console import user_warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with user_warnings():  # one plain line per warning, no source path or code line
            return int(args.func(args) or 0)
    except TransferkitError as err:
        print(f"transferkit {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
