"""Training: the one trainer, the ordered-corpus reader, the vocabulary, fine-tuning.

* :mod:`embeddings.training.trainer`: :class:`Trainer` and the :class:`Objective` a
  family writes; :mod:`embeddings.training.config`: :class:`TrainConfig` and
  :class:`TrainResult`; :mod:`embeddings.training.checkpoint`: the checkpoints and
  the loop state :class:`TrainState`; :mod:`embeddings.training.loss_plot`: the
  training log and ``loss.png``;
* :mod:`embeddings.training.finetune`: :func:`fine_tune` and the
  :class:`FineTunedEncoder` it returns (a new softmax head, top ``k`` layers
  unfrozen), on ``finetune_data``, ``finetune_model``, ``finetune_objectives`` and
  ``finetune_state``;
* :mod:`embeddings.training.corpus`, :mod:`embeddings.training.vocab`: the corpus
  reader and the vocabulary; :mod:`embeddings.training.trainers`: the gensim trainers.

``import embeddings.training`` does not import torch; the names below load their
module on first access.

Example:
    >>> import embeddings.training
    >>> embeddings.training.fine_tune.__name__
    'fine_tune'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from embeddings._lazy import lazy_attributes

if TYPE_CHECKING:
    from embeddings.training.checkpoint import TrainState
    from embeddings.training.config import TrainConfig, TrainResult
    from embeddings.training.finetune import (
        FineTunedClassifier,
        FineTunedEncoder,
        fine_tune,
        stratified_subsample,
    )
    from embeddings.training.trainer import Objective, Trainer

_WHERE = {
    "fine_tune": "embeddings.training.finetune",
    "FineTunedEncoder": "embeddings.training.finetune",
    "FineTunedClassifier": "embeddings.training.finetune",
    "stratified_subsample": "embeddings.training.finetune",
    "Trainer": "embeddings.training.trainer",
    "TrainConfig": "embeddings.training.config",
    "TrainResult": "embeddings.training.config",
    "TrainState": "embeddings.training.checkpoint",
    "Objective": "embeddings.training.trainer",
}

__all__ = [
    "FineTunedClassifier",
    "FineTunedEncoder",
    "Objective",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "Trainer",
    "fine_tune",
    "stratified_subsample",
]


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())
