"""A capped word vocabulary with reserved special rows, stored without pickle.

Rows ``0 .. len(specials) - 1`` are the special tokens (``<pad>`` is always row 0
and ``<unk>`` row 1); the words follow, most frequent first (ties broken by the
word itself, so the order never depends on dict or hash order).

Example:
    >>> v = Vocabulary.build([["a", "b", "a"], ["c", "a"]], min_count=1)
    >>> v.words, v.id("a"), v.id("zebra")
    (['a', 'b', 'c'], 2, 1)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from embeddings._checks import check_int, check_optional_int
from embeddings.errors import InvalidParameterError, ModelFormatError

__all__ = ["Vocabulary", "PAD", "UNK"]

PAD = "<pad>"
UNK = "<unk>"


@dataclass
class Vocabulary:
    """Words with their corpus counts behind reserved special rows.

    Attributes:
        words: the words, most frequent first (without the specials).
        counts: int64 corpus count of each word.
        specials: the reserved tokens, ``<pad>`` and ``<unk>`` first.
    """

    words: list[str]
    counts: np.ndarray
    specials: tuple[str, ...] = (PAD, UNK)
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.specials[:2] != (PAD, UNK):
            raise InvalidParameterError(
                f"specials must start with {PAD!r}, {UNK!r}; got {self.specials!r}"
            )
        self.counts = np.asarray(self.counts, dtype=np.int64)
        if self.counts.shape != (len(self.words),):
            raise ModelFormatError(
                f"vocabulary has {len(self.words)} words but {self.counts.shape} counts"
            )

    # --------------------------------------------------------------- build
    @classmethod
    def build(
        cls,
        sentences: Iterable[Sequence[str]],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: tuple[str, ...] = (PAD, UNK),
    ) -> Vocabulary:
        """Count tokens in one streaming pass and keep the frequent ones.

        Args:
            sentences: token lists (streamed; never held in memory).
            min_count: drop words seen fewer times.
            max_size: keep at most this many words (most frequent first); ``None``: all.
            specials: reserved tokens before the words (``<pad>``, ``<unk>`` first).

        Example:
            >>> Vocabulary.build([["x", "y", "y"]], max_size=1).words
            ['y']
        """
        check_int("min_count", min_count)
        check_optional_int("max_size", max_size)
        counter: Counter[str] = Counter()
        for tokens in sentences:
            counter.update(tokens)
        for s in specials:
            counter.pop(s, None)
        kept = sorted(
            (w for w, c in counter.items() if c >= min_count), key=lambda w: (-counter[w], w)
        )
        if max_size is not None:
            kept = kept[:max_size]
        return cls(kept, np.array([counter[w] for w in kept], dtype=np.int64), tuple(specials))

    # -------------------------------------------------------------- lookup
    def __len__(self) -> int:
        """Rows of an embedding table over this vocabulary (specials included)."""
        return len(self.specials) + len(self.words)

    @property
    def index(self) -> dict[str, int]:
        """``token -> row`` (specials included)."""
        if self._index is None:
            idx = {s: i for i, s in enumerate(self.specials)}
            n = len(self.specials)
            idx.update({w: i + n for i, w in enumerate(self.words)})
            self._index = idx
        return self._index

    def id(self, token: str) -> int:
        """Row of ``token`` (``<unk>``'s row for unknown tokens)."""
        return self.index.get(token, 1)

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """int64 rows of ``tokens``.

        Example:
            >>> Vocabulary(["a"], [3]).ids(["a", "b"]).tolist()
            [2, 1]
        """
        get = self.index.get
        return np.fromiter((get(t, 1) for t in tokens), dtype=np.int64, count=len(tokens))

    def tokens(self) -> list[str]:
        """Every row's token, specials first."""
        return [*self.specials, *self.words]

    # ------------------------------------------------------------- storage
    def to_arrays(self, prefix: str = "vocab") -> dict[str, np.ndarray]:
        """Safetensors-ready arrays: UTF-8 words (newline-separated) and counts."""
        return {
            f"{prefix}.words_utf8": np.frombuffer(
                "\n".join(self.words).encode("utf-8"), dtype=np.uint8
            ).copy(),
            f"{prefix}.counts": self.counts.copy(),
        }

    def to_meta(self) -> dict[str, object]:
        """JSON part: the specials and the word count."""
        return {"specials": list(self.specials), "size": len(self.words)}

    @classmethod
    def from_arrays(
        cls, arrays: dict[str, np.ndarray], meta: dict[str, object], prefix: str = "vocab"
    ) -> Vocabulary:
        """Inverse of :meth:`to_arrays` / :meth:`to_meta`.

        Raises:
            ModelFormatError: missing arrays or a word count that does not match.
        """
        for key in (f"{prefix}.words_utf8", f"{prefix}.counts"):
            if key not in arrays:
                raise ModelFormatError(f"saved vocabulary lacks the array {key!r}")
        size = meta.get("size")
        specials = meta.get("specials")
        if not isinstance(size, int) or size < 0:
            raise ModelFormatError(f"saved vocabulary 'size' must be an int >= 0, got {size!r}")
        if not isinstance(specials, list) or not all(isinstance(s, str) for s in specials):
            raise ModelFormatError(f"saved vocabulary 'specials' must be strings, got {specials!r}")
        raw = np.asarray(arrays[f"{prefix}.words_utf8"])
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise ModelFormatError(f"{prefix}.words_utf8 must be 1-D uint8, got {raw.dtype}")
        try:
            text = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as err:
            raise ModelFormatError(f"{prefix}.words_utf8 is not UTF-8: {err}") from err
        words = text.split("\n") if size else []
        if len(words) != size:
            raise ModelFormatError(f"saved vocabulary has {len(words)} words, expected {size}")
        return cls(words, np.asarray(arrays[f"{prefix}.counts"]), tuple(specials))
