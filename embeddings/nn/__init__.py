"""The torch layer shared by every network transferkit trains.

* :class:`~embeddings.nn.encoder.TorchEncoder`: a :class:`~embeddings.base.BaseEncoder`
  that owns the device, the torch thread count, ``state_dict`` <-> safetensors + JSON,
  batch-size-independent inference and ``trainable_layers()`` (bottom to top), so
  fine-tuning can unfreeze the top ``k`` layers of any net.
* :mod:`embeddings.nn.modules`: a word-embedding table initialised from any
  word-vector source, padded/packed recurrent encoders (GRU, LSTM, bidirectional)
  and max/mean/last pooling over time.

``import embeddings.nn`` does not import torch; the classes load on first access.

Example:
    >>> import embeddings.nn as nn_layer
    >>> nn_layer.TorchEncoder.__name__
    'TorchEncoder'
"""

from __future__ import annotations

from embeddings._lazy import lazy_attributes

__all__ = [
    "TorchEncoder",
    "WordEmbeddingTable",
    "RecurrentEncoder",
    "pool_over_time",
    "resolve_device",
    "Vocabulary",
]

_WHERE = {
    "TorchEncoder": "embeddings.nn.encoder",
    "resolve_device": "embeddings.nn.encoder",
    "WordEmbeddingTable": "embeddings.nn.modules",
    "RecurrentEncoder": "embeddings.nn.modules",
    "pool_over_time": "embeddings.nn.modules",
    "Vocabulary": "embeddings.training.vocab",
}


__getattr__, __dir__ = lazy_attributes(__name__, _WHERE, globals())
