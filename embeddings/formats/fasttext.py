"""Reader for Facebook fastText ``.bin`` models (word and subword vectors).

The binary model holds the vocabulary vectors *and* the hashed character n-gram
vectors, so out-of-vocabulary words still get a vector (the mean of their n-gram
vectors).  The file is memory-mapped and read here, with the same result as
gensim's ``load_facebook_vectors`` (gensim is used for the n-gram hash only): the
layout (header, dictionary entries, the shapes of both matrices) is first walked
against the file's size without allocating anything, so that a wrong, truncated or
inflated file fails with a clear :class:`~embeddings.errors.ModelFormatError`
naming the byte offset, never with a ``MemoryError`` or an endless read.

Bounds checked before any allocation: ``dim`` at most
:data:`~embeddings.formats._files.MAX_DIM`, at most
:data:`~embeddings.formats._files.MAX_WORDS` words, ``minn``/``maxn`` between 0 and
:data:`~embeddings.formats.table.MAX_SUBWORD_N`, both matrices within the file, and
the n-gram work of building the word vectors (:func:`ngram_work`) within
:data:`NGRAM_BUDGET` plus :data:`NGRAM_BUDGET_PER_BYTE` per byte of the file, so a
small file cannot cost more than a model of its size.  fastText ``.vec`` files are
plain word2vec text (see :mod:`embeddings.formats.text`) and carry no subwords.

Example:
    >>> from embeddings.formats.fasttext import FASTTEXT_MAGIC
    >>> FASTTEXT_MAGIC
    793712314
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings._deps import require
from embeddings.errors import ModelFormatError
from embeddings.formats._files import MAX_DIM, MAX_WORDS, open_regular_file, reading_errors
from embeddings.formats.table import MAX_SUBWORD_N, Subwords, VectorTable
from embeddings.formats.text import _dedupe

__all__ = [
    "FASTTEXT_MAGIC",
    "NGRAM_BUDGET",
    "NGRAM_BUDGET_PER_BYTE",
    "read_fasttext_bin",
    "is_fasttext_bin",
    "ngram_work",
    "write_fasttext_bin",
]

#: the int32 that every fastText binary model starts with
FASTTEXT_MAGIC = 793712314
_SUPPORTED_VERSIONS = (11, 12)
#: the arguments block after magic and version: 12 int32 (dim, ws, epoch, min_count,
#: neg, word_ngrams, loss, model, bucket, minn, maxn, lr_update_rate) and a float64
_ARGS = struct.Struct("<12id")
_DICT_HEAD = struct.Struct("<3iqq")  # size, nwords, nlabels, ntokens, pruneidx_size
_ENTRY_TAIL = 9  # int64 count and int8 type after each NUL-terminated word
_MATRIX_HEAD = struct.Struct("<?qq")  # quantized flag, rows, columns
#: n-gram hashes any model may need to build its word vectors ...
NGRAM_BUDGET = 4_000_000
#: ... plus this many per byte of the file (published models need far less than 1)
NGRAM_BUDGET_PER_BYTE = 1
_GATHER_FLOATS = 1 << 23  # float32 values gathered at a time to sum n-gram vectors
_SHORT_SEGMENT = 64  # words with up to this many rows to sum are summed together


def ngram_work(chars: int, minn: int, maxn: int) -> int:
    """An upper bound of the n-grams fastText hashes for a word of ``chars`` characters.

    The word is wrapped in ``<`` and ``>``; every n-gram of ``max(minn, 1)`` to
    ``maxn`` characters counts once.

    Example:
        >>> ngram_work(3, 3, 6)  # "<cat>": 3 + 2 + 1 n-grams of 3, 4, 5 characters
        6
    """
    c = chars + 2
    lo, hi = max(minn, 1), min(maxn, c)
    if hi < lo:
        return 0
    k = hi - lo + 1
    return k * (c + 1) - (lo + hi) * k // 2


@dataclass
class _Layout:
    dim: int
    bucket: int
    minn: int
    maxn: int
    words: list[str]
    matrix_offset: int  # the first float of the input matrix


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # as gensim: keep the word, escape the bad bytes
        return raw.decode("utf-8", errors="backslashreplace")


def _check_layout(path: Path, data: mmap.mmap | bytes) -> _Layout:
    """Walk a fastText model's structure against its size; nothing large is allocated.

    Raises:
        ModelFormatError: naming the byte offset and what was found there.
    """
    size = len(data)

    def fail(offset: int, problem: str) -> ModelFormatError:
        return ModelFormatError(f"{path}: byte offset {offset}: {problem} ({size} bytes in all)")

    pos = 8
    if size < pos + _ARGS.size + _DICT_HEAD.size:
        raise fail(size, "truncated inside the header; expected the model arguments and dictionary")
    args = _ARGS.unpack_from(data, pos)
    dim, bucket, minn, maxn = args[0], args[8], args[9], args[10]
    minn_ok = 0 <= minn <= MAX_SUBWORD_N
    if not (dim >= 1 and bucket >= 0 and minn_ok and 0 <= maxn <= MAX_SUBWORD_N):
        raise fail(
            pos,
            f"invalid arguments dim={dim}, bucket={bucket}, minn={minn}, maxn={maxn}; "
            f"expected dim >= 1, bucket >= 0 and minn, maxn from 0 to {MAX_SUBWORD_N}",
        )
    if bucket == 0 and maxn > 0:
        raise fail(pos, f"maxn={maxn} subword n-grams but bucket=0 rows to hash them into")
    pos += _ARGS.size
    n_entries, nwords, nlabels, _, n_pruned = _DICT_HEAD.unpack_from(data, pos)
    if nlabels != 0:
        raise fail(pos, f"{nlabels} labels: a supervised model, not supported")
    if not 0 <= nwords == n_entries:
        raise fail(pos, f"dictionary of {n_entries} entries and {nwords} words; expected equal")
    if nwords > MAX_WORDS:
        raise fail(pos, f"the dictionary announces {nwords} words; at most {MAX_WORDS} are read")
    pos += _DICT_HEAD.size
    if n_entries * (1 + _ENTRY_TAIL) > size - pos:
        raise fail(
            pos,
            f"the dictionary announces {n_entries} words, which take at least "
            f"{n_entries * (1 + _ENTRY_TAIL)} bytes, but {size - pos} bytes follow",
        )
    words: list[str] = []
    for i in range(n_entries):
        nul = data.find(b"\0", pos)
        if nul < 0 or nul + 1 + _ENTRY_TAIL > size:
            raise fail(pos, f"truncated in dictionary entry {i + 1} of {n_entries}")
        words.append(_decode(bytes(data[pos:nul])))
        pos = nul + 1 + _ENTRY_TAIL
    if n_pruned > 0:
        pos += 8 * n_pruned
    matrix_offset = 0
    for what, rows_expected in (("input", nwords + bucket), ("output", None)):
        if pos + _MATRIX_HEAD.size > size:
            raise fail(pos, f"truncated before the {what} matrix")
        quantized, rows, cols = _MATRIX_HEAD.unpack_from(data, pos)
        if quantized:
            raise fail(pos, f"a quantized {what} matrix (.ftz); not supported")
        if cols != dim or rows < 0 or (rows_expected is not None and rows != rows_expected):
            want = f"({rows_expected}, {dim})" if rows_expected is not None else f"(any, {dim})"
            raise fail(pos, f"{what} matrix of shape ({rows}, {cols}); expected {want}")
        pos += _MATRIX_HEAD.size
        if rows * cols * 4 > size - pos:
            raise fail(
                pos,
                f"truncated: the {what} matrix ({rows}, {cols}) takes {rows * cols * 4} bytes, "
                f"{size - pos} follow",
            )
        if what == "input":
            matrix_offset = pos
        pos += rows * cols * 4
    if pos != size:
        raise fail(pos, f"{size - pos} unexpected bytes after the output matrix")
    if dim > MAX_DIM:
        raise fail(8, f"dim={dim}; at most {MAX_DIM} values per vector are read")
    if bucket > 0:
        work = sum(ngram_work(len(w), minn, maxn) for w in words)
        allowed = NGRAM_BUDGET + NGRAM_BUDGET_PER_BYTE * size
        if work > allowed or work * dim > 64 * allowed:
            raise fail(
                8,
                f"the {nwords} words with n-grams of {minn} to {maxn} characters need up to "
                f"{work} n-gram vectors of {dim} values; a model of {size} bytes may need at "
                f"most {allowed} (and {64 * allowed} values)",
            )
    return _Layout(dim, bucket, minn, maxn, words, matrix_offset)


def is_fasttext_bin(head: bytes) -> bool:
    """Whether the first bytes of a file are a fastText binary header."""
    return len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FASTTEXT_MAGIC


def _sequential_sums(gathered: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``gathered[start : start + length]`` summed row after row, for each segment.

    The float32 additions happen one row at a time in row order (as ``v += row``),
    which ``np.add.reduceat`` does not promise.  Segments of up to
    :data:`_SHORT_SEGMENT` rows are added together, one row position at a time;
    longer ones one by one with ``np.add.accumulate``.
    """
    out = gathered[starts]  # a copy: the first row of each segment
    short = np.flatnonzero(lengths <= _SHORT_SEGMENT)
    if short.size:
        order = short[np.argsort(-lengths[short], kind="stable")]
        first, size = starts[order], lengths[order]
        acc = out[order]
        for k in range(1, int(size[0])):
            m = int(np.count_nonzero(size > k))  # the segments still going (a prefix)
            acc[:m] += gathered[first[:m] + k]
        out[order] = acc
    for i in np.flatnonzero(lengths > _SHORT_SEGMENT):
        s, n = int(starts[i]), int(lengths[i])
        out[i] = np.add.accumulate(gathered[s : s + n], axis=0)[-1]
    return out


def _word_vectors(
    words: list[str], vocab: np.ndarray, ngrams: np.ndarray, minn: int, maxn: int
) -> np.ndarray:
    """Each word's vector: its own row plus its n-gram rows, divided by their number.

    The same float32 operations in the same order as gensim's ``adjust_vectors``
    (the word's row first, then each n-gram row), a block of words at a time.
    """
    from gensim.models.fasttext import ft_ngram_hashes

    bucket = ngrams.shape[0]
    dim = vocab.shape[1]
    out = np.empty_like(vocab)
    limit = max(1, _GATHER_FLOATS // dim)
    first = 0
    while first < len(words):
        flat: list[int] = []
        counts_list: list[int] = []
        last = first
        while last < len(words) and (not counts_list or len(flat) + len(counts_list) < limit):
            hashes = ft_ngram_hashes(words[last], minn, maxn, bucket)
            flat += hashes
            counts_list.append(len(hashes))
            last += 1
        lengths = np.asarray(counts_list, dtype=np.int64) + 1  # the word's row, its n-grams
        starts = np.zeros(len(lengths), dtype=np.int64)
        np.cumsum(lengths[:-1], out=starts[1:])
        gathered = np.empty((int(lengths.sum()), dim), dtype=np.float32)
        is_ngram = np.ones(len(gathered), dtype=bool)
        is_ngram[starts] = False
        gathered[starts] = vocab[first:last]
        gathered[is_ngram] = ngrams[np.asarray(flat, dtype=np.int64)]
        sums = _sequential_sums(gathered, starts, lengths)
        out[first:last] = sums / lengths.astype(np.float32)[:, None]
        first = last
    return out


def read_fasttext_bin(path: str | os.PathLike[str]) -> VectorTable:
    """Read a fastText ``.bin`` model: word vectors plus subword n-gram vectors.

    The vectors are those of gensim's ``load_facebook_vectors``; a word that appears
    twice keeps its first vector (with a warning).

    Raises:
        ModelFormatError: not a regular file, not a fastText model (wrong magic
            number), an unsupported version, a header or dictionary that announces
            more than the file holds or more than the bounds above, matrices of the
            wrong shape, a supervised or quantized model, a truncated file (with the
            byte offset), or NaN/infinite values.
        MissingDependencyError: gensim is not installed (needed for the n-gram hash).

    Example:
        >>> read_fasttext_bin("missing.bin")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ModelFormatError: missing.bin: no such vector file
    """
    p = Path(path)
    with open_regular_file(p) as fh, reading_errors(p):
        head = fh.read(8)
        size = os.fstat(fh.fileno()).st_size
        if len(head) < 8:
            raise ModelFormatError(
                f"{p}: truncated at byte offset {len(head)}: expected an 8-byte fastText header "
                f"(magic {FASTTEXT_MAGIC}, version)"
            )
        magic, version = struct.unpack("<ii", head)
        if magic != FASTTEXT_MAGIC:
            raise ModelFormatError(
                f"{p}: byte offset 0: expected the fastText magic number {FASTTEXT_MAGIC}, got "
                f"{magic}; this is not a fastText .bin model (a word2vec .bin needs "
                "format='word2vec-binary')"
            )
        if version not in _SUPPORTED_VERSIONS:
            raise ModelFormatError(
                f"{p}: byte offset 4: fastText format version {version} is not supported "
                f"(supported: {list(_SUPPORTED_VERSIONS)})"
            )
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            if len(data) != size:
                raise ModelFormatError(f"{p}: the file changed while it was read")
            layout = _check_layout(p, data)
            nwords = len(layout.words)
            rows = nwords + layout.bucket
            view = np.frombuffer(
                data, dtype="<f4", count=rows * layout.dim, offset=layout.matrix_offset
            )
            matrix = view.reshape(rows, layout.dim).astype(np.float32)  # a copy
            del view  # the map can be closed only without views of it
    if not np.isfinite(matrix).all():
        row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        what = f"word {row + 1}" if row < nwords else f"n-gram bucket {row - nwords}"
        raise ModelFormatError(
            f"{p}: the input matrix has NaN or infinite values (row {row}, {what}); "
            "expected finite float32 numbers"
        )
    vocab_vectors, ngrams = matrix[:nwords], matrix[nwords:]
    subwords = None
    vectors = vocab_vectors
    if layout.bucket > 0:
        require("gensim", extra="models")
        vectors = _word_vectors(layout.words, vocab_vectors, ngrams, layout.minn, layout.maxn)
        subwords = Subwords(ngrams, layout.minn, layout.maxn)
    words, vectors = _dedupe(layout.words, vectors, p)
    return VectorTable(words, np.ascontiguousarray(vectors), subwords=subwords, source=str(p))


def table_from_fasttext_kv(kv: object, *, source: str = "") -> VectorTable:
    """Build a :class:`VectorTable` (with subwords when it has n-grams) from gensim's FT vectors."""
    vocab = [str(w) for w in kv.index_to_key]  # type: ignore[attr-defined]
    vectors = np.asarray(kv.vectors, dtype=np.float32)  # type: ignore[attr-defined]
    subwords = None
    if int(getattr(kv, "bucket", 0) or 0) > 0:
        subwords = Subwords(
            np.asarray(kv.vectors_ngrams, dtype=np.float32),  # type: ignore[attr-defined]
            int(kv.min_n),  # type: ignore[attr-defined]
            int(kv.max_n),  # type: ignore[attr-defined]
        )
    return VectorTable(vocab, vectors, subwords=subwords, source=source)


def write_fasttext_bin(path: str | os.PathLike[str], model: object) -> None:
    """Write a gensim ``FastText`` model in Facebook's binary format (via gensim).

    Example:
        >>> callable(write_fasttext_bin)
        True
    """
    from gensim.models.fasttext import save_facebook_model

    save_facebook_model(model, str(path))
