"""The Encoder protocol and the :class:`BaseEncoder` template.

Every encoder in transferkit turns a sequence of raw strings into a contiguous
``float32`` array of shape ``(len(texts), dim)`` in input order.  Subclasses only
write the model-specific parts:

* ``_load()``: load weights/resources (lazily, on first use; never in ``__init__``),
* ``_fit(texts)``: learn from training texts (only for trainable encoders),
* ``_encode_batch(texts)``: encode one batch,
* ``_output_dim()``: the output dimension once loaded (and fitted),
* ``_get_state()`` / ``_set_state()``: the fitted state, for ``save``/``load``.

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
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
from sklearn.base import BaseEstimator

from embeddings._atomic import write_folder_atomically
from embeddings.errors import (
    EncodingError,
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
)

__all__ = ["Encoder", "BaseEncoder", "validate_texts", "SAVE_FORMAT", "SAVE_FORMAT_VERSION"]

SAVE_FORMAT = "transferkit-encoder"
SAVE_FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"


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


def validate_texts(texts: object, *, what: str = "texts") -> list[str]:
    """Check that ``texts`` is a sequence of ``str`` and return it as a list.

    Raises:
        InvalidInputError: for a bare ``str``/``bytes``, a non-iterable, or an item
            that is not a ``str`` (the message names the first bad index).

    Example:
        >>> validate_texts(("a", "b"))
        ['a', 'b']
    """
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a sequence of strings, got a single {type(texts).__name__} "
            f"({str(texts)[:40]!r}); wrap it in a list: [text]"
        )
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise InvalidInputError(
            f"{what} must be one-dimensional, got an array of shape {texts.shape}"
        )
    if not isinstance(texts, Iterable):
        raise InvalidInputError(f"{what} must be a sequence of strings, got {type(texts).__name__}")
    out = list(texts)
    if set(map(type, out)) <= {str}:  # the common case, without a Python loop
        return out
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InvalidInputError(
                f"{what}[{i}] must be str, got {type(t).__name__} ({t!r:.40}); "
                "convert or drop missing values before encoding"
            )
    return out


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
    """Import ``"package.module:ClassName"`` and return the class."""
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


class BaseEncoder(BaseEstimator):  # type: ignore[misc]
    """Template for every encoder: validation, lazy load, batching, persistence.

    Subclasses define ``__init__`` with keyword parameters that are only stored
    (the scikit-learn rule) and implement ``_encode_batch`` and ``_output_dim``,
    plus ``_load``, ``_fit``, ``_get_state``/``_set_state`` where needed.

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
    _state_digest: str | None

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

    def _resource_id(self) -> str:
        """An identifier of the external weights (e.g. a package version)."""
        return ""

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
        return self.__dict__.get("_fitted_for") == self._params_key()

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
        self._fitted_for = self._params_key()
        return self

    def encode(
        self, texts: Sequence[str], /, *, batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray:
        """Encode texts into a float32 array of shape ``(len(texts), dim)``.

        Texts are sorted by length into batches (less padding), encoded, and put
        back in input order.

        Args:
            texts: a sequence of strings (not a bare string).
            batch_size: texts per batch; does not change the result.
            show_progress: show a tqdm progress bar.

        Returns:
            C-contiguous float32 array, row ``i`` for ``texts[i]``.

        Example:
            >>> import embeddings
            >>> embeddings.load("glove-6b-50d").encode([]).shape
            (0, 50)
        """
        texts_list = validate_texts(texts)
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
            raise InvalidParameterError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if batch_size < 1:
            raise InvalidParameterError(f"batch_size must be >= 1, got {batch_size}")
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
        if show_progress:
            from tqdm.auto import tqdm
        else:  # tqdm.auto would warn in notebooks without ipywidgets, even when disabled
            from tqdm import tqdm

        self._on_encode_start()
        with tqdm(
            total=n, disable=not show_progress, unit="text", desc=f"encode {self.name}"
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

        The folder is written atomically: a crash leaves no half-written encoder.
        Pretrained weights shipped by a package are referenced, not copied; the
        fitted state (vocabularies, principal components, trained networks) is
        stored.  No pickle is used.

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
        config = {
            "format": SAVE_FORMAT,
            "format_version": SAVE_FORMAT_VERSION,
            "class": self._class_path(),
            "adapter_version": self.adapter_version,
            "preset": self.__dict__.get("_preset_name"),
            "params": self._json_params(),
            "fitted": bool(self.requires_fit or self.trainable) and self.is_fitted,
            "state": _jsonable(meta, where=f"{self.name} state"),
            "fingerprint": self.fingerprint(),
        }

        def fill(tmp: Path) -> None:
            contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
            save_file(contiguous, str(tmp / WEIGHTS_NAME), metadata={"format": SAVE_FORMAT})
            (tmp / CONFIG_NAME).write_text(
                json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )

        return write_folder_atomically(target, fill, kind="saved encoder")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> BaseEncoder:
        """Rebuild an encoder written by :meth:`save` (any subclass).

        Raises:
            ModelFormatError: missing/invalid ``config.json`` or weights, an unknown
                format version, or a class that is not a transferkit encoder.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        folder = Path(path)
        cfg_path = folder / CONFIG_NAME
        try:
            config = json.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFormatError(
                f"{folder} is not a saved encoder: {CONFIG_NAME} is missing"
            ) from None
        except json.JSONDecodeError as err:
            raise ModelFormatError(
                f"{cfg_path}: invalid JSON at line {err.lineno}: {err.msg}"
            ) from err
        if not isinstance(config, dict) or config.get("format") != SAVE_FORMAT:
            raise ModelFormatError(f"{cfg_path}: 'format' must be {SAVE_FORMAT!r}")
        if config.get("format_version") != SAVE_FORMAT_VERSION:
            raise ModelFormatError(
                f"{cfg_path}: format_version {config.get('format_version')!r} is not "
                f"supported (this transferkit reads version {SAVE_FORMAT_VERSION})"
            )
        try:
            klass = import_class(str(config["class"]))
        except (ImportError, AttributeError, KeyError, InvalidParameterError) as err:
            raise ModelFormatError(f"{cfg_path}: cannot import encoder class: {err}") from err
        if not (isinstance(klass, type) and issubclass(klass, BaseEncoder)):
            raise ModelFormatError(f"{cfg_path}: {config['class']!r} is not a transferkit encoder")
        if cls is not BaseEncoder and not issubclass(klass, cls):
            raise ModelFormatError(f"{cfg_path}: holds a {klass.__name__}, not a {cls.__name__}")
        saved_version = str(config.get("adapter_version"))
        if saved_version != klass.adapter_version and saved_version not in klass.loads_versions:
            raise ModelFormatError(
                f"{cfg_path}: saved with adapter version {config.get('adapter_version')!r}, "
                f"this transferkit has {klass.adapter_version!r}; re-create and re-fit the encoder"
            )
        params = {k: _from_json_param(v) for k, v in dict(config.get("params", {})).items()}
        encoder = klass(**params)
        if config.get("preset"):
            encoder._preset_name = config["preset"]
        if config.get("fitted"):
            try:
                arrays = load_file(str(folder / WEIGHTS_NAME))
            except (FileNotFoundError, SafetensorError, OSError) as err:
                raise ModelFormatError(
                    f"{folder / WEIGHTS_NAME}: cannot read weights: {err}"
                ) from err
            encoder._ensure_loaded()
            encoder._set_state(arrays, dict(config.get("state") or {}))
            encoder._fitted_for = encoder._params_key()
            encoder._state_digest = None
        return encoder

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
        if fitted_for != self._params_key():
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


def _from_json_param(value: Any) -> Any:
    if isinstance(value, dict) and "__encoder__" in value:
        klass = import_class(value["__encoder__"])
        if not issubclass(klass, BaseEncoder):
            raise ModelFormatError(f"{value['__encoder__']!r} is not a transferkit encoder")
        return klass(**{k: _from_json_param(v) for k, v in value.get("params", {}).items()})
    return value
