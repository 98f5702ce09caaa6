"""The trainable encoder families: what ``transferkit train FAMILY`` can train.

:data:`TRAINABLE` maps a family name to a :class:`TrainableFamily`: the encoder
class (``"module:Class"``), a one-line description, the family's default
parameters, which constructor parameters a user may set, and whether the family
trains through :meth:`TorchEncoder.fit <embeddings.nn.encoder.TorchEncoder.fit>`
(checkpoints, resume and a time budget) or in one pass (gensim's ``fit``).

This module holds the family data only: how the command line turns a family's
parameters into options lives with the commands
(:mod:`benchmarks.commands._options`).  Nothing heavy is imported until an
encoder class is resolved.  A new family is one :func:`register_trainable` call
(or one entry of ``_BUILTIN``).

Example:
    >>> from embeddings.training.families import get_trainable
    >>> qt = get_trainable("quick-thought")
    >>> qt.resumable, qt.target
    (True, 'embeddings.adapters.quick_thought:QuickThoughtEncoder')
    >>> get_trainable("word2vec").fixed
    ('algorithm',)
"""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from embeddings.errors import InvalidParameterError, UnknownEncoderError
from embeddings.registry import get_preset

if TYPE_CHECKING:
    from embeddings.base import BaseEncoder

__all__ = [
    "TRAINABLE",
    "TrainableFamily",
    "register_trainable",
    "get_trainable",
    "list_trainable",
]


@dataclass(frozen=True)
class TrainableFamily:
    """One trainable family (an entry of :data:`TRAINABLE`).

    Attributes:
        name: what users type (``transferkit train NAME``).
        target: ``"module:Class"`` of a :class:`~embeddings.base.BaseEncoder` subclass.
        description: one line for ``transferkit train --list``.
        params: the family's default constructor parameters (they replace the
            constructor's defaults).
        options: the constructor parameters a user may set; ``None``: every
            keyword parameter of the constructor whose type a command line can
            express, except ``fixed``.
        fixed: parameters set by ``params`` that are not options (``algorithm``).
        shortcuts: extra flags that set parameters to fixed values, e.g.
            ``{"cbow": {"sg": False}}`` makes ``--cbow`` the same as ``--no-sg``.
        preset: the name the trained encoder carries (``format``-ted with its
            parameters, e.g. ``"doc2vec-{mode}"``); ``None``: the class name.
        resumable: ``True`` when the class trains through :meth:`TorchEncoder.fit
            <embeddings.nn.encoder.TorchEncoder.fit>` (checkpoints, resume, time
            budget); ``False`` for one-pass trainers (gensim) that read the corpus
            in one call.
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

    def keyword_params(self) -> dict[str, inspect.Parameter]:
        """The keyword parameters of the encoder's constructor, in order.

        Example:
            >>> list(get_trainable("doc2vec").keyword_params())[:2]
            ['mode', 'vector_size']
        """
        return {
            n: p
            for n, p in inspect.signature(self.encoder_class()).parameters.items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }

    def build(self, params: Mapping[str, Any]) -> BaseEncoder:
        """An unfitted encoder: the family's ``params``, updated with ``params``.

        Raises:
            InvalidParameterError: a parameter the constructor does not take, a
                change to a fixed parameter, or a value the encoder's own
                validation refuses.

        Example:
            >>> enc = get_trainable("doc2vec").build({"mode": "dm", "vector_size": 8})
            >>> enc.name, enc.get_params()["vector_size"]
            ('doc2vec-dm', 8)
        """
        klass = self.encoder_class()
        allowed = self.keyword_params()
        unknown = sorted(set(params) - set(allowed))
        if unknown:
            raise InvalidParameterError(
                f"{self.name} does not take {unknown}; allowed: {sorted(allowed)}"
            )
        fixed = {k: params[k] for k in self.fixed if k in params and params[k] != self.params[k]}
        if fixed:
            raise InvalidParameterError(
                f"{self.name} fixes {dict((k, self.params[k]) for k in fixed)}, got {fixed}"
            )
        encoder = klass(**{**self.params, **dict(params)})
        encoder._validate()
        if self.preset is not None:
            encoder._preset_name = self.preset.format(**encoder.get_params(deep=False))
        return encoder


TRAINABLE: dict[str, TrainableFamily] = {}

_WORD_VECTORS = "embeddings.adapters.word_vectors:TrainedWordVectorEncoder"
_WV_OPTIONS = (
    "sg", "vector_size", "window", "min_count", "epochs", "negative", "sample",
    "random_state", "threads", "pooling", "lowercase", "sif_a", "word_freq", "n_components",
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
                 "random_state", "threads"),
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

    Nothing is imported: the class and its parameters are checked when the family
    is first used (the command line also checks then that no parameter or
    shortcut shadows one of its own options).

    Raises:
        InvalidParameterError: an empty or taken name (without ``overwrite``), a
            malformed target, a fixed parameter without a value in ``params``, or a
            shortcut that is not a lowercase option name.

    Example:
        >>> from embeddings.training.families import register_trainable
        >>> fam = register_trainable(
        ...     "quick-thought-bi", "embeddings.adapters.quick_thought:QuickThoughtEncoder",
        ...     "bidirectional Quick-Thought", params={"bidirectional": True},
        ...     resumable=True, overwrite=True)
        >>> fam.build({}).get_params()["bidirectional"]
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
    bad = [k for k in shortcuts if not re.fullmatch(r"[a-z][a-z0-9-]*", str(k))]
    if bad:
        raise InvalidParameterError(
            f"shortcut names must be lowercase option names such as 'cbow', got {bad}"
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
