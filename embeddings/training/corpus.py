"""Streaming text corpora for training word vectors and paragraph vectors.

A :class:`TextCorpus` is a *restartable* iterable (gensim iterates several times:
once to build the vocabulary, then once per epoch) that yields one token list per
non-blank line of the corpus files, or per text of an in-memory list.  Files are
read line by line, so the corpus is never held in memory.  Tokens come from the
same tokenizer as the encoders (:mod:`embeddings.adapters._tokenize`).

Example:
    >>> corpus = TextCorpus(["The cat sat.", "", "A dog!"])
    >>> list(corpus)
    [['the', 'cat', 'sat', '.'], ['a', 'dog', '!']]
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from embeddings.adapters._tokenize import tokenize
from embeddings.errors import DataNotFoundError, InvalidInputError

__all__ = ["TextCorpus", "CorpusStats", "corpus_files"]


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
        assert self.files is not None
        for f in self.files:
            with open(f, encoding="utf-8", errors="replace") as fh:
                for line in fh:
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
