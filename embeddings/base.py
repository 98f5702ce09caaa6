"""The Encoder protocol and the :class:`BaseEncoder` template.

Every encoder in transferkit turns a sequence of raw strings into a contiguous
``float32`` array of shape ``(len(texts), dim)`` in input order.  Subclasses only
write the model-specific parts:

* ``_load()``: load weights/resources (lazily, on first use, after ``_validate``;
  never in ``__init__``),
* ``_fit(texts)``: learn from training texts (only for trainable encoders),
* ``_fit_corpus(path, show_progress)``: learn from a corpus file or folder, which
  ``fit(path)`` hands over (only for encoders with ``trains_on_corpus``),
* ``_encode_batch(texts)``: encode one batch,
* ``_output_dim()``: the output dimension once loaded (and fitted),
* ``_get_state()`` / ``_set_state()``: the fitted state, for ``save``/``load``,
* ``_validate()``: check the parameters (also run on every loaded folder),
* ``_check_state()``: check a saved state's arrays and metadata before ``_set_state``.

Validation, lazy loading, the fitted check, batching, order restoration, output checks
and progress live here only; ``get_params``/``set_params`` come from ``ParamsMixin``.

Example:
    >>> import numpy as np
    >>> from embeddings.base import BaseEncoder
    >>> class LengthEncoder(BaseEncoder):
    ...     def __init__(self, scale: float = 1.0):
    ...         self.scale = scale
    ...     def _output_dim(self) -> int:
    ...         return 1
    ...     def _encode_batch(self, texts):
    ...         return np.array([[len(t) * self.scale] for t in texts])
    >>> LengthEncoder().encode(["ab", "abcd"]).tolist()
    [[2.0], [4.0]]
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from embeddings import _classes
from embeddings._atomic import write_folder_atomically
from embeddings._corpus_fit import CorpusFitMixin
from embeddings._encode_args import EncodeMixin
from embeddings._estimator import ParamsMixin
from embeddings._saved import CONFIG_NAME, SAVE_FORMAT, SAVE_FORMAT_VERSION, WEIGHTS_NAME
from embeddings._state import check_meta, check_state_arrays
from embeddings._texts import replace_surrogates, validate_texts
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
    NotFittedError,
)

__all__ = [
    "Encoder",
    "BaseEncoder",
    "validate_texts",
    "replace_surrogates",
    "check_state_arrays",
    "check_meta",
    "SAVE_FORMAT",
    "SAVE_FORMAT_VERSION",
]


@runtime_checkable
class Encoder(Protocol):
    """What every encoder offers: a dimension and ``encode``."""

    @property
    def dim(self) -> int:
        """Length of each output vector."""
        ...

    def encode(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Encode ``texts`` into a float32 array of shape ``(len(texts), dim)``."""
        ...


def _jsonable(value: Any, *, where: str) -> Any:
    """Convert parameters to JSON-compatible values (tuples become lists)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, where=where) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, where=where) for k, v in value.items()}
    if isinstance(value, BaseEncoder):
        return {"__encoder__": value._class_path(), "params": value._json_params()}
    raise InvalidParameterError(
        f"{where}: parameter value of type {type(value).__name__} cannot be written to "
        "config.json; pass a JSON-compatible value (str, number, list, dict) or a path"
    )


def _hash_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True, ensure_ascii=False).encode())
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(key.encode())
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def import_class(path: str) -> type:
    """Import ``"package.module:ClassName"`` and return the class.

    For strings written in code only: it imports any module it is given.  A class
    named by a file (a saved folder) is resolved with
    :func:`embeddings.registry.resolve_encoder_class`, which imports nothing else.
    """
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise InvalidParameterError(f"expected 'module:ClassName', got {path!r}")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise InvalidParameterError(f"{path!r} is not a class")
    return obj


class BaseEncoder(EncodeMixin, CorpusFitMixin, ParamsMixin):
    """Template for every encoder: validation, lazy load, batching, persistence.

    Subclasses store their keyword parameters in ``__init__`` and nothing else (the
    scikit-learn rule, :func:`embeddings._params.store_params`), implement ``_encode_batch``
    and ``_output_dim``, and ``_load``, ``_fit``, ``_get_state``/``_set_state`` as needed.

    Input text policy (``encode`` and ``fit``, every family): each lone surrogate
    U+D800-U+DFFF (which UTF-8 cannot encode) becomes U+FFFD, one for one, before any
    adapter sees it (:func:`replace_surrogates`); every other character, control
    characters and NUL included, is passed on unchanged.

    Attributes:
        family: the encoder family, e.g. ``"word_vectors"``.
        adapter_version: bump when a code change alters the vectors; part of the
            fingerprint, so caches keyed on it are invalidated.
        requires_fit: ``True`` when ``fit`` must be called before ``encode``.
        trainable: ``True`` when ``fit`` learns something from texts.
        transient: attribute names holding loaded resources; never pickled, never
            saved, reloaded lazily after unpickling.
        loads_versions: older adapter versions whose saved state this class still
            reads (the vectors may differ in rounding, hence the new version; the
            loaded encoder takes the current version and fingerprint).
        sort_by_length: batch texts by length (less padding for sequence models);
            ``False`` keeps input order, for encoders without padding.
        min_batch_size: the smallest batch handed to ``_encode_batch``; a larger
            ``batch_size`` passed to ``encode`` wins.  Encoders whose cost is per
            batch (word vectors) raise it; it never changes the vectors.
        caller_only_params: parameters that widen what the encoder's inputs may make
            it do (``trust_pickle``).  Only the caller sets them, in Python: ``save``
            never writes them, and ``load`` refuses a folder whose config sets one
            to anything but its default.
        renamed_params: old parameter name -> new name; a saved ``config.json`` that
            uses an old name loads under the new one (the constructor takes the old
            name too, with a warning).
        trains_on_corpus: ``True`` when ``fit`` also takes the path of a corpus file
            or folder, which the class streams with ``_fit_corpus``.
        path_params: parameters that may name a file or folder (``source``,
            ``model``, ``cache_dir``, ...).  In a saved folder's ``config.json`` such
            a path must lie inside the folder (see :mod:`embeddings._saved`); names
            such as a preset or an embedded vector set are not paths.
        nests_encoders: ``True`` for encoders built from other encoders (concat):
            :meth:`load` builds them at once, so that the nesting limit and the
            path rules apply to the whole tree before anything is encoded.
        max_input_length: the longest input the encoder encodes whole, counted in
            ``max_input_unit`` (``"tokens"`` or ``"characters"``); the rest of a longer
            text is cut off before encoding, as sentence-transformers cuts at
            ``max_seq_length``.  It bounds the time and memory one text can take, and
            :func:`embeddings.list_encoders` reports it.  A family whose limit is a
            parameter overrides :meth:`input_limit` instead.
        encode_time_params: parameters that change only how a fitted encoder
            encodes, not what ``fit`` learns (Skip-Thought's vocabulary expansion):
            ``set_params`` on one keeps the encoder fitted.  They are still part of
            the fingerprint.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("glove-6b-50d")
        >>> enc.encode(["a cat", "a dog"]).shape
        (2, 50)
    """

    family: ClassVar[str] = "base"
    adapter_version: ClassVar[str] = "1"
    requires_fit: ClassVar[bool] = False
    trainable: ClassVar[bool] = False
    transient: ClassVar[tuple[str, ...]] = ()
    loads_versions: ClassVar[tuple[str, ...]] = ()
    sort_by_length: ClassVar[bool] = True
    min_batch_size: ClassVar[int] = 1
    caller_only_params: ClassVar[tuple[str, ...]] = ()
    encode_time_params: ClassVar[tuple[str, ...]] = ()
    path_params: ClassVar[tuple[str, ...]] = ()
    renamed_params: ClassVar[Mapping[str, str]] = {}
    nests_encoders: ClassVar[bool] = False
    max_input_length: ClassVar[int | None] = None
    max_input_unit: ClassVar[str] = "tokens"
    _state_digest: str | None
    _preset_name: str | None  # the name embeddings.load was given (registry.load sets it)

    def input_limit(self) -> tuple[int, str] | None:
        """``(length, unit)``: the longest input encoded whole, or ``None`` when unbounded.

        Example:
            >>> import embeddings
            >>> embeddings.load("minilm-l6").input_limit()
            (256, 'tokens')
        """
        if self.max_input_length is None:
            return None
        return int(self.max_input_length), str(self.max_input_unit)

    # ------------------------------------------------------------------ hooks
    def _load(self) -> None:
        """Load weights and resources into the ``transient`` attributes.

        Called lazily, again after ``set_params`` or unpickling; it must not touch
        the fitted state.
        """

    def _fit(self, texts: list[str]) -> None:
        """Learn from training texts (trainable encoders only)."""

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _output_dim(self) -> int:
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Return the fitted state as (named arrays, JSON metadata)."""
        return {}, {}

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore the fitted state written by ``_get_state``."""

    def _check_machine(self) -> None:
        """Check what depends on the machine (a GPU asked for exists); called by ``load``."""

    def _validate(self) -> None:
        """Check the parameters' types and ranges; raise ``InvalidParameterError``.

        Adapters call it from ``_load``; :meth:`load` calls it on every saved folder
        before anything else reads the parameters.  It must not do I/O.
        """

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Check a saved state before ``_set_state`` reads it.

        Called by :meth:`load` after ``_load`` (so loaded resources, such as the
        vocabulary of the source vectors, can be used), with the arrays already
        checked to be finite.  Raise ``ModelFormatError`` naming the array or field
        (see :func:`check_state_arrays` and :func:`check_meta`).  The default checks
        nothing more.
        """

    def _named_paths(self) -> list[tuple[str, str | os.PathLike[str]]]:
        """``(parameter, path)`` for every file or folder that the parameters name.

        The default reads :attr:`path_params`; a string that is a name rather than
        a path (``glove-6b-50d``) is left out.  Encoders that hold others (concat)
        add their parts' paths.
        """
        from embeddings._saved import looks_like_path

        out: list[tuple[str, str | os.PathLike[str]]] = []
        for param in self.path_params:
            value: Any = getattr(self, param, None)
            if looks_like_path(value):
                out.append((param, value))
        for param, value in self.get_params(deep=False).items():
            items = value if isinstance(value, (list, tuple)) else [value]
            for i, item in enumerate(items):
                if isinstance(item, BaseEncoder):
                    at = f"{param}[{i}]" if isinstance(value, (list, tuple)) else param
                    out.extend((f"{at}.{name}", path) for name, path in item._named_paths())
        return out

    def _resource_id(self) -> str:
        """An identifier of the external weights (e.g. a package version)."""
        return ""

    def _stores_state(self) -> bool:
        """Whether ``save`` writes ``_get_state`` (and ``load`` reads it back) although
        nothing is fitted, e.g. word vectors that were given as a Python object."""
        return False

    def _on_encode_start(self) -> None:
        """Called once per ``encode`` call before the first batch."""

    def _on_encode_end(self) -> None:
        """Called once per ``encode`` call after the last batch."""

    # ------------------------------------------------------------ public API
    @property
    def name(self) -> str:
        """The preset name this encoder was built from, else its class name."""
        return str(self.__dict__.get("_preset_name") or type(self).__name__)

    @property
    def dim(self) -> int:
        """Output dimension (loads the model if needed)."""
        self._ensure_loaded()
        if self.requires_fit:
            self._check_fitted()
        return int(self._output_dim())

    @property
    def is_fitted(self) -> bool:
        """Whether ``fit`` was called with the current parameters (or none is needed)."""
        if not self.requires_fit:
            return True
        return self.__dict__.get("_fitted_for") == self._fit_key()

    def fit(
        self,
        texts: Sequence[str] | str | os.PathLike[str],
        y: Any = None,
        *,
        show_progress: bool = False,
        **corpus_options: Any,
    ) -> BaseEncoder:
        """Learn from training texts (a no-op for pretrained, frozen encoders).

        Encoders with :attr:`trains_on_corpus` also take the path of a text file or
        folder of ``*.txt`` files, streamed line by line (see :mod:`embeddings._corpus_fit`).

        Args:
            texts: training texts only, never test texts; or a corpus path.
            y: ignored; present for scikit-learn compatibility.
            show_progress: show the progress of training from a corpus path.
            **corpus_options: options of training from a path (``max_pooling_texts``).

        Returns:
            self
        """
        if isinstance(texts, (str, os.PathLike)):
            return self._fit_path(texts, show_progress=bool(show_progress), **corpus_options)
        if corpus_options:
            raise InvalidParameterError(
                f"{self.name}.fit: {sorted(corpus_options)} apply only to training from a "
                "corpus path; pass the path of a text file or folder, or drop them"
            )
        texts_list = validate_texts(texts)
        self._ensure_loaded()
        if self.trainable:
            if not texts_list:
                raise InvalidInputError(f"{self.name}.fit needs at least one text, got 0")
            self._fit(texts_list)
            self._state_digest = None
        self._fitted_for = self._fit_key()
        return self

    def _encode(
        self, texts: Any, batch_size: int, show_progress: bool, normalize: bool
    ) -> np.ndarray:
        """The ``encode`` template: checked texts in, ``(n, dim)`` float32 out."""
        texts_list = validate_texts(texts)
        self._ensure_loaded()
        if self.requires_fit:
            self._check_fitted()
        dim = int(self._output_dim())
        n = len(texts_list)
        out = np.empty((n, dim), dtype=np.float32)
        if n == 0:
            return out
        step = max(int(batch_size), int(self.min_batch_size))
        order = sorted(range(n), key=lambda i: -len(texts_list[i])) if self.sort_by_length else None
        from embeddings._progress import progress  # bars in a terminal, else one line

        self._on_encode_start()
        with progress(
            enabled=bool(show_progress), total=n, unit="text", desc=f"encode {self.name}"
        ) as bar:
            for start in range(0, n, step):
                if order is None:
                    stop = min(start + step, n)
                    idx: slice | list[int] = slice(start, stop)
                    batch = texts_list[start:stop]
                else:
                    idx = order[start : start + step]
                    batch = [texts_list[i] for i in idx]
                vecs = np.asarray(self._encode_batch(batch))
                if vecs.shape != (len(batch), dim):
                    raise EncodingError(
                        f"{type(self).__name__}._encode_batch returned shape {vecs.shape} "
                        f"for {len(batch)} texts; expected {(len(batch), dim)}"
                    )
                out[idx] = vecs
                bar.update(len(batch))
        self._on_encode_end()
        if not np.isfinite(out).all():
            bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
            raise EncodingError(
                f"{self.name} produced NaN/inf for {bad.size} text(s), first at index "
                f"{int(bad[0])}: {texts_list[int(bad[0])]!r:.60}"
            )
        if normalize:
            from embeddings.util import _normalize_inplace

            _normalize_inplace(out)
        return out

    def fingerprint(self) -> str:
        """sha256 of class, parameters, adapter version, weights id and fitted state.

        Two encoders with the same fingerprint produce the same vectors; it is the
        key of the embedding cache.
        """
        payload = {
            "class": self._class_path(),
            "adapter_version": self.adapter_version,
            "params": self._json_params(),
            "resource": self._resource_id(),
            "state": self._fitted_state_digest(),
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write ``config.json`` and ``weights.safetensors`` to the folder ``path``.

        The folder is written atomically: a crash leaves the previous folder or the
        new one, never a half-written encoder.  Pretrained weights shipped by a
        package are referenced, not copied; the fitted state (vocabularies,
        principal components, trained networks) is stored.  No pickle is used, and
        caller-only switches such as ``trust_pickle`` are not written.  A
        ``training/`` sub-folder of the target (the checkpoints and logs of
        ``transferkit train``) is kept.

        Example:
            >>> import embeddings, tempfile
            >>> enc = embeddings.load("glove-6b-50d")
            >>> with tempfile.TemporaryDirectory() as d:
            ...     _ = enc.save(d + "/enc")
            ...     embeddings.load(d + "/enc").fingerprint() == enc.fingerprint()
            True
        """
        from safetensors.numpy import save_file

        if self.requires_fit:
            self._ensure_loaded()
            self._check_fitted()
        target = Path(path)
        arrays, meta = self._get_state() if self.is_fitted else ({}, {})
        params = {k: v for k, v in self._json_params().items() if k not in self.caller_only_params}
        config = {
            "format": SAVE_FORMAT,
            "format_version": SAVE_FORMAT_VERSION,
            "class": self._class_path(),
            "adapter_version": self.adapter_version,
            "preset": self.__dict__.get("_preset_name"),
            "params": params,
            "fitted": bool(self.requires_fit or self.trainable or self._stores_state())
            and self.is_fitted,
            "state": _jsonable(meta, where=f"{self.name} state"),
            "fingerprint": self.fingerprint(),
        }

        def fill(tmp: Path) -> None:
            contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
            save_file(contiguous, str(tmp / WEIGHTS_NAME), metadata={"format": SAVE_FORMAT})
            (tmp / CONFIG_NAME).write_text(
                json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )

        return write_folder_atomically(target, fill, kind="saved encoder", keep=("training",))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        paths: Mapping[str, Any] | None = None,
        allow_paths: Sequence[str | os.PathLike[str]] = (),
    ) -> BaseEncoder:
        """Rebuild an encoder written by :meth:`save` (any subclass).

        The whole folder is checked before use, and a file never decides what code
        runs: the class is resolved among registered encoder classes only
        (:func:`embeddings.register_encoder_class`), nothing is unpickled, every
        parameter is checked against the class's constructor and its own
        validation, caller-only switches (``trust_pickle``) are refused, and every
        array is checked (finite values; names, dtypes and shapes per family).
        ``config.json`` and ``weights.safetensors`` must be regular files (not
        links, FIFOs or devices), and a file or folder that a parameter names
        (``path_params``) must lie inside the folder, unless the caller passes it in
        ``paths`` (``embeddings.load(folder, source=PATH)`` does) or allows its
        folder in ``allow_paths``.  See :mod:`embeddings._saved`.

        Args:
            path: the folder.
            paths: values for the class's ``path_params`` that replace the saved ones.
            allow_paths: folders outside ``path`` whose files the saved parameters may
                name (the caller's decision; a file never sets it).

        Raises:
            ModelFormatError: a missing or invalid ``config.json`` (not UTF-8, not
                JSON, a missing, unknown or mistyped field, an unknown format version,
                an unregistered class, an unknown or invalid parameter) or invalid
                weights (unreadable, missing or unexpected arrays, a wrong dtype or
                shape, NaN or infinite values).  The message names the field.

        Example:
            >>> import embeddings, tempfile
            >>> enc = embeddings.load("tfidf").fit(["a cat", "a dog"])
            >>> with tempfile.TemporaryDirectory() as d:
            ...     _ = enc.save(d + "/tfidf")
            ...     BaseEncoder.load(d + "/tfidf").dim
            3
        """
        from embeddings._saved import load_folder

        return load_folder(cls, path, paths, allow_paths)

    # --------------------------------------------------------------- helpers
    def _class_path(self) -> str:
        return f"{type(self).__module__}:{type(self).__qualname__}"

    def _json_params(self) -> dict[str, Any]:
        return {
            k: _jsonable(v, where=f"{type(self).__name__}.{k}")
            for k, v in sorted(self.get_params(deep=False).items())
        }

    def _params_key(self) -> str:
        blob = json.dumps(self._json_params(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _fit_key(self) -> str:
        """The key of what ``fit`` learned: the parameters less ``encode_time_params``."""
        if not self.encode_time_params:
            return self._params_key()
        params = {k: v for k, v in self._json_params().items() if k not in self.encode_time_params}
        blob = json.dumps(params, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _ensure_loaded(self) -> None:
        key = self._params_key()
        if self.__dict__.get("_loaded_for") != key:
            self._validate()
            self._load()
            self._loaded_for = key

    def _check_fitted(self) -> None:
        fitted_for = self.__dict__.get("_fitted_for")
        if fitted_for is None:
            from embeddings._presets import train_command

            command = train_command(self.name)
            if command is not None:  # a corpus-trained preset: its weights come from a run
                raise NotFittedError(
                    f"{self.name} has no trained weights: train them on a corpus with "
                    f"`{command}`, then load DIR (embeddings.load(DIR))"
                )
            raise NotFittedError(
                f"{self.name} must be fitted on training texts before use: call "
                ".fit(train_texts) first"
            )
        if fitted_for != self._fit_key():
            raise NotFittedError(
                f"{self.name}: parameters changed since fit (set_params); call .fit again"
            )

    def _fitted_state_digest(self) -> str:
        if not (self.requires_fit or self.trainable) or not self.is_fitted:
            return ""
        digest = self.__dict__.get("_state_digest")
        if digest is None:
            arrays, meta = self._get_state()
            digest = _hash_arrays(arrays, _jsonable(meta, where="state"))
            self._state_digest = digest
        return str(digest)

    def __getstate__(self) -> dict[str, Any]:
        drop = {*self.transient, "_loaded_for"}
        return {k: v for k, v in super().__getstate__().items() if k not in drop}


_classes.set_root(BaseEncoder)  # saved folders may only name its subclasses
