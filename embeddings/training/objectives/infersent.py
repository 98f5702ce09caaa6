"""InferSent's objective: an MLP classifier over the features (u, v, |u - v|, u * v)
of premise and hypothesis predicts the NLI label (Conneau et al., EMNLP 2017)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.training.trainer import Objective


@dataclass
class _Rows:
    """Word-vector rows of many sentences, flat with offsets."""

    flat: np.ndarray
    offsets: np.ndarray

    @classmethod
    def build(cls, seqs: Sequence[np.ndarray]) -> _Rows:
        offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in seqs], out=offsets[1:])
        flat = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
        return cls(flat.astype(np.int64), offsets)

    def get(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]


@dataclass
class _NLIData:
    """Training (and dev) pairs as word-vector rows."""

    premises: _Rows
    hypotheses: _Rows
    labels: np.ndarray
    dev: _NLIData | None = None

    def __len__(self) -> int:
        return int(self.labels.size)


class _NLIObjective(Objective):
    """Cross-entropy of the 3-way classifier on ``[u, v, |u-v|, u*v]``; dev accuracy."""

    unit = "sentences"

    def __init__(
        self, encoder: Any, data: _NLIData, batch_size: int
    ) -> None:  # an InferSent encoder
        self.encoder = encoder
        self.data = data
        self.batch_size = batch_size

    def plan(self, epoch: int, rng: np.random.Generator) -> list[np.ndarray]:
        order = rng.permutation(len(self.data))
        return [order[i : i + self.batch_size] for i in range(0, order.size, self.batch_size)]

    def _logits(self, model: Any, data: _NLIData, idx: np.ndarray) -> Any:
        device = next(model.parameters()).device
        sides = []
        for rows in (data.premises, data.hypotheses):
            batch = self.encoder._batch([rows.get(int(i)) for i in idx])
            sides.append(self.encoder._forward(model, {k: v.to(device) for k, v in batch.items()}))
        return model.classify(*sides)

    def loss(self, model: Any, idx: np.ndarray) -> tuple[Any, int]:
        import torch

        logits = self._logits(model, self.data, idx)
        target = torch.from_numpy(self.data.labels[idx]).to(logits.device)
        return torch.nn.functional.cross_entropy(logits, target), 2 * int(idx.size)

    def evaluate(self, model: Any) -> float | None:
        import torch

        dev = self.data.dev
        if dev is None:
            return None
        model.eval()
        correct = 0
        with torch.no_grad():
            for start in range(0, len(dev), 256):
                idx = np.arange(start, min(start + 256, len(dev)))
                pred = self._logits(model, dev, idx).argmax(dim=1).cpu().numpy()
                correct += int((pred == dev.labels[idx]).sum())
        return correct / len(dev)
