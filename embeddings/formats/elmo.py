"""ELMo biLM files: ``options.json`` + ``weights.hdf5`` in the published layout.

The biLMs released with Peters et al. (2018), "Deep contextualized word
representations", are two files.  ``options.json`` fixes the architecture::

    {"lstm": {"dim": 4096, "projection_dim": 512, "n_layers": 2, "cell_clip": 3,
              "proj_clip": 3, "use_skip_connections": true},
     "char_cnn": {"activation": "relu", "embedding": {"dim": 16}, "n_highway": 2,
                  "filters": [[1, 32], [2, 32], [3, 64], [4, 128], [5, 256],
                              [6, 512], [7, 1024]],
                  "n_characters": 262, "max_characters_per_token": 50}}

and ``weights.hdf5`` holds the TensorFlow variables of the trained biLM, one
dataset each, with TensorFlow's shapes (inputs times outputs):

===========================================================  ===================================
``char_embed``                                               ``(261, char_dim)``
``CNN/W_cnn_{i}``, ``CNN/b_cnn_{i}``                          ``(1, width_i, char_dim, num_i)``,
                                                             ``(num_i,)``
``CNN_high_{k}/W_carry``, ``W_transform``                    ``(n_filters, n_filters)``
``CNN_high_{k}/b_carry``, ``b_transform``                    ``(n_filters,)``
``CNN_proj/W_proj``, ``CNN_proj/b_proj``                      ``(n_filters, projection_dim)``,
                                                             ``(projection_dim,)``
``RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/W_0``            ``(2 * projection_dim, 4 * dim)``
``RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/B``              ``(4 * dim,)``
``RNN_{d}/RNN/MultiRNNCell/Cell{l}/LSTMCell/W_P_0``          ``(dim, projection_dim)``
===========================================================  ===================================

where ``n_filters`` is the sum of the filter counts, ``d`` is 0 (forward) or 1
(backward) and ``l`` the layer.  ``W_0`` multiplies ``[input, previous output]``
and its four column blocks are TensorFlow's gates ``i, j, f, o``; ``B`` is stored
without the constant forget-gate bias of 1 that TensorFlow's cell adds.
``char_embed`` has one row per character id 0..260 (bytes, then the
begin/end-of-sentence, begin/end-of-word and padding characters); the network
reads it with ids shifted by one, id 0 being the all-zero row of a padding token.

Readers check everything before use: a missing or unknown field of
``options.json``, a missing dataset, a dataset of the wrong shape or a non-finite
value raises :class:`~embeddings.errors.ModelFormatError` naming it.  Datasets the
network does not read (the published files have none; training tools may add
some) are ignored.

Every size in ``options.json`` has a maximum (:data:`MAX_SIZES`), several times
that of the largest published biLM (the "original 5.5B"; in brackets):
``char_cnn.embedding.dim`` 256 (16); ``char_cnn.filters`` 64 entries (7) whose
counts sum to at most 16384 (2048); ``char_cnn.n_highway`` 16 (2);
``char_cnn.n_characters`` 1024 (262); ``char_cnn.max_characters_per_token`` 256
(50); ``lstm.dim`` 16384 (4096); ``lstm.projection_dim`` 4096 (512);
``lstm.n_layers`` 16 (2); the clips 10000 (3); 500 million parameters in all
(93.6 million); and the file 1 MiB.  Both files must be regular files (a path
the caller gives may be a symbolic link to one).  Every dataset the network
reads must be stored in ``weights.hdf5`` itself and completely: reached through
hard links only, contiguous, chunked or compact (no external storage, no virtual
dataset), filtered by HDF5's built-in filters only and with every chunk written.
All of this is checked from the file's metadata before any dataset is read, and
the datasets may declare at most 64 MiB plus 8 times the file's size.

:func:`write_elmo` writes both files atomically in the same layout, so a biLM
trained by transferkit and a published one load through the same code.

Example:
    >>> opts = ElmoOptions(char_dim=4, filters=((1, 4), (2, 4)), n_highway=1,
    ...                    cell_dim=8, projection_dim=4)
    >>> sorted(weight_layout(opts))[:3]
    ['CNN/W_cnn_0', 'CNN/W_cnn_1', 'CNN/b_cnn_0']
    >>> weight_layout(opts)["RNN_1/RNN/MultiRNNCell/Cell0/LSTMCell/W_0"]
    (8, 32)
"""

from __future__ import annotations

import contextlib
import io
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from embeddings._jsonfile import read_json_file
from embeddings.errors import DataNotFoundError, MissingDependencyError, ModelFormatError
from embeddings.formats._elmo_options import (  # noqa: F401  (public names of this module)
    _BUILTIN_FILTERS,
    _DECLARED_SLACK,
    _MAX_EXPANSION,
    MAX_CLIP,
    MAX_OPTIONS_BYTES,
    MAX_PARAMETERS,
    MAX_SIZES,
    N_CHAR_ROWS,
    ElmoOptions,
    lstm_prefix,
    weight_layout,
)
from embeddings.formats._files import open_regular_file

__all__ = [
    "N_CHAR_ROWS",
    "ElmoOptions",
    "lstm_prefix",
    "read_elmo",
    "read_options",
    "read_weights",
    "weight_layout",
    "write_elmo",
]


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as err:
        raise MissingDependencyError(
            f"reading or writing ELMo's weights.hdf5 needs h5py, which is not installed "
            f"({err}). Install it with: pip install 'transferkit[published]'  (or: pip "
            "install h5py)"
        ) from err
    return h5py


def _open_regular(path: str | os.PathLike[str], what: str) -> tuple[Path, BinaryIO]:
    """``(resolved path, open binary file)`` of a regular file (a link is followed).

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: a folder, FIFO, device or socket (refused before it is opened).
    """
    p = Path(path)
    if not os.path.exists(p):
        raise DataNotFoundError(f"ELMo {what} {str(p)!r} does not exist")
    return p.resolve(), open_regular_file(p, what=f"biLM {what}")


def read_options(path: str | os.PathLike[str]) -> ElmoOptions:
    """Read and check an ``options.json`` (a regular file of at most 1 MiB).

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not a regular file, too large, not UTF-8 JSON, or a missing /
            invalid field (named).
    """
    p = Path(path)
    if not os.path.exists(p):
        raise DataNotFoundError(f"ELMo options file {str(p)!r} does not exist")
    p = p.resolve()
    data = read_json_file(p, what="biLM options file", limit=MAX_OPTIONS_BYTES)
    return ElmoOptions.from_json(data, where=str(p))


def _walk(h5py: Any, fh: Any, name: str, p: Path) -> Any:
    """The object at ``name``, reached through hard links only; ``None`` when missing."""
    node = fh
    parts = name.split("/")
    for depth, part in enumerate(parts):
        if not isinstance(node, h5py.Group):
            above = "/".join(parts[:depth])
            raise ModelFormatError(f"{p}: {above!r} is not a group, expected a group of datasets")
        here = "/".join(parts[: depth + 1])
        link = node.get(part, getlink=True)
        if link is None:
            return None
        if isinstance(link, h5py.SoftLink):
            raise ModelFormatError(
                f"{p}: {here!r} is a soft link; the biLM's datasets must be stored in place"
            )
        if not isinstance(link, h5py.HardLink):  # an external or user-defined link
            raise ModelFormatError(
                f"{p}: {here!r} is a link to another file; the biLM's datasets must be "
                "stored in this file"
            )
        node = node[part]
    return node


def _check_dataset(h5py: Any, node: Any, name: str, shape: tuple[int, ...], p: Path) -> int:
    """Check a dataset from its metadata alone; returns the bytes it declares."""
    if not isinstance(node, h5py.Dataset):
        kind = "a group" if isinstance(node, h5py.Group) else "not a dataset"
        raise ModelFormatError(f"{p}: {name!r} is {kind}, expected a dataset {shape}")
    got = None if node.shape is None else tuple(int(n) for n in node.shape)
    if got != shape:
        raise ModelFormatError(
            f"{p}: dataset {name!r} has shape {got}, expected {shape} for these options"
        )
    dtype = node.dtype
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8):
        raise ModelFormatError(
            f"{p}: dataset {name!r} has dtype {dtype}, expected float16, float32 or float64"
        )
    if node.is_virtual or node.external:
        kind = (
            "a virtual dataset (it maps other files)"
            if node.is_virtual
            else "kept in external files"
        )
        raise ModelFormatError(
            f"{p}: dataset {name!r} is {kind}; the biLM's datasets must be stored in this file"
        )
    plist = node.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = int(plist.get_filter(i)[0])
        if code not in _BUILTIN_FILTERS:
            raise ModelFormatError(
                f"{p}: dataset {name!r} uses the HDF5 filter {code}; only HDF5's built-in "
                f"filters {sorted(_BUILTIN_FILTERS)} are read"
            )
    declared = math.prod(shape) * dtype.itemsize
    layout = plist.get_layout()
    if layout == h5py.h5d.CHUNKED:
        chunks = node.chunks
        expected = math.prod(-(-n // c) for n, c in zip(shape, chunks, strict=True))
        stored = int(node.id.get_num_chunks())
        if stored != expected:
            raise ModelFormatError(
                f"{p}: dataset {name!r} has {stored} of its {expected} chunks written; "
                "the biLM's datasets must be complete"
            )
    elif layout in (h5py.h5d.CONTIGUOUS, h5py.h5d.COMPACT):
        stored = int(node.id.get_storage_size())
        if stored != declared:
            raise ModelFormatError(
                f"{p}: dataset {name!r} stores {stored} bytes of its {declared}; "
                "the biLM's datasets must be complete"
            )
    else:
        raise ModelFormatError(f"{p}: dataset {name!r} has an unsupported storage layout")
    return declared


def _has_hdf5_signature(fh: BinaryIO) -> bool:
    """Whether the HDF5 signature is at offset 0, 512, 1024, 2048 ... of an open file."""
    size, offset = os.fstat(fh.fileno()).st_size, 0
    while offset + 8 <= size:
        fh.seek(offset)
        if fh.read(8) == b"\x89HDF\r\n\x1a\n":
            return True
        offset = 512 if offset == 0 else offset * 2
    return False


def read_weights(path: str | os.PathLike[str], options: ElmoOptions) -> dict[str, np.ndarray]:
    """Read the biLM datasets of ``weights.hdf5`` as float32 arrays, checked.

    Every dataset is checked from the file's metadata (see the module docstring)
    before any is read.

    Args:
        path: the hdf5 file.
        options: the architecture (from :func:`read_options`).

    Returns:
        ``{dataset path: float32 array}`` for every entry of :func:`weight_layout`.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not a regular file or not an hdf5 file; a missing
            dataset, a group where a dataset belongs, a link, a dataset stored
            outside the file or not fully written, an unknown filter, a wrong shape,
            a non-float dtype or a non-finite value (the message names the dataset).
    """
    p, fh = _open_regular(path, "weight file")
    with fh:
        signed, size = _has_hdf5_signature(fh), os.fstat(fh.fileno()).st_size
    if not signed:  # refused here: HDF5 would try every plugin it finds on such a file
        raise ModelFormatError(f"{p}: not a readable hdf5 file (no HDF5 signature)")
    h5py = _h5py()
    with _without_plugins(h5py):
        return _read_checked(h5py, p, size, options)


@contextlib.contextmanager
def _without_plugins(h5py: Any) -> Iterator[None]:
    """Read with HDF5's plugin search path emptied, so that no damaged or hostile file
    can make HDF5 load a plugin library (only built-in filters are allowed anyway);
    the caller's search path is put back afterwards."""
    from h5py import h5pl

    saved = [h5pl.get(i) for i in range(h5pl.size())]
    for _ in saved:
        h5pl.remove(0)
    try:
        yield
    finally:
        for entry in saved:
            h5pl.append(entry)


def _read_checked(h5py: Any, p: Path, size: int, options: ElmoOptions) -> dict[str, np.ndarray]:
    """The datasets of an open-able ``weights.hdf5``, each checked before it is read."""
    try:
        hf = h5py.File(p, "r")
    except OSError as err:
        raise ModelFormatError(f"{p}: not a readable hdf5 file ({err})") from err
    layout = weight_layout(options)
    out: dict[str, np.ndarray] = {}
    name = ""
    try:
        with hf:
            nodes, declared = {}, 0
            for name, shape in layout.items():
                node = _walk(h5py, hf, name, p)
                if node is None:
                    raise ModelFormatError(
                        f"{p}: dataset {name!r} is missing (expected shape {shape} for these "
                        "options)"
                    )
                declared += _check_dataset(h5py, node, name, shape, p)
                nodes[name] = node
            allowed = _DECLARED_SLACK + _MAX_EXPANSION * size
            if declared > allowed:
                raise ModelFormatError(
                    f"{p}: the datasets declare {declared} bytes, more than a file of "
                    f"{size} bytes can hold (at most {allowed})"
                )
            for name, node in nodes.items():
                arr = np.asarray(node[...], dtype=np.float32)
                if not np.isfinite(arr).all():
                    raise ModelFormatError(f"{p}: dataset {name!r} contains NaN or infinite values")
                out[name] = np.ascontiguousarray(arr)
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
        if isinstance(err, ModelFormatError):
            raise
        where = f" at {name!r}" if name else ""
        raise ModelFormatError(f"{p}: unreadable hdf5 structure{where} ({err})") from err
    return out


def read_elmo(
    options_file: str | os.PathLike[str], weight_file: str | os.PathLike[str]
) -> tuple[ElmoOptions, dict[str, np.ndarray]]:
    """``(options, arrays)`` of a biLM: :func:`read_options` then :func:`read_weights`."""
    options = read_options(options_file)
    return options, read_weights(weight_file, options)


def write_elmo(
    folder: str | os.PathLike[str],
    options: ElmoOptions,
    arrays: dict[str, np.ndarray],
    *,
    options_name: str = "options.json",
    weights_name: str = "weights.hdf5",
) -> tuple[Path, Path]:
    """Write ``options.json`` and ``weights.hdf5`` in the published layout.

    Each file is written to a temporary name, fsynced and renamed into place.

    Args:
        folder: target folder (created).
        options: the architecture.
        arrays: one float32 array per entry of :func:`weight_layout` (checked).

    Returns:
        The paths of the options file and the weight file.

    Raises:
        ModelFormatError: a missing or mis-shaped array (named).
    """
    from embeddings._atomic import atomic_write_bytes, atomic_write_json

    layout = weight_layout(options)
    for name, shape in layout.items():
        if name not in arrays:
            raise ModelFormatError(f"cannot write ELMo weights: array {name!r} is missing")
        if tuple(np.shape(arrays[name])) != shape:
            raise ModelFormatError(
                f"cannot write ELMo weights: array {name!r} has shape "
                f"{tuple(np.shape(arrays[name]))}, expected {shape}"
            )
    h5py = _h5py()
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    opt_path, w_path = target / options_name, target / weights_name
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as fh:
        for name in layout:
            fh.create_dataset(name, data=np.asarray(arrays[name], dtype=np.float32))
    atomic_write_bytes(w_path, buffer.getvalue())
    atomic_write_json(opt_path, options.to_json())
    return opt_path, w_path
