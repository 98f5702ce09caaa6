"""Skip-Thought's objective: two conditional GRU decoders predict the previous and
the next sentence from the thought vector (Kiros et al., NeurIPS 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np

#: the decoders' end-of-sentence class (class 0, which no input word ever is)
EOS_CLASS = 0


class _Objective:
    """Generate each sentence's neighbours with the decoders (teacher forcing)."""

    unit = "sentences"

    def __init__(self, data: Any, batch_size: int, softmax: str) -> None:
        self.data = data
        self.batch_size = batch_size
        self.softmax = softmax
        docs = np.asarray(data.docs)
        same = docs[1:] == docs[:-1]
        self.has_prev = np.concatenate([[False], same])
        self.has_next = np.concatenate([same, [False]])
        self.centers = np.flatnonzero(self.has_prev | self.has_next)

    def plan(self, epoch: int, rng: np.random.Generator) -> list[np.ndarray]:
        order = self.centers[rng.permutation(self.centers.size)]
        return [order[a : a + self.batch_size] for a in range(0, order.size, self.batch_size)]

    def loss(self, model: Any, batch: np.ndarray) -> tuple[Any, int]:
        import torch

        from embeddings.nn.modules import pad_ids

        device = next(model.parameters()).device
        ids, lengths = pad_ids([self.data.sentence(int(i)) for i in batch])
        ids = ids.to(device)
        sides = []
        for flags, offset in ((self.has_prev, -1), (self.has_next, 1)):
            which = np.flatnonzero(flags[batch])
            seqs = [self.data.sentence(int(batch[r]) + offset) for r in which]
            # inputs: a zero (<pad>) start then the words; targets: the words then class 0
            inp, tlen = pad_ids([np.concatenate([[0], s]).astype(np.int64) for s in seqs])
            tgt, _ = pad_ids([np.concatenate([s, [EOS_CLASS]]).astype(np.int64) for s in seqs])
            mask = torch.arange(inp.shape[1])[None, :] < tlen[:, None]
            sides.append((torch.from_numpy(which), inp.to(device), tlen, tgt.to(device), mask))
        cands = None
        if self.softmax == "batch":
            cands = torch.unique(torch.cat([t[m.to(t.device)] for _, _, _, t, m in sides]))
        total = None
        for part in model.parts.values():
            thought = part.encoder(part.embedding(ids), lengths)[1]
            nll, count = None, 0
            for (rows, inp, tlen, tgt, mask), dec in zip(
                sides, (part.decode_prev, part.decode_next), strict=True
            ):
                if rows.numel() == 0:
                    continue
                emb = part.embedding(inp)
                cond = thought[rows.to(device)].unsqueeze(1).expand(-1, emb.shape[1], -1)
                states = dec(torch.cat([emb, cond], dim=2), tlen)[0]
                m = mask.to(device)
                h, y = states[m], tgt[m]
                if cands is None:
                    logits = part.output(h)
                else:
                    w = part.output.weight[cands]
                    logits = h @ w.T + part.output.bias[cands]
                    y = torch.searchsorted(cands, y)
                side = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
                nll = side if nll is None else nll + side
                count += int(y.numel())
            if nll is None:  # unreachable: every planned sentence has a neighbour
                continue
            part_loss = nll / max(count, 1)
            total = part_loss if total is None else total + part_loss
        return total, len(batch)

    def evaluate(self, model: Any) -> float | None:
        return None
