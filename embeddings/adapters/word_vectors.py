"""Pooled word vectors (GloVe, word2vec, fastText) behind the Encoder interface.

A text is split into whitespace chunks (by Arrow, deduplicated per batch), each
distinct chunk is tokenized with the shared regular expression
(:mod:`embeddings.adapters._tokenize`; results are cached, so each distinct chunk
is tokenized once per encoder), and every token is looked up in the vocabulary:
the exact form, then (with ``lowercase=False``) the lowercase form, then fastText
subword vectors when the source has them; other tokens are skipped.  Weighted
averages are two sparse products, ``(chunks x words) @ table`` and then
``(texts x chunks) @ chunk vectors``: there is no Python loop over words, chunks
or texts at vector time.  ``n_jobs=2`` splits large batches across processes
(identical results).

Poolings (the ``pooling`` parameter):

* ``mean``: the average of the word vectors.
* ``tfidf``: the IDF-weighted average, IDF fitted on the training texts
  (``ln((1 + n) / (1 + df)) + 1``, as scikit-learn's smooth IDF).
* ``sif``: Arora et al. (2017): ``a / (a + p(w))`` weights, ``p(w)`` from the training
  texts (``word_freq="train"``) or from ``wordfreq``, then the projection on the
  first principal component of the *training* text vectors is removed.
* ``usif``: Ethayarajh (2018): ``a`` derived from the vocabulary size and the mean
  training text length, unit-length word vectors, weights ``a / (a/2 + p(w))``, and
  removal of 5 principal components weighted by their explained variance.
* ``max``: the element-wise maximum.
* ``pmean``: concatenated power means (Rücklé et al. 2018), ``powers=(1, "max", "min")``
  by default: ``len(powers) * dim`` outputs.

``tfidf``, ``sif`` and ``usif`` must be fitted on training texts (``fit``); the
others need no fit.  A text without any known token is a zero vector (never NaN),
and the number of such texts is reported in one ``RuntimeWarning`` per ``encode``.

Example:
    >>> from embeddings.adapters.word_vectors import WordVectorEncoder
    >>> enc = WordVectorEncoder(source="glove-6b-50d", pooling="mean")
    >>> enc.encode(["the cat sat on the mat"]).shape
    (1, 50)
"""

from __future__ import annotations

import itertools
import math
import os
import re
import warnings
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from embeddings._checks import check_bool, check_int, check_optional_int
from embeddings.adapters._tokenize import _TOKEN_RE
from embeddings.base import BaseEncoder, check_meta, check_state_arrays
from embeddings.errors import InvalidParameterError, ModelFormatError, UnknownWordError
from embeddings.formats.table import Subwords, VectorTable

__all__ = [
    "WordVectorEncoder",
    "TrainedWordVectorEncoder",
    "Pooling",
    "WordFreq",
    "pack_vocab",
    "unpack_vocab",
]

Pooling = Literal["mean", "tfidf", "sif", "usif", "max", "pmean"]
WordFreq = Literal["train", "wordfreq"]
_POOLINGS: tuple[str, ...] = ("mean", "tfidf", "sif", "usif", "max", "pmean")
_FITTED_POOLINGS: tuple[str, ...] = ("tfidf", "sif", "usif")
_LINEAR_POOLINGS: tuple[str, ...] = ("mean", "tfidf", "sif", "usif")
_FORMATS = (
    "auto",
    "native",
    "word2vec-text",
    "word2vec-binary",
    "glove-text",
    "fasttext-vec",
    "fasttext-bin",
    "gensim",
)
_MISSING = -1  # chunk not yet in the cache
_CACHE_LIMIT = 2_000_000  # distinct chunks kept before the cache is reset
_PARALLEL_MIN = 4096  # texts per batch before n_jobs > 1 splits it across processes

#: the characters of a text that a word-vector encoder reads (encode and fit); the
#: rest of a longer text is cut off before tokenizing
MAX_INPUT_CHARACTERS = 1_000_000
#: the most entries of ``powers`` (the ``pmean`` output has ``len(powers) * dim`` columns)
MAX_POWERS = 16
#: the largest integer power of ``powers``
MAX_POWER = 100
#: the most principal components that ``sif``/``usif`` remove (``n_components``)
MAX_COMPONENTS = 10_000
#: the most processes of ``n_jobs`` (never more than the CPUs are started)
MAX_JOBS = 256


def _truncate(texts: list[str]) -> list[str]:
    """``texts`` with each one cut to its first :data:`MAX_INPUT_CHARACTERS` characters.

    The list is returned as it is when no text is longer.
    """
    limit = MAX_INPUT_CHARACTERS
    if max(map(len, texts), default=0) <= limit:
        return texts
    return [t[:limit] if len(t) > limit else t for t in texts]


def pack_vocab(vocab: Sequence[str]) -> np.ndarray:
    """Encode a word list as a uint8 array (UTF-8, newline-separated) for safetensors."""
    return np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8).copy()


def unpack_vocab(packed: np.ndarray, count: int) -> list[str]:
    """Inverse of :func:`pack_vocab`."""
    if count == 0:
        return []
    try:
        words = bytes(np.asarray(packed, dtype=np.uint8)).decode("utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise ModelFormatError(
            f"stored vocabulary (array 'vocab_utf8') is not UTF-8 (invalid byte at offset "
            f"{err.start})"
        ) from None
    if len(words) != count:
        raise ModelFormatError(f"stored vocabulary has {len(words)} words, expected {count}")
    return words


#: the ``source`` that ``save`` writes for vectors given as a Python object: their
#: content sha256; the vectors themselves go into the saved state
_VECTORS_MARKER = "vectors_sha256"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


def _is_keyed_vectors(obj: object) -> bool:
    """A gensim ``KeyedVectors``, or a gensim model holding one in ``.wv``.

    Duck-typed, so that gensim is never imported to answer.
    """
    if obj is None or isinstance(obj, (str, bytes, os.PathLike, dict, BaseEncoder)):
        return False
    kv = getattr(obj, "wv", obj)
    return hasattr(kv, "index_to_key") and hasattr(kv, "vectors")


def _is_vectors_marker(obj: object) -> bool:
    return (
        isinstance(obj, dict)
        and set(obj) == {_VECTORS_MARKER}
        and isinstance(obj[_VECTORS_MARKER], str)
        and _SHA256_RE.match(obj[_VECTORS_MARKER]) is not None
    )


def _table_state(table: VectorTable) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A vector table as saved-state arrays and metadata."""
    arrays: dict[str, np.ndarray] = {
        "vectors": np.asarray(table.vectors, dtype=np.float32),
        "vocab_utf8": pack_vocab(table.vocab),
    }
    meta: dict[str, Any] = {"n_words": len(table.vocab)}
    if table.counts is not None:
        arrays["counts"] = np.asarray(table.counts, dtype=np.int64)
    if table.subwords is not None:
        arrays["ngrams"] = np.asarray(table.subwords.vectors, dtype=np.float32)
        meta["min_n"] = table.subwords.min_n
        meta["max_n"] = table.subwords.max_n
    return arrays, meta


def _table_from_state(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> VectorTable:
    """The vector table written by :func:`_table_state` (arrays already checked)."""
    subwords = None
    if "ngrams" in arrays:
        subwords = Subwords(
            np.asarray(arrays["ngrams"], dtype=np.float32), int(meta["min_n"]), int(meta["max_n"])
        )
    return VectorTable(
        unpack_vocab(arrays["vocab_utf8"], int(meta["n_words"])),
        np.asarray(arrays["vectors"], dtype=np.float32),
        subwords=subwords,
        counts=arrays.get("counts"),
    )


def _check_subword_meta(
    arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], owner: str
) -> None:
    """Saved subword vectors need ``1 <= min_n <= max_n <= 32`` and at least one bucket.

    ``min_n``/``max_n`` reach gensim's n-gram hashing, which takes C integers; the
    bound is :data:`embeddings.training.trainers.MAX_SUBWORD_N`.
    """
    from embeddings.training.trainers import MAX_SUBWORD_N

    if "ngrams" not in arrays:
        return
    if "min_n" not in meta or "max_n" not in meta:
        raise ModelFormatError(f"{owner}: subword vectors need state fields min_n, max_n")
    min_n, max_n = meta["min_n"], meta["max_n"]
    if not 1 <= min_n <= max_n <= MAX_SUBWORD_N or arrays["ngrams"].shape[0] < 1:
        raise ModelFormatError(
            f"{owner}: subwords need 1 <= min_n <= max_n <= {MAX_SUBWORD_N} and at least one "
            f"bucket, got min_n={min_n!r:.30}, max_n={max_n!r:.30}, "
            f"{arrays['ngrams'].shape[0]} buckets"
        )


class _Growable:
    """An int64 array that grows by doubling (amortised O(1) appends)."""

    def __init__(self) -> None:
        self.buf = np.zeros(256, dtype=np.int64)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self.size + values.size
        if end > self.buf.size:
            grown = np.zeros(max(end, 2 * self.buf.size), dtype=np.int64)
            grown[: self.size] = self.buf[: self.size]
            self.buf = grown
        self.buf[self.size : end] = values
        self.size = end

    @property
    def data(self) -> np.ndarray:
        return self.buf[: self.size]


class _VocabIndex:
    """Word -> row, and the chunk-cache seed: the words the tokenizer keeps whole.

    A word made only of ``\\w`` characters is always one token; the few others are
    kept when ``_TOKEN_RE.fullmatch`` accepts them, which for this pattern holds
    exactly when ``findall(word) == [word]`` (an alternative that matches only a
    prefix leaves a character that no later alternative can span).
    """

    __slots__ = ("__weakref__", "base_chunks", "index")

    def __init__(self, table: VectorTable) -> None:
        self.index: dict[str, int] = table.index()
        chunks = dict(self.index)
        odd = [w for w, ok in zip(self.index, map(str.isalnum, self.index)) if not ok]
        for w, m in zip(odd, map(_TOKEN_RE.fullmatch, odd)):
            if m is None:
                del chunks[w]
        self.base_chunks = chunks


#: shared between encoders of the same vectors (clones in a grid search, the runner):
#: building the two 400k-word dicts costs ~0.3 s; entries vanish with their last user
_VOCAB_INDEXES: weakref.WeakValueDictionary[str, _VocabIndex] = weakref.WeakValueDictionary()


def _identity(resource: str) -> str | None:
    """A resource id that names the vectors' content, or None (then nothing is shared)."""
    return resource if resource and not resource.endswith(":") else None


#: vector tables (vocabulary and read-only arrays) shared between encoders of the same
#: vectors, keyed by content identity: fifty parts of a concatenation over one vector
#: set hold one table; entries vanish with their last user
_TABLES: weakref.WeakValueDictionary[str, VectorTable] = weakref.WeakValueDictionary()


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it is read-only, else a read-only view of it.

    A view leaves the owner of the data (a gensim ``KeyedVectors``, say) writable.
    """
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def _frozen_table(table: VectorTable) -> VectorTable:
    """``table`` with read-only vectors, subword vectors and counts (no copy)."""
    subwords = table.subwords
    if subwords is not None and subwords.vectors.flags.writeable:
        subwords = Subwords(_read_only(subwords.vectors), subwords.min_n, subwords.max_n)
    counts = None if table.counts is None else _read_only(table.counts)
    if (
        not table.vectors.flags.writeable
        and subwords is table.subwords
        and (counts is None or counts is table.counts)
    ):
        return table
    return VectorTable(
        table.vocab,
        _read_only(table.vectors),
        subwords=subwords,
        source=table.source,
        counts=counts,
    )


def _shared_table(key: str | None, make: Any) -> VectorTable:
    """The read-only table shared under ``key``, built by ``make()`` when none is held.

    Without a key (vectors that have no content identity) the table is not shared.
    """
    if not key:
        return _frozen_table(make())
    found = _TABLES.get(key)
    if found is None:
        found = _frozen_table(make())
        _TABLES[key] = found
    return found


def _vocab_index(table: VectorTable, key: str | None) -> _VocabIndex:
    """The :class:`_VocabIndex` of ``table``, shared under ``key`` (content identity)."""
    if not key:
        return _VocabIndex(table)
    full_key = f"{key}|{len(table.vocab)}"
    found = _VOCAB_INDEXES.get(full_key)
    if found is None:
        found = _VocabIndex(table)
        _VOCAB_INDEXES[full_key] = found
    return found


class _ChunkBatch(NamedTuple):
    """The whitespace chunks of a batch of texts, deduplicated."""

    codes: np.ndarray  #: one chunk-cache code per distinct chunk
    which: np.ndarray  #: the distinct chunk of every occurrence, in text order
    text: np.ndarray  #: the text of every occurrence
    n: int  #: number of texts


class _Lookup:
    """Chunk -> vocabulary row ids, with per-chunk caching and fastText OOV rows.

    A chunk is a whitespace-separated piece of text.  Codes in the chunk cache:
    ``>= 0`` the chunk is one known token with that row id; ``<= -2`` the chunk is
    multi-token entry ``k = -2 - code``, whose row ids (possibly none) are
    ``multi_ids[multi_off[k] : multi_off[k] + multi_len[k]]``.  Row ids ``>= n_vocab``
    are rows of :attr:`extra` (subword vectors of OOV tokens).  New chunks are
    tokenized in bulk (one C-level ``map`` of the regex over them), so no Python
    code runs per token or per chunk occurrence.
    """

    def __init__(
        self, table: VectorTable, *, lowercase: bool, subwords: bool, key: str | None = None
    ) -> None:
        self.n_vocab = len(table.vocab)
        self.dim = table.dim
        self.vocab_index = _vocab_index(table, key)  # kept alive while this lookup lives
        self.index = self.vocab_index.index
        self._base_chunks = self.vocab_index.base_chunks
        self.lowercase = lowercase
        self.subwords: Subwords | None = table.subwords if subwords else None
        self.reset()

    def reset(self) -> None:
        #: codes of the chunks met so far that the shared ``_base_chunks`` lacks
        self.chunks: dict[str, int] = {}
        self.multi_ids = _Growable()
        self.multi_off = _Growable()
        self.multi_len = _Growable()
        self.oov_rows: dict[str, int] = {}
        self.extra = np.zeros((0, self.dim), dtype=np.float32)
        self._n_extra = 0

    def _token_id(self, tok: str) -> int:
        """Row id of a token not found as is: lowercase form, then fastText subwords."""
        i = None if self.lowercase else self.index.get(tok.lower())
        if i is None and self.subwords is not None:
            i = self.oov_rows.get(tok)
            if i is None:
                vec = self.subwords.vector(tok)
                if vec is None:
                    return -1
                if self._n_extra == self.extra.shape[0]:
                    grown = np.zeros((max(64, 2 * self._n_extra), self.dim), dtype=np.float32)
                    grown[: self._n_extra] = self.extra[: self._n_extra]
                    self.extra = grown
                self.extra[self._n_extra] = vec
                i = self.n_vocab + self._n_extra
                self._n_extra += 1
                self.oov_rows[tok] = i
        return -1 if i is None else i

    def _add_chunks(self, new: list[str]) -> None:
        """Tokenize distinct new chunks and add their codes to the cache."""
        tokens = list(map(_TOKEN_RE.findall, new))
        n_tok = np.fromiter(map(len, tokens), dtype=np.int64, count=len(new))
        flat = list(itertools.chain.from_iterable(tokens))
        ids = np.fromiter(
            map(self.index.get, flat, itertools.repeat(-1)), dtype=np.int64, count=len(flat)
        )
        unknown = np.flatnonzero(ids < 0)
        if unknown.size and (not self.lowercase or self.subwords is not None):
            ids[unknown] = [self._token_id(flat[i]) for i in unknown.tolist()]
        known = ids >= 0
        owner = np.repeat(np.arange(len(new), dtype=np.int64), n_tok)[known]
        ids = ids[known]  # in chunk order, then token order
        n_known = np.bincount(owner, minlength=len(new))
        first = np.cumsum(n_known) - n_known
        one = n_known == 1
        codes = np.empty(len(new), dtype=np.int64)
        codes[one] = ids[first[one]]
        multi = np.flatnonzero(~one)
        codes[multi] = -2 - (self.multi_len.size + np.arange(multi.size, dtype=np.int64))
        m_len = n_known[multi]
        self.multi_off.extend(self.multi_ids.size + np.cumsum(m_len) - m_len)
        self.multi_len.extend(m_len)
        self.multi_ids.extend(ids[~one[owner]])
        self.chunks.update(zip(new, codes.tolist()))

    def extra_rows(self) -> np.ndarray:
        return self.extra[: self._n_extra]

    def lookup(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Row ids of all known tokens and the text index of each, in text order."""
        return self.tokens(self.chunk_batch(texts))

    def chunk_batch(self, texts: list[str]) -> _ChunkBatch:
        """The chunks of ``texts``: cache codes of the distinct ones, and each occurrence.

        Texts are lowercased in Python (``str.lower``), split on whitespace by
        Arrow's ``utf8_split_whitespace`` (the same whitespace as ``str.split``; a
        test checks every code point), and the chunks are deduplicated by
        ``dictionary_encode``: only the distinct chunks of a batch meet the Python
        chunk cache.  Texts that UTF-8 cannot encode (lone surrogates) take a pure
        Python split, which gives the same result.
        """
        if len(self.chunks) > _CACHE_LIMIT:
            self.reset()
        import pyarrow as pa
        import pyarrow.compute as pc

        lowered = [t.lower() for t in texts] if self.lowercase else texts
        try:
            arr = pa.array(lowered, type=pa.large_string())
        except (UnicodeEncodeError, pa.ArrowException):
            return self._chunk_batch_python(lowered)
        lists = pc.utf8_split_whitespace(arr)
        encoded = pc.dictionary_encode(pc.list_flatten(lists))
        distinct: list[str] = encoded.dictionary.to_pylist()
        chunk_text = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        return _ChunkBatch(
            self._codes(distinct),
            encoded.indices.to_numpy(zero_copy_only=False),
            chunk_text.astype(np.int64, copy=False),
            len(texts),
        )

    def _chunk_batch_python(self, lowered: list[str]) -> _ChunkBatch:
        """:meth:`chunk_batch` without Arrow, for texts that UTF-8 cannot encode."""
        per_text = [t.split() for t in lowered]
        lens = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        flat = list(itertools.chain.from_iterable(per_text))
        chunk_text = np.repeat(np.arange(len(per_text), dtype=np.int64), lens)
        return _ChunkBatch(self._codes(flat), np.arange(len(flat)), chunk_text, len(lowered))

    def _codes(self, chunks: list[str]) -> np.ndarray:
        """Cache codes of ``chunks``, adding the chunks not seen before.

        The words the tokenizer keeps whole come from the shared ``_base_chunks``
        (never copied per encoder); other chunks from this lookup's own ``chunks``.
        """
        get = self._base_chunks.get
        codes = np.fromiter(
            map(get, chunks, itertools.repeat(_MISSING)), dtype=np.int64, count=len(chunks)
        )
        missing = np.flatnonzero(codes == _MISSING)
        if missing.size:
            rest = [chunks[i] for i in missing.tolist()]
            own = self.chunks
            new = [c for c in dict.fromkeys(rest) if c not in own]
            if new:
                self._add_chunks(new)
            codes[missing] = np.fromiter(
                map(own.__getitem__, rest), dtype=np.int64, count=missing.size
            )
        return codes

    def distinct_tokens(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row ids of the distinct chunks ``codes``, concatenated, and their counts."""
        neg = np.flatnonzero(codes < 0)
        if neg.size == 0:
            return codes, np.ones(codes.size, dtype=np.int64)
        k = -2 - codes[neg]
        m_len = self.multi_len.data[k]
        lens = np.ones(codes.size, dtype=np.int64)
        lens[neg] = m_len
        offsets = np.cumsum(lens) - lens
        flat = np.empty(int(lens.sum()), dtype=np.int64)
        single = np.flatnonzero(codes >= 0)
        flat[offsets[single]] = codes[single]
        src = np.repeat(self.multi_off.data[k], m_len) + _ranges(m_len)
        flat[np.repeat(offsets[neg], m_len) + _ranges(m_len)] = self.multi_ids.data[src]
        return flat, lens

    def tokens(self, batch: _ChunkBatch) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and text ids of every token occurrence of ``batch``, in text order."""
        flat, lens = self.distinct_tokens(batch.codes)
        if flat is batch.codes:  # every chunk is one known token
            return flat[batch.which], batch.text
        counts = lens[batch.which]
        starts = (np.cumsum(lens) - lens)[batch.which]
        pos = np.repeat(starts, counts) + _ranges(counts)
        return flat[pos], np.repeat(batch.text, counts)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(k) for k in lengths])`` without a Python loop."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if ends.size else 0, dtype=np.int64) - np.repeat(
        ends - lengths, lengths
    )


def _mp_methods() -> list[str]:
    import multiprocessing

    return multiprocessing.get_all_start_methods()


def _serve(encoder: WordVectorEncoder, conn: Any) -> None:
    """Worker loop: encode the texts received with the forked snapshot of ``encoder``."""
    while True:
        try:
            texts = conn.recv()
        except EOFError:
            return
        if texts is None:
            return
        try:
            conn.send(("ok", *encoder._encode_local(texts)))
        except BaseException as err:  # report to the parent, keep serving
            conn.send(("error", f"{type(err).__name__}: {err}", 0))


class _Worker:
    """One forked process that encodes part of a large batch."""

    def __init__(self, encoder: WordVectorEncoder) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(encoder, child), daemon=True)
        self.process.start()
        child.close()

    def send(self, texts: list[str]) -> None:
        self.conn.send(texts)

    def receive(self) -> tuple[np.ndarray, int]:
        from embeddings.errors import EncodingError

        try:
            status, payload, n_empty = self.conn.recv()
        except EOFError:
            raise EncodingError("a word-vector worker process died; retry with n_jobs=1") from None
        if status != "ok":
            raise EncodingError(f"word-vector worker failed: {payload}")
        return payload, n_empty

    def close(self) -> None:
        try:
            self.conn.send(None)
        except (OSError, ValueError):
            pass
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=5)
        self.conn.close()


class WordVectorEncoder(BaseEncoder):
    """Pooled word vectors from an embedded set, a vector file, or a native store.

    A text is read up to its first :data:`MAX_INPUT_CHARACTERS` (1,000,000)
    characters, by ``encode`` and ``fit`` alike; the rest is cut off before
    tokenizing (``input_limit()``).  Encoders of the same vectors (same embedded set,
    same store, same content sha256) share one read-only vector table and one
    vocabulary index in a process.

    Args:
        source: an embedded vector set (``"glove-6b-50d"``), a path to a vector
            file (word2vec text/binary, GloVe text, fastText ``.vec``/``.bin``,
            gensim native) or a native store folder, or a gensim ``KeyedVectors``
            (or a model with ``.wv``) in memory.  Files are converted once to a
            native store (see :func:`embeddings.formats.load_vectors`); vectors given
            in memory are written into the encoder's saved state by ``save`` (no
            pickle), and its parameters and fingerprint name them by content sha256.
        format: the file format, ``"auto"`` to detect it.
        pooling: ``mean``, ``tfidf``, ``sif``, ``usif``, ``max`` or ``pmean``.
        lowercase: lowercase text before lookup (GloVe 6B is lowercase); with
            ``False`` the exact form is tried first, then the lowercase form.
        subwords: build vectors for unknown words from fastText subwords when the
            source has them.
        sif_a: the ``a`` of SIF weights ``a / (a + p(w))``.
        word_freq: where ``p(w)`` comes from for ``sif``/``usif``: ``"train"`` (token
            counts of the texts passed to ``fit``) or ``"wordfreq"`` (the ``wordfreq``
            package's English frequencies).
        n_components: principal components removed by ``sif``/``usif`` (``None``: 1
            for sif, 5 for usif; ``0`` disables removal); at most
            :data:`MAX_COMPONENTS` (10,000).
        powers: the power means of ``pmean``: integers from 1 to :data:`MAX_POWER`
            (100) and ``"max"``/``"min"``, at most :data:`MAX_POWERS` (16) entries.
        trust_pickle: allow gensim native (pickle) files as ``source``.  A decision of
            the caller only: ``save`` does not write it, a saved folder that sets it is
            refused, and an encoder that reads a pickle cannot be saved.
        n_jobs: processes used for large batches (``batch_size >= 4096``; POSIX
            ``fork`` only).  ``-1`` uses every CPU; at most :data:`MAX_JOBS` (256), and
            never more processes than CPUs are started.  The output is bit-identical
            to ``n_jobs=1``: each text's vector depends on that text only.

    Example:
        >>> enc = WordVectorEncoder(pooling="mean")
        >>> float(abs(enc.encode(["zzzqqq"])).sum())   # all out of vocabulary -> zeros
        0.0
        >>> WordVectorEncoder(pooling="pmean").dim
        150
    """

    family = "word_vectors"
    max_input_length = MAX_INPUT_CHARACTERS  # linear cost: a generous cap
    max_input_unit = "characters"
    sort_by_length = False  # no padding: batches are input-order slices
    min_batch_size = 16384  # the cost is per batch (Arrow calls, one sparse product)
    # 3: chunk-level sparse pooling (rounding differs); 4: surrogates reach the lookup
    # as U+FFFD (BaseEncoder's input policy), a vocabulary that holds U+FFFD serves them
    adapter_version = "4"
    loads_versions = ("2", "3")  # same saved state
    caller_only_params = ("trust_pickle",)
    path_params = ("source",)
    transient = (
        "_table",
        "_lookup",
        "_resource",
        "_n_empty",
        "_inv_norms",
        "_vectors_view",
        "_workers",
        "_kv_converted",
        "_kv_export",
    )

    def __init__(
        self,
        source: str = "glove-6b-50d",
        *,
        format: str = "auto",
        pooling: Pooling = "mean",
        lowercase: bool = True,
        subwords: bool = True,
        sif_a: float = 1e-3,
        word_freq: WordFreq = "train",
        n_components: int | None = None,
        powers: Sequence[int | str] = (1, "max", "min"),
        trust_pickle: bool = False,
        n_jobs: int = 1,
    ) -> None:
        self.source = source
        self.format = format
        self.pooling = pooling
        self.lowercase = lowercase
        self.subwords = subwords
        self.sif_a = sif_a
        self.word_freq = word_freq
        self.n_components = n_components
        self.powers = powers
        self.trust_pickle = trust_pickle
        self.n_jobs = n_jobs

    # ------------------------------------------------------------ properties
    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """``True`` for the poolings learned from training texts (tfidf, sif, usif)."""
        return self.pooling in _FITTED_POOLINGS

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Same as :attr:`requires_fit` here; corpus-trained subclasses are always trainable."""
        return self.pooling in _FITTED_POOLINGS

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        source = getattr(self, "source", "glove-6b-50d")
        in_memory = _is_keyed_vectors(source) or _is_vectors_marker(source)
        if not in_memory and (not isinstance(source, (str, os.PathLike)) or not str(source)):
            raise InvalidParameterError(
                "source must be an embedded vector set name, a path to a vector file or "
                f"store, or a gensim KeyedVectors, got {type(source).__name__} ({source!r:.60})"
            )
        if self.pooling not in _POOLINGS:
            raise InvalidParameterError(
                f"pooling must be one of {list(_POOLINGS)}, got {self.pooling!r}"
            )
        if getattr(self, "format", "auto") not in _FORMATS:
            raise InvalidParameterError(
                f"format must be one of {list(_FORMATS)}, got {self.format!r}"
            )
        for name in ("lowercase", "subwords"):
            check_bool(name, getattr(self, name))
        if (
            isinstance(self.sif_a, bool)
            or not isinstance(self.sif_a, (int, float))
            or not math.isfinite(self.sif_a)
            or self.sif_a <= 0
        ):
            raise InvalidParameterError(f"sif_a must be a number > 0, got {self.sif_a!r}")
        if self.word_freq not in ("train", "wordfreq"):
            raise InvalidParameterError(
                f"word_freq must be 'train' or 'wordfreq', got {self.word_freq!r}"
            )
        k = check_optional_int("n_components", self.n_components, minimum=0)
        if k is not None and k > MAX_COMPONENTS:
            raise InvalidParameterError(
                f"n_components must be None or an int from 0 to {MAX_COMPONENTS}, got {k}"
            )
        if k and self.pooling not in ("sif", "usif"):
            raise InvalidParameterError(
                f"n_components applies to pooling 'sif' or 'usif' only, got pooling="
                f"{self.pooling!r} with n_components={k}"
            )
        self._parsed_powers()
        nj = self.n_jobs
        if (
            isinstance(nj, bool)
            or not isinstance(nj, (int, np.integer))
            or nj == 0
            or nj < -1
            or nj > MAX_JOBS
        ):
            raise InvalidParameterError(
                f"n_jobs must be -1 or an int from 1 to {MAX_JOBS}, got {nj!r}"
            )

    def _parsed_powers(self) -> list[int | str]:
        powers = self.powers
        if isinstance(powers, (str, bytes)) or not isinstance(powers, Sequence) or not powers:
            raise InvalidParameterError(
                f"powers must be a non-empty list of integers >= 1 and 'max'/'min', got "
                f"{powers!r:.80}"
            )
        if len(powers) > MAX_POWERS:
            raise InvalidParameterError(
                f"powers may have at most {MAX_POWERS} entries, got {len(powers)}"
            )
        out: list[int | str] = []
        for p in powers:
            if isinstance(p, str) and p in ("max", "min"):
                out.append(p)
            elif (
                not isinstance(p, (bool, np.bool_))
                and isinstance(p, (int, float, np.integer, np.floating))
                and 1 <= p <= MAX_POWER
                and float(p).is_integer()
            ):
                out.append(int(p))
            else:
                raise InvalidParameterError(
                    f"powers entries must be integers from 1 to {MAX_POWER} or 'max'/'min', got "
                    f"{p!r:.40} in {powers!r:.80}"
                )
        return out

    def _n_components(self) -> int:
        if self.n_components is not None:
            return int(self.n_components)
        return {"sif": 1, "usif": 5}.get(str(self.pooling), 0)

    # ----------------------------------------------------------------- load
    def _load_table(self) -> VectorTable | None:
        """The vector table of ``source`` (subclasses that train their own return it)."""
        check_bool("trust_pickle", self.trust_pickle)
        from embeddings.formats.embedded import EMBEDDED_SOURCES, embedded_version, load_embedded

        if _is_keyed_vectors(self.source):
            table, digest = self._keyed_table()
            self._resource = "sha256:" + digest
            return table  # a view of the caller's object: shared with its clones only
        if _is_vectors_marker(self.source):  # the vectors come from a saved state
            self._resource = "sha256:" + self.source[_VECTORS_MARKER]
            saved = self.__dict__.get("_saved_vectors")
            if saved is None:
                return None
            # checked against that sha256 when the folder was read: a content identity
            return _shared_table(f"saved:{self._resource}", lambda: saved)
        if not isinstance(self.source, (str, os.PathLike)) or not str(self.source):
            raise InvalidParameterError(
                f"source must be an embedded vector set {sorted(EMBEDDED_SOURCES)} or a path, "
                f"got {self.source!r}"
            )
        if str(self.source) in EMBEDDED_SOURCES:
            name = str(self.source)
            self._resource = embedded_version(name)
            return _shared_table(
                f"embedded:{name}|{self._resource}",
                lambda: VectorTable(*load_embedded(name), source=name),
            )
        path = Path(self.source)
        if not path.exists():
            raise InvalidParameterError(
                f"source {str(self.source)!r} is neither an embedded vector set "
                f"{sorted(EMBEDDED_SOURCES)} nor an existing file or store folder"
            )
        from embeddings.formats import load_vectors, store_config

        table = load_vectors(path, format=self.format, trust_pickle=self.trust_pickle)
        self._resource = "sha256:" + str(store_config(table.source).get("sha256", ""))
        identity = _identity(self._resource)
        # the store folder is part of the key: a store is only ever shared with itself
        key = identity and f"store:{table.source}|{identity}|{len(table.vocab)}x{table.dim}"
        return _shared_table(key, lambda: table)

    def _load(self) -> None:
        self._validate()
        self._resource = ""
        table = self._load_table()
        self._table = table
        self._inv_norms = None
        self._vectors_view = None
        self._lookup = (
            None
            if table is None
            else _Lookup(
                table,
                lowercase=bool(self.lowercase),
                subwords=bool(self.subwords),
                key=_identity(self._resource),  # embedded version or the store's sha256
            )
        )

    def _resource_id(self) -> str:
        self._ensure_loaded()
        return str(self.__dict__.get("_resource", ""))

    def _output_dim(self) -> int:
        dim = self._require_table().dim
        return dim * len(self._parsed_powers()) if self.pooling == "pmean" else dim

    def _require_table(self) -> VectorTable:
        table = self.__dict__.get("_table")
        if table is None:
            from embeddings.errors import NotFittedError

            if _is_vectors_marker(getattr(self, "source", None)):
                raise NotFittedError(
                    f"{self.name}: its vectors ({self.source}) are stored in the folder it was "
                    "saved to; open that folder with embeddings.load(folder)"
                )
            raise NotFittedError(f"{self.name} has no word vectors yet: call .fit(texts) first")
        return table

    # ------------------------------------------------------- vectors in memory
    def _holds_vectors(self) -> bool:
        """Whether the vectors were given as an object (or restored from a saved state)."""
        source = getattr(self, "source", None)
        return _is_keyed_vectors(source) or _is_vectors_marker(source)

    def _stores_state(self) -> bool:
        return self._holds_vectors()

    def _keyed_table(self) -> tuple[VectorTable, str]:
        """The table of a KeyedVectors ``source`` and its content sha256 (once per object)."""
        kv = self.source
        inner = getattr(kv, "wv", kv)
        vectors = getattr(inner, "vectors", None)
        address = vectors.__array_interface__["data"][0] if isinstance(vectors, np.ndarray) else 0
        key = (id(kv), len(inner.index_to_key), getattr(vectors, "shape", None), address)
        cached = self.__dict__.get("_kv_converted")
        if cached is None or cached[0] != key:
            from embeddings.formats.gensim_kv import table_from_keyed_vectors
            from embeddings.formats.native import content_sha256

            table = _frozen_table(table_from_keyed_vectors(kv, source="KeyedVectors"))
            cached = (key, table, content_sha256(table))
            self._kv_converted = cached
        return cached[1], cached[2]

    def _json_params(self) -> dict[str, Any]:
        if not _is_keyed_vectors(getattr(self, "source", None)):
            return super()._json_params()
        from embeddings.base import _jsonable

        params = dict(self.get_params(deep=False))
        params["source"] = {_VECTORS_MARKER: self._keyed_table()[1]}
        return {
            k: _jsonable(v, where=f"{type(self).__name__}.{k}") for k, v in sorted(params.items())
        }

    def __sklearn_clone__(self) -> WordVectorEncoder:
        """A clone that shares vectors held in memory, as clones share a vector file.

        A ``KeyedVectors`` source is passed on as the same object (with its converted
        table), never deep-copied; vectors restored from a saved state are shared too.
        """
        source = getattr(self, "source", None)
        if not _is_keyed_vectors(source):
            new = super().__sklearn_clone__()
            saved = self.__dict__.get("_saved_vectors")
            if saved is not None and _is_vectors_marker(new.source) and new.source == source:
                new._saved_vectors = saved  # a read-only table
            return new
        from sklearn.base import clone

        params = {
            k: v if k == "source" else clone(v, safe=False)
            for k, v in self.get_params(deep=False).items()
        }
        new = type(self)(**params)
        if "_kv_converted" in self.__dict__:
            new._kv_converted = self._kv_converted
        return new

    # ------------------------------------------------------------------ fit
    def _fit(self, texts: list[str]) -> None:
        self._fit_pooling(texts)

    def _word_probabilities(self, ids: np.ndarray) -> tuple[np.ndarray, int]:
        """p(w) for every vocabulary row, and the size of the frequency vocabulary."""
        table = self._require_table()
        n_vocab = len(table.vocab)
        if self.word_freq == "wordfreq":
            from embeddings._deps import require

            wordfreq = require("wordfreq", extra="models")
            freqs = wordfreq.get_frequency_dict("en", wordlist="best")
            get = freqs.get
            p = np.fromiter(
                (get(w, 0.0) if self.lowercase else get(w.lower(), 0.0) for w in table.vocab),
                dtype=np.float64,
                count=n_vocab,
            )
            return p, len(freqs)
        known = ids[ids < n_vocab]
        counts = np.bincount(known, minlength=n_vocab).astype(np.float64)
        total = counts.sum()
        p = counts / total if total > 0 else counts
        return p, int(np.count_nonzero(counts))

    def _fit_pooling(self, texts: list[str]) -> None:
        """Fit IDF / SIF / uSIF weights and principal components on training texts."""
        self._components = None
        self._component_weights = None
        self._weights = None
        self._oov_weight = 1.0
        if self.pooling not in _FITTED_POOLINGS:
            return
        texts = _truncate(texts)
        lookup = self._lookup
        if lookup is None:
            self._require_table()  # raises: no vectors to fit on
        assert lookup is not None
        n_vocab = lookup.n_vocab
        batch = lookup.chunk_batch(texts)
        ids, rows = lookup.tokens(batch)
        n = len(texts)
        if self.pooling == "tfidf":
            known = ids < n_vocab
            pairs = np.unique(rows[known] * n_vocab + ids[known])
            df = np.bincount(pairs % n_vocab, minlength=n_vocab).astype(np.float64)
            idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
            self._weights = idf.astype(np.float32)
            self._oov_weight = float(np.log(1.0 + n) + 1.0)
            return
        p, v = self._word_probabilities(ids)
        if self.pooling == "sif":
            a = float(self.sif_a)
            self._weights = (a / (a + p)).astype(np.float32)
            self._oov_weight = 1.0
            self._sif_a_fitted = a
        else:  # usif
            lengths = np.bincount(rows, minlength=n)
            mean_len = max(1, round(float(lengths.mean()))) if n else 1
            v = max(v, 1)
            threshold = 1.0 - (1.0 - 1.0 / v) ** mean_len
            alpha = max(float(np.count_nonzero(p > threshold)) / v, 1.0 / v)
            a = (1.0 - alpha) / (alpha * 0.5 * v)
            p_known = p[p > 0]
            p_min = float(p_known.min()) if p_known.size else 0.0
            p = np.where(p > 0, p, p_min)
            self._weights = (a / (0.5 * a + p)).astype(np.float32)
            self._oov_weight = float(a / (0.5 * a + p_min))
            self._sif_a_fitted = a
        k = self._n_components()
        if k == 0:
            return
        x = self._pool(batch)[0].astype(np.float64)
        k = min(k, x.shape[0], x.shape[1])
        if k == 0:
            return
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        comps = vt[:k]
        # a deterministic sign: the largest-magnitude entry of each component is positive
        signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
        comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
        self._components = comps.astype(np.float32)
        if self.pooling == "usif":
            energy = s[:k] ** 2
            total = float(energy.sum())
            lam = energy / total if total > 0 else np.zeros(k)
            self._component_weights = lam.astype(np.float32)
        else:
            self._component_weights = np.ones(k, dtype=np.float32)

    # ---------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays: dict[str, np.ndarray] = {}
        meta: dict[str, Any] = {}
        if self._holds_vectors():
            self._ensure_loaded()
            arrays, meta = _table_state(self._require_table())
        if self.pooling in _FITTED_POOLINGS:
            arrays["token_weights"] = np.asarray(self._weights, dtype=np.float32)
            meta["oov_weight"] = float(self._oov_weight)
            if self.__dict__.get("_components") is not None:
                arrays["components"] = np.asarray(self._components, dtype=np.float32)
                arrays["component_weights"] = np.asarray(self._component_weights, np.float32)
        return arrays, meta

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if _is_vectors_marker(getattr(self, "source", None)):
            checked = self.__dict__.pop("_checked_table", None)
            if checked is not None and checked[0] == self.source[_VECTORS_MARKER]:
                self._saved_vectors = checked[1]
            else:
                self._saved_vectors = _table_from_state(arrays, meta)
            self._load()
        self._weights = None
        self._components = None
        self._component_weights = None
        self._oov_weight = float(meta.get("oov_weight", 1.0))
        if "token_weights" in arrays:
            weights = np.asarray(arrays["token_weights"], dtype=np.float32)
            n_vocab = len(self._require_table().vocab)
            if weights.shape != (n_vocab,):
                raise ModelFormatError(
                    f"saved token weights have shape {weights.shape}, expected ({n_vocab},) "
                    "for this vocabulary"
                )
            self._weights = weights
        if "components" in arrays:
            self._components = np.asarray(arrays["components"], dtype=np.float32)
            self._component_weights = np.asarray(arrays["component_weights"], dtype=np.float32)

    def _pooling_state_spec(
        self, n_vocab: int, dim: int
    ) -> tuple[dict[str, tuple[str, tuple[int | None, ...]]], dict[str, str], tuple[str, ...]]:
        """Arrays, metadata fields and optional names of the fitted pooling state."""
        if self.pooling not in _FITTED_POOLINGS:
            return {}, {}, ()
        arrays: dict[str, tuple[str, tuple[int | None, ...]]] = {
            "token_weights": ("float32", (n_vocab,)),
            "components": ("float32", (None, dim)),
            "component_weights": ("float32", (None,)),
        }
        return arrays, {"oov_weight": "number"}, ("components", "component_weights")

    def _check_pooling_state(
        self, arrays: Mapping[str, np.ndarray], n_components: int | None
    ) -> None:
        """Components and their weights come together, at most ``n_components`` of them."""
        owner = f"saved {type(self).__name__} state"
        if ("components" in arrays) != ("component_weights" in arrays):
            raise ModelFormatError(
                f"{owner}: 'components' and 'component_weights' must be stored together"
            )
        if "components" in arrays:
            k = arrays["components"].shape[0]
            if arrays["component_weights"].shape != (k,):
                raise ModelFormatError(
                    f"{owner}: array 'component_weights' has shape "
                    f"{arrays['component_weights'].shape}, expected ({k},) (one per component)"
                )
            if n_components is not None and not 1 <= k <= n_components:
                raise ModelFormatError(
                    f"{owner}: {k} principal components stored, expected 1 to {n_components} "
                    f"for pooling {self.pooling!r}"
                )

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        if _is_vectors_marker(getattr(self, "source", None)):
            self._check_vectors_state(arrays, meta)
            return
        table = self._require_table()
        owner = f"saved {type(self).__name__} state"
        spec, fields, optional = self._pooling_state_spec(len(table.vocab), table.dim)
        check_state_arrays(arrays, spec, optional=optional, owner=owner)
        check_meta(meta, fields, owner=owner)
        self._check_pooling_state(arrays, self._n_components() or None)

    def _check_vectors_state(
        self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]
    ) -> None:
        """Check a saved state that holds the vectors, and that they match ``source``'s sha256."""
        from embeddings.formats.native import content_sha256

        owner = f"saved {type(self).__name__} state"
        n = meta.get("n_words")
        vecs = arrays.get("vectors")
        dim = int(vecs.shape[1]) if vecs is not None and vecs.ndim == 2 else 1
        spec, fields, optional = self._pooling_state_spec(n if isinstance(n, int) else 0, dim)
        check_meta(
            meta,
            {"n_words": "int", "min_n": "int", "max_n": "int", **fields},
            optional=("min_n", "max_n"),
            owner=owner,
        )
        n = int(meta["n_words"])
        if n < 1:
            raise ModelFormatError(f"{owner}: n_words must be >= 1, got {n}")
        check_state_arrays(
            arrays,
            {
                "vectors": ("float32", (n, None)),
                "vocab_utf8": ("uint8", (None,)),
                "counts": ("int64", (n,)),
                "ngrams": ("float32", (None, dim)),
                **spec,
            },
            optional=("counts", "ngrams", *optional),
            owner=owner,
        )
        if dim < 1:
            raise ModelFormatError(f"{owner}: array 'vectors' has no columns")
        _check_subword_meta(arrays, meta, owner)
        self._check_pooling_state(arrays, self._n_components() or None)
        table = _table_from_state(arrays, meta)
        digest = content_sha256(table)
        if digest != self.source[_VECTORS_MARKER]:
            raise ModelFormatError(
                f"{owner}: the stored vectors have sha256 {digest}, but params.source names "
                f"{self.source[_VECTORS_MARKER]}; the folder was altered after save"
            )
        self._checked_table = (digest, table)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the encoder to the folder ``path`` (see :meth:`BaseEncoder.save`).

        Raises:
            InvalidParameterError: the vectors come from a gensim pickle: a saved
                folder never asks to unpickle; convert the vectors first.

        Example:
            >>> import tempfile
            >>> WordVectorEncoder().save(tempfile.mkdtemp() + "/enc").name
            'enc'
        """
        if self._reads_pickle():
            raise InvalidParameterError(
                f"{self.name} reads a gensim pickle ({self.source}) and cannot be saved: a saved "
                "folder never makes its loader unpickle. Convert the vectors first, e.g. "
                "WordVectorEncoder.from_keyed_vectors(KeyedVectors.load(path)) or "
                "kv.save_word2vec_format(path), and save an encoder of the converted vectors"
            )
        return super().save(path)

    def _reads_pickle(self) -> bool:
        """Whether ``source`` is a gensim native (pickle) file."""
        from embeddings.formats.embedded import EMBEDDED_SOURCES

        source = getattr(self, "source", None)
        if not isinstance(source, (str, os.PathLike)) or str(source) in EMBEDDED_SOURCES:
            return False
        if self.format == "gensim":
            return True
        if self.format != "auto" or not Path(source).exists():
            return False
        from embeddings.formats import detect_format

        try:
            return detect_format(source) == "gensim"
        except ModelFormatError:
            return False

    # --------------------------------------------------------------- encode
    def _token_weights(self, ids: np.ndarray) -> np.ndarray | None:
        weights = self.__dict__.get("_weights")
        if weights is None:
            return None
        n_vocab = weights.shape[0]
        out = np.full(ids.shape, self._oov_weight, dtype=np.float32)
        known = ids < n_vocab
        out[known] = weights[ids[known]]
        return out

    def _unit_scale(self, ids: np.ndarray) -> np.ndarray:
        """1 / ||v|| per token (uSIF uses unit-length word vectors)."""
        table = self._require_table()
        inv = self.__dict__.get("_inv_norms")
        if inv is None:
            norms = np.linalg.norm(np.asarray(table.vectors, dtype=np.float32), axis=1)
            inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0).astype(np.float32)
            self._inv_norms = inv
        out = np.empty(ids.shape, dtype=np.float32)
        known = ids < inv.shape[0]
        out[known] = inv[ids[known]]
        if (~known).any():
            assert self._lookup is not None
            extra = self._lookup.extra_rows()[ids[~known] - inv.shape[0]]
            en = np.linalg.norm(extra, axis=1)
            out[~known] = np.where(en > 0, 1.0 / np.maximum(en, 1e-30), 0.0)
        return out

    def _vector_array(self) -> np.ndarray:
        """The table as a plain ndarray view (memmap fancy indexing is slow)."""
        arr = self.__dict__.get("_vectors_view")
        if arr is None:
            arr = np.asarray(self._require_table().vectors, dtype=np.float32).view(np.ndarray)
            self._vectors_view = arr
        return arr

    def _gather(self, ids: np.ndarray) -> np.ndarray:
        table = self._require_table()
        n_vocab = len(table.vocab)
        if ids.size and ids.max() >= n_vocab:
            assert self._lookup is not None
            out = np.empty((ids.size, table.dim), dtype=np.float32)
            known = ids < n_vocab
            out[known] = self._vector_array()[ids[known]]
            out[~known] = self._lookup.extra_rows()[ids[~known] - n_vocab]
            return out
        return self._vector_array()[ids]

    def _pool(self, batch: _ChunkBatch) -> tuple[np.ndarray, int]:
        """Pooled vectors of a batch (before component removal), and its empty texts."""
        if self.pooling in _LINEAR_POOLINGS:
            return self._pool_linear(batch)
        assert self._lookup is not None
        ids, rows = self._lookup.tokens(batch)
        counts = np.bincount(rows, minlength=batch.n)
        return self._pool_tokens(ids, rows, counts), batch.n - int(np.count_nonzero(counts))

    def _pool_linear(self, batch: _ChunkBatch) -> tuple[np.ndarray, int]:
        """Weighted averages as two sparse products, without touching every token.

        ``C = D @ E``: one row per distinct chunk of the batch, the weighted sum of its
        tokens' vectors (``D[chunk, word]`` the weights, ``E`` the used table rows);
        then ``A @ C`` with ``A[text, chunk] = scale(text)`` for each occurrence, the
        scale being ``1/len`` (mean, sif, usif) or ``1/sum of idf`` (tfidf).  Each row
        depends on its own text only, so the result does not depend on the batching.
        """
        assert self._lookup is not None
        n = batch.n
        dim = self._require_table().dim
        flat, lens = self._lookup.distinct_tokens(batch.codes)
        n_tokens = np.bincount(batch.text, weights=lens[batch.which], minlength=n)
        n_empty = n - int(np.count_nonzero(n_tokens))
        if flat.size == 0:
            return np.zeros((n, dim), dtype=np.float32), n_empty
        weights = self._token_weights(flat)
        if self.pooling == "usif":
            scale = self._unit_scale(flat)
            weights = scale if weights is None else weights * scale
        if weights is None:
            weights = np.ones(flat.size, dtype=np.float32)
        present = np.zeros(int(flat.max()) + 1, dtype=bool)
        present[flat] = True
        used = np.flatnonzero(present)
        cols = (np.cumsum(present) - 1)[flat]  # rank of each id among the used rows
        n_distinct = batch.codes.size
        d_ptr = np.concatenate(([0], np.cumsum(lens)))
        d = sp.csr_matrix((weights, cols, d_ptr), shape=(n_distinct, used.size))
        per_chunk = np.asarray(d @ self._gather(used), dtype=np.float32)
        if self.pooling == "tfidf":
            chunk_weight = np.bincount(
                np.repeat(np.arange(n_distinct), lens), weights=weights, minlength=n_distinct
            )
            totals = np.bincount(batch.text, weights=chunk_weight[batch.which], minlength=n)
        else:
            totals = n_tokens
        scale = np.where(totals > 0, 1.0 / np.maximum(totals, 1e-300), 0.0).astype(np.float32)
        a_ptr = np.concatenate(([0], np.cumsum(np.bincount(batch.text, minlength=n))))
        a = sp.csr_matrix((scale[batch.text], batch.which, a_ptr), shape=(n, n_distinct))
        return np.asarray(a @ per_chunk, dtype=np.float32), n_empty

    def _pool_tokens(self, ids: np.ndarray, rows: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """``max`` and ``pmean`` pooling over the token occurrences."""
        n = counts.size
        dim = self._require_table().dim
        powers = ["max"] if self.pooling == "max" else self._parsed_powers()
        out = np.zeros((n, dim * len(powers)), dtype=np.float32)
        nonempty = np.flatnonzero(counts)
        if nonempty.size == 0:
            return out
        starts = (np.cumsum(counts) - counts)[nonempty]
        gathered = self._gather(ids)
        for j, p in enumerate(powers):
            cols = slice(j * dim, (j + 1) * dim)
            if p == "max":
                out[nonempty, cols] = np.maximum.reduceat(gathered, starts, axis=0)
            elif p == "min":
                out[nonempty, cols] = np.minimum.reduceat(gathered, starts, axis=0)
            else:
                k = int(p)
                g = gathered.astype(np.float64)
                sums = np.add.reduceat(g if k == 1 else g**k, starts, axis=0)
                means = sums / counts[nonempty][:, None]
                if k > 1:
                    means = np.sign(means) * np.abs(means) ** (1.0 / k)
                out[nonempty, cols] = means
        return out

    def _remove_components(self, x: np.ndarray) -> np.ndarray:
        comps = self.__dict__.get("_components")
        if comps is None:
            return x
        c = comps.astype(np.float64)
        lam = np.asarray(self._component_weights, dtype=np.float64)
        x64 = x.astype(np.float64)
        # element-wise products + a per-row sum: independent of the batch composition
        proj = (x64[:, None, :] * c[None, :, :]).sum(axis=2) * lam[None, :]
        removal = (proj[:, :, None] * c[None, :, :]).sum(axis=1)
        return (x64 - removal).astype(np.float32)

    def _encode_local(self, texts: list[str]) -> tuple[np.ndarray, int]:
        lookup = self._lookup
        if lookup is None:
            self._require_table()
        assert lookup is not None
        pooled, n_empty = self._pool(lookup.chunk_batch(texts))
        return self._remove_components(pooled), n_empty

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        texts = _truncate(texts)
        workers = self._start_workers() if len(texts) >= _PARALLEL_MIN else []
        if not workers:
            out, n_empty = self._encode_local(texts)
            self._n_empty += n_empty
            return out
        bounds = np.linspace(0, len(texts), len(workers) + 2).astype(int).tolist()
        for worker, lo, hi in zip(workers, bounds[1:-1], bounds[2:]):
            worker.send(texts[lo:hi])
        parts = [self._encode_local(texts[: bounds[1]])]
        parts.extend(worker.receive() for worker in workers)
        self._n_empty += sum(n_empty for _, n_empty in parts)
        return np.concatenate([vecs for vecs, _ in parts])

    def _start_workers(self) -> list[_Worker]:
        workers = self.__dict__.get("_workers")
        if workers is not None:
            return workers
        cpus = os.cpu_count() or 1
        n_jobs = cpus if self.n_jobs == -1 else min(int(self.n_jobs), cpus)
        workers = []
        if n_jobs > 1 and "fork" in _mp_methods():
            workers = [_Worker(self) for _ in range(n_jobs - 1)]
        self._workers = workers
        return workers

    def _stop_workers(self) -> None:
        for worker in self.__dict__.get("_workers") or []:
            worker.close()
        self._workers = None

    def _on_encode_start(self) -> None:
        self._stop_workers()  # workers are forked per encode call, after any fit
        self._n_empty = 0

    def _on_encode_end(self) -> None:
        self._stop_workers()
        if self._n_empty:
            warnings.warn(
                f"{self.name}: {self._n_empty} text(s) had no in-vocabulary token and were "
                "encoded as zero vectors",
                RuntimeWarning,
                stacklevel=3,
            )

    # --------------------------------------------------------------- access
    def token_ids(self, text: str) -> list[int]:
        """Row ids of the known tokens of ``text`` (OOV tokens skipped; fastText OOV
        words get ids ``>= len(vocabulary)``)."""
        self._ensure_loaded()
        self._require_table()
        assert self._lookup is not None
        ids, _ = self._lookup.lookup([text])
        return ids.tolist()

    def get_vocabulary(self) -> list[str]:
        """The vocabulary, in table order."""
        self._ensure_loaded()
        return list(self._require_table().vocab)

    def get_vectors(self) -> np.ndarray:
        """The (vocabulary x dim) float32 table (read-only, possibly memory-mapped)."""
        self._ensure_loaded()
        return self._require_table().vectors

    def get_table(self) -> VectorTable:
        """The vocabulary, vectors and subwords as a :class:`VectorTable`."""
        self._ensure_loaded()
        return self._require_table()

    # -------------------------------------------------------- interoperability
    def to_keyed_vectors(self) -> Any:
        """Export the word-vector table as a gensim ``KeyedVectors`` (a copy).

        Example:
            >>> kv = WordVectorEncoder().to_keyed_vectors()
            >>> kv.vector_size
            50
        """
        from embeddings.formats.gensim_kv import table_to_keyed_vectors

        return table_to_keyed_vectors(self.get_table())

    def keyed_vectors(self) -> Any:
        """The word vectors as a gensim ``KeyedVectors``, for gensim's own tools.

        A ``KeyedVectors`` given as ``source`` is returned as it is (a model's
        ``.wv``); otherwise the table is copied once (subword vectors are left out)
        and the copy is kept while the parameters stay the same.

        Example:
            >>> kv = WordVectorEncoder().wv
            >>> kv.vector_size, kv.most_similar("king", topn=1)[0][0]
            (50, 'prince')
        """
        source = getattr(self, "source", None)
        if _is_keyed_vectors(source):
            return source if hasattr(source, "index_to_key") else source.wv
        self._ensure_loaded()
        table = self._require_table()
        cached = self.__dict__.get("_kv_export")
        if cached is None or cached[0] is not table:
            from embeddings.formats.gensim_kv import table_to_keyed_vectors

            cached = (table, table_to_keyed_vectors(table))
            self._kv_export = cached
        return cached[1]

    @property
    def wv(self) -> Any:
        """The word vectors as a gensim ``KeyedVectors`` (see :meth:`keyed_vectors`)."""
        return self.keyed_vectors()

    def _word_vector(self, word: str) -> tuple[int | None, np.ndarray]:
        """(row, vector) of ``word``: lowercase when the encoder lowercases, then the
        lowercase form, then fastText subwords (row ``None``)."""
        table = self._require_table()
        assert self._lookup is not None
        index = self._lookup.index
        key = word.lower() if self.lowercase else word
        row = index.get(key)
        if row is None and not self.lowercase:
            row = index.get(word.lower())
        if row is not None:
            return row, self._vector_array()[row]
        if self.subwords and table.subwords is not None:
            vec = table.subwords.vector(key)
            if vec is not None:
                return None, vec
        how = " (looked up lowercased)" if self.lowercase else ""
        raise UnknownWordError(
            f"word {word!r} is not in the vocabulary of {self.name} ({len(table.vocab)} "
            f"words){how}; pass a vector of dimension {table.dim} instead"
        )

    def most_similar(
        self, word_or_vector: str | np.ndarray | Sequence[float], topn: int = 10
    ) -> list[tuple[str, float]]:
        """The ``topn`` words whose vectors are closest (cosine) to a word or a vector.

        As gensim's ``KeyedVectors.most_similar``: a word is left out of its own
        neighbours; equal scores are ordered by vocabulary row.

        Args:
            word_or_vector: a word (looked up as ``encode`` looks up tokens, fastText
                subwords included) or a vector of the word-vector dimension.
            topn: number of neighbours.

        Returns:
            ``(word, cosine)`` pairs, most similar first.

        Raises:
            UnknownWordError: a word without a vector (a ``KeyError``).
            InvalidParameterError: ``topn`` is not an int >= 1, or the vector has the
                wrong shape.

        Example:
            >>> enc = WordVectorEncoder()
            >>> [w for w, _ in enc.most_similar("king", topn=3)]
            ['prince', 'queen', 'ii']
        """
        check_int("topn", topn)
        self._ensure_loaded()
        table = self._require_table()
        if isinstance(word_or_vector, str):
            row, query = self._word_vector(word_or_vector)
        else:
            row = None
            query = np.asarray(word_or_vector, dtype=np.float32)
            if query.shape != (table.dim,) or not np.isfinite(query).all():
                raise InvalidParameterError(
                    f"most_similar takes a word or a finite vector of shape ({table.dim},), got "
                    f"shape {query.shape}"
                )
        vectors = self._vector_array()
        self._unit_scale(np.zeros(0, dtype=np.int64))  # computes the cached 1/||v|| per row
        norm = float(np.linalg.norm(query))
        scores = (vectors @ query.astype(np.float32)) * self._inv_norms
        scores = scores / norm if norm > 0 else np.zeros_like(scores)
        if row is not None:
            scores[row] = -np.inf
        k = min(int(topn), len(table.vocab) - (row is not None))
        if k <= 0:
            return []
        if k < scores.size:
            threshold = np.partition(scores, scores.size - k)[scores.size - k]
            ids = np.flatnonzero(scores >= threshold)
        else:
            ids = np.arange(scores.size)
        ids = ids[np.lexsort((ids, -scores[ids]))][:k]
        return [(table.vocab[i], float(scores[i])) for i in ids]

    def save_word2vec_format(self, path: str | os.PathLike[str], *, binary: bool = False) -> Path:
        """Write the word-vector table in word2vec text (or binary) format.

        Example:
            >>> import tempfile, os
            >>> enc = WordVectorEncoder()
            >>> p = enc.save_word2vec_format(os.path.join(tempfile.mkdtemp(), "v.bin"),
            ...                              binary=True)  # doctest: +SKIP
        """
        from embeddings.formats.binary import write_word2vec_binary
        from embeddings.formats.text import write_word2vec_text

        table = self.get_table()
        if binary:
            write_word2vec_binary(path, table.vocab, table.vectors)
        else:
            write_word2vec_text(path, table.vocab, table.vectors)
        return Path(path)

    @classmethod
    def from_keyed_vectors(
        cls,
        kv: Any,
        *,
        store_dir: str | os.PathLike[str] | None = None,
        **params: Any,
    ) -> WordVectorEncoder:
        """Build an encoder from a gensim ``KeyedVectors`` (or a model with ``.wv``) via a store.

        ``embeddings.load("word-vectors", source=kv)`` keeps the vectors in memory and
        in the saved folder instead.  Here the vectors are written once to a native
        store (``store_dir``, or a folder under :func:`embeddings.formats.store_root`
        named by their content hash), and
        the encoder's ``source`` is that folder, so the encoder stays a plain set of
        JSON parameters that saves, clones and fingerprints like any other.

        Args:
            kv: ``KeyedVectors``, ``FastTextKeyedVectors`` (subwords kept), or a model.
            store_dir: where to write the store.
            **params: other constructor parameters (``pooling`` ...).

        Example:
            >>> import numpy as np, tempfile
            >>> from gensim.models import KeyedVectors
            >>> kv = KeyedVectors(2); kv.add_vectors(["hi", "there"], np.eye(2))
            >>> enc = WordVectorEncoder.from_keyed_vectors(kv, store_dir=tempfile.mkdtemp() + "/s")
            >>> enc.encode(["hi there"]).tolist()
            [[0.5, 0.5]]
        """
        from embeddings.formats.gensim_kv import table_from_keyed_vectors
        from embeddings.formats.native import content_sha256, is_store, store_root, write_store

        if "source" in params or "format" in params:
            raise InvalidParameterError(
                "from_keyed_vectors sets source and format itself; pass the other parameters"
            )
        table = table_from_keyed_vectors(kv, source="KeyedVectors")
        digest = content_sha256(table)
        folder = Path(store_dir) if store_dir is not None else store_root() / f"kv-{digest[:16]}"
        if not is_store(folder):
            write_store(folder, table, source={"keyed_vectors": type(kv).__name__})
        return cls(source=str(folder), format="native", **params)


class TrainedWordVectorEncoder(WordVectorEncoder):
    """Word vectors trained on your own texts (word2vec CBOW/skip-gram or fastText), pooled.

    ``fit(texts)`` trains on the given texts (then fits the pooling, if it needs
    fitting); :meth:`fit_corpus` trains on a text file or folder streamed from disk.
    Training is deterministic for a given corpus and ``random_state`` with
    ``workers=1`` (the default).  The trained table is saved with ``save`` (safetensors,
    no pickle) and can be exported with :meth:`to_keyed_vectors` or
    :meth:`save_word2vec_format`.

    Args:
        algorithm: ``"word2vec"`` or ``"fasttext"`` (subword vectors for unknown words).
        sg: skip-gram (``True``) or CBOW (``False``).
        vector_size: dimension of the word vectors (1 to 10,000).
        window: context window (1 to 1,000).
        min_count: ignore words rarer than this (use 1 for tiny corpora; at most 2**31 - 1).
        epochs: passes over the corpus (1 to 1,000).
        negative: negative samples (1 to 100).
        sample: down-sampling threshold of frequent words (0 to 1).
        min_n: shortest character n-gram (fastText; 1 to 32).
        max_n: longest character n-gram (fastText; ``min_n`` to 32).
        bucket: number of n-gram hash buckets (fastText; 1 to 10,000,000, and the
            n-gram table, ``bucket x vector_size`` float32, at most 4 GiB).
        random_state: seed of the weights and of negative sampling (0 to 2**32 - 1).
        workers: training threads (1 to 64); only ``1`` is bit-reproducible.
        pooling: see :class:`WordVectorEncoder`.
        lowercase: lowercase texts for training and lookup.
        subwords: use fastText subwords for unknown words at encode time.
        sif_a: see :class:`WordVectorEncoder`.
        word_freq: see :class:`WordVectorEncoder`.
        n_components: see :class:`WordVectorEncoder`.
        powers: see :class:`WordVectorEncoder`.
        n_jobs: see :class:`WordVectorEncoder`.

    The bounds are those of :mod:`embeddings.training.trainers`
    (:func:`~embeddings.training.trainers.check_training_params`), checked by
    ``_validate``, so also for every saved folder before anything is trained or read.

    Example:
        >>> enc = TrainedWordVectorEncoder(vector_size=8, min_count=1, epochs=2)
        >>> enc.fit(["a cat sat", "a dog ran", "the cat ran"]).encode(["a cat"]).shape
        (1, 8)
    """

    adapter_version = "3"  # 2: chunk-level sparse pooling; 3: surrogates as U+FFFD
    loads_versions = ("1", "2")  # same saved state
    transient = (*WordVectorEncoder.transient,)

    def __init__(
        self,
        algorithm: Literal["word2vec", "fasttext"] = "word2vec",
        *,
        sg: bool = False,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        epochs: int = 5,
        negative: int = 5,
        sample: float = 1e-3,
        min_n: int = 3,
        max_n: int = 6,
        bucket: int = 200_000,
        random_state: int = 0,
        workers: int = 1,
        pooling: Pooling = "mean",
        lowercase: bool = True,
        subwords: bool = True,
        sif_a: float = 1e-3,
        word_freq: WordFreq = "train",
        n_components: int | None = None,
        powers: Sequence[int | str] = (1, "max", "min"),
        n_jobs: int = 1,
    ) -> None:
        self.algorithm = algorithm
        self.sg = sg
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.epochs = epochs
        self.negative = negative
        self.sample = sample
        self.min_n = min_n
        self.max_n = max_n
        self.bucket = bucket
        self.random_state = random_state
        self.workers = workers
        self.pooling = pooling
        self.lowercase = lowercase
        self.subwords = subwords
        self.sif_a = sif_a
        self.word_freq = word_freq
        self.n_components = n_components
        self.powers = powers
        self.n_jobs = n_jobs

    @property
    def requires_fit(self) -> bool:  # type: ignore[override]
        """Always ``True``: the vectors are learned by ``fit``."""
        return True

    @property
    def trainable(self) -> bool:  # type: ignore[override]
        """Always ``True``."""
        return True

    def _validate(self) -> None:
        super()._validate()
        if self.algorithm not in ("word2vec", "fasttext"):
            raise InvalidParameterError(
                f"algorithm must be 'word2vec' or 'fasttext', got {self.algorithm!r}"
            )
        from embeddings.training.trainers import check_training_params

        names = (
            *("vector_size", "window", "min_count", "epochs", "negative", "min_n"),
            *("max_n", "workers", "sample", "random_state"),
        )
        check_training_params(**{name: getattr(self, name) for name in names})
        if self.algorithm == "fasttext":  # the n-gram table: bucket x vector_size
            check_training_params(bucket=self.bucket, vector_size=self.vector_size)
        else:  # unused by word2vec, bounded all the same
            check_training_params(bucket=self.bucket)
        check_bool("sg", self.sg)

    def _resource_id(self) -> str:
        return ""

    def _load_table(self) -> VectorTable | None:
        return self.__dict__.get("_trained")

    def _install(self, table: VectorTable) -> None:
        table = _frozen_table(table)
        self._trained = table
        self._table = table
        self._vectors_view = None
        self._inv_norms = None
        self._lookup = _Lookup(table, lowercase=bool(self.lowercase), subwords=bool(self.subwords))

    def _train(self, corpus: Any, progress: bool) -> None:
        from embeddings.training.trainers import train_word_vectors

        table, info = train_word_vectors(
            corpus,
            algorithm=self.algorithm,
            sg=bool(self.sg),
            vector_size=int(self.vector_size),
            window=int(self.window),
            min_count=int(self.min_count),
            epochs=int(self.epochs),
            negative=int(self.negative),
            sample=float(self.sample),
            min_n=int(self.min_n),
            max_n=int(self.max_n),
            bucket=int(self.bucket),
            random_state=int(self.random_state),
            workers=int(self.workers),
            progress=progress,
        )
        self._install(table)
        self.training_info_ = info.as_dict()

    def _fit(self, texts: list[str]) -> None:
        from embeddings.training.corpus import TextCorpus

        self._train(TextCorpus(texts, lowercase=bool(self.lowercase)), progress=False)
        self._fit_pooling(texts)

    def fit_corpus(
        self,
        corpus: str | os.PathLike[str] | Sequence[str],
        *,
        progress: bool = False,
        max_pooling_texts: int = 200_000,
    ) -> TrainedWordVectorEncoder:
        """Train on a text file or folder of ``*.txt`` files, streamed line by line.

        Args:
            corpus: a file, a folder (``**/*.txt``, ``raw/`` folders skipped), or texts.
            progress: show a progress bar per epoch.
            max_pooling_texts: for ``tfidf``/``sif``/``usif`` pooling, the weights are
                fitted on the first this-many corpus lines.

        Returns:
            self
        """
        from embeddings.training.corpus import TextCorpus

        self._ensure_loaded()
        stream = TextCorpus(corpus, lowercase=bool(self.lowercase))
        self._train(stream, progress=progress)
        if self.pooling in _FITTED_POOLINGS:
            sample = list(itertools.islice(stream.lines(), int(max_pooling_texts)))
            self._fit_pooling(sample)
        else:
            self._fit_pooling([])
        self._fitted_for = self._fit_key()
        self._state_digest = None
        return self

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = super()._get_state()
        table = self._require_table()
        arrays["vectors"] = np.asarray(table.vectors, dtype=np.float32)
        arrays["vocab_utf8"] = pack_vocab(table.vocab)
        if table.counts is not None:
            arrays["counts"] = np.asarray(table.counts, dtype=np.int64)
        meta["n_words"] = len(table.vocab)
        if table.subwords is not None:
            arrays["ngrams"] = np.asarray(table.subwords.vectors, dtype=np.float32)
            meta["min_n"] = table.subwords.min_n
            meta["max_n"] = table.subwords.max_n
        info = self.__dict__.get("training_info_")
        if info:  # without the wall-clock time: the fingerprint must be reproducible
            meta["training"] = {k: v for k, v in info.items() if k != "seconds"}
        return arrays, meta

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = f"saved {type(self).__name__} state"
        n, dim = meta.get("n_words"), int(self.vector_size)
        pooling_arrays, pooling_fields, pooling_optional = self._pooling_state_spec(
            n if isinstance(n, int) else 0, dim
        )
        fields = {"n_words": "int", "min_n": "int", "max_n": "int", "training": "dict"}
        check_meta(
            meta,
            {**fields, **pooling_fields},
            optional=("min_n", "max_n", "training"),
            owner=owner,
        )
        n = int(meta["n_words"])
        if n < 1:
            raise ModelFormatError(f"{owner}: n_words must be >= 1, got {n}")
        check_state_arrays(
            arrays,
            {
                "vectors": ("float32", (n, dim)),
                "vocab_utf8": ("uint8", (None,)),
                "counts": ("int64", (n,)),
                "ngrams": ("float32", (None, dim)),
                **pooling_arrays,
            },
            optional=("counts", "ngrams", *pooling_optional),
            owner=owner,
        )
        _check_subword_meta(arrays, meta, owner)
        if "counts" in arrays and (arrays["counts"] < 0).any():
            raise ModelFormatError(f"{owner}: array 'counts' holds negative counts")
        self._check_pooling_state(arrays, self._n_components() or None)

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        try:
            vocab = unpack_vocab(arrays["vocab_utf8"], int(meta["n_words"]))
            vectors = np.asarray(arrays["vectors"], dtype=np.float32)
        except KeyError as err:
            raise ModelFormatError(f"saved trained word vectors lack {err}") from None
        subwords = None
        if "ngrams" in arrays:
            subwords = Subwords(
                np.asarray(arrays["ngrams"], dtype=np.float32),
                int(meta["min_n"]),
                int(meta["max_n"]),
            )
        counts = arrays.get("counts")
        self._install(VectorTable(vocab, vectors, subwords=subwords, counts=counts))
        if meta.get("training"):
            self.training_info_ = dict(meta["training"])
        super()._set_state(arrays, meta)
