"""Paragraph vectors (Doc2Vec: PV-DBOW and PV-DM) trained on your texts, inferred reproducibly.

``fit(texts)`` (or ``fit(path)`` for a corpus on disk) trains a
gensim ``Doc2Vec`` model; ``encode`` *infers* a vector for every text with the word
vectors and output weights frozen.

Why gensim's ``infer_vector`` is not reproducible, and what we do instead:

1. Its starting vector comes from ``pseudorandom_weak_vector(seed_string=" ".join(words))``,
   which seeds with Python's ``hash()`` -- salted per process (``PYTHONHASHSEED``),
   so another process starts from another vector.
2. The negative-sampling / down-sampling / window-shrinking random numbers come
   from ``model.random``, one ``RandomState`` that advances with every call, so the
   same text gives a different vector on the second call.

:meth:`Doc2VecEncoder._infer` runs the same gensim training kernels
(``train_document_dbow`` / ``train_document_dm``, with learning of words and output
weights switched off, and the same learning-rate schedule), but seeds both the
starting vector and ``model.random`` from ``sha256(random_state, tokens)``.  The
vector of a text therefore depends only on the model, ``random_state`` and the
text: bit-identical across calls, batch sizes and processes.

The fitted state (word vectors, output weights, vocabulary, counts, down-sampling
thresholds and the negative-sampling table) is saved with safetensors, never pickle.

Example:
    >>> from embeddings.adapters.doc2vec import Doc2VecEncoder
    >>> texts = ["the cat sat on the mat", "the dog sat on the log"] * 10
    >>> enc = Doc2VecEncoder(vector_size=8, min_count=1, epochs=2).fit(texts)
    >>> a = enc.encode(["the cat sat"]); b = enc.encode(["the cat sat"])
    >>> bool((a == b).all()), a.shape
    (True, (1, 8))
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar, Literal

import numpy as np

from embeddings._checks import check_bool, check_optional_int
from embeddings._params import store_params
from embeddings._texts import warn_empty_texts
from embeddings.adapters.word_vectors import pack_vocab, unpack_vocab
from embeddings.base import BaseEncoder, check_meta, check_state_arrays
from embeddings.errors import (
    InvalidParameterError,
    ModelFormatError,
    NotFittedError,
    renamed_parameters,
)
from embeddings.tokenize import tokenize
from embeddings.training.trainers import DOC2VEC_PARAMS, check_training_params, train_doc2vec

__all__ = ["Doc2VecEncoder", "inference_seed"]


def inference_seed(tokens: Sequence[str], random_state: int) -> int:
    """The 64-bit seed of a text's inference: sha256 of ``random_state`` and its tokens.

    Example:
        >>> inference_seed(["a", "b"], 0) == inference_seed(["a", "b"], 0)
        True
        >>> inference_seed(["a", "b"], 0) == inference_seed(["a", "b"], 1)
        False
    """
    h = hashlib.sha256(str(int(random_state)).encode())
    for tok in tokens:
        h.update(b"\x00")
        h.update(tok.encode("utf-8"))
    return int.from_bytes(h.digest()[:8], "little")


class Doc2VecEncoder(BaseEncoder):
    """Doc2Vec paragraph vectors (gensim training, reproducible inference).

    ``workers=`` (gensim's name of ``threads``) still works, with a deprecation warning.

    Input limit: ``encode`` infers from the first 10,000 tokens of a text (the most
    gensim's Doc2Vec kernels read of one document, ``MAX_DOCUMENT_LEN``), read from
    its first 640,000 characters; the rest is cut off.

    Args:
        mode: ``"dbow"`` (PV-DBOW, distributed bag of words) or ``"dm"`` (PV-DM,
            distributed memory).
        vector_size: output dimension.
        window: context window (PV-DM; PV-DBOW with ``dbow_words``).
        min_count: ignore words rarer than this (use 1 for tiny corpora).
        epochs: training passes.
        negative: negative samples.
        sample: down-sampling threshold of frequent words.
        dbow_words: PV-DBOW also trains skip-gram word vectors.
        alpha: initial learning rate (training and inference).
        min_alpha: final learning rate.
        infer_epochs: inference passes per text (``None``: ``epochs``).
        lowercase: lowercase before tokenizing.
        random_state: seed of training and of inference.
        threads: training threads (1 to 64); only ``1`` makes training
            bit-reproducible (inference is reproducible either way).

    Example:
        >>> enc = Doc2VecEncoder(mode="dm", vector_size=4, min_count=1, epochs=1)
        >>> enc.fit(["a b c", "b c d"]).dim
        4
    """

    family = "doc2vec"
    # 2: texts reach the model with surrogates replaced by U+FFFD (BaseEncoder's input
    # policy), so a vocabulary that holds U+FFFD now serves them; same saved state
    adapter_version = "2"
    loads_versions = ("1",)
    requires_fit = True
    trainable = True
    transient = ("_model", "_n_empty")
    max_input_length = 10_000  # gensim's doc2vec kernels read at most this many words
    max_input_unit = "tokens"
    trains_on_corpus = True
    renamed_params: ClassVar[dict[str, str]] = {"workers": "threads"}

    @renamed_parameters(workers="threads")
    def __init__(
        self,
        mode: Literal["dbow", "dm"] = "dbow",
        *,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 5,
        epochs: int = 10,
        negative: int = 5,
        sample: float = 1e-3,
        dbow_words: bool = False,
        alpha: float = 0.025,
        min_alpha: float = 0.0001,
        infer_epochs: int | None = None,
        lowercase: bool = True,
        random_state: int = 0,
        threads: int = 1,
    ) -> None:
        store_params(self, locals())

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        if self.mode not in ("dbow", "dm"):
            raise InvalidParameterError(f"mode must be 'dbow' or 'dm', got {self.mode!r}")
        # the documented bounds, so a saved config is refused at load
        check_training_params(**{name: getattr(self, name) for name in DOC2VEC_PARAMS})
        if not self.alpha > 0:
            raise InvalidParameterError(f"alpha must be > 0, got {self.alpha!r}")
        check_optional_int("infer_epochs", self.infer_epochs)
        for name in ("dbow_words", "lowercase"):
            check_bool(name, getattr(self, name))

    def _load(self) -> None:
        from embeddings._deps import require

        require("gensim", extra="models")
        # after unpickling: rebuild the inference model from the (pickled) fitted weights
        self._model = self._inference_model() if self.__dict__.get("_weights") else None

    def _output_dim(self) -> int:
        return int(self.vector_size)

    # ------------------------------------------------------------------ fit
    def _train(self, corpus: Any, progress: bool) -> None:
        model, info = train_doc2vec(
            corpus,
            dm=self.mode == "dm",
            dbow_words=bool(self.dbow_words),
            show_progress=progress,
            **{name: getattr(self, name) for name in DOC2VEC_PARAMS},
        )
        wv = model.wv
        self._weights = {
            "word_vectors": np.array(wv.vectors, dtype=np.float32),
            "syn1neg": np.array(model.syn1neg, dtype=np.float32),
            "counts": np.asarray(wv.expandos["count"], dtype=np.int64).copy(),
            "sample_int": np.asarray(wv.expandos["sample_int"], dtype=np.uint32).copy(),
            "cum_table": np.asarray(model.cum_table, dtype=np.uint32).copy(),
            "vocab_utf8": pack_vocab([str(w) for w in wv.index_to_key]),
        }
        self.training_info_ = info.as_dict()
        # the state (and so the fingerprint) must not depend on the wall-clock time
        corpus = {k: v for k, v in self.training_info_.items() if k != "seconds"}
        self._meta = {"n_words": len(wv), "sample": float(model.sample), "training": corpus}
        self._model = self._inference_model()

    def _fit(self, texts: list[str]) -> None:
        from embeddings.training.corpus import TextCorpus

        self._train(TextCorpus(texts, lowercase=bool(self.lowercase)), progress=False)

    def _fit_corpus(
        self, corpus: str | os.PathLike[str] | list[str], *, show_progress: bool
    ) -> None:
        """``fit(path)``: each non-blank line of the file or folder is one document."""
        from embeddings.training.corpus import TextCorpus

        self._train(TextCorpus(corpus, lowercase=bool(self.lowercase)), progress=show_progress)

    # ---------------------------------------------------------------- state
    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return dict(self._weights), dict(self._meta)

    def _check_state(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        owner = "saved Doc2Vec state"
        check_meta(
            meta,
            {"n_words": "int", "sample": "number", "training": "dict"},
            optional=("training",),
            owner=owner,
        )
        n, size = int(meta["n_words"]), int(self.vector_size)
        if n < 1:
            raise ModelFormatError(f"{owner}: n_words must be >= 1, got {n}")
        check_state_arrays(
            arrays,
            {
                "word_vectors": ("float32", (n, size)),
                "syn1neg": ("float32", (n, size)),
                "counts": ("int64", (n,)),
                "sample_int": ("uint32", (n,)),
                "cum_table": ("uint32", (n,)),
                "vocab_utf8": ("uint8", (None,)),
            },
            owner=owner,
        )
        # gensim's kernels draw negative samples by bisecting the cumulative table
        # modulo its last entry: it must be non-decreasing and end above zero
        cum = arrays["cum_table"]
        if int(cum[-1]) == 0 or (np.diff(cum.astype(np.int64)) < 0).any():
            raise ModelFormatError(
                f"{owner}: array 'cum_table' must be non-decreasing with a last entry > 0"
            )
        if (arrays["counts"] < 0).any():
            raise ModelFormatError(f"{owner}: array 'counts' holds negative counts")

    def _set_state(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        need = ("word_vectors", "syn1neg", "counts", "sample_int", "cum_table", "vocab_utf8")
        missing = [k for k in need if k not in arrays]
        if missing:
            raise ModelFormatError(f"saved Doc2Vec state lacks {missing}")
        n = int(meta.get("n_words", -1))
        if arrays["word_vectors"].shape != (n, int(self.vector_size)):
            raise ModelFormatError(
                f"saved Doc2Vec word vectors have shape {arrays['word_vectors'].shape}, "
                f"expected ({n}, {self.vector_size})"
            )
        self._weights = {k: np.ascontiguousarray(arrays[k]) for k in need}
        self._meta = dict(meta)
        self._model = self._inference_model()

    def _inference_model(self) -> Any:
        """The attributes gensim's Cython kernels read, built from the saved weights only."""
        from gensim.models import KeyedVectors

        w = self._weights
        vocab = unpack_vocab(w["vocab_utf8"], int(self._meta["n_words"]))
        size = int(self.vector_size)
        kv = KeyedVectors(size, count=0, dtype=np.float32)
        kv.add_vectors(vocab, np.array(w["word_vectors"], dtype=np.float32))
        kv.vectors_lockf = np.ones(1, dtype=np.float32)
        kv.expandos["count"] = np.array(w["counts"], dtype=np.int64)
        kv.expandos["sample_int"] = np.array(w["sample_int"], dtype=np.uint32)
        dm = self.mode == "dm"
        return SimpleNamespace(
            wv=kv,
            dv=SimpleNamespace(vector_size=size, vectors=None, vectors_lockf=None),
            syn1neg=np.array(w["syn1neg"], dtype=np.float32),
            syn1=None,
            cum_table=np.array(w["cum_table"], dtype=np.uint32),
            hs=0,
            negative=int(self.negative),
            sample=float(self._meta.get("sample", self.sample)),
            cbow_mean=1,
            layer1_size=size,
            workers=1,
            window=int(self.window),
            dm_tag_count=1,
            shrink_windows=True,
            sg=not dm,
            dm=dm,
            dm_concat=0,
            random=np.random.RandomState(0),
        )

    # --------------------------------------------------------------- encode
    def _infer(self, tokens: list[str]) -> np.ndarray | None:
        """Infer one text's vector; ``None`` when no token is in the vocabulary."""
        model = self._model
        words = tokens[: int(self.max_input_length)]
        if not any(w in model.wv.key_to_index for w in words):
            return None
        from gensim.models.doc2vec_inner import train_document_dbow, train_document_dm

        seed = inference_seed(words, int(self.random_state))
        size = int(self.vector_size)
        rng = np.random.Generator(np.random.SFC64(seed))
        doctag = ((rng.random(size).astype(np.float32) - 0.5) / size).reshape(1, size)
        model.random = np.random.RandomState(seed & 0xFFFFFFFF)
        lockf = np.ones(1, dtype=np.float32)
        work = np.zeros(size, dtype=np.float32)
        neu1 = np.zeros(size, dtype=np.float32)
        epochs = int(self.infer_epochs or self.epochs)
        alpha, min_alpha = float(self.alpha), float(self.min_alpha)
        delta = (alpha - min_alpha) / max(epochs - 1, 1)
        for _ in range(epochs):
            if model.dm:
                train_document_dm(
                    model, words, [0], alpha, work, neu1,
                    learn_words=False, learn_hidden=False,
                    doctag_vectors=doctag, doctags_lockf=lockf,
                )  # fmt: skip
            else:
                train_document_dbow(
                    model, words, [0], alpha, work,
                    learn_words=False, learn_hidden=False,
                    doctag_vectors=doctag, doctags_lockf=lockf,
                )  # fmt: skip
            alpha -= delta
        return doctag[0]

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        if self.__dict__.get("_model") is None:
            raise NotFittedError(f"{self.name} must be fitted before encoding")
        out = np.zeros((len(texts), int(self.vector_size)), dtype=np.float32)
        lowercase, limit = bool(self.lowercase), int(self.max_input_length)
        for i, text in enumerate(texts):
            vec = self._infer(tokenize(text, lowercase=lowercase, max_tokens=limit))
            if vec is None:
                self._n_empty += 1
            else:
                out[i] = vec
        return out

    def _on_encode_start(self) -> None:
        self._n_empty = 0

    def _on_encode_end(self) -> None:
        warn_empty_texts(self.name, self._n_empty)

    def get_vocabulary(self) -> list[str]:
        """The trained vocabulary (most frequent first)."""
        self._check_fitted()
        return list(itertools.chain(self._model.wv.index_to_key))
