"""Pooling of token vectors into one sentence vector (token-level models).

Used by the transformer adapter (and ELMo later).  All functions take token
embeddings ``(batch, tokens, dim)`` and an attention mask ``(batch, tokens)`` with
1 for real tokens and 0 for padding, so padding never leaks into the result and
the output does not depend on how texts were batched.

Several modes can be combined; their outputs are concatenated in the order the
modes are given (as sentence-transformers does).

Example:
    >>> import torch
    >>> from embeddings.pooling import pool
    >>> tok = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [9.0, 9.0]]])
    >>> mask = torch.tensor([[1, 1, 0]])
    >>> pool(tok, mask, ("mean",)).tolist()
    [[2.0, 3.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from embeddings.errors import InvalidParameterError

if TYPE_CHECKING:
    import torch

__all__ = ["PoolingMode", "POOLING_MODES", "pool"]

PoolingMode = Literal["cls", "max", "mean", "mean_sqrt_len"]
POOLING_MODES: tuple[str, ...] = ("cls", "max", "mean", "mean_sqrt_len")


def pool(
    token_embeddings: torch.Tensor, attention_mask: torch.Tensor, modes: Sequence[str]
) -> torch.Tensor:
    """Pool ``(batch, tokens, dim)`` into ``(batch, dim * len(modes))``.

    Args:
        token_embeddings: the last hidden states.
        attention_mask: 1 for real tokens, 0 for padding.
        modes: any of ``cls``, ``max``, ``mean``, ``mean_sqrt_len``; the results are
            concatenated in this order.

    Raises:
        InvalidParameterError: an unknown or empty set of modes.
    """
    import torch

    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown or not modes:
        raise InvalidParameterError(
            f"pooling modes must be a non-empty subset of {list(POOLING_MODES)}, got {list(modes)}"
        )
    mask = attention_mask.unsqueeze(-1).to(token_embeddings.dtype)
    parts = []
    summed = counts = None
    for mode in modes:
        if mode == "cls":
            parts.append(token_embeddings[:, 0])
        elif mode == "max":
            lowest = torch.finfo(token_embeddings.dtype).min
            parts.append(token_embeddings.masked_fill(mask == 0, lowest).max(dim=1).values)
        else:
            if summed is None or counts is None:
                summed = (token_embeddings * mask).sum(dim=1)
                counts = mask.sum(dim=1).clamp(min=1e-9)
            parts.append(summed / (counts if mode == "mean" else counts.sqrt()))
    return torch.cat(parts, dim=1)
