"""Readers and writers for published word-vector formats, and the native store.

=================  ===============================================  ==========================
format             files                                            reader
=================  ===============================================  ==========================
``native``         a store folder (``vectors.npy`` + ``vocab.txt``)  :func:`read_store`
``word2vec-text``  header ``COUNT DIM`` + ``word v1 ... vD`` lines  :func:`read_word2vec_text`
``word2vec-binary``  header + ``word<space><float32 * D>``          :func:`read_word2vec_binary`
``glove-text``     ``word v1 ... vD`` lines, no header              :func:`read_glove_text`
``fasttext-vec``   fastText ``.vec`` (= word2vec text)              :func:`read_fasttext_vec`
``fasttext-bin``   fastText ``.bin`` with subword vectors            :func:`read_fasttext_bin`
``gensim``         gensim ``.save()`` pickles (``trust_pickle``)     :func:`read_gensim`
=================  ===============================================  ==========================

:func:`load_vectors` is the entry point used by the encoders: it detects the format,
converts a file once into a native store, and memory-maps that store afterwards.

Format detection (``format="auto"``) only ever picks a format that cannot run code:
a file that looks like a gensim pickle (by its name or its first byte) is refused
with the advice to pass ``format="gensim", trust_pickle=True`` if the caller trusts
it.  Every reader opens regular files only (:func:`check_regular_file`), so a FIFO
or a device is refused before it is opened.

Example:
    >>> import numpy as np, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> write_glove_text(os.path.join(d, "g.txt"), ["a"], np.ones((1, 2)))
    >>> detect_format(os.path.join(d, "g.txt"))
    'glove-text'
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats._files import MAX_DIM, MAX_WORDS, check_regular_file
from embeddings.formats.binary import read_word2vec_binary, write_word2vec_binary
from embeddings.formats.fasttext import FASTTEXT_MAGIC, read_fasttext_bin
from embeddings.formats.gensim_kv import (
    read_gensim,
    table_from_keyed_vectors,
    table_to_keyed_vectors,
)
from embeddings.formats.native import (
    converted_store,
    is_store,
    read_store,
    store_config,
    store_path_for,
    store_root,
    verify_store,
    write_store,
)
from embeddings.formats.table import Subwords, VectorTable
from embeddings.formats.text import (
    open_binary,
    parse_count,
    read_fasttext_vec,
    read_glove_text,
    read_word2vec_text,
    write_glove_text,
    write_word2vec_text,
)

__all__ = [
    "VectorFormat",
    "FORMATS",
    "MAX_WORDS",
    "MAX_DIM",
    "check_regular_file",
    "looks_like_pickle",
    "VectorTable",
    "Subwords",
    "detect_format",
    "read_vectors",
    "load_vectors",
    "read_word2vec_text",
    "read_word2vec_binary",
    "read_glove_text",
    "read_fasttext_vec",
    "read_fasttext_bin",
    "read_gensim",
    "write_word2vec_text",
    "write_word2vec_binary",
    "write_glove_text",
    "write_store",
    "read_store",
    "is_store",
    "store_root",
    "store_path_for",
    "store_config",
    "verify_store",
    "table_from_keyed_vectors",
    "table_to_keyed_vectors",
]

VectorFormat = Literal[
    "native",
    "word2vec-text",
    "word2vec-binary",
    "glove-text",
    "fasttext-vec",
    "fasttext-bin",
    "gensim",
]
FORMATS: tuple[str, ...] = get_args(VectorFormat)
_GENSIM_SUFFIXES = (".kv", ".model", ".wv", ".gensim")


def _looks_binary(sample: bytes) -> bool:
    if b"\x00" in sample:
        return True
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start < len(sample) - 4  # a cut multi-byte char at the end is fine
    return False


def _head(p: Path) -> bytes:
    """The first 4096 bytes of a regular file (decompressed for ``.gz``)."""
    with open_binary(p) as fh:
        return fh.read(4096)


def _pickle_reason(p: Path, head: bytes | None) -> str | None:
    name = p.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(_GENSIM_SUFFIXES):
        return f"its name ends in {Path(base).suffix!r}, gensim's"
    if head is not None and head[:1] == b"\x80":
        return "it starts with a pickle's first byte"
    return None


def looks_like_pickle(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a gensim native file (a pickle) by its name or first byte.

    Such a file is read only with ``format="gensim"`` and ``trust_pickle=True``.

    Example:
        >>> looks_like_pickle("vectors.kv")
        True
    """
    p = Path(path)
    if _pickle_reason(p, None) is not None:
        return True
    try:
        return _pickle_reason(p, _head(check_regular_file(p))) is not None
    except ModelFormatError:
        return False


def detect_format(path: str | os.PathLike[str]) -> str:
    """Guess the format of a vector file or folder from its name and first bytes.

    Only formats that cannot run code are detected: a file that looks like a gensim
    native file (a pickle) is refused, so that reading it is always the caller's
    explicit decision (``format="gensim", trust_pickle=True``).

    Raises:
        ModelFormatError: the path does not exist, is a folder that is not a store,
            is not a regular file (a FIFO, a device), or looks like a pickle.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> _ = open(p, "w").write("1 2\\nx 1 2\\n")
        >>> detect_format(p)
        'word2vec-text'
    """
    p = Path(path)
    if p.is_dir():
        if is_store(p):
            return "native"
        raise ModelFormatError(
            f"{p}: a folder, but not a transferkit vector store (no config.json with format "
            "'transferkit-vectors')"
        )
    if not os.path.lexists(p):
        raise ModelFormatError(f"{p}: no such vector file or store folder")
    check_regular_file(p)
    name = p.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    reason = _pickle_reason(p, None)
    head = b"" if reason is not None else _head(p)
    reason = reason or _pickle_reason(p, head)
    if reason is not None:
        raise ModelFormatError(
            f"{p}: looks like a gensim native file, which is a Python pickle ({reason}); "
            "format='auto' never reads pickles, since loading one can run arbitrary code. If "
            "you trust this file, pass format='gensim' and trust_pickle=True; otherwise "
            "convert it to word2vec format (KeyedVectors.save_word2vec_format)"
        )
    if len(head) >= 4 and struct.unpack("<i", head[:4])[0] == FASTTEXT_MAGIC:
        return "fasttext-bin"
    if base.endswith(".vec"):
        return "fasttext-vec"
    if base.endswith(".bin"):
        return "word2vec-binary"
    end = head.find(b"\n")
    first = head[: end if end >= 0 else len(head)].split()
    if len(first) == 2 and None not in map(parse_count, first):
        return "word2vec-binary" if _looks_binary(head[end + 1 :]) else "word2vec-text"
    return "glove-text"


def _check_format(fmt: str) -> None:
    if fmt != "auto" and fmt not in FORMATS:
        raise InvalidParameterError(f"format must be 'auto' or one of {list(FORMATS)}, got {fmt!r}")


def read_vectors(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    trust_pickle: bool = False,
) -> VectorTable:
    """Read a vector file of any supported format into memory (no store conversion).

    Args:
        path: the file or store folder.
        format: ``"auto"`` (by extension and content) or one of :data:`FORMATS`.
        trust_pickle: allow gensim pickles (see :func:`read_gensim`).

    Example:
        >>> import numpy as np, tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "v.bin")
        >>> write_word2vec_binary(p, ["a"], np.ones((1, 2)))
        >>> read_vectors(p).vocab
        ['a']
    """
    _check_format(format)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "gensim":
        return read_gensim(path, trust_pickle=trust_pickle)
    readers: dict[str, Callable[[str | os.PathLike[str]], VectorTable]] = {
        "native": read_store,
        "word2vec-text": read_word2vec_text,
        "fasttext-vec": read_fasttext_vec,
        "word2vec-binary": read_word2vec_binary,
        "glove-text": read_glove_text,
        "fasttext-bin": read_fasttext_bin,
    }
    return readers[fmt](path)


def load_vectors(
    path: str | os.PathLike[str],
    *,
    format: str = "auto",
    trust_pickle: bool = False,
    convert: bool = True,
) -> VectorTable:
    """Load vectors for encoding: convert a file once to a native store, then memory-map it.

    The store lives under :func:`store_root`, keyed by the file's absolute path,
    size, modification time and format, so an edited file is converted again.  A
    new store is verified once after writing (:func:`verify_store`: its content is
    read back and hashed); a store that fails is removed, so the next load converts
    again.

    Args:
        path: a vector file or a native store folder.
        format: ``"auto"`` or one of :data:`FORMATS`.
        trust_pickle: allow gensim pickles.
        convert: ``False`` reads the file directly every time (no store).

    Example:
        >>> import numpy as np, tempfile, os
        >>> os.environ["TRANSFERKIT_VECTOR_STORE"] = tempfile.mkdtemp()
        >>> p = os.path.join(tempfile.mkdtemp(), "g.txt")
        >>> write_glove_text(p, ["a", "b"], np.eye(2))
        >>> t = load_vectors(p)          # converts once
        >>> load_vectors(p).source == t.source  # memory-maps the store
        True
    """
    _check_format(format)
    fmt = detect_format(path) if format == "auto" else format
    if fmt == "native":
        return read_store(path)
    if fmt == "gensim" and trust_pickle is not True:
        return read_gensim(path, trust_pickle=trust_pickle)  # raises with the explanation
    if not convert:
        return read_vectors(path, format=fmt, trust_pickle=trust_pickle)
    return converted_store(
        path, fmt, lambda: read_vectors(path, format=fmt, trust_pickle=trust_pickle)
    )
