"""ELMo (Peters et al., NAACL 2018): contextual token vectors of a character biLM, pooled.

"Deep contextualized word representations".  The biLM (:mod:`embeddings.nn.bilm`)
gives every token ``n_layers + 1`` layers of ``2 * projection_dim`` values: the
character-CNN token representation (repeated for both directions) and one layer
per LSTM layer.  A sentence vector is

* a **scalar mix** of the layers: ``layers="average"`` (the fixed average, which is
  what a freshly initialised learned mix gives), ``"top"`` (the last LSTM layer) or
  ``"learned"`` (``gamma * sum_k softmax(s)_k * layer_k`` with ``s`` and ``gamma``
  trainable, learned by :func:`~embeddings.training.finetune.fine_tune`: with
  ``unfreeze=1`` the mix only, with ``unfreeze=2`` the biLM too; before
  fine-tuning it equals the average);
* **pooled** over the sentence's tokens (``pooling="mean"`` or ``"max"``) through
  :func:`embeddings.pooling.pool`; the sentence boundary tokens are not pooled, as
  the published ``Elmo`` module removes them.

Token-level vectors are a separate verb: :meth:`encode_tokens` returns, per text,
an array ``(n_tokens, n_layers + 1, 2 * projection_dim)``.

Text is split with transferkit's word tokenizer (``lowercase=False`` by default:
the biLM reads characters and is case-sensitive); :class:`ElmoFileEncoder` also
takes ``tokenizer="split"`` for text that is already tokenized as the published
model's training data was (whitespace between tokens).  A text without tokens is
pooled over its two boundary tokens instead (a finite vector, the same for every
such text).  The input limit is 512 tokens per text (``max_length`` sets another,
up to 10,000): later tokens are cut off, and only the first ``64 * limit``
characters of a text are tokenized; it bounds the time and memory of one text.

Two encoders:

* :class:`ElmoFileEncoder` runs a published biLM from its ``options.json`` and
  ``weights.hdf5`` (``embeddings.load("elmo", options_file=..., weight_file=...)``);
  nothing is trained;
* :class:`ElmoEncoder` trains a biLM on your corpus with the shared trainer
  (``transferkit train elmo``, preset ``elmo-small``) and saves it in the same
  ``options.json`` + ``weights.hdf5`` layout next to the standard saved-folder
  files, so a trained model and a published one load through the same reader
  (:mod:`embeddings.formats.elmo`).

Both run the published inference computation (:mod:`embeddings.nn.bilm`) with two
deliberate differences: every sentence starts from the zero LSTM state (the
published code carries the state of one batch into the next), and the network
runs in float64, rounded to float32 (the published code runs float32; the two
agree to float32 rounding), so a vector never depends on the batch.

Training (:class:`ElmoEncoder`): the forward LM predicts each next token of
``<S> w_1 .. w_n </S>`` from the top forward layer, the backward LM each previous
token from the top backward layer; the loss is the mean of both cross-entropies.
Both directions share one **full softmax** over a capped vocabulary
(``max_vocab`` most frequent words plus ``<unk>``, ``<S>``, ``</S>``): with the
small vocabularies a corpus of a few million tokens supports, the exact softmax
costs about as much as the LSTMs, needs no sampling distribution or
correction, and gives exact perplexities; words outside the cap are predicted as
``<unk>`` (their characters still reach the input).  The inputs are never capped:
every word's characters are read.  Every ``holdout_every``-th document of the
corpus is held out, and the forward and backward perplexities on (up to
``holdout_max`` of) its sentences are measured after training
(``training_info_["heldout"]``).

Example:
    >>> from embeddings.adapters.elmo import ElmoEncoder
    >>> enc = ElmoEncoder(cell_dim=8, projection_dim=4, char_dim=4, filters="1x4,2x4",
    ...                   epochs=1, batch_size=4)
    >>> enc.fit(["The cat sat .", "It purred .", "Stocks fell ."]).encode(["A cat"]).shape
    (1, 8)
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np

from embeddings._checks import check_int, check_number, check_optional_int, check_optional_str
from embeddings._params import store_params
from embeddings.adapters._elmo_base import (
    BILM_PREFIX,
    Layers,
    Pooling,
    _ElmoBase,
    _network,
    parse_filters,
)
from embeddings.errors import (
    InvalidInputError,
    InvalidParameterError,
)
from embeddings.formats.elmo import ElmoOptions
from embeddings.nn.encoder import NET_PREFIX
from embeddings.training.objectives.elmo import SPECIALS, UNK_ID, _Data, _lm_losses, _LMObjective

__all__ = ["ElmoEncoder", "ElmoFileEncoder", "parse_filters"]


class ElmoFileEncoder(_ElmoBase):
    """A published ELMo biLM (``options.json`` + ``weights.hdf5``), frozen.

    The files are read with :func:`embeddings.formats.elmo.read_elmo` (every dataset
    checked by name and shape); a saved folder refers to them (it does not copy
    them) and the fingerprint covers both files' sha256.

    Args:
        options_file: path of ``options.json``.
        weight_file: path of ``weights.hdf5``.
        layers: ``"average"`` (fixed average of the layers), ``"top"`` or
            ``"learned"`` (a scalar mix that fine-tuning learns; average before).
        pooling: ``"mean"`` or ``"max"`` over the tokens.
        max_length: tokens kept per text, at most 10,000 (``None``: 512); the input
            limit (:meth:`input_limit`): later tokens are cut off, and only the first
            ``max_length * 64`` characters of a text are tokenized.
        lowercase: lowercase before tokenizing (the published models read cased text).
        tokenizer: ``"words"`` (transferkit's tokenizer) or ``"split"`` (whitespace:
            pre-tokenized text).
        threads: torch threads while encoding.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> import embeddings
        >>> enc = embeddings.load(
        ...     "elmo", options_file="elmo_2x1024_128_2048cnn_1xhighway_options.json",
        ...     weight_file="elmo_2x1024_128_2048cnn_1xhighway_weights.hdf5")  # doctest: +SKIP
        >>> enc.encode(["The cat sat on the mat ."]).shape  # doctest: +SKIP
        (1, 256)
    """

    adapter_version = "1"
    path_params = ("options_file", "weight_file")
    requires_fit = False
    trainable = False
    transient = (*_ElmoBase.transient, "_files_id")
    random_state = 0  # nothing here is random; fine-tuning brings its own seed

    def __init__(
        self,
        *,
        options_file: str | None = None,
        weight_file: str | None = None,
        layers: Layers = "average",
        pooling: Pooling = "mean",
        max_length: int | None = None,
        lowercase: bool = False,
        tokenizer: Literal["words", "split"] = "words",
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    def _validate(self) -> None:
        super()._validate()
        if self.tokenizer not in ("words", "split"):
            raise InvalidParameterError(
                f"tokenizer must be 'words' or 'split', got {self.tokenizer!r}"
            )
        for name in ("options_file", "weight_file"):
            check_optional_str(name, getattr(self, name), "a file path")

    def _load(self) -> None:
        import torch

        from embeddings.formats.elmo import read_elmo
        from embeddings.nn.encoder import resolve_device

        if self.options_file is None or self.weight_file is None:
            raise InvalidParameterError(
                "options_file and weight_file are required: the published biLM's options.json "
                "and weights.hdf5, e.g. embeddings.load('elmo', options_file='options.json', "
                "weight_file='weights.hdf5')"
            )
        options, arrays = read_elmo(self.options_file, self.weight_file)
        self._options = options
        module = self._new_module()
        state = module.state_dict()
        for name, arr in arrays.items():
            state[BILM_PREFIX + name] = torch.from_numpy(arr)
        module.load_state_dict(state, strict=True)
        module.to(resolve_device(self.device))
        module.eval()
        self._module, self._infer = module, None
        digest = []
        for path in (self.options_file, self.weight_file):
            h = hashlib.sha256()
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
            digest.append(h.hexdigest())
        self._files_id = "options-sha256:{};weights-sha256:{}".format(*digest)
        self._weights, self._meta = {}, {}

    def _arch(self) -> dict[str, Any]:
        return {"options": self._options.to_json()}

    def _build_module(self) -> Any:
        return _network(self._options, None)

    def _resource_id(self) -> str:
        self._ensure_loaded()
        return self._files_id

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}  # the files are referenced by the parameters

    def fit(self, texts: Any, y: Any = None, **kwargs: Any) -> ElmoFileEncoder:
        """A no-op (a published biLM is used as it is), as for every frozen encoder.

        Train your own biLM with :class:`ElmoEncoder` or ``transferkit train elmo``.
        """
        from embeddings.base import BaseEncoder

        if kwargs:
            raise InvalidParameterError(
                f"a published ELMo biLM is not trained; fit takes no {sorted(kwargs)} "
                "(train your own with ElmoEncoder.fit or `transferkit train elmo`)"
            )
        BaseEncoder.fit(self, texts, y)
        return self


class ElmoEncoder(_ElmoBase):
    """An ELMo biLM trained on your corpus (character CNN, highway, 2-layer LSTMP biLM).

    Args:
        cell_dim: LSTM memory cell size (``lstm.dim``).
        projection_dim: token representation and LSTM output size; ``dim`` is twice it.
        n_layers: LSTM layers per direction.
        char_dim: character embedding size.
        filters: character convolutions as ``"WIDTHxCOUNT,..."``.
        n_highway: highway layers.
        cell_clip: clip memory cells to ``[-cell_clip, cell_clip]``.
        proj_clip: clip LSTM outputs likewise.
        max_vocab: words of the softmax vocabulary (most frequent first).
        epochs: passes over the training sentences.
        batch_size: sentences per training batch.
        learning_rate: Adam learning rate.
        max_grad_norm: gradient norm clipping threshold.
        train_max_length: tokens kept per training sentence.
        holdout_every: every this-many-th document is held out of training for the
            perplexity (``None``: none).
        holdout_max: held-out sentences the perplexity is measured on.
        layers: ``"average"``, ``"top"`` or ``"learned"`` (see the module docstring).
        pooling: ``"mean"`` or ``"max"`` over the tokens.
        max_length: tokens kept per text when encoding, at most 10,000 (``None``:
            512); the input limit (:meth:`input_limit`): later tokens are cut off, and
            only the first ``max_length * 64`` characters of a text are tokenized.
        lowercase: lowercase before tokenizing (training and encoding).
        random_state: seed of initialisation and batch order.
        threads: torch threads during ``fit`` and ``encode``.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.

    Example:
        >>> from embeddings.adapters.elmo import ElmoEncoder
        >>> enc = ElmoEncoder(cell_dim=8, projection_dim=4, char_dim=4, filters="1x4,2x4",
        ...                   epochs=1, batch_size=2).fit(["a b", "b c", "c a"])
        >>> enc.dim
        8
    """

    adapter_version = "1"
    encode_time_params = ("layers", "pooling", "max_length")

    def __init__(
        self,
        *,
        cell_dim: int = 256,
        projection_dim: int = 128,
        n_layers: int = 2,
        char_dim: int = 16,
        filters: str = "1x32,2x32,3x64,4x128",
        n_highway: int = 1,
        cell_clip: float = 3.0,
        proj_clip: float = 3.0,
        max_vocab: int = 5000,
        epochs: int = 1,
        batch_size: int = 32,
        learning_rate: float = 1e-3,
        max_grad_norm: float = 10.0,
        train_max_length: int = 40,
        holdout_every: int | None = 50,
        holdout_max: int = 2000,
        layers: Layers = "average",
        pooling: Pooling = "mean",
        max_length: int | None = None,
        lowercase: bool = False,
        random_state: int = 0,
        threads: int = 1,
        device: str = "cpu",
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        super()._validate()
        for name in ("cell_dim", "projection_dim", "n_layers", "char_dim", "max_vocab",
                     "epochs", "batch_size", "train_max_length", "holdout_max"):  # fmt: skip
            check_int(name, getattr(self, name))
        check_int("n_highway", self.n_highway, minimum=0)
        check_optional_int("holdout_every", self.holdout_every, minimum=2)
        for name in ("cell_clip", "proj_clip", "learning_rate", "max_grad_norm"):
            check_number(name, getattr(self, name))
        filters = parse_filters(self.filters)
        if max(w for w, _ in filters) > 50:
            raise InvalidParameterError(
                f"filters: widths must be <= 50 (characters per token), got {self.filters!r}"
            )

    def _load(self) -> None:
        self._options = ElmoOptions(
            char_dim=int(self.char_dim),
            filters=parse_filters(self.filters),
            n_highway=int(self.n_highway),
            cell_dim=int(self.cell_dim),
            projection_dim=int(self.projection_dim),
            n_layers=int(self.n_layers),
            cell_clip=float(self.cell_clip),
            proj_clip=float(self.proj_clip),
            use_skip_connections=True,
        )
        super()._load()

    # --------------------------------------------------------------- network
    def _arch(self) -> dict[str, Any]:
        return {"options": self._options.to_json(), "softmax_rows": self._softmax_rows()}

    def _softmax_rows(self) -> int:
        vocab = self.__dict__.get("_vocab")
        n_words = 0 if vocab is None else min(len(vocab.words), int(self.max_vocab))
        return len(SPECIALS) + n_words

    def _build_module(self) -> Any:
        return _network(self._options, self._softmax_rows())

    def _init_module(self, module: Any, generator: Any) -> dict[str, Any]:
        """bilm-tf's initialisers: characters U(-1, 1), convolutions U(-0.05, 0.05)
        (relu), highway and projection N(0, 1/n_filters), highway carry bias -2, LSTM
        weights Glorot-uniform, softmax N(0, 1/projection_dim), other biases 0."""
        import torch

        o = self._options
        nf = o.n_filters

        def uniform(shape: tuple[int, ...], bound: float) -> Any:
            return (torch.rand(shape, generator=generator) * 2 - 1) * bound

        def normal(shape: tuple[int, ...], std: float) -> Any:
            return torch.randn(shape, generator=generator) * std

        with torch.no_grad():
            for name, p in module.bilm.weights.items():
                shape = tuple(p.shape)
                if name == "char_embed":
                    value = uniform(shape, 1.0)
                elif name.startswith("CNN/W_cnn"):
                    value = uniform(shape, 0.05)
                elif name.startswith("CNN_high") or name == "CNN_proj/W_proj":
                    is_w = name.rsplit("/", 1)[1].startswith("W")
                    value = normal(shape, float(np.sqrt(1.0 / nf))) if is_w else torch.zeros(shape)
                    if name.endswith("b_carry"):
                        value = torch.full(shape, -2.0)
                elif name.endswith("/W_0") or name.endswith("/W_P_0"):
                    value = uniform(shape, float(np.sqrt(6.0 / (shape[0] + shape[1]))))
                else:
                    value = torch.zeros(shape)
                p.copy_(value)
            sm = module.softmax
            sm.weight.copy_(normal(tuple(sm.weight.shape), 1.0 / float(np.sqrt(o.projection_dim))))
            sm.bias.zero_()
        return {}

    # --------------------------------------------------------------- training
    def _training_data(self, source: Any, workdir: Path | None) -> _Data:
        from embeddings.nn.bilm import char_ids
        from embeddings.training.corpus import ordered_token_ids

        vocab, ids = ordered_token_ids(
            source,
            lowercase=bool(self.lowercase),
            min_count=1,
            max_vocab=None,
            max_length=1 << 30,
            workdir=workdir,
            specials=SPECIALS,
        )
        if ids.n_sentences == 0:
            raise InvalidInputError(f"{self.name}.fit: the training texts contain no token")
        docs = np.asarray(ids.docs)
        he = self.holdout_every
        held = np.zeros(docs.shape, dtype=bool) if he is None else (docs % int(he)) == int(he) - 1
        train, heldout = np.flatnonzero(~held), np.flatnonzero(held)  # document 0 is kept
        tokens = vocab.tokens()  # rows 2 and 3 are "<S>" and "</S>": the boundary characters
        chars = char_ids(tokens, self._options.max_characters_per_token).astype(np.int16)
        n_rows = len(SPECIALS) + min(len(vocab.words), int(self.max_vocab))
        full_rows = np.arange(len(tokens))
        targets = np.where(full_rows < n_rows, full_rows, UNK_ID).astype(np.int64)
        self._vocab = vocab
        self._meta = {
            "corpus": {
                "sentences": int(ids.n_sentences),
                "train_sentences": int(train.size),
                "heldout_sentences": int(heldout.size),
                "documents": int(np.unique(docs).size),
                "tokens": int(np.asarray(ids.offsets)[-1]),
                "word_types": len(vocab.words),
                "softmax_vocabulary": n_rows,
            }
        }
        self._data = _Data(ids, chars, targets, train, heldout, int(self.train_max_length))
        return self._data

    def _objective(self, data: _Data) -> _LMObjective:
        return _LMObjective(data, int(self.batch_size))

    def fit(self, texts: Any, y: Any = None, **kwargs: Any) -> ElmoEncoder:
        """Train the biLM on sentences in document order, or on a corpus file/folder.

        Args:
            texts: sentences (a blank string marks a document boundary), or the path
                of a text file / folder of ``*.txt`` files (one sentence per line).
            y: ignored (scikit-learn compatibility).
            **kwargs: ``workdir``, ``resume``, ``max_minutes``, ``show_progress``,
                ``checkpoint_every``, ``log_every`` of :meth:`TorchEncoder.fit
                <embeddings.nn.encoder.TorchEncoder.fit>`.

        Returns:
            self; ``training_info_`` holds the corpus figures, losses and the
            held-out perplexities.
        """
        super().fit(texts, y, **kwargs)
        data = self._data
        held = data.heldout[: int(self.holdout_max)]
        heldout = self._perplexity(data, held) if held.size else None
        self._meta = {**self._meta, "heldout": heldout}
        self._state_digest = None
        result = self.training_result_
        self.training_info_ = {
            **self._meta["corpus"],
            "steps": result.steps,
            "epochs_done": result.epochs_done,
            "finished": result.finished,
            "loss_per_epoch": [h["train_loss"] for h in result.history],
            "seconds": result.seconds,
            "sentences_per_second": result.items_per_second,
            "heldout": heldout,
        }
        del self._data
        return self

    def _perplexity(self, data: _Data, idx: np.ndarray) -> dict[str, float]:
        import torch

        from embeddings._deps import torch_threads

        module = self.module
        module.eval()
        fwd = bwd = 0.0
        n = 0
        with torch_threads(int(self.threads)), torch.no_grad():
            order = idx[np.argsort(data.lengths[idx], kind="stable")]
            for start in range(0, order.size, 64):
                f, b, k = _lm_losses(module, data, order[start : start + 64])
                fwd, bwd, n = fwd + float(f), bwd + float(b), n + k
        return {
            "sentences": int(idx.size),
            "predictions": n,
            "forward": float(np.exp(fwd / n)),
            "backward": float(np.exp(bwd / n)),
        }

    # --------------------------------------------------------- state / files
    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self._vocab.to_arrays(), {"vocab": self._vocab.to_meta()}

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from embeddings.training.vocab import Vocabulary

        self._vocab = Vocabulary.from_arrays(arrays, dict(meta.get("vocab") or {}))

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        self._restore_extra(arrays, dict(meta))  # the softmax size comes from the vocabulary
        super()._set_state(arrays, meta)

    def bilm_arrays(self) -> dict[str, np.ndarray]:
        """The trained biLM as ``{hdf5 dataset name: float32 array}``."""
        self._ensure_loaded()
        self._check_fitted()
        prefix = NET_PREFIX + BILM_PREFIX
        return {k[len(prefix) :]: v for k, v in self._weights.items() if k.startswith(prefix)}

    def export(self, folder: str | os.PathLike[str]) -> tuple[Path, Path]:
        """Write ``options.json`` + ``weights.hdf5`` in the published layout.

        ``embeddings.load("elmo", options_file=..., weight_file=...)`` reads them
        back (as would AllenNLP or bilm-tf); with the same ``layers``, ``pooling``,
        ``max_length`` and ``lowercase`` the vectors are bit-identical.

        Returns:
            The paths of the options file and the weight file.
        """
        from embeddings.formats.elmo import write_elmo

        arrays = self.bilm_arrays()
        return write_elmo(folder, self._options, arrays)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save as usual (``config.json`` + ``weights.safetensors``: the biLM, the LM
        softmax and the vocabulary) plus ``options.json`` + ``weights.hdf5`` (the biLM
        in the published layout, see :meth:`export`)."""
        target = super().save(path)
        self.export(target)
        return target
