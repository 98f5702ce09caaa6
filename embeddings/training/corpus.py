"""Streaming text corpora for training word vectors and paragraph vectors.

A :class:`TextCorpus` is a *restartable* iterable (gensim iterates several times:
once to build the vocabulary, then once per epoch) that yields one token list per
non-blank line of the corpus files, or per text of an in-memory list.  Files are
read line by line, so the corpus is never held in memory.  Tokens come from the
same tokenizer as the encoders (:mod:`embeddings.tokenize`).

Example:
    >>> corpus = TextCorpus(["The cat sat.", "", "A dog!"])
    >>> list(corpus)
    [['the', 'cat', 'sat', '.'], ['a', 'dog', '!']]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from embeddings.errors import (
    DataNotFoundError,
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
)
from embeddings.tokenize import tokenize

__all__ = ["TextCorpus", "CorpusStats", "corpus_files", "OrderedCorpus", "TokenIds"]


@dataclass(frozen=True)
class CorpusStats:
    """Size of a corpus: files, non-blank lines, tokens and bytes."""

    files: int
    lines: int
    tokens: int
    bytes: int


def corpus_files(
    path: str | os.PathLike[str], *, pattern: str = "**/*.txt", exclude: tuple[str, ...] = ("raw",)
) -> list[Path]:
    """The text files of a corpus path, sorted (a file is returned as itself).

    Args:
        path: a text file or a folder.
        pattern: glob pattern inside a folder.
        exclude: folder names to skip (``raw`` holds archives of the same text in the
            benchmark data).

    Raises:
        DataNotFoundError: the path does not exist or holds no matching file.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a.txt").write_text("hi")
        >>> [p.name for p in corpus_files(d)]
        ['a.txt']
    """
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise DataNotFoundError(f"corpus {p} does not exist (expected a text file or a folder)")
    files = sorted(
        f
        for f in p.glob(pattern)
        if f.is_file() and not any(part in exclude for part in f.relative_to(p).parts[:-1])
    )
    if not files:
        raise DataNotFoundError(f"corpus folder {p} has no files matching {pattern!r}")
    return files


def _reason(err: OSError) -> str:
    return str(err.strerror or err)


def _file_lines(path: Path) -> Iterator[str]:
    """The lines of one corpus file (UTF-8, undecodable bytes replaced).

    Raises:
        DataNotFoundError: the file cannot be opened or read (removed, unreadable,
            a failing disk); the message names it.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            yield from fh
    except OSError as err:
        raise DataNotFoundError(
            f"cannot read corpus file {path}: {_reason(err)}; check that it exists and is "
            "readable, or remove it from the corpus folder"
        ) from err


@contextmanager
def _writing(folder: Path) -> Iterator[None]:
    """Turn a failed write of the prepared corpus data into an error naming ``folder``."""
    try:
        yield
    except OSError as err:
        raise InvalidParameterError(
            f"cannot write the prepared corpus data to {folder}: {_reason(err)}; pass a "
            "workdir on a disk with free space that you can write to"
        ) from err


class TextCorpus:
    """Token lists from corpus files (streamed) or from a list of texts.

    Args:
        source: a text file, a folder of ``*.txt`` files, or an iterable of strings
            (a list is iterated again for every pass; a one-shot iterator is
            materialised into a list first).
        lowercase: lowercase before tokenizing.
        pattern: glob pattern for folders.

    Example:
        >>> TextCorpus(["a b", "c"]).stats().tokens
        3
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | Iterable[str],
        *,
        lowercase: bool = True,
        pattern: str = "**/*.txt",
    ) -> None:
        self.lowercase = lowercase
        self.files: list[Path] | None = None
        self.texts: list[str] | None = None
        if isinstance(source, (str, os.PathLike)):
            self.files = corpus_files(source, pattern=pattern)
        else:
            texts = list(source)
            for i, t in enumerate(texts):
                if not isinstance(t, str):
                    raise InvalidInputError(
                        f"corpus texts must be str, got {type(t).__name__} at index {i}"
                    )
            self.texts = texts

    def lines(self) -> Iterator[str]:
        """The raw non-blank lines (texts), in order."""
        if self.texts is not None:
            for t in self.texts:
                if t.strip():
                    yield t
            return
        for f in self.files or []:
            for line in _file_lines(f):
                if line.strip():
                    yield line

    def __iter__(self) -> Iterator[list[str]]:
        for line in self.lines():
            tokens = tokenize(line, lowercase=self.lowercase)
            if tokens:
                yield tokens

    def stats(self) -> CorpusStats:
        """Count files, lines, tokens and bytes (one streaming pass)."""
        lines = tokens = size = 0
        for line in self.lines():
            lines += 1
            size += len(line.encode("utf-8"))
            tokens += len(tokenize(line, lowercase=self.lowercase))
        return CorpusStats(len(self.files or []), lines, tokens, size)


# ------------------------------------------------------------ ordered corpora
def _ordered_lines(source: str | os.PathLike[str] | Sequence[str]) -> Iterator[str | None]:
    """Lines in corpus order; ``None`` marks a document boundary (a blank line, a new file)."""
    if isinstance(source, (str, os.PathLike)):
        for f in corpus_files(source):
            yield None
            for line in _file_lines(f):
                yield line if line.strip() else None
    else:
        yield None
        for i, t in enumerate(source):
            if not isinstance(t, str):
                raise InvalidInputError(
                    f"corpus texts must be str, got {type(t).__name__} at index {i}"
                )
            yield t if t.strip() else None


class OrderedCorpus:
    """Sentences in corpus order with document boundaries, streamed (never all in RAM).

    A document ends at a blank line (a blank string in a list) and at the end of
    every file.  A non-blank line without tokens is no sentence and no boundary.

    Args:
        source: a text file, a folder of ``*.txt`` files (one sentence per line,
            ``raw/`` sub-folders skipped), or a list of sentences.
        lowercase: lowercase before tokenizing.

    Example:
        >>> c = OrderedCorpus(["The cat sat.", "It slept.", "", "Stocks fell."])
        >>> [(d, " ".join(t)) for d, t in c.sentences()]
        [(0, 'the cat sat .'), (0, 'it slept .'), (1, 'stocks fell .')]
        >>> [tuple(w and " ".join(w) for w in win) for win in c.windows()][0]
        (None, 'the cat sat .', 'it slept .')
    """

    def __init__(
        self, source: str | os.PathLike[str] | Sequence[str], *, lowercase: bool = True
    ) -> None:
        if isinstance(source, (str, os.PathLike)):
            corpus_files(source)  # fail early on a missing path
            self.source: str | os.PathLike[str] | list[str] = source
        else:
            self.source = list(source)
        self.lowercase = lowercase

    def files(self) -> list[Path]:
        """The corpus files (empty for an in-memory list)."""
        if isinstance(self.source, list):
            return []
        return corpus_files(self.source)

    def sentences(self) -> Iterator[tuple[int, list[str]]]:
        """``(document id, tokens)`` of every sentence, in order."""
        doc = -1
        boundary = True
        for line in _ordered_lines(self.source):
            if line is None:
                boundary = True
                continue
            tokens = tokenize(line, lowercase=self.lowercase)
            if not tokens:
                continue
            if boundary:
                doc += 1
                boundary = False
            yield doc, tokens

    def __iter__(self) -> Iterator[list[str]]:
        """Token lists (for vocabulary building)."""
        for _, tokens in self.sentences():
            yield tokens

    def windows(self) -> Iterator[tuple[list[str] | None, list[str], list[str] | None]]:
        """``(previous, current, next)`` sentences; ``None`` across a document boundary."""
        prev: tuple[int, list[str]] | None = None
        cur: tuple[int, list[str]] | None = None
        for item in self.sentences():
            if cur is not None:
                before = prev[1] if prev is not None and prev[0] == cur[0] else None
                after = item[1] if item[0] == cur[0] else None
                yield before, cur[1], after
            prev, cur = cur, item
        if cur is not None:
            before = prev[1] if prev is not None and prev[0] == cur[0] else None
            yield before, cur[1], None

    def fingerprint(self) -> str:
        """sha256 of the files (path, size, mtime) or texts, and the tokenizer setting."""
        import hashlib

        h = hashlib.sha256(f"lowercase={self.lowercase}\0".encode())
        if isinstance(self.source, list):
            for t in self.source:
                h.update(t.encode("utf-8", "surrogatepass") + b"\0")
        else:
            for f in self.files():
                try:
                    st = f.stat()
                except OSError as err:
                    raise DataNotFoundError(
                        f"cannot read corpus file {f}: {_reason(err)}; check that it exists "
                        "and is readable"
                    ) from err
                h.update(f"{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
        return h.hexdigest()


class TokenIds:
    """A corpus as token ids on disk (memory-mapped): the training data of sequence models.

    Sentence ``i`` is ``tokens[offsets[i]:offsets[i + 1]]`` and belongs to document
    ``docs[i]``.  Built in one streaming pass with :meth:`build`; the arrays are
    ``.npy`` files, so epochs and resumed runs do not read or tokenize the text again.

    Example:
        >>> from embeddings.training.vocab import Vocabulary
        >>> corpus = OrderedCorpus(["a b", "b", "", "c"])
        >>> ids = TokenIds.build(corpus, Vocabulary.build(corpus), max_length=8)
        >>> ids.n_sentences, ids.sentence(0).tolist(), ids.docs.tolist()
        (3, [3, 2], [0, 0, 1])
    """

    def __init__(self, tokens: np.ndarray, offsets: np.ndarray, docs: np.ndarray) -> None:
        self.tokens = tokens
        self.offsets = offsets
        self.docs = docs

    @property
    def n_sentences(self) -> int:
        """Number of sentences."""
        return int(self.docs.shape[0])

    def sentence(self, i: int) -> np.ndarray:
        """Token ids of sentence ``i`` (int64)."""
        return np.asarray(self.tokens[self.offsets[i] : self.offsets[i + 1]], dtype=np.int64)

    @classmethod
    def build(
        cls,
        corpus: OrderedCorpus,
        vocab: Any,
        *,
        max_length: int,
        folder: str | os.PathLike[str] | None = None,
    ) -> TokenIds:
        """Map every sentence to ids (at most ``max_length`` tokens each).

        Args:
            corpus: the ordered corpus.
            vocab: a :class:`~embeddings.training.vocab.Vocabulary`.
            max_length: tokens kept per sentence.
            folder: where to write ``tokens.npy``, ``offsets.npy`` and ``docs.npy``
                (memory-mapped afterwards); ``None`` keeps the arrays in memory.
        """
        if folder is not None:
            ready = cls.open(folder)
            if ready is not None:
                return ready
        lengths: list[int] = []
        docs: list[int] = []
        writer = _IdWriter(folder)
        for doc, toks in corpus.sentences():
            ids = vocab.ids(toks[:max_length])
            writer.add(ids.astype(np.int32))
            lengths.append(ids.size)
            docs.append(doc)
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(np.asarray(lengths, dtype=np.int64), out=offsets[1:])
        doc_arr = np.asarray(docs, dtype=np.int32)
        tokens = writer.finish(offsets, doc_arr)
        if folder is not None:
            opened = cls.open(folder)
            if opened is None:
                raise ModelFormatError(
                    f"the token ids written to {folder} cannot be read back; delete that "
                    "folder and train again"
                )
            return opened
        return cls(tokens, offsets, doc_arr)

    @classmethod
    def open(cls, folder: str | os.PathLike[str]) -> TokenIds | None:
        """Memory-map arrays written by :meth:`build`, or ``None`` when incomplete."""
        folder = Path(folder)
        if not (folder / "complete").is_file():
            return None
        try:
            return cls(
                np.load(folder / "tokens.npy", mmap_mode="r", allow_pickle=False),
                np.load(folder / "offsets.npy", allow_pickle=False),
                np.load(folder / "docs.npy", allow_pickle=False),
            )
        except (OSError, ValueError):
            return None


class _IdWriter:
    """Appends int32 token ids to a raw file (or a list), then writes ``.npy`` arrays."""

    def __init__(self, folder: str | os.PathLike[str] | None) -> None:
        self.folder = None if folder is None else Path(folder)
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.fh: Any = None
        if self.folder is not None:
            with _writing(self.folder):
                self.folder.mkdir(parents=True, exist_ok=True)
                (self.folder / "complete").unlink(missing_ok=True)
                self.fh = open(self.folder / "tokens.raw", "wb")

    def add(self, ids: np.ndarray) -> None:
        self.count += int(ids.size)
        if self.fh is not None:
            with _writing(Path(str(self.folder))):
                self.fh.write(ids.tobytes())
        else:
            self.parts.append(ids)

    def finish(self, offsets: np.ndarray, docs: np.ndarray) -> np.ndarray:
        if self.fh is None:
            return np.concatenate(self.parts) if self.parts else np.zeros(0, np.int32)
        folder = Path(str(self.folder))
        with _writing(folder):
            self._write_arrays(folder, offsets, docs)
        return np.zeros(0, np.int32)

    def _write_arrays(self, folder: Path, offsets: np.ndarray, docs: np.ndarray) -> None:
        self.fh.close()
        raw = folder / "tokens.raw"
        out = np.lib.format.open_memmap(
            folder / "tokens.npy", mode="w+", dtype=np.int32, shape=(self.count,)
        )
        src = np.memmap(raw, dtype=np.int32, mode="r", shape=(self.count,)) if self.count else None
        step = 1 << 22
        for start in range(0, self.count, step):
            out[start : start + step] = src[start : start + step]  # type: ignore[index]
        out.flush()
        del out, src
        raw.unlink()
        np.save(folder / "offsets.npy", offsets, allow_pickle=False)
        np.save(folder / "docs.npy", docs, allow_pickle=False)
        (folder / "complete").write_text("ok\n", encoding="utf-8")


def ordered_token_ids(
    source: str | os.PathLike[str] | Sequence[str],
    *,
    lowercase: bool,
    min_count: int,
    max_vocab: int | None,
    max_length: int,
    workdir: Path | None = None,
    specials: tuple[str, ...] | None = None,
) -> tuple[Any, TokenIds]:
    """The vocabulary and memory-mapped token ids of an ordered corpus, built once.

    With ``workdir``, both are stored in ``workdir/data-<key>/`` (the key covers the
    corpus fingerprint and the vocabulary settings) and reused by later epochs,
    resumed runs and other models of the same settings.  ``specials``: the reserved
    rows (``None``: the vocabulary's default ``<pad>``, ``<unk>``).

    Returns:
        ``(vocabulary, token_ids)``.

    Example:
        >>> vocab, data = ordered_token_ids(["a b", "b c", "", "c"], lowercase=True,
        ...                                 min_count=1, max_vocab=None, max_length=10)
        >>> data.n_sentences, len(vocab.words)
        (3, 3)
    """
    import hashlib
    import json

    from embeddings.training.vocab import Vocabulary

    corpus = OrderedCorpus(source, lowercase=lowercase)
    folder = None
    if workdir is not None:
        parts: list[Any] = [corpus.fingerprint(), min_count, max_vocab, max_length]
        if specials is not None:
            parts.append(list(specials))
        key = json.dumps(parts)
        folder = Path(workdir) / f"data-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
    vocab = _cached_vocab(folder)
    if vocab is None:
        extra = {} if specials is None else {"specials": tuple(specials)}
        vocab = Vocabulary.build(corpus, min_count=int(min_count), max_size=max_vocab, **extra)
        _store_vocab(folder, vocab)
    data = TokenIds.build(corpus, vocab, max_length=int(max_length), folder=folder)
    return vocab, data


def _cached_vocab(folder: Path | None) -> Any:
    import json

    from embeddings.training.vocab import Vocabulary

    if folder is None or not (folder / "vocab.json").is_file():
        return None
    try:
        meta = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        arrays = {k: np.load(folder / f"{k}.npy", allow_pickle=False)
                  for k in ("vocab.words_utf8", "vocab.counts")}  # fmt: skip
        return Vocabulary.from_arrays(arrays, meta)
    except (OSError, ValueError):
        return None


def _store_vocab(folder: Path | None, vocab: Any) -> None:
    import json

    if folder is None:
        return
    with _writing(folder):
        folder.mkdir(parents=True, exist_ok=True)
        for k, v in vocab.to_arrays().items():
            np.save(folder / f"{k}.npy", v, allow_pickle=False)
        (folder / "vocab.json").write_text(json.dumps(vocab.to_meta()), encoding="utf-8")
