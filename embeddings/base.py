"""The Encoder protocol and the :class:`BaseEncoder` template.

Every encoder in transferkit turns a sequence of raw strings into a contiguous
``float32`` array of shape ``(len(texts), dim)`` in input order.  Subclasses only
write the model-specific parts:

* ``_load()``: load weights/resources (lazily, on first use; never in ``__init__``),
* ``_fit(texts)``: learn from training texts (only for trainable encoders),
* ``_encode_batch(texts)``: encode one batch,
* ``_output_dim()``: the output dimension once loaded (and fitted),
* ``_get_state()`` / ``_set_state()``: the fitted state, for ``save``/``load``,
* ``_validate()``: check the parameters (also run on every loaded folder),
* ``_check_state()``: check a saved state's arrays and metadata before ``_set_state``.

Validation, lazy loading, the fitted check, length-sorted batching, order
restoration, dtype/shape/finiteness checks and the progress bar live here only.

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
import math
import os
import re
from collections.abc import ItemsView, Iterable, KeysView, Mapping, Sequence, Set
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from embeddings import _classes
from embeddings._atomic import write_folder_atomically
from embeddings._encode_args import EncodeMixin
from embeddings._saved import CONFIG_NAME, SAVE_FORMAT, SAVE_FORMAT_VERSION, WEIGHTS_NAME
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
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


#: the code points U+D800-U+DFFF: no UTF-8 or tokenizer accepts them in a ``str``
_SURROGATES = re.compile("[\ud800-\udfff]")
#: what every surrogate code point of an input text becomes
REPLACEMENT_CHARACTER = "\ufffd"


def replace_surrogates(texts: list[str]) -> list[str]:
    """Replace every surrogate code point (U+D800-U+DFFF) by U+FFFD, one for one.

    A Python ``str`` can hold surrogate code points (``"\\udcff"`` from
    ``errors="surrogateescape"``, or the two halves of a UTF-16 pair left
    uncombined), but UTF-8 cannot encode them.  Each one becomes the Unicode
    replacement character U+FFFD, so a text keeps its length and every other
    character; an adjacent high/low pair becomes two U+FFFD, not the character the
    pair stood for (to keep such characters, combine the pairs first:
    ``text.encode("utf-16", "surrogatepass").decode("utf-16")``).  Texts without
    surrogates are returned as they are, and so is the list when no text has one.

    Example:
        >>> replace_surrogates(["ok", "a\\ud800b"]) == ["ok", "a\\ufffdb"]
        True
    """
    if all(map(str.isascii, texts)):
        return texts
    search = _SURROGATES.search
    if not any(map(search, texts)):
        return texts
    return [_SURROGATES.sub(REPLACEMENT_CHARACTER, t) if search(t) else t for t in texts]


def _one_column(texts: object, *, what: str) -> object:
    """The texts of a table-like input: a one-column pandas/polars DataFrame gives its
    column; a wider one, or a Series/column of a non-text dtype, is refused.  Other
    inputs are returned unchanged."""
    kind = type(texts).__name__
    module = type(texts).__module__.split(".", 1)[0]
    if module not in ("pandas", "polars", "pyarrow"):
        return texts
    shape = getattr(texts, "shape", None)
    if kind == "DataFrame" or kind == "Table":
        n_cols = shape[1] if shape is not None and len(shape) == 2 else None
        if n_cols != 1:
            columns = [str(c) for c in getattr(texts, "columns", [])][:10]
            raise InvalidInputError(
                f"{what} must be a sequence of strings, got a {kind} with {n_cols} columns "
                f"{columns}; pass the text column, e.g. df['text']"
            )
        if module == "pandas":
            texts = texts.iloc[:, 0]  # type: ignore[attr-defined]
        elif module == "polars":
            texts = texts.to_series(0)  # type: ignore[attr-defined]
        else:
            texts = texts.column(0).to_pylist()  # type: ignore[attr-defined]
        kind = f"one-column {kind}"
    dtype = getattr(texts, "dtype", None)
    if dtype is not None and module in ("pandas", "polars"):
        text_dtype = str(dtype).lower() in ("object", "string", "str", "utf8", "string[python]")
        text_dtype = text_dtype or str(dtype).lower().startswith(("string", "large_string"))
        if not text_dtype:
            raise InvalidInputError(
                f"{what} must hold strings, got a {kind} of dtype {dtype}; convert it first, "
                "e.g. s.astype(str)"
            )
    return texts


def validate_texts(texts: object, *, what: str = "texts") -> list[str]:
    """Check that ``texts`` is a sequence of ``str`` and return it as a list.

    Surrogate code points, which UTF-8 cannot encode, are replaced by U+FFFD
    (:func:`replace_surrogates`), so every encoder receives encodable text.

    Raises:
        InvalidInputError: for a bare ``str``/``bytes``, a mapping (iterating a dict
            gives its keys only), a set (no order, so rows could not be matched to
            texts), a DataFrame with more than one column (a one-column pandas or
            polars DataFrame is taken as its column), a Series of a non-text dtype,
            a non-iterable, or an item that is not a ``str`` (the message names the
            first bad index).

    Example:
        >>> validate_texts(("a", "b"))
        ['a', 'b']
        >>> validate_texts(["b\\udcff"]) == ["b\\ufffd"]
        True
    """
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a sequence of strings, got a single {type(texts).__name__} "
            f"({str(texts)[:40]!r}); wrap it in a list: [text]"
        )
    if isinstance(texts, Mapping):
        raise InvalidInputError(
            f"{what} must be a sequence of strings, got a {type(texts).__name__} (a mapping: "
            "encoding it would encode its keys only); pass list(d.values()) or list(d.keys())"
        )
    if isinstance(texts, Set) and not isinstance(texts, (KeysView, ItemsView)):
        raise InvalidInputError(
            f"{what} must be an ordered sequence of strings, got a {type(texts).__name__}, "
            "which has no order (row i of the output could not be matched to a text); "
            "pass sorted(texts) or list(texts)"
        )
    texts = _one_column(texts, what=what)
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise InvalidInputError(
            f"{what} must be one-dimensional, got an array of shape {texts.shape}"
        )
    if not isinstance(texts, Iterable):
        raise InvalidInputError(f"{what} must be a sequence of strings, got {type(texts).__name__}")
    out = list(texts)
    if set(map(type, out)) <= {str}:  # the common case, without a Python loop
        return replace_surrogates(out)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InvalidInputError(
                f"{what}[{i}] must be str, got {type(t).__name__} ({t!r:.40}); "
                "convert or drop missing values before encoding"
            )
    return replace_surrogates(out)


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


def check_state_arrays(
    arrays: Mapping[str, np.ndarray],
    expected: Mapping[str, tuple[str, tuple[int | None, ...]]],
    *,
    optional: Iterable[str] = (),
    owner: str,
) -> None:
    """Check saved arrays against their expected names, dtypes and shapes.

    Args:
        arrays: the arrays read from ``weights.safetensors``.
        expected: name -> (dtype name, shape); ``None`` in a shape is any size.
        optional: names of ``expected`` that may be absent.
        owner: what the arrays belong to, for messages (``"saved TF-IDF state"``).

    Raises:
        ModelFormatError: a missing or unexpected array, or a wrong dtype or shape
            (the message names the array, what it is and what was expected).

    Example:
        >>> import numpy as np
        >>> check_state_arrays({"w": np.zeros(3, np.float32)}, {"w": ("float32", (3,))}, owner="x")
        >>> try:
        ...     check_state_arrays({"w": np.zeros(2, np.float32)}, {"w": ("float32", (3,))},
        ...                        owner="x")
        ... except ModelFormatError as err:
        ...     print(err)
        x: array 'w' has shape (2,), expected (3,)
    """
    optional_set = set(optional)
    missing = sorted(k for k in expected if k not in arrays and k not in optional_set)
    if missing:
        raise ModelFormatError(f"{owner}: missing array(s) {missing}")
    unexpected = sorted(k for k in arrays if k not in expected)
    if unexpected:
        raise ModelFormatError(
            f"{owner}: unexpected array(s) {unexpected}; allowed: {sorted(expected)}"
        )
    for name, (dtype, shape) in expected.items():
        if name not in arrays:
            continue
        arr = arrays[name]
        if arr.dtype != np.dtype(dtype):
            raise ModelFormatError(
                f"{owner}: array {name!r} has dtype {arr.dtype}, expected {dtype}"
            )
        want = "(" + ", ".join("any" if d is None else str(d) for d in shape)
        want += ",)" if len(shape) == 1 else ")"
        if arr.ndim != len(shape) or any(
            d is not None and d != got for d, got in zip(shape, arr.shape)
        ):
            raise ModelFormatError(
                f"{owner}: array {name!r} has shape {tuple(arr.shape)}, expected {want}"
            )


_META_KINDS: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "number": (int, float),
    "str": (str,),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}


def check_meta(
    meta: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    optional: Iterable[str] = (),
    owner: str,
) -> None:
    """Check the JSON metadata of a saved state: known keys only, each of its kind.

    Args:
        meta: the ``state`` object of ``config.json``.
        fields: key -> kind: ``"int"`` (an integer >= 0), ``"number"`` (finite),
            ``"str"``, ``"bool"``, ``"list"`` or ``"dict"``.
        optional: keys that may be absent.
        owner: what the metadata belongs to, for messages.

    Raises:
        ModelFormatError: a missing, unknown or mistyped key (named in the message).

    Example:
        >>> check_meta({"n_words": 3}, {"n_words": "int"}, owner="x")
        >>> try:
        ...     check_meta({"n_words": "3"}, {"n_words": "int"}, owner="x")
        ... except ModelFormatError as err:
        ...     print(err)
        x: state field 'n_words' must be an integer >= 0, got '3'
    """
    optional_set = set(optional)
    missing = sorted(k for k in fields if k not in meta and k not in optional_set)
    if missing:
        raise ModelFormatError(f"{owner}: state lacks field(s) {missing}")
    unknown = sorted(k for k in meta if k not in fields)
    if unknown:
        raise ModelFormatError(
            f"{owner}: unknown state field(s) {unknown}; known: {sorted(fields)}"
        )
    for key, kind in fields.items():
        if key not in meta:
            continue
        value = meta[key]
        ok = isinstance(value, _META_KINDS[kind])
        ok = ok and (kind == "bool" or not isinstance(value, bool))
        if ok and kind == "int":
            ok = value >= 0
        if ok and kind == "number":
            ok = isinstance(value, int) or math.isfinite(value)
        if not ok:
            what = {"int": "an integer >= 0", "number": "a finite number"}.get(kind, f"a {kind}")
            raise ModelFormatError(
                f"{owner}: state field {key!r} must be {what}, got {value!r:.60}"
            )


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


class BaseEncoder(EncodeMixin, BaseEstimator):  # type: ignore[misc]
    """Template for every encoder: validation, lazy load, batching, persistence.

    Subclasses define ``__init__`` with keyword parameters that are only stored
    (the scikit-learn rule) and implement ``_encode_batch`` and ``_output_dim``,
    plus ``_load``, ``_fit``, ``_get_state``/``_set_state`` where needed.

    Input text policy (``encode`` and ``fit``, for every family): each surrogate code
    point U+D800-U+DFFF of a text (a lone surrogate, which UTF-8 cannot encode) is
    replaced by U+FFFD, one for one, before any adapter sees it
    (:func:`replace_surrogates`); the text keeps its length, and every other
    character, control characters and NUL included, is passed on unchanged.  Texts
    without surrogates are not copied.

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
            value = getattr(self, param, None)
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

    def fit(self, texts: Sequence[str], y: Any = None) -> BaseEncoder:
        """Learn from training texts (a no-op for pretrained, frozen encoders).

        Args:
            texts: training texts only, never test texts.
            y: ignored; present for scikit-learn compatibility.

        Returns:
            self
        """
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
            self._load()
            self._loaded_for = key

    def _check_fitted(self) -> None:
        fitted_for = self.__dict__.get("_fitted_for")
        if fitted_for is None:
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
        state = dict(super().__getstate__())
        for attr in (*self.transient, "_loaded_for"):
            state.pop(attr, None)
        return state


_classes.set_root(BaseEncoder)  # saved folders may only name its subclasses
