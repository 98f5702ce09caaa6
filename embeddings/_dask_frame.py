"""Encoding a text column of a ``dask.dataframe``, partition by partition.

:func:`encode_dataframe` is the entry point for code that already works in Dask: it
maps an encoder over one column, each worker building the encoder once (from a
preset name or a saved folder, never from pickled weights) and reusing it for every
partition it computes.  The result is a lazy ``dask.dataframe`` of float32 columns
with the input's index and divisions, ready for ``to_parquet`` or, through
``to_dask_array(lengths=True)``, for ``to_zarr``.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from embeddings._checks import check_int
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = ["encode_dataframe"]

#: encoders built in this process, by (reference, parameters, fingerprint)
_ENCODERS: dict[tuple[str, str, str], Any] = {}
_ENCODERS_LOCK = threading.Lock()


def _worker_encoder(name: str, params_json: str, fingerprint: str) -> Any:
    """The encoder of this process for a reference: built once, then reused."""
    from embeddings.registry import load

    key = (name, params_json, fingerprint)
    with _ENCODERS_LOCK:
        enc = _ENCODERS.get(key)
        if enc is None:
            enc = load(name, **json.loads(params_json))
            if enc.fingerprint() != fingerprint:
                raise InvalidParameterError(
                    f"the encoder built on this worker from {name!r} has fingerprint "
                    f"{enc.fingerprint()[:12]}, the caller's has {fingerprint[:12]}: use a "
                    "folder on shared storage and the same environment on every worker"
                )
            _ENCODERS[key] = enc
        return enc


def _encode_frame(
    frame: Any,
    column: str,
    name: str,
    params_json: str,
    fingerprint: str,
    batch_size: int,
    columns: list[str],
) -> Any:
    """One partition: the vectors of ``frame[column]`` as a float32 DataFrame."""
    import numpy as np
    import pandas as pd

    texts = frame[column].tolist()
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise InvalidInputError(
            f"column {column!r} holds {type(texts[bad]).__name__} at index "
            f"{frame.index[bad]!r}, not a string; fill or drop it (use '' for an empty text)"
        )
    if texts:
        enc = _worker_encoder(name, params_json, fingerprint)
        with _ENCODERS_LOCK:  # one encoder instance is never used by two threads at once
            vectors = enc.encode(texts, batch_size=batch_size, show_progress=False)
    else:
        vectors = np.zeros((0, len(columns)), dtype=np.float32)
    return pd.DataFrame(np.asarray(vectors, dtype=np.float32), index=frame.index, columns=columns)


def encode_dataframe(
    ddf: Any,
    column: str,
    encoder: Any,
    *,
    encoder_params: dict[str, Any] | None = None,
    encoder_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    prefix: str = "dim_",
) -> Any:
    """Map an encoder over a text column of a ``dask.dataframe``, partition by partition.

    Args:
        ddf: a ``dask.dataframe.DataFrame`` (or a pandas one, taken as one partition).
        column: the column of texts (strings; a null is refused with its index).
        encoder: a preset name or saved-folder path (built by each worker with
            ``embeddings.load``), or a transferkit encoder object, saved into
            ``encoder_dir`` (a folder every worker can read) for the workers to load.
        encoder_params: parameter overrides for a preset name.
        encoder_dir: where an encoder object is saved (required for an object).
        batch_size: passed to ``encoder.encode`` (does not change the vectors).
        prefix: the output columns are ``f"{prefix}{j}"`` for ``j < dim``.

    Returns:
        A lazy ``dask.dataframe.DataFrame`` of ``dim`` float32 columns, with the
        index and divisions of ``ddf``: ``.to_parquet(path)``, or
        ``.to_dask_array(lengths=True).to_zarr(path)``, or ``.compute()``.

    Raises:
        MissingDependencyError: dask is not installed.
        InvalidParameterError: a missing column, or an encoder object without
            ``encoder_dir``.

    Example:
        >>> import pandas as pd
        >>> import dask.dataframe as dd
        >>> frame = pd.DataFrame({"text": ["a cat", "stocks fell", "a dull film"]})
        >>> ddf = dd.from_pandas(frame, npartitions=2)
        >>> vectors = encode_dataframe(ddf, "text", "glove-6b-50d")
        >>> vectors.compute(scheduler="sync").shape
        (3, 50)
    """
    from embeddings._dask_workers import resolve_reference
    from embeddings._deps import require

    require("dask", extra="dask")
    import dask.dataframe as dd
    import pandas as pd

    if isinstance(ddf, pd.DataFrame):
        ddf = dd.from_pandas(ddf, npartitions=1)
    if not isinstance(ddf, dd.DataFrame):
        raise InvalidParameterError(
            f"ddf must be a dask.dataframe.DataFrame, got {type(ddf).__name__}; "
            "make one with dask.dataframe.from_pandas or read_parquet"
        )
    if column not in ddf.columns:
        raise InvalidParameterError(
            f"no column {column!r}; columns are {list(ddf.columns)[:20]}; pass the text column"
        )
    check_int("batch_size", batch_size)
    local, name, params = resolve_reference(
        encoder, encoder_params, None if encoder_dir is None else Path(encoder_dir)
    )
    columns = [f"{prefix}{j}" for j in range(int(local.dim))]
    meta = pd.DataFrame({c: pd.Series([], dtype="float32") for c in columns})
    return ddf.map_partitions(
        _encode_frame,
        column,
        name,
        json.dumps(params, sort_keys=True),
        str(local.fingerprint()),
        batch_size,
        columns,
        meta=meta,
        enforce_metadata=False,
    )
