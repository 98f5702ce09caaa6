"""Pooled word vectors (GloVe, word2vec, fastText) behind the Encoder interface.

A text is split into whitespace chunks (by Arrow, deduplicated per batch), each
distinct chunk is tokenized with the shared regular expression
(:mod:`embeddings.tokenize`; results are cached, so each distinct chunk
is tokenized once per encoder), and every token is looked up in the vocabulary:
the exact form, then (with ``lowercase=False``) the lowercase form, then fastText
subword vectors when the source has them; other tokens are skipped.  Weighted
averages are two sparse products, ``(chunks x words) @ table`` and then
``(texts x chunks) @ chunk vectors``: there is no Python loop over words, chunks
or texts at vector time.  ``n_jobs=2`` splits large batches across processes
(identical results).

Poolings (the ``pooling`` parameter; see :mod:`.pooling`): ``mean``, ``tfidf``
(IDF fitted on the training texts), ``sif`` (Arora et al. 2017), ``usif``
(Ethayarajh 2018), ``max`` and ``pmean`` (concatenated power means, Rücklé et al.
2018).  ``tfidf``, ``sif`` and ``usif`` must be fitted on training texts (``fit``);
the others need no fit.  A text without any known token is a zero vector (never
NaN), and the number of such texts is reported in one ``RuntimeWarning`` per
``encode``.

The package's modules: :mod:`.lookup` (vocabulary index, chunk tokenization, shared
read-only tables), :mod:`.pooling` (the poolings and what they learn),
:mod:`.state` (the saved state, one schema for both encoders), :mod:`.sources`
(where the vectors come from), :mod:`.workers` (``n_jobs``), :mod:`.access`
(neighbours, gensim export), :mod:`.encoder` and :mod:`.trained`.  The public classes
keep the path ``embeddings.adapters.word_vectors:<Class>`` in saved folders.

Example:
    >>> from embeddings.adapters.word_vectors import WordVectorEncoder
    >>> enc = WordVectorEncoder(source="glove-6b-50d", pooling="mean")
    >>> enc.encode(["the cat sat on the mat"]).shape
    (1, 50)
"""

from __future__ import annotations

from embeddings.adapters.word_vectors.encoder import WordVectorEncoder
from embeddings.adapters.word_vectors.lookup import MAX_INPUT_CHARACTERS
from embeddings.adapters.word_vectors.pooling import (
    MAX_COMPONENTS,
    MAX_POWER,
    MAX_POWERS,
    Pooling,
    WordFreq,
)
from embeddings.adapters.word_vectors.state import pack_vocab, unpack_vocab
from embeddings.adapters.word_vectors.trained import TrainedWordVectorEncoder
from embeddings.adapters.word_vectors.workers import MAX_JOBS

__all__ = [
    "WordVectorEncoder",
    "TrainedWordVectorEncoder",
    "Pooling",
    "WordFreq",
    "pack_vocab",
    "unpack_vocab",
    "MAX_INPUT_CHARACTERS",
    "MAX_POWERS",
    "MAX_POWER",
    "MAX_COMPONENTS",
    "MAX_JOBS",
]
