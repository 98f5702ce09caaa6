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

The shard format and the per-folder index live in :mod:`embeddings._cache_store`;
:func:`cache_info`, :func:`clear_cache` and :func:`compact` in
:mod:`embeddings._cache_admin` (all importable from here).

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
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._cache_admin import CacheInfo, CompactStats, cache_info, clear_cache, compact
from embeddings._cache_dirs import default_cache_dir
from embeddings._cache_store import (
    CACHE_FORMAT,
    CACHE_FORMAT_VERSION,
    FINGERPRINT_RE,
    KEY_BYTES,
    CacheWarning,
    ShardStore,
    resolve_dir,
)
from embeddings._encode_args import EncodeMixin
from embeddings._params import store_params
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


# --------------------------------------------------------------------- keys
def text_key(text: str) -> bytes:
    """The cache key of one text: sha256 of its UTF-8 bytes (lone surrogates allowed).

    Example:
        >>> text_key("a cat").hex()[:16]
        '51e4674156077982'
    """
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


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
        store_params(self, locals())

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
        if not FINGERPRINT_RE.match(fp):
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
        return resolve_dir(self.cache_dir) / self.fingerprint()

    def count_missing(self, texts: Sequence[str]) -> int:
        """How many distinct ``texts`` the cache does not hold yet (what ``encode``
        would compute).

        Example:
            >>> import tempfile, embeddings
            >>> with tempfile.TemporaryDirectory() as d:
            ...     enc = CachedEncoder(embeddings.load("glove-6b-50d"), cache_dir=d)
            ...     _ = enc.encode(["a cat"])
            ...     enc.count_missing(["a cat", "a dog", "a dog"])
            1
        """
        store = self._store_for(self.fingerprint())
        store.refresh()
        keys = {text_key(t) for t in validate_texts(texts)}
        return sum(store.index.get(k) is None for k in keys)

    # ----------------------------------------------------------------- encode
    def _store_for(self, fingerprint: str) -> ShardStore:
        folder = resolve_dir(self.cache_dir) / fingerprint
        stores: dict[tuple[str, str], ShardStore] = self.__dict__.setdefault("_stores", {})
        key = (os.fspath(folder), fingerprint)
        store = stores.get(key)
        if store is None:
            store = stores[key] = ShardStore(folder, fingerprint)
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
        keys = list(map(text_key, texts_list))
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
