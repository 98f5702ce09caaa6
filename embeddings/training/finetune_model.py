"""Fine-tuning's network: which layers train, the head on top, feature passes.

A fine-tunable encoder offers the *torch-encoder protocol*, which
:class:`~embeddings.nn.encoder.TorchEncoder` (every net transferkit trains) and the
transformer adapter implement:

* ``tokenize(texts) -> batch`` and ``forward(batch) -> (n, dim)`` tensor with
  autograd (the same path ``encode`` uses);
* ``trainable_layers() -> {"modules": [...], "layers": [...], "top": [...]}``: every
  module holding the encoder's parameters, its blocks bottom to top, and the
  modules above the blocks (pooler, final norm, projections);
* optionally ``after_training()``, called once the modules' weights have changed
  so that ``encode`` uses them.

``unfreeze=k`` trains the new head, the top ``k`` blocks and the ``top`` modules;
everything else (the lower blocks and the embeddings) gets ``requires_grad=False``,
so no gradient is computed for it and its weights stay bit-identical.  Frozen
modules also run in eval mode (no dropout), so ``unfreeze=0`` trains a softmax on
fixed features, which are computed once.  ``unfreeze="all"`` is full fine-tuning
(embeddings included).  ``init="random"`` re-initialises the same architecture
(``AutoModel.from_config`` for Hugging Face models, ``reset_parameters`` otherwise)
before training: the "no transfer" control of the learning curve.

Example:
    >>> import torch
    >>> from embeddings.training.finetune_model import unique_params
    >>> layer = torch.nn.Linear(2, 2)
    >>> len(unique_params([layer, layer]))
    2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "classifier",
    "features",
    "forward_by_length",
    "freeze",
    "param_groups",
    "reinitialise",
    "unique_params",
]


def unique_params(modules: Sequence[Any]) -> list[Any]:
    seen: set[int] = set()
    out = []
    for module in modules:
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def reinitialise(modules: Sequence[Any]) -> None:
    """Random weights for the same architecture (uses torch's current RNG state)."""
    for module in modules:
        config = getattr(module, "config", None)
        if config is not None and hasattr(module, "save_pretrained"):
            import transformers

            fresh = transformers.AutoModel.from_config(config)
            if type(fresh) is not type(module):
                fresh = type(module)(config)
            module.load_state_dict(fresh.state_dict())
        else:
            for sub in module.modules():
                reset = getattr(sub, "reset_parameters", None)
                if callable(reset):
                    reset()


def features(
    encoder: Any,
    texts: list[str],
    batch_size: int,
    *,
    show_progress: bool = False,
    desc: str = "validate",
) -> Any:
    """Pooled vectors with the current (frozen, eval-mode) weights, as a CPU tensor."""
    import torch

    from embeddings._progress import progress

    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = torch.empty((len(texts), int(encoder.dim)), dtype=torch.float32)
    with (
        torch.no_grad(),
        progress(
            enabled=show_progress, total=len(texts), desc=desc, unit="text", leave=False
        ) as bar,
    ):
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            vecs = encoder.forward(encoder.tokenize([texts[i] for i in idx]))
            out[idx] = vecs.to("cpu", torch.float32)
            bar.update(len(idx))
    return out


def forward_by_length(encoder: Any, texts: list[str], parts: int = 2) -> Any:
    """Pooled vectors of ``texts`` through the trainable encoder (with gradients), in
    ``parts`` forward passes over texts of similar length, in the order given.

    Each pass is padded to its own longest text, so a batch of random pairs pays for
    much less padding than in one pass (about a quarter fewer tokens on SST5, SST2 and
    TREC with two passes of 16).  Padding is masked, so the vectors are those of one
    pass.

    Example:
        >>> import torch
        >>> class Len:  # a toy encoder: its vector is the text's length, then the padded length
        ...     def tokenize(self, texts):
        ...         return torch.tensor([[len(t), max(map(len, texts))] for t in texts])
        ...     def forward(self, batch):
        ...         return batch.float()
        >>> forward_by_length(Len(), ["aaaa", "b", "cc", "ddddd"]).tolist()
        [[4.0, 5.0], [1.0, 2.0], [2.0, 2.0], [5.0, 5.0]]
    """
    import torch

    order = np.argsort([len(t) for t in texts], kind="stable")
    chunks = [c for c in np.array_split(order, max(1, min(parts, len(texts)))) if c.size]
    out = torch.cat([encoder.forward(encoder.tokenize([texts[i] for i in c])) for c in chunks])
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return out[torch.from_numpy(back).to(out.device)]


def classifier(modules: Sequence[Any], head: Any, trainable: Sequence[Any]) -> Any:
    """The encoder modules and the head as one ``nn.Module`` for the trainer.

    Its state dict names are ``encoder.{i}.*`` and ``head.*``.  ``train()`` puts the
    frozen modules in eval mode (no dropout) and only the trained ones in train mode.
    """
    import torch

    class FineTuneModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = torch.nn.ModuleList(modules)
            self.head = head
            self.trained_modules = list(trainable)

        def train(self, mode: bool = True) -> FineTuneModel:
            self.training = mode
            for m in self.encoder:
                m.eval()
            for m in self.trained_modules:
                m.train(mode)
            self.head.train(mode)
            return self

    return FineTuneModel()


def freeze(enc: Any, unfreeze: Any, init: str) -> tuple[list[Any], list[Any], list[Any]]:
    """``(modules, trained modules, trained parameters)`` of ``enc``; the rest stops
    getting gradients.

    ``unfreeze`` is checked against the encoder's layers; ``init="random"``
    re-initialises every module first.
    """
    from embeddings.training.finetune_data import check_unfreeze

    groups = enc.trainable_layers()
    modules, layers = list(groups["modules"]), list(groups["layers"])
    k = check_unfreeze(unfreeze, len(layers))
    if init == "random":
        reinitialise(modules)
    if k == "all":
        trained = modules
    else:
        trained = [*layers[len(layers) - k :], *groups["top"]] if k else []
    trained_ids = {id(p) for p in unique_params(trained)}
    params = unique_params(modules)
    for p in params:
        p.requires_grad_(id(p) in trained_ids)
    return modules, trained, [p for p in params if id(p) in trained_ids]


def param_groups(
    head: Any,
    enc_params: list[Any],
    *,
    learning_rate: float,
    head_learning_rate: float,
    weight_decay: float,
) -> list[dict[str, Any]]:
    """AdamW groups: ``head_learning_rate`` for the head, ``learning_rate`` for the
    encoder; no decay on 1-D parameters (biases, norms)."""
    lr, head_lr = learning_rate, head_learning_rate
    groups = [
        {"params": [head.weight], "lr": head_lr, "weight_decay": weight_decay},
        {"params": [head.bias], "lr": head_lr, "weight_decay": 0.0},
    ]
    decay = [p for p in enc_params if p.ndim >= 2]
    no_decay = [p for p in enc_params if p.ndim < 2]
    if decay:
        groups.append({"params": decay, "lr": lr, "weight_decay": weight_decay})
    if no_decay:
        groups.append({"params": no_decay, "lr": lr, "weight_decay": 0.0})
    return groups
