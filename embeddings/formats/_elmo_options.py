"""ELMo's ``options.json``: the checked architecture of a biLM (sizes, filters,
clipping), with the bounds every published or trained model must respect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from embeddings.errors import ModelFormatError

#: rows of ``char_embed``: the 256 bytes and 5 special characters (ids 0..260)
N_CHAR_ROWS = 261
#: the largest value of each size field of ``options.json`` (see the module docstring)
MAX_SIZES: dict[str, int] = {
    "char_cnn.embedding.dim": 256,
    "char_cnn.filters": 64,
    "char_cnn.filters counts": 16384,
    "char_cnn.n_highway": 16,
    "char_cnn.n_characters": 1024,
    "char_cnn.max_characters_per_token": 256,
    "lstm.dim": 16384,
    "lstm.projection_dim": 4096,
    "lstm.n_layers": 16,
}
#: the largest ``lstm.cell_clip`` / ``lstm.proj_clip``
MAX_CLIP = 10000.0
#: the most parameters (all datasets together) a biLM may have
MAX_PARAMETERS = 500_000_000
#: the largest ``options.json`` in bytes
MAX_OPTIONS_BYTES = 1 << 20
#: the datasets may declare at most ``_DECLARED_SLACK`` + ``_MAX_EXPANSION`` * file size bytes
_DECLARED_SLACK, _MAX_EXPANSION = 64 << 20, 8
#: HDF5's built-in filters: deflate, shuffle, fletcher32, szip, nbit, scaleoffset, lzf
_BUILTIN_FILTERS = frozenset({1, 2, 3, 4, 5, 6, 32000})


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
            high = MAX_SIZES[path]
            if key not in obj:
                raise ModelFormatError(
                    f"{where}: '{path}' is missing (an int from {low} to {high})"
                )
            v = obj[key]
            if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= high:
                raise ModelFormatError(
                    f"{where}: '{path}' must be an int from {low} to {high}, got {_short(v)}"
                )
            return v

        def clip(obj: dict[str, Any], key: str, path: str) -> float | None:
            v = obj.get(key)
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ModelFormatError(
                    f"{where}: '{path}' must be a number or null, got {_short(v)}"
                )
            if not 0 < v <= MAX_CLIP:
                raise ModelFormatError(
                    f"{where}: '{path}' must be > 0 and <= {MAX_CLIP:g} (or null), got {_short(v)}"
                )
            return float(v)

        lstm = section(data, "lstm", "lstm")
        cnn = section(data, "char_cnn", "char_cnn")
        emb = section(cnn, "embedding", "char_cnn.embedding")
        raw_filters = cnn.get("filters")
        most = MAX_SIZES["char_cnn.filters"]
        if not isinstance(raw_filters, list) or not 1 <= len(raw_filters) <= most:
            got = (
                f"a list of {len(raw_filters)}"
                if isinstance(raw_filters, list)
                else _short(raw_filters)
            )
            raise ModelFormatError(
                f"{where}: 'char_cnn.filters' must be a list of 1 to {most} [width, count], "
                f"got {got}"
            )
        filters = []
        top = MAX_SIZES["char_cnn.filters counts"]
        for i, f in enumerate(raw_filters):
            ok = isinstance(f, list) and len(f) == 2
            ok = ok and all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in f)
            if not ok or f[1] > top:
                raise ModelFormatError(
                    f"{where}: 'char_cnn.filters[{i}]' must be [width >= 1, count from 1 to "
                    f"{top}], got {_short(f)}"
                )
            filters.append((int(f[0]), int(f[1])))
        n_filters = sum(n for _, n in filters)
        if n_filters > top:
            raise ModelFormatError(
                f"{where}: 'char_cnn.filters' counts sum to {n_filters}; at most {top} are "
                "supported"
            )
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
        if "n_characters" not in cnn:
            cnn = {**cnn, "n_characters": N_CHAR_ROWS + 1}
        n_chars = integer(cnn, "n_characters", "char_cnn.n_characters", N_CHAR_ROWS)
        options = cls(
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
        n_params = sum(math.prod(shape) for shape in weight_layout(options).values())
        if n_params > MAX_PARAMETERS:
            raise ModelFormatError(
                f"{where}: these options make a biLM of {n_params:,} parameters; at most "
                f"{MAX_PARAMETERS:,} are supported (the published 5.5B biLM has 93,600,848)"
            )
        return options


def _short(value: Any) -> str:
    """A short repr of a value read from a file, for messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return f"a {type(value).__name__} too long to print"
    return text if len(text) <= 60 else f"{text[:50]}... ({type(value).__name__})"


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
