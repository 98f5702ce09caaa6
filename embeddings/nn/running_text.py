"""The base of the torch families that learn from running text over a word vocabulary.

Quick-Thought and Skip-Thought read a corpus in document order, map it to token ids
over a capped vocabulary (:func:`embeddings.training.corpus.ordered_token_ids`),
train with Adam and gradient clipping on the shared trainer, and store the
vocabulary beside the network.  :class:`RunningTextEncoder` holds that common part;
a family adds its network, objective and encoding.

Example:
    >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
    >>> issubclass(QuickThoughtEncoder, RunningTextEncoder)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._checks import check_bool, check_int, check_number, check_optional_int
from embeddings.errors import InvalidInputError, InvalidParameterError
from embeddings.nn.encoder import TorchEncoder

__all__ = ["MAX_LENGTH_LIMIT", "RunningTextEncoder", "check_vector_source"]

#: the largest ``max_length`` (tokens kept per sentence, in training and encoding)
MAX_LENGTH_LIMIT = 10_000


def check_vector_source(name: str, value: Any) -> None:
    """Refuse a word-vector source that is neither ``None``, an embedded preset nor a path.

    Example:
        >>> check_vector_source("init_vectors", "glove-6b-50d")
    """
    from embeddings.formats.embedded import EMBEDDED_SOURCES

    if value is None:
        return
    if isinstance(value, str) and value:
        if value in EMBEDDED_SOURCES or Path(value).exists():
            return
        raise InvalidParameterError(
            f"{name} must be None, one of {sorted(EMBEDDED_SOURCES)} or the path of a "
            f"word-vector file; got {value!r}, which is neither"
        )
    raise InvalidParameterError(
        f"{name} must be None, an embedded preset name (e.g. 'glove-6b-50d') or the path of "
        f"a word-vector file, got {value!r}"
    )


class RunningTextEncoder(TorchEncoder):
    """A :class:`TorchEncoder` trained on ordered sentences with a word vocabulary.

    Subclasses have the parameters ``lowercase``, ``min_count``, ``max_vocab``,
    ``max_length``, ``epochs``, ``learning_rate``, ``max_grad_norm``,
    ``random_state`` and ``threads``.  ``max_length`` (at most
    :data:`MAX_LENGTH_LIMIT`) is the input limit: the tokens of a text after the
    first ``max_length`` are cut off (in training and encoding), and encoding
    tokenizes only the first ``max_length * 64`` characters of a text
    (:func:`~embeddings.tokenize.tokenize`).
    """

    trains_on_corpus = True  # ``fit`` also takes a corpus path

    def input_limit(self) -> tuple[int, str] | None:
        """``(max_length, "tokens")``: the tokens of a text that are encoded.

        Example:
            >>> from embeddings.adapters.quick_thought import QuickThoughtEncoder
            >>> QuickThoughtEncoder(max_length=40).input_limit()
            (40, 'tokens')
        """
        return self._max_length(), "tokens"

    def _max_length(self) -> int:
        """``max_length`` as an int, checked (1 .. :data:`MAX_LENGTH_LIMIT`)."""
        value = check_int("max_length", self.max_length)
        if value > MAX_LENGTH_LIMIT:
            raise InvalidParameterError(
                f"max_length must be an int <= {MAX_LENGTH_LIMIT:,} (tokens kept per "
                f"sentence), got {value!r}"
            )
        return value

    def _check_params(
        self,
        *,
        ints: Sequence[str],
        bools: Sequence[str] = ("lowercase",),
        sources: Sequence[str] = ("init_vectors",),
    ) -> None:
        """Check the shared parameters, ``ints`` (each >= 1), ``bools`` and ``sources``."""
        for name in (*ints, "epochs", "min_count"):
            check_int(name, getattr(self, name))
        self._max_length()
        check_optional_int("max_vocab", self.max_vocab)
        for name in ("learning_rate", "max_grad_norm"):
            check_number(name, getattr(self, name))
        for name in bools:
            check_bool(name, getattr(self, name))
        for name in sources:
            check_vector_source(name, getattr(self, name))

    def _running_text(self, source: Any, workdir: Path | None) -> Any:
        """Vocabulary and token ids of ``source``; sets ``_vocab`` and the corpus stats."""
        from embeddings.training.corpus import ordered_token_ids

        vocab, data = ordered_token_ids(
            source,
            lowercase=bool(self.lowercase),
            min_count=int(self.min_count),
            max_vocab=None if self.max_vocab is None else int(self.max_vocab),
            max_length=int(self.max_length),
            workdir=workdir,
        )
        if data.n_sentences == 0:
            raise InvalidInputError(f"{self.name}.fit: the training texts contain no token")
        docs = np.asarray(data.docs)
        self._vocab = vocab
        self._meta = {
            "corpus": {
                "sentences": data.n_sentences,
                "documents": int(np.unique(docs).size),
                "tokens_kept": int(data.offsets[-1]),
                "vocabulary": len(vocab.words),
            }
        }
        return data

    def fit(self, texts: Any, y: Any = None, **kwargs: Any) -> Any:
        """Train on sentences in document order, or on a corpus file/folder.

        Args:
            texts: sentences in corpus order (a blank string marks a document
                boundary), or the path of a text file / folder of ``*.txt`` files.
            y: ignored (scikit-learn compatibility).
            **kwargs: ``workdir``, ``resume``, ``max_minutes``, ``show_progress``,
                ``checkpoint_every``, ``log_every`` of :meth:`TorchEncoder.fit
                <embeddings.nn.encoder.TorchEncoder.fit>`.

        Returns:
            self; ``training_info_`` holds the corpus statistics, the loss per epoch
            and the training speed.
        """
        super().fit(texts, y, **kwargs)
        result = self.training_result_
        self.training_info_ = {
            **self._meta["corpus"],
            **self._meta.get("init", {}),
            "epochs": int(self.epochs),
            "loss_per_epoch": [h["train_loss"] for h in result.history],
            "seconds": result.seconds,
            "sentences_per_second": result.items_per_second,
        }
        return self

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return self._vocab.to_arrays(), {"vocab": self._vocab.to_meta()}

    def _restore_extra(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        from embeddings.training.vocab import Vocabulary

        self._vocab = Vocabulary.from_arrays(arrays, dict(meta.get("vocab") or {}))

    def get_vocabulary(self) -> list[str]:
        """The trained vocabulary, most frequent first (without the special tokens)."""
        self._ensure_loaded()
        self._check_fitted()
        return list(self._vocab.words)
