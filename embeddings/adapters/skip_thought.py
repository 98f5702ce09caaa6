"""Skip-Thought sentence vectors (Kiros et al., NeurIPS 2015), trained here or published.

"Skip-Thought Vectors" trains a GRU sentence encoder whose final state conditions
two GRU decoders that generate the previous and the next sentence of a running
text.  Three encoders come out of it:

* **uni-skip**: one forward GRU; the vector is its final state (``hidden_size``);
* **bi-skip**: a forward and a backward GRU of ``hidden_size // 2`` each, their
  final states concatenated (``hidden_size``);
* **combine-skip**: the uni-skip and bi-skip vectors side by side (``2 *
  hidden_size``).  ``mode="combine"`` trains both encoders in one run on the same
  batches (each with its own word table and decoders, the loss is their sum, so
  the two never share a parameter); :meth:`SkipThoughtEncoder.select` takes the
  uni or bi encoder out of it.

:class:`SkipThoughtEncoder` holds the network and the objective; the word table,
the GRUs, the corpus reader, the vocabulary, the training loop (checkpoints,
resume, time budget) and the persistence come from :mod:`embeddings.nn` and
:mod:`embeddings.training`.

* decoders: GRUs whose input at every step is the previous target word's
  embedding concatenated with the sentence vector (the paper's conditioning of
  every gate on the encoder output); the first step reads a zero vector; the
  targets are the sentence's words then an end-of-sentence class (class 0, which
  no input ever is); one output layer shared by both decoders, teacher forcing;
* softmax: ``"batch"`` (the default) normalises over the words that occur as
  targets in the batch, the candidate set of Jean et al. (ACL 2015) with a uniform
  proposal, for which their importance weights cancel, so the loss is an exact
  softmax over that subset and its cost does not grow with the vocabulary;
  ``"full"`` normalises over the whole capped vocabulary;
* Adam with gradient-norm clipping; the vectors are L2-normalised per encoder,
  as the published encoder does (``normalize=False`` keeps the raw states).

**Vocabulary expansion** (section 2.2 of the paper): with ``expand_vocab`` set to a
word-vector source (the embedded ``"glove-6b-50d"``, a word2vec/GloVe/fastText file
or a store), a linear map from that space into each encoder's word-embedding
space is fitted by least squares (``sklearn.linear_model.LinearRegression``) on
the words both know; a word outside the trained vocabulary but in the source is
then encoded through the map instead of as ``<unk>``.  It changes only encoding:
``set_params(expand_vocab=None)`` keeps the trained encoder.
:meth:`SkipThoughtEncoder.vocabulary_coverage` tells how many tokens each way
covers.

:class:`SkipThoughtReleaseEncoder` encodes with the published release
(``uni_skip.npz``, ``bi_skip.npz``, their options, ``utable.npy``, ``btable.npy``,
``dictionary.txt``; see :mod:`embeddings.formats.skip_thought`), computing what the
published ``encode`` computes: NLTK's ``word_tokenize`` on the raw (cased) text,
each token looked up in the expanded tables (``UNK`` when absent; ``<eos>`` appended
with ``use_eos=True``), the GRU equations of the release, each encoder's final state
L2-normalised, uni then bi.  An empty text is ``<eos>`` alone with ``use_eos=True``, as
the published code encodes it; without ``<eos>`` (where the published code cannot
encode it) it is the one-token sentence ``UNK``.  A word repeated in ``dictionary.txt``
uses the row of its last line, as the release's reader does.

A text without tokens is encoded as ``<unk>`` by the trained encoder too (a finite
vector, never NaN).

Example:
    >>> from embeddings.adapters.skip_thought import SkipThoughtEncoder
    >>> texts = ["the cat sat", "it purred", "the dog barked", "", "stocks fell", "banks sold"]
    >>> enc = SkipThoughtEncoder(hidden_size=8, embedding_dim=6, epochs=1, min_count=1)
    >>> enc.fit(texts).encode(["the cat purred"]).shape
    (1, 8)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_optional_int
from embeddings._params import store_params
from embeddings.adapters._skip_thought_parts import (
    UNK_ID,
    Mode,
    _check_mode,
    _embedded_sources,
    _ExpansionMixin,
    _file_digest,
    _network,
    _parts,
    _thoughts,
)
from embeddings.adapters.skip_thought_release import SkipThoughtReleaseEncoder
from embeddings.errors import InvalidInputError, InvalidParameterError, NotFittedError
from embeddings.nn.encoder import TorchEncoder
from embeddings.nn.running_text import RunningTextEncoder
from embeddings.tokenize import tokenize
from embeddings.training.objectives.skip_thought import _Objective

__all__ = ["SkipThoughtEncoder", "SkipThoughtReleaseEncoder"]

# a saved folder names "embeddings.adapters.skip_thought:SkipThoughtReleaseEncoder" (the
# allow-listed path, also part of the fingerprint), whichever file defines the class
SkipThoughtReleaseEncoder.__module__ = __name__


class SkipThoughtEncoder(_ExpansionMixin, RunningTextEncoder):
    """Skip-Thought: a GRU encoder trained to generate the neighbouring sentences.

    Args:
        mode: ``"uni"`` (forward GRU), ``"bi"`` (forward + backward GRU) or
            ``"combine"`` (both encoders, trained together, vectors concatenated).
        hidden_size: size of each encoder's vector (a bi encoder runs two GRUs of
            ``hidden_size // 2``); ``dim`` is ``hidden_size``, ``2 * hidden_size``
            for combine.
        embedding_dim: word embedding size (must equal the dimension of
            ``init_vectors`` when given).
        decoder_size: state size of the decoders; ``None``: ``hidden_size``.
        softmax: ``"batch"`` (over the batch's target words) or ``"full"`` (over the
            vocabulary); see the module docstring.
        epochs: passes over the training sentences.
        batch_size: sentences per batch (each with its two neighbours).
        learning_rate: Adam learning rate.
        max_grad_norm: gradient norm clipping threshold.
        max_length: tokens kept per sentence (training and encoding), at most
            10,000; the input limit (:meth:`input_limit`): later tokens are cut off.
        min_count: ignore words rarer than this (they become ``<unk>``).
        max_vocab: keep at most this many words (most frequent first); ``None``: all.
        init_vectors: a word-vector source that initialises the rows of known
            words (``"glove-6b-50d"`` or a vector file); ``None``: random rows.
        expand_vocab: a word-vector source for vocabulary expansion at encoding
            time, or ``None`` (out-of-vocabulary words are ``<unk>``).
        normalize: L2-normalise each encoder's vector (the published encoder does).
        lowercase: lowercase before tokenizing.
        random_state: seed of initialisation and batch order.
        threads: torch threads during ``fit`` and ``encode``.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> from embeddings.adapters.skip_thought import SkipThoughtEncoder
        >>> docs = ["a cat sat", "the cat slept", "it woke", "", "stocks fell", "markets sank"]
        >>> enc = SkipThoughtEncoder(mode="combine", hidden_size=4, embedding_dim=6,
        ...                          epochs=1, min_count=1)
        >>> enc.fit(docs).dim, enc.select("bi").dim
        (8, 4)
    """

    family = "skip_thought"
    path_params = ("init_vectors", "expand_vocab")
    adapter_version = "1"
    encode_time_params = ("expand_vocab",)
    transient = (*TorchEncoder.transient, "_expansion_source", "_expansion_maps")

    def __init__(
        self,
        *,
        mode: Mode = "uni",
        hidden_size: int = 600,
        embedding_dim: int = 100,
        decoder_size: int | None = None,
        softmax: Literal["batch", "full"] = "batch",
        epochs: int = 1,
        batch_size: int = 128,
        learning_rate: float = 8e-4,
        max_grad_norm: float = 5.0,
        max_length: int = 30,
        min_count: int = 2,
        max_vocab: int | None = 20_000,
        init_vectors: str | None = None,
        expand_vocab: str | None = None,
        normalize: bool = True,
        lowercase: bool = True,
        random_state: int = 0,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        super()._validate()
        _check_mode(self.mode)
        self._check_params(
            ints=("hidden_size", "embedding_dim", "batch_size"),
            bools=("normalize", "lowercase"),
            sources=("init_vectors", "expand_vocab"),
        )
        if self.mode != "uni" and (self.hidden_size < 2 or self.hidden_size % 2):
            raise InvalidParameterError(
                f"mode={self.mode!r} runs two GRUs of hidden_size // 2; hidden_size must be an "
                f"even int >= 2, got {self.hidden_size!r}"
            )
        check_optional_int("decoder_size", self.decoder_size)
        if self.softmax not in ("batch", "full"):
            raise InvalidParameterError(
                f"softmax must be 'batch' (the batch's target words) or 'full' (the whole "
                f"vocabulary), got {self.softmax!r}"
            )

    # ---------------------------------------------------------------- network
    def _arch(self) -> dict[str, Any]:
        return {
            "mode": str(self.mode),
            "hidden_size": int(self.hidden_size),
            "embedding_dim": int(self.embedding_dim),
            "decoder_size": int(self.decoder_size or self.hidden_size),
        }

    def _output_dim(self) -> int:
        return int(self.hidden_size) * len(_parts(self.mode))

    def _build_module(self) -> Any:
        return _network(
            _parts(self.mode), int(self.hidden_size), int(self.embedding_dim),
            len(self._vocab), int(self.decoder_size or self.hidden_size),
        )  # fmt: skip

    def _init_module(self, module: Any, generator: Any) -> dict[str, Any]:
        """Word rows U(-0.1, 0.1) (then ``init_vectors``), the rest U(-1/sqrt(h), 1/sqrt(h))."""
        import torch

        found = 0
        for part in module.parts.values():
            found = part.embedding.initialise(
                self._vocab.tokens(), generator, source=self.init_vectors
            )
            with torch.no_grad():
                for pname, p in part.named_parameters():
                    if pname.startswith("embedding."):
                        continue
                    fan = p.shape[-1] if pname.startswith("output.") else p.shape[0] // 3
                    bound = 1.0 / float(np.sqrt(max(int(fan), 1)))
                    p.copy_((torch.rand(p.shape, generator=generator) * 2 - 1) * bound)
        return {"init_vectors_found": found}

    def _layer_groups(self, module: Any) -> dict[str, list[Any]]:
        import torch

        parts = list(module.parts.values())
        return {
            "layers": [
                torch.nn.ModuleList([p.embedding for p in parts]),
                torch.nn.ModuleList([p.encoder for p in parts]),
            ],
            "top": [],
        }

    # --------------------------------------------------------------- training
    def _training_data(self, source: Any, workdir: Path | None) -> Any:
        data = self._running_text(source, workdir)
        docs = np.asarray(data.docs)
        if not np.any(docs[1:] == docs[:-1]):
            raise InvalidInputError(
                f"{self.name}.fit: no two consecutive sentences share a document, so there is "
                "no neighbour to generate; give running text (a blank string or line separates "
                "documents)"
            )
        return data

    def _objective(self, data: Any) -> Any:
        return _Objective(data, int(self.batch_size), str(self.softmax))

    def select(self, part: Literal["uni", "bi"]) -> SkipThoughtEncoder:
        """The uni or bi encoder of a combine model (with its decoders), as its own encoder.

        Example:
            >>> uni = combine.select("uni")  # doctest: +SKIP
        """
        self._ensure_loaded()
        self._check_fitted()
        if part not in ("uni", "bi"):
            raise InvalidParameterError(f"part must be 'uni' or 'bi', got {part!r}")
        if part not in _parts(self.mode):
            raise InvalidParameterError(f"a mode={self.mode!r} encoder has no {part!r} part")
        out = copy.deepcopy(self)
        out.mode = part
        prefix = f"net.parts.{part}."
        out._weights = {
            k: v for k, v in self._weights.items()
            if not k.startswith("net.") or k.startswith(prefix)
        }  # fmt: skip
        out._meta = {**self._meta, "arch": out._arch()}
        for attr in (*self.transient, "_loaded_for", "_state_digest"):
            out.__dict__.pop(attr, None)
        out._build()
        out._loaded_for = out._params_key()
        out._fitted_for = out._fit_key()
        if self.__dict__.get("_preset_name"):
            out._preset_name = f"skip-thought-{part}"
        return out

    # ------------------------------------------------------------ state/encode
    def _resource_id(self) -> str:
        ev = self.expand_vocab
        if ev is None or ev in _embedded_sources():
            return ""
        return f"expand:{_file_digest(ev)}"

    def _tokens(self, text: str) -> list[str]:
        return tokenize(text, lowercase=bool(self.lowercase), max_tokens=self._max_length())

    def _expansion(self) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """``{part: (coef (src_dim, emb), intercept (emb,))}`` fitted on shared words."""
        ev = self.expand_vocab
        if ev is None:
            return None
        cached = self.__dict__.get("_expansion_maps")
        if cached is not None and cached[0] == ev and cached[1] is self._weights:
            return cached[2]
        from sklearn.linear_model import LinearRegression

        index, table = self._source_index(ev)
        words = self._vocab.words
        ours = np.array([i for i, w in enumerate(words) if w in index], dtype=np.int64)
        if ours.size < 2:
            raise InvalidParameterError(
                f"expand_vocab={ev!r} shares {ours.size} word(s) with the trained vocabulary; "
                "a linear map needs more (are both lowercased the same way?)"
            )
        X = np.asarray(table[[index[words[i]] for i in ours]], dtype=np.float64)
        first = len(self._vocab.specials)
        maps = {}
        for part in _parts(self.mode):
            E = np.asarray(
                self._weights[f"net.parts.{part}.embedding.embedding.weight"], dtype=np.float64
            )
            model = LinearRegression().fit(X, E[ours + first])
            maps[part] = (model.coef_.T.copy(), model.intercept_.copy())
        self._expansion_maps = (ev, self._weights, maps)
        return maps

    def vocabulary_coverage(self, texts: list[str]) -> dict[str, float | int]:
        """How many tokens of ``texts`` the trained vocabulary and the expansion cover.

        Returns:
            ``{"tokens", "in_vocabulary", "expanded", "in_vocabulary_share",
            "with_expansion_share"}``; ``expanded`` counts tokens outside the
            vocabulary that the expansion source knows (0 without ``expand_vocab``).

        Example:
            >>> enc.vocabulary_coverage(["a zyxt"])["tokens"]  # doctest: +SKIP
            2
        """
        self._ensure_loaded()
        self._check_fitted()
        index = self._source_index(self.expand_vocab)[0] if self.expand_vocab else {}
        n = known = expanded = 0
        for t in texts:
            for w in self._tokens(t):
                n += 1
                if w in self._vocab.index:
                    known += 1
                elif w in index:
                    expanded += 1
        return {
            "tokens": n,
            "in_vocabulary": known,
            "expanded": expanded,
            "in_vocabulary_share": known / n if n else 0.0,
            "with_expansion_share": (known + expanded) / n if n else 0.0,
        }

    def _prepare(self, texts: list[str]) -> dict[str, Any]:
        import torch

        from embeddings.nn.modules import pad_ids

        if self.__dict__.get("_weights") is None:
            raise NotFittedError(f"{self.name} must be fitted before encoding")
        maps = self._expansion()
        index, table = self._source_index(str(self.expand_vocab)) if maps else ({}, None)
        seqs, extra_pos, extra_rows = [], [], []
        for row, t in enumerate(texts):
            toks = self._tokens(t) or ["<unk>"]
            ids = self._vocab.ids(toks)
            if maps:
                for j, w in enumerate(toks):
                    if ids[j] == UNK_ID and w in index:
                        extra_pos.append((row, j))
                        extra_rows.append(index[w])
            seqs.append(ids)
        ids, lengths = pad_ids(seqs)
        batch: dict[str, Any] = {"ids": ids, "lengths": lengths}
        if extra_pos and table is not None and maps:
            src = np.asarray(table[np.asarray(extra_rows)], dtype=np.float64)
            pos = torch.tensor(extra_pos, dtype=torch.int64)
            batch["extra_pos"] = pos
            for part, (coef, icpt) in maps.items():
                batch[f"extra_{part}"] = torch.from_numpy(src @ coef + icpt)
        return batch

    def _forward(self, module: Any, batch: dict[str, Any]) -> Any:
        inputs = {}
        for name, part in module.parts.items():
            emb = part.embedding(batch["ids"])
            if "extra_pos" in batch:
                pos = batch["extra_pos"].to(emb.device)
                emb = emb.clone()
                emb[pos[:, 0], pos[:, 1]] = batch[f"extra_{name}"].to(emb.device, emb.dtype)
            inputs[name] = emb
        return _thoughts(module, inputs, batch["lengths"], bool(self.normalize))
