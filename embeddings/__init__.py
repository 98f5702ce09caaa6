"""transferkit encoders: every text encoder behind one ``encode(texts)`` interface.

``import embeddings`` is cheap: it loads the registry and the errors only.  The
base class, adapters and their heavy dependencies load on first use.

Example:
    >>> import embeddings
    >>> enc = embeddings.load("glove-6b-50d")
    >>> enc.encode(["the cat sat on the mat", "stocks fell"]).shape
    (2, 50)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embeddings import errors as _errors
from embeddings.errors import *  # noqa: F403  (every error class, listed in errors.__all__)
from embeddings.registry import (
    get_preset,
    list_encoders,
    load,
    register_encoder,
    register_encoder_class,
)

if TYPE_CHECKING:
    from embeddings.base import BaseEncoder, Encoder
    from embeddings.streaming import encode_corpus
    from embeddings.util import semantic_search, similarity

from embeddings._version import __version__

__all__ = [
    "BaseEncoder",
    "Encoder",
    "load",
    "list_encoders",
    "register_encoder",
    "register_encoder_class",
    "get_preset",
    "similarity",
    "semantic_search",
    "encode_corpus",
    *_errors.__all__,
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in ("similarity", "semantic_search"):  # numpy helpers (embeddings/util.py)
        from embeddings import util

        return getattr(util, name)
    if name in ("BaseEncoder", "Encoder"):
        from embeddings import base

        return getattr(base, name)
    if name == "encode_corpus":  # out-of-core encoding (embeddings/streaming.py)
        from embeddings.streaming import encode_corpus

        return encode_corpus
    if name in ("nn", "training", "distributed"):  # stay unimported until used
        import importlib

        return importlib.import_module(f"embeddings.{name}")
    raise AttributeError(f"module 'embeddings' has no attribute {name!r}")
