"""transferkit: transfer learning with text embeddings, from one import.

``import transferkit`` gives the everyday entry points of the three packages that
hold the code (``embeddings`` for encoders, ``evaluators`` for heads, ``benchmarks``
for tasks and the CLI) without knowing their names:

* :func:`load` and :func:`list_encoders`: build any encoder preset or saved folder;
* :class:`EmbeddingTransformer`: an encoder as a scikit-learn transformer;
* :func:`similarity` and :func:`semantic_search`: cosine matrix and top-k search;
* :func:`fine_tune`: a softmax head on a torch encoder, top layers unfrozen;
* :func:`encode_corpus`: out-of-core encoding of a large corpus;
* :class:`CachedEncoder`: vectors stored on disk, computed once per text;
* :class:`MTEBModel`: any encoder behind MTEB's encoder protocol, for ``mteb.evaluate``;
* :func:`advise` and :class:`Task`: which encoder, frozen or fine-tuned, suits your
  labelled data (``advise(Task.from_file("my.tsv"), budget="10m")``);
* ``__version__``.

Only the registry is imported up front; everything else (numpy, scikit-learn, torch)
loads on first use of the name that needs it.

Example:
    >>> import transferkit
    >>> enc = transferkit.load("glove-6b-50d")
    >>> vectors = enc.encode(["a cat sat on the mat", "stocks fell"], normalize=True)
    >>> transferkit.similarity(vectors[:1], vectors).shape
    (1, 2)
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from embeddings import __version__
from embeddings.errors import TransferkitError
from embeddings.registry import list_encoders, load

if TYPE_CHECKING:  # explicit re-exports for type checkers
    from benchmarks.advise import advise as advise
    from benchmarks.interop import MTEBModel as MTEBModel
    from benchmarks.tasks import Task as Task
    from embeddings.cache import CachedEncoder as CachedEncoder
    from embeddings.sklearn import EmbeddingTransformer as EmbeddingTransformer
    from embeddings.streaming import encode_corpus as encode_corpus
    from embeddings.training.finetune import fine_tune as fine_tune
    from embeddings.util import semantic_search as semantic_search
    from embeddings.util import similarity as similarity

#: name -> (module, attribute), imported on first access
_LAZY: dict[str, tuple[str, str]] = {
    "EmbeddingTransformer": ("embeddings.sklearn", "EmbeddingTransformer"),
    "similarity": ("embeddings.util", "similarity"),
    "semantic_search": ("embeddings.util", "semantic_search"),
    "fine_tune": ("embeddings.training.finetune", "fine_tune"),
    "CachedEncoder": ("embeddings.cache", "CachedEncoder"),
    "encode_corpus": ("embeddings.streaming", "encode_corpus"),
    "MTEBModel": ("benchmarks.interop", "MTEBModel"),
    "advise": ("benchmarks.advise", "advise"),
    "Task": ("benchmarks.tasks", "Task"),
}
#: names whose module is part of this installation (encode_corpus may be absent)
_PRESENT = [
    name
    for name, (module, _) in _LAZY.items()
    if name != "encode_corpus" or importlib.util.find_spec(module) is not None
]

__all__ = ["__version__", "TransferkitError", "list_encoders", "load", *_PRESENT]


def __getattr__(name: str) -> Any:
    if name in _PRESENT:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(
        f"module 'transferkit' has no attribute {name!r}; it offers {', '.join(sorted(__all__))}"
    )


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
