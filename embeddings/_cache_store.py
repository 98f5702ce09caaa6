"""The embedding cache on disk: shard files and the in-process index of one folder.

A shard is one safetensors file holding the sha256 keys of its texts and their
vectors (dense, or CSR when sparse); :class:`ShardStore` indexes the shards of one
encoder-fingerprint folder and writes new ones.  :mod:`embeddings.cache` describes
the layout and the concurrency guarantees; this module is its storage layer.

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> keys = np.zeros((1, KEY_BYTES), dtype=np.uint8)
    >>> path = write_shard(folder, "f" * 64, keys, np.ones((1, 3), np.float32))
    >>> load_shard(path, "f" * 64)[1].tolist()
    [[1.0, 1.0, 1.0]]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import struct
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._atomic import atomic_write_bytes, atomic_write_json
from embeddings._cache_dirs import default_cache_dir
from embeddings._jsonfile import read_json_file
from embeddings.errors import InvalidParameterError, TransferkitError

__all__ = [
    "CACHE_FORMAT",
    "CACHE_FORMAT_VERSION",
    "CacheWarning",
    "KEY_BYTES",
    "ShardStore",
    "list_shards",
    "load_shard",
    "read_meta",
    "resolve_dir",
    "write_shard",
]

CACHE_FORMAT = "transferkit-embedding-cache"
CACHE_FORMAT_VERSION = "1"  # dense shards
SPARSE_FORMAT_VERSION = "2"  # CSR shards (layout "csr")
#: a shard is stored sparse when at most this share of its values is non-zero
SPARSE_MAX_DENSITY = 0.25
META_NAME = "meta.json"
#: the largest ``meta.json`` read (an encoder's name, class and parameters)
MAX_META_BYTES = 16 << 20
SHARD_SUFFIX = ".safetensors"
TMP_PREFIX = ".tmp-"  # temporary files of earlier versions (removed by compact when stale)
LOCK_NAME = ".lock"
KEY_BYTES = 32
FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")
#: temporary files older than this are leftovers of a crashed writer
STALE_TMP_SECONDS = 3600.0


class CacheWarning(RuntimeWarning):
    """A damaged cache entry was found (and removed), or the cache could not be written."""


def resolve_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is None:
        return default_cache_dir()
    if not isinstance(cache_dir, (str, os.PathLike)) or not os.fspath(cache_dir):
        raise InvalidParameterError(
            f"cache_dir must be a folder path (str or os.PathLike) or None for the default "
            f"({default_cache_dir()}), got {cache_dir!r}"
        )
    return Path(cache_dir).expanduser()


# -------------------------------------------------------------- shard format
def _checksum(keys: np.ndarray, *arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for arr in (keys, *arrays):
        if arr.size:  # memoryview cannot cast a view with a zero in its shape
            h.update(np.ascontiguousarray(arr).data.cast("B"))
    return h.hexdigest()


def _to_csr(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(indptr, indices, data)`` of ``vectors`` when sparse enough to store as CSR."""
    if vectors.size == 0 or vectors.shape[1] >= 2**31:
        return None
    nonzero = vectors.view(np.uint32) != 0  # bit patterns: -0.0 is kept as a value
    nnz = int(np.count_nonzero(nonzero))
    if nnz > SPARSE_MAX_DENSITY * vectors.size:
        return None
    rows, cols = np.nonzero(nonzero)
    indptr = np.zeros(vectors.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.count_nonzero(nonzero, axis=1), out=indptr[1:])
    return indptr, cols.astype(np.int32), np.ascontiguousarray(vectors[rows, cols])


def _csr_rows(matrix: Any, ids: np.ndarray) -> np.ndarray:
    """Rows ``ids`` of a dense array or a scipy CSR matrix, as a dense float32 array."""
    rows = matrix[ids]
    if not hasattr(rows, "indptr"):
        return rows
    # assignment, not scipy's toarray(), which adds into zeros and turns -0.0 into 0.0
    dense = np.zeros(rows.shape, dtype=np.float32)
    dense[np.repeat(np.arange(rows.shape[0]), np.diff(rows.indptr)), rows.indices] = rows.data
    return dense


def _parse_header(head: bytes, size: int) -> tuple[dict[str, Any], int]:
    """Parse a safetensors header from the file's first bytes; returns (header, data offset).

    Raises:
        ValueError: a short file, an impossible header length or invalid JSON.
    """
    if len(head) < 8:
        raise ValueError("file shorter than the 8-byte header length")
    (length,) = struct.unpack("<Q", head[:8])
    if length > size - 8 or length > len(head) - 8:
        raise ValueError(f"header length {length} exceeds the file size {size}")
    header = json.loads(head[8 : 8 + length].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header, 8 + length


def read_header(path: Path) -> tuple[dict[str, Any], int]:
    """Read only the header of a shard file (for :func:`cache_info`)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) == 8:
            head += f.read(min(struct.unpack("<Q", head)[0], max(size - 8, 0)))
    return _parse_header(head, size)


def shard_meta(header: dict[str, Any]) -> dict[str, str]:
    meta = header.get("__metadata__")
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"not a {CACHE_FORMAT} shard")
    if meta.get("format_version") not in (CACHE_FORMAT_VERSION, SPARSE_FORMAT_VERSION):
        raise ValueError(f"unsupported shard format_version {meta.get('format_version')!r}")
    return meta


def _sparse_vectors(arrays: dict[str, np.ndarray], n: int, dim: int) -> tuple[Any, str]:
    """The CSR matrix of a sparse shard's arrays (checked) and their checksum."""
    import scipy.sparse

    indptr, indices, data = (arrays.get(k) for k in ("indptr", "indices", "data"))
    if indptr is None or indices is None or data is None:
        raise ValueError("sparse shard lacks 'indptr', 'indices' or 'data'")
    nnz = int(data.shape[0]) if data.ndim == 1 else -1
    if indptr.dtype != np.int64 or indptr.shape != (n + 1,):
        raise ValueError(
            f"indptr has dtype {indptr.dtype} shape {indptr.shape}, expected ({n + 1},)"
        )
    if data.dtype != np.float32 or indices.dtype != np.int32 or indices.shape != (nnz,):
        raise ValueError(
            f"indices {indices.dtype} {indices.shape} / data {data.dtype} {data.shape} do not "
            "form a float32 CSR matrix"
        )
    if indptr[0] != 0 or indptr[-1] != nnz or (np.diff(indptr) < 0).any():
        raise ValueError("indptr is not a valid CSR row pointer")
    if nnz and (indices.min() < 0 or indices.max() >= dim):
        raise ValueError(f"column indices outside [0, {dim})")
    matrix = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n, dim))
    return matrix, _checksum(arrays["keys"], indptr, indices, data)


def load_shard(path: Path, fingerprint: str) -> tuple[np.ndarray, Any]:
    """Read and verify one shard; returns (keys uint8 (n,32), vectors float32 (n,dim)).

    The vectors of a sparse shard are a scipy CSR matrix.

    Raises:
        FileNotFoundError: the shard vanished (removed by clear/compact).
        ValueError: the shard is damaged (any parse, shape or checksum problem).
    """
    from safetensors.numpy import load

    data = path.read_bytes()
    try:
        header, _ = _parse_header(data, len(data))
        meta = shard_meta(header)
        arrays = load(data)
    except Exception as err:  # any parse failure means a damaged shard
        raise ValueError(f"unreadable shard: {err}") from err
    sparse = meta.get("format_version") == SPARSE_FORMAT_VERSION
    if sparse and meta.get("layout") != "csr":
        raise ValueError(f"unknown shard layout {meta.get('layout')!r}")
    keys = arrays.get("keys")
    if keys is None:
        raise ValueError("shard lacks the 'keys' array")
    n, dim = int(meta.get("n", -1)), int(meta.get("dim", -1))
    if keys.dtype != np.uint8 or keys.shape != (n, KEY_BYTES):
        raise ValueError(f"keys have dtype {keys.dtype} shape {keys.shape}, expected ({n}, 32)")
    if meta.get("fingerprint") != fingerprint:
        raise ValueError(f"shard belongs to fingerprint {meta.get('fingerprint')!r}")
    if sparse:
        vectors, checksum = _sparse_vectors(arrays, n, dim)
    else:
        vectors = arrays.get("vectors")
        if vectors is None:
            raise ValueError("shard lacks the 'vectors' array")
        if vectors.dtype != np.float32 or vectors.shape != (n, dim):
            raise ValueError(
                f"vectors have dtype {vectors.dtype} shape {vectors.shape}, expected ({n}, {dim})"
            )
        checksum = _checksum(keys, vectors)
    if checksum != meta.get("sha256"):
        raise ValueError("checksum mismatch")
    return keys, vectors


def _new_shard_name() -> str:
    return f"{time.time_ns():020d}-{os.getpid()}-{uuid.uuid4().hex[:12]}{SHARD_SUFFIX}"


def write_shard(folder: Path, fingerprint: str, keys: np.ndarray, vectors: np.ndarray) -> Path:
    """Write a new shard atomically (temp file + fsync + os.replace), sparse when it pays."""
    from safetensors.numpy import save

    keys = np.ascontiguousarray(keys, dtype=np.uint8)
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    csr = _to_csr(vectors)
    arrays = (
        {"keys": keys, "vectors": vectors}
        if csr is None
        else {"keys": keys, "indptr": csr[0], "indices": csr[1], "data": csr[2]}
    )
    meta = {
        "format": CACHE_FORMAT,
        "format_version": CACHE_FORMAT_VERSION if csr is None else SPARSE_FORMAT_VERSION,
        "fingerprint": fingerprint,
        "n": str(len(keys)),
        "dim": str(vectors.shape[1]),
        "sha256": _checksum(keys, vectors) if csr is None else _checksum(keys, *csr),
    }
    if csr is not None:
        meta["layout"] = "csr"
    blob = save(arrays, metadata=meta)
    return atomic_write_bytes(folder / _new_shard_name(), blob)


def list_shards(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:  # missing, not a folder, unreadable: nothing cached there
        return []
    return sorted(
        Path(e.path)
        for e in entries
        if e.name.endswith(SHARD_SUFFIX) and not e.name.startswith(".") and e.is_file()
    )


def read_meta(folder: Path) -> dict[str, Any]:
    """The ``meta.json`` of a fingerprint folder; ``{}`` when missing or unreadable."""
    try:
        meta = read_json_file(folder / META_NAME, what="cache meta.json", limit=MAX_META_BYTES)
    except TransferkitError:
        return {}
    return meta if isinstance(meta, dict) else {}


def warn_damaged(path: Path, reason: str, *, stacklevel: int = 4) -> None:
    warnings.warn(
        f"embedding cache: damaged shard {path} ({reason}); removed it, its texts will be "
        "recomputed",
        CacheWarning,
        stacklevel=stacklevel,
    )


# --------------------------------------------------------------------- store
class ShardStore:
    """The in-process index of one fingerprint folder."""

    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.fingerprint = fingerprint
        #: text digest -> global row id (offsets[slot] + row); the first copy wins
        self.index: dict[bytes, int] = {}
        self.vectors: list[Any] = []  # dense arrays or scipy CSR matrices
        self.offsets: list[int] = []
        self.total = 0
        self.seen: set[str] = set()
        self.dim: int | None = None

    def _add(self, keys: np.ndarray, vectors: Any) -> None:
        n = len(keys)
        if n == 0:
            return
        raw = keys.tobytes()
        digests = [raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES)]
        ids = range(self.total, self.total + n)
        if self.index.keys().isdisjoint(digests):
            self.index.update(zip(digests, ids))
        else:  # copies written by concurrent processes: keep the first
            setdefault = self.index.setdefault
            for digest, i in zip(digests, ids):
                setdefault(digest, i)
        self.offsets.append(self.total)
        self.vectors.append(vectors)
        self.total += n
        if self.dim is None:
            self.dim = int(vectors.shape[1])

    def gather(self, ids: np.ndarray, out: np.ndarray) -> None:
        """Copy the vectors of global row ``ids`` into ``out`` (same length)."""
        if len(self.vectors) == 1:
            out[:] = _csr_rows(self.vectors[0], ids)
            return
        slots = np.searchsorted(np.asarray(self.offsets), ids, side="right") - 1
        for slot in np.unique(slots):
            mask = slots == slot
            out[mask] = _csr_rows(self.vectors[slot], ids[mask] - self.offsets[slot])

    def refresh(self) -> None:
        """Load shards that appeared since the last call (verified, damaged ones removed)."""
        for path in list_shards(self.folder):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            self.add_shard(path, stacklevel=6)

    def add_shard(self, path: Path, *, stacklevel: int) -> bool:
        """Index one shard; a vanished one is skipped, a damaged one warned about and removed.

        Returns:
            Whether the shard was indexed.
        """
        try:
            keys, vectors = load_shard(path, self.fingerprint)
            if self.dim is not None and vectors.shape[1] != self.dim and vectors.shape[0]:
                raise ValueError(f"dim {vectors.shape[1]} != {self.dim}")
        except FileNotFoundError:
            return False
        except (ValueError, OSError) as err:
            warn_damaged(path, str(err), stacklevel=stacklevel)
            with contextlib.suppress(OSError):
                path.unlink()
            return False
        self._add(keys, vectors)
        return True

    def store(self, keys: np.ndarray, vectors: np.ndarray, meta: dict[str, Any]) -> None:
        """Persist new vectors as one shard (warns instead of failing on I/O errors)."""
        self._add(keys, vectors)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not (self.folder / META_NAME).is_file():
                atomic_write_json(self.folder / META_NAME, meta)
            path = write_shard(self.folder, self.fingerprint, keys, vectors)
            self.seen.add(path.name)
        except OSError as err:
            warnings.warn(
                f"embedding cache: could not write to {self.folder} ({err}); the vectors are "
                "returned but not cached",
                CacheWarning,
                stacklevel=4,
            )
