"""gensim ``KeyedVectors``: native files (pickle, opt-in only) and in-memory conversion.

gensim's ``.save()`` files are Python pickles, and unpickling can run arbitrary code.
:func:`read_gensim` therefore refuses them unless the caller passes
``trust_pickle=True``.  Converting between a :class:`VectorTable` and a live
``KeyedVectors`` object needs no pickle.

Example:
    >>> import numpy as np
    >>> from embeddings.formats.table import VectorTable
    >>> kv = table_to_keyed_vectors(VectorTable(["a"], np.ones((1, 3), np.float32)))
    >>> table_from_keyed_vectors(kv).vocab
    ['a']
"""

from __future__ import annotations

import os
import pickle
from glob import escape as glob_escape
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._deps import require
from embeddings.errors import InvalidParameterError, ModelFormatError
from embeddings.formats._files import check_regular_file
from embeddings.formats.table import VectorTable

__all__ = ["read_gensim", "table_from_keyed_vectors", "table_to_keyed_vectors"]


def table_from_keyed_vectors(kv: Any, *, source: str = "") -> VectorTable:
    """A :class:`VectorTable` from a gensim ``KeyedVectors`` (or a model with ``.wv``).

    ``FastTextKeyedVectors`` keep their subword vectors.

    Raises:
        InvalidParameterError: ``kv`` is not a gensim KeyedVectors.
    """
    require("gensim", extra="models")
    from gensim.models import KeyedVectors
    from gensim.models.fasttext import FastTextKeyedVectors

    if not isinstance(kv, KeyedVectors) and isinstance(getattr(kv, "wv", None), KeyedVectors):
        kv = kv.wv
    if not isinstance(kv, KeyedVectors):
        raise InvalidParameterError(
            f"expected a gensim KeyedVectors (or a model with .wv), got {type(kv).__name__}"
        )
    if isinstance(kv, FastTextKeyedVectors):
        from embeddings.formats.fasttext import table_from_fasttext_kv

        return table_from_fasttext_kv(kv, source=source)
    vocab = [str(w) for w in kv.index_to_key]
    counts = None
    if "count" in getattr(kv, "expandos", {}):
        counts = np.asarray(kv.expandos["count"], dtype=np.int64)
    return VectorTable(
        vocab, np.asarray(kv.vectors, dtype=np.float32), source=source, counts=counts
    )


def table_to_keyed_vectors(table: VectorTable) -> Any:
    """A gensim ``KeyedVectors`` holding the table's words and vectors (subwords are dropped).

    Example:
        >>> import numpy as np
        >>> kv = table_to_keyed_vectors(VectorTable(["x", "y"], np.eye(2, dtype=np.float32)))
        >>> kv["y"].tolist()
        [0.0, 1.0]
    """
    require("gensim", extra="models")
    from gensim.models import KeyedVectors

    kv = KeyedVectors(table.dim, count=0, dtype=np.float32)
    kv.add_vectors(list(table.vocab), np.array(table.vectors, dtype=np.float32, copy=True))
    if table.counts is not None:
        kv.expandos["count"] = np.asarray(table.counts, dtype=np.int64).copy()
    return kv


def read_gensim(path: str | os.PathLike[str], *, trust_pickle: bool = False) -> VectorTable:
    """Read a file written by gensim's ``KeyedVectors.save`` / ``Word2Vec.save``.

    Args:
        path: the file (any side files ``*.npy`` next to it are memory-mapped).
        trust_pickle: must be ``True``: these files are pickles, which can execute
            code when loaded. Only load files you created or trust.

    Raises:
        InvalidParameterError: ``trust_pickle`` is not ``True``.
        ModelFormatError: the file (or a side file) is missing, not a regular file,
            corrupt, or holds no word vectors.
    """
    p = Path(path)
    if trust_pickle is not True:
        raise InvalidParameterError(
            f"{p}: gensim native files are Python pickles, and loading a pickle can run "
            "arbitrary code. Pass trust_pickle=True if you trust this file, or convert it "
            "to word2vec format (KeyedVectors.save_word2vec_format) and load that instead"
        )
    check_regular_file(p, what="gensim file")
    for side in p.parent.glob(f"{glob_escape(p.name)}.*.npy"):  # arrays saved next to it
        check_regular_file(side, what="gensim side file", inside=p.parent)
    require("gensim", extra="models")
    from gensim.utils import SaveLoad

    try:
        obj = SaveLoad.load(str(p), mmap="r")
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as err:
        raise ModelFormatError(
            f"{p}: cannot unpickle a gensim object ({type(err).__name__}); expected a "
            "file written by KeyedVectors.save()"
        ) from err
    except OSError as err:
        raise ModelFormatError(f"{p}: cannot read: {err.strerror or type(err).__name__}") from err
    try:
        return table_from_keyed_vectors(obj, source=str(p))
    except InvalidParameterError:
        raise ModelFormatError(
            f"{p}: holds a {type(obj).__name__}, expected gensim KeyedVectors or a model with .wv"
        ) from None
