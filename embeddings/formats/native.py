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

``config.json`` records the sha256 of the content (:func:`content_sha256`), which
becomes part of the fingerprint of encoders that use the store.  Every load checks
the store's structure against ``config.json`` before mapping anything (field types,
each ``.npy`` header's dtype and shape, each file's exact size, the word count);
:func:`verify_store` (``transferkit store verify PATH``) also hashes the content and
compares it with the recorded sha256, which a conversion does once right after
writing the store.  Every file of a store must be a regular file inside the store
folder (a link that leads out of it, a FIFO or a device is refused), ``config.json``
is at most :data:`MAX_CONFIG_BYTES`, and ``vocab.txt`` is read in bounded pieces that
stop at the first word beyond the recorded count.

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
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._atomic import remove_dead_temporaries_in, write_folder_atomically
from embeddings.errors import ModelFormatError
from embeddings.formats._files import check_regular_file, open_regular_file, reading_errors
from embeddings.formats.table import MAX_SUBWORD_N, Subwords, VectorTable

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
    "converted_store",
    "verify_store",
]

STORE_FORMAT = "transferkit-vectors"
STORE_VERSION = 1
_CONFIG = "config.json"
_VECTORS = "vectors.npy"
_VOCAB = "vocab.txt"
_NGRAMS = "ngrams.npy"
#: the largest ``config.json`` a store may have
MAX_CONFIG_BYTES = 1 << 20
#: the longest word (in UTF-8 bytes) a store's ``vocab.txt`` may hold
MAX_STORE_WORD_BYTES = 1 << 24
_VOCAB_CHUNK = 1 << 24


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


def store_path_for(path: str | os.PathLike[str], fmt: str, *, variant: str = "") -> Path:
    """The store folder for a vector file: keyed by absolute path, size, mtime and format.

    ``variant`` names a reading of the file other than the default (e.g. which row of
    a repeated word is kept): each variant has its own store.
    """
    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}|{fmt}|{STORE_VERSION}"
    if variant:
        key += f"|{variant}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    stem = p.name.split(".")[0][:40] or "vectors"
    return store_root() / f"{stem}-{digest}"


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a complete native store folder."""
    try:
        raw = _read_config(Path(path))
        return json.loads(raw.decode("utf-8")).get("format") == STORE_FORMAT
    except (ModelFormatError, OSError, ValueError, AttributeError):
        return False


def _member(folder: Path, name: str) -> Path:
    """A store file, checked to be a regular file inside the store folder."""
    return check_regular_file(folder / name, what="store file", inside=folder)


def _read_config(folder: Path) -> bytes:
    """The bytes of a store's ``config.json`` (a regular file of bounded size)."""
    cfg_path = folder / _CONFIG
    if not os.path.exists(cfg_path):
        raise FileNotFoundError(cfg_path)
    _member(folder, _CONFIG)
    with open_regular_file(cfg_path, what="store file") as fh, reading_errors(cfg_path):
        raw = fh.read(MAX_CONFIG_BYTES + 1)
    if len(raw) > MAX_CONFIG_BYTES:
        raise ModelFormatError(
            f"{cfg_path}: larger than {MAX_CONFIG_BYTES} bytes; a store's config.json is a few "
            "hundred bytes"
        )
    return raw


def content_sha256(table: VectorTable) -> str:
    """sha256 of a table's vocabulary, vectors and subword vectors (the store's identity)."""
    ngrams = table.subwords.vectors if table.subwords is not None else None
    return _content_sha256("\n".join(table.vocab).encode("utf-8"), table.vectors, ngrams)


def _content_sha256(vocab_bytes: bytes, vectors: np.ndarray, ngrams: np.ndarray | None) -> str:
    h = hashlib.sha256()
    h.update(vocab_bytes)
    h.update(str(vectors.shape).encode())
    h.update(_raw_bytes(vectors))
    if ngrams is not None:
        h.update(str(ngrams.shape).encode())
        h.update(_raw_bytes(ngrams))
    return h.hexdigest()


def _raw_bytes(array: np.ndarray) -> memoryview:
    """The little-endian float32 bytes of ``array`` without a copy (also for 0 rows)."""
    flat = np.ascontiguousarray(array, dtype="<f4").reshape(-1)
    return flat.data.cast("B")


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
    joined = "\n".join(table.vocab)
    if joined.count("\n") > max(len(table.vocab) - 1, 0):  # a word holds a newline
        i = next(i for i, w in enumerate(table.vocab) if "\n" in w)
        raise ModelFormatError(
            f"{table.source or 'vector table'}: word {i} contains a newline; "
            "the native store keeps one word per line"
        )
    vocab_bytes = joined.encode("utf-8")
    del joined
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


#: integer fields of a store's config.json -> their smallest allowed value
_FIELDS: dict[str, int] = {"count": 0, "dim": 1}
_SUBWORD_FIELDS: dict[str, int] = {"min_n": 0, "max_n": 0, "bucket": 1}
_HEX = frozenset("0123456789abcdef")
_DAMAGED = "the store is damaged: delete the folder (loading the source file converts it again)"


def _int_field(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def store_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a store, every field checked.

    Raises:
        ModelFormatError: a missing, unreadable or non-JSON file, or a missing or
            invalid field (named in the message).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from embeddings.formats.table import VectorTable
        >>> d = os.path.join(tempfile.mkdtemp(), "store")
        >>> _ = write_store(d, VectorTable(["a"], np.ones((1, 3), dtype=np.float32)))
        >>> store_config(d)["dim"]
        3
    """
    folder = Path(folder)
    cfg_path = folder / _CONFIG
    try:
        config = json.loads(_read_config(folder).decode("utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(
            f"{folder}: not a native vector store ({_CONFIG} is missing; an interrupted "
            "conversion leaves no store, convert again)"
        ) from None
    except ModelFormatError:
        raise
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        raise ModelFormatError(f"{cfg_path}: not a UTF-8 JSON file: {err}") from err
    if not isinstance(config, dict) or config.get("format") != STORE_FORMAT:
        raise ModelFormatError(f"{cfg_path}: 'format' must be {STORE_FORMAT!r}")
    if config.get("format_version") != STORE_VERSION:
        raise ModelFormatError(
            f"{cfg_path}: store version {config.get('format_version')!r} is not supported "
            f"(expected {STORE_VERSION}); delete the folder to convert again"
        )
    for name, minimum in _FIELDS.items():
        if not _int_field(config.get(name), minimum):
            raise ModelFormatError(
                f"{cfg_path}: field {name!r} must be an integer >= {minimum}, got "
                f"{config.get(name)!r:.60}"
            )
    if config.get("dtype") != "float32":
        raise ModelFormatError(
            f"{cfg_path}: field 'dtype' must be 'float32', got {config.get('dtype')!r:.60}"
        )
    digest = config.get("sha256")
    if not (isinstance(digest, str) and len(digest) == 64 and _HEX.issuperset(digest)):
        raise ModelFormatError(
            f"{cfg_path}: field 'sha256' must be 64 lowercase hex digits, got {digest!r:.80}"
        )
    sw = config.get("subwords")
    if sw is not None:
        if not isinstance(sw, dict) or set(sw) != set(_SUBWORD_FIELDS):
            raise ModelFormatError(
                f"{cfg_path}: field 'subwords' must be null or an object with "
                f"{sorted(_SUBWORD_FIELDS)}, got {sw!r:.80}"
            )
        for name, minimum in _SUBWORD_FIELDS.items():
            if not _int_field(sw[name], minimum):
                raise ModelFormatError(
                    f"{cfg_path}: field 'subwords.{name}' must be an integer >= {minimum}, "
                    f"got {sw[name]!r:.60}"
                )
        for name in ("min_n", "max_n"):
            if sw[name] > MAX_SUBWORD_N:
                raise ModelFormatError(
                    f"{cfg_path}: field 'subwords.{name}' must be at most {MAX_SUBWORD_N}, "
                    f"got {sw[name]}"
                )
    return config


def _load_npy(path: Path, shape: tuple[int, int], *, mmap: bool) -> np.ndarray:
    """A float32 ``.npy`` array of ``shape``, its header and size checked before loading."""
    want = f"a .npy file of float32 {shape} (C order), as config.json records"
    if not os.path.exists(path):
        raise ModelFormatError(f"{path}: missing; expected {want}; {_DAMAGED}")
    _member(path.parent, path.name)
    try:
        with open_regular_file(path, what="store file") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size == 0:
                raise ModelFormatError(f"{path}: empty file (0 bytes); expected {want}; {_DAMAGED}")
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            else:
                got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            offset = fh.tell()
    except ModelFormatError:
        raise
    except FileNotFoundError:
        raise ModelFormatError(f"{path}: missing; expected {want}; {_DAMAGED}") from None
    except (OSError, ValueError, EOFError, SyntaxError) as err:
        raise ModelFormatError(
            f"{path}: not a readable .npy file (a bad {type(err).__name__} header); {_DAMAGED}"
        ) from None
    if dtype != np.dtype("<f4") or fortran or tuple(got_shape) != shape:
        order = " (Fortran order)" if fortran else ""
        raise ModelFormatError(
            f"{path}: holds {dtype} {tuple(got_shape)}{order}; expected {want}; {_DAMAGED}"
        )
    expected_size = offset + 4 * shape[0] * shape[1]
    if size != expected_size:
        raise ModelFormatError(
            f"{path}: {size} bytes, expected {expected_size} for float32 {shape} "
            f"({'truncated' if size < expected_size else 'trailing bytes'}); {_DAMAGED}"
        )
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ModelFormatError(f"{path}: cannot read ({type(err).__name__}); {_DAMAGED}") from None


def _read_vocab(folder: Path, count: int) -> list[str]:
    """The ``count`` words of ``vocab.txt``, read in pieces; too many or too long words stop it."""
    path = folder / _VOCAB
    if not os.path.exists(path):
        raise ModelFormatError(f"{path}: missing; expected {count} words; {_DAMAGED}")
    _member(folder, _VOCAB)
    words: list[str] = []
    pending = b""
    done = 0  # bytes decoded so far, for messages
    with open_regular_file(path, what="store file") as fh, reading_errors(path):
        while True:
            chunk = fh.read(_VOCAB_CHUNK)
            if not chunk:
                break
            pending += chunk
            cut = pending.rfind(b"\n")
            if cut >= 0:
                try:
                    words += pending[:cut].decode("utf-8").split("\n")
                except UnicodeDecodeError as err:
                    raise ModelFormatError(
                        f"{path}: not valid UTF-8 at byte {done + err.start} ({err.reason}); "
                        f"{_DAMAGED}"
                    ) from None
                done += cut + 1
                pending = pending[cut + 1 :]
            if len(words) >= count:  # the last line is still to come
                raise ModelFormatError(
                    f"{path}: more than the {count} words (one per line) that config.json "
                    f"records; {_DAMAGED}"
                )
            if len(pending) > MAX_STORE_WORD_BYTES:
                raise ModelFormatError(
                    f"{path}: line {len(words) + 1} is longer than {MAX_STORE_WORD_BYTES} bytes; "
                    f"{_DAMAGED}"
                )
    try:
        last = pending.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ModelFormatError(
            f"{path}: not valid UTF-8 at byte {done + err.start} ({err.reason}); {_DAMAGED}"
        ) from None
    if count == 0:
        return []  # nothing was read: any byte is refused above
    words.append(last)
    if len(words) != count:
        raise ModelFormatError(
            f"{path}: expected {count} words (one per line), found {len(words)}; {_DAMAGED}"
        )
    return words


def read_store(folder: str | os.PathLike[str], *, mmap: bool = True) -> VectorTable:
    """Load a native store; the vectors are memory-mapped (read-only) by default.

    The structure is checked first (see :func:`store_config`; each ``.npy`` file's
    header and exact size; the number of words), so nothing is allocated or mapped
    for sizes the files do not hold.  The content hash is checked by
    :func:`verify_store`.

    Raises:
        ModelFormatError: a missing, empty or invalid file, or sizes that disagree
            with ``config.json`` (the message names the file).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from embeddings.formats.table import VectorTable
        >>> d = os.path.join(tempfile.mkdtemp(), "store")
        >>> _ = write_store(d, VectorTable(["a", "b"], np.eye(2, dtype=np.float32)))
        >>> read_store(d, mmap=False).vectors.tolist()
        [[1.0, 0.0], [0.0, 1.0]]
    """
    folder = Path(folder)
    return _mapped_store(folder, store_config(folder), None, mmap=mmap)


def _mapped_store(
    folder: Path, config: dict[str, Any], vocab: list[str] | None, *, mmap: bool = True
) -> VectorTable:
    """The store's arrays, checked and mapped, with ``vocab`` as its words (``None``:
    read ``vocab.txt``)."""
    count, dim = int(config["count"]), int(config["dim"])
    vectors = _load_npy(folder / _VECTORS, (count, dim), mmap=mmap)
    if vocab is None:
        vocab = _read_vocab(folder, count)
    subwords = None
    sw = config.get("subwords")
    if sw:
        ngrams = _load_npy(folder / _NGRAMS, (int(sw["bucket"]), dim), mmap=mmap)
        subwords = Subwords(ngrams, int(sw["min_n"]), int(sw["max_n"]))
    return VectorTable(vocab, vectors, subwords=subwords, source=str(folder))


def converted_store(
    path: str | os.PathLike[str],
    fmt: str,
    read: Callable[[], VectorTable],
    *,
    variant: str = "",
) -> VectorTable:
    """The memory-mapped store of a vector file, converted by ``read()`` on first use.

    The store lives at :func:`store_path_for` ``(path, fmt, variant=variant)``.  A new
    store is verified once after writing (:func:`verify_store`); one that fails is
    removed, so the next load converts again.

    Raises:
        ModelFormatError: the file cannot be read, or the new store failed verification.

    Example:
        >>> import numpy as np, tempfile, os
        >>> os.environ["TRANSFERKIT_VECTOR_STORE"] = tempfile.mkdtemp()
        >>> p = os.path.join(tempfile.mkdtemp(), "v.txt")
        >>> _ = open(p, "w").write("a 1 2\\n")
        >>> read = lambda: VectorTable(["a"], np.array([[1, 2]], dtype=np.float32))
        >>> converted_store(p, "glove-text", read).vocab
        ['a']
    """
    try:
        store = store_path_for(path, fmt, variant=variant)
    except OSError as err:
        raise ModelFormatError(f"{path}: cannot stat: {err}") from err
    if not is_store(store):
        table = read()
        write_store(store, table, source={"path": str(Path(path).resolve()), "format": fmt})
        vocab = table.vocab
        del table
        try:
            return _verified_table(store, vocab)[0]
        except ModelFormatError as err:
            shutil.rmtree(store, ignore_errors=True)
            raise ModelFormatError(
                f"{path}: the store converted from it failed verification and was removed "
                f"(load again to convert again): {err}"
            ) from err
    return read_store(store)


def verify_store(folder: str | os.PathLike[str]) -> str:
    """Check a store completely: its structure, then its content against the recorded sha256.

    The sha256 recorded in ``config.json`` identifies the vectors (it is part of the
    fingerprint, so of the embedding cache key); a store whose files were changed
    after conversion would otherwise pass for the original.  The content is hashed
    through the memory map, without loading it into memory.

    Args:
        folder: the store folder.

    Returns:
        The verified sha256 (hex).

    Raises:
        ModelFormatError: any problem :func:`read_store` reports, or a content hash
            that differs from the recorded one (both are named in the message).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from embeddings.formats.table import VectorTable
        >>> d = os.path.join(tempfile.mkdtemp(), "store")
        >>> _ = write_store(d, VectorTable(["a"], np.ones((1, 2), dtype=np.float32)))
        >>> verify_store(d) == store_config(d)["sha256"]
        True
    """
    return _verified_table(Path(folder))[1]


def _verified_table(folder: Path, vocab: list[str] | None = None) -> tuple[VectorTable, str]:
    """The store read (memory-mapped) and its content checked; see :func:`verify_store`.

    ``vocab``: the words just written to ``folder``.  When ``vocab.txt`` holds exactly
    their bytes, the table takes them instead of decoding the file again; the bytes
    hashed are those of the file either way.
    """
    found = None if vocab is None else _read_store_with_words(folder, vocab)
    if found is None:
        table = read_store(folder)
        vocab_bytes = "\n".join(table.vocab).encode("utf-8")  # the bytes of vocab.txt, as read
    else:
        table, vocab_bytes = found
    recorded = str(store_config(folder)["sha256"])
    ngrams = table.subwords.vectors if table.subwords is not None else None
    actual = _content_sha256(vocab_bytes, table.vectors, ngrams)
    if actual != recorded:
        files = ", ".join(f for f in (_VOCAB, _VECTORS, _NGRAMS) if (folder / f).exists())
        raise ModelFormatError(
            f"{folder / _CONFIG}: records sha256 {recorded}, but the content ({files}) "
            f"hashes to {actual}: the store was changed or damaged after conversion; delete "
            "the folder (loading the source file converts it again)"
        )
    return table, actual


def _read_store_with_words(folder: Path, vocab: list[str]) -> tuple[VectorTable, bytes] | None:
    """The store mapped as :func:`read_store` maps it, with ``vocab`` as its words, and
    the bytes of its ``vocab.txt``; ``None`` unless that file holds exactly ``vocab``."""
    config = store_config(folder)
    path = folder / _VOCAB
    expected = "\n".join(vocab).encode("utf-8")
    if int(config["count"]) != len(vocab) or not os.path.exists(path):
        return None
    table = _mapped_store(folder, config, vocab)
    _member(folder, _VOCAB)
    with open_regular_file(path, what="store file") as fh, reading_errors(path):
        if os.fstat(fh.fileno()).st_size != len(expected):
            return None
        raw = fh.read(len(expected) + 1)
    return (table, raw) if raw == expected else None
