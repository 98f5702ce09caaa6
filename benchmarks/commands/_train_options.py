"""``transferkit train``'s command line: the options of a family, and ``--list``.

Every family's options are derived from its constructor by
:func:`benchmarks.commands._options.options_spec`; this module turns them into an
argument parser whose errors are one-line :class:`InvalidParameterError` messages
that name the allowed options and suggest close ones.

Example:
    >>> from embeddings.training.families import get_trainable
    >>> ns, explicit = parse_options(get_trainable("word2vec"),
    ...                              ["--corpus", "c.txt", "--out", "o", "--epochs", "2"])
    >>> ns.corpus, explicit
    ('c.txt', {'epochs': 2})
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from benchmarks.commands._options import (
    describe_family,
    options_spec,
    warn_renamed_flags,
)
from embeddings.errors import InvalidParameterError

__all__ = ["OptionParser", "data_flag", "list_families", "parse_options"]


class OptionParser(argparse.ArgumentParser):
    """An argument parser whose errors are ``InvalidParameterError`` (one line, exit 2)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        message = re.sub(r"^argument (\S+): \1 ", r"\1 ", message)
        raise InvalidParameterError(f"{message} (`{self.prog} --help` lists the options)")


class _SetParams(argparse.Action):
    """A shortcut flag that sets one or more parameters to fixed values (``--cbow``)."""

    def __init__(
        self, option_strings: list[str], dest: str, *, values: Mapping[str, Any], **kwargs: Any
    ) -> None:
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.values_to_set = dict(values)

    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        for key, value in self.values_to_set.items():
            setattr(namespace, key, value)


def _value_parser(option: Any) -> Any:
    def parse(text: str) -> Any:
        try:
            return option.parse(text)
        except InvalidParameterError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = option.kind
    return parse


def _help(option: Any) -> str:
    text = option.help or option.param
    default = "none" if option.default is None else option.default
    return f"{text} (default: {default})".replace("%", "%%")


def _option_parser(family: Any) -> tuple[argparse.ArgumentParser, list[Any]]:
    spec = options_spec(family)
    p = OptionParser(
        prog=f"transferkit train {family.name}",
        description=family.description,
        allow_abbrev=False,
    )
    g = p.add_argument_group("run")
    g.add_argument(
        data_flag(family),
        dest="corpus",
        help=family.data_help or "text file or folder of *.txt files (stored for --resume)",
    )
    g.add_argument("--out", required=True, help="folder of the trained encoder")
    g.add_argument(
        "--max-minutes",
        type=float,
        default=None,
        metavar="M",
        help="stop after M minutes, after a checkpoint (resumable families)",
    )
    g.add_argument(
        "--resume", action="store_true", help="continue the run stored in OUT (resumable families)"
    )
    g.add_argument("--force", action="store_true", help="delete an existing OUT and start over")
    g.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="steps between checkpoints (resumable families; default: the family's)",
    )
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--json", default=None, metavar="FILE", help="also write the summary as JSON")
    fam = p.add_argument_group(f"{family.name} options")
    for o in spec:
        if o.kind == "bool":
            fam.add_argument(
                o.flag,
                *o.aliases,
                dest=o.param,
                default=argparse.SUPPRESS,
                action=argparse.BooleanOptionalAction,
                help=_help(o),
            )
        else:
            fam.add_argument(
                o.flag,
                *o.aliases,
                dest=o.param,
                default=argparse.SUPPRESS,
                type=_value_parser(o),
                metavar=o.metavar,
                help=_help(o),
            )
    for name, values in family.shortcuts.items():
        shown = _shortcut_text(values, spec)
        fam.add_argument(
            f"--{name}",
            action=_SetParams,
            values=values,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            help=f"the same as {shown}",
        )
    return p, spec


def _shortcut_text(values: Mapping[str, Any], spec: list[Any]) -> str:
    """``{"sg": False}`` -> ``--no-sg``; other values -> ``--flag value``."""
    flags = {o.param: o.flag for o in spec}
    parts = []
    for key, value in values.items():
        flag = flags.get(key, "--" + key.replace("_", "-"))
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{flag[2:]}")
        else:
            parts.append(f"{flag} {'none' if value is None else value}")
    return " ".join(parts)


def _known_flags(parser: argparse.ArgumentParser) -> list[str]:
    return sorted(s for a in parser._actions for s in a.option_strings if s.startswith("--"))


def parse_options(family: Any, argv: Sequence[str]) -> tuple[argparse.Namespace, dict[str, Any]]:
    """``(run options, explicitly given family parameters)``."""
    parser, spec = _option_parser(family)
    warn_renamed_flags(spec, argv)
    ns, extra = parser.parse_known_args(list(argv))
    if extra:
        flags = _known_flags(parser)
        unknown = [e for e in extra if e.startswith("-")] or extra
        first = unknown[0].split("=")[0]
        close = difflib.get_close_matches(first, flags, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        others = _families_with_option(first, exclude=family.name)
        if others:
            hint = f" ({first} is an option of {', '.join(others)})"
        raise InvalidParameterError(
            f"unknown option(s) for {family.name}: {' '.join(unknown)}{hint}. "
            f"Allowed: {', '.join(flags)} (`transferkit train {family.name} --help` explains them)"
        )
    params = [o.param for o in spec] + [k for v in family.shortcuts.values() for k in v]
    explicit = {k: getattr(ns, k) for k in dict.fromkeys(params) if hasattr(ns, k)}
    return ns, explicit


def _families_with_option(flag: str, *, exclude: str) -> list[str]:
    from embeddings.training.families import list_trainable

    return [
        f.name
        for f in list_trainable()
        if f.name != exclude and any(flag in (o.flag, *o.aliases) for o in options_spec(f))
    ]


def data_flag(family: Any) -> str:
    """The family's training-data option: ``--corpus``, or e.g. ``--nli`` for InferSent."""
    return "--" + str(family.data_option).replace("_", "-")


def list_families(families: list[Any], as_json: bool) -> int:
    if as_json:
        print(json.dumps([describe_family(f) for f in families], indent=2))
        return 0
    tables = {f.name: _option_rows(f) for f in families}
    width = min(max(len(r[0]) for rows in tables.values() for r in rows), 34)
    dwidth = max(len(r[1]) for rows in tables.values() for r in rows)
    for k, family in enumerate(families):
        if k:
            print()
        how = "checkpoints, --max-minutes, --resume" if family.resumable else "one pass, no resume"
        print(f"{family.name}: {family.description}")
        print(f"  {family.target} ({how})")
        for flag, default, text in tables[family.name]:
            lead = f"    {flag.ljust(width)}  {default.ljust(dwidth)}  "
            if len(flag) > width:
                lead = f"    {flag}\n    {' ' * width}  {default.ljust(dwidth)}  "
            pad = " " * (4 + width + 2 + dwidth + 2)
            body = textwrap.wrap(text, width=max(100 - len(pad), 30)) or [""]
            print(lead + body[0] + "".join(f"\n{pad}{line}" for line in body[1:]))
    print("\n`transferkit train FAMILY --help` shows the same for one family.")
    return 0


def _option_rows(family: Any) -> list[tuple[str, str, str]]:
    """``(flag with metavar, default, help)`` of every option of ``family``."""
    spec = options_spec(family)
    rows = []
    for o in spec:
        flag = o.flag if o.kind != "bool" else f"{o.flag}/--no-{o.flag[2:]}"
        if o.metavar:
            flag += f" {o.metavar}"
        rows.append((flag, "none" if o.default is None else str(o.default), o.help))
    for name, values in family.shortcuts.items():
        rows.append((f"--{name}", "", f"the same as {_shortcut_text(values, spec)}"))
    return rows
