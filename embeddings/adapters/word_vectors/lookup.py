"""Text to vocabulary rows: the vocabulary index, chunk tokenization and its cache.

A text is split into whitespace chunks (by Arrow, deduplicated per batch), each
distinct chunk is tokenized with the shared regular expression
(:mod:`embeddings.tokenize`; results are cached, so each distinct chunk is
tokenized once per encoder), and every token is looked up in the vocabulary: the
exact form, then (with ``lowercase=False``) the lowercase form, then fastText
subword vectors when the source has them; other tokens are skipped.

Vector tables and vocabulary indexes are shared, read-only, between encoders of the
same vectors (keyed by content identity, held weakly: an entry vanishes with its last
user).
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from embeddings.formats.table import Subwords, VectorTable
from embeddings.tokenize import _TOKEN_RE

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "MAX_INPUT_CHARACTERS",
    "ChunkBatch",
    "Lookup",
    "frozen_table",
    "identity",
    "shared_table",
    "truncate",
]

#: the characters of a text that a word-vector encoder reads (encode and fit); the
#: rest of a longer text is cut off before tokenizing
MAX_INPUT_CHARACTERS = 1_000_000
_MISSING = -1  # chunk not yet in the cache
#: the characters that ``str.split`` splits on besides ASCII space, tab, LF, VT, FF
#: and CR (those that Arrow's ``ascii_split_whitespace`` knows)
_OTHER_SPACES = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")
_CACHE_LIMIT = 2_000_000  # distinct chunks kept before the cache is reset


def truncate(texts: list[str]) -> list[str]:
    """``texts`` with each one cut to its first :data:`MAX_INPUT_CHARACTERS` characters.

    The list is returned as it is when no text is longer.
    """
    limit = MAX_INPUT_CHARACTERS
    if max(map(len, texts), default=0) <= limit:
        return texts
    return [t[:limit] if len(t) > limit else t for t in texts]


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

#: vector tables (vocabulary and read-only arrays) shared between encoders of the same
#: vectors, keyed by content identity: fifty parts of a concatenation over one vector
#: set hold one table; entries vanish with their last user
_TABLES: weakref.WeakValueDictionary[str, VectorTable] = weakref.WeakValueDictionary()


def identity(resource: str) -> str | None:
    """A resource id that names the vectors' content, or None (then nothing is shared)."""
    return resource if resource and not resource.endswith(":") else None


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array`` itself when it is read-only, else a read-only view of it.

    A view leaves the owner of the data (a gensim ``KeyedVectors``, say) writable.
    """
    if not array.flags.writeable:
        return array
    view = array.view()
    view.flags.writeable = False
    return view


def frozen_table(table: VectorTable) -> VectorTable:
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


def shared_table(key: str | None, make: Callable[[], VectorTable]) -> VectorTable:
    """The read-only table shared under ``key``, built by ``make()`` when none is held.

    Without a key (vectors that have no content identity) the table is not shared.
    """
    if not key:
        return frozen_table(make())
    found = _TABLES.get(key)
    if found is None:
        found = frozen_table(make())
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


class ChunkBatch(NamedTuple):
    """The whitespace chunks of a batch of texts, deduplicated."""

    codes: np.ndarray  #: one chunk-cache code per distinct chunk
    which: np.ndarray  #: the distinct chunk of every occurrence, in text order
    text: np.ndarray  #: the text of every occurrence
    n: int  #: number of texts


class Lookup:
    """Chunk -> vocabulary row ids, with per-chunk caching and fastText OOV rows.

    A chunk is a whitespace-separated piece of text.  Codes in the chunk cache:
    ``>= 0`` the chunk is one known token with that row id; ``<= -2`` the chunk is
    multi-token entry ``k = -2 - code``, whose row ids (possibly none) are
    ``multi_ids[multi_off[k] : multi_off[k] + multi_len[k]]``.  Row ids ``>= n_vocab``
    are rows of :attr:`extra` (subword vectors of OOV tokens).  New chunks are
    tokenized in bulk (one C-level ``map`` of the regex over them), so no Python
    code runs per token or per chunk occurrence.  The lookup also serves the vectors
    of row ids (:meth:`gather`) and their inverse norms (:meth:`unit_scale`).
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
        self.table = table
        self._vectors_view: np.ndarray | None = None
        self._inv_norms: np.ndarray | None = None
        self.reset()

    def reset(self) -> None:
        #: codes of the chunks met so far
        self.chunks: dict[str, int] = {}
        self.multi_ids = _Growable()
        self.multi_off = _Growable()
        self.multi_len = _Growable()
        self.oov_rows: dict[str, int] = {}
        self.extra = np.zeros((0, self.dim), dtype=np.float32)
        self._n_extra = 0

    # ------------------------------------------------------------- vectors
    def vector_array(self) -> np.ndarray:
        """The table as a plain ndarray view (memmap fancy indexing is slow)."""
        if self._vectors_view is None:
            self._vectors_view = np.asarray(self.table.vectors, dtype=np.float32).view(np.ndarray)
        return self._vectors_view

    def extra_rows(self) -> np.ndarray:
        return self.extra[: self._n_extra]

    def gather(self, ids: np.ndarray) -> np.ndarray:
        """The vectors of row ids (vocabulary rows and subword rows of OOV tokens)."""
        n_vocab = self.n_vocab
        if ids.size and ids.max() >= n_vocab:
            out = np.empty((ids.size, self.dim), dtype=np.float32)
            known = ids < n_vocab
            out[known] = self.vector_array()[ids[known]]
            out[~known] = self.extra_rows()[ids[~known] - n_vocab]
            return out
        return self.vector_array()[ids]

    def inv_norms(self) -> np.ndarray:
        """1 / ||v|| of every vocabulary row (0 for a zero row), computed once."""
        if self._inv_norms is None:
            norms = np.linalg.norm(np.asarray(self.table.vectors, dtype=np.float32), axis=1)
            inv = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-30), 0.0)
            self._inv_norms = inv.astype(np.float32)
        return self._inv_norms

    def unit_scale(self, ids: np.ndarray) -> np.ndarray:
        """1 / ||v|| per row id (uSIF uses unit-length word vectors)."""
        inv = self.inv_norms()
        out = np.empty(ids.shape, dtype=np.float32)
        known = ids < inv.shape[0]
        out[known] = inv[ids[known]]
        if (~known).any():
            extra = self.extra_rows()[ids[~known] - inv.shape[0]]
            en = np.linalg.norm(extra, axis=1)
            out[~known] = np.where(en > 0, 1.0 / np.maximum(en, 1e-30), 0.0)
        return out

    # -------------------------------------------------------------- tokens
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

    def lookup(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Row ids of all known tokens and the text index of each, in text order."""
        return self.tokens(self.chunk_batch(texts))

    def chunk_batch(self, texts: list[str]) -> ChunkBatch:
        """The chunks of ``texts``: cache codes of the distinct ones, and each occurrence.

        Texts are lowercased as ``str.lower`` does (ASCII texts by Arrow's
        ``ascii_lower``, which agrees with it on ASCII, the others in Python), split
        on whitespace by Arrow (the same whitespace as ``str.split``, see
        :func:`_split_whitespace`; tests check every code point), and the chunks
        are deduplicated by ``dictionary_encode``: only the distinct chunks of a
        batch meet the Python chunk cache.  Texts that UTF-8 cannot encode (lone
        surrogates) take a pure Python split, which gives the same result.
        """
        if len(self.chunks) > _CACHE_LIMIT:
            self.reset()
        import pyarrow as pa
        import pyarrow.compute as pc

        non_ascii = np.flatnonzero(
            ~np.fromiter(map(str.isascii, texts), dtype=bool, count=len(texts))
        ).tolist()
        lowered = texts
        if self.lowercase and non_ascii:
            lowered = list(texts)
            for i in non_ascii:
                lowered[i] = lowered[i].lower()
        try:
            arr = pa.array(lowered, type=pa.large_string())
        except (UnicodeEncodeError, pa.ArrowException):
            return self._chunk_batch_python([t.lower() for t in texts] if self.lowercase else texts)
        if self.lowercase:
            arr = pc.ascii_lower(arr)  # the non-ASCII texts are lowercase already
        lists = _split_whitespace(arr, [lowered[i] for i in non_ascii])
        encoded = pc.dictionary_encode(pc.list_flatten(lists))
        distinct: list[str] = encoded.dictionary.to_pylist()
        chunk_text = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        return ChunkBatch(
            self._codes(distinct),
            encoded.indices.to_numpy(zero_copy_only=False),
            chunk_text.astype(np.int64, copy=False),
            len(texts),
        )

    def _chunk_batch_python(self, lowered: list[str]) -> ChunkBatch:
        """:meth:`chunk_batch` without Arrow, for texts that UTF-8 cannot encode."""
        per_text = [t.split() for t in lowered]
        lens = np.fromiter(map(len, per_text), dtype=np.int64, count=len(per_text))
        flat = list(itertools.chain.from_iterable(per_text))
        chunk_text = np.repeat(np.arange(len(per_text), dtype=np.int64), lens)
        return ChunkBatch(self._codes(flat), np.arange(len(flat)), chunk_text, len(lowered))

    def _codes(self, chunks: list[str]) -> np.ndarray:
        """Cache codes of ``chunks``, adding the chunks not seen before.

        This lookup's own ``chunks`` holds every chunk met so far (a small dict that
        stays in the CPU caches); a chunk met for the first time is looked up in the
        shared ``_base_chunks`` (the words the tokenizer keeps whole, never copied
        whole per encoder), else tokenized.
        """
        own = self.chunks
        codes = np.fromiter(
            map(own.get, chunks, itertools.repeat(_MISSING)), dtype=np.int64, count=len(chunks)
        )
        missing = np.flatnonzero(codes == _MISSING)
        if missing.size:
            rest = [chunks[i] for i in missing.tolist()]
            base = np.fromiter(
                map(self._base_chunks.get, rest, itertools.repeat(_MISSING)),
                dtype=np.int64,
                count=len(rest),
            )
            unknown = np.flatnonzero(base == _MISSING).tolist()
            if unknown:
                self._add_chunks(list(dict.fromkeys([rest[i] for i in unknown])))
            known = np.flatnonzero(base != _MISSING).tolist()
            own.update(zip([rest[i] for i in known], base[known].tolist()))
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

    def tokens(self, batch: ChunkBatch) -> tuple[np.ndarray, np.ndarray]:
        """Row ids and text ids of every token occurrence of ``batch``, in text order."""
        flat, lens = self.distinct_tokens(batch.codes)
        if flat is batch.codes:  # every chunk is one known token
            return flat[batch.which], batch.text
        counts = lens[batch.which]
        starts = (np.cumsum(lens) - lens)[batch.which]
        pos = np.repeat(starts, counts) + _ranges(counts)
        return flat[pos], np.repeat(batch.text, counts)


def _split_whitespace(arr: pa.LargeStringArray, non_ascii: list[str]) -> pa.LargeListArray:
    """``arr`` split on the whitespace of ``str.split`` (empty pieces included).

    Arrow's ``ascii_split_whitespace`` splits on the ASCII whitespace bytes only, and
    UTF-8 puts no ASCII byte inside a multi-byte character, so it gives the result
    of ``utf8_split_whitespace`` whenever no text holds a character of
    :data:`_OTHER_SPACES`; ``non_ascii`` are the texts that hold any non-ASCII
    character, the only ones that can hold one above U+007F.
    """
    import pyarrow.compute as pc

    _, offsets, data = arr.buffers()
    control = False
    if len(arr) and offsets is not None and data is not None:
        ends = np.frombuffer(offsets, dtype=np.int64)[[arr.offset, arr.offset + len(arr)]]
        values = np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[1]]
        control = bool(((values - np.uint8(0x1C)) < 4).any())  # U+001C-U+001F
    if control or any(map(_OTHER_SPACES.search, non_ascii)):
        return pc.utf8_split_whitespace(arr)
    return pc.ascii_split_whitespace(arr)


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(k) for k in lengths])`` without a Python loop."""
    ends = np.cumsum(lengths)
    return np.arange(int(ends[-1]) if ends.size else 0, dtype=np.int64) - np.repeat(
        ends - lengths, lengths
    )
