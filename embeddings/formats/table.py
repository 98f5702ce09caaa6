"""The in-memory word-vector table that every format reader returns.

A :class:`VectorTable` is a vocabulary (row ``i`` is the word of ``vectors[i]``),
a float32 ``(n_words, dim)`` matrix (possibly memory-mapped, then read-only), and,
for fastText models, the subword (character n-gram) vectors used to build vectors
for out-of-vocabulary words.

Example:
    >>> import numpy as np
    >>> t = VectorTable(["a", "b"], np.eye(2, dtype=np.float32))
    >>> t.dim, len(t)
    (2, 2)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.errors import ModelFormatError

__all__ = ["MAX_SUBWORD_N", "MAX_SUBWORD_WORD_CHARS", "Subwords", "VectorTable"]

#: the longest word whose n-grams all count for an out-of-vocabulary fastText vector;
#: a longer word (no real word is) uses its first this-many characters, so one word's
#: cost stays bounded
MAX_SUBWORD_WORD_CHARS = 1024

#: the longest character n-gram a subword table may use (fastText's default is 6, and
#: the trainers accept up to the same 32); it bounds the work of building the vector
#: of an unknown word to ``MAX_SUBWORD_N`` hashes per character
MAX_SUBWORD_N = 32


@dataclass(frozen=True)
class Subwords:
    """fastText character n-gram vectors (hashed into ``bucket`` rows).

    Attributes:
        vectors: float32 ``(bucket, dim)`` n-gram bucket vectors.
        min_n: shortest n-gram length.
        max_n: longest n-gram length.
    """

    vectors: np.ndarray
    min_n: int
    max_n: int

    def __post_init__(self) -> None:
        for name in ("min_n", "max_n"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ModelFormatError(f"subwords: {name} must be an integer, got {value!r:.40}")
            if not 0 <= value <= MAX_SUBWORD_N:
                raise ModelFormatError(
                    f"subwords: {name} must be between 0 and {MAX_SUBWORD_N}, got {value}"
                )
        if self.vectors.ndim != 2 or self.vectors.shape[0] < 1:
            raise ModelFormatError(
                "subwords: the n-gram vectors must be 2-D with at least one bucket, got shape "
                f"{self.vectors.shape}"
            )

    @property
    def bucket(self) -> int:
        """Number of hash buckets (rows of :attr:`vectors`)."""
        return int(self.vectors.shape[0])

    def vector(self, word: str) -> np.ndarray | None:
        """The fastText vector of an out-of-vocabulary ``word``, or ``None`` without n-grams.

        Same definition as gensim's ``FastTextKeyedVectors.get_vector`` for unknown
        words: the mean of the bucket vectors of the word's ``<word>`` n-grams.

        Example:
            >>> sw = Subwords(np.ones((10, 2), dtype=np.float32), 3, 4)
            >>> sw.vector("cat").tolist()
            [1.0, 1.0]
        """
        from gensim.models.fasttext import ft_ngram_hashes

        # a word's n-grams grow with its length times (max_n - min_n + 1); past
        # MAX_SUBWORD_WORD_CHARS characters only the head of the word counts
        hashes = ft_ngram_hashes(word[:MAX_SUBWORD_WORD_CHARS], self.min_n, self.max_n, self.bucket)
        if len(hashes) == 0:
            return None
        acc = np.zeros(self.vectors.shape[1], dtype=np.float32)
        for h in hashes:  # same summation order as gensim
            acc += self.vectors[h]
        return acc / np.float32(len(hashes))


@dataclass
class VectorTable:
    """A vocabulary and its vectors.

    Attributes:
        vocab: the words; ``vocab[i]`` is the word of ``vectors[i]``.
        vectors: float32 ``(len(vocab), dim)``.
        subwords: fastText n-gram vectors, if the source has them.
        source: where the table came from (a path or a name), for messages.
        counts: optional corpus frequency of each word (word2vec/fastText models).
    """

    vocab: list[str]
    vectors: np.ndarray
    subwords: Subwords | None = None
    source: str = ""
    counts: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.vectors.ndim != 2:
            raise ModelFormatError(
                f"{self.source or 'vector table'}: vectors must be 2-D, got shape "
                f"{self.vectors.shape}"
            )
        if self.vectors.shape[0] != len(self.vocab):
            raise ModelFormatError(
                f"{self.source or 'vector table'}: {self.vectors.shape[0]} vectors for "
                f"{len(self.vocab)} words"
            )

    def __len__(self) -> int:
        return len(self.vocab)

    @property
    def dim(self) -> int:
        """Vector length."""
        return int(self.vectors.shape[1])

    def index(self) -> dict[str, int]:
        """``word -> row`` (the first occurrence wins for duplicated words)."""
        out: dict[str, int] = {}
        for i, w in enumerate(self.vocab):
            out.setdefault(w, i)
        return out


def display(path: str | Path) -> str:
    """How a path is shown in error messages."""
    return str(path)
