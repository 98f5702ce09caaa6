"""The allow-list of encoder classes that a saved folder may name.

A saved folder records its class as ``"module:QualName"``; :func:`resolve` turns such
a string into a class only when it is listed here, so a file cannot make transferkit
import a module of its choosing.  Built-in classes are listed by path and imported
on first use; :func:`embeddings.register_encoder_class` adds a class of the
caller's.  This module is a leaf: it imports nothing from transferkit but its
errors, and :mod:`embeddings.base` hands it the root class (:func:`set_root`) that
every resolved class must subclass.

Example:
    >>> "embeddings.adapters.baselines:TfidfEncoder" in class_paths()
    True
"""

from __future__ import annotations

import importlib
from typing import Any

from embeddings.errors import ModelFormatError

__all__ = ["BUILTIN_ENCODER_CLASSES", "add", "allow", "class_paths", "resolve", "set_root"]

#: The encoder classes of transferkit that a saved folder may name ("module:QualName").
#: Resolving one imports its module, and only modules listed here (or added through
#: register_encoder / register_encoder_class) are ever imported for a saved folder.
#: A new encoder family adds its class here.
BUILTIN_ENCODER_CLASSES: tuple[str, ...] = (
    "embeddings.adapters.word_vectors:WordVectorEncoder",
    "embeddings.adapters.word_vectors:TrainedWordVectorEncoder",
    "embeddings.adapters.doc2vec:Doc2VecEncoder",
    "embeddings.adapters.use:UniversalSentenceEncoder",
    "embeddings.adapters.use_tf:TFHubUSEEncoder",
    "embeddings.adapters.transformer:TransformerEncoder",
    "embeddings.adapters.baselines:TfidfEncoder",
    "embeddings.adapters.baselines:LsaEncoder",
    "embeddings.adapters.baselines:RandomProjectionEncoder",
    "embeddings.adapters.quick_thought:QuickThoughtEncoder",
    "embeddings.adapters.skip_thought:SkipThoughtEncoder",
    "embeddings.adapters.skip_thought:SkipThoughtReleaseEncoder",
    "embeddings.adapters.infersent:InferSentEncoder",
    "embeddings.adapters.infersent:InferSentCheckpointEncoder",
    "embeddings.adapters.elmo:ElmoEncoder",
    "embeddings.adapters.elmo:ElmoFileEncoder",
    "embeddings.training.finetune:FineTunedEncoder",
    "embeddings.adapters.concat:ConcatEncoder",
)

#: class path -> the class, or None until first resolved (resolution is lazy)
#: class path -> the class, or None until first resolved (resolution is lazy)
_CLASSES: dict[str, type | None] = dict.fromkeys(BUILTIN_ENCODER_CLASSES)
#: the class every resolved class must subclass (``BaseEncoder``, set by embeddings.base)
_ROOT: list[type] = []


def set_root(root: type) -> None:
    """Record the class that every resolved class must subclass (called once by
    :mod:`embeddings.base`)."""
    _ROOT[:] = [root]


def allow(path: str) -> None:
    """Allow the class path ``path`` (imported on first :func:`resolve`)."""
    _CLASSES.setdefault(path, None)


def add(path: str, cls: type) -> None:
    """Allow ``path`` and record its class."""
    _CLASSES[path] = cls


def class_paths() -> list[str]:
    """The allowed class paths, sorted."""
    return sorted(_CLASSES)


def resolve(path: object) -> Any:
    """The allowed class named ``path``; see :func:`embeddings.registry.resolve_encoder_class`.

    Raises:
        ModelFormatError: ``path`` is not allowed, or names no encoder class.
    """
    if not isinstance(path, str) or path not in _CLASSES:
        raise ModelFormatError(
            f"class {path!r:.200} is not a transferkit encoder class registered for loading. "
            f"Registered: {', '.join(sorted(_CLASSES))}. A class of your own must be "
            "registered with embeddings.register_encoder_class(YourEncoder) before loading "
            "its folders"
        )
    cls = _CLASSES[path]
    if cls is not None:
        return cls
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
    # importing an encoder module imports embeddings.base, which sets the root class
    if not _ROOT or not (isinstance(obj, type) and issubclass(obj, _ROOT[0])):
        raise ModelFormatError(f"registered class {path!r} is not a BaseEncoder subclass")
    _CLASSES[path] = obj
    return obj
