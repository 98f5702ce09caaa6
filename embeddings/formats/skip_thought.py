"""The published Skip-Thought release (Kiros et al., 2015), read without running its pickles.

The release is a folder of

* ``uni_skip.npz`` / ``bi_skip.npz``: the model parameters as named numpy arrays.
  The sentence encoder is a GRU whose parameters are ``encoder_W`` (``dim_word x
  2 dim``: reset and update gates of the input), ``encoder_U`` (``dim x 2 dim``),
  ``encoder_b`` (``2 dim``), ``encoder_Wx`` (``dim_word x dim``: the candidate
  state), ``encoder_Ux`` (``dim x dim``) and ``encoder_bx`` (``dim``); the
  bidirectional model adds the backward GRU ``encoder_r_*`` with the same shapes.
  Decoder parameters are present too; encoding does not use them.
* ``uni_skip.npz.pkl`` / ``bi_skip.npz.pkl``: the training options, a pickled
  dict (``dim``, ``dim_word``, ``encoder``...).  They are read by
  :func:`read_options` with an unpickler that accepts only plain dicts, lists,
  tuples, strings and numbers: a pickle that names any class or function is
  refused before anything in it runs.  ``options=`` lets a caller skip the file.
* ``utable.npy`` / ``btable.npy``: the word tables after vocabulary expansion, one
  row per line of ``dictionary.txt`` (UTF-8, one word per line, with ``UNK`` and
  ``<eos>`` among them).  A table saved as a plain 2-d float array is memory-mapped
  with ``allow_pickle=False``; a table saved as an object array (one row array per
  word, which numpy can only store pickled) is read by :func:`read_table` with an
  unpickler that accepts numpy's array reconstruction and nothing else.

The GRU of the release (Cho et al., 2014), one step with input ``x`` and state ``h``::

    r  = sigmoid(x W[:, :dim] + b[:dim] + h U[:, :dim])
    u  = sigmoid(x W[:, dim:] + b[dim:] + h U[:, dim:])
    h~ = tanh(r * (h Ux) + x Wx + bx)
    h' = u * h + (1 - u) * h~

which is torch's ``nn.GRU`` with the gate order (r, z=u, n), ``bias_hh = 0``:
:func:`gru_to_torch` does that mapping.

Example:
    >>> from embeddings.formats.skip_thought import read_release
    >>> release = read_release("skip-thoughts/", mode="uni")  # doctest: +SKIP
    >>> release.parts["uni"].hidden_size  # doctest: +SKIP
    2400
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = [
    "RELEASE_FILES",
    "ReleasePart",
    "SkipThoughtRelease",
    "gru_to_torch",
    "read_options",
    "read_release",
    "read_table",
]

#: the files of each part: (parameters, options, word table)
RELEASE_FILES: dict[str, tuple[str, str, str]] = {
    "uni": ("uni_skip.npz", "uni_skip.npz.pkl", "utable.npy"),
    "bi": ("bi_skip.npz", "bi_skip.npz.pkl", "btable.npy"),
}
DICTIONARY = "dictionary.txt"
_MAX_OPTIONS_BYTES = 1 << 20
_GRU_NAMES = ("W", "b", "U", "Wx", "bx", "Ux")

# numpy's own pickling of arrays: the only globals an object-array table may name
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _PlainUnpickler(pickle.Unpickler):
    """Builds dicts, lists, tuples, strings and numbers; refuses every global."""

    allowed: ClassVar[frozenset[tuple[str, str]]] = frozenset()

    def __init__(self, fh: Any, what: str) -> None:
        super().__init__(fh, encoding="latin1")
        self._what = what

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self.allowed:
            import importlib

            return getattr(importlib.import_module(module), name)
        raise ModelFormatError(
            f"{self._what} refers to {module}.{name}; only plain dicts, lists, strings and "
            "numbers are read from it (nothing in the file was run). Pass the options "
            "yourself (options={'dim': ..., 'dim_word': ...}) if the file is not trusted"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFormatError(f"{self._what} uses persistent ids, which are not read")


class _ArrayUnpickler(_PlainUnpickler):
    allowed = frozenset(_NUMPY_GLOBALS)


def _check_plain(value: Any, what: str, depth: int = 0) -> None:
    if depth > 20:
        raise ModelFormatError(f"{what} is nested more than 20 levels deep")
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_plain(v, what, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, bytes, int)):
                raise ModelFormatError(f"{what} has a key of type {type(k).__name__}")
            _check_plain(v, what, depth + 1)
        return
    raise ModelFormatError(
        f"{what} holds a {type(value).__name__}; only dicts, lists, strings and numbers are read"
    )


def read_options(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The options dict of ``uni_skip.npz.pkl`` / ``bi_skip.npz.pkl``, read safely.

    Raises:
        ModelFormatError: the file is not a pickled plain dict (for example it names
            a class or function, which would run code under the standard unpickler).

    Example:
        >>> read_options("uni_skip.npz.pkl")["dim"]  # doctest: +SKIP
        2400
    """
    p = Path(path)
    what = f"options file {p}"
    size = p.stat().st_size
    if size > _MAX_OPTIONS_BYTES:
        raise ModelFormatError(f"{what} is {size} bytes; an options dict is far smaller")
    data = p.read_bytes()
    try:
        value = _PlainUnpickler(io.BytesIO(data), what).load()
    except ModelFormatError:
        raise
    except Exception as err:  # a truncated or foreign file: pickle raises many types
        raise ModelFormatError(f"{what} is not a readable pickle: {err}") from None
    _check_plain(value, what)
    if not isinstance(value, dict):
        raise ModelFormatError(f"{what} holds a {type(value).__name__}, expected a dict")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in value.items()}


def read_table(path: str | os.PathLike[str]) -> np.ndarray:
    """A word table (``utable.npy`` / ``btable.npy``) as a 2-d float array.

    A plain float array is memory-mapped (``allow_pickle=False``).  An object array
    of per-word row arrays is rebuilt with an unpickler limited to numpy's array
    reconstruction, then stacked into float32.

    Example:
        >>> read_table("utable.npy").shape  # doctest: +SKIP
        (930913, 620)
    """
    p = Path(path)
    with open(p, "rb") as fh:
        try:
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                _, _, dtype = np.lib.format.read_array_header_2_0(fh)
        except ValueError as err:
            raise ModelFormatError(f"{p} is not a .npy file: {err}") from None
        if not dtype.hasobject:
            table = np.load(p, mmap_mode="r", allow_pickle=False)
            if table.ndim != 2 or table.dtype.kind != "f":
                raise ModelFormatError(
                    f"{p} holds a {table.dtype} array of shape {table.shape}; a word table is "
                    "a 2-d float array"
                )
            return table
        try:
            obj = _ArrayUnpickler(fh, f"word table {p}").load()
        except ModelFormatError:
            raise
        except Exception as err:
            raise ModelFormatError(f"{p}: its object array cannot be read: {err}") from None
    rows = np.asarray(obj, dtype=object).reshape(-1)
    if rows.size == 0 or not all(isinstance(r, np.ndarray) and r.dtype.kind == "f" for r in rows):
        raise ModelFormatError(f"{p}: an object-array table must hold one float array per word")
    try:
        return np.stack([np.asarray(r, dtype=np.float32).reshape(-1) for r in rows])
    except ValueError:
        raise ModelFormatError(f"{p}: the word rows do not all have the same length") from None


def gru_to_torch(params: dict[str, np.ndarray], dim: int) -> dict[str, np.ndarray]:
    """Map one release GRU (``W, b, U, Wx, bx, Ux``) onto ``nn.GRU`` layer-0 weights.

    Example:
        >>> import numpy as np
        >>> p = {"W": np.zeros((3, 4)), "b": np.zeros(4), "U": np.zeros((2, 4)),
        ...      "Wx": np.zeros((3, 2)), "bx": np.zeros(2), "Ux": np.zeros((2, 2))}
        >>> gru_to_torch(p, 2)["weight_ih_l0"].shape
        (6, 3)
    """
    W, b, U = params["W"], params["b"], params["U"]
    Wx, bx, Ux = params["Wx"], params["bx"], params["Ux"]
    return {
        "weight_ih_l0": np.concatenate([W[:, :dim].T, W[:, dim:].T, Wx.T]),
        "weight_hh_l0": np.concatenate([U[:, :dim].T, U[:, dim:].T, Ux.T]),
        "bias_ih_l0": np.concatenate([b[:dim], b[dim:], bx]),
        "bias_hh_l0": np.zeros(3 * dim, dtype=b.dtype),
    }


@dataclass
class ReleasePart:
    """One encoder of the release (``uni`` or ``bi``)."""

    name: str
    dim_word: int
    hidden_size: int
    forward: dict[str, np.ndarray]
    backward: dict[str, np.ndarray] | None
    table: np.ndarray
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SkipThoughtRelease:
    """The parts of a release and their shared dictionary."""

    words: list[str]
    index: dict[str, int]
    parts: dict[str, ReleasePart]


def _read_gru(
    arrays: Any, prefix: str, dim_word: int, dim: int, where: str
) -> dict[str, np.ndarray]:
    shapes = {
        "W": (dim_word, 2 * dim), "b": (2 * dim,), "U": (dim, 2 * dim),
        "Wx": (dim_word, dim), "bx": (dim,), "Ux": (dim, dim),
    }  # fmt: skip
    out = {}
    for name in _GRU_NAMES:
        key = f"{prefix}_{name}"
        if key not in arrays.files:
            raise ModelFormatError(f"{where} has no array {key!r} (a Skip-Thought GRU parameter)")
        value = np.asarray(arrays[key])
        if value.shape != shapes[name] or value.dtype.kind != "f":
            raise ModelFormatError(
                f"{where}: {key!r} is a {value.dtype} array of shape {value.shape}, expected "
                f"float {shapes[name]} for dim_word={dim_word}, dim={dim}"
            )
        if not np.isfinite(value).all():
            raise ModelFormatError(f"{where}: {key!r} contains NaN or infinite values")
        out[name] = value.astype(np.float64)
    return out


def _read_dictionary(path: Path) -> list[str]:
    if not path.is_file():
        raise ModelFormatError(f"the release has no {DICTIONARY} (looked for {path})")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFormatError(f"{path} is not UTF-8: {err}") from None
    return [line.strip() for line in text.splitlines()]


def read_release(
    folder: str | os.PathLike[str],
    *,
    mode: str = "combine",
    options: dict[str, dict[str, Any]] | None = None,
) -> SkipThoughtRelease:
    """Read the encoder(s) of a published Skip-Thought release folder.

    Args:
        folder: the folder with the release files (see the module docstring).
        mode: ``"uni"``, ``"bi"`` or ``"combine"`` (both).
        options: ``{"uni": {"dim": ..., "dim_word": ...}, "bi": {...}}`` to use instead
            of the pickled options files (which are then not opened).

    Raises:
        ModelFormatError: a file is missing, mis-shaped or not what its name says.

    Example:
        >>> rel = read_release("skip-thoughts/", mode="bi")  # doctest: +SKIP
        >>> rel.parts["bi"].backward is not None  # doctest: +SKIP
        True
    """
    if mode not in ("uni", "bi", "combine"):
        raise InvalidParameterError(f"mode must be 'uni', 'bi' or 'combine', got {mode!r}")
    root = Path(folder)
    if not root.is_dir():
        raise ModelFormatError(f"Skip-Thought release folder {root} does not exist")
    words = _read_dictionary(root / DICTIONARY)
    index: dict[str, int] = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)
    if "UNK" not in index:
        raise ModelFormatError(
            f"{root / DICTIONARY} has no 'UNK' line; the release maps unknown words to it"
        )
    names = ("uni", "bi") if mode == "combine" else (mode,)
    parts = {}
    for name in names:
        npz_name, opt_name, table_name = RELEASE_FILES[name]
        given = (options or {}).get(name)
        opts = dict(given) if given is not None else read_options(root / opt_name)
        try:
            dim, dim_word = int(opts["dim"]), int(opts["dim_word"])
        except (KeyError, TypeError, ValueError):
            raise ModelFormatError(
                f"the {name} options need integer 'dim' and 'dim_word', got "
                f"{ {k: opts.get(k) for k in ('dim', 'dim_word')} }"
            ) from None
        if opts.get("encoder", "gru") != "gru":
            raise ModelFormatError(f"the {name} options name encoder {opts['encoder']!r}, not gru")
        npz_path = root / npz_name
        if not npz_path.is_file():
            raise ModelFormatError(f"the release has no {npz_name} (looked for {npz_path})")
        try:
            arrays = np.load(npz_path, allow_pickle=False)
        except ValueError as err:
            raise ModelFormatError(f"{npz_path} cannot be read without unpickling: {err}") from None
        with arrays:
            fwd = _read_gru(arrays, "encoder", dim_word, dim, str(npz_path))
            bwd = (
                _read_gru(arrays, "encoder_r", dim_word, dim, str(npz_path))
                if name == "bi"
                else None
            )
        table_path = root / table_name
        if not table_path.is_file():
            raise ModelFormatError(f"the release has no {table_name} (looked for {table_path})")
        table = read_table(table_path)
        if table.shape != (len(words), dim_word):
            raise ModelFormatError(
                f"{table_path} has shape {table.shape}; expected ({len(words)}, {dim_word}): "
                f"one row of dim_word={dim_word} per line of {DICTIONARY}"
            )
        parts[name] = ReleasePart(name, dim_word, dim, fwd, bwd, table, opts)
    return SkipThoughtRelease(words, index, parts)
