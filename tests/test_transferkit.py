"""The ``transferkit`` front door: one import for the everyday entry points."""

from __future__ import annotations

import numpy as np

import embeddings
import transferkit
from tests.conftest import modules_imported_by


def test_front_door_names_are_the_package_objects() -> None:
    from embeddings.cache import CachedEncoder
    from embeddings.sklearn import EmbeddingTransformer
    from embeddings.training.finetune import fine_tune
    from embeddings.util import semantic_search, similarity

    assert transferkit.load is embeddings.load
    assert transferkit.list_encoders is embeddings.list_encoders
    assert transferkit.EmbeddingTransformer is EmbeddingTransformer
    assert transferkit.similarity is similarity
    assert transferkit.semantic_search is semantic_search
    assert transferkit.fine_tune is fine_tune
    assert transferkit.CachedEncoder is CachedEncoder
    assert transferkit.__version__ == embeddings.__version__
    expected = {"load", "list_encoders", "EmbeddingTransformer", "similarity", "semantic_search"}
    assert expected | {"fine_tune", "__version__"} <= set(transferkit.__all__)
    assert set(transferkit.__all__) <= set(dir(transferkit))


def test_encode_corpus_is_offered_when_present() -> None:
    import importlib.util

    if importlib.util.find_spec("embeddings.streaming") is None:
        assert "encode_corpus" not in transferkit.__all__
    else:
        from embeddings.streaming import encode_corpus

        assert transferkit.encode_corpus is encode_corpus


def test_front_door_works_end_to_end() -> None:
    enc = transferkit.load("glove-6b-50d")
    vectors = enc.encode(["a cat sat on the mat", "a dog sat on the rug", "stocks fell"])
    hits = transferkit.semantic_search(vectors[:1], vectors[1:], top_k=1)
    assert hits[0][0]["corpus_id"] == 0
    assert np.isclose(transferkit.similarity(vectors[:1], vectors[:1])[0, 0], 1.0)


def test_unknown_name_lists_what_is_offered() -> None:
    try:
        transferkit.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "semantic_search" in str(err)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_import_transferkit_imports_no_heavy_library() -> None:
    code = "import transferkit; transferkit.load; transferkit.list_encoders()"
    heavy = ("torch", "sklearn", "numpy", "scipy", "gensim", "transformers", "tensorflow")
    assert modules_imported_by(code, heavy) == []
