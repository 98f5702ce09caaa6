"""Typed containers that task loaders return, with seeded (stratified) subsampling.

* :class:`TextClassificationData` — one text per row, integer labels indexing
  ``label_names`` (classification and clustering tasks);
* :class:`PairClassificationData` — two texts per row, integer labels (MRPC, SICK-E);
* :class:`PairScoreData` — two texts per row, a real-valued gold score (SICK-R, STS-B,
  STS12-16), with the STS subset of every row where the task has subsets.

Example:
    >>> import numpy as np
    >>> data = TextClassificationData(["a", "b", "c", "d"], np.array([0, 0, 1, 1]), ("neg", "pos"))
    >>> len(data), data.label_strings()
    (4, ['neg', 'neg', 'pos', 'pos'])
    >>> small = data.subsample(2, random_state=0)
    >>> sorted(small.labels.tolist())
    [0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Self

from embeddings.errors import InvalidParameterError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "PairClassificationData",
    "PairScoreData",
    "TextClassificationData",
    "check_max_samples",
    "sample_indices",
]


def check_max_samples(max_samples: object) -> int | None:
    """Validate ``max_samples``: ``None`` or an ``int`` >= 1 (``bool`` is refused).

    Example:
        >>> check_max_samples(10)
        10
    """
    if max_samples is None:
        return None
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise InvalidParameterError(
            f"max_samples must be None or an int >= 1, got {max_samples!r}; "
            "pass e.g. max_samples=1000 for a quick run"
        )
    return max_samples


def sample_indices(
    n: int,
    max_samples: int | None,
    random_state: int,
    strata: np.ndarray | None = None,
) -> np.ndarray | None:
    """Sorted indices of a seeded subsample, or ``None`` when nothing is dropped.

    With ``strata`` (integer class ids), each class keeps a share proportional to
    its size (largest-remainder rounding, so the total is exactly ``max_samples``).
    The kept rows stay in their original order.

    Args:
        n: Number of rows.
        max_samples: Rows to keep; ``None`` or ``>= n`` keeps all.
        random_state: Seed for :func:`numpy.random.default_rng`.
        strata: Optional class id per row for stratification.

    Example:
        >>> import numpy as np
        >>> sample_indices(6, 3, 0, np.array([0, 0, 0, 0, 1, 1])).size
        3
    """
    import numpy as np

    max_samples = check_max_samples(max_samples)
    if max_samples is None or max_samples >= n:
        return None
    rng = np.random.default_rng(random_state)
    if strata is None:
        chosen = rng.choice(n, size=max_samples, replace=False)
        return np.sort(chosen)
    classes, inverse, counts = np.unique(strata, return_inverse=True, return_counts=True)
    exact = counts * (max_samples / n)
    quota = np.floor(exact).astype(np.int64)
    remainder = max_samples - int(quota.sum())
    if remainder:
        # largest fractional parts first; ties broken by class order (stable sort)
        order = np.argsort(-(exact - quota), kind="stable")
        quota[order[:remainder]] += 1
    picks = []
    for k in range(classes.size):
        members = np.flatnonzero(inverse == k)
        if quota[k]:
            picks.append(rng.choice(members, size=int(quota[k]), replace=False))
    return np.sort(np.concatenate(picks))


def _take(items: Sequence[str], idx: np.ndarray) -> list[str]:
    return [items[i] for i in idx.tolist()]


class _Rows:
    """Row selection shared by the task data classes: every list or array field holds
    one entry per row, so a subset of rows is that subset of every such field."""

    def __len__(self) -> int:
        raise NotImplementedError

    def _strata(self) -> np.ndarray | None:
        """The class id per row that :meth:`subsample` keeps in proportion."""
        return None

    def _rows(self, idx: np.ndarray) -> Self:
        changes: dict[str, Any] = {}
        for field in fields(self):  # type: ignore[arg-type]  # subclasses are dataclasses
            value = getattr(self, field.name)
            if isinstance(value, list):
                changes[field.name] = _take(value, idx)
            elif hasattr(value, "shape"):
                changes[field.name] = value[idx]
        return replace(self, **changes)  # type: ignore[type-var]

    def subsample(self, max_samples: int | None, random_state: int = 0) -> Self:
        """A seeded subsample (``self`` when nothing would be dropped), stratified by
        label, or by subset for STS data with subsets."""
        idx = sample_indices(len(self), max_samples, random_state, self._strata())
        return self if idx is None else self._rows(idx)


class _Labelled(_Rows):
    """Rows with integer ``labels`` that index ``label_names``."""

    labels: np.ndarray
    label_names: tuple[str, ...]

    def _strata(self) -> np.ndarray | None:
        return self.labels

    def label_strings(self) -> list[str]:
        """The labels as their names."""
        return [self.label_names[i] for i in self.labels.tolist()]


@dataclass(frozen=True, eq=False)
class TextClassificationData(_Labelled):
    """Single texts with integer labels.

    Attributes:
        texts: The texts, in file order.
        labels: ``int64`` array, ``labels[i]`` indexes :attr:`label_names`.
        label_names: The task's sorted label names (stable across splits).
    """

    texts: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts)

    def in_senteval_order(self) -> TextClassificationData:
        """The rows sorted by (whitespace token count, label id), ties in current order.

        This is the order in which SentEval's MR/CR/SUBJ/MPQA and TREC loaders pass
        their samples to the classifier (Conneau & Kiela, 2018): their stratified,
        shuffled folds are drawn over it, so fold membership, and the score, depend
        on it.  Label ids follow SentEval's (1 = positive, 1 = objective for SUBJ;
        TREC's coarse classes alphabetically).

        Example:
            >>> import numpy as np
            >>> d = TextClassificationData(["a b c", "x", "y z", "w"], np.array([0, 1, 1, 0]),
            ...                            ("0", "1"))
            >>> d.in_senteval_order().texts
            ['w', 'x', 'y z', 'a b c']
        """
        import numpy as np

        counts = np.fromiter(
            (len(text.split()) for text in self.texts), dtype=np.int64, count=len(self.texts)
        )
        order = np.lexsort((self.labels, counts))  # last key first; lexsort is stable
        return self._rows(order)


@dataclass(frozen=True, eq=False)
class PairClassificationData(_Labelled):
    """Text pairs with integer labels.

    Attributes:
        texts_a: First texts.
        texts_b: Second texts (same length).
        labels: ``int64`` array indexing :attr:`label_names`.
        label_names: Sorted label names.
    """

    texts_a: list[str]
    texts_b: list[str]
    labels: np.ndarray
    label_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.texts_a)


@dataclass(frozen=True, eq=False)
class PairScoreData(_Rows):
    """Text pairs with a real-valued gold similarity score.

    Attributes:
        texts_a: First texts.
        texts_b: Second texts.
        scores: ``float64`` gold scores.
        subset_ids: For STS tasks, ``int64`` index into :attr:`subset_names` per row;
            ``None`` for tasks without subsets.
        subset_names: The STS subsets present, in task order (``()`` if none).
    """

    texts_a: list[str]
    texts_b: list[str]
    scores: np.ndarray
    subset_ids: np.ndarray | None = None
    subset_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.texts_a)

    def by_subset(self) -> dict[str, PairScoreData]:
        """Split into one :class:`PairScoreData` per subset (``{"": self}`` if none).

        Example:
            >>> import numpy as np
            >>> d = PairScoreData(["a", "b"], ["c", "d"], np.array([1.0, 2.0]),
            ...                   np.array([0, 1]), ("x", "y"))
            >>> {k: len(v) for k, v in d.by_subset().items()}
            {'x': 1, 'y': 1}
        """
        if self.subset_ids is None:
            return {"": self}
        import numpy as np

        out: dict[str, PairScoreData] = {}
        for k, name in enumerate(self.subset_names):
            idx = np.flatnonzero(self.subset_ids == k)
            out[name] = PairScoreData(
                _take(self.texts_a, idx), _take(self.texts_b, idx), self.scores[idx]
            )
        return out

    def _strata(self) -> np.ndarray | None:
        return self.subset_ids
