"""The published Skip-Thought encoders (uni-skip, bi-skip, combine-skip), frozen;
see :mod:`embeddings.adapters.skip_thought`."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_optional_str
from embeddings._params import store_params
from embeddings.adapters._skip_thought_parts import (
    Mode,
    _check_mode,
    _file_digest,
    _parts,
    _thoughts,
)
from embeddings.errors import InvalidParameterError
from embeddings.nn.encoder import TorchEncoder
from embeddings.tokenize import head_chars, nltk_word_tokenize, split_words, tokenize

__all__ = ["SkipThoughtReleaseEncoder"]


class SkipThoughtReleaseEncoder(TorchEncoder):
    """The published Skip-Thought encoders (uni-skip, bi-skip, combine-skip), frozen.

    Input limit: the first 512 tokens of a text (``<eos>`` is appended after them
    with ``use_eos=True``), read from its first ``512 * 64`` characters; the rest is
    cut off.  The release was trained on sentences of at most 30 words; the limit
    bounds the time and memory of one text (the GRUs read one token per step).

    Args:
        path: the release folder (``dictionary.txt``, ``utable.npy`` / ``btable.npy``,
            ``uni_skip.npz`` / ``bi_skip.npz`` and their ``.pkl`` options).
        mode: ``"uni"`` (2400-d), ``"bi"`` (2400-d) or ``"combine"`` (4800-d, uni then bi).
        options: ``{"uni": {"dim": 2400, "dim_word": 620}, "bi": {"dim": 1200,
            "dim_word": 620}}`` to use instead of the pickled options files, which are
            otherwise read with an unpickler that refuses anything but plain data.
        tokenizer: ``"nltk"`` (NLTK's word tokenizer, as published, without punkt
            data: :func:`embeddings.tokenize.nltk_word_tokenize`), ``"split"``
            (whitespace, pre-tokenized text) or ``"words"`` (transferkit's tokenizer).
        lowercase: lowercase texts first (the release's dictionary is cased).
        use_eos: append the ``<eos>`` row, as the published ``encode(use_eos=True)``.
        normalize: L2-normalise each encoder's vector (the published default).
        threads: torch threads while encoding.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load("skip-thought", path="skip-thoughts/", mode="combine")
        ... # doctest: +SKIP
        >>> enc.dim  # doctest: +SKIP
        4800
    """

    family = "skip_thought"
    path_params = ("path",)
    adapter_version = "2"  # 2: an empty text with use_eos is <eos> alone
    loads_versions = ("1",)  # the same saved parameters
    requires_fit = False
    trainable = False
    transient = (*TorchEncoder.transient, "_release", "_release_id")
    max_input_length = 512
    max_input_unit = "tokens"
    random_state = 0  # nothing is random here

    def __init__(
        self,
        *,
        path: str | None = None,
        mode: Mode = "combine",
        options: dict[str, dict[str, Any]] | None = None,
        tokenizer: Literal["nltk", "split", "words"] = "nltk",
        lowercase: bool = False,
        use_eos: bool = False,
        normalize: bool = True,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        super()._validate()
        _check_mode(self.mode)
        if self.tokenizer not in ("nltk", "split", "words"):
            raise InvalidParameterError(
                f"tokenizer must be 'nltk' (as published), 'split' (whitespace) or 'words' "
                f"(transferkit's), got {self.tokenizer!r}"
            )
        for name in ("lowercase", "use_eos", "normalize"):
            check_bool(name, getattr(self, name))
        check_optional_str("path", self.path, "the release folder as a string")
        opts = self.options
        if opts is not None and not (
            isinstance(opts, dict) and all(isinstance(v, dict) for v in opts.values())
        ):
            raise InvalidParameterError(
                "options must be None or {'uni': {'dim': ..., 'dim_word': ...}, 'bi': {...}}, "
                f"got {opts!r}"
            )

    def _load(self) -> None:
        import torch

        from embeddings.formats.skip_thought import gru_to_torch, read_release
        from embeddings.nn.encoder import resolve_device

        if self.path is None:
            raise InvalidParameterError(
                "path is required: the folder of the published Skip-Thought files, e.g. "
                "embeddings.load('skip-thought', path='skip-thoughts/', mode='combine')"
            )
        release = read_release(self.path, mode=str(self.mode), options=self.options)
        self._release = release
        self._arch_cache = {
            name: (part.dim_word, part.hidden_size) for name, part in release.parts.items()
        }
        module = self._new_module()
        state = {}
        for name, part in release.parts.items():
            for k, v in gru_to_torch(part.forward, part.hidden_size).items():
                state[f"parts.{name}.encoder.rnn.{k}"] = torch.from_numpy(v.astype(np.float32))
            if part.backward is not None:
                for k, v in gru_to_torch(part.backward, part.hidden_size).items():
                    key = f"parts.{name}.encoder.rnn.{k}_reverse"
                    state[key] = torch.from_numpy(v.astype(np.float32))
        module.load_state_dict(state, strict=True)
        module.to(resolve_device(self.device))
        module.eval()
        self._module, self._infer = module, None
        self._weights, self._meta = {}, {}

    def _arch(self) -> dict[str, Any]:
        return {k: list(v) for k, v in sorted(self.__dict__.get("_arch_cache", {}).items())}

    def _build_module(self) -> Any:
        import torch

        from embeddings.nn.modules import RecurrentEncoder

        class ReleasePart(torch.nn.Module):
            def __init__(self, dim_word: int, hidden: int, bidirectional: bool) -> None:
                super().__init__()
                self.encoder = RecurrentEncoder(
                    "gru", dim_word, hidden, bidirectional=bidirectional
                )

        class ReleaseNet(torch.nn.Module):
            def __init__(self, arch: dict[str, tuple[int, int]]) -> None:
                super().__init__()
                self.parts = torch.nn.ModuleDict(
                    {n: ReleasePart(d, h, n == "bi") for n, (d, h) in arch.items()}
                )

        return ReleaseNet(self._arch_cache)

    def _output_dim(self) -> int:
        return sum(
            h * (2 if n == "bi" else 1) for n, (_, h) in self.__dict__["_arch_cache"].items()
        )

    def _resource_id(self) -> str:
        self._ensure_loaded()
        rid = self.__dict__.get("_release_id")
        if rid is None:
            from embeddings.formats.skip_thought import DICTIONARY, RELEASE_FILES

            names = [DICTIONARY]
            for part in _parts(self.mode):
                names.extend(RELEASE_FILES[part])
            digest = hashlib.sha256()
            for n in names:
                p = Path(str(self.path)) / n
                if p.is_file():
                    digest.update(f"{n}:{_file_digest(str(p))};".encode())
            rid = self._release_id = digest.hexdigest()
        return rid

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}  # the release is referenced by the parameters

    def _tokens(self, text: str) -> list[str]:
        limit = int(self.max_input_length)
        t = head_chars(text, limit)
        t = t.lower() if self.lowercase else t
        if self.tokenizer == "nltk":
            return nltk_word_tokenize(t, max_tokens=limit)
        if self.tokenizer == "split":
            return split_words(t, max_tokens=limit)
        return tokenize(t, lowercase=False, max_tokens=limit)

    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        import torch

        release = self._release
        unk = release.index["UNK"]
        eos = release.index.get("<eos>", -1)
        if self.use_eos and eos < 0:
            raise InvalidParameterError("use_eos=True but dictionary.txt has no '<eos>' line")
        rows = []
        for t in texts:
            toks = self._tokens(t) or ([] if self.use_eos else ["UNK"])
            r = [release.index.get(w, unk) for w in toks]
            if self.use_eos:
                r.append(eos)
            rows.append(r)
        lengths = torch.tensor([len(r) for r in rows], dtype=torch.int64)
        width = int(lengths.max()) if rows else 1
        batch: dict[str, Any] = {"lengths": lengths}
        for name, part in release.parts.items():
            out = np.zeros((len(rows), width, part.dim_word), dtype=np.float64)
            for i, r in enumerate(rows):
                out[i, : len(r)] = part.table[np.asarray(r)]
            batch[name] = torch.from_numpy(out)
        return batch

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        dtype = next(module.parameters()).dtype
        inputs = {n: batch[n].to(dtype) for n in module.parts}
        return _thoughts(module, inputs, batch["lengths"], bool(self.normalize))

    def fit(self, texts: Any, y: Any = None, **kwargs: Any) -> SkipThoughtReleaseEncoder:
        """A no-op: the published encoders are used as they are.

        Train your own with :class:`SkipThoughtEncoder` or ``transferkit train skip-thought``.
        """
        from embeddings.base import BaseEncoder

        if kwargs:
            raise InvalidParameterError(
                f"the published Skip-Thought release is not trained; fit takes no "
                f"{sorted(kwargs)} (train your own with SkipThoughtEncoder.fit)"
            )
        BaseEncoder.fit(self, texts, y)
        return self
