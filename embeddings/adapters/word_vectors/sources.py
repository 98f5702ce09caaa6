"""Where the vectors of a word-vector encoder come from: the ``source`` parameter.

A source is an embedded vector set (``"glove-6b-50d"``), a vector file or a native
store folder (files are converted once to a store), a gensim ``KeyedVectors`` (or a
model with ``.wv``) in memory, or the marker that a saved folder writes for vectors
it holds (see :mod:`~embeddings.adapters.word_vectors.state`).  Tables of the same
content are shared read-only within a process.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.adapters.word_vectors.lookup import frozen_table, identity, shared_table
from embeddings.adapters.word_vectors.state import VECTORS_MARKER, is_vectors_marker
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats.table import VectorTable

__all__ = [
    "KeyedTable",
    "is_keyed_vectors",
    "keyed_table",
    "load_source",
    "reads_pickle",
    "write_keyed_store",
]

#: a converted ``KeyedVectors``: (what identifies the object, its table, content sha256)
KeyedTable = tuple[tuple[Any, ...], VectorTable, str]


def is_keyed_vectors(obj: object) -> bool:
    """A gensim ``KeyedVectors``, or a gensim model holding one in ``.wv``.

    Duck-typed, so that gensim is never imported to answer.
    """
    if obj is None or isinstance(obj, (str, bytes, os.PathLike, dict, BaseEncoder)):
        return False
    kv = getattr(obj, "wv", obj)
    return hasattr(kv, "index_to_key") and hasattr(kv, "vectors")


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False for a name the system refuses (too long, NUL)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def keyed_table(kv: Any, cached: KeyedTable | None) -> KeyedTable:
    """The table of a ``KeyedVectors`` and its content sha256, converted once per object.

    ``cached`` is returned as it is while it still describes ``kv`` (same object,
    same number of words, same vector array).
    """
    inner = getattr(kv, "wv", kv)
    vectors = getattr(inner, "vectors", None)
    address = vectors.__array_interface__["data"][0] if isinstance(vectors, np.ndarray) else 0
    key = (id(kv), len(inner.index_to_key), getattr(vectors, "shape", None), address)
    if cached is not None and cached[0] == key:
        return cached
    from embeddings.formats.gensim_kv import table_from_keyed_vectors
    from embeddings.formats.native import content_sha256

    table = frozen_table(table_from_keyed_vectors(kv, source="KeyedVectors"))
    return key, table, content_sha256(table)


def load_source(
    source: Any, *, format: str, trust_pickle: bool, saved: VectorTable | None
) -> tuple[VectorTable | None, str]:
    """The table that ``source`` names and its resource id (a version or a sha256).

    For the marker of held vectors, ``saved`` is the table read from the saved state
    (``None`` until the folder is read).  Not for ``KeyedVectors`` (see
    :func:`keyed_table`).
    """
    from embeddings.formats.embedded import EMBEDDED_SOURCES, embedded_version, load_embedded

    if is_vectors_marker(source):  # the vectors come from a saved state
        resource = "sha256:" + source[VECTORS_MARKER]
        if saved is None:
            return None, resource
        # checked against that sha256 when the folder was read: a content identity
        return shared_table(f"saved:{resource}", lambda: saved), resource
    if not isinstance(source, (str, os.PathLike)) or not str(source):
        raise InvalidParameterError(
            f"source must be an embedded vector set {sorted(EMBEDDED_SOURCES)} or a path, "
            f"got {source!r:.200}"
        )
    if str(source) in EMBEDDED_SOURCES:
        name = str(source)
        resource = embedded_version(name)
        table = shared_table(
            f"embedded:{name}|{resource}", lambda: VectorTable(*load_embedded(name), source=name)
        )
        return table, resource
    path = Path(source)
    if not _exists(path):
        raise InvalidParameterError(
            f"source {str(source)!r:.200} is neither an embedded vector set "
            f"{sorted(EMBEDDED_SOURCES)} nor an existing file or store folder"
        )
    from embeddings.formats import load_vectors, store_config

    loaded = load_vectors(path, format=format, trust_pickle=trust_pickle)
    resource = "sha256:" + str(store_config(loaded.source).get("sha256", ""))
    found = identity(resource)
    # the store folder is part of the key: a store is only ever shared with itself
    key = found and f"store:{loaded.source}|{found}|{len(loaded.vocab)}x{loaded.dim}"
    return shared_table(key, lambda: loaded), resource


def reads_pickle(source: Any, format: str) -> bool:
    """Whether ``source`` is a gensim native (pickle) file."""
    from embeddings.formats.embedded import EMBEDDED_SOURCES

    if not isinstance(source, (str, os.PathLike)) or str(source) in EMBEDDED_SOURCES:
        return False
    if format == "gensim":
        return True
    if format != "auto" or not _exists(Path(source)):
        return False
    from embeddings.formats import detect_format

    try:
        return detect_format(source) == "gensim"
    except ModelFormatError:
        return False


def write_keyed_store(kv: Any, store_dir: str | os.PathLike[str] | None) -> Path:
    """Write a ``KeyedVectors`` once to a native store and return its folder.

    The folder is ``store_dir``, or one under :func:`embeddings.formats.store_root`
    named by the content hash; an existing store there is used as it is.
    """
    from embeddings.formats.gensim_kv import table_from_keyed_vectors
    from embeddings.formats.native import content_sha256, is_store, store_root, write_store

    table = table_from_keyed_vectors(kv, source="KeyedVectors")
    digest = content_sha256(table)
    folder = Path(store_dir) if store_dir is not None else store_root() / f"kv-{digest[:16]}"
    if not is_store(folder):
        write_store(folder, table, source={"keyed_vectors": type(kv).__name__})
    return folder
