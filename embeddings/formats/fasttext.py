"""Reader for Facebook fastText ``.bin`` models (word and subword vectors).

The binary model holds the vocabulary vectors *and* the hashed character n-gram
vectors, so out-of-vocabulary words still get a vector (the mean of their n-gram
vectors).  Parsing is delegated to gensim's ``load_facebook_vectors``; this module
checks the header first so that a wrong or truncated file fails with a clear
:class:`~embeddings.errors.ModelFormatError`.  fastText ``.vec`` files are plain
word2vec text (see :mod:`embeddings.formats.text`) and carry no subwords.

Example:
    >>> from embeddings.formats.fasttext import FASTTEXT_MAGIC
    >>> FASTTEXT_MAGIC
    793712314
"""

from __future__ import annotations

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


def is_fasttext_bin(head: bytes) -> bool:
    """Whether the first bytes of a file are a fastText binary header."""
    return len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FASTTEXT_MAGIC


def read_fasttext_bin(path: str | os.PathLike[str]) -> VectorTable:
    """Read a fastText ``.bin`` model: word vectors plus subword n-gram vectors.

    Raises:
        ModelFormatError: not a fastText model (wrong magic number), an unsupported
            version, or a truncated/corrupt file.
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
