"""Pooling of word vectors into text vectors, and the weights it learns from training texts.

Poolings (the ``pooling`` parameter of the word-vector encoders):

* ``mean``: the average of the word vectors.
* ``tfidf``: the IDF-weighted average, IDF fitted on the training texts
  (``ln((1 + n) / (1 + df)) + 1``, as scikit-learn's smooth IDF).
* ``sif``: Arora et al. (2017): ``a / (a + p(w))`` weights, ``p(w)`` from the training
  texts (``word_freq="train"``) or from ``wordfreq``, then the projection on the
  first principal component of the *training* text vectors is removed.
* ``usif``: Ethayarajh (2018): ``a`` derived from the vocabulary size and the mean
  training text length, unit-length word vectors, weights ``a / (a/2 + p(w))``, and
  removal of 5 principal components weighted by their explained variance.
* ``max``: the element-wise maximum.
* ``pmean``: concatenated power means (Rücklé et al. 2018), ``powers=(1, "max", "min")``
  by default: ``len(powers) * dim`` outputs.

Each learned piece is a small component with its own fit: token weights
(:func:`idf_weights`, :func:`sif_weights`, :func:`usif_weights`) and principal
components (:func:`principal_components`).  :class:`Pooler` puts them together for
one set of parameters; what it learns is a :class:`FittedPooling`.  Weighted
averages are two sparse products, ``(chunks x words) @ table`` and then
``(texts x chunks) @ chunk vectors``: there is no Python loop over words, chunks or
texts at vector time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import scipy.sparse as sp

from embeddings._checks import check_optional_int
from embeddings._params import store_params
from embeddings.adapters.word_vectors.lookup import ChunkBatch, Lookup, truncate
from embeddings.errors import InvalidParameterError

__all__ = [
    "FITTED_POOLINGS",
    "MAX_COMPONENTS",
    "MAX_POWER",
    "MAX_POWERS",
    "FittedPooling",
    "Pooler",
    "Pooling",
    "WordFreq",
    "idf_weights",
    "principal_components",
    "sif_weights",
    "usif_weights",
]

Pooling = Literal["mean", "tfidf", "sif", "usif", "max", "pmean"]
WordFreq = Literal["train", "wordfreq"]
POOLINGS: tuple[str, ...] = ("mean", "tfidf", "sif", "usif", "max", "pmean")
FITTED_POOLINGS: tuple[str, ...] = ("tfidf", "sif", "usif")
LINEAR_POOLINGS: tuple[str, ...] = ("mean", "tfidf", "sif", "usif")

#: the most entries of ``powers`` (the ``pmean`` output has ``len(powers) * dim`` columns)
MAX_POWERS = 16
#: the largest integer power of ``powers``
MAX_POWER = 100
#: the most principal components that ``sif``/``usif`` remove (``n_components``)
MAX_COMPONENTS = 10_000


class FittedPooling(NamedTuple):
    """What a pooling learns from training texts (nothing for mean, max, pmean)."""

    #: float32 weight per vocabulary row (tfidf, sif, usif), or None
    weights: np.ndarray | None = None
    #: the weight of rows past the vocabulary (subword vectors of unknown words)
    oov_weight: float = 1.0
    #: float32 ``(k, dim)`` principal components removed from every text vector
    components: np.ndarray | None = None
    #: float32 ``(k,)`` weight of each removed component
    component_weights: np.ndarray | None = None


# --------------------------------------------------------------- components
def idf_weights(
    ids: np.ndarray, rows: np.ndarray, n_texts: int, n_vocab: int
) -> tuple[np.ndarray, float]:
    """Smooth IDF per vocabulary row, ``ln((1 + n) / (1 + df)) + 1``, and the OOV weight."""
    known = ids < n_vocab
    pairs = np.unique(rows[known] * n_vocab + ids[known])
    df = np.bincount(pairs % n_vocab, minlength=n_vocab).astype(np.float64)
    idf = np.log((1.0 + n_texts) / (1.0 + df)) + 1.0
    return idf.astype(np.float32), float(np.log(1.0 + n_texts) + 1.0)


def sif_weights(p: np.ndarray, a: float) -> tuple[np.ndarray, float]:
    """SIF weights ``a / (a + p(w))`` per vocabulary row; unknown words weigh 1."""
    return (a / (a + p)).astype(np.float32), 1.0


def usif_weights(
    p: np.ndarray, n_freq_words: int, rows: np.ndarray, n_texts: int
) -> tuple[np.ndarray, float]:
    """uSIF weights ``a / (a/2 + p(w))``, ``a`` from the vocabulary size and text length."""
    lengths = np.bincount(rows, minlength=n_texts)
    mean_len = max(1, round(float(lengths.mean()))) if n_texts else 1
    v = max(n_freq_words, 1)
    threshold = 1.0 - (1.0 - 1.0 / v) ** mean_len
    alpha = max(float(np.count_nonzero(p > threshold)) / v, 1.0 / v)
    a = (1.0 - alpha) / (alpha * 0.5 * v)
    p_known = p[p > 0]
    p_min = float(p_known.min()) if p_known.size else 0.0
    p = np.where(p > 0, p, p_min)
    return (a / (0.5 * a + p)).astype(np.float32), float(a / (0.5 * a + p_min))


def principal_components(
    x: np.ndarray, k: int, *, by_energy: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """The first ``k`` principal components of the rows of ``x`` and their weights.

    The sign is deterministic (the largest-magnitude entry of each component is
    positive); the weights are 1, or with ``by_energy`` each component's share of the
    explained variance (uSIF).  ``None`` when no component can be taken.
    """
    x = x.astype(np.float64)
    k = min(k, x.shape[0], x.shape[1])
    if k == 0:
        return None
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    comps = vt[:k]
    signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
    comps = comps * np.where(signs == 0, 1.0, signs)[:, None]
    if by_energy:
        energy = s[:k] ** 2
        total = float(energy.sum())
        lam = (energy / total if total > 0 else np.zeros(k)).astype(np.float32)
    else:
        lam = np.ones(k, dtype=np.float32)
    return comps.astype(np.float32), lam


def remove_components(x: np.ndarray, fitted: FittedPooling) -> np.ndarray:
    """``x`` less its weighted projections on the fitted principal components."""
    if fitted.components is None:
        return x
    c = fitted.components.astype(np.float64)
    lam = np.asarray(fitted.component_weights, dtype=np.float64)
    x64 = x.astype(np.float64)
    # element-wise products + a per-row sum: independent of the batch composition
    proj = (x64[:, None, :] * c[None, :, :]).sum(axis=2) * lam[None, :]
    removal = (proj[:, :, None] * c[None, :, :]).sum(axis=1)
    return (x64 - removal).astype(np.float32)


def _token_weights(ids: np.ndarray, fitted: FittedPooling) -> np.ndarray | None:
    weights = fitted.weights
    if weights is None:
        return None
    n_vocab = weights.shape[0]
    out = np.full(ids.shape, fitted.oov_weight, dtype=np.float32)
    known = ids < n_vocab
    out[known] = weights[ids[known]]
    return out


def parse_powers(powers: object) -> list[int | str]:
    """The entries of ``powers`` (``pmean``), checked: integers 1 to 100, "max", "min"."""
    if isinstance(powers, (str, bytes)) or not isinstance(powers, Sequence) or not powers:
        raise InvalidParameterError(
            f"powers must be a non-empty list of integers >= 1 and 'max'/'min', got {powers!r:.80}"
        )
    if len(powers) > MAX_POWERS:
        raise InvalidParameterError(
            f"powers may have at most {MAX_POWERS} entries, got {len(powers)}"
        )
    out: list[int | str] = []
    for p in powers:
        if isinstance(p, str) and p in ("max", "min"):
            out.append(p)
        elif (
            not isinstance(p, (bool, np.bool_))
            and isinstance(p, (int, float, np.integer, np.floating))
            and 1 <= p <= MAX_POWER
            and float(p).is_integer()
        ):
            out.append(int(p))
        else:
            raise InvalidParameterError(
                f"powers entries must be integers from 1 to {MAX_POWER} or 'max'/'min', got "
                f"{p!r:.40} in {powers!r:.80}"
            )
    return out


class Pooler:
    """One pooling with its parameters: ``fit`` on training texts, then ``transform``.

    Args:
        pooling: ``mean``, ``tfidf``, ``sif``, ``usif``, ``max`` or ``pmean``.
        sif_a: the ``a`` of SIF weights.
        word_freq: where ``p(w)`` comes from (``"train"`` or ``"wordfreq"``).
        n_components: principal components removed (``None``: 1 for sif, 5 for usif).
        powers: the power means of ``pmean``.
        lowercase: whether the vocabulary is looked up lowercased (for ``wordfreq``).

    Example:
        >>> Pooler("pmean", powers=(1, "max")).output_dim(50)
        100
    """

    def __init__(
        self,
        pooling: str,
        *,
        sif_a: float = 1e-3,
        word_freq: str = "train",
        n_components: int | None = None,
        powers: Sequence[int | str] = (1, "max", "min"),
        lowercase: bool = True,
    ) -> None:
        store_params(self, locals())

    def check(self) -> None:
        """Refuse parameters outside their documented ranges (``InvalidParameterError``)."""
        if self.pooling not in POOLINGS:
            raise InvalidParameterError(
                f"pooling must be one of {list(POOLINGS)}, got {self.pooling!r}"
            )
        a = self.sif_a
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or a <= 0:
            raise InvalidParameterError(f"sif_a must be a number > 0, got {a!r}")
        if self.word_freq not in ("train", "wordfreq"):
            raise InvalidParameterError(
                f"word_freq must be 'train' or 'wordfreq', got {self.word_freq!r}"
            )
        k = check_optional_int("n_components", self.n_components, minimum=0)
        if k is not None and k > MAX_COMPONENTS:
            raise InvalidParameterError(
                f"n_components must be None or an int from 0 to {MAX_COMPONENTS}, got {k}"
            )
        if k and self.pooling not in ("sif", "usif"):
            raise InvalidParameterError(
                f"n_components applies to pooling 'sif' or 'usif' only, got pooling="
                f"{self.pooling!r} with n_components={k}"
            )
        parse_powers(self.powers)

    @property
    def learns(self) -> bool:
        """Whether the pooling learns weights from training texts (tfidf, sif, usif)."""
        return self.pooling in FITTED_POOLINGS

    def max_components(self) -> int:
        """The principal components removed: ``n_components``, else 1 (sif), 5 (usif), 0."""
        if self.n_components is not None:
            return int(self.n_components)
        return {"sif": 1, "usif": 5}.get(str(self.pooling), 0)

    def output_dim(self, dim: int) -> int:
        """The width of a text vector for word vectors of width ``dim``."""
        return dim * len(parse_powers(self.powers)) if self.pooling == "pmean" else dim

    # ------------------------------------------------------------------ fit
    def _word_probabilities(self, lookup: Lookup, ids: np.ndarray) -> tuple[np.ndarray, int]:
        """p(w) for every vocabulary row, and the size of the frequency vocabulary."""
        vocab = lookup.table.vocab
        n_vocab = len(vocab)
        if self.word_freq == "wordfreq":
            from embeddings._deps import require

            wordfreq = require("wordfreq", extra="models")
            freqs = wordfreq.get_frequency_dict("en", wordlist="best")
            get = freqs.get
            p = np.fromiter(
                (get(w, 0.0) if self.lowercase else get(w.lower(), 0.0) for w in vocab),
                dtype=np.float64,
                count=n_vocab,
            )
            return p, len(freqs)
        known = ids[ids < n_vocab]
        counts = np.bincount(known, minlength=n_vocab).astype(np.float64)
        total = counts.sum()
        p = counts / total if total > 0 else counts
        return p, int(np.count_nonzero(counts))

    def fit(self, lookup: Lookup, texts: list[str]) -> FittedPooling:
        """Token weights and principal components learned from training ``texts``."""
        if not self.learns:
            return FittedPooling()
        texts = truncate(texts)
        batch = lookup.chunk_batch(texts)
        ids, rows = lookup.tokens(batch)
        n = len(texts)
        if self.pooling == "tfidf":
            return FittedPooling(*idf_weights(ids, rows, n, lookup.n_vocab))
        p, v = self._word_probabilities(lookup, ids)
        if self.pooling == "sif":
            fitted = FittedPooling(*sif_weights(p, float(self.sif_a)))
        else:
            fitted = FittedPooling(*usif_weights(p, v, rows, n))
        k = self.max_components()
        if k == 0:
            return fitted
        found = principal_components(
            self.pool(lookup, batch, fitted)[0], k, by_energy=self.pooling == "usif"
        )
        return (
            fitted
            if found is None
            else fitted._replace(components=found[0], component_weights=found[1])
        )

    # ------------------------------------------------------------ transform
    def transform(
        self, lookup: Lookup, batch: ChunkBatch, fitted: FittedPooling
    ) -> tuple[np.ndarray, int]:
        """Text vectors of a batch, and the number of texts without a known token."""
        pooled, n_empty = self.pool(lookup, batch, fitted)
        return remove_components(pooled, fitted), n_empty

    def pool(
        self, lookup: Lookup, batch: ChunkBatch, fitted: FittedPooling
    ) -> tuple[np.ndarray, int]:
        """Pooled vectors of a batch (before component removal), and its empty texts."""
        if self.pooling in LINEAR_POOLINGS:
            return self._pool_linear(lookup, batch, fitted)
        ids, rows = lookup.tokens(batch)
        counts = np.bincount(rows, minlength=batch.n)
        return self._pool_tokens(lookup, ids, counts), batch.n - int(np.count_nonzero(counts))

    def _pool_linear(
        self, lookup: Lookup, batch: ChunkBatch, fitted: FittedPooling
    ) -> tuple[np.ndarray, int]:
        """Weighted averages as two sparse products, without touching every token.

        ``C = D @ E``: one row per distinct chunk of the batch, the weighted sum of its
        tokens' vectors (``D[chunk, word]`` the weights, ``E`` the used table rows);
        then ``A @ C`` with ``A[text, chunk] = scale(text)`` for each occurrence, the
        scale being ``1/len`` (mean, sif, usif) or ``1/sum of idf`` (tfidf).  Each row
        depends on its own text only, so the result does not depend on the batching.
        """
        n = batch.n
        flat, lens = lookup.distinct_tokens(batch.codes)
        a_ptr = np.zeros(n + 1, dtype=np.int64)  # the chunk occurrences of each text
        np.cumsum(np.bincount(batch.text, minlength=n), out=a_ptr[1:])
        tok_ptr = np.zeros(batch.which.size + 1, dtype=np.int64)
        np.cumsum(lens[batch.which], out=tok_ptr[1:])  # occurrences are in text order
        n_tokens = (tok_ptr[a_ptr[1:]] - tok_ptr[a_ptr[:-1]]).astype(np.float64)
        n_empty = n - int(np.count_nonzero(n_tokens))
        if flat.size == 0:
            return np.zeros((n, lookup.dim), dtype=np.float32), n_empty
        weights = _token_weights(flat, fitted)
        if self.pooling == "usif":
            scale = lookup.unit_scale(flat)
            weights = scale if weights is None else weights * scale
        if weights is None:
            weights = np.ones(flat.size, dtype=np.float32)
        present = np.zeros(int(flat.max()) + 1, dtype=bool)
        present[flat] = True
        used = np.flatnonzero(present)
        cols = (np.cumsum(present) - 1)[flat]  # rank of each id among the used rows
        n_distinct = batch.codes.size
        d_ptr = np.concatenate(([0], np.cumsum(lens)))
        d = sp.csr_matrix((weights, cols, d_ptr), shape=(n_distinct, used.size))
        per_chunk = np.asarray(d @ lookup.gather(used), dtype=np.float32)
        if self.pooling == "tfidf":
            chunk_weight = np.bincount(
                np.repeat(np.arange(n_distinct), lens), weights=weights, minlength=n_distinct
            )
            totals = np.bincount(batch.text, weights=chunk_weight[batch.which], minlength=n)
        else:
            totals = n_tokens
        scale = np.where(totals > 0, 1.0 / np.maximum(totals, 1e-300), 0.0).astype(np.float32)
        a = sp.csr_matrix((scale[batch.text], batch.which, a_ptr), shape=(n, n_distinct))
        return np.asarray(a @ per_chunk, dtype=np.float32), n_empty

    def _pool_tokens(self, lookup: Lookup, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """``max`` and ``pmean`` pooling over the token occurrences."""
        n = counts.size
        dim = lookup.dim
        powers = ["max"] if self.pooling == "max" else parse_powers(self.powers)
        out = np.zeros((n, dim * len(powers)), dtype=np.float32)
        nonempty = np.flatnonzero(counts)
        if nonempty.size == 0:
            return out
        starts = (np.cumsum(counts) - counts)[nonempty]
        gathered = lookup.gather(ids)
        for j, p in enumerate(powers):
            cols = slice(j * dim, (j + 1) * dim)
            if p == "max":
                out[nonempty, cols] = np.maximum.reduceat(gathered, starts, axis=0)
            elif p == "min":
                out[nonempty, cols] = np.minimum.reduceat(gathered, starts, axis=0)
            else:
                k = int(p)
                g = gathered.astype(np.float64)
                sums = np.add.reduceat(g if k == 1 else g**k, starts, axis=0)
                means = sums / counts[nonempty][:, None]
                if k > 1:
                    means = np.sign(means) * np.abs(means) ** (1.0 / k)
                out[nonempty, cols] = means
        return out
