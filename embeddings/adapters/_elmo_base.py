"""What the published and the trained ELMo encoders share: the vocabulary specials,
the filter spec parser, the biLM network and the common encoder base."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_int, check_optional_int
from embeddings.base import validate_texts
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
    NotFittedError,
)
from embeddings.formats.elmo import ElmoOptions
from embeddings.nn.encoder import TorchEncoder
from embeddings.nn.running_text import MAX_LENGTH_LIMIT
from embeddings.tokenize import head_chars, split_words, tokenize

Layers = Literal["average", "top", "learned"]
Pooling = Literal["mean", "max"]
#: the hdf5 datasets live under this prefix of the network's state_dict
BILM_PREFIX = "bilm.weights."


def parse_filters(spec: str) -> tuple[tuple[int, int], ...]:
    """``"1x32,2x32,3x64"`` -> ``((1, 32), (2, 32), (3, 64))`` (width x count).

    Raises:
        InvalidParameterError: anything else.

    Example:
        >>> parse_filters("1x32, 2x64")
        ((1, 32), (2, 64))
    """
    out = []
    if isinstance(spec, str) and spec.strip():
        for part in spec.split(","):
            w, _, n = part.strip().partition("x")
            if not (w.isdigit() and n.isdigit() and int(w) >= 1 and int(n) >= 1):
                break
            out.append((int(w), int(n)))
        else:
            return tuple(out)
    raise InvalidParameterError(
        f"filters must be 'WIDTHxCOUNT,...' with integers >= 1 (e.g. '1x32,2x32,3x64'), "
        f"got {spec!r}"
    )


def _network(options: ElmoOptions, softmax_rows: int | None) -> Any:
    import torch

    from embeddings.nn.bilm import BiLM, ScalarMix

    class ElmoNet(torch.nn.Module):
        """The biLM, the learned scalar mix and (when trained here) the LM softmax."""

        def __init__(self) -> None:
            super().__init__()
            self.bilm = BiLM(options)
            self.mix = ScalarMix(options.n_layers + 1)
            if softmax_rows is not None:
                self.softmax = torch.nn.Linear(options.projection_dim, softmax_rows)

    return ElmoNet()


class _ElmoBase(TorchEncoder):
    """What both ELMo encoders share: tokens, batches, layers, mixing, pooling."""

    family = "elmo"
    transient = (*TorchEncoder.transient, "_options")
    max_input_length = 512  # the input limit when max_length is None
    max_input_unit = "tokens"
    _options: ElmoOptions

    layers: str
    pooling: str
    max_length: int | None
    lowercase: bool

    # ------------------------------------------------------------ parameters
    def _validate(self) -> None:
        super()._validate()
        if self.layers not in ("average", "top", "learned"):
            raise InvalidParameterError(
                f"layers must be 'average', 'top' or 'learned', got {self.layers!r}"
            )
        if self.pooling not in ("mean", "max"):
            raise InvalidParameterError(f"pooling must be 'mean' or 'max', got {self.pooling!r}")
        self._limit()
        check_bool("lowercase", self.lowercase)

    def _output_dim(self) -> int:
        return 2 * int(self._options.projection_dim)

    # ---------------------------------------------------------------- tokens
    def input_limit(self) -> tuple[int, str] | None:
        """``(max_length, "tokens")``, or the default 512 tokens when ``max_length`` is None.

        Example:
            >>> from embeddings.adapters.elmo import ElmoEncoder
            >>> ElmoEncoder().input_limit(), ElmoEncoder(max_length=40).input_limit()
            ((512, 'tokens'), (40, 'tokens'))
        """
        return self._limit(), "tokens"

    def _limit(self) -> int:
        """The tokens kept per text: ``max_length``, checked, or 512 when it is None."""
        value = check_optional_int("max_length", self.max_length)
        if value is not None and value > MAX_LENGTH_LIMIT:
            raise InvalidParameterError(
                f"max_length must be None or an int <= {MAX_LENGTH_LIMIT:,} (tokens kept per "
                f"text), got {value!r}"
            )
        return int(self.max_input_length) if value is None else value

    def _tokens(self, text: str) -> list[str]:
        limit = self._limit()
        if getattr(self, "tokenizer", "words") == "split":
            head = head_chars(text, limit)
            return split_words(head.lower() if self.lowercase else head, max_tokens=limit)
        return tokenize(text, lowercase=bool(self.lowercase), max_tokens=limit)

    def _batch_of_tokens(self, token_lists: Sequence[Sequence[str]]) -> dict[str, Any]:
        """Token lists -> character rows of the distinct tokens, positions, lengths."""
        import torch

        from embeddings.nn.bilm import BOS_TOKEN, EOS_TOKEN, char_ids

        rows: dict[str, int] = {BOS_TOKEN: 0, EOS_TOKEN: 1}
        seqs = []
        for toks in token_lists:
            seqs.append([0, *(rows.setdefault(t, len(rows)) for t in toks), 1])
        lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
        index = np.zeros((len(seqs), int(lengths.max())), dtype=np.int64)
        for b, s in enumerate(seqs):
            index[b, : len(s)] = s
        chars = char_ids(list(rows), int(self._options.max_characters_per_token))
        return {
            "chars": torch.from_numpy(chars),
            "index": torch.from_numpy(index),
            "lengths": torch.from_numpy(lengths),
        }

    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        return self._batch_of_tokens([self._tokens(t) for t in texts])

    # -------------------------------------------------------------- forward
    def _layer_outputs(self, module: Any, batch: dict[str, Any]) -> list[Any]:
        return module.bilm(batch["chars"], batch["index"], batch["lengths"])

    def _mix(self, module: Any, layers: list[Any]) -> Any:
        if self.layers == "top":
            return layers[-1]
        if self.layers == "learned":
            return module.mix(layers)
        return sum(layers) / len(layers)

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        import torch

        from embeddings.pooling import pool

        mixed = self._mix(module, self._layer_outputs(module, batch))
        lengths = batch["lengths"].to(mixed.device)
        t = torch.arange(mixed.shape[1], device=mixed.device).unsqueeze(0)
        n = lengths.unsqueeze(1)
        inner = (t >= 1) & (t < n - 1)
        boundary = (t == 0) | (t == n - 1)
        mask = torch.where(n > 2, inner, boundary)
        return pool(mixed, mask.to(mixed.dtype), (str(self.pooling),))

    def _layer_groups(self, module: Any) -> dict[str, list[Any]]:
        # fine-tuning with unfreeze=1 learns the scalar mix only; 2 also the biLM
        return {"layers": [module.bilm, module.mix], "top": []}

    # ----------------------------------------------------------- token verb
    def encode_tokens(self, texts: Sequence[str], /, *, batch_size: int = 32) -> list[np.ndarray]:
        """Per text, the biLM layers of its tokens: ``(n_tokens, n_layers + 1, dim)`` float32.

        The tokens are those of ``tokens(text)`` (boundary tokens excluded); a text
        without tokens gives a ``(0, n_layers + 1, dim)`` array.

        Example:
            >>> [a.shape for a in enc.encode_tokens(["a b c", ""])]  # doctest: +SKIP
            [(3, 3, 256), (0, 3, 256)]
        """
        import torch

        from embeddings._deps import torch_threads

        items = validate_texts(texts)
        check_int("batch_size", batch_size)
        self._ensure_loaded()
        if self.requires_fit:
            self._check_fitted()
        if self.__dict__.get("_module") is None:
            raise NotFittedError(f"{self.name} must be fitted before encoding")
        out: list[np.ndarray] = []
        module = self._inference_module()
        for start in range(0, len(items), batch_size):
            token_lists = [self._tokens(t) for t in items[start : start + batch_size]]
            with torch_threads(int(self.threads)), torch.no_grad():
                batch = self.tokenize_tokens(token_lists)
                layers = torch.stack(self._layer_outputs(module, batch), dim=2)
            arr = layers.to("cpu").numpy()
            for b, toks in enumerate(token_lists):
                out.append(np.ascontiguousarray(arr[b, 1 : 1 + len(toks)], dtype=np.float32))
        return out

    def tokens(self, text: str) -> list[str]:
        """The tokens the biLM reads for ``text`` (without ``<S>``/``</S>``).

        Example:
            >>> enc.tokens("Don't panic!")  # doctest: +SKIP
            ['Do', "n't", 'panic', '!']
        """
        if not isinstance(text, str):
            raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
        self._validate()
        return self._tokens(validate_texts([text])[0])

    def tokenize_tokens(self, token_lists: Sequence[Sequence[str]]) -> dict[str, Any]:
        """Pre-split token lists -> a batch on the encoder's device."""
        from embeddings.nn.encoder import resolve_device

        device = resolve_device(self.device)
        batch = self._batch_of_tokens(token_lists)
        return {k: v.to(device) if k != "lengths" else v for k, v in batch.items()}
