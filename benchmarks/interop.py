"""Use transferkit encoders inside the peers' own harnesses: SentEval and MTEB.

* :func:`senteval_batcher` returns the ``(prepare, batcher)`` pair that SentEval's
  engine takes (``senteval.engine.SE(params, batcher, prepare)``).  SentEval hands
  ``batcher`` batches of *tokenized* sentences (lists of words); they are joined with
  single spaces and encoded.  ``prepare`` sees every sentence of a task (train,
  dev *and* test), so it fits nothing (house rule 8): a trainable encoder must be
  fitted on training texts before it is passed in, else ``prepare`` raises.
* :class:`MTEBModel` implements MTEB's encoder protocol: ``encode(inputs, **kwargs)``
  accepts a list of strings (mteb 1.x) or MTEB 2's ``DataLoader`` of batches
  (``{"text": [...]}``), plus ``similarity``/``similarity_pairwise`` (cosine) and a
  ``mteb_model_meta`` built from the encoder's name, fingerprint and dimension.

* :func:`load_mteb_task` (from :mod:`benchmarks.tasks.mteb_tasks`) gives MTEB's own
  STS task objects (``STSBenchmark``, ``STS12``-``STS16``) with their data read from
  the local task files, so ``mteb.evaluate(MTEBModel(encoder), task)`` runs offline.

Importing this module imports neither SentEval nor MTEB; only
``MTEBModel.mteb_model_meta`` and ``load_mteb_task`` import ``mteb`` (when used).
``MTEBModel`` is also ``transferkit.MTEBModel``.

Example:
    >>> import embeddings
    >>> from benchmarks.interop import MTEBModel, senteval_batcher
    >>> prepare, batcher = senteval_batcher(embeddings.load("glove-6b-50d"))
    >>> prepare({}, [["a", "cat"], ["a", "dog"]])
    >>> batcher({}, [["a", "cat"], []]).shape
    (2, 50)
    >>> MTEBModel(embeddings.load("glove-6b-50d")).encode(["a cat"], task_name="STS12").shape
    (1, 50)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from benchmarks.tasks.mteb_tasks import MTEB_LOCAL_TASKS, load_mteb_task
from embeddings.errors import InvalidInputError, NotFittedError

__all__ = ["MTEB_LOCAL_TASKS", "MTEBModel", "load_mteb_task", "senteval_batcher"]

SentEvalPrepare = Callable[[Any, Sequence[Any]], None]
SentEvalBatcher = Callable[[Any, Sequence[Any]], np.ndarray]


def _as_encoder(encoder: Any) -> Any:
    if isinstance(encoder, str):
        import embeddings

        return embeddings.load(encoder)
    if not (hasattr(encoder, "encode") and hasattr(type(encoder), "dim")):
        raise InvalidInputError(
            f"expected an encoder (with .encode and .dim) or a preset name, got "
            f"{type(encoder).__name__}"
        )
    return encoder


def _needs_fit(encoder: Any) -> bool:
    inner = getattr(encoder, "encoder", encoder)  # CachedEncoder wraps one
    return bool(getattr(inner, "requires_fit", False)) and not bool(
        getattr(inner, "is_fitted", True)
    )


def _sentence(item: Any, index: int) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, bytes):
        return item.decode("utf-8")
    if isinstance(item, Iterable):
        words = [w.decode("utf-8") if isinstance(w, bytes) else w for w in item]
        if not all(isinstance(w, str) for w in words):
            raise InvalidInputError(f"SentEval batch item {index} holds a non-string token")
        return " ".join(words)
    raise InvalidInputError(
        f"SentEval batch item {index} must be a list of tokens or a str, got {type(item).__name__}"
    )


def senteval_batcher(
    encoder: Any, *, batch_size: int = 128
) -> tuple[SentEvalPrepare, SentEvalBatcher]:
    """The ``prepare``/``batcher`` pair for SentEval's engine.

    Args:
        encoder: An encoder (or a preset name), already fitted if it is trainable.
            Wrap it in :class:`~embeddings.cache.CachedEncoder` to cache vectors.
        batch_size: Encoding batch size inside one SentEval batch.

    Returns:
        ``prepare(params, samples)``, which checks the encoder and fits nothing, and
        ``batcher(params, batch)``, which returns a float32 ``(len(batch), dim)``
        array in batch order (an empty token list encodes the empty string).

    Raises:
        NotFittedError: (from ``prepare``) a trainable encoder that is not fitted.

    Example:
        >>> import embeddings
        >>> prepare, batcher = senteval_batcher("glove-6b-50d")
        >>> batcher(None, [["good", "film"]]).dtype
        dtype('float32')
    """
    enc = _as_encoder(encoder)

    def prepare(params: Any, samples: Sequence[Any]) -> None:
        """SentEval's ``prepare``: sees train, dev and test sentences, so fits nothing."""
        if _needs_fit(enc):
            raise NotFittedError(
                f"{getattr(enc, 'name', type(enc).__name__)} must be fitted on the task's "
                "training texts before SentEval runs: SentEval's prepare() receives the test "
                "sentences too, and fitting there would leak them (fit it yourself, then pass it)"
            )

    def batcher(params: Any, batch: Sequence[Any]) -> np.ndarray:
        """SentEval's ``batcher``: tokenized sentences in, float32 vectors out."""
        texts = [_sentence(item, i) for i, item in enumerate(batch)]
        return np.asarray(enc.encode(texts, batch_size=batch_size), dtype=np.float32)

    return prepare, batcher


class MTEBModel:
    """An encoder behind MTEB's encoder protocol (``transferkit.MTEBModel``).

    ``mteb.evaluate(model, tasks)`` (mteb 2) encodes through :meth:`encode`, scores
    pairs with :meth:`similarity_pairwise` and records :attr:`mteb_model_meta`.

    Args:
        encoder: An encoder (or a preset name); trainable ones must be fitted.
        batch_size: Encoding batch size when MTEB does not give one.
        name: The model name MTEB records (default ``transferkit/<encoder name>``).

    Example:
        >>> import embeddings
        >>> model = MTEBModel(embeddings.load("glove-6b-50d"))
        >>> vecs = model.encode(["a cat", "a dog"], task_name="STSBenchmark")
        >>> model.similarity_pairwise(vecs, vecs).round(3).tolist()
        [1.0, 1.0]
    """

    def __init__(self, encoder: Any, *, batch_size: int = 64, name: str | None = None) -> None:
        self.encoder = encoder
        self.batch_size = batch_size
        self.name = name

    @property
    def _enc(self) -> Any:
        enc = self.__dict__.get("_resolved")
        if enc is None:
            enc = _as_encoder(self.encoder)
            self.__dict__["_resolved"] = enc
        return enc

    @property
    def model_name(self) -> str:
        """``name``, else ``transferkit/<encoder name>``."""
        return self.name or f"transferkit/{getattr(self._enc, 'name', type(self._enc).__name__)}"

    def _texts(self, inputs: Any) -> list[str]:
        if isinstance(inputs, (str, bytes)):
            raise InvalidInputError(
                "MTEBModel.encode takes a list of sentences or an MTEB DataLoader, got a "
                "single str; wrap it in a list"
            )
        texts: list[str] = []
        for i, item in enumerate(inputs):
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, Mapping) and "text" in item:  # an MTEB 2 batch
                value = item["text"]
                texts.extend([value] if isinstance(value, str) else list(value))
            else:
                raise InvalidInputError(
                    f"MTEBModel.encode: item {i} is a {type(item).__name__}; expected str or "
                    "a batch dict with a 'text' list"
                )
        return texts

    def encode(self, inputs: Any, /, **kwargs: Any) -> np.ndarray:
        """Encode sentences for MTEB; keyword arguments (task, prompts) are ignored.

        ``batch_size`` in ``kwargs`` is honoured; ``task_name``, ``task_metadata``,
        ``hf_split``, ``hf_subset``, ``prompt_type`` and any other are accepted and
        ignored (transferkit encoders have no prompts).

        Returns:
            float32 ``(n, dim)`` in input order.
        """
        if _needs_fit(self._enc):
            raise NotFittedError(
                f"{self.model_name} must be fitted on training texts before MTEB evaluates it"
            )
        batch_size = kwargs.get("batch_size") or self.batch_size
        texts = self._texts(inputs)
        return np.asarray(self._enc.encode(texts, batch_size=int(batch_size)), dtype=np.float32)

    def similarity(self, embeddings1: Any, embeddings2: Any) -> np.ndarray:
        """Cosine similarity matrix ``(n1, n2)``, float64 (a zero vector scores 0).

        The formula of :func:`evaluators.metrics.paired_cosine` (dot product over the
        product of the norms, clipped to [-1, 1]), applied to every pair of rows.
        """
        a = np.atleast_2d(np.asarray(embeddings1, dtype=np.float64))
        b = np.atleast_2d(np.asarray(embeddings2, dtype=np.float64))
        norms = np.outer(np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1))
        dots = a @ b.T
        out = np.divide(dots, norms, out=np.zeros_like(dots), where=norms > 0)
        return np.clip(out, -1.0, 1.0)

    def similarity_pairwise(self, embeddings1: Any, embeddings2: Any) -> np.ndarray:
        """Cosine of each row of ``embeddings1`` with the same row of ``embeddings2``.

        This is :func:`evaluators.metrics.paired_cosine`, the cosine transferkit's STS
        evaluation scores, so MTEB's ``spearman`` equals transferkit's own.
        """
        from evaluators.metrics import paired_cosine

        return paired_cosine(np.asarray(embeddings1), np.asarray(embeddings2))

    @property
    def mteb_model_meta(self) -> Any:
        """An ``mteb.models.ModelMeta`` describing the encoder (imports mteb)."""
        from mteb.models import ModelMeta
        from mteb.models.model_meta import ScoringFunction

        enc = self._enc
        fingerprint = str(enc.fingerprint()) if hasattr(enc, "fingerprint") else None
        return ModelMeta(
            loader=None,
            name=self.model_name,
            revision=fingerprint[:12] if fingerprint else None,
            release_date=None,
            languages=None,
            n_parameters=None,
            memory_usage_mb=None,
            max_tokens=None,
            embed_dim=int(enc.dim),
            license=None,
            open_weights=None,
            public_training_code=None,
            public_training_data=None,
            framework=["NumPy"],
            similarity_fn_name=ScoringFunction.COSINE,
            use_instructions=False,
            training_datasets=None,
        )
