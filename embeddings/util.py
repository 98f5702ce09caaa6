"""Cosine similarity and nearest-neighbour search over sentence vectors.

The helpers take the arrays that ``encode`` returns (or any 2-D numeric arrays)
and follow the conventions of sentence-transformers' ``util`` module:

* :func:`similarity` is the cosine matrix, float32 ``(len(a), len(b))``; a zero
  vector has similarity 0 with everything (never NaN);
* :func:`semantic_search` returns, for each query, the ``top_k`` corpus rows as
  ``{"corpus_id": int, "score": float}`` sorted by decreasing score (ties by
  ``corpus_id``), computed chunk by chunk so that a large corpus never needs a
  full ``(n_queries, n_corpus)`` matrix;
* :func:`normalize_rows` scales rows to unit length (zero rows stay zero), which is
  what ``encoder.encode(texts, normalize=True)`` applies.

Example:
    >>> import numpy as np
    >>> from embeddings.util import semantic_search, similarity
    >>> corpus = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], dtype=np.float32)
    >>> print(similarity(corpus[:1], corpus).round(3))
    [[1.    0.    0.707]]
    >>> [hit["corpus_id"] for hit in semantic_search(corpus[:1], corpus, top_k=2)[0]]
    [0, 2]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike

from embeddings._checks import check_int
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = ["SearchHit", "normalize_rows", "semantic_search", "similarity"]


class SearchHit(TypedDict):
    """One result of :func:`semantic_search`: a corpus row and its cosine similarity."""

    corpus_id: int
    score: float


def _as_matrix(x: Any, what: str) -> np.ndarray:
    """``x`` as a float32 2-D array (one 1-D vector becomes one row)."""
    if isinstance(x, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be vectors (a 2-D array such as encoder.encode(texts) returns), got "
            f"a {type(x).__name__}; encode the texts first"
        )
    if hasattr(x, "toarray") and callable(x.toarray):  # a scipy.sparse matrix
        x = x.toarray()
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError) as err:
        hint = "; encode the texts first" if "str" in repr(err) or "string" in str(err) else ""
        raise InvalidInputError(
            f"{what} must be a numeric 2-D array (n, dim), got {type(x).__name__} ({err}){hint}"
        ) from None
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise InvalidInputError(
            f"{what} must be a 2-D array (n, dim) or one 1-D vector, got shape {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{what} holds NaN or infinite values")
    return arr


def normalize_rows(x: ArrayLike) -> np.ndarray:
    """Rows scaled to unit Euclidean length, float32; zero rows stay zero.

    Args:
        x: a 2-D array ``(n, dim)`` (a 1-D vector is one row).

    Returns:
        A new C-contiguous float32 array of the same shape as the 2-D input.

    Example:
        >>> print(normalize_rows([[3.0, 4.0], [0.0, 0.0]]))
        [[0.6 0.8]
         [0.  0. ]]
    """
    arr = np.array(_as_matrix(x, "x"), dtype=np.float32, order="C", copy=True)
    return _normalize_inplace(arr)


def _normalize_inplace(arr: np.ndarray) -> np.ndarray:
    """Scale the rows of the float32 array ``arr`` to unit length in place."""
    norms = np.sqrt(np.einsum("ij,ij->i", arr, arr, dtype=np.float64))
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    arr *= scale.astype(np.float32)[:, None]
    return arr


def similarity(a: ArrayLike, b: ArrayLike | None = None) -> np.ndarray:
    """Cosine similarity of every row of ``a`` with every row of ``b``.

    Args:
        a: vectors ``(n, dim)`` (a 1-D vector is one row).
        b: vectors ``(m, dim)``; ``None`` compares ``a`` with itself.

    Returns:
        float32 ``(n, m)``; a zero vector has similarity 0 with everything.

    Raises:
        InvalidInputError: an argument that is not a finite numeric 1-D or 2-D array,
            or rows of different dimensions.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("glove-6b-50d")
        >>> s = similarity(enc.encode(["a cat"]), enc.encode(["a dog", "stock markets"]))
        >>> s.shape, bool(s[0, 0] > s[0, 1])
        ((1, 2), True)
    """
    left = _normalize_inplace(np.array(_as_matrix(a, "a"), dtype=np.float32, copy=True))
    right = (
        left
        if b is None
        else _normalize_inplace(np.array(_as_matrix(b, "b"), dtype=np.float32, copy=True))
    )
    if left.shape[1] != right.shape[1]:
        raise InvalidInputError(
            f"a and b must have the same dimension, got a {left.shape} and b {right.shape}"
        )
    out = left @ right.T
    np.clip(out, -1.0, 1.0, out=out)
    return np.ascontiguousarray(out, dtype=np.float32)


def semantic_search(
    query_vectors: ArrayLike,
    corpus_vectors: ArrayLike,
    top_k: int = 10,
    *,
    query_chunk_size: int = 100,
    corpus_chunk_size: int = 100_000,
    score_function: str | Callable[[np.ndarray, np.ndarray], Any] = "cosine",
) -> list[list[SearchHit]]:
    """The ``top_k`` most similar corpus rows (cosine) for each query row.

    The queries are processed ``query_chunk_size`` at a time against corpus chunks
    of ``corpus_chunk_size`` rows, keeping the best ``top_k`` of each chunk, so the
    memory stays ``O(query_chunk_size * corpus_chunk_size)`` however large the corpus.

    Args:
        query_vectors: ``(n_queries, dim)`` (a 1-D vector is one query).
        corpus_vectors: ``(n_corpus, dim)``.
        top_k: hits per query (fewer when the corpus is smaller).
        query_chunk_size: queries scored at once.
        corpus_chunk_size: corpus rows scored at once.
        score_function: ``"cosine"`` (the default), ``"dot"`` (the dot product of the
            vectors as given, for vectors trained for it), or a function of a
            ``(q, dim)`` and a ``(c, dim)`` float32 array returning ``(q, c)`` scores
            (a numpy array, or anything ``np.asarray`` takes, e.g. a torch tensor), as
            sentence-transformers' ``score_function``.

    Returns:
        One list per query of ``{"corpus_id", "score"}`` dicts, best first; equal
        scores are ordered by ``corpus_id``.

    Raises:
        InvalidInputError: arrays that are not finite, numeric, 2-D, or of different
            dimensions.
        InvalidParameterError: ``top_k`` or a chunk size that is not an int >= 1, an
            unknown ``score_function``, or one that returns scores of the wrong shape
            or with NaN.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("glove-6b-50d")
        >>> corpus = ["the cat sat on the mat", "stocks fell sharply", "a dog barked"]
        >>> hits = semantic_search(enc.encode(["a kitten on a rug"]), enc.encode(corpus), top_k=2)
        >>> corpus[hits[0][0]["corpus_id"]]
        'the cat sat on the mat'
    """
    k = check_int("top_k", top_k)
    if not callable(score_function) and score_function not in ("cosine", "dot"):
        raise InvalidParameterError(
            f"score_function must be 'cosine', 'dot' or a function, got {score_function!r:.60}"
        )
    cosine = score_function == "cosine"
    q_step = check_int("query_chunk_size", query_chunk_size)
    c_step = check_int("corpus_chunk_size", corpus_chunk_size)
    queries = _as_matrix(query_vectors, "query_vectors")
    corpus = _as_matrix(corpus_vectors, "corpus_vectors")
    if queries.shape[1] != corpus.shape[1]:
        raise InvalidInputError(
            f"query_vectors and corpus_vectors must have the same dimension, got "
            f"{queries.shape} and {corpus.shape}"
        )
    n_corpus = corpus.shape[0]
    k = min(k, n_corpus)
    results: list[list[SearchHit]] = []
    if k == 0:
        return [[] for _ in range(queries.shape[0])]
    prepare = _normalize_inplace if cosine else (lambda x: x)
    corpus_chunks = [
        prepare(np.array(corpus[s : s + c_step], dtype=np.float32, copy=True))
        for s in range(0, n_corpus, c_step)
    ]
    for q_start in range(0, queries.shape[0], q_step):
        q = prepare(np.array(queries[q_start : q_start + q_step], dtype=np.float32, copy=True))
        kept: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in range(q.shape[0])]
        offset = 0
        for chunk in corpus_chunks:
            scores = _scores(score_function, q, chunk)
            if cosine:
                np.clip(scores, -1.0, 1.0, out=scores)
            n_chunk = chunk.shape[0]
            kk = min(k, n_chunk)
            # the kk-th best score of each row; every row at or above it is a candidate,
            # so equal scores at the boundary are all kept and ordered by corpus_id below
            threshold = np.partition(scores, n_chunk - kk, axis=1)[:, n_chunk - kk]
            for i in range(q.shape[0]):
                ids = np.flatnonzero(scores[i] >= threshold[i])
                row = scores[i, ids]
                best = np.lexsort((ids, -row))[:kk]
                kept[i].append((row[best], ids[best] + offset))
            offset += n_chunk
        for parts in kept:
            row_scores = np.concatenate([p[0] for p in parts])
            row_ids = np.concatenate([p[1] for p in parts])
            order = np.lexsort((row_ids, -row_scores))[:k]
            results.append(
                [SearchHit(corpus_id=int(row_ids[j]), score=float(row_scores[j])) for j in order]
            )
    return results


def _scores(score_function: Any, q: np.ndarray, chunk: np.ndarray) -> np.ndarray:
    """The ``(len(q), len(chunk))`` scores of one query chunk against one corpus chunk."""
    if not callable(score_function):
        return q @ chunk.T
    raw = score_function(q, chunk)
    if hasattr(raw, "detach"):  # a torch tensor
        raw = raw.detach().cpu().numpy()
    scores = np.array(raw, dtype=np.float32)
    if scores.shape != (q.shape[0], chunk.shape[0]):
        raise InvalidParameterError(
            f"score_function returned shape {scores.shape}, expected "
            f"{(q.shape[0], chunk.shape[0])} (queries x corpus rows)"
        )
    if not np.isfinite(scores).all():
        raise InvalidParameterError("score_function returned NaN or infinite scores")
    return scores
