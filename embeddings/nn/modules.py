"""Building blocks of the networks transferkit trains (torch).

* :class:`WordEmbeddingTable`: an ``nn.Embedding`` over a :class:`Vocabulary
  <embeddings.training.vocab.Vocabulary>` whose rows can start from any word-vector
  source (an embedded preset such as ``"glove-6b-50d"``, or a word2vec / GloVe /
  fastText file or store); ``<pad>`` is row 0 (always zero), unknown words share
  the ``<unk>`` row.
* :class:`RecurrentEncoder`: a GRU or LSTM (optionally bidirectional, stacked) run
  on packed sequences, so padding never reaches the states.
* :func:`pool_over_time`: ``max``, ``mean`` or ``last`` over the valid time steps.

Example:
    >>> import torch
    >>> rnn = RecurrentEncoder("gru", 4, 3, bidirectional=True)
    >>> out, last = rnn(torch.zeros(2, 5, 4), torch.tensor([5, 2]))
    >>> out.shape, last.shape, pool_over_time(out, torch.tensor([5, 2]), "max").shape
    (torch.Size([2, 5, 6]), torch.Size([2, 6]), torch.Size([2, 6]))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from embeddings.errors import InvalidParameterError

__all__ = [
    "WordEmbeddingTable",
    "RecurrentEncoder",
    "pool_over_time",
    "Pooling",
    "word_vector_rows",
    "pad_ids",
]

Pooling = Literal["max", "mean", "last"]
PAD_ID = 0


def word_vector_rows(source: str, words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of ``words`` from a word-vector source.

    Args:
        source: an embedded preset name (``"glove-6b-50d"``) or the path of a vector
            file or store that :func:`embeddings.formats.load_vectors` reads.
        words: the words to look up; a word missing as given is tried lowercased.

    Returns:
        ``(vectors, found)``: float32 ``(len(words), dim)`` (zeros where missing) and
        a boolean mask of the words found.

    Example:
        >>> vecs, found = word_vector_rows("glove-6b-50d", ["the", "qwxzzy"])
        >>> vecs.shape, found.tolist()
        ((2, 50), [True, False])
    """
    from embeddings.formats.embedded import EMBEDDED_SOURCES, load_embedded

    if source in EMBEDDED_SOURCES:
        vocab, table = load_embedded(source)
    else:
        from embeddings.formats import load_vectors

        t = load_vectors(source)
        vocab, table = t.vocab, t.vectors
    where: dict[str, int] = {}
    for i, w in enumerate(vocab):
        where.setdefault(w, i)
    rows = np.full(len(words), -1, dtype=np.int64)
    for k, w in enumerate(words):
        r = where.get(w)
        if r is None:
            r = where.get(w.lower())
        if r is not None:
            rows[k] = r
    found = rows >= 0
    out = np.zeros((len(words), int(table.shape[1])), dtype=np.float32)
    if found.any():
        out[found] = np.asarray(table[rows[found]], dtype=np.float32)
    return out, found


def pad_ids(
    seqs: Sequence[np.ndarray], *, min_length: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad int64 id sequences with ``<pad>`` (0) into ``(batch, time)`` plus lengths.

    An empty sequence is given length 1 (a single ``<pad>``... never reached: callers
    map empty texts to ``<unk>`` first); ``min_length`` sets the smallest width.

    Example:
        >>> ids, lengths = pad_ids([np.array([3, 4]), np.array([5])])
        >>> ids.tolist(), lengths.tolist()
        ([[3, 4], [5, 0]], [2, 1])
    """
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    width = max(int(lengths.max()) if lengths.size else 0, int(min_length))
    out = np.zeros((len(seqs), width), dtype=np.int64)
    for row, s in enumerate(seqs):
        out[row, : len(s)] = s
    return torch.from_numpy(out), torch.from_numpy(np.maximum(lengths, 1))


class WordEmbeddingTable(nn.Module):
    """Word embeddings with ``<pad>`` at row 0, optionally started from word vectors.

    Args:
        num_rows: vocabulary size including the special rows.
        dim: embedding size.
        freeze: keep the table fixed during training (e.g. InferSent's GloVe).

    Example:
        >>> table = WordEmbeddingTable(10, 4)
        >>> table(torch.tensor([[0, 3]])).shape
        torch.Size([1, 2, 4])
    """

    def __init__(self, num_rows: int, dim: int, *, freeze: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(int(num_rows), int(dim), padding_idx=PAD_ID)
        if freeze:
            self.embedding.weight.requires_grad_(False)

    @property
    def dim(self) -> int:
        """Embedding size."""
        return int(self.embedding.embedding_dim)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """``(batch, time)`` ids -> ``(batch, time, dim)`` vectors."""
        return self.embedding(ids)

    @torch.no_grad()
    def initialise(
        self,
        tokens: Sequence[str],
        generator: torch.Generator,
        *,
        source: str | None = None,
        scale: float = 0.1,
        first_word_row: int = 2,
    ) -> int:
        """Seeded U(-scale, scale) rows, then the vectors of ``source`` where it has the word.

        Args:
            tokens: the token of every row (specials first).
            generator: the seeded generator that draws the random rows.
            source: a word-vector source (see :func:`word_vector_rows`) or ``None``.
            scale: bound of the uniform initialisation.
            first_word_row: rows before this one (the specials) never take a vector.

        Returns:
            how many rows took their vector from ``source``.

        Raises:
            InvalidParameterError: ``source`` has another dimension than the table.
        """
        w = self.embedding.weight
        w.copy_((torch.rand(w.shape, generator=generator, dtype=torch.float32) * 2 - 1) * scale)
        n_found = 0
        if source is not None:
            vecs, found = word_vector_rows(source, list(tokens[first_word_row:]))
            if vecs.shape[1] != self.dim:
                raise InvalidParameterError(
                    f"word vectors {source!r} have {vecs.shape[1]} dimensions but the "
                    f"embedding table has {self.dim}; set the embedding size to {vecs.shape[1]}"
                )
            rows = np.flatnonzero(found)
            if rows.size:
                w[torch.from_numpy(rows + first_word_row)] = torch.from_numpy(vecs[rows]).to(
                    w.dtype
                )
            n_found = int(rows.size)
        w[PAD_ID].zero_()
        return n_found


class RecurrentEncoder(nn.Module):
    """A GRU or LSTM over padded batches, run packed so padding never enters a state.

    Args:
        cell: ``"gru"`` or ``"lstm"``.
        input_size: size of the input vectors.
        hidden_size: state size per direction.
        num_layers: stacked layers.
        bidirectional: run a backward direction too (outputs are concatenated).

    Example:
        >>> enc = RecurrentEncoder("lstm", 3, 2)
        >>> enc.output_size
        2
    """

    def __init__(
        self,
        cell: Literal["gru", "lstm"],
        input_size: int,
        hidden_size: int,
        *,
        num_layers: int = 1,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise InvalidParameterError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        klass = nn.GRU if cell == "gru" else nn.LSTM
        self.cell = cell
        self.rnn = klass(
            int(input_size),
            int(hidden_size),
            num_layers=int(num_layers),
            batch_first=True,
            bidirectional=bool(bidirectional),
        )

    @property
    def output_size(self) -> int:
        """Size of each output step and of the final state (directions concatenated)."""
        return int(self.rnn.hidden_size) * (2 if self.rnn.bidirectional else 1)

    def forward(
        self, inputs: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run over ``(batch, time, input_size)`` with the true ``lengths``.

        Returns:
            ``(outputs, last)``: ``(batch, time, output_size)`` with zeros past each
            length, and the top layer's final state of every direction concatenated
            (the forward direction's state at the last valid step, the backward
            direction's at the first), ``(batch, output_size)``.
        """
        packed = pack_padded_sequence(
            inputs, lengths.to("cpu"), batch_first=True, enforce_sorted=False
        )
        out, state = self.rnn(packed)
        h = state[0] if isinstance(state, tuple) else state
        dirs = 2 if self.rnn.bidirectional else 1
        last = h[-dirs:].transpose(0, 1).reshape(h.shape[1], -1)
        padded, _ = pad_packed_sequence(out, batch_first=True, total_length=inputs.shape[1])
        return padded, last


def pool_over_time(
    outputs: torch.Tensor,
    lengths: torch.Tensor,
    mode: Pooling,
    *,
    last: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pool ``(batch, time, dim)`` over the first ``lengths[i]`` steps of each row.

    Args:
        outputs: per-step vectors (values past a row's length are ignored).
        lengths: valid steps per row (>= 1).
        mode: ``"max"``, ``"mean"`` or ``"last"`` (``last`` must then be given, as
            returned by :class:`RecurrentEncoder`).
        last: the final states, for ``mode="last"``.

    Example:
        >>> x = torch.tensor([[[1.0], [3.0]], [[2.0], [9.0]]])
        >>> pool_over_time(x, torch.tensor([2, 1]), "mean").tolist()
        [[2.0], [2.0]]
    """
    if mode == "last":
        if last is None:
            raise InvalidParameterError("pool_over_time(mode='last') needs the final states")
        return last
    steps = torch.arange(outputs.shape[1], device=outputs.device)
    valid = (steps[None, :] < lengths.to(outputs.device)[:, None]).unsqueeze(-1)
    if mode == "max":
        return outputs.masked_fill(~valid, float("-inf")).max(dim=1).values
    if mode == "mean":
        total = outputs.masked_fill(~valid, 0.0).sum(dim=1)
        return total / lengths.to(outputs.device, outputs.dtype)[:, None]
    raise InvalidParameterError(f"pooling must be 'max', 'mean' or 'last', got {mode!r}")
