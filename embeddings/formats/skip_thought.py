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
  refused before anything in it runs, and the file (at most 1 MiB), the values
  visited (at most 100,000, memo-shared ones counted each time) and the nesting
  (20 levels) are bounded.  ``options=`` lets a caller skip the file.
* ``utable.npy`` / ``btable.npy``: the word tables after vocabulary expansion, one
  row per line of ``dictionary.txt`` (UTF-8, one word per line, with ``UNK`` and
  ``<eos>`` among them).  A table saved as a plain 2-d float array is memory-mapped
  once its header's shape matches the file's size; a table saved as an object array
  (one row array per word, which numpy can only store pickled) is rebuilt by
  :func:`read_table` from the pickle's plain data, without running numpy code.

Every file is checked to be a regular file before it is opened, and each ``.npz``
member's ``.npy`` header is checked against the expected shape and the zip
directory's size before any array data is read.

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

import math
import operator
import os
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import (
    InvalidParameterError,
    ModelFormatError,
    TransferkitError,
)
from embeddings.formats._release_pickles import (
    _READ_ERRORS,
    _npy_header,
    _open,
    _plain_float,
    _short,
    read_options,
    read_table,
)

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
#: the largest ``dim`` / ``dim_word`` accepted (the release has 2400, 1200 and 620)
_MAX_DIM = 1 << 16
#: a deflated ``.npz`` member above this size may expand at most ``_MAX_INFLATE`` times
_SMALL_MEMBER = 64 << 20
_MAX_INFLATE = 100
_GRU_NAMES = ("W", "b", "U", "Wx", "bx", "Ux")


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


def _read_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...], where: str
) -> np.ndarray:
    """One ``.npy`` member of an ``.npz``: header checked against ``shape`` and the zip
    directory's size before a byte of data is read."""
    what = f"{where}: {info.filename!r}"
    if info.flag_bits & 0x1:
        raise ModelFormatError(f"{what} is encrypted; the release's arrays are not")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise ModelFormatError(
            f"{what} uses zip compression method {info.compress_type}; numpy writes stored or "
            "deflated members"
        )
    if info.compress_type == zipfile.ZIP_DEFLATED and info.file_size > max(
        _SMALL_MEMBER, _MAX_INFLATE * info.compress_size
    ):
        raise ModelFormatError(
            f"{what} expands {info.compress_size} bytes to {info.file_size}; refused"
        )
    try:
        with zf.open(info) as stream:
            dshape, fortran, dtype, offset = _npy_header(stream, what)
            _plain_float(dtype, shape, what)
            if dshape != shape:
                raise ModelFormatError(f"{what} is a {dtype} array of shape {dshape}")
            need = math.prod(shape) * dtype.itemsize
            if info.file_size != offset + need:
                raise ModelFormatError(
                    f"{what}: its header declares {shape} {dtype} ({need} bytes) but the zip "
                    f"directory gives the member {info.file_size - offset} bytes of data"
                )
            data = stream.read(need)
    except TransferkitError:
        raise
    except _READ_ERRORS as err:
        raise ModelFormatError(f"{what} cannot be read ({type(err).__name__})") from None
    if len(data) != need:
        raise ModelFormatError(f"{what} is truncated: {len(data)} of {need} bytes")
    return np.frombuffer(data, dtype=dtype).reshape(shape, order="F" if fortran else "C")


def _read_gru(
    zf: zipfile.ZipFile, prefix: str, dim_word: int, dim: int, where: str
) -> dict[str, np.ndarray]:
    shapes = {
        "W": (dim_word, 2 * dim), "b": (2 * dim,), "U": (dim, 2 * dim),
        "Wx": (dim_word, dim), "bx": (dim,), "Ux": (dim, dim),
    }  # fmt: skip
    out = {}
    for name in _GRU_NAMES:
        key = f"{prefix}_{name}"
        infos = [i for i in zf.infolist() if i.filename in (f"{key}.npy", key)]
        if not infos:
            raise ModelFormatError(f"{where} has no array {key!r} (a Skip-Thought GRU parameter)")
        if len(infos) > 1:
            raise ModelFormatError(f"{where} holds {len(infos)} members for array {key!r}")
        try:
            value = _read_member(zf, infos[0], shapes[name], where)
        except ModelFormatError as err:
            raise ModelFormatError(
                f"{err}; expected float {shapes[name]} for dim_word={dim_word}, dim={dim}"
            ) from None
        if not np.isfinite(value).all():
            raise ModelFormatError(f"{where}: {key!r} contains NaN or infinite values")
        out[name] = value.astype(np.float64)
    return out


def _read_dictionary(path: Path) -> list[str]:
    fh, _ = _open(path, "Skip-Thought dictionary")
    with fh:
        data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ModelFormatError(
            f"{path} is not UTF-8: line {line} (byte {err.start}) does not decode; the "
            "release's dictionary is UTF-8, one word per line"
        ) from None
    lines = text.split("\n")  # the release splits on newlines only, as its reader does
    if lines[-1] == "":
        lines.pop()
    return [line.strip() for line in lines]


def _dims(opts: dict[str, Any], name: str) -> tuple[int, int]:
    """``(dim, dim_word)`` of one part's options: integers in 1..65536."""
    out = []
    for key in ("dim", "dim_word"):
        value = opts.get(key)
        try:
            number = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            number = None
        if number is None or not 1 <= number <= _MAX_DIM:
            raise ModelFormatError(
                f"the {name} options need integer 'dim' and 'dim_word' in 1..{_MAX_DIM}; "
                f"{key!r} is {_short(value)}"
            )
        out.append(number)
    return out[0], out[1]


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
        DataNotFoundError: a release file is missing.
        ModelFormatError: a file is not a regular file, or is damaged, mis-shaped or
            not what its name says (the message names the file and the field).

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
        index[w] = i  # a repeated word keeps its last row, as the release's OrderedDict does
    if len(index) < len(words):
        warnings.warn(
            f"{root / DICTIONARY}: {len(words) - len(index)} word(s) appear more than once; "
            "each uses the row of its last line, as the published code does",
            RuntimeWarning,
            stacklevel=2,
        )
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
        dim, dim_word = _dims(opts, name)
        encoder = opts.get("encoder", "gru")
        if encoder != "gru":
            raise ModelFormatError(f"the {name} options name encoder {_short(encoder)}, not gru")
        npz_path = root / npz_name
        fh, _ = _open(npz_path, "Skip-Thought parameter archive")
        try:
            zf = zipfile.ZipFile(fh)
        except _READ_ERRORS as err:
            fh.close()
            raise ModelFormatError(
                f"{npz_path} is not a readable .npz (zip) archive ({type(err).__name__})"
            ) from None
        with fh, zf:
            fwd = _read_gru(zf, "encoder", dim_word, dim, str(npz_path))
            bwd = _read_gru(zf, "encoder_r", dim_word, dim, str(npz_path)) if name == "bi" else None
        table_path = root / table_name
        table = read_table(table_path)
        if table.shape != (len(words), dim_word):
            raise ModelFormatError(
                f"{table_path} has shape {table.shape}; expected ({len(words)}, {dim_word}): "
                f"one row of dim_word={dim_word} per line of {DICTIONARY}"
            )
        parts[name] = ReleasePart(name, dim_word, dim, fwd, bwd, table, opts)
    return SkipThoughtRelease(words, index, parts)
