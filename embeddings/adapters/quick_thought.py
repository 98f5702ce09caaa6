"""Quick-Thought sentence vectors (Logeswaran & Lee, ICLR 2018) trained on your texts.

"An efficient framework for learning sentence representations" replaces the
decoder of Skip-Thought with a classifier: two encoders, ``f`` (input) and ``g``
(context), read every sentence of a batch of *contiguous* sentences, and for each
sentence ``s_i`` the context sentences ``s_{i-1}`` and ``s_{i+1}`` must be picked
out among all the other sentences of the batch by the score ``f(s_i) . g(s_j)``.

What this adapter implements:

* a word embedding table shared by both encoders (vocabulary built in ``fit`` with
  the shared tokenizer, ``min_count`` and ``max_vocab``; row 0 is padding, row 1
  the unknown word ``<unk>``), optionally initialised from embedded word vectors
  (``init_vectors="glove-6b-50d"``; ``embedding_dim`` must then match);
* ``f`` and ``g``: one single-layer GRU each (``bidirectional=True`` concatenates
  both directions' final states); a sentence's representation is the final hidden
  state, computed on packed sequences so padding never enters it;
* the objective: scores ``S = f(batch) @ g(batch).T`` with the diagonal masked to
  ``-inf``; the targets of row ``i`` are the sentences at distance ``1 ..
  context_size`` *in the same document*, normalised to sum to 1 (the paper's
  multi-label softmax); rows without a target are skipped; Adam with gradient
  norm clipping;
* the sentence vector returned by ``encode`` is ``concat(f(s), g(s))``, as in the
  paper, so ``dim = 2 * hidden_size`` (times 2 when bidirectional).

Training data: ``fit(texts)`` takes a list of sentences in document order where a
blank string marks a document boundary (a list without blanks is one document),
or the path of a text file / folder of ``*.txt`` files (one sentence per line, a
blank line between documents, every file its own document stream; ``raw/``
folders are skipped).  Files are streamed line by line once; only the token ids
are kept (8 bytes per token, at most ``max_length`` tokens per sentence), so
epochs and shuffled batch order do not re-read the files.  :func:`TextCorpus
<embeddings.training.corpus.TextCorpus>` drops blank lines, so the document
boundaries are read here.

Batches are runs of ``batch_size`` contiguous sentences; every epoch shifts the
run boundaries by a random offset and shuffles the batch order (a numpy
``Generator`` seeded with ``random_state``).  Parameters are initialised from a
``torch.Generator`` seeded with ``random_state`` (the global torch RNG is neither
used nor changed).  With ``threads=1`` two fits with the same ``random_state``
give bit-identical weights, also in another process.

``encode`` runs the GRUs in float64 and rounds the result to float32: a different
batch composition only changes float64 summation order (~1e-16), far below
float32 resolution, so a text's vector does not depend on ``batch_size`` or on
its batch neighbours.  A text without tokens is encoded as the one-token sentence
``<unk>`` (a finite vector, never NaN); out-of-vocabulary words map to ``<unk>``.

Published weights: the original Quick-Thought models are TensorFlow checkpoints.
TensorFlow is not a transferkit dependency, so reading them is deliberately not
implemented; train with ``fit`` instead.

The fitted state (vocabulary, embedding table, both GRUs) is saved with
safetensors plus JSON metadata, never pickle.

Example:
    >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
    >>> texts = ["the cat sat on the mat", "it purred", "", "stocks fell", "banks sold"]
    >>> enc = QuickThoughtEncoder(hidden_size=8, embedding_dim=8, epochs=1, min_count=1)
    >>> enc.fit(texts).encode(["the cat purred"]).shape
    (1, 16)
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings._deps import torch_threads
from embeddings.adapters._tokenize import tokenize
from embeddings.adapters.word_vectors import pack_vocab, unpack_vocab
from embeddings.base import BaseEncoder, validate_texts
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
)

if TYPE_CHECKING:
    import torch

__all__ = ["QuickThoughtEncoder", "context_targets"]

PAD_ID = 0
UNK_ID = 1
_N_SPECIAL = 2
_GRU_KEYS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def context_targets(doc_ids: Sequence[int] | np.ndarray, context_size: int = 1) -> np.ndarray:
    """The target distribution of a batch of contiguous sentences.

    Row ``i`` puts equal mass on the sentences ``j`` with ``1 <= |i - j| <=
    context_size`` that belong to the same document as ``i``; a row without such a
    sentence is all zeros (it is skipped by the loss).

    Args:
        doc_ids: the document id of every sentence of the batch, in corpus order.
        context_size: how many neighbours on each side are positives.

    Returns:
        float32 array of shape ``(n, n)``; non-empty rows sum to 1.

    Example:
        >>> context_targets([0, 0, 1, 1]).tolist()
        [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]]
    """
    d = np.asarray(doc_ids).reshape(-1)
    pos = np.arange(d.size)
    dist = np.abs(pos[:, None] - pos[None, :])
    mask = (dist >= 1) & (dist <= int(context_size)) & (d[:, None] == d[None, :])
    t = mask.astype(np.float32)
    total = t.sum(axis=1, keepdims=True)
    np.divide(t, total, out=t, where=total > 0)
    return t


@dataclass(frozen=True)
class _Corpus:
    """Token ids of a training corpus: sentence ``i`` is ``tokens[offsets[i]:offsets[i+1]]``."""

    vocab: list[str]  # without the two special rows
    counts: np.ndarray  # int64, one per vocabulary word
    tokens: np.ndarray  # int64 ids (>= 1)
    offsets: np.ndarray  # int64, n_sentences + 1
    docs: np.ndarray  # int64 document id per sentence
    n_tokens_seen: int  # before truncation

    @property
    def n_sentences(self) -> int:
        return int(self.docs.size)

    @property
    def n_documents(self) -> int:
        return int(np.unique(self.docs).size)


def _stream_items(
    texts: Iterable[str] | None, files: list[Path] | None, lowercase: bool
) -> Iterator[list[str] | None]:
    """Token lists in corpus order; ``None`` marks a document boundary.

    A blank line/text is a boundary, and so is the start of every file.  A
    non-blank line without tokens is dropped (it is no sentence and no boundary).
    """
    sources: Iterable[Iterable[str]]
    if files is not None:
        sources = _file_lines(files)
    else:
        sources = [texts or []]
    for lines in sources:
        yield None
        for line in lines:
            if not line.strip():
                yield None
                continue
            tokens = tokenize(line, lowercase=lowercase)
            if tokens:
                yield tokens


def _file_lines(files: list[Path]) -> Iterator[Iterator[str]]:
    for f in files:
        with open(f, encoding="utf-8", errors="replace") as fh:
            yield iter(fh)


def _build_corpus(
    items: Iterable[list[str] | None],
    *,
    min_count: int,
    max_vocab: int | None,
    max_length: int,
) -> _Corpus:
    """One pass: provisional ids while streaming, then the final vocabulary and a remap."""
    index: dict[str, int] = {}
    counts = array("q")
    prov = array("q")
    offsets = array("q", [0])
    docs = array("q")
    doc = -1
    boundary = True
    seen = 0
    for item in items:
        if item is None:
            boundary = True
            continue
        if boundary:
            doc += 1
            boundary = False
        seen += len(item)
        for tok in item[:max_length]:
            i = index.get(tok)
            if i is None:
                i = index[tok] = len(counts)
                counts.append(0)
            counts[i] += 1
            prov.append(i)
        offsets.append(len(prov))
        docs.append(doc)
    words = list(index)
    count_arr = np.frombuffer(counts, dtype=np.int64) if counts else np.zeros(0, np.int64)
    keep = [i for i in range(len(words)) if count_arr[i] >= min_count]
    keep.sort(key=lambda i: (-int(count_arr[i]), words[i]))  # deterministic order
    if max_vocab is not None:
        keep = keep[:max_vocab]
    remap = np.full(len(words), UNK_ID, dtype=np.int64)
    remap[np.asarray(keep, dtype=np.int64)] = np.arange(len(keep), dtype=np.int64) + _N_SPECIAL
    prov_arr = np.frombuffer(prov, dtype=np.int64) if prov else np.zeros(0, np.int64)
    return _Corpus(
        vocab=[words[i] for i in keep],
        counts=count_arr[np.asarray(keep, dtype=np.int64)].copy(),
        tokens=remap[prov_arr],
        offsets=np.frombuffer(offsets, dtype=np.int64).copy(),
        docs=np.frombuffer(docs, dtype=np.int64).copy() if docs else np.zeros(0, np.int64),
        n_tokens_seen=seen,
    )


def _pad(seqs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.fromiter((s.size for s in seqs), dtype=np.int64, count=len(seqs))
    out = np.full((len(seqs), int(lengths.max())), PAD_ID, dtype=np.int64)
    for row, s in enumerate(seqs):
        out[row, : s.size] = s
    return out, lengths


def _sentence_vectors(net: Any, which: str, ids: Any, lengths: Any) -> torch.Tensor:
    """Final hidden state(s) of encoder ``which`` over a padded batch (padding excluded)."""
    from torch.nn.utils.rnn import pack_padded_sequence

    emb = net["embedding"](ids)
    packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
    _, h = net[which](packed)  # (directions, batch, hidden), in input order
    return h.transpose(0, 1).reshape(h.shape[1], -1)


class QuickThoughtEncoder(BaseEncoder):
    """Quick-Thought: two GRU sentence encoders trained to pick out neighbouring sentences.

    Args:
        hidden_size: GRU state size of each encoder; ``dim`` is ``2 * hidden_size``
            (``4 * hidden_size`` when bidirectional).
        embedding_dim: word embedding size (must equal the dimension of
            ``init_vectors`` when given).
        bidirectional: bidirectional GRUs (final states of both directions concatenated).
        context_size: neighbours on each side that are positives (the paper uses 1).
        epochs: passes over the training sentences.
        batch_size: contiguous sentences per training batch (the candidates of the
            classifier).
        learning_rate: Adam learning rate.
        max_grad_norm: gradient norm clipping threshold.
        max_length: tokens kept per sentence (training and encoding).
        min_count: ignore words rarer than this (they become ``<unk>``).
        max_vocab: keep at most this many words (most frequent first); ``None``: all.
        init_vectors: name of embedded word vectors (e.g. ``"glove-6b-50d"``) that
            initialise the rows of known words; ``None``: random initialisation.
        lowercase: lowercase before tokenizing.
        random_state: seed of initialisation and batch order.
        threads: torch threads during ``fit`` and ``encode``; ``1`` (the default)
            makes training bit-reproducible.

    Example:
        >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
        >>> docs = ["a cat sat", "the cat slept", "", "stocks fell", "markets sank"] * 3
        >>> enc = QuickThoughtEncoder(hidden_size=4, embedding_dim=6, epochs=2, min_count=1)
        >>> enc.fit(docs).dim
        8
    """

    family = "quick_thought"
    adapter_version = "1"
    requires_fit = True
    trainable = True
    transient = ("_net", "_index")
    _net: Any
    _index: dict[str, int] | None
    _vocab: list[str]
    _weights: dict[str, np.ndarray]
    _meta: dict[str, Any]

    def __init__(
        self,
        *,
        hidden_size: int = 300,
        embedding_dim: int = 100,
        bidirectional: bool = False,
        context_size: int = 1,
        epochs: int = 5,
        batch_size: int = 400,
        learning_rate: float = 5e-4,
        max_grad_norm: float = 5.0,
        max_length: int = 50,
        min_count: int = 2,
        max_vocab: int | None = 50_000,
        init_vectors: str | None = None,
        lowercase: bool = True,
        random_state: int = 0,
        threads: int = 1,
    ) -> None:
        self.hidden_size = hidden_size
        self.embedding_dim = embedding_dim
        self.bidirectional = bidirectional
        self.context_size = context_size
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_grad_norm = max_grad_norm
        self.max_length = max_length
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.init_vectors = init_vectors
        self.lowercase = lowercase
        self.random_state = random_state
        self.threads = threads

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        def is_int(v: object) -> bool:
            return not isinstance(v, bool) and isinstance(v, (int, np.integer))

        def is_number(v: object) -> bool:
            return not isinstance(v, bool) and isinstance(v, (int, float, np.integer, np.floating))

        for name in (
            "hidden_size",
            "embedding_dim",
            "context_size",
            "epochs",
            "max_length",
            "min_count",
            "threads",
        ):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise InvalidParameterError(f"{name} must be an int >= 1, got {value!r}")
        if not is_int(self.batch_size) or self.batch_size < 2:
            raise InvalidParameterError(
                f"batch_size must be an int >= 2 (the sentences of a batch are each "
                f"other's candidates), got {self.batch_size!r}"
            )
        mv = self.max_vocab
        if mv is not None and (not is_int(mv) or mv < 1):
            raise InvalidParameterError(f"max_vocab must be None or an int >= 1, got {mv!r}")
        for name in ("learning_rate", "max_grad_norm"):
            value = getattr(self, name)
            if not is_number(value) or not np.isfinite(value) or value <= 0:
                raise InvalidParameterError(f"{name} must be a finite number > 0, got {value!r}")
        if not is_int(self.random_state) or self.random_state < 0:
            raise InvalidParameterError(
                f"random_state must be an int >= 0, got {self.random_state!r}"
            )
        for name in ("bidirectional", "lowercase"):
            value = getattr(self, name)
            if not isinstance(value, bool):
                raise InvalidParameterError(f"{name} must be True or False, got {value!r}")
        if self.init_vectors is not None:
            from embeddings.formats.embedded import EMBEDDED_SOURCES

            if self.init_vectors not in EMBEDDED_SOURCES:
                raise InvalidParameterError(
                    f"init_vectors must be None or one of {sorted(EMBEDDED_SOURCES)}, "
                    f"got {self.init_vectors!r}"
                )

    def _load(self) -> None:
        self._validate()
        from embeddings._deps import require

        require("torch", extra="all")
        # after unpickling or set_params: rebuild the modules from the fitted weights
        # when they match the current architecture (else the fitted check refuses use)
        self._net = None
        self._index = None
        if self.__dict__.get("_weights") is not None and self._arch() == self._meta.get("arch"):
            self._build_from_weights()

    def _arch(self) -> dict[str, Any]:
        return {
            "hidden_size": int(self.hidden_size),
            "embedding_dim": int(self.embedding_dim),
            "bidirectional": bool(self.bidirectional),
        }

    def _output_dim(self) -> int:
        return int(self.hidden_size) * 2 * (2 if self.bidirectional else 1)

    # ---------------------------------------------------------------- model
    def _new_net(self, vocab_size: int, dtype: Any) -> Any:
        """Empty modules (their default initialisation is overwritten or replaced)."""
        import torch
        from torch import nn

        with torch.random.fork_rng(devices=[]):  # keep the global RNG untouched
            net = nn.ModuleDict(
                {
                    "embedding": nn.Embedding(
                        vocab_size, int(self.embedding_dim), padding_idx=PAD_ID
                    ),
                    "f": nn.GRU(
                        int(self.embedding_dim),
                        int(self.hidden_size),
                        batch_first=True,
                        bidirectional=bool(self.bidirectional),
                    ),
                    "g": nn.GRU(
                        int(self.embedding_dim),
                        int(self.hidden_size),
                        batch_first=True,
                        bidirectional=bool(self.bidirectional),
                    ),
                }
            )
        return net.to(dtype)

    def _init_net(self, corpus: _Corpus) -> tuple[Any, int]:
        """Seeded initialisation: embeddings U(-0.1, 0.1), GRUs U(-1/sqrt(h), 1/sqrt(h)).

        Returns the modules and how many words took their row from ``init_vectors``.
        """
        import torch

        gen = torch.Generator().manual_seed(int(self.random_state))
        net = self._new_net(len(corpus.vocab) + _N_SPECIAL, torch.float32)
        bound = 1.0 / float(np.sqrt(int(self.hidden_size)))
        n_found = 0
        with torch.no_grad():
            for name, param in net.named_parameters():  # fixed order: embedding, f, g
                lo, hi = (-0.1, 0.1) if name.startswith("embedding") else (-bound, bound)
                param.copy_(torch.rand(param.shape, generator=gen) * (hi - lo) + lo)
            emb = net["embedding"].weight
            emb[PAD_ID].zero_()
            if self.init_vectors is not None:
                vectors = self._initial_vectors(corpus.vocab)
                found = np.flatnonzero(np.isfinite(vectors[:, 0]))
                if found.size:
                    emb[torch.from_numpy(found + _N_SPECIAL)] = torch.from_numpy(vectors[found])
                n_found = int(found.size)
        return net, n_found

    def _initial_vectors(self, vocab: list[str]) -> np.ndarray:
        """Rows of ``init_vectors`` for ``vocab`` (NaN rows for words it lacks)."""
        from embeddings.formats.embedded import load_embedded

        words, table = load_embedded(str(self.init_vectors))
        if table.shape[1] != int(self.embedding_dim):
            raise InvalidParameterError(
                f"embedding_dim={self.embedding_dim!r} does not match init_vectors="
                f"{self.init_vectors!r}, which has {table.shape[1]} dimensions; "
                f"set embedding_dim={table.shape[1]} or init_vectors=None"
            )
        where = {w: i for i, w in enumerate(words)}
        out = np.full((len(vocab), table.shape[1]), np.nan, dtype=np.float32)
        rows = [(k, where[w]) for k, w in enumerate(vocab) if w in where]
        if rows:
            mine, theirs = (np.asarray(c, dtype=np.int64) for c in zip(*rows, strict=True))
            out[mine] = np.asarray(table[theirs], dtype=np.float32)
        return out

    def _weights_from_net(self, net: Any) -> dict[str, np.ndarray]:
        return {
            name: param.detach().to("cpu").numpy().astype(np.float32, copy=True)
            for name, param in net.state_dict().items()
        }

    def _build_from_weights(self) -> None:
        """The float64 inference modules and the word index, from ``_weights``."""
        import torch

        n_words = int(self._meta["n_words"])
        net = self._new_net(n_words + _N_SPECIAL, torch.float64)
        state = {
            k: torch.from_numpy(np.asarray(self._weights[k], dtype=np.float64))
            for k in net.state_dict()
        }
        net.load_state_dict(state, strict=True)
        net.eval()
        for p in net.parameters():
            p.requires_grad_(False)
        self._net = net
        self._index = {w: i + _N_SPECIAL for i, w in enumerate(self._vocab)}

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        texts: Sequence[str] | str | os.PathLike[str],
        y: Any = None,
        *,
        show_progress: bool = False,
    ) -> QuickThoughtEncoder:
        """Train on sentences in document order, or on a corpus file/folder.

        Args:
            texts: a list of sentences in corpus order (a blank string marks a
                document boundary; without blanks the list is one document), or the
                path of a text file / folder of ``*.txt`` files with one sentence
                per line and a blank line between documents.
            y: ignored; present for scikit-learn compatibility.
            show_progress: show a tqdm progress bar per epoch.

        Returns:
            self

        Raises:
            DataNotFoundError: a path that does not exist or holds no ``*.txt``.
            InvalidInputError: no text, or items that are not ``str``.
        """
        from embeddings.training.corpus import corpus_files

        files: list[Path] | None = None
        texts_list: list[str] | None = None
        if isinstance(texts, (str, os.PathLike)):
            files = corpus_files(texts)  # a bare str is a corpus path, never one text
        else:
            texts_list = validate_texts(texts)
            if not texts_list:
                raise InvalidInputError(f"{self.name}.fit needs at least one text, got 0")
        self._ensure_loaded()
        self._train(texts_list, files, show_progress=bool(show_progress))
        self._state_digest = None
        self._fitted_for = self._params_key()
        return self

    def fit_corpus(
        self, corpus: str | os.PathLike[str] | Sequence[str], *, progress: bool = False
    ) -> QuickThoughtEncoder:
        """Train on a text file or folder of ``*.txt`` files (the same as ``fit(path)``)."""
        return self.fit(corpus, show_progress=progress)

    def _fit(self, texts: list[str]) -> None:  # BaseEncoder hook, for completeness
        self._train(texts, None, show_progress=False)

    def _train(
        self, texts: list[str] | None, files: list[Path] | None, show_progress: bool
    ) -> None:
        started = time.perf_counter()
        corpus = _build_corpus(
            _stream_items(texts, files, bool(self.lowercase)),
            min_count=int(self.min_count),
            max_vocab=None if self.max_vocab is None else int(self.max_vocab),
            max_length=int(self.max_length),
        )
        if corpus.n_sentences == 0:
            raise InvalidInputError(f"{self.name}.fit: the training texts contain no token")
        losses: list[float] = []
        with torch_threads(int(self.threads)):
            net, n_found = self._init_net(corpus)
            n_pairs = self._train_epochs(net, corpus, losses, show_progress)
        if n_pairs == 0:
            warnings.warn(
                f"{self.name}: no two consecutive sentences share a document, so there was "
                "nothing to learn; the encoder keeps its random initialisation",
                RuntimeWarning,
                stacklevel=3,
            )
        self._vocab = list(corpus.vocab)
        weights = self._weights_from_net(net)
        weights["vocab_utf8"] = pack_vocab(self._vocab)
        weights["counts"] = corpus.counts.astype(np.int64)
        self._weights = weights
        stats = {
            "sentences": corpus.n_sentences,
            "documents": corpus.n_documents,
            "tokens": corpus.n_tokens_seen,
            "tokens_kept": int(corpus.tokens.size),
            "vocabulary": len(corpus.vocab),
            "init_vectors_found": n_found,
            "epochs": int(self.epochs),
        }
        # the state (and so the fingerprint) must not depend on the wall-clock time
        self._meta = {"n_words": len(self._vocab), "arch": self._arch(), "training": stats}
        self.training_info_ = {
            **stats,
            "loss_per_epoch": losses,
            "seconds": time.perf_counter() - started,
        }
        self._build_from_weights()

    def _train_epochs(
        self, net: Any, corpus: _Corpus, losses: list[float], show_progress: bool
    ) -> int:
        """Adam over batches of contiguous sentences; returns the number of scored rows."""
        import torch

        if show_progress:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm

        opt = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate))
        params = list(net.parameters())
        rng = np.random.Generator(np.random.PCG64(int(self.random_state)))
        n, bs = corpus.n_sentences, int(self.batch_size)
        max_len = int(self.max_length)
        rows_total = 0
        net.train()
        for epoch in range(int(self.epochs)):
            shift = int(rng.integers(bs)) if n > bs else 0
            cuts = sorted({0, n, *range(shift, n, bs)})
            spans = [(a, b) for a, b in itertools.pairwise(cuts) if b - a >= 2]
            order = rng.permutation(len(spans))
            total = 0.0
            scored = 0
            with tqdm(
                total=len(spans), disable=not show_progress, unit="batch",
                desc=f"quick-thought epoch {epoch + 1}/{self.epochs}",
            ) as bar:  # fmt: skip
                for k in order:
                    a, b = spans[int(k)]
                    target = context_targets(corpus.docs[a:b], int(self.context_size))
                    rows = target.sum(axis=1) > 0
                    bar.update(1)
                    if not rows.any():
                        continue
                    seqs = [
                        corpus.tokens[corpus.offsets[i] : corpus.offsets[i + 1]][:max_len]
                        for i in range(a, b)
                    ]
                    ids, lengths = _pad(seqs)
                    ids_t, len_t = torch.from_numpy(ids), torch.from_numpy(lengths)
                    u = _sentence_vectors(net, "f", ids_t, len_t)
                    v = _sentence_vectors(net, "g", ids_t, len_t)
                    scores = u @ v.T
                    eye = torch.eye(b - a, dtype=torch.bool)
                    logp = torch.log_softmax(scores.masked_fill(eye, float("-inf")), dim=1)
                    t = torch.from_numpy(target)
                    per_row = -(t * logp.masked_fill(t == 0, 0.0)).sum(dim=1)
                    rows_t = torch.from_numpy(rows)
                    loss = per_row[rows_t].mean()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, float(self.max_grad_norm))
                    opt.step()
                    with torch.no_grad():
                        net["embedding"].weight[PAD_ID].zero_()
                    n_rows = int(rows.sum())
                    total += float(loss.item()) * n_rows
                    scored += n_rows
                    if show_progress:
                        bar.set_postfix(loss=f"{total / scored:.4f}")
            losses.append(total / scored if scored else float("nan"))
            rows_total += scored
        net.eval()
        return rows_total

    # ---------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return dict(self._weights), dict(self._meta)

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        if meta.get("arch") != self._arch():
            raise ModelFormatError(
                f"saved Quick-Thought architecture {meta.get('arch')!r} does not match the "
                f"parameters {self._arch()!r}"
            )
        n = int(meta.get("n_words", -1))
        directions = ("", "_reverse") if self.bidirectional else ("",)
        need = [
            "embedding.weight",
            "vocab_utf8",
            "counts",
            *(f"{enc}.{key}{d}" for enc in ("f", "g") for key in _GRU_KEYS for d in directions),
        ]
        missing = [k for k in need if k not in arrays]
        if missing:
            raise ModelFormatError(f"saved Quick-Thought state lacks {missing}")
        shape = (n + _N_SPECIAL, int(self.embedding_dim))
        if tuple(arrays["embedding.weight"].shape) != shape:
            raise ModelFormatError(
                f"saved Quick-Thought embedding table has shape "
                f"{tuple(arrays['embedding.weight'].shape)}, expected {shape}"
            )
        self._vocab = unpack_vocab(arrays["vocab_utf8"], n)
        self._weights = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
        self._meta = dict(meta)
        self._build_from_weights()

    # --------------------------------------------------------------- encode
    def _ids(self, text: str) -> np.ndarray:
        index = self._index
        assert index is not None
        tokens = tokenize(text, lowercase=bool(self.lowercase))[: int(self.max_length)]
        if not tokens:
            return np.array([UNK_ID], dtype=np.int64)
        return np.fromiter(
            (index.get(t, UNK_ID) for t in tokens), dtype=np.int64, count=len(tokens)
        )

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        import torch

        if self.__dict__.get("_net") is None:
            raise NotFittedError(f"{self.name} must be fitted before encoding")
        ids, lengths = _pad([self._ids(t) for t in texts])
        with torch_threads(int(self.threads)), torch.no_grad():
            ids_t, len_t = torch.from_numpy(ids), torch.from_numpy(lengths)
            u = _sentence_vectors(self._net, "f", ids_t, len_t)
            v = _sentence_vectors(self._net, "g", ids_t, len_t)
            out = torch.cat([u, v], dim=1)
        return out.numpy().astype(np.float32)

    def get_vocabulary(self) -> list[str]:
        """The trained vocabulary, most frequent first (without ``<pad>`` and ``<unk>``)."""
        self._ensure_loaded()
        self._check_fitted()
        return list(self._vocab)
