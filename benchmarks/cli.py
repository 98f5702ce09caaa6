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
import os
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
    "benchmarks.commands.advise",
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


def describe_os_error(err: OSError) -> str:
    """One line for a failed file operation: what failed, and the path(s) it names.

    Example:
        >>> describe_os_error(FileNotFoundError(2, "No such file or directory", "/x/o.npy"))
        'No such file or directory: /x/o.npy'
    """
    what = err.strerror or str(err) or type(err).__name__
    paths = [os.fsdecode(p) for p in (err.filename, err.filename2) if p is not None]
    text = f"{what}: {' -> '.join(paths)}" if paths else what
    return _one_line(text)


def _one_line(text: str) -> str:
    """``text`` with its line breaks turned into spaces (a path or value may hold some)."""
    return " ".join(text.splitlines())


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the exit flush does not fail on a closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # stdout is not a real file (captured in tests)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    Errors print one line ``transferkit COMMAND: error: ...`` to stderr: transferkit's
    own errors exit with 2, failed file operations (``OSError``: a missing folder,
    no permission, a file where a folder is needed) with 1, naming the path.  Ctrl-C
    exits with 130, a closed output pipe (``transferkit models | head -1``) with 141.
    Any other exception is a bug and keeps its traceback.
    """
    from benchmarks.console import user_warnings

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with user_warnings():  # one plain line per warning, no source path or code line
            return int(args.func(args) or 0)
    except TransferkitError as err:
        print(f"transferkit {args.command}: error: {_one_line(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"transferkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except OSError as err:
        print(f"transferkit {args.command}: error: {describe_os_error(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
