"""What the trained and the published Skip-Thought encoders share: the parts of a
combine-skip network, the thought vectors, vocabulary expansion and file digests."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings.errors import InvalidParameterError

UNK_ID = 1
Mode = Literal["uni", "bi", "combine"]
_MODES = ("uni", "bi", "combine")


def _check_mode(mode: object) -> None:
    """Refuse a ``mode`` other than ``'uni'``, ``'bi'`` or ``'combine'``."""
    if mode not in _MODES:
        raise InvalidParameterError(
            f"mode must be 'uni', 'bi' or 'combine', got {mode!r}; pass mode='uni' for the "
            "uni-skip half, 'bi' for the bi-skip half or 'combine' for both"
        )


def _parts(mode: str) -> tuple[str, ...]:
    return ("uni", "bi") if mode == "combine" else (str(mode),)


def _network(
    parts: tuple[str, ...],
    hidden_size: int,
    embedding_dim: int,
    n_rows: int | None,
    decoder_size: int | None,
) -> Any:
    """Encoders per part; with ``n_rows`` a word table each, with ``decoder_size`` decoders."""
    import torch

    from embeddings.nn.modules import RecurrentEncoder, WordEmbeddingTable

    class SkipThoughtPart(torch.nn.Module):
        def __init__(self, bidirectional: bool) -> None:
            super().__init__()
            size = hidden_size // 2 if bidirectional else hidden_size
            if n_rows is not None:
                self.embedding = WordEmbeddingTable(n_rows, embedding_dim)
            self.encoder = RecurrentEncoder("gru", embedding_dim, size, bidirectional=bidirectional)
            if decoder_size is not None and n_rows is not None:
                self.decode_prev = RecurrentEncoder(
                    "gru", embedding_dim + hidden_size, decoder_size
                )
                self.decode_next = RecurrentEncoder(
                    "gru", embedding_dim + hidden_size, decoder_size
                )
                self.output = torch.nn.Linear(decoder_size, n_rows)

    class SkipThoughtNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.parts = torch.nn.ModuleDict({p: SkipThoughtPart(p == "bi") for p in parts})

    return SkipThoughtNet()


def _thoughts(module: Any, inputs: dict[str, Any], lengths: Any, normalize: bool) -> Any:
    """``concat`` over parts of each part's encoder final state (L2-normalised)."""
    import torch

    out = []
    for name, part in module.parts.items():
        h = part.encoder(inputs[name], lengths)[1]
        if normalize:
            h = torch.nn.functional.normalize(h, dim=1, eps=1e-12)
        out.append(h)
    return torch.cat(out, dim=1)


@functools.lru_cache(maxsize=2)
def _embedded_index(source: str) -> tuple[dict[str, int], np.ndarray]:
    """Word -> row of an embedded source, built once per process."""
    from embeddings.formats.embedded import load_embedded

    vocab, table = load_embedded(source)
    index: dict[str, int] = {}
    for i, w in enumerate(vocab):
        index.setdefault(w, i)
    return index, table


class _ExpansionMixin:
    """Vocabulary expansion: least-squares maps from a word-vector source."""

    def _source_index(self, source: str) -> tuple[dict[str, int], np.ndarray]:
        if source in _embedded_sources():
            return _embedded_index(source)
        cached = self.__dict__.get("_expansion_source")
        if cached is not None and cached[0] == source:
            return cached[1], cached[2]
        from embeddings.formats import load_vectors

        t = load_vectors(source)
        index: dict[str, int] = {}
        for i, w in enumerate(t.vocab):
            index.setdefault(w, i)
        self._expansion_source = (source, index, t.vectors)
        return index, t.vectors


def _embedded_sources() -> tuple[str, ...]:
    from embeddings.formats.embedded import EMBEDDED_SOURCES

    return tuple(EMBEDDED_SOURCES)


def _file_digest(path: str) -> str:
    p = Path(path)
    if p.is_dir():
        digest = hashlib.sha256()
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            digest.update(f"{f.relative_to(p)}:{_file_digest(str(f))};".encode())
        return digest.hexdigest()
    digest = hashlib.sha256()
    with open(os.fspath(p), "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
