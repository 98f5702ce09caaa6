"""The saved state of the word-vector encoders: one schema for both classes.

A saved folder's ``weights.safetensors`` and the ``state`` object of its
``config.json`` hold up to three parts:

========  ============================================  ===========================
part      arrays                                        state fields
========  ============================================  ===========================
vectors   ``vectors`` float32 ``(n_words, dim)``,       ``n_words`` (int >= 1);
          ``vocab_utf8`` uint8 (UTF-8 words, newline-   ``min_n``, ``max_n`` (with
          separated); optional ``counts`` int64         ``ngrams``: 1 <= min_n <=
          ``(n_words,)`` >= 0 and ``ngrams`` float32    max_n <= 32)
          ``(buckets >= 1, dim)``
pooling   ``token_weights`` float32 ``(n_words,)``;     ``oov_weight`` (finite)
          optional ``components`` float32 ``(k, dim)``
          with ``component_weights`` float32 ``(k,)``,
          ``1 <= k <= n_components``
training  (none)                                        optional ``training`` (dict)
========  ============================================  ===========================

The vectors part is present when the encoder holds its vectors (given as a gensim
``KeyedVectors``, or trained by :class:`TrainedWordVectorEncoder`); otherwise the
``source`` parameter names them and the pooling part refers to that vocabulary.  The
pooling part is present for the poolings that learn from training texts (tfidf, sif,
usif); the training part for trained vectors only.  Vectors held by a
:class:`WordVectorEncoder` are named in its parameters by their content sha256
(``{"vectors_sha256": ...}``), which loading checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from embeddings.adapters.word_vectors.pooling import FittedPooling, Pooler
from embeddings.base import check_meta, check_state_arrays
from embeddings.errors import ModelFormatError
from embeddings.formats.table import Subwords, VectorTable

__all__ = [
    "PUBLIC_MODULE",
    "VECTORS_MARKER",
    "check_content",
    "check_state",
    "is_vectors_marker",
    "pack_vocab",
    "public",
    "read_pooling",
    "read_table",
    "unpack_vocab",
    "write_state",
]

#: the module that saved folders and pickles name for the public classes
PUBLIC_MODULE = "embeddings.adapters.word_vectors"
#: the ``source`` that ``save`` writes for vectors given as a Python object: their
#: content sha256; the vectors themselves go into the saved state
VECTORS_MARKER = "vectors_sha256"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

_T = TypeVar("_T")


def public(cls: _T) -> _T:
    """Name :data:`PUBLIC_MODULE` as the module of ``cls`` (as numpy's ``set_module``).

    A saved folder records ``"module:Class"`` and the class allow-list holds these
    paths, so the classes keep the path of the package whatever file defines them.
    """
    cls.__module__ = PUBLIC_MODULE
    return cls


def is_vectors_marker(obj: object) -> bool:
    """Whether ``obj`` is the ``source`` written for vectors held in the saved state."""
    return (
        isinstance(obj, dict)
        and set(obj) == {VECTORS_MARKER}
        and isinstance(obj[VECTORS_MARKER], str)
        and _SHA256_RE.match(obj[VECTORS_MARKER]) is not None
    )


def pack_vocab(vocab: Sequence[str]) -> np.ndarray:
    """Encode a word list as a uint8 array (UTF-8, newline-separated) for safetensors."""
    return np.frombuffer("\n".join(vocab).encode("utf-8"), dtype=np.uint8).copy()


def unpack_vocab(packed: np.ndarray, count: int) -> list[str]:
    """Inverse of :func:`pack_vocab`."""
    if count == 0:
        return []
    try:
        words = bytes(np.asarray(packed, dtype=np.uint8)).decode("utf-8").split("\n")
    except UnicodeDecodeError as err:
        raise ModelFormatError(
            f"stored vocabulary (array 'vocab_utf8') is not UTF-8 (invalid byte at offset "
            f"{err.start})"
        ) from None
    if len(words) != count:
        raise ModelFormatError(f"stored vocabulary has {len(words)} words, expected {count}")
    return words


# -------------------------------------------------------------------- write
def write_state(
    table: VectorTable | None,
    fitted: FittedPooling | None,
    training: Mapping[str, Any] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The saved arrays and state fields of the vectors, pooling and training parts.

    ``None`` leaves a part out; the training part leaves out the wall-clock time (the
    fingerprint must be reproducible).
    """
    arrays: dict[str, np.ndarray] = {}
    meta: dict[str, Any] = {}
    if table is not None:
        arrays["vectors"] = np.asarray(table.vectors, dtype=np.float32)
        arrays["vocab_utf8"] = pack_vocab(table.vocab)
        meta["n_words"] = len(table.vocab)
        if table.counts is not None:
            arrays["counts"] = np.asarray(table.counts, dtype=np.int64)
        if table.subwords is not None:
            arrays["ngrams"] = np.asarray(table.subwords.vectors, dtype=np.float32)
            meta["min_n"] = table.subwords.min_n
            meta["max_n"] = table.subwords.max_n
    if fitted is not None:
        arrays["token_weights"] = np.asarray(fitted.weights, dtype=np.float32)
        meta["oov_weight"] = float(fitted.oov_weight)
        if fitted.components is not None:
            arrays["components"] = np.asarray(fitted.components, dtype=np.float32)
            arrays["component_weights"] = np.asarray(fitted.component_weights, np.float32)
    if training:
        meta["training"] = {k: v for k, v in training.items() if k != "seconds"}
    return arrays, meta


# -------------------------------------------------------------------- check
def _pooling_spec(
    pooler: Pooler, n_vocab: int, dim: int | None
) -> tuple[dict[str, tuple[str, tuple[int | None, ...]]], dict[str, str], tuple[str, ...]]:
    """Arrays, state fields and optional arrays of the pooling part."""
    if not pooler.learns:
        return {}, {}, ()
    arrays: dict[str, tuple[str, tuple[int | None, ...]]] = {
        "token_weights": ("float32", (n_vocab,)),
        "components": ("float32", (None, dim)),
        "component_weights": ("float32", (None,)),
    }
    return arrays, {"oov_weight": "number"}, ("components", "component_weights")


def _check_components(arrays: Mapping[str, np.ndarray], pooler: Pooler, owner: str) -> None:
    """Components and their weights come together, at most ``n_components`` of them."""
    if ("components" in arrays) != ("component_weights" in arrays):
        raise ModelFormatError(
            f"{owner}: 'components' and 'component_weights' must be stored together"
        )
    if "components" not in arrays:
        return
    k = arrays["components"].shape[0]
    if arrays["component_weights"].shape != (k,):
        raise ModelFormatError(
            f"{owner}: array 'component_weights' has shape "
            f"{arrays['component_weights'].shape}, expected ({k},) (one per component)"
        )
    most = pooler.max_components() or None
    if most is not None and not 1 <= k <= most:
        raise ModelFormatError(
            f"{owner}: {k} principal components stored, expected 1 to {most} "
            f"for pooling {pooler.pooling!r}"
        )


def _check_subwords(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], owner: str) -> None:
    """Saved subword vectors need ``1 <= min_n <= max_n <= 32`` and at least one bucket.

    ``min_n``/``max_n`` reach gensim's n-gram hashing, which takes C integers; the
    bound is :data:`embeddings.training.trainers.MAX_SUBWORD_N`.
    """
    from embeddings.training.trainers import MAX_SUBWORD_N

    if "ngrams" not in arrays:
        return
    if "min_n" not in meta or "max_n" not in meta:
        raise ModelFormatError(f"{owner}: subword vectors need state fields min_n, max_n")
    min_n, max_n = meta["min_n"], meta["max_n"]
    if not 1 <= min_n <= max_n <= MAX_SUBWORD_N or arrays["ngrams"].shape[0] < 1:
        raise ModelFormatError(
            f"{owner}: subwords need 1 <= min_n <= max_n <= {MAX_SUBWORD_N} and at least one "
            f"bucket, got min_n={min_n!r:.30}, max_n={max_n!r:.30}, "
            f"{arrays['ngrams'].shape[0]} buckets"
        )


def check_state(
    arrays: Mapping[str, np.ndarray],
    meta: Mapping[str, Any],
    *,
    owner: str,
    pooler: Pooler,
    vectors: VectorTable | None = None,
    dim: int | None = None,
    training: bool = False,
) -> None:
    """Check a saved state against the schema before anything reads it.

    Args:
        arrays: the arrays of ``weights.safetensors`` (already checked to be finite).
        meta: the ``state`` object of ``config.json``.
        owner: what the state belongs to, for messages.
        pooler: the encoder's pooling (which pooling part to expect).
        vectors: the vectors that ``source`` names, when the state does not hold
            its own (then a vectors part is refused); ``None``: the state holds them.
        dim: the width the held vectors must have (``None``: any width >= 1).
        training: whether a training part may be present.

    Raises:
        ModelFormatError: a missing, unexpected or mistyped array or field, or one
            out of its range (named in the message).
    """
    if vectors is not None:
        spec, fields, optional = _pooling_spec(pooler, len(vectors.vocab), vectors.dim)
        check_meta(meta, fields, owner=owner)
        check_state_arrays(arrays, spec, optional=optional, owner=owner)
        _check_components(arrays, pooler, owner)
        return
    n = meta.get("n_words")
    held = arrays.get("vectors")
    width = int(held.shape[1]) if held is not None and held.ndim == 2 else 1
    width = width if dim is None else dim
    spec, fields, optional = _pooling_spec(pooler, n if isinstance(n, int) else 0, width)
    state_fields = {"n_words": "int", "min_n": "int", "max_n": "int", **fields}
    state_optional = ["min_n", "max_n"]
    if training:
        state_fields["training"] = "dict"
        state_optional.append("training")
    check_meta(meta, state_fields, optional=state_optional, owner=owner)
    n = int(meta["n_words"])
    if n < 1:
        raise ModelFormatError(f"{owner}: n_words must be >= 1, got {n}")
    check_state_arrays(
        arrays,
        {
            "vectors": ("float32", (n, dim)),
            "vocab_utf8": ("uint8", (None,)),
            "counts": ("int64", (n,)),
            "ngrams": ("float32", (None, width)),
            **spec,
        },
        optional=("counts", "ngrams", *optional),
        owner=owner,
    )
    if width < 1:
        raise ModelFormatError(f"{owner}: array 'vectors' has no columns")
    _check_subwords(arrays, meta, owner)
    if "counts" in arrays and (arrays["counts"] < 0).any():
        raise ModelFormatError(f"{owner}: array 'counts' holds negative counts")
    _check_components(arrays, pooler, owner)


def check_content(
    arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], digest: str, owner: str
) -> VectorTable:
    """The held vectors (checked by :func:`check_state`), refused unless their content
    sha256 is ``digest`` (the one the parameters name)."""
    from embeddings.formats.native import content_sha256

    table = read_table(arrays, meta)
    found = content_sha256(table)
    if found != digest:
        raise ModelFormatError(
            f"{owner}: the stored vectors have sha256 {found}, but params.source names "
            f"{digest}; the folder was altered after save"
        )
    return table


# --------------------------------------------------------------------- read
def read_table(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> VectorTable:
    """The vectors part as a table (checked by :func:`check_state`)."""
    try:
        subwords = None
        if "ngrams" in arrays:
            subwords = Subwords(
                np.asarray(arrays["ngrams"], dtype=np.float32),
                int(meta["min_n"]),
                int(meta["max_n"]),
            )
        return VectorTable(
            unpack_vocab(arrays["vocab_utf8"], int(meta["n_words"])),
            np.asarray(arrays["vectors"], dtype=np.float32),
            subwords=subwords,
            counts=arrays.get("counts"),
        )
    except KeyError as err:
        raise ModelFormatError(f"saved word vectors lack {err}") from None


def read_pooling(
    arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], n_vocab: int
) -> FittedPooling:
    """The pooling part (checked by :func:`check_state`) for a vocabulary of ``n_vocab``."""
    weights = None
    if "token_weights" in arrays:
        weights = np.asarray(arrays["token_weights"], dtype=np.float32)
        if weights.shape != (n_vocab,):
            raise ModelFormatError(
                f"saved token weights have shape {weights.shape}, expected ({n_vocab},) "
                "for this vocabulary"
            )
    components = component_weights = None
    if "components" in arrays:
        components = np.asarray(arrays["components"], dtype=np.float32)
        component_weights = np.asarray(arrays["component_weights"], dtype=np.float32)
    return FittedPooling(weights, float(meta.get("oov_weight", 1.0)), components, component_weights)
