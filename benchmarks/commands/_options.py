"""Command-line options shared by the ``transferkit`` commands, in one place.

``--dev-size``/``--dev-max``/``--test-max`` (:func:`add_split_options`) and the
training options of ``finetune`` and ``curve`` (:func:`add_training_options`):
``--epochs``, ``--learning-rate``, ``--head-learning-rate`` and ``--random-state``,
the names the Python API uses.  Their old spellings (``--max-epochs``, ``--lr``,
``--head-lr``, ``--seed``) still work and print one deprecation warning.

The options of ``transferkit train FAMILY`` (:func:`options_spec`) are derived
from the family's constructor signature (:mod:`embeddings.training.families`):
the name (``hidden_size`` -> ``--hidden-size``; every flag spells the parameter),
the default (the family's, else the constructor's), and the type from the
annotation (``Literal`` gives choices, ``int | None`` accepts ``none``) or from
the default.  Booleans become ``--flag`` / ``--no-flag``.  Old spellings in
:data:`RENAMED_FLAGS` (``--seed``, ``--workers``) stay as aliases that warn once.

Example:
    >>> p = argparse.ArgumentParser()
    >>> add_training_options(p, epochs=3)
    >>> p.parse_args(["--learning-rate", "0.01"]).learning_rate
    0.01
    >>> from embeddings.training.families import get_trainable
    >>> [o.flag for o in options_spec(get_trainable("quick-thought"))][:2]
    ['--hidden-size', '--embedding-dim']
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import re
import types
import typing
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from embeddings import errors
from embeddings.errors import InvalidParameterError, TransferkitDeprecationWarning

if TYPE_CHECKING:
    from embeddings.training.families import TrainableFamily

__all__ = [
    "RENAMED_FLAGS",
    "RESERVED_OPTIONS",
    "TrainOption",
    "add_finetune_options",
    "add_split_options",
    "add_training_options",
    "describe_family",
    "family_defaults",
    "load_task_splits",
    "options_spec",
    "parse_cap",
    "parse_unfreeze",
    "warn_renamed_flags",
    "write_json",
]

#: old command-line spellings of constructor parameters, accepted with one warning
#: (an encoder's own ``renamed_params`` add theirs: ``workers`` -> ``--workers``)
RENAMED_FLAGS: dict[str, tuple[str, ...]] = {"random_state": ("--seed",)}

#: options of ``transferkit train`` itself, which no family parameter may shadow
RESERVED_OPTIONS: tuple[str, ...] = (
    "corpus", "out", "max_minutes", "resume", "force", "checkpoint_every", "no_progress",
    "progress", "json", "list", "help",
)  # fmt: skip


def _warn_renamed(old: str, new: str) -> None:
    """One :class:`TransferkitDeprecationWarning` per old spelling and process.

    The record of what has warned is the one :func:`embeddings.errors.renamed_parameters`
    keeps, so clearing it re-arms the command-line warnings too.
    """
    key = ("transferkit command line", old)
    if key in errors._WARNED:
        return
    errors._WARNED.add(key)
    warnings.warn(
        f"{old} is renamed {new}; the old name will be removed in a future version",
        TransferkitDeprecationWarning,
        stacklevel=3,
    )


class _Renamed(argparse.Action):
    """Store the value; warn once when an old spelling of the option was used."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.new = option_strings[0]
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None and option_string != self.new:
            _warn_renamed(option_string, self.new)
        setattr(namespace, self.dest, values)


def add_training_options(
    p: argparse.ArgumentParser, *, epochs: int, random_state_help: str | None = None
) -> None:
    """``--epochs``, ``--learning-rate``, ``--head-learning-rate`` (and, with
    ``random_state_help``, ``--random-state``), each with its old spelling as an alias."""
    p.add_argument(
        "--epochs", "--max-epochs", type=int, default=epochs, action=_Renamed,
        help="fine-tuning epochs at most",
    )  # fmt: skip
    p.add_argument(
        "--learning-rate", "--lr", type=float, default=5e-5, action=_Renamed,
        help="encoder learning rate",
    )  # fmt: skip
    p.add_argument(
        "--head-learning-rate", "--head-lr", type=float, default=1e-3, action=_Renamed,
        help="softmax head learning rate",
    )  # fmt: skip
    if random_state_help is not None:
        p.add_argument(
            "--random-state", "--seed", type=int, default=0, action=_Renamed,
            help=random_state_help,
        )  # fmt: skip


def parse_cap(value: str) -> int | None:
    """``"all"`` (no cap) or an int >= 1: the most dev or test rows to evaluate on.

    Example:
        >>> parse_cap("500"), parse_cap("all")
        (500, None)
    """
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1 or 'all', got {value!r}")
    return int(text)


def add_split_options(p: argparse.ArgumentParser) -> None:
    """The dev-split and evaluation-cap options shared by ``curve`` and ``finetune``."""
    from benchmarks.curves import DEFAULT_DEV_MAX, DEFAULT_TEST_MAX  # numpy and metrics

    p.add_argument(
        "--dev-size", type=int, default=500, help="dev rows carved from train if the task has none"
    )
    for flag, default, what in (
        ("--dev-max", DEFAULT_DEV_MAX, "evaluate on at most this many dev rows"),
        ("--test-max", DEFAULT_TEST_MAX, "score on at most this many test rows"),
    ):
        help_text = f"{what} (stratified); 'all' for the whole split"
        p.add_argument(flag, type=parse_cap, default=default, help=help_text)


def add_finetune_options(
    p: argparse.ArgumentParser,
    *,
    encoder_help: str,
    unfreeze_help: str,
    patience: int,
    epochs: int,
    random_state_help: str | None = None,
) -> None:
    """The options ``curve`` and ``finetune`` share: the task, the encoder, what
    trains and how (:func:`add_training_options`), the splits
    (:func:`add_split_options`), ``--threads`` and ``--no-progress``.

    Example:
        >>> p = argparse.ArgumentParser()
        >>> add_finetune_options(p, encoder_help="", unfreeze_help="", patience=2, epochs=3)
        >>> p.parse_args(["--task", "TREC", "--threads", "2"]).threads
        2
    """
    p.add_argument("--task", required=True, help="classification task, e.g. SST2, TREC, MR")
    p.add_argument("--encoder", default="minilm-l6", help=encoder_help)
    p.add_argument("--unfreeze", default="2", help=unfreeze_help)
    p.add_argument("--max-seq-length", type=int, default=64, help="truncation, in tokens")
    p.add_argument(
        "--patience", type=int, default=patience, help="epochs without dev gain before stop"
    )
    p.add_argument("--batch-size", type=int, default=16, help="fine-tuning batch size")
    add_training_options(p, epochs=epochs, random_state_help=random_state_help)
    add_split_options(p)
    p.add_argument("--threads", type=int, default=None, help="torch threads (unset: torch's)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars and lines")


def load_task_splits(
    args: argparse.Namespace, *, pairs: bool = False
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Apply ``--threads`` to torch, load the task's train, dev and test splits
    (``--dev-size``, ``--dev-max``, ``--test-max``) and describe them on stderr
    (``pairs``: a pair-classification task is taken too, as ``(text_a, text_b)`` pairs).

    Returns:
        ``(train, dev, test, info)`` as :func:`benchmarks.curves.load_splits` gives them.
    """
    import sys

    from benchmarks.curves import describe_splits, load_splits

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    train, dev, test, info = load_splits(
        args.task, dev_size=args.dev_size, dev_max=args.dev_max, test_max=args.test_max,
        pairs=pairs,
    )  # fmt: skip
    print(describe_splits(info), file=sys.stderr, flush=True)
    return train, dev, test, info


def parse_unfreeze(value: str) -> int | Literal["all"]:
    """``"all"`` or a non-negative int."""
    if value == "all":
        return "all"
    if not value.isdigit():
        raise InvalidParameterError(f"--unfreeze takes an int >= 0 or 'all', got {value!r}")
    return int(value)


# ------------------------------------------------------------ family options
OptionKind = Literal["int", "float", "str", "bool"]


@dataclass(frozen=True)
class TrainOption:
    """One command-line option of a family: a constructor parameter.

    Attributes:
        param: the constructor parameter it sets.
        flag: its main spelling (``--hidden-size``).
        aliases: older spellings that still work and warn once (``--seed`` for
            ``--random-state``).
        kind: ``"int"``, ``"float"``, ``"str"`` or ``"bool"``.
        default: the family's default value.
        nullable: ``none`` is accepted and means ``None``.
        choices: the allowed values, when the annotation is a ``Literal``.
        help: the parameter's line of the class docstring.

    Example:
        >>> opt = TrainOption("max_vocab", "--max-vocab", (), "int", 50000, True, None, "")
        >>> opt.parse("none"), opt.parse("1000")
        (None, 1000)
    """

    param: str
    flag: str
    aliases: tuple[str, ...]
    kind: OptionKind
    default: Any
    nullable: bool
    choices: tuple[Any, ...] | None
    help: str

    @property
    def metavar(self) -> str:
        """How the value is shown in help (``INT``, ``{dbow,dm}``, ``INT|none``)."""
        if self.kind == "bool":
            return ""
        if self.choices is not None:
            text = "{" + ",".join(str(c) for c in self.choices) + "}"
        else:
            text = self.kind.upper()
        return f"{text}|none" if self.nullable else text

    def parse(self, text: str) -> Any:
        """A command-line string -> the parameter value.

        Raises:
            InvalidParameterError: naming the option, the value and what is allowed.
        """
        if self.nullable and text.strip().lower() == "none":
            return None
        value: Any
        if self.kind == "bool":
            low = text.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise InvalidParameterError(
                    f"{self.flag} takes no value (use {self.flag} or --no-{self.flag[2:]}), "
                    f"got {text!r}"
                )
            value = low in ("true", "1", "yes")
        elif self.kind in ("int", "float"):
            convert, what = (int, "an integer") if self.kind == "int" else (float, "a number")
            try:
                value = convert(text)
            except ValueError:
                raise InvalidParameterError(
                    f"{self.flag} must be {what}{' or none' if self.nullable else ''}, got {text!r}"
                ) from None
            if not math.isfinite(value):
                raise InvalidParameterError(f"{self.flag} must be a finite number, got {text!r}")
        else:
            value = text
        if self.choices is not None and value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise InvalidParameterError(
                f"{self.flag} must be one of {allowed}{' or none' if self.nullable else ''}, "
                f"got {text!r}"
            )
        return value

    def check(self, value: Any) -> bool:
        """Whether ``value`` (e.g. read from JSON) is a valid value of this option.

        Example:
            >>> opt = TrainOption("epochs", "--epochs", (), "int", 5, False, None, "")
            >>> opt.check(3), opt.check(True), opt.check(None)
            (True, False, False)
        """
        if value is None:
            return self.nullable
        if self.kind == "bool":
            ok = isinstance(value, bool)
        elif self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        return ok and (self.choices is None or value in self.choices)

    def as_dict(self) -> dict[str, Any]:
        """JSON-compatible form (for ``transferkit train --list --json``)."""
        return {
            "flag": self.flag,
            "aliases": list(self.aliases),
            "param": self.param,
            "type": self.kind,
            "default": self.default,
            "nullable": self.nullable,
            "choices": None if self.choices is None else list(self.choices),
            "help": self.help,
        }


def options_spec(family: TrainableFamily) -> list[TrainOption]:
    """The command-line options of a trainable family, in constructor order.

    Raises:
        InvalidParameterError: an option that is not a constructor parameter, whose
            type the command line cannot express, or that would shadow an option
            of ``transferkit train`` itself.

    Example:
        >>> from embeddings.training.families import get_trainable
        >>> [(o.flag, o.metavar) for o in options_spec(get_trainable("doc2vec"))][:2]
        [('--mode', '{dbow,dm}'), ('--vector-size', 'INT')]
    """
    klass = family.encoder_class()
    signature = family.keyword_params()
    hints = _type_hints(klass)
    docs = _arg_docs(klass)
    renamed = dict(getattr(klass, "renamed_params", {}))
    names = list(signature) if family.options is None else list(family.options)
    unknown = [n for n in [*names, *family.fixed, *family.params] if n not in signature]
    if unknown:
        raise InvalidParameterError(
            f"trainable family {family.name!r}: {unknown} are not parameters of "
            f"{klass.__name__}; its parameters are {list(signature)}"
        )
    taken = (*RESERVED_OPTIONS, family.data_option)
    reserved = [n for n in [*names, *family.shortcuts] if n.replace("-", "_") in taken]
    if reserved:
        raise InvalidParameterError(
            f"trainable family {family.name!r}: option(s) {reserved} would shadow options "
            f"used by transferkit train itself ({', '.join(taken)}); list the family's "
            "options explicitly, without them, or rename the shortcut"
        )
    out = []
    for name in sorted(names, key=list(signature).index):
        if name in family.fixed:
            if family.options is None:
                continue
            raise InvalidParameterError(
                f"trainable family {family.name!r}: {name!r} is both fixed and an option"
            )
        default = family.params.get(name, signature[name].default)
        kind = _option_kind(hints.get(name, inspect.Parameter.empty), default)
        if kind is None:
            if family.options is None:
                continue  # not expressible on a command line (lists, encoders...)
            raise InvalidParameterError(
                f"trainable family {family.name!r}: parameter {name!r} of {klass.__name__} "
                f"has a type the command line cannot express "
                f"({hints.get(name, type(default).__name__)})"
            )
        typ, nullable, choices = kind
        old = [*RENAMED_FLAGS.get(name, ()), *(_flag(k) for k, v in renamed.items() if v == name)]
        out.append(
            TrainOption(
                param=name, flag=_flag(name), aliases=tuple(dict.fromkeys(old)), kind=typ,
                default=default, nullable=nullable, choices=choices, help=docs.get(name, ""),
            )
        )  # fmt: skip
    return out


def _flag(param: str) -> str:
    return "--" + param.replace("_", "-")


def warn_renamed_flags(spec: Sequence[TrainOption], argv: Sequence[str]) -> None:
    """Warn once for each old spelling of an option (``--seed``) found in ``argv``.

    Example:
        >>> opt = TrainOption("random_state", "--random-state", ("--seed",), "int", 0,
        ...                   False, None, "")
        >>> warn_renamed_flags([opt], ["--random-state", "1"])  # the new name: silent
    """
    old = {alias: o.flag for o in spec for alias in o.aliases}
    for arg in argv:
        flag = str(arg).split("=", 1)[0]
        if flag in old:
            _warn_renamed(flag, old[flag])


def family_defaults(family: TrainableFamily) -> dict[str, Any]:
    """The constructor parameters of a run with no option given.

    Example:
        >>> from embeddings.training.families import get_trainable
        >>> family_defaults(get_trainable("word2vec"))["sg"]
        True
    """
    return {**family.params, **{o.param: o.default for o in options_spec(family)}}


def describe_family(family: TrainableFamily) -> dict[str, Any]:
    """JSON-compatible description (for ``transferkit train --list --json``).

    Example:
        >>> from embeddings.training.families import get_trainable
        >>> describe_family(get_trainable("quick-thought"))["resumable"]
        True
    """
    return {
        "name": family.name,
        "class": family.target,
        "description": family.description,
        "resumable": family.resumable,
        "data_option": _flag(family.data_option),
        "fixed": {k: family.params[k] for k in family.fixed},
        "shortcuts": {k: dict(v) for k, v in family.shortcuts.items()},
        "options": [o.as_dict() for o in options_spec(family)],
    }


def _type_hints(klass: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(klass.__init__)  # type: ignore[misc]
    except Exception:  # annotations that name TYPE_CHECKING-only types
        return {}


def _option_kind(hint: Any, default: Any) -> tuple[OptionKind, bool, tuple[Any, ...] | None] | None:
    """``(kind, nullable, choices)`` of an annotation (or of the default), or ``None``."""
    nullable = default is None
    args: tuple[Any, ...] = ()
    if hint is not inspect.Parameter.empty:
        origin = typing.get_origin(hint)
        if origin in (typing.Union, types.UnionType):
            args = tuple(a for a in typing.get_args(hint) if a is not type(None))
            nullable = nullable or len(args) < len(typing.get_args(hint))
            if len(args) != 1:
                return None
            hint = args[0]
            origin = typing.get_origin(hint)
        if origin is Literal:
            choices = typing.get_args(hint)
            kinds = {type(c) for c in choices}
            if len(kinds) != 1 or next(iter(kinds)) not in (str, int):
                return None
            return ("str" if str in kinds else "int"), nullable, tuple(choices)
        simple = {bool: "bool", int: "int", float: "float", str: "str"}
        if hint in simple:
            return simple[hint], nullable, None  # type: ignore[return-value]
        return None
    for typ, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str")):
        if isinstance(default, typ):
            return kind, False, None  # type: ignore[return-value]
    return None


_ROLE = re.compile(r":[a-z]+:`~?([^`<]+?)(?:\s*<[^>]+>)?`")


def _arg_docs(klass: type) -> dict[str, str]:
    """``{param: text}`` from the ``Args:`` sections of the class and its bases.

    An entry that only says ``see OtherClass`` takes the text of a base class.
    """
    result: dict[str, str] = {}
    for base in klass.__mro__:
        for name, text in _docstring_args(base).items():
            if name not in result or result[name].lower().startswith("see "):
                result[name] = text
    return result


def _docstring_args(klass: type) -> dict[str, str]:
    """``{param: text}`` from the ``Args:`` section of one class's Google docstring."""
    doc = klass.__dict__.get("__doc__") or ""
    doc = inspect.cleandoc(doc)
    lines = doc.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == "Args:")
    except StopIteration:
        return {}
    out: dict[str, list[str]] = {}
    current = None
    indent = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if indent is None:
            indent = width
        if width < indent:
            break
        m = re.match(r"\s*(\w+)(?: \([^)]*\))?: (.*)", line)
        if width == indent and m:
            current = m.group(1)
            out[current] = [m.group(2).strip()]
        elif current is not None and width > indent:
            out[current].append(line.strip())
    result = {}
    for name, parts in out.items():
        text = _ROLE.sub(r"\1", " ".join(parts)).replace("``", "")
        result[name] = text
    return result


# ------------------------------------------------------------------- output
def write_json(path: Path, payload: dict[str, Any]) -> None:
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
