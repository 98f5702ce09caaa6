"""ELMo's objective: the forward and backward language-model losses of the biLM
(Peters et al., NAACL 2018), over the training sentences and their characters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from embeddings.training.trainer import Objective

#: the special rows of the training vocabulary (the softmax's first rows)
SPECIALS = ("<pad>", "<unk>", "<S>", "</S>")
UNK_ID, BOS_ID, EOS_ID = 1, 2, 3


class _Data:
    """Training sentences (token ids over the full vocabulary) and their characters."""

    def __init__(self, ids: Any, chars: np.ndarray, targets: np.ndarray,
                 train: np.ndarray, heldout: np.ndarray, max_length: int) -> None:  # fmt: skip
        self.ids = ids  # TokenIds over the uncapped vocabulary
        self.chars = chars  # (rows, max_chars) int16 character ids of every vocabulary row
        self.targets = targets  # full row -> softmax row (capped, <unk> beyond the cap)
        self.train = train  # sentence indices used for training
        self.heldout = heldout  # held-out sentence indices
        self.lengths = np.minimum(np.diff(np.asarray(ids.offsets)), max_length)
        self.max_length = max_length

    def sentence(self, i: int) -> np.ndarray:
        return self.ids.sentence(int(i))[: self.max_length]

    def batch(self, idx: Sequence[int]) -> tuple[dict[str, Any], Any]:
        """A batch of sentences -> inputs of the biLM and the softmax rows of each token."""
        import torch

        seqs = [np.concatenate([[BOS_ID], self.sentence(i), [EOS_ID]]) for i in idx]
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        full = np.zeros((len(seqs), int(lengths.max())), dtype=np.int64)
        for b, s in enumerate(seqs):
            full[b, : len(s)] = s
        rows, index = np.unique(full, return_inverse=True)
        batch = {
            "chars": torch.from_numpy(self.chars[rows].astype(np.int64)),
            "index": torch.from_numpy(index.reshape(full.shape).astype(np.int64)),
            "lengths": torch.from_numpy(lengths),
        }
        return batch, full


def _lm_losses(model: Any, data: _Data, idx: Sequence[int]) -> tuple[Any, Any, int]:
    """Summed forward and backward negative log-likelihoods and the number of predictions."""
    import torch

    batch, full = data.batch(idx)
    device = next(model.parameters()).device
    fwd, bwd = model.bilm.directions(
        batch["chars"].to(device), batch["index"].to(device), batch["lengths"]
    )
    lengths = batch["lengths"].numpy()
    steps = full.shape[1]
    t = np.arange(steps)[None, :]
    valid = t < (lengths[:, None] - 1)  # positions that predict a token
    nxt = np.zeros_like(full)
    nxt[:, :-1] = full[:, 1:]
    # backward: the reversed sentence's next token is the original previous token
    rev = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    full_rev = np.take_along_axis(full, rev, axis=1)
    prv = np.zeros_like(full)
    prv[:, :-1] = full_rev[:, 1:]
    mask = torch.from_numpy(valid).to(device)
    losses = []
    for states, targets in ((fwd, nxt), (bwd, prv)):
        h = states[mask]
        y = torch.from_numpy(data.targets[targets[valid]]).to(device)
        logits = model.softmax(h)
        losses.append(torch.nn.functional.cross_entropy(logits, y, reduction="sum"))
    return losses[0], losses[1], int(valid.sum())


class _LMObjective(Objective):
    """Forward and backward language-model losses over length-bucketed sentence batches."""

    unit = "sentences"

    def __init__(self, data: _Data, batch_size: int) -> None:
        self.data = data
        self.batch_size = batch_size

    def plan(self, epoch: int, rng: np.random.Generator) -> list[np.ndarray]:
        order = self.data.train[rng.permutation(self.data.train.size)]
        bs = self.batch_size
        chunk = bs * 50  # sort by length inside chunks of 50 batches (less padding)
        batches = []
        for start in range(0, order.size, chunk):
            part = order[start : start + chunk]
            part = part[np.argsort(self.data.lengths[part], kind="stable")]
            batches += [part[i : i + bs] for i in range(0, part.size, bs)]
        return [batches[int(k)] for k in rng.permutation(len(batches))]

    def loss(self, model: Any, batch: np.ndarray) -> tuple[Any, int]:
        fwd, bwd, n = _lm_losses(model, self.data, batch)
        return (fwd + bwd) / (2 * max(n, 1)), len(batch)
