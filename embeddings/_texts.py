"""The input text policy of every encoder: what ``encode`` and ``fit`` accept.

A sequence of ``str`` (a list, a 1-D array, a pandas/polars Series or a one-column
DataFrame); surrogate code points become U+FFFD.  :class:`~embeddings.base.BaseEncoder`
applies it, and so do the scikit-learn wrapper and the cache.

Example:
    >>> validate_texts(("a", "b"))
    ['a', 'b']
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import ItemsView, Iterable, KeysView, Mapping, Set

import numpy as np

from embeddings.errors import InvalidInputError

__all__ = ["REPLACEMENT_CHARACTER", "replace_surrogates", "validate_texts", "warn_empty_texts"]

#: the code points U+D800-U+DFFF: no UTF-8 or tokenizer accepts them in a ``str``
_SURROGATES = re.compile("[\ud800-\udfff]")
#: what every surrogate code point of an input text becomes
REPLACEMENT_CHARACTER = "\ufffd"


def replace_surrogates(texts: list[str]) -> list[str]:
    """Replace every surrogate code point (U+D800-U+DFFF) by U+FFFD, one for one.

    A Python ``str`` can hold surrogate code points (``"\\udcff"`` from
    ``errors="surrogateescape"``, or the two halves of a UTF-16 pair left
    uncombined), but UTF-8 cannot encode them.  Each one becomes the Unicode
    replacement character U+FFFD, so a text keeps its length and every other
    character; an adjacent high/low pair becomes two U+FFFD, not the character the
    pair stood for (to keep such characters, combine the pairs first:
    ``text.encode("utf-16", "surrogatepass").decode("utf-16")``).  Texts without
    surrogates are returned as they are, and so is the list when no text has one.

    Example:
        >>> replace_surrogates(["ok", "a\\ud800b"]) == ["ok", "a\\ufffdb"]
        True
    """
    search = _SURROGATES.search
    if not any(map(search, itertools.filterfalse(str.isascii, texts))):
        return texts
    return [_SURROGATES.sub(REPLACEMENT_CHARACTER, t) if search(t) else t for t in texts]


def _one_column(texts: object, *, what: str) -> object:
    """The texts of a table-like input: a one-column pandas/polars DataFrame gives its
    column; a wider one, or a Series/column of a non-text dtype, is refused.  Other
    inputs are returned unchanged."""
    kind = type(texts).__name__
    module = type(texts).__module__.split(".", 1)[0]
    if module not in ("pandas", "polars", "pyarrow"):
        return texts
    shape = getattr(texts, "shape", None)
    if kind == "DataFrame" or kind == "Table":
        n_cols = shape[1] if shape is not None and len(shape) == 2 else None
        if n_cols != 1:
            columns = [str(c) for c in getattr(texts, "columns", [])][:10]
            raise InvalidInputError(
                f"{what} must be a sequence of strings, got a {kind} with {n_cols} columns "
                f"{columns}; pass the text column, e.g. df['text']"
            )
        if module == "pandas":
            texts = texts.iloc[:, 0]  # type: ignore[attr-defined]
        elif module == "polars":
            texts = texts.to_series(0)  # type: ignore[attr-defined]
        else:
            texts = texts.column(0).to_pylist()  # type: ignore[attr-defined]
        kind = f"one-column {kind}"
    dtype = getattr(texts, "dtype", None)
    if dtype is not None and module in ("pandas", "polars"):
        text_dtype = str(dtype).lower() in ("object", "string", "str", "utf8", "string[python]")
        text_dtype = text_dtype or str(dtype).lower().startswith(("string", "large_string"))
        if not text_dtype:
            raise InvalidInputError(
                f"{what} must hold strings, got a {kind} of dtype {dtype}; convert it first, "
                "e.g. s.astype(str)"
            )
    return texts


def refuse_unordered(
    items: object, *, what: str, kind: str = "strings", item: str = "text"
) -> None:
    """Refuse a mapping (iterating it gives its keys only) or a set (no order, so row i
    of an output could not be matched to an ``item``) where a sequence of ``kind`` is
    expected; the views ``d.keys()`` and ``d.items()`` keep an order and pass.

    Raises:
        InvalidInputError: naming the type received, what is allowed and the fix.

    Example:
        >>> refuse_unordered(["a"], what="texts")
        >>> refuse_unordered({"a"}, what="texts")
        Traceback (most recent call last):
        ...
        embeddings.errors.InvalidInputError: texts must be an ordered sequence of strings, \
got a set, which has no order (row i of the output could not be matched to a text); pass \
a list, e.g. sorted(items)
    """
    if isinstance(items, Mapping):
        raise InvalidInputError(
            f"{what} must be a sequence of {kind}, got a {type(items).__name__} (a mapping: "
            "iterating it gives its keys only); pass list(d.values()) or list(d.keys())"
        )
    if isinstance(items, Set) and not isinstance(items, (KeysView, ItemsView)):
        raise InvalidInputError(
            f"{what} must be an ordered sequence of {kind}, got a {type(items).__name__}, "
            f"which has no order (row i of the output could not be matched to a {item}); "
            "pass a list, e.g. sorted(items)"
        )


def validate_texts(texts: object, *, what: str = "texts") -> list[str]:
    """Check that ``texts`` is a sequence of ``str`` and return it as a list.

    Surrogate code points, which UTF-8 cannot encode, are replaced by U+FFFD
    (:func:`replace_surrogates`), so every encoder receives encodable text.

    Raises:
        InvalidInputError: for a bare ``str``/``bytes``, a mapping (iterating a dict
            gives its keys only), a set (no order, so rows could not be matched to
            texts), a DataFrame with more than one column (a one-column pandas or
            polars DataFrame is taken as its column), a Series of a non-text dtype,
            a non-iterable, or an item that is not a ``str`` (the message names the
            first bad index).

    Example:
        >>> validate_texts(("a", "b"))
        ['a', 'b']
        >>> validate_texts(["b\\udcff"]) == ["b\\ufffd"]
        True
    """
    if isinstance(texts, (str, bytes)):
        raise InvalidInputError(
            f"{what} must be a sequence of strings, got a single {type(texts).__name__} "
            f"({str(texts)[:40]!r}); wrap it in a list: [text]"
        )
    refuse_unordered(texts, what=what)
    texts = _one_column(texts, what=what)
    if isinstance(texts, np.ndarray) and texts.ndim != 1:
        raise InvalidInputError(
            f"{what} must be one-dimensional, got an array of shape {texts.shape}"
        )
    if not isinstance(texts, Iterable):
        raise InvalidInputError(f"{what} must be a sequence of strings, got {type(texts).__name__}")
    out = list(texts)
    if set(map(type, out)) <= {str}:  # the common case, without a Python loop
        return replace_surrogates(out)
    for i, t in enumerate(out):
        if not isinstance(t, str):
            raise InvalidInputError(
                f"{what}[{i}] must be str, got {type(t).__name__} ({t!r:.40}); "
                "convert or drop missing values before encoding"
            )
    return replace_surrogates(out)


def warn_empty_texts(owner: str, n_empty: int) -> None:
    """Warn once per ``encode`` call that ``n_empty`` texts were encoded as zero vectors.

    For vocabulary-based encoders: a text without one in-vocabulary token has nothing
    to pool.  Called from an encoder's ``_on_encode_end`` hook; the warning points at
    the caller of ``encode``.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     warn_empty_texts("glove-6b-50d", 2)
        >>> str(caught[0].message)
        'glove-6b-50d: 2 text(s) had no in-vocabulary token and were encoded as zero vectors'
    """
    if n_empty:
        warnings.warn(
            f"{owner}: {n_empty} text(s) had no in-vocabulary token and were encoded as "
            "zero vectors",
            RuntimeWarning,
            stacklevel=4,
        )
