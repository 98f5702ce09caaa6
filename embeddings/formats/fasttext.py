"""Reader for Facebook fastText ``.bin`` models (word and subword vectors).

The binary model holds the vocabulary vectors *and* the hashed character n-gram
vectors, so out-of-vocabulary words still get a vector (the mean of their n-gram
vectors).  Parsing is delegated to gensim's ``load_facebook_vectors``; this module
first walks the file's layout (header, dictionary entries, the shapes of both
matrices) against its size, without allocating anything, so that a wrong,
truncated or inflated file fails with a clear
:class:`~embeddings.errors.ModelFormatError` naming the byte offset, never with a
``MemoryError`` or an endless read past the end of the file.  fastText ``.vec``
files are plain word2vec text (see :mod:`embeddings.formats.text`) and carry no
subwords.

Example:
    >>> from embeddings.formats.fasttext import FASTTEXT_MAGIC
    >>> FASTTEXT_MAGIC
    793712314
"""

from __future__ import annotations

import mmap
import os
import struct
from pathlib import Path

from embeddings._deps import require
from embeddings.errors import ModelFormatError
from embeddings.formats.table import Subwords, VectorTable

__all__ = ["FASTTEXT_MAGIC", "read_fasttext_bin", "is_fasttext_bin", "write_fasttext_bin"]

#: the int32 that every fastText binary model starts with
FASTTEXT_MAGIC = 793712314
_SUPPORTED_VERSIONS = (11, 12)
#: the arguments block after magic and version: 12 int32 (dim, ws, epoch, min_count,
#: neg, word_ngrams, loss, model, bucket, minn, maxn, lr_update_rate) and a float64
_ARGS = struct.Struct("<12id")
_DICT_HEAD = struct.Struct("<3iqq")  # size, nwords, nlabels, ntokens, pruneidx_size
_ENTRY_TAIL = 9  # int64 count and int8 type after each NUL-terminated word
_MATRIX_HEAD = struct.Struct("<?qq")  # quantized flag, rows, columns


def _check_layout(path: Path, data: mmap.mmap | bytes) -> None:
    """Check a fastText model's structure against its size before gensim reads it.

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
    if dim < 1 or bucket < 0 or minn < 0 or maxn < 0:
        raise fail(
            pos,
            f"invalid arguments dim={dim}, bucket={bucket}, minn={minn}, maxn={maxn}; "
            "expected dim >= 1 and bucket, minn, maxn >= 0",
        )
    if bucket == 0 and maxn > 0:
        raise fail(pos, f"maxn={maxn} subword n-grams but bucket=0 rows to hash them into")
    pos += _ARGS.size
    n_entries, nwords, nlabels, _, n_pruned = _DICT_HEAD.unpack_from(data, pos)
    if nlabels != 0:
        raise fail(pos, f"{nlabels} labels: a supervised model, not supported")
    if not 0 <= nwords == n_entries:
        raise fail(pos, f"dictionary of {n_entries} entries and {nwords} words; expected equal")
    pos += _DICT_HEAD.size
    if n_entries * (1 + _ENTRY_TAIL) > size - pos:
        raise fail(
            pos,
            f"the dictionary announces {n_entries} words, which take at least "
            f"{n_entries * (1 + _ENTRY_TAIL)} bytes, but {size - pos} bytes follow",
        )
    for i in range(n_entries):
        nul = data.find(b"\0", pos)
        if nul < 0 or nul + 1 + _ENTRY_TAIL > size:
            raise fail(pos, f"truncated in dictionary entry {i + 1} of {n_entries}")
        pos = nul + 1 + _ENTRY_TAIL
    if n_pruned > 0:
        pos += 8 * n_pruned
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
        pos += rows * cols * 4
    if pos != size:
        raise fail(pos, f"{size - pos} unexpected bytes after the output matrix")


def is_fasttext_bin(head: bytes) -> bool:
    """Whether the first bytes of a file are a fastText binary header."""
    return len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FASTTEXT_MAGIC


def read_fasttext_bin(path: str | os.PathLike[str]) -> VectorTable:
    """Read a fastText ``.bin`` model: word vectors plus subword n-gram vectors.

    Raises:
        ModelFormatError: not a fastText model (wrong magic number), an unsupported
            version, a header or dictionary that announces more than the file holds,
            matrices of the wrong shape, a supervised or quantized model, or a
            truncated/corrupt file (with the byte offset).
        MissingDependencyError: gensim is not installed.

    Example:
        >>> read_fasttext_bin("missing.bin")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ModelFormatError: missing.bin: no such file
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            head = fh.read(8)
            size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        raise ModelFormatError(f"{p}: no such file") from None
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
    with open(p, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        _check_layout(p, data)
    require("gensim", extra="models")
    from gensim.models.fasttext import load_facebook_vectors

    try:
        kv = load_facebook_vectors(str(p))
    except (
        struct.error,
        EOFError,
        ValueError,
        IndexError,
        OverflowError,
        MemoryError,
        AssertionError,  # gensim asserts on array sizes read from a cut file
    ) as err:
        raise ModelFormatError(
            f"{p}: corrupt or truncated fastText model ({size} bytes): {type(err).__name__}: "
            f"{err}; expected a complete model written by fastText or gensim"
        ) from err
    except NotImplementedError as err:
        raise ModelFormatError(f"{p}: unsupported fastText model: {err}") from err
    return table_from_fasttext_kv(kv, source=str(p))


def table_from_fasttext_kv(kv: object, *, source: str = "") -> VectorTable:
    """Build a :class:`VectorTable` (with subwords when it has n-grams) from gensim's FT vectors."""
    import numpy as np

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
