"""Quick-Thought sentence vectors (Logeswaran & Lee, ICLR 2018) trained on your texts.

"An efficient framework for learning sentence representations" replaces the
decoder of Skip-Thought with a classifier: two encoders, ``f`` (input) and ``g``
(context), read every sentence of a batch of *contiguous* sentences, and for each
sentence ``s_i`` the context sentences ``s_{i-1}`` and ``s_{i+1}`` must be picked
out among all the other sentences of the batch by the score ``f(s_i) . g(s_j)``.

This file holds the network and the objective only; the word table, the GRUs,
the corpus reader, the vocabulary, the training loop (checkpoints, resume, time
budget) and the persistence come from :mod:`embeddings.nn` and
:mod:`embeddings.training`.

* one word table shared by ``f`` and ``g`` (row 0 ``<pad>``, row 1 ``<unk>``),
  optionally started from any word-vector source (``init_vectors``: an embedded
  preset such as ``"glove-6b-50d"`` or a vector file; ``embedding_dim`` must then
  match);
* ``f`` and ``g``: one GRU each (``bidirectional=True`` concatenates both
  directions' final states), run packed so padding never enters a state;
* the objective: scores ``S = f(batch) @ g(batch).T`` with the diagonal masked;
  the targets of row ``i`` are the sentences at distance ``1 .. context_size`` in
  the same document, normalised to sum to 1 (the paper's multi-label softmax);
  rows without a target are skipped; Adam with gradient-norm clipping;
* the vector is ``concat(f(s), g(s))``, so ``dim = 2 * hidden_size`` (times 2
  when bidirectional).

Training data: a list of sentences in document order (a blank string marks a
document boundary) or the path of a text file / folder of ``*.txt`` files (one
sentence per line, a blank line between documents, every file its own stream).
Batches are runs of ``batch_size`` contiguous sentences; every epoch shifts the
run boundaries by a random offset and shuffles the batch order.

A text without tokens is encoded as the one-token sentence ``<unk>`` (a finite
vector, never NaN); out-of-vocabulary words map to ``<unk>``.

Published weights: the original Quick-Thought models are TensorFlow checkpoints.
TensorFlow is not a transferkit dependency, so reading them is deliberately not
implemented; train with ``fit`` or ``transferkit train quick-thought``.

Example:
    >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
    >>> texts = ["the cat sat on the mat", "it purred", "", "stocks fell", "banks sold"]
    >>> enc = QuickThoughtEncoder(hidden_size=8, embedding_dim=8, epochs=1, min_count=1)
    >>> enc.fit(texts).encode(["the cat purred"]).shape
    (1, 16)
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import is_int
from embeddings._params import store_params
from embeddings.errors import InvalidParameterError
from embeddings.nn.running_text import RunningTextEncoder
from embeddings.tokenize import tokenize
from embeddings.training.objectives.quick_thought import _Objective, context_targets

__all__ = ["QuickThoughtEncoder", "context_targets"]

UNK_ID = 1


def _network(n_rows: int, embedding_dim: int, hidden_size: int, bidirectional: bool) -> Any:
    import torch

    from embeddings.nn.modules import RecurrentEncoder, WordEmbeddingTable

    class QuickThoughtNet(torch.nn.Module):
        """Shared word table, GRU ``f`` and GRU ``g``; output ``concat(f, g)``."""

        def __init__(self) -> None:
            super().__init__()
            self.embedding = WordEmbeddingTable(n_rows, embedding_dim)
            self.f = RecurrentEncoder(
                "gru", embedding_dim, hidden_size, bidirectional=bidirectional
            )
            self.g = RecurrentEncoder(
                "gru", embedding_dim, hidden_size, bidirectional=bidirectional
            )

        def encode_both(self, ids: Any, lengths: Any) -> tuple[Any, Any]:
            emb = self.embedding(ids)
            return self.f(emb, lengths)[1], self.g(emb, lengths)[1]

        def forward(self, ids: Any, lengths: Any) -> Any:
            u, v = self.encode_both(ids, lengths)
            return torch.cat([u, v], dim=1)

    return QuickThoughtNet()


class QuickThoughtEncoder(RunningTextEncoder):
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
        max_length: tokens kept per sentence (training and encoding), at most
            10,000; the input limit (:meth:`input_limit`): later tokens are cut off.
        min_count: ignore words rarer than this (they become ``<unk>``).
        max_vocab: keep at most this many words (most frequent first); ``None``: all.
        init_vectors: a word-vector source (embedded preset name such as
            ``"glove-6b-50d"``, or a vector file) that initialises the rows of known
            words; ``None``: random initialisation.
        lowercase: lowercase before tokenizing.
        random_state: seed of initialisation and batch order.
        threads: torch threads during ``fit`` and ``encode``; ``1`` (the default)
            makes training bit-reproducible.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
        >>> docs = ["a cat sat", "the cat slept", "", "stocks fell", "markets sank"] * 3
        >>> enc = QuickThoughtEncoder(hidden_size=4, embedding_dim=6, epochs=2, min_count=1)
        >>> enc.fit(docs).dim
        8
    """

    family = "quick_thought"
    path_params = ("init_vectors",)
    adapter_version = "3"  # 3: surrogates reach the vocabulary as U+FFFD (input policy)
    loads_versions = ("2",)  # same saved state

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
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        super()._validate()
        self._check_params(
            ints=("hidden_size", "embedding_dim", "context_size"),
            bools=("bidirectional", "lowercase"),
        )
        bs = self.batch_size
        if not is_int(bs) or bs < 2:
            raise InvalidParameterError(
                f"batch_size must be an int >= 2 (the sentences of a batch are each "
                f"other's candidates), got {bs!r}"
            )

    # ---------------------------------------------------------------- network
    def _arch(self) -> dict[str, Any]:
        return {
            "hidden_size": int(self.hidden_size),
            "embedding_dim": int(self.embedding_dim),
            "bidirectional": bool(self.bidirectional),
        }

    def _output_dim(self) -> int:
        return int(self.hidden_size) * 2 * (2 if self.bidirectional else 1)

    def _build_module(self) -> Any:
        return _network(
            len(self._vocab), int(self.embedding_dim), int(self.hidden_size),
            bool(self.bidirectional),
        )  # fmt: skip

    def _init_module(self, module: Any, generator: Any) -> dict[str, Any]:
        """Embeddings U(-0.1, 0.1) (then ``init_vectors`` rows), GRUs U(-1/sqrt(h), 1/sqrt(h))."""
        import torch

        found = module.embedding.initialise(
            self._vocab.tokens(), generator, source=self.init_vectors
        )
        bound = 1.0 / float(np.sqrt(int(self.hidden_size)))
        with torch.no_grad():
            for enc in (module.f, module.g):
                for p in enc.parameters():
                    p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
        return {"init_vectors_found": found}

    def _layer_groups(self, module: Any) -> dict[str, list[Any]]:
        import torch

        return {"layers": [module.embedding, torch.nn.ModuleList([module.f, module.g])], "top": []}

    # --------------------------------------------------------------- training
    def _training_data(self, source: Any, workdir: Path | None) -> Any:
        data = self._running_text(source, workdir)
        if not np.any(np.diff(np.asarray(data.docs)) == 0):
            warnings.warn(
                f"{self.name}: no two consecutive sentences share a document, so there was "
                "nothing to learn; the encoder keeps its random initialisation",
                RuntimeWarning,
                stacklevel=4,
            )
        return data

    def _objective(self, data: Any) -> Any:
        return _Objective(data, int(self.batch_size), int(self.context_size))

    # ------------------------------------------------------------ encoding
    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        from embeddings.nn.modules import pad_ids

        ml, low = self._max_length(), bool(self.lowercase)
        seqs = []
        for t in texts:
            toks = tokenize(t, lowercase=low, max_tokens=ml)
            seqs.append(self._vocab.ids(toks) if toks else np.array([UNK_ID], dtype=np.int64))
        ids, lengths = pad_ids(seqs)
        return {"ids": ids, "lengths": lengths}

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        return module(batch["ids"], batch["lengths"])
