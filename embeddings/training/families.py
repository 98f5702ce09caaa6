"""The trainable encoder families: what ``transferkit train FAMILY`` can train.

:data:`TRAINABLE` maps a family name to a :class:`TrainableFamily`: the encoder
class (``"module:Class"``), a one-line description, the family's default
parameters, which constructor parameters are exposed as command-line options, and
whether the family trains through :meth:`TorchEncoder.fit
<embeddings.nn.encoder.TorchEncoder.fit>` (checkpoints, resume and a time budget)
or in one pass (gensim's ``fit_corpus``).

Options are derived from the class's ``__init__`` signature: the name
(``hidden_size`` -> ``--hidden-size``; ``random_state`` is spelled ``--seed``), the
default (the family's, else the constructor's), and the type from the annotation
(``Literal`` gives choices, ``int | None`` accepts ``none``) or from the default.
Booleans become ``--flag`` / ``--no-flag``.

This module holds data and small functions only; nothing heavy is imported until
an encoder class is resolved.  A new family is one :func:`register_trainable`
call (or one entry of ``_BUILTIN``).

Example:
    >>> from embeddings.training.families import get_trainable
    >>> qt = get_trainable("quick-thought")
    >>> qt.resumable, qt.target
    (True, 'embeddings.adapters.quick_thought:QuickThoughtEncoder')
    >>> [o.flag for o in qt.options_spec()][:2]
    ['--hidden-size', '--embedding-dim']
"""

from __future__ import annotations

import difflib
import inspect
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from embeddings.errors import InvalidParameterError, UnknownEncoderError
from embeddings.registry import get_preset

if TYPE_CHECKING:
    from embeddings.base import BaseEncoder

__all__ = [
    "TRAINABLE",
    "OPTION_NAMES",
    "RESERVED_OPTIONS",
    "TrainOption",
    "TrainableFamily",
    "register_trainable",
    "get_trainable",
    "list_trainable",
]

#: constructor parameters whose command-line spelling differs from ``--param-name``
#: (the ``--param-name`` spelling is accepted too)
OPTION_NAMES: dict[str, str] = {"random_state": "seed"}

#: options of ``transferkit train`` itself, which no family parameter may shadow
RESERVED_OPTIONS: tuple[str, ...] = (
    "corpus", "out", "max_minutes", "resume", "force", "checkpoint_every", "no_progress",
    "progress", "json", "list", "help",
)  # fmt: skip

OptionKind = Literal["int", "float", "str", "bool"]


@dataclass(frozen=True)
class TrainOption:
    """One command-line option of a family: a constructor parameter.

    Attributes:
        param: the constructor parameter it sets.
        flag: its main spelling (``--hidden-size``).
        aliases: other accepted spellings (``--random-state`` next to ``--seed``).
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
        elif self.kind == "int":
            try:
                value = int(text)
            except ValueError:
                raise InvalidParameterError(
                    f"{self.flag} must be an integer{' or none' if self.nullable else ''}, "
                    f"got {text!r}"
                ) from None
        elif self.kind == "float":
            try:
                value = float(text)
            except ValueError:
                raise InvalidParameterError(
                    f"{self.flag} must be a number{' or none' if self.nullable else ''}, "
                    f"got {text!r}"
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


@dataclass(frozen=True)
class TrainableFamily:
    """One trainable family (an entry of :data:`TRAINABLE`).

    Attributes:
        name: what users type (``transferkit train NAME``).
        target: ``"module:Class"`` of a :class:`~embeddings.base.BaseEncoder` subclass.
        description: one line for ``transferkit train --list``.
        params: the family's default constructor parameters (they replace the
            constructor's defaults).
        options: the constructor parameters exposed as options; ``None``: every
            keyword parameter of the constructor whose type the command line can
            express, except ``fixed``.
        fixed: parameters set by ``params`` that are not options (``algorithm``).
        shortcuts: extra flags that set parameters to fixed values, e.g.
            ``{"cbow": {"sg": False}}`` makes ``--cbow`` the same as ``--no-sg``.
        preset: the name the trained encoder carries (``format``-ted with its
            parameters, e.g. ``"doc2vec-{mode}"``); ``None``: the class name.
        resumable: ``True`` when the class trains through :meth:`TorchEncoder.fit
            <embeddings.nn.encoder.TorchEncoder.fit>` (checkpoints, resume, time
            budget); ``False`` for one-pass trainers with ``fit_corpus(path,
            show_progress=...)``.
        data_option: the option that names the training data (``corpus`` gives
            ``--corpus``; InferSent's ``nli`` gives ``--nli``).
        data_check: ``"module:function"`` that checks the data argument before
            anything is written and returns the string stored for ``--resume`` and
            given to ``fit``; ``None``: a corpus file or folder, stored as an
            absolute path.
        data_help: help text of the data option (``None``: the corpus text).

    Example:
        >>> fam = TrainableFamily("toy", "embeddings.adapters.baselines:TfidfEncoder", "toy")
        >>> fam.resumable
        False
    """

    name: str
    target: str
    description: str
    params: Mapping[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] | None = None
    fixed: tuple[str, ...] = ()
    shortcuts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    preset: str | None = None
    resumable: bool = False
    data_option: str = "corpus"
    data_check: str | None = None
    data_help: str | None = None

    def encoder_class(self) -> type[BaseEncoder]:
        """Import the encoder class and allow its saved folders to be loaded.

        Raises:
            InvalidParameterError: the target is not a BaseEncoder subclass.

        Example:
            >>> get_trainable("doc2vec").encoder_class().__name__
            'Doc2VecEncoder'
        """
        from embeddings.base import BaseEncoder, import_class
        from embeddings.registry import register_encoder_class

        klass = import_class(self.target)
        if not issubclass(klass, BaseEncoder):
            raise InvalidParameterError(
                f"trainable family {self.name!r}: {self.target} is not a BaseEncoder subclass"
            )
        register_encoder_class(klass)
        return klass

    def options_spec(self) -> list[TrainOption]:
        """The family's options, in constructor order.

        Raises:
            InvalidParameterError: an option that is not a constructor parameter, or
                whose type the command line cannot express.

        Example:
            >>> [(o.flag, o.metavar) for o in get_trainable("doc2vec").options_spec()][:2]
            [('--mode', '{dbow,dm}'), ('--vector-size', 'INT')]
        """
        klass = self.encoder_class()
        signature = _keyword_params(klass)
        hints = _type_hints(klass)
        docs = _arg_docs(klass)
        names = list(signature) if self.options is None else list(self.options)
        unknown = [n for n in [*names, *self.fixed, *self.params] if n not in signature]
        if unknown:
            raise InvalidParameterError(
                f"trainable family {self.name!r}: {unknown} are not parameters of "
                f"{klass.__name__}; its parameters are {list(signature)}"
            )
        taken = (*RESERVED_OPTIONS, self.data_option)
        reserved = [n for n in names if OPTION_NAMES.get(n, n) in taken]
        if reserved:
            raise InvalidParameterError(
                f"trainable family {self.name!r}: parameter(s) {reserved} of {klass.__name__} "
                f"would shadow options of transferkit train itself "
                f"({', '.join(taken)}); list the family's options explicitly, "
                "without them"
            )
        out = []
        for name in sorted(names, key=list(signature).index):
            if name in self.fixed:
                if self.options is None:
                    continue
                raise InvalidParameterError(
                    f"trainable family {self.name!r}: {name!r} is both fixed and an option"
                )
            default = self.params.get(name, signature[name].default)
            kind = _option_kind(hints.get(name, inspect.Parameter.empty), default)
            if kind is None:
                if self.options is None:
                    continue  # not expressible on a command line (lists, encoders...)
                raise InvalidParameterError(
                    f"trainable family {self.name!r}: parameter {name!r} of {klass.__name__} "
                    f"has a type the command line cannot express "
                    f"({hints.get(name, type(default).__name__)})"
                )
            typ, nullable, choices = kind
            flag = "--" + OPTION_NAMES.get(name, name).replace("_", "-")
            plain = "--" + name.replace("_", "-")
            out.append(
                TrainOption(
                    param=name,
                    flag=flag,
                    aliases=() if plain == flag else (plain,),
                    kind=typ,
                    default=default,
                    nullable=nullable,
                    choices=choices,
                    help=docs.get(name, ""),
                )
            )
        return out

    def defaults(self) -> dict[str, Any]:
        """The constructor parameters of a run with no option given.

        Example:
            >>> get_trainable("word2vec").defaults()["sg"]
            True
        """
        return {**self.params, **{o.param: o.default for o in self.options_spec()}}

    def build(self, params: Mapping[str, Any]) -> BaseEncoder:
        """An unfitted encoder with ``params`` (the output of :meth:`defaults`, updated).

        Raises:
            InvalidParameterError: a parameter outside the family's options, or a value
                the encoder's own validation refuses.

        Example:
            >>> enc = get_trainable("doc2vec").build({"mode": "dm", "vector_size": 8})
            >>> enc.name, enc.get_params()["vector_size"]
            ('doc2vec-dm', 8)
        """
        klass = self.encoder_class()
        allowed = set(self.params) | {o.param for o in self.options_spec()}
        unknown = sorted(set(params) - allowed)
        if unknown:
            raise InvalidParameterError(
                f"{self.name} does not take {unknown}; allowed: {sorted(allowed)}"
            )
        fixed = {k: params[k] for k in self.fixed if k in params and params[k] != self.params[k]}
        if fixed:
            raise InvalidParameterError(
                f"{self.name} fixes {dict((k, self.params[k]) for k in fixed)}, got {fixed}"
            )
        encoder = klass(**{**self.defaults(), **dict(params)})
        encoder._validate()
        if self.preset is not None:
            encoder._preset_name = self.preset.format(**encoder.get_params(deep=False))
        return encoder

    def describe(self) -> dict[str, Any]:
        """JSON-compatible description (for ``transferkit train --list --json``).

        Example:
            >>> get_trainable("quick-thought").describe()["resumable"]
            True
        """
        return {
            "name": self.name,
            "class": self.target,
            "description": self.description,
            "resumable": self.resumable,
            "data_option": "--" + self.data_option.replace("_", "-"),
            "fixed": {k: self.params[k] for k in self.fixed},
            "shortcuts": {k: dict(v) for k, v in self.shortcuts.items()},
            "options": [o.as_dict() for o in self.options_spec()],
        }


def _keyword_params(klass: type) -> dict[str, inspect.Parameter]:
    return {
        n: p
        for n, p in inspect.signature(klass).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
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


TRAINABLE: dict[str, TrainableFamily] = {}

_WORD_VECTORS = "embeddings.adapters.word_vectors:TrainedWordVectorEncoder"
_WV_OPTIONS = (
    "sg", "vector_size", "window", "min_count", "epochs", "negative", "sample",
    "random_state", "workers", "pooling", "lowercase", "sif_a", "word_freq", "n_components",
)  # fmt: skip

_BUILTIN: tuple[TrainableFamily, ...] = (
    TrainableFamily(
        "word2vec", _WORD_VECTORS,
        "word2vec word vectors (gensim, skip-gram; --cbow for CBOW), pooled into sentence vectors",
        params={"algorithm": "word2vec", "sg": True}, fixed=("algorithm",), options=_WV_OPTIONS,
        shortcuts={"cbow": {"sg": False}}, preset="word2vec-corpus",
    ),
    TrainableFamily(
        "fasttext", _WORD_VECTORS,
        "fastText word vectors with subwords (gensim, skip-gram), pooled into sentence vectors",
        params={"algorithm": "fasttext", "sg": True}, fixed=("algorithm",),
        options=(*_WV_OPTIONS, "min_n", "max_n", "bucket", "subwords"),
        shortcuts={"cbow": {"sg": False}}, preset="fasttext-corpus",
    ),
    TrainableFamily(
        "doc2vec", "embeddings.adapters.doc2vec:Doc2VecEncoder",
        "Doc2Vec paragraph vectors (gensim PV-DBOW or PV-DM), seeded inference",
        options=("mode", "vector_size", "window", "min_count", "epochs", "negative", "sample",
                 "dbow_words", "alpha", "min_alpha", "infer_epochs", "lowercase",
                 "random_state", "workers"),
        preset="doc2vec-{mode}",
    ),
    TrainableFamily(
        "quick-thought", "embeddings.adapters.quick_thought:QuickThoughtEncoder",
        "Quick-Thought GRU sentence encoders (torch) trained to pick neighbouring sentences",
        params=get_preset("quick-thought").params, preset="quick-thought", resumable=True,
    ),
    TrainableFamily(
        "skip-thought", "embeddings.adapters.skip_thought:SkipThoughtEncoder",
        "Skip-Thought GRU encoder (torch; --mode uni|bi|combine) trained to generate the "
        "previous and next sentences",
        params=get_preset("skip-thought-uni").params, preset="skip-thought-{mode}",
        resumable=True,
    ),
    TrainableFamily(
        "infersent", "embeddings.adapters.infersent:InferSentEncoder",
        "InferSent BiLSTM-max over frozen word vectors (torch), trained on NLI sentence pairs",
        params=get_preset("infersent-sick").params, resumable=True, data_option="nli",
        data_check="embeddings.training.nli:resolve_nli_spec",
        data_help="NLI training pairs, comma-separated: SNLI/MultiNLI .jsonl, a TSV "
        "(label, text_a, text_b), a folder, or a data folder name such as SICK-E (its dev "
        "pairs drive early stopping; test splits are never read)",
    ),
    TrainableFamily(
        "elmo", "embeddings.adapters.elmo:ElmoEncoder",
        "ELMo character biLM (torch): forward and backward LM losses, saved as options.json + "
        "weights.hdf5", params=get_preset("elmo-small").params, preset="elmo-small",
        resumable=True,
    ),
)  # fmt: skip


def register_trainable(
    name: str,
    target: str,
    description: str,
    *,
    params: Mapping[str, Any] | None = None,
    options: tuple[str, ...] | None = None,
    fixed: tuple[str, ...] = (),
    shortcuts: Mapping[str, Mapping[str, Any]] | None = None,
    preset: str | None = None,
    resumable: bool = False,
    data_option: str = "corpus",
    data_check: str | None = None,
    data_help: str | None = None,
    overwrite: bool = False,
) -> TrainableFamily:
    """Add a family to :data:`TRAINABLE` (see :class:`TrainableFamily` for the fields).

    Nothing is imported: the class and its options are checked when the family is
    first used.

    Raises:
        InvalidParameterError: an empty or taken name (without ``overwrite``), a
            malformed target, a fixed parameter without a value in ``params``, or a
            shortcut or option name that ``transferkit train`` itself uses.

    Example:
        >>> from embeddings.training.families import register_trainable
        >>> fam = register_trainable(
        ...     "quick-thought-bi", "embeddings.adapters.quick_thought:QuickThoughtEncoder",
        ...     "bidirectional Quick-Thought", params={"bidirectional": True},
        ...     resumable=True, overwrite=True)
        >>> fam.defaults()["bidirectional"]
        True
        >>> del TRAINABLE["quick-thought-bi"]
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise InvalidParameterError(
            f"family name must be lowercase letters, digits, '-' or '_', got {name!r}"
        )
    if name in TRAINABLE and not overwrite:
        raise InvalidParameterError(
            f"a trainable family named {name!r} exists already; pass overwrite=True to replace it"
        )
    if not isinstance(target, str) or target.count(":") != 1:
        raise InvalidParameterError(f"target must look like 'module:Class', got {target!r}")
    params = dict(params or {})
    missing = [k for k in fixed if k not in params]
    if missing:
        raise InvalidParameterError(f"fixed parameter(s) {missing} need a value in params")
    shortcuts = {k: dict(v) for k, v in (shortcuts or {}).items()}
    taken = [
        n for n in [*(OPTION_NAMES.get(p, p) for p in options or ()), *shortcuts]
        if n.replace("-", "_") in RESERVED_OPTIONS
    ]  # fmt: skip
    if taken:
        raise InvalidParameterError(
            f"option name(s) {taken} are used by transferkit train itself "
            f"({', '.join(RESERVED_OPTIONS)})"
        )
    if not isinstance(data_option, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", data_option):
        raise InvalidParameterError(
            f"data_option must be a lowercase option name such as 'corpus', got {data_option!r}"
        )
    if data_check is not None and (not isinstance(data_check, str) or data_check.count(":") != 1):
        raise InvalidParameterError(
            f"data_check must be None or look like 'module:function', got {data_check!r}"
        )
    family = TrainableFamily(
        name, target, description, params=params, options=options, fixed=tuple(fixed),
        shortcuts=shortcuts, preset=preset, resumable=bool(resumable), data_option=data_option,
        data_check=data_check, data_help=data_help,
    )  # fmt: skip
    TRAINABLE[name] = family
    return family


for _family in _BUILTIN:
    TRAINABLE[_family.name] = _family


def get_trainable(name: str) -> TrainableFamily:
    """The family called ``name``.

    Raises:
        UnknownEncoderError: an unknown name, with a did-you-mean suggestion and the
            known families.

    Example:
        >>> get_trainable("word2vec").preset
        'word2vec-corpus'
    """
    if name in TRAINABLE:
        return TRAINABLE[name]
    close = difflib.get_close_matches(str(name), list(TRAINABLE), n=2, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEncoderError(
        f"unknown trainable family {name!r}{hint} Trainable families: "
        f"{', '.join(sorted(TRAINABLE))} (transferkit train --list shows their options)"
    )


def list_trainable() -> list[TrainableFamily]:
    """Every registered family, in registration order.

    Example:
        >>> [f.name for f in list_trainable()][:2]
        ['word2vec', 'fasttext']
    """
    return list(TRAINABLE.values())
