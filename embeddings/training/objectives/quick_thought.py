"""Quick-Thought's objective: a classifier picks each sentence's true neighbours among
the other sentences of the batch (Logeswaran and Lee, ICLR 2018)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["context_targets"]


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


@dataclass
class _Objective:
    """Pick each sentence's neighbours among the contiguous sentences of its batch."""

    data: Any
    batch_size: int
    context_size: int
    unit: ClassVar[str] = "sentences"

    def plan(self, epoch: int, rng: np.random.Generator) -> list[tuple[int, int]]:
        n, bs = self.data.n_sentences, self.batch_size
        shift = int(rng.integers(bs)) if n > bs else 0
        cuts = sorted({0, n, *range(shift, n, bs)})
        spans = [(a, b) for a, b in itertools.pairwise(cuts) if b - a >= 2]
        docs = np.asarray(self.data.docs)
        spans = [(a, b) for a, b in spans if bool(np.any(np.diff(docs[a:b]) == 0))]
        return [spans[int(k)] for k in rng.permutation(len(spans))]

    def loss(self, model: Any, span: tuple[int, int]) -> tuple[Any, int]:
        import torch

        from embeddings.nn.modules import pad_ids

        a, b = span
        target = context_targets(np.asarray(self.data.docs[a:b]), self.context_size)
        rows = torch.from_numpy(target.sum(axis=1) > 0)
        ids, lengths = pad_ids([self.data.sentence(i) for i in range(a, b)])
        device = next(model.parameters()).device
        u, v = model.encode_both(ids.to(device), lengths)
        scores = u @ v.T
        eye = torch.eye(b - a, dtype=torch.bool, device=device)
        logp = torch.log_softmax(scores.masked_fill(eye, float("-inf")), dim=1)
        t = torch.from_numpy(target).to(device)
        per_row = -(t * logp.masked_fill(t == 0, 0.0)).sum(dim=1)
        return per_row[rows.to(device)].mean(), int(rows.sum())

    def evaluate(self, model: Any) -> float | None:
        return None
