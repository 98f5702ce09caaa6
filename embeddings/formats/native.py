"""The native vector store: a folder that loads memory-mapped in milliseconds.

Layout::

    store/
        config.json    format, version, count, dim, dtype, sha256, source, subwords
        vectors.npy    float32 (count, dim), loaded with mmap_mode="r"
        vocab.txt      UTF-8, one word per line, row order
        ngrams.npy     fastText subword vectors (only when the source has them)

The first load of a large text/binary vector file converts it once
(:func:`load_vectors`); later loads memory-map the store.  A store is written into
a temporary sibling folder, flushed to disk, and renamed into place in one rename
(:func:`embeddings._atomic.write_folder_atomically`), so a crash never leaves a
half-written store under the final name; ``config.json`` is written last, and a
folder without it is never read as a store.  Temporary folders of converters that
died are removed by the next conversion.

Example:
    >>> import numpy as np, tempfile, os
    >>> from embeddings.formats.table import VectorTable
    >>> d = os.path.join(tempfile.mkdtemp(), "store")
    >>> _ = write_store(d, VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
    >>> t = read_store(d)
    >>> t.vocab, isinstance(t.vectors, np.memmap)
    (['a', 'b'], True)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._atomic import remove_dead_temporaries_in, write_folder_atomically
from embeddings.errors import ModelFormatError
from embeddings.formats.table import Subwords, VectorTable

__all__ = [
    "STORE_FORMAT",
    "STORE_VERSION",
    "is_store",
    "write_store",
    "read_store",
    "store_config",
    "store_root",
    "store_path_for",
    "content_sha256",
]

STORE_FORMAT = "transferkit-vectors"
STORE_VERSION = 1
_CONFIG = "config.json"
_VECTORS = "vectors.npy"
_VOCAB = "vocab.txt"
_NGRAMS = "ngrams.npy"


def store_root() -> Path:
    """Where converted stores are kept.

    ``$TRANSFERKIT_VECTOR_STORE`` if set, else ``$XDG_CACHE_HOME/transferkit/vector-stores``
    (``~/.cache/...`` by default).
    """
    env = os.environ.get("TRANSFERKIT_VECTOR_STORE")
    if env:
        return Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(cache) / "transferkit" / "vector-stores"


def store_path_for(path: str | os.PathLike[str], fmt: str) -> Path:
    """The store folder for a vector file: keyed by absolute path, size, mtime and format."""
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}|{fmt}|{STORE_VERSION}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    stem = p.name.split(".")[0][:40] or "vectors"
    return store_root() / f"{stem}-{digest}"


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a complete native store folder."""
    cfg = Path(path) / _CONFIG
    if not cfg.is_file():
        return False
    try:
        return json.loads(cfg.read_text(encoding="utf-8")).get("format") == STORE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def content_sha256(table: VectorTable) -> str:
    """sha256 of a table's vocabulary, vectors and subword vectors (the store's identity)."""
    ngrams = table.subwords.vectors if table.subwords is not None else None
    return _content_sha256("\n".join(table.vocab).encode("utf-8"), table.vectors, ngrams)


def _content_sha256(vocab_bytes: bytes, vectors: np.ndarray, ngrams: np.ndarray | None) -> str:
    h = hashlib.sha256()
    h.update(vocab_bytes)
    h.update(str(vectors.shape).encode())
    h.update(memoryview(np.ascontiguousarray(vectors, dtype="<f4")).cast("B"))
    if ngrams is not None:
        h.update(str(ngrams.shape).encode())
        h.update(memoryview(np.ascontiguousarray(ngrams, dtype="<f4")).cast("B"))
    return h.hexdigest()


def _write_file(path: Path, payload: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(payload)


def _save_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array, dtype="<f4"), allow_pickle=False)


def write_store(
    folder: str | os.PathLike[str],
    table: VectorTable,
    *,
    source: dict[str, Any] | None = None,
) -> Path:
    """Write ``table`` as a native store at ``folder``, atomically.

    If ``folder`` already holds a complete store (e.g. another process converted the
    same file concurrently), that store is kept and the new one discarded.

    Args:
        folder: the store folder to create.
        table: vocabulary, vectors and optional subwords.
        source: JSON metadata about where the vectors came from.

    Raises:
        ModelFormatError: a word contains a newline (it could not be stored one per line),
            or ``folder`` exists and is not a store.

    Returns:
        ``folder`` as a Path.
    """
    target = Path(folder)
    for i, w in enumerate(table.vocab):
        if "\n" in w:
            raise ModelFormatError(
                f"{table.source or 'vector table'}: word {i} ({w!r:.40}) contains a newline; "
                "the native store keeps one word per line"
            )
    vocab_bytes = "\n".join(table.vocab).encode("utf-8")
    ngrams = table.subwords.vectors if table.subwords is not None else None
    config: dict[str, Any] = {
        "format": STORE_FORMAT,
        "format_version": STORE_VERSION,
        "count": len(table.vocab),
        "dim": table.dim,
        "dtype": "float32",
        "sha256": _content_sha256(vocab_bytes, table.vectors, ngrams),
        "source": source or {"path": table.source},
        "subwords": (
            None
            if table.subwords is None
            else {
                "min_n": table.subwords.min_n,
                "max_n": table.subwords.max_n,
                "bucket": table.subwords.bucket,
            }
        ),
    }

    def fill(tmp: Path) -> None:
        _save_npy(tmp / _VECTORS, table.vectors)
        _write_file(tmp / _VOCAB, vocab_bytes)
        if ngrams is not None:
            _save_npy(tmp / _NGRAMS, ngrams)
        # config.json last: its presence marks a complete store
        _write_file(tmp / _CONFIG, (json.dumps(config, indent=2) + "\n").encode("utf-8"))

    write_folder_atomically(target, fill, kind="vector store", replace=False)
    remove_dead_temporaries_in(target.parent)  # of other stores' conversions too
    if not is_store(target):
        raise ModelFormatError(
            f"{target}: exists and is not a native vector store; remove it or choose another folder"
        )
    return target


def store_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a store (validated)."""
    folder = Path(folder)
    cfg_path = folder / _CONFIG
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{folder}: not a native vector store ({_CONFIG} is missing; an interrupted "
            "conversion leaves no store, convert again)"
        ) from None
    except ValueError as err:
        raise ModelFormatError(f"{cfg_path}: invalid JSON: {err}") from err
    if not isinstance(config, dict) or config.get("format") != STORE_FORMAT:
        raise ModelFormatError(f"{cfg_path}: 'format' must be {STORE_FORMAT!r}")
    if config.get("format_version") != STORE_VERSION:
        raise ModelFormatError(
            f"{cfg_path}: store version {config.get('format_version')!r} is not supported "
            f"(expected {STORE_VERSION}); delete the folder to convert again"
        )
    return config


def read_store(folder: str | os.PathLike[str], *, mmap: bool = True) -> VectorTable:
    """Load a native store; the vectors are memory-mapped (read-only) by default.

    Raises:
        ModelFormatError: a missing/invalid file, or sizes that disagree with config.json.
    """
    folder = Path(folder)
    config = store_config(folder)
    count, dim = int(config["count"]), int(config["dim"])
    mode = "r" if mmap else None
    try:
        vectors = np.load(folder / _VECTORS, mmap_mode=mode, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ModelFormatError(f"{folder / _VECTORS}: cannot read: {err}") from err
    if vectors.shape != (count, dim) or vectors.dtype != np.float32:
        raise ModelFormatError(
            f"{folder / _VECTORS}: expected float32 {(count, dim)}, got {vectors.dtype} "
            f"{vectors.shape} (truncated store?)"
        )
    try:
        text = (folder / _VOCAB).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ModelFormatError(f"{folder / _VOCAB}: cannot read: {err}") from err
    vocab = text.split("\n") if count else []
    if len(vocab) != count:
        raise ModelFormatError(
            f"{folder / _VOCAB}: expected {count} words (one per line), found {len(vocab)}"
        )
    subwords = None
    sw = config.get("subwords")
    if sw:
        try:
            ngrams = np.load(folder / _NGRAMS, mmap_mode=mode, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ModelFormatError(f"{folder / _NGRAMS}: cannot read: {err}") from err
        if ngrams.shape != (int(sw["bucket"]), dim):
            raise ModelFormatError(
                f"{folder / _NGRAMS}: expected shape {(int(sw['bucket']), dim)}, got {ngrams.shape}"
            )
        subwords = Subwords(ngrams, int(sw["min_n"]), int(sw["max_n"]))
    return VectorTable(vocab, vectors, subwords=subwords, source=str(folder))
