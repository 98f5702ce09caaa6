"""Reader of the published InferSent checkpoints (``infersent1.pkl``, ``infersent2.pkl``).

The files released with Conneau et al. (2017) are ``torch.save``-d state dicts of the
encoder module: a single-layer bidirectional LSTM named ``enc_lstm``, eight tensors

=====================================  =====================================
``enc_lstm.weight_ih_l0``              ``(4 * hidden, word_dim)``
``enc_lstm.weight_hh_l0``              ``(4 * hidden, hidden)``
``enc_lstm.bias_ih_l0``                ``(4 * hidden,)``
``enc_lstm.bias_hh_l0``                ``(4 * hidden,)``
``enc_lstm.*_reverse``                 the same four for the backward direction
=====================================  =====================================

with ``hidden = 2048`` and ``word_dim = 300`` (GloVe 840B for version 1, fastText
common-crawl vectors for version 2).

A pickle can run code while it is read, so the file is read only with
``torch.load(weights_only=True)``: torch's restricted unpickler, which builds
tensors and plain containers and refuses any other object before it is created.
Whatever loads must then be a plain ``{name: tensor}`` mapping with exactly the
names and consistent shapes above; anything else raises :class:`ModelFormatError`.
The arrays are returned as float32 numpy arrays; nothing else from the file is kept.

Example:
    >>> import tempfile, os, torch
    >>> lstm = torch.nn.LSTM(3, 2, bidirectional=True)
    >>> path = os.path.join(tempfile.mkdtemp(), "infersent-tiny.pkl")
    >>> torch.save({"enc_lstm." + k: v for k, v in lstm.state_dict().items()}, path)
    >>> ckpt = read_infersent_checkpoint(path)
    >>> ckpt.hidden_size, ckpt.word_dim, len(ckpt.arrays)
    (2, 3, 8)
"""

from __future__ import annotations

import os
import pickle
import struct
import tarfile
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from embeddings.errors import DataNotFoundError, ModelFormatError
from embeddings.formats._files import open_regular_file

__all__ = [
    "CHECKPOINT_PREFIX",
    "CHECKPOINT_NAMES",
    "InferSentCheckpoint",
    "read_infersent_checkpoint",
]

#: the module name of the LSTM in the published state dicts
CHECKPOINT_PREFIX = "enc_lstm."
#: a deflated zip member above this size may expand at most ``_MAX_INFLATE`` times
_SMALL_MEMBER = 64 << 20
_MAX_INFLATE = 100
# what torch.load raises on a damaged or truncated file (a truncated zip gives OSError)
_LOAD_ERRORS = (
    pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, TypeError,
    AttributeError, ImportError, KeyError, IndexError, AssertionError, struct.error,
    zipfile.BadZipFile, tarfile.TarError, NotImplementedError, OverflowError,
)  # fmt: skip
#: every parameter name of a published checkpoint (without the prefix)
CHECKPOINT_NAMES: tuple[str, ...] = tuple(
    f"{kind}_{part}_l0{suffix}"
    for suffix in ("", "_reverse")
    for kind, part in (("weight", "ih"), ("weight", "hh"), ("bias", "ih"), ("bias", "hh"))
)


@dataclass(frozen=True)
class InferSentCheckpoint:
    """The checked content of a published InferSent checkpoint.

    Attributes:
        arrays: ``{name without "enc_lstm.": float32 array}`` for every name of
            :data:`CHECKPOINT_NAMES`.
        hidden_size: LSTM state size per direction.
        word_dim: size of the word vectors the LSTM reads.
    """

    arrays: dict[str, np.ndarray]
    hidden_size: int
    word_dim: int


def read_infersent_checkpoint(path: str | os.PathLike[str]) -> InferSentCheckpoint:
    """Read and check an ``infersent1.pkl`` / ``infersent2.pkl`` state dict.

    Args:
        path: the checkpoint file.

    Returns:
        An :class:`InferSentCheckpoint`.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not a regular file (a FIFO or device is refused before it
            is opened), a zip member larger than the file can hold, a truncated or
            damaged file, a file torch's weights-only loader refuses (any pickled
            object other than tensors and plain containers, e.g. one whose
            unpickling would call a function), or a content that is not a plain
            ``{name: tensor}`` dict with exactly the published names and shapes.

    Example:
        >>> read_infersent_checkpoint("/nonexistent/infersent1.pkl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        embeddings.errors.DataNotFoundError: ...
    """
    from embeddings._deps import require

    torch = require("torch", extra="models")
    file = Path(path)
    if not os.path.lexists(file):
        raise DataNotFoundError(
            f"InferSent checkpoint {str(file)!r} does not exist; pass the path of the published "
            "infersent1.pkl (GloVe) or infersent2.pkl (fastText)"
        )
    # a folder, FIFO or device is refused before anything is read from it
    with open_regular_file(file, what="InferSent checkpoint") as fh:
        _check_zip_members(fh, file)
        fh.seek(0)
        try:
            state = torch.load(fh, map_location="cpu", weights_only=True)
        except _LOAD_ERRORS as err:
            first = str(err).splitlines()[0][:200] if str(err) else ""
            raise ModelFormatError(
                f"{file}: not a readable InferSent state dict: torch's weights-only loader "
                f"refused it ({type(err).__name__}: {first}). The file may be truncated or "
                "damaged; only tensors and plain containers are read; no code in the file is run"
            ) from None
    return _check_state(state, file)


def _check_zip_members(fh: BinaryIO, file: Path) -> None:
    """For a checkpoint in torch's zip layout, refuse members whose declared size the
    file cannot hold (torch allocates a member's declared size before reading it)."""
    size = os.fstat(fh.fileno()).st_size
    if fh.read(4) != b"PK\x03\x04":
        return  # torch's legacy layout: a pickle followed by the raw storages
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, struct.error) as err:  # fmt: skip
        raise ModelFormatError(
            f"{file}: not a readable InferSent checkpoint: a truncated or damaged zip archive "
            f"({type(err).__name__}); torch.save writes a zip whose directory lists data.pkl "
            "and the tensor data"
        ) from None
    for info in infos:
        name = info.filename[:100]
        if info.compress_type == zipfile.ZIP_STORED and info.file_size > size:
            raise ModelFormatError(
                f"{file}: member {name!r} declares {info.file_size} bytes, more than the "
                f"{size}-byte file can hold"
            )
        if info.file_size > max(_SMALL_MEMBER, _MAX_INFLATE * info.compress_size):
            raise ModelFormatError(
                f"{file}: member {name!r} declares {info.file_size} bytes from "
                f"{info.compress_size} compressed; refused (torch.save stores records "
                "uncompressed)"
            )


def _check_state(state: object, file: Path) -> InferSentCheckpoint:
    import torch

    if not isinstance(state, dict) or type(state) not in (dict, OrderedDict):
        raise ModelFormatError(
            f"{file}: expected a plain state dict ({{name: tensor}}), got {type(state).__name__}"
        )

    expected = {CHECKPOINT_PREFIX + n for n in CHECKPOINT_NAMES}
    keys = set(state)
    bad_keys = [type(k).__name__ for k in keys if not isinstance(k, str)]
    if bad_keys:
        raise ModelFormatError(f"{file}: state dict keys must be strings, got {bad_keys[:3]}")
    missing = sorted(expected - keys)
    extra = [k[:60] for k in sorted(keys - expected)[:4]]
    if missing or extra:
        raise ModelFormatError(
            f"{file}: not an InferSent encoder state dict: missing {missing[:4]}, unexpected "
            f"{extra}; expected exactly {sorted(expected)}"
        )
    tensors = {}
    for key in sorted(expected):
        value = state[key]
        if (
            not isinstance(value, torch.Tensor)
            or value.layout != torch.strided
            or value.is_quantized
            or value.device.type != "cpu"
            or not value.is_floating_point()
        ):
            raise ModelFormatError(
                f"{file}: {key} must be a dense floating-point tensor, got {type(value).__name__}"
                + (f" of {value.dtype}, {value.layout}" if isinstance(value, torch.Tensor) else "")
            )
        tensors[key[len(CHECKPOINT_PREFIX) :]] = value
    # shapes are checked on the tensors' metadata, before any value is copied
    w_ih = tensors["weight_ih_l0"]
    if w_ih.dim() != 2 or w_ih.shape[0] % 4 or w_ih.shape[0] == 0 or w_ih.shape[1] == 0:
        raise ModelFormatError(
            f"{file}: enc_lstm.weight_ih_l0 has shape {tuple(w_ih.shape)}, expected "
            "(4 * hidden, word_dim)"
        )
    hidden, word_dim = w_ih.shape[0] // 4, int(w_ih.shape[1])
    shapes = {"weight_ih": (4 * hidden, word_dim), "weight_hh": (4 * hidden, hidden),
              "bias_ih": (4 * hidden,), "bias_hh": (4 * hidden,)}  # fmt: skip
    for name, value in tensors.items():
        want = shapes[name.split("_l0")[0]]
        if tuple(value.shape) != want:
            raise ModelFormatError(
                f"{file}: enc_lstm.{name} has shape {tuple(value.shape)}, expected {want} "
                f"(hidden {hidden}, word_dim {word_dim} from enc_lstm.weight_ih_l0)"
            )
        # a view with zero or overlapping strides shows more values than the file holds
        if value.numel() * value.element_size() > value.untyped_storage().nbytes():
            raise ModelFormatError(
                f"{file}: enc_lstm.{name} shows {value.numel()} values over a storage of "
                f"{value.untyped_storage().nbytes()} bytes (repeated by its strides)"
            )
    arrays: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        arr = value.detach().to("cpu", torch.float32).numpy().copy()
        if not np.isfinite(arr).all():
            raise ModelFormatError(f"{file}: enc_lstm.{name} contains NaN or infinite values")
        arrays[name] = arr
    return InferSentCheckpoint(arrays, int(hidden), word_dim)
