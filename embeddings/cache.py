"""Frozen features on disk: :class:`CachedEncoder`.

A :class:`CachedEncoder` wraps any encoder and stores its vectors on disk, keyed by
``(encoder.fingerprint(), sha256(text))``.  A frozen encoder then runs once per
text; later runs (another fold, another head, another process) read the vectors
back in milliseconds.

Layout (one folder per encoder fingerprint)::

    <cache_dir>/                      # default: see default_cache_dir()
      <fingerprint>/                  # 64 hex characters
        meta.json                     # encoder name, class, params, dim, created, version
        <time>-<pid>-<random>.safetensors   # one shard per encode call with misses
        .<shard name>.tmp-<host>-<pid>-<random>   # a shard being written (never read)
        .lock                         # taken by compact() only

A shard is one safetensors file (no pickle) holding ``keys`` (``uint8 (n, 32)``,
the sha256 digests of the UTF-8 texts) and the vectors, in one of two layouts:

* dense (format version 1): ``vectors`` (``float32 (n, dim)``);
* sparse (format version 2, ``layout: csr``), chosen when fewer than a quarter of
  the values are non-zero (TF-IDF and other bag-of-words vectors): the CSR arrays
  ``indptr`` (``int64 (n + 1,)``), ``indices`` (``int32 (nnz,)``) and ``data``
  (``float32 (nnz,)``).  Only exact zeros (bit pattern 0, so ``-0.0`` is kept) are
  left out, so the vectors read back are bit-identical.

Its header metadata records the fingerprint, ``dim``, ``n`` and a sha256 checksum
of the arrays.

How concurrency is guaranteed (no locks on the encode path):

* **Writers never share a file.**  Each ``encode`` call that computed something
  writes a *new* shard under a unique name (time, pid, random suffix) to a
  dot-prefixed temporary file, flushes and fsyncs it, then ``os.replace``-s it to
  its final name (:func:`embeddings._atomic.atomic_write_bytes`).  A rename within
  one folder is atomic on POSIX, so readers either do not see a shard or see it
  complete.  Readers ignore dot-files; :func:`compact` removes the temporary files
  of writers that died.
* **Shards are immutable.**  Nothing rewrites a shard in place.  Two processes
  that compute the same text at once both write it; the copies are identical and
  lookups take the first.  :func:`compact` merges shards and drops duplicates.
* **Deletion is safe.**  :func:`compact` writes the merged shard (atomically)
  *before* it unlinks the shards it merged, and holds an exclusive ``fcntl.flock``
  on ``.lock`` so that two compactions do not do the work twice.  A reader that
  already loaded a shard keeps its vectors in memory; one that finds a listed
  shard gone skips it.
* **Damage is detected.**  A shard that cannot be parsed (truncated, garbage) or
  whose checksum, shape or fingerprint does not match is reported once with a
  :class:`CacheWarning`, removed, and its texts are recomputed.  A failure to
  *write* the cache (disk full, read-only folder) warns and never fails
  ``encode``.

Each :class:`CachedEncoder` keeps an in-memory index (digest -> shard, row) per
fingerprint; each call only scans the folder for shards it has not seen yet.
The index costs roughly 120 bytes per cached text plus the vectors themselves.

Example:
    >>> import tempfile, numpy as np, embeddings
    >>> from embeddings.cache import CachedEncoder, cache_info
    >>> with tempfile.TemporaryDirectory() as d:
    ...     enc = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=d)
    ...     first = enc.encode(["a cat", "a dog"])          # computed and stored
    ...     again = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=d)
    ...     bool(np.array_equal(first, again.encode(["a dog", "a cat"])[::-1]))
    ...     cache_info(d)[0]["n_vectors"]
    True
    2
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import struct
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from embeddings._atomic import atomic_write_bytes, atomic_write_text, remove_dead_temporaries_in
from embeddings._encode_args import EncodeMixin
from embeddings.base import validate_texts
from embeddings.errors import EncodingError, InvalidParameterError

__all__ = [
    "CachedEncoder",
    "CacheWarning",
    "CacheInfo",
    "CompactStats",
    "default_cache_dir",
    "cache_info",
    "clear_cache",
    "compact",
    "text_key",
]

CACHE_FORMAT = "transferkit-embedding-cache"
CACHE_FORMAT_VERSION = "1"  # dense shards
SPARSE_FORMAT_VERSION = "2"  # CSR shards (layout "csr")
#: a shard is stored sparse when at most this share of its values is non-zero
SPARSE_MAX_DENSITY = 0.25
META_NAME = "meta.json"
SHARD_SUFFIX = ".safetensors"
TMP_PREFIX = ".tmp-"  # temporary files of earlier versions (removed by compact when stale)
LOCK_NAME = ".lock"
KEY_BYTES = 32
_FINGERPRINT_RE = re.compile(r"^[0-9a-f]{64}$")
#: temporary files older than this are leftovers of a crashed writer
STALE_TMP_SECONDS = 3600.0


class CacheWarning(RuntimeWarning):
    """A damaged cache entry was found (and removed), or the cache could not be written."""


class CacheInfo(TypedDict):
    """What :func:`cache_info` reports for one encoder fingerprint."""

    name: str
    fingerprint: str
    encoder_class: str
    n_vectors: int
    dim: int | None
    bytes: int
    shards: int
    created: str
    path: str


class CompactStats(TypedDict):
    """What :func:`compact` did to one encoder fingerprint."""

    name: str
    fingerprint: str
    shards_before: int
    shards_after: int
    n_vectors: int
    bytes_freed: int


# --------------------------------------------------------------------- paths
def default_cache_dir() -> Path:
    """The default cache folder.

    ``$TRANSFERKIT_CACHE/embeddings`` when ``TRANSFERKIT_CACHE`` is set, else
    ``$XDG_CACHE_HOME/transferkit/embeddings`` (``~/.cache/transferkit/embeddings``).

    Example:
        >>> import os
        >>> os.environ["TRANSFERKIT_CACHE"] = "/tmp/tk"
        >>> str(default_cache_dir())
        '/tmp/tk/embeddings'
        >>> del os.environ["TRANSFERKIT_CACHE"]
    """
    from embeddings._cache_dirs import cache_root

    return cache_root() / "embeddings"


def _resolve_dir(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is None:
        return default_cache_dir()
    if not isinstance(cache_dir, (str, os.PathLike)) or not os.fspath(cache_dir):
        raise InvalidParameterError(
            f"cache_dir must be a folder path (str or os.PathLike) or None for the default "
            f"({default_cache_dir()}), got {cache_dir!r}"
        )
    return Path(cache_dir).expanduser()


def text_key(text: str) -> bytes:
    """The cache key of one text: sha256 of its UTF-8 bytes (lone surrogates allowed).

    Example:
        >>> text_key("a cat").hex()[:16]
        '51e4674156077982'
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


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


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    """Read only the header of a shard file (for :func:`cache_info`)."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        head = f.read(8)
        if len(head) == 8:
            head += f.read(min(struct.unpack("<Q", head)[0], max(size - 8, 0)))
    return _parse_header(head, size)


def _shard_meta(header: dict[str, Any]) -> dict[str, str]:
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


def _load_shard(path: Path, fingerprint: str) -> tuple[np.ndarray, Any]:
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
        meta = _shard_meta(header)
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


def _write_shard(folder: Path, fingerprint: str, keys: np.ndarray, vectors: np.ndarray) -> Path:
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


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def _list_shards(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:  # missing, not a folder, unreadable: nothing cached there
        return []
    return sorted(
        Path(e.path)
        for e in entries
        if e.name.endswith(SHARD_SUFFIX) and not e.name.startswith(".") and e.is_file()
    )


def _read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def _warn_damaged(path: Path, reason: str, *, stacklevel: int = 4) -> None:
    warnings.warn(
        f"embedding cache: damaged shard {path} ({reason}); removed it, its texts will be "
        "recomputed",
        CacheWarning,
        stacklevel=stacklevel,
    )


# --------------------------------------------------------------------- store
class _Store:
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
        for path in _list_shards(self.folder):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            try:
                keys, vectors = _load_shard(path, self.fingerprint)
            except FileNotFoundError:
                continue
            except (ValueError, OSError) as err:
                _warn_damaged(path, str(err), stacklevel=5)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            if self.dim is not None and vectors.shape[1] != self.dim and vectors.shape[0]:
                _warn_damaged(path, f"dim {vectors.shape[1]} != {self.dim}", stacklevel=5)
                with contextlib.suppress(OSError):
                    path.unlink()
                continue
            self._add(keys, vectors)

    def store(self, keys: np.ndarray, vectors: np.ndarray, meta: dict[str, Any]) -> None:
        """Persist new vectors as one shard (warns instead of failing on I/O errors)."""
        self._add(keys, vectors)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not (self.folder / META_NAME).is_file():
                _write_json_atomic(self.folder / META_NAME, meta)
            path = _write_shard(self.folder, self.fingerprint, keys, vectors)
            self.seen.add(path.name)
        except OSError as err:
            warnings.warn(
                f"embedding cache: could not write to {self.folder} ({err}); the vectors are "
                "returned but not cached",
                CacheWarning,
                stacklevel=4,
            )


# ------------------------------------------------------------- the encoder
class CachedEncoder(EncodeMixin):
    """An encoder whose vectors are stored on disk and computed once per text.

    Keys are ``(encoder.fingerprint(), sha256(text))``: the fingerprint covers the
    class, parameters, adapter version, weights and fitted state, so changing a
    parameter or re-fitting a trainable encoder uses new entries automatically.
    Only texts missing from the cache are sent to the wrapped encoder, each
    distinct text once.  Cached vectors are exactly (bit for bit) the vectors the
    wrapped encoder returned when they were computed; encoders that honour the
    contract's batch-size invariance therefore give identical output with and
    without the cache.

    The constructor only stores its arguments; the folder is created on the first
    ``encode`` that computes something.

    Args:
        encoder: the encoder to wrap; it must offer ``encode``, ``dim`` and
            ``fingerprint()`` (every :class:`~embeddings.base.BaseEncoder` does).
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.

    Example:
        >>> import tempfile, embeddings
        >>> from embeddings.cache import CachedEncoder
        >>> with tempfile.TemporaryDirectory() as d:
        ...     enc = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=d)
        ...     enc.encode(["a cat", "a cat", "a dog"]).shape
        (3, 50)
    """

    def __init__(self, encoder: Any, cache_dir: str | os.PathLike[str] | None = None) -> None:
        self.encoder = encoder
        self.cache_dir = cache_dir

    # ------------------------------------------------------------ delegation
    @property
    def name(self) -> str:
        """The wrapped encoder's name."""
        return str(getattr(self.encoder, "name", type(self.encoder).__name__))

    @property
    def dim(self) -> int:
        """The wrapped encoder's output dimension."""
        return int(self.encoder.dim)

    def fingerprint(self) -> str:
        """The wrapped encoder's fingerprint (the cache key prefix).

        Raises:
            InvalidParameterError: the wrapped encoder has no ``fingerprint()``.
        """
        method = getattr(self.encoder, "fingerprint", None)
        if not callable(method):
            raise InvalidParameterError(
                f"CachedEncoder needs an encoder with a fingerprint() method (every "
                f"BaseEncoder has one), got {type(self.encoder).__name__}"
            )
        fp = str(method())
        if not _FINGERPRINT_RE.match(fp):
            raise InvalidParameterError(
                f"{self.name}.fingerprint() must return 64 lowercase hex characters "
                f"(a sha256), got {fp!r:.80}"
            )
        return fp

    def fit(self, texts: Sequence[str], y: Any = None) -> CachedEncoder:
        """Fit the wrapped encoder (its fingerprint, hence the cache key, changes).

        Returns:
            self
        """
        self.encoder.fit(texts, y)
        return self

    @property
    def cache_path(self) -> Path:
        """The folder that holds this encoder's entries (for the current fingerprint)."""
        return _resolve_dir(self.cache_dir) / self.fingerprint()

    # ----------------------------------------------------------------- encode
    def _store_for(self, fingerprint: str) -> _Store:
        folder = _resolve_dir(self.cache_dir) / fingerprint
        stores: dict[tuple[str, str], _Store] = self.__dict__.setdefault("_stores", {})
        key = (os.fspath(folder), fingerprint)
        store = stores.get(key)
        if store is None:
            store = stores[key] = _Store(folder, fingerprint)
        return store

    def _meta(self, fingerprint: str, dim: int) -> dict[str, Any]:
        from embeddings._version import __version__

        enc = self.encoder
        params: Any = {}
        json_params = getattr(enc, "_json_params", None)
        if callable(json_params):
            with contextlib.suppress(Exception):
                params = json_params()
        return {
            "format": CACHE_FORMAT,
            "format_version": CACHE_FORMAT_VERSION,
            "fingerprint": fingerprint,
            "name": self.name,
            "class": f"{type(enc).__module__}:{type(enc).__qualname__}",
            "params": params,
            "adapter_version": str(getattr(enc, "adapter_version", "")),
            "dim": dim,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "transferkit_version": __version__,
        }

    def _encode(
        self, texts: Any, batch_size: int, show_progress: bool, normalize: bool
    ) -> np.ndarray:
        """Encode texts, reading cached vectors and computing only the missing ones
        (the ``encode`` template of :class:`~embeddings._encode_args.EncodeMixin`).

        The cache always stores the encoder's own vectors, so one entry serves both
        ``normalize`` settings.

        Raises:
            InvalidInputError: ``texts`` holds a non-string.
            EncodingError: the wrapped encoder returned an unusable array.

        Example:
            >>> import tempfile, embeddings
            >>> with tempfile.TemporaryDirectory() as d:
            ...     CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=d).encode([]).shape
            (0, 50)
        """
        texts_list = validate_texts(texts)
        if getattr(self.encoder, "requires_fit", False) and not getattr(
            self.encoder, "is_fitted", True
        ):
            _ = self.encoder.dim  # raises the encoder's own NotFittedError
        fingerprint = self.fingerprint()
        store = self._store_for(fingerprint)
        store.refresh()

        # distinct texts, in first-seen order
        sha256 = hashlib.sha256
        keys = [sha256(t.encode("utf-8", "surrogatepass")).digest() for t in texts_list]
        unique_keys = list(dict.fromkeys(keys))
        if len(unique_keys) == len(keys):
            inverse: np.ndarray | None = None
            unique_texts = texts_list
        else:
            first = {k: j for j, k in enumerate(unique_keys)}
            inverse = np.fromiter((first[k] for k in keys), dtype=np.intp, count=len(keys))
            seen_first: dict[bytes, str] = {}
            for k, t in zip(keys, texts_list):
                seen_first.setdefault(k, t)
            unique_texts = list(seen_first.values())

        found = list(map(store.index.get, unique_keys))
        missing = [j for j, i in enumerate(found) if i is None]
        hit_pos = (
            np.arange(len(found), dtype=np.intp)
            if not missing
            else np.fromiter((j for j, i in enumerate(found) if i is not None), dtype=np.intp)
        )
        hit_ids = np.fromiter(
            (i for i in found if i is not None), dtype=np.intp, count=len(found) - len(missing)
        )

        computed: np.ndarray | None = None
        if missing:
            computed = self.encoder.encode(
                [unique_texts[j] for j in missing],
                batch_size=batch_size,
                show_progress=show_progress,
            )
            computed = np.asarray(computed)
            if computed.ndim != 2 or computed.shape[0] != len(missing):
                raise EncodingError(
                    f"{self.name}.encode returned shape {computed.shape} for {len(missing)} "
                    "texts; expected (n_texts, dim)"
                )
            if store.dim is not None and computed.shape[1] != store.dim:
                raise EncodingError(
                    f"{self.name}.encode returned dim {computed.shape[1]} but the cache at "
                    f"{store.folder} holds dim {store.dim} for the same fingerprint; the "
                    "encoder's fingerprint does not capture everything that changes its "
                    "output (clear the entry with clear_cache(fingerprint=...))"
                )
            computed = np.ascontiguousarray(computed, dtype=np.float32)
            keys_arr = np.frombuffer(b"".join(unique_keys[j] for j in missing), dtype=np.uint8)
            store.store(
                keys_arr.reshape(len(missing), KEY_BYTES),
                computed,
                self._meta(fingerprint, int(computed.shape[1])),
            )

        if computed is not None:
            dim = int(computed.shape[1])
        elif store.dim is not None:
            dim = store.dim
        else:
            dim = self.dim
        unique_vecs = np.empty((len(unique_keys), dim), dtype=np.float32)
        if len(hit_ids):
            if missing:
                part = np.empty((len(hit_ids), dim), dtype=np.float32)
                store.gather(hit_ids, part)
                unique_vecs[hit_pos] = part
            else:
                store.gather(hit_ids, unique_vecs)
        if computed is not None:
            unique_vecs[missing] = computed
        if normalize:
            from embeddings.util import _normalize_inplace

            _normalize_inplace(unique_vecs)
        if inverse is None:
            return unique_vecs
        return np.ascontiguousarray(unique_vecs[inverse])

    # -------------------------------------------------------------- plumbing
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_stores", None)
        return state

    def __repr__(self) -> str:
        return f"CachedEncoder({self.encoder!r}, cache_dir={self.cache_dir!r})"


# ---------------------------------------------------------------- management
def _entry_folders(root: Path) -> Iterator[Path]:
    """Fingerprint folders under ``root`` (other files and folders are never touched)."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except FileNotFoundError:
        return
    for e in entries:
        if e.is_dir(follow_symlinks=False) and _FINGERPRINT_RE.match(e.name):
            yield Path(e.path)


def _folder_bytes(folder: Path) -> int:
    total = 0
    for e in os.scandir(folder):
        with contextlib.suppress(OSError):
            if e.is_file(follow_symlinks=False):
                total += e.stat(follow_symlinks=False).st_size
    return total


def _count_unique(shards: list[Path]) -> tuple[int, int | None]:
    """Distinct keys over readable shards, reading only headers and key bytes."""
    seen: set[bytes] = set()
    dim: int | None = None
    for path in shards:
        try:
            header, offset = _read_header(path)
            meta = _shard_meta(header)
            begin, end = header["keys"]["data_offsets"]
            with open(path, "rb") as f:
                f.seek(offset + int(begin))
                raw = f.read(int(end) - int(begin))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        seen.update(raw[i : i + KEY_BYTES] for i in range(0, len(raw), KEY_BYTES))
        if dim is None:
            with contextlib.suppress(ValueError, TypeError):
                dim = int(meta["dim"])
    return len(seen), dim


def _select(
    root: Path, fingerprint: str | None, name: str | None
) -> list[tuple[Path, dict[str, Any]]]:
    if fingerprint is not None and (
        not isinstance(fingerprint, str) or not re.fullmatch(r"[0-9a-f]{1,64}", fingerprint)
    ):
        raise InvalidParameterError(
            f"fingerprint must be hex characters (a full sha256 or a prefix of one), "
            f"got {fingerprint!r}"
        )
    chosen = []
    for folder in _entry_folders(root):
        meta = _read_meta(folder)
        if fingerprint is not None and not folder.name.startswith(fingerprint):
            continue
        if name is not None and meta.get("name") != name:
            continue
        chosen.append((folder, meta))
    return chosen


def cache_info(cache_dir: str | os.PathLike[str] | None = None) -> list[CacheInfo]:
    """Describe every encoder stored in the cache.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.

    Returns:
        One :class:`CacheInfo` per fingerprint, sorted by name.  ``n_vectors``
        counts distinct texts; ``bytes`` includes metadata and temporary files.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     cache_info(d)
        []
    """
    root = _resolve_dir(cache_dir)
    out: list[CacheInfo] = []
    for folder, meta in _select(root, None, None):
        shards = _list_shards(folder)
        n, dim = _count_unique(shards)
        meta_dim = meta.get("dim")
        out.append(
            CacheInfo(
                name=str(meta.get("name", "?")),
                fingerprint=folder.name,
                encoder_class=str(meta.get("class", "?")),
                n_vectors=n,
                dim=int(meta_dim) if isinstance(meta_dim, int) else dim,
                bytes=_folder_bytes(folder),
                shards=len(shards),
                created=str(meta.get("created", "")),
                path=os.fspath(folder),
            )
        )
    return sorted(out, key=lambda r: (r["name"], r["fingerprint"]))


def _remove_folder(folder: Path) -> int:
    freed = 0
    for e in list(os.scandir(folder)):
        try:
            if e.is_dir(follow_symlinks=False):
                size = sum(p.stat().st_size for p in Path(e.path).rglob("*") if p.is_file())
                shutil.rmtree(e.path)
            else:
                size = e.stat(follow_symlinks=False).st_size
                os.unlink(e.path)
        except OSError:
            continue
        freed += size
    with contextlib.suppress(OSError):
        folder.rmdir()  # fails if a concurrent writer just added a shard: that is fine
    return freed


def clear_cache(
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    fingerprint: str | None = None,
    name: str | None = None,
) -> int:
    """Delete cached vectors; returns the number of bytes freed.

    Only fingerprint folders (64 hex characters) are removed, so pointing
    ``cache_dir`` at the wrong folder deletes nothing else.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        fingerprint: only this encoder fingerprint (a unique prefix is enough).
        name: only encoders with this name (e.g. ``"glove-6b-50d"``).

    Raises:
        InvalidParameterError: a fingerprint that is not hex, or a prefix that
            matches more than one entry.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     clear_cache(d, name="glove-6b-50d")
        0
    """
    root = _resolve_dir(cache_dir)
    chosen = _select(root, fingerprint, name)
    if fingerprint is not None and len(fingerprint) < 64 and len(chosen) > 1:
        raise InvalidParameterError(
            f"fingerprint prefix {fingerprint!r} matches {len(chosen)} entries "
            f"({', '.join(f.name[:12] for f, _ in chosen)}); give more characters"
        )
    return sum(_remove_folder(folder) for folder, _ in chosen)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    import fcntl

    with open(folder / LOCK_NAME, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def compact(
    cache_dir: str | os.PathLike[str] | None = None, *, fingerprint: str | None = None
) -> list[CompactStats]:
    """Merge each encoder's shards into one, dropping duplicates, damaged shards and
    temporary files left by crashed writers (older than an hour).

    Safe while other processes encode: the merged shard is written atomically before
    the merged shards are removed, and shards that appear meanwhile are kept.

    Args:
        cache_dir: the cache folder; ``None`` uses :func:`default_cache_dir`.
        fingerprint: only this encoder fingerprint (a prefix is enough).

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     compact(d)
        []
    """
    root = _resolve_dir(cache_dir)
    stats: list[CompactStats] = []
    for folder, meta in _select(root, fingerprint, None):
        before = _folder_bytes(folder)
        with _locked(folder):
            shards = _list_shards(folder)
            store = _Store(folder, folder.name)
            merged: list[Path] = []
            for path in shards:
                try:
                    keys, vectors = _load_shard(path, folder.name)
                except FileNotFoundError:
                    continue
                except (ValueError, OSError) as err:
                    _warn_damaged(path, str(err), stacklevel=3)
                    with contextlib.suppress(OSError):
                        path.unlink()
                    continue
                store._add(keys, vectors)
                merged.append(path)
            n = len(store.index)
            if len(merged) > 1:
                keys_out = np.frombuffer(b"".join(store.index), dtype=np.uint8)
                vecs_out = np.empty((n, store.dim or 0), dtype=np.float32)
                store.gather(np.fromiter(store.index.values(), dtype=np.intp, count=n), vecs_out)
                _write_shard(folder, folder.name, keys_out.reshape(n, KEY_BYTES), vecs_out)
                for path in merged:
                    with contextlib.suppress(OSError):
                        path.unlink()
            remove_dead_temporaries_in(folder)
            now = time.time()
            for e in os.scandir(folder):  # temporary files of earlier versions
                if e.name.startswith(TMP_PREFIX):
                    with contextlib.suppress(OSError):
                        if now - e.stat().st_mtime > STALE_TMP_SECONDS:
                            os.unlink(e.path)
        stats.append(
            CompactStats(
                name=str(meta.get("name", "?")),
                fingerprint=folder.name,
                shards_before=len(shards),
                shards_after=len(_list_shards(folder)),
                n_vectors=n,
                bytes_freed=max(0, before - _folder_bytes(folder)),
            )
        )
    return stats
