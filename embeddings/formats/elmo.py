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
some) are ignored.  :func:`write_elmo` writes both files atomically in the same
layout, so a biLM trained by transferkit and a published one load through the
same code.

Example:
    >>> opts = ElmoOptions(char_dim=4, filters=((1, 4), (2, 4)), n_highway=1,
    ...                    cell_dim=8, projection_dim=4)
    >>> sorted(weight_layout(opts))[:3]
    ['CNN/W_cnn_0', 'CNN/W_cnn_1', 'CNN/b_cnn_0']
    >>> weight_layout(opts)["RNN_1/RNN/MultiRNNCell/Cell0/LSTMCell/W_0"]
    (8, 32)
"""

from __future__ import annotations

import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.errors import DataNotFoundError, MissingDependencyError, ModelFormatError

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

#: rows of ``char_embed``: the 256 bytes and 5 special characters (ids 0..260)
N_CHAR_ROWS = 261


def lstm_prefix(direction: int, layer: int) -> str:
    """The hdf5 group of one LSTM cell: direction 0 forward, 1 backward.

    Example:
        >>> lstm_prefix(1, 0)
        'RNN_1/RNN/MultiRNNCell/Cell0/LSTMCell'
    """
    return f"RNN_{direction}/RNN/MultiRNNCell/Cell{layer}/LSTMCell"


@dataclass(frozen=True)
class ElmoOptions:
    """The architecture of a biLM (the content of ``options.json``).

    Attributes:
        char_dim: character embedding size (``char_cnn.embedding.dim``).
        filters: ``(width, count)`` of every character convolution.
        n_highway: highway layers after the convolutions.
        cell_dim: LSTM memory cell size (``lstm.dim``).
        projection_dim: size of the token representation and of every LSTM output.
        n_layers: LSTM layers per direction.
        cell_clip: memory cells are clipped to ``[-cell_clip, cell_clip]``; ``None``: no clip.
        proj_clip: LSTM outputs are clipped likewise; ``None``: no clip.
        use_skip_connections: add each LSTM layer's input to its output (layers >= 1).
        activation: of the convolutions, ``"relu"`` or ``"tanh"``.
        max_characters_per_token: characters per token (with begin/end-of-word).
        n_characters: as written in ``options.json`` (262 in the published files).
    """

    char_dim: int = 16
    filters: tuple[tuple[int, int], ...] = ((1, 32), (2, 32), (3, 64), (4, 128), (5, 256),
                                            (6, 512), (7, 1024))  # fmt: skip
    n_highway: int = 2
    cell_dim: int = 4096
    projection_dim: int = 512
    n_layers: int = 2
    cell_clip: float | None = 3.0
    proj_clip: float | None = 3.0
    use_skip_connections: bool = True
    activation: Literal["relu", "tanh"] = "relu"
    max_characters_per_token: int = 50
    n_characters: int = 262

    @property
    def n_filters(self) -> int:
        """Size of the concatenated convolution outputs (the highway width)."""
        return int(sum(n for _, n in self.filters))

    def to_json(self) -> dict[str, Any]:
        """The ``options.json`` content in the published layout."""
        return {
            "lstm": {
                "dim": self.cell_dim,
                "projection_dim": self.projection_dim,
                "n_layers": self.n_layers,
                "cell_clip": self.cell_clip,
                "proj_clip": self.proj_clip,
                "use_skip_connections": self.use_skip_connections,
            },
            "char_cnn": {
                "activation": self.activation,
                "embedding": {"dim": self.char_dim},
                "filters": [[w, n] for w, n in self.filters],
                "n_highway": self.n_highway,
                "n_characters": self.n_characters,
                "max_characters_per_token": self.max_characters_per_token,
            },
        }

    @classmethod
    def from_json(cls, data: Any, *, where: str = "options") -> ElmoOptions:
        """Check and read an ``options.json`` mapping.

        Raises:
            ModelFormatError: a missing or invalid field, named with its path.
        """

        def section(obj: Any, key: str, path: str) -> dict[str, Any]:
            if not isinstance(obj, dict) or not isinstance(obj.get(key), dict):
                raise ModelFormatError(f"{where}: '{path}' must be an object")
            return obj[key]

        def integer(obj: dict[str, Any], key: str, path: str, low: int = 1) -> int:
            v = obj.get(key)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ModelFormatError(f"{where}: '{path}' must be an int >= {low}, got {v!r}")
            return v

        def clip(obj: dict[str, Any], key: str, path: str) -> float | None:
            v = obj.get(key)
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ModelFormatError(f"{where}: '{path}' must be a number or null, got {v!r}")
            if v <= 0:
                raise ModelFormatError(f"{where}: '{path}' must be > 0 (or null), got {v!r}")
            return float(v)

        lstm = section(data, "lstm", "lstm")
        cnn = section(data, "char_cnn", "char_cnn")
        emb = section(cnn, "embedding", "char_cnn.embedding")
        raw_filters = cnn.get("filters")
        if not isinstance(raw_filters, list) or not raw_filters:
            raise ModelFormatError(
                f"{where}: 'char_cnn.filters' must be a non-empty list of [width, count], "
                f"got {raw_filters!r}"
            )
        filters = []
        for i, f in enumerate(raw_filters):
            ok = isinstance(f, list) and len(f) == 2
            ok = ok and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in f)
            if not ok:
                raise ModelFormatError(
                    f"{where}: 'char_cnn.filters[{i}]' must be [width >= 1, count >= 1], got {f!r}"
                )
            filters.append((int(f[0]), int(f[1])))
        activation = cnn.get("activation")
        if activation not in ("relu", "tanh"):
            raise ModelFormatError(
                f"{where}: 'char_cnn.activation' must be 'relu' or 'tanh', got {activation!r}"
            )
        skip = lstm.get("use_skip_connections", False)
        if not isinstance(skip, bool):
            raise ModelFormatError(
                f"{where}: 'lstm.use_skip_connections' must be true or false, got {skip!r}"
            )
        max_chars = integer(cnn, "max_characters_per_token", "char_cnn.max_characters_per_token", 3)
        widest = max(w for w, _ in filters)
        if widest > max_chars:
            raise ModelFormatError(
                f"{where}: a filter of width {widest} is wider than "
                f"'char_cnn.max_characters_per_token' = {max_chars}"
            )
        n_chars = cnn.get("n_characters", N_CHAR_ROWS + 1)
        if isinstance(n_chars, bool) or not isinstance(n_chars, int) or n_chars < N_CHAR_ROWS:
            raise ModelFormatError(
                f"{where}: 'char_cnn.n_characters' must be an int >= {N_CHAR_ROWS}, got {n_chars!r}"
            )
        return cls(
            char_dim=integer(emb, "dim", "char_cnn.embedding.dim"),
            filters=tuple(filters),
            n_highway=integer(cnn, "n_highway", "char_cnn.n_highway", 0),
            cell_dim=integer(lstm, "dim", "lstm.dim"),
            projection_dim=integer(lstm, "projection_dim", "lstm.projection_dim"),
            n_layers=integer(lstm, "n_layers", "lstm.n_layers"),
            cell_clip=clip(lstm, "cell_clip", "lstm.cell_clip"),
            proj_clip=clip(lstm, "proj_clip", "lstm.proj_clip"),
            use_skip_connections=skip,
            activation=activation,
            max_characters_per_token=max_chars,
            n_characters=n_chars,
        )


def weight_layout(options: ElmoOptions) -> dict[str, tuple[int, ...]]:
    """Every dataset of ``weights.hdf5`` the biLM reads, with its shape.

    Example:
        >>> weight_layout(ElmoOptions())["CNN_proj/W_proj"]
        (2048, 512)
    """
    o = options
    nf, p, c = o.n_filters, o.projection_dim, o.cell_dim
    layout: dict[str, tuple[int, ...]] = {"char_embed": (N_CHAR_ROWS, o.char_dim)}
    for i, (width, num) in enumerate(o.filters):
        layout[f"CNN/W_cnn_{i}"] = (1, width, o.char_dim, num)
        layout[f"CNN/b_cnn_{i}"] = (num,)
    for k in range(o.n_highway):
        for part in ("carry", "transform"):
            layout[f"CNN_high_{k}/W_{part}"] = (nf, nf)
            layout[f"CNN_high_{k}/b_{part}"] = (nf,)
    layout["CNN_proj/W_proj"] = (nf, p)
    layout["CNN_proj/b_proj"] = (p,)
    for d in (0, 1):
        for layer in range(o.n_layers):
            pre = lstm_prefix(d, layer)
            layout[f"{pre}/W_0"] = (2 * p, 4 * c)
            layout[f"{pre}/B"] = (4 * c,)
            layout[f"{pre}/W_P_0"] = (c, p)
    return layout


def _h5py() -> Any:
    try:
        import h5py
    except ImportError as err:  # a core dependency; only a broken install lacks it
        raise MissingDependencyError(
            "reading ELMo weights.hdf5 needs h5py: pip install h5py"
        ) from err
    return h5py


def read_options(path: str | os.PathLike[str]) -> ElmoOptions:
    """Read and check an ``options.json``.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not UTF-8 JSON, or a missing / invalid field (named).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"ELMo options file {str(p)!r} does not exist")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFormatError(f"{p}: not a UTF-8 JSON options file ({err})") from err
    return ElmoOptions.from_json(data, where=str(p))


def read_weights(path: str | os.PathLike[str], options: ElmoOptions) -> dict[str, np.ndarray]:
    """Read the biLM datasets of ``weights.hdf5`` as float32 arrays, checked.

    Args:
        path: the hdf5 file.
        options: the architecture (from :func:`read_options`).

    Returns:
        ``{dataset path: float32 array}`` for every entry of :func:`weight_layout`.

    Raises:
        DataNotFoundError: no such file.
        ModelFormatError: not an hdf5 file; a missing dataset, a group where a
            dataset belongs, a wrong shape, a non-numeric dtype or a non-finite
            value (the message names the dataset).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"ELMo weight file {str(p)!r} does not exist")
    h5py = _h5py()
    try:
        fh = h5py.File(p, "r")
    except OSError as err:
        raise ModelFormatError(f"{p}: not a readable hdf5 file ({err})") from err
    out: dict[str, np.ndarray] = {}
    with fh:
        for name, shape in weight_layout(options).items():
            node = fh.get(name)
            if node is None:
                raise ModelFormatError(
                    f"{p}: dataset {name!r} is missing (expected shape {shape} for these options)"
                )
            if not isinstance(node, h5py.Dataset):
                raise ModelFormatError(f"{p}: {name!r} is a group, expected a dataset {shape}")
            if tuple(node.shape) != shape:
                raise ModelFormatError(
                    f"{p}: dataset {name!r} has shape {tuple(node.shape)}, expected {shape} "
                    "for these options"
                )
            if node.dtype.kind != "f":
                raise ModelFormatError(
                    f"{p}: dataset {name!r} has dtype {node.dtype}, expected floating point"
                )
            arr = np.asarray(node[...], dtype=np.float32)
            if not np.isfinite(arr).all():
                raise ModelFormatError(f"{p}: dataset {name!r} contains NaN or infinite values")
            out[name] = np.ascontiguousarray(arr)
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
    from embeddings._atomic import atomic_write_bytes, atomic_write_text

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
    atomic_write_text(opt_path, json.dumps(options.to_json(), indent=2) + "\n")
    return opt_path, w_path
