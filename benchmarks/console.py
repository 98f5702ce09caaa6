"""How the ``transferkit`` command talks to people: help pages and warnings.

* :class:`HelpFormatter` shows every option's default (unless the help text already
  says it, or the default is "off"/unset) next to argparse's list of allowed values,
  and keeps the line breaks of descriptions and epilogs that have them (examples);
* :class:`CommandParser` is the parser class of every subcommand: it uses that
  formatter, and a subcommand registered without a description gets its one-line
  help as description;
* :func:`user_warnings` prints the warnings of a run as ``transferkit: warning:
  message`` lines, without the source path and code line that Python's default
  format adds.

Example:
    >>> import argparse
    >>> p = CommandParser(prog="demo")
    >>> _ = p.add_argument("--size", type=int, default=50, help="rows to keep")
    >>> "rows to keep (default: 50)" in p.format_help()
    True
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import re
import sys
import warnings
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["CommandParser", "HelpFormatter", "SubCommands", "format_user_warning", "user_warnings"]

_SAYS_DEFAULT = re.compile(r"\bdefault\b", re.IGNORECASE)
#: actions whose default goes without saying (a flag is off, help and version print)
_SILENT = (
    argparse._StoreTrueAction,
    argparse._StoreFalseAction,
    argparse._HelpAction,
    argparse._VersionAction,
    argparse._CountAction,
)


#: defaults that mean "unset" or "off" (compared by identity: 0 is a real default)
_UNSET = (None, False, argparse.SUPPRESS)


def _shows_default(action: argparse.Action) -> bool:
    if isinstance(action, _SILENT) or any(action.default is v for v in _UNSET):
        return False
    if action.help is argparse.SUPPRESS or _SAYS_DEFAULT.search(action.help or ""):
        return False
    return bool(action.option_strings) or action.nargs in (argparse.OPTIONAL, argparse.ZERO_OR_MORE)


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, plus each option's default and pre-formatted examples.

    A default is shown as ``(default: VALUE)`` unless it is unset (``None``), a
    flag that is off, or already named in the help text.  A description or epilog
    that contains line breaks is printed as written; one without is wrapped.
    """

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if _shows_default(action):
            text = f"{text} (default: %(default)s)" if text else "default: %(default)s"
        return text

    def _format_action(self, action: argparse.Action) -> str:
        if not action.help and _shows_default(action):  # argparse skips empty help
            action = copy.copy(action)
            action.help = "default: %(default)s"
        return super()._format_action(action)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip("\n"):
            return "\n".join(indent + line if line else line for line in text.splitlines())
        return super()._fill_text(text, width, indent)


class SubCommands(argparse._SubParsersAction):
    """Sub-parsers that default their description to their one-line help."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        help_text = kwargs.get("help")
        if kwargs.get("description") is None and isinstance(help_text, str) and help_text:
            kwargs["description"] = help_text[0].upper() + help_text[1:].rstrip(".") + "."
        return super().add_parser(name, **kwargs)


class CommandParser(argparse.ArgumentParser):
    """The parser of ``transferkit`` and of every subcommand (see the module docs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", SubCommands)


def format_user_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    line: str | None = None,
) -> str:
    """One ``transferkit: warning: ...`` line for user-facing warning categories.

    ``UserWarning`` and ``RuntimeWarning`` (and their subclasses, such as the
    embedding cache's ``CacheWarning``) are what transferkit tells users; other
    categories (deprecations) keep Python's format with the source location.

    Example:
        >>> format_user_warning(RuntimeWarning("3 texts had no known word"), RuntimeWarning,
        ...                     "/site-packages/x.py", 12)
        'transferkit: warning: 3 texts had no known word\\n'
    """
    if issubclass(category, (UserWarning, RuntimeWarning)):
        name = category.__name__
        kind = "" if name in ("UserWarning", "RuntimeWarning") else f" ({name})"
        return f"transferkit: warning: {message}{kind}\n"
    return _ORIGINAL_FORMAT(message, category, filename, lineno, line)


_ORIGINAL_FORMAT = warnings.formatwarning


@contextlib.contextmanager
def user_warnings(stream: TextIO | None = None) -> Iterator[None]:
    """Show warnings as one plain line each while the block runs (the CLI's policy).

    Python's own filters still decide which warnings are shown; only the format
    changes.  ``stream`` defaults to the current ``sys.stderr``.

    Example:
        >>> import io, warnings
        >>> out = io.StringIO()
        >>> with user_warnings(out):
        ...     warnings.warn("no text had a known word", RuntimeWarning)
        >>> out.getvalue()
        'transferkit: warning: no text had a known word\\n'
    """

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        target = file or stream or sys.stderr
        with contextlib.suppress(OSError, ValueError):
            target.write(format_user_warning(message, category, filename, lineno, line))

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
