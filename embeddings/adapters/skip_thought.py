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
import functools
import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_bool, check_optional_int
from embeddings.errors import InvalidInputError, InvalidParameterError, NotFittedError
from embeddings.nn.encoder import TorchEncoder
from embeddings.nn.running_text import RunningTextEncoder
from embeddings.tokenize import head_chars, nltk_word_tokenize, split_words, tokenize

__all__ = ["SkipThoughtEncoder", "SkipThoughtReleaseEncoder"]

UNK_ID = 1
EOS_CLASS = 0
Mode = Literal["uni", "bi", "combine"]
_MODES = ("uni", "bi", "combine")


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
        self.mode = mode
        self.hidden_size = hidden_size
        self.embedding_dim = embedding_dim
        self.decoder_size = decoder_size
        self.softmax = softmax
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_grad_norm = max_grad_norm
        self.max_length = max_length
        self.min_count = min_count
        self.max_vocab = max_vocab
        self.init_vectors = init_vectors
        self.expand_vocab = expand_vocab
        self.normalize = normalize
        self.lowercase = lowercase
        self.random_state = random_state
        self.threads = threads
        self.device = device

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        super()._validate()
        if self.mode not in _MODES:
            raise InvalidParameterError(f"mode must be 'uni', 'bi' or 'combine', got {self.mode!r}")
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
        self.path = path
        self.mode = mode
        self.options = options
        self.tokenizer = tokenizer
        self.lowercase = lowercase
        self.use_eos = use_eos
        self.normalize = normalize
        self.threads = threads
        self.device = device

    def _validate(self) -> None:
        super()._validate()
        if self.mode not in _MODES:
            raise InvalidParameterError(f"mode must be 'uni', 'bi' or 'combine', got {self.mode!r}")
        if self.tokenizer not in ("nltk", "split", "words"):
            raise InvalidParameterError(
                f"tokenizer must be 'nltk' (as published), 'split' (whitespace) or 'words' "
                f"(transferkit's), got {self.tokenizer!r}"
            )
        for name in ("lowercase", "use_eos", "normalize"):
            check_bool(name, getattr(self, name))
        if self.path is not None and not (isinstance(self.path, str) and self.path):
            raise InvalidParameterError(
                f"path must be the release folder as a string, got {self.path!r}"
            )
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

        self._validate()
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
