"""The Skip-Thought release's pickles, read without running code: the options files
through an unpickler whose ``find_class`` accepts nothing, and the word tables
(object arrays) through one that accepts only numpy's array reconstruction, with
every size bounded before it is allocated."""

from __future__ import annotations

import io
import math
import os
import pickle
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import numpy as np

from embeddings.errors import (
    DataNotFoundError,
    ModelFormatError,
    TransferkitError,
)
from embeddings.formats._files import check_regular_file, open_regular_file

_MAX_OPTIONS_BYTES = 1 << 20
#: values visited in an options pickle (the published dicts hold about 30), shared ones included
_MAX_OPTION_NODES = 100_000
_MAX_DEPTH = 20
# the failures of zipfile, zlib and numpy's header parser on a damaged file
_READ_ERRORS = (
    zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError, ValueError,
    TypeError, OverflowError, SyntaxError, RecursionError, NotImplementedError, RuntimeError,
    KeyError, IndexError,
)  # fmt: skip
# numpy's pickling of arrays: the globals an object-array table may name
_NUMPY_RECONSTRUCT = {("numpy.core.multiarray", "_reconstruct"),
                      ("numpy._core.multiarray", "_reconstruct")}  # fmt: skip
_FLOAT_CODES = frozenset({"f2", "f4", "f8"})
_OBJECT_CODES = frozenset({"O4", "O8"})


def _open(path: Path, what: str) -> tuple[BinaryIO, int]:
    """``(binary file, size)`` of a regular file; a folder, FIFO or device is refused
    before it is read (the open does not block and the opened file is checked)."""
    if not os.path.lexists(path):
        raise DataNotFoundError(f"{what} {path} does not exist")
    # a release file is read from its folder: a link out of it is refused
    check_regular_file(path, what=what, inside=Path(path).parent.resolve())
    fh = open_regular_file(path, what=what)
    return fh, os.fstat(fh.fileno()).st_size


def _short(value: Any) -> str:
    """A repr of a value from a file, at most 40 characters (huge integers are sized)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"
    if isinstance(value, (bool, int, float)) or value is None:
        return repr(value)
    if isinstance(value, (str, bytes)):
        return repr(value[:30]) + ("..." if len(value) > 30 else "")
    return f"a {type(value).__name__}"


class _Limited:
    """A read-only view of ``size`` bytes of ``fh`` that refuses reads past them.

    Python's unpickler reads a counted string with one ``read(n)``; refusing an ``n``
    beyond the bytes left keeps a lying count from allocating anything.
    """

    def __init__(self, fh: BinaryIO, size: int, what: str) -> None:
        self._fh, self._left, self._what = fh, size, what

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            raise ModelFormatError(
                f"{self._what} is truncated: an entry declares {n} bytes, {self._left} remain"
            )
        data = self._fh.read(n)
        self._left -= len(data)
        return data

    def readline(self) -> bytes:
        line = self._fh.readline(self._left)
        self._left -= len(line)
        return line


def _refused(opcode: str) -> Any:
    def load(self: _RestrictedUnpickler) -> None:
        raise ModelFormatError(f"{self._what} uses the pickle instruction {opcode}, not read here")

    return load


def _scalar_keys(original: Any, keys: Any) -> Any:
    """Wrap a dict-building instruction: only scalar keys (hashing a shared tuple is unbounded)."""

    def load(self: _RestrictedUnpickler) -> None:
        for key in keys(self):
            if key is not None and type(key) not in (str, bytes, int, float, bool):
                raise ModelFormatError(f"{self._what} has a dict key of type {type(key).__name__}")
        original(self)

    return load


_REFUSED_OPS = ("PERSID", "BINPERSID", "INST", "OBJ", "NEWOBJ", "NEWOBJ_EX", "EXT1", "EXT2", "EXT4",
                "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER", "REDUCE", "BUILD")  # fmt: skip


def _key_of_setitem(u: Any) -> list[Any]:
    return u.stack[-2:-1]


def _keys_of_mark(u: Any) -> list[Any]:
    return u.stack[::2]  # after MARK, the stack holds key, value, key, value...


class _RestrictedUnpickler(pickle._Unpickler):  # type: ignore[misc,name-defined]
    """Python's own unpickler with every global refused and a smaller instruction set.

    The Python implementation is used because the C one allocates the size a counted
    string declares before reading it (a few bytes could ask for terabytes); with
    :class:`_Limited` a count beyond the file's end is refused first.  Instructions
    that build sets, call classes, use persistent ids, the copyreg extension cache
    or out-of-band buffers are refused outright; dict keys must be scalars.
    """

    dispatch: ClassVar[dict[int, Any]] = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]
    for _op in _REFUSED_OPS:
        dispatch[getattr(pickle, _op)[0]] = _refused(_op)
    for _op in ("EMPTY_SET", "ADDITEMS", "FROZENSET"):
        dispatch[getattr(pickle, _op)[0]] = _refused(f"{_op} (a set)")
    for _op, _keys in (
        ("SETITEM", _key_of_setitem), ("SETITEMS", _keys_of_mark), ("DICT", _keys_of_mark)
    ):  # fmt: skip
        dispatch[getattr(pickle, _op)[0]] = _scalar_keys(dispatch[getattr(pickle, _op)[0]], _keys)
    del _op, _keys

    def __init__(self, fh: Any, what: str) -> None:
        super().__init__(fh, encoding="latin1")
        self._what = what

    def find_class(self, module: str, name: str) -> Any:
        raise ModelFormatError(
            f"{self._what} refers to {module}.{name}; only plain dicts, lists, strings and "
            "numbers are read from it (nothing in the file was run). Pass the options "
            "yourself (options={'dim': ..., 'dim_word': ...}) if the file is not trusted"
        )

    def persistent_load(self, pid: Any) -> Any:
        raise ModelFormatError(f"{self._what} uses persistent ids, which are not read")


def _unpickle(unpickler: _RestrictedUnpickler, what: str) -> Any:
    try:
        return unpickler.load()
    except TransferkitError:
        raise
    except (pickle.UnpicklingError, *_READ_ERRORS, AttributeError, UnicodeError) as err:
        raise ModelFormatError(
            f"{what} is not a readable pickle ({type(err).__name__}); nothing in it was run"
        ) from None


def _check_plain(value: Any, what: str) -> None:
    """Refuse anything but dicts, lists, tuples, strings and numbers; every visited value
    counts, so memo-shared values cannot multiply the walk."""
    stack = [(value, 0)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        if depth > _MAX_DEPTH:
            raise ModelFormatError(f"{what} is nested more than {_MAX_DEPTH} levels deep")
        if item is None or isinstance(item, (bool, int, float, str, bytes)):
            continue
        if isinstance(item, dict):
            children = list(item.values())
        elif isinstance(item, (list, tuple)):
            children = list(item)
        else:
            raise ModelFormatError(
                f"{what} holds a {type(item).__name__}; only dicts, lists, strings and numbers "
                "are read"
            )
        nodes += len(children)
        if nodes > _MAX_OPTION_NODES:
            raise ModelFormatError(
                f"{what} holds more than {_MAX_OPTION_NODES} values (shared ones counted each "
                "time they appear); an options dict holds a few dozen"
            )
        stack.extend((child, depth + 1) for child in children)


def read_options(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The options dict of ``uni_skip.npz.pkl`` / ``bi_skip.npz.pkl``, read safely.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: the file is not a pickled plain dict (for example it names
            a class or function, which would run code under the standard unpickler),
            is larger than 1 MiB, holds more than 100,000 values or nests deeper than 20.

    Example:
        >>> read_options("uni_skip.npz.pkl")["dim"]  # doctest: +SKIP
        2400
    """
    p = Path(path)
    what = f"options file {p}"
    fh, size = _open(p, "Skip-Thought options file")
    with fh:
        if size > _MAX_OPTIONS_BYTES:
            raise ModelFormatError(f"{what} is {size} bytes; an options dict is far smaller")
        data = fh.read(_MAX_OPTIONS_BYTES + 1)
    if len(data) > _MAX_OPTIONS_BYTES:
        raise ModelFormatError(f"{what} is over {_MAX_OPTIONS_BYTES} bytes")
    value = _unpickle(_RestrictedUnpickler(_Limited(io.BytesIO(data), len(data), what), what), what)
    _check_plain(value, what)
    if not isinstance(value, dict):
        raise ModelFormatError(f"{what} holds a {type(value).__name__}, expected a dict")
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = k.decode("latin1") if isinstance(k, bytes) else k
        if not isinstance(key, str):
            raise ModelFormatError(f"{what} has a key of type {type(k).__name__}")
        out[key] = v
    return out


class _Counting:
    """Counts the bytes read from a stream (the ``.npy`` header's length)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh, self.count = fh, 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.count += len(data)
        return data


def _npy_header(fh: BinaryIO, what: str) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """``(shape, fortran_order, dtype, header bytes)`` of a ``.npy`` stream (version 1 or 2)."""
    counter = _Counting(fh)
    try:
        version = np.lib.format.read_magic(counter)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(counter)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(counter)
        else:
            raise ModelFormatError(f"{what}: .npy version {version} is not read (1.0 or 2.0 are)")
    except (ValueError, TypeError, OverflowError, SyntaxError, RecursionError) as err:
        if isinstance(err, TransferkitError):
            raise
        raise ModelFormatError(
            f"{what}: not a valid .npy header ({type(err).__name__}); expected numpy's format "
            "1.0 or 2.0 with a descr, fortran_order and shape"
        ) from None
    if any(d < 0 for d in shape) or len(shape) > 32:
        raise ModelFormatError(f"{what}: the .npy header declares an invalid shape {shape}")
    return tuple(shape), bool(fortran), dtype, counter.count


def _plain_float(dtype: np.dtype, shape: tuple[int, ...], what: str) -> None:
    if dtype.hasobject:
        raise ModelFormatError(
            f"{what} is an object array ({dtype}), which numpy stores pickled; it is not read"
        )
    if dtype.kind != "f" or dtype.subdtype is not None or dtype.names is not None:
        raise ModelFormatError(f"{what} holds {dtype} values, expected a float array {shape}")


def read_table(path: str | os.PathLike[str]) -> np.ndarray:
    """A word table (``utable.npy`` / ``btable.npy``) as a 2-d float array.

    A plain float array is memory-mapped once its header's shape matches the file's
    size.  An object array of per-word row arrays (what the release ships, which numpy
    can only store pickled) is rebuilt from the pickle's plain data: the unpickler
    accepts numpy's array reconstruction as a name only, no numpy code runs while
    reading, and the rows are then checked (float dtype, same length, byte counts
    that match their shapes) and stacked into float32, at most twice the file's size.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not a regular file, a damaged or lying header, anything in
            the pickle besides array reconstruction, or rows that are not one float
            array per word.

    Example:
        >>> read_table("utable.npy").shape  # doctest: +SKIP
        (930913, 620)
    """
    p = Path(path)
    what = f"word table {p}"
    fh, size = _open(p, "word table")
    with fh:
        shape, fortran, dtype, offset = _npy_header(fh, what)
        if not dtype.hasobject:
            _plain_float(dtype, shape, what)
            if len(shape) != 2 or 0 in shape:
                raise ModelFormatError(
                    f"{what} holds a {dtype} array of shape {shape}; a word table is a "
                    "non-empty 2-d float array"
                )
            need = math.prod(shape) * dtype.itemsize
            if size - offset != need:
                raise ModelFormatError(
                    f"{what}: its header declares {shape} {dtype} ({need} bytes) but the file "
                    f"holds {size - offset} bytes after the header"
                )
            order = "F" if fortran else "C"
            return np.memmap(fh, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
        if dtype != np.dtype(object):
            raise ModelFormatError(f"{what} holds {dtype} records; a word table is not read so")
        unpickler = _TableUnpickler(_Limited(fh, size - offset, what), what)
        obj = _unpickle(unpickler, what)
    return _stack_rows(obj, shape, what, size)


class _NdarrayName:
    """Stands for ``numpy.ndarray`` in a table pickle; never called."""

    __slots__ = ()


class _Rebuilt:
    """One array of a table pickle: the state numpy would have restored, kept as data."""

    __slots__ = ("state",)

    def __init__(self) -> None:
        self.state: Any = None


class _DtypeName:
    """One ``numpy.dtype(code, align, copy)`` of a table pickle, kept as data."""

    __slots__ = ("code", "state")

    def __init__(self, code: Any) -> None:
        self.code, self.state = code, None


class _TableUnpickler(_RestrictedUnpickler):
    """Reads numpy's pickling of an object array of float arrays into :class:`_Rebuilt`."""

    dispatch: ClassVar[dict[int, Any]] = dict(_RestrictedUnpickler.dispatch)
    dispatch[pickle.REDUCE[0]] = pickle._Unpickler.dispatch[pickle.REDUCE[0]]  # type: ignore[attr-defined]

    def load_build(self) -> None:
        state = self.stack.pop()
        inst = self.stack[-1]
        if type(inst) not in (_Rebuilt, _DtypeName) or inst.state is not None:
            raise ModelFormatError(f"{self._what} sets the state of a {type(inst).__name__}")
        inst.state = state

    dispatch[pickle.BUILD[0]] = load_build

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_RECONSTRUCT:
            return self._reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _NdarrayName()
        if (module, name) == ("numpy", "dtype"):
            return self._dtype
        raise ModelFormatError(
            f"{self._what} refers to {module}.{name}; only numpy's array reconstruction is "
            "read from a word table (nothing in the file was run)"
        )

    def _reconstruct(self, subtype: Any, *_: Any) -> _Rebuilt:
        if not isinstance(subtype, _NdarrayName):
            raise ModelFormatError(f"{self._what} reconstructs a {type(subtype).__name__}")
        return _Rebuilt()

    def _dtype(self, code: Any, *_: Any) -> _DtypeName:
        return _DtypeName(code)


def _dtype_of(spec: Any, what: str) -> np.dtype:
    if not isinstance(spec, _DtypeName):
        raise ModelFormatError(f"{what}: an array's dtype is a {type(spec).__name__}")
    code = spec.code.decode("latin1") if isinstance(spec.code, bytes) else spec.code
    if code not in _FLOAT_CODES | _OBJECT_CODES:
        raise ModelFormatError(f"{what}: an array has dtype {_short(code)}; float or object only")
    state = spec.state
    endian = "|"
    if state is not None:
        if not (
            isinstance(state, tuple) and len(state) >= 5 and all(s is None for s in state[2:5])
        ):
            raise ModelFormatError(f"{what}: a dtype carries fields or a subarray; not read")
        endian = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if endian not in ("<", ">", "|", "="):
            raise ModelFormatError(f"{what}: a dtype has byte order {_short(endian)}")
    dtype = np.dtype(code)
    return dtype.newbyteorder(endian) if endian in ("<", ">") and code in _FLOAT_CODES else dtype


def _array_state(
    obj: Any, what: str, dtypes: dict[int, np.dtype]
) -> tuple[tuple[int, ...], np.dtype, bool, Any]:
    """``(shape, dtype, fortran, raw)`` of a rebuilt array, checked as numpy would;
    ``dtypes`` caches the dtype of each (memo-shared) dtype entry."""
    state = obj.state if isinstance(obj, _Rebuilt) else None
    if isinstance(state, tuple) and len(state) == 5:
        state = state[1:]
    if not (isinstance(state, tuple) and len(state) == 4):
        raise ModelFormatError(f"{what}: an entry is not an array with its state")
    shape, spec, fortran, raw = state
    if not (isinstance(shape, tuple) and len(shape) <= 32 and all(
            type(d) is int and d >= 0 for d in shape)):  # fmt: skip
        raise ModelFormatError(f"{what}: an array has an invalid shape")
    dtype = dtypes.get(id(spec))
    if dtype is None:
        dtype = dtypes[id(spec)] = _dtype_of(spec, what)
    return shape, dtype, bool(fortran), raw


def _stack_rows(obj: Any, header_shape: tuple[int, ...], what: str, size: int) -> np.ndarray:
    dtypes: dict[int, np.dtype] = {}
    shape, dtype, _, rows = _array_state(obj, what, dtypes)
    if not dtype.hasobject or shape != header_shape or not isinstance(rows, list):
        raise ModelFormatError(
            f"{what}: the pickle is not the object array of shape {header_shape} that its "
            "header declares"
        )
    if len(rows) != math.prod(shape) or not rows:
        raise ModelFormatError(f"{what}: holds {len(rows)} rows for shape {shape}")
    width = -1
    parsed = []
    for i, row in enumerate(rows):
        rshape, rdtype, rfortran, raw = _array_state(row, what, dtypes)
        if rdtype.hasobject:
            raise ModelFormatError(f"{what}: row {i} is not a float array")
        n = math.prod(rshape)
        if width < 0:
            width = n
            if len(rows) * width * 4 > 2 * size + (1 << 20):
                raise ModelFormatError(
                    f"{what}: {len(rows)} rows of {width} values are more than the {size}-byte "
                    "file can hold (rows shared in the pickle)"
                )
        if n != width:
            raise ModelFormatError(f"{what}: the word rows do not all have the same length")
        if isinstance(raw, str):  # a Python 2 string, read as latin1
            try:
                raw = raw.encode("latin1")
            except UnicodeEncodeError:
                raise ModelFormatError(f"{what}: row {i} holds text, not array bytes") from None
        if not isinstance(raw, bytes) or len(raw) != n * rdtype.itemsize:
            raise ModelFormatError(
                f"{what}: row {i} declares {rshape} {rdtype} but holds "
                f"{len(raw) if isinstance(raw, bytes) else 'no'} bytes of data"
            )
        parsed.append((raw, rdtype, rshape, rfortran))
    if width == 0:
        raise ModelFormatError(f"{what}: the word rows are empty")
    table = np.empty((len(rows), width), dtype=np.float32)
    for i, (raw, rdtype, rshape, rfortran) in enumerate(parsed):
        arr = np.frombuffer(raw, dtype=rdtype).reshape(rshape, order="F" if rfortran else "C")
        table[i] = arr.reshape(-1)
    return table
