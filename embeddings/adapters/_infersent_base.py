"""What the trained and the published InferSent encoders share: the BiLSTM network,
the sentence markers and the common encoder base (word vectors, tokens, encoding)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_optional_str
from embeddings.errors import (
    InvalidParameterError,
)
from embeddings.nn.encoder import TorchEncoder
from embeddings.tokenize import head_chars, nltk_word_tokenize, split_words, tokenize
from embeddings.training.nli import NLI_LABELS

Pooling = Literal["max", "mean", "last"]
Tokenizer = Literal["words", "nltk", "split"]
#: sentence markers of the published versions
MARKERS: dict[int, tuple[str, str]] = {1: ("<s>", "</s>"), 2: ("<p>", "</p>")}
ZERO_STEP = -1  # a step whose word vector is all zeros (no word of the text has a vector)


def _network(word_dim: int, hidden_size: int, classifier: dict[str, Any] | None) -> Any:
    import torch

    from embeddings.nn.modules import RecurrentEncoder, pool_over_time

    class InferSentNet(torch.nn.Module):
        """BiLSTM over word vectors (+ the NLI classifier when trained here)."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = RecurrentEncoder("lstm", word_dim, hidden_size, bidirectional=True)
            if classifier is not None:
                fc, drop, act = classifier["fc_dim"], classifier["dropout"], classifier["nonlinear"]
                layers: list[Any] = []
                for n_in, n_out in ((8 * hidden_size, fc), (fc, fc), (fc, len(NLI_LABELS))):
                    layers += [torch.nn.Dropout(drop), torch.nn.Linear(n_in, n_out)]
                    if act and n_out == fc:
                        layers.append(torch.nn.Tanh())
                self.classifier = torch.nn.Sequential(*layers)

        def forward(self, vectors: Any, lengths: Any, pooling: str, zero_is_pad: bool) -> Any:
            out, last = self.encoder(vectors, lengths)
            if zero_is_pad:  # version 2 of the published code: exact zeros never win a max
                out = out.masked_fill(out == 0, -1e9)
            return pool_over_time(out, lengths, pooling, last=last)  # type: ignore[arg-type]

        def classify(self, u: Any, v: Any) -> Any:
            return self.classifier(torch.cat([u, v, (u - v).abs(), u * v], dim=1))

    return InferSentNet()


class _InferSentBase(TorchEncoder):
    """Word-vector lookup, sentence preparation and the BiLSTM forward of both classes."""

    family = "infersent"
    path_params = ("word_vectors",)
    max_input_length = 512
    max_input_unit = "tokens"
    transient = ("_module", "_infer", "_vectors", "_index", "_vectors_id")
    _vectors: Any
    _index: dict[str, int]
    _vectors_id: str

    word_vectors: str | None
    pooling: str
    tokenizer: str
    lowercase: bool

    def _version(self) -> int | None:
        return None

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        super()._validate()
        if self.pooling not in ("max", "mean", "last"):
            raise InvalidParameterError(
                f"pooling must be 'max', 'mean' or 'last', got {self.pooling!r}"
            )
        if self.tokenizer not in ("words", "nltk", "split"):
            raise InvalidParameterError(
                f"tokenizer must be 'words' (transferkit's), 'nltk' (NLTK word_tokenize, as "
                f"the published InferSent) or 'split' (whitespace), got {self.tokenizer!r}"
            )
        check_bool("lowercase", self.lowercase)
        check_optional_str(
            "word_vectors",
            self.word_vectors,
            "an embedded vector set (e.g. 'glove-6b-50d') or the path of a word-vector file "
            "or store",
        )

    # --------------------------------------------------------- word vectors
    def _load_vectors(self) -> None:
        from embeddings.formats.embedded import EMBEDDED_SOURCES, embedded_version, load_embedded

        source = self.word_vectors
        if source is None:
            raise InvalidParameterError(
                f"{self.name} needs word_vectors: an embedded vector set "
                f"{sorted(EMBEDDED_SOURCES)} or the path of a word-vector file (for the "
                "published checkpoints: GloVe 840B 300d for version 1, fastText "
                "crawl-300d-2M for version 2)"
            )
        if source in EMBEDDED_SOURCES:
            vocab, vectors = load_embedded(source)
            ident = f"{source}:{embedded_version(source)}"
        else:
            if not Path(source).exists():
                raise InvalidParameterError(
                    f"word_vectors {source!r} is neither an embedded vector set "
                    f"{sorted(EMBEDDED_SOURCES)} nor an existing file or store folder"
                )
            from embeddings.formats import detect_format, load_vectors, store_config
            from embeddings.formats.native import converted_store
            from embeddings.formats.text import TEXT_READERS

            fmt = detect_format(source)
            if fmt in TEXT_READERS:  # the original's get_w2v keeps a repeated word's last row
                read = TEXT_READERS[fmt]
                last = lambda: read(source, keep="last")  # noqa: E731
                table = converted_store(source, fmt, last, variant="keep=last")
            else:
                table = load_vectors(source)
            vocab, vectors = table.vocab, table.vectors
            ident = "sha256:" + str(store_config(table.source).get("sha256", ""))
        index: dict[str, int] = {}
        for i, word in enumerate(vocab):
            index.setdefault(word, i)
        self._vectors, self._index, self._vectors_id = vectors, index, ident

    def _word_dim(self) -> int:
        return int(self._vectors.shape[1])

    def _resource_id(self) -> str:
        self._ensure_loaded()
        return str(self.__dict__.get("_vectors_id", ""))

    # ------------------------------------------------------- preparation
    def _tokens(self, text: str) -> list[str]:
        low, limit = bool(self.lowercase), int(self.max_input_length)
        if self.tokenizer == "words":
            return tokenize(text, lowercase=low, max_tokens=limit)
        text = head_chars(text, limit)
        text = text.lower() if low else text
        if self.tokenizer == "split":
            return split_words(text, max_tokens=limit)
        # one token more, so that a kept "n't" is followed by a token as in the whole text
        toks = nltk_word_tokenize(text, max_tokens=limit + 1)
        if self._version() == 2:
            toks = " ".join(toks).replace(" n't ", "n 't ").split()
        return toks[:limit]

    def _rows(self, text: str) -> np.ndarray:
        """Word-vector rows of a text: markers, tokens with a vector, the fallback."""
        version = self._version()
        toks = self._tokens(text)
        if version is not None:
            bos, eos = MARKERS[version]
            toks = [bos, *toks, eos]
        get = self._index.get
        rows = [r for r in map(get, toks) if r is not None]
        if not rows:
            eos_row = get(MARKERS[version][1]) if version is not None else None
            rows = [ZERO_STEP if eos_row is None else eos_row]
        return np.asarray(rows, dtype=np.int64)

    def _batch(self, seqs: Sequence[np.ndarray]) -> dict[str, Any]:
        """Rows -> ``{"vectors": (batch, time, dim) float32, "lengths": (batch,)}``."""
        import torch

        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        idx = np.full((len(seqs), max(int(lengths.max(initial=1)), 1)), ZERO_STEP, np.int64)
        for i, s in enumerate(seqs):
            idx[i, : len(s)] = s
        vecs = np.asarray(self._vectors[np.maximum(idx, 0).reshape(-1)], dtype=np.float32)
        vecs[idx.reshape(-1) < 0] = 0.0
        vecs = vecs.reshape(idx.shape[0], idx.shape[1], -1)
        return {"vectors": torch.from_numpy(vecs), "lengths": torch.from_numpy(lengths)}

    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        return self._batch([self._rows(t) for t in texts])

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        dtype = next(module.parameters()).dtype
        return module(
            batch["vectors"].to(dtype), batch["lengths"], str(self.pooling), self._version() == 2
        )

    def _layer_groups(self, module: Any) -> dict[str, list[Any]]:
        return {"layers": [module.encoder], "top": []}
