"""Vectors whatever the chunking: bit for bit, or within the bound the README states.

USE's numpy port packs a batch's texts into one token matrix and the torch
transformers pad a batch to its longest text, so another chunking gives matrix
products of another shape, rounded differently (float32, measured 1.6e-7 to 2.2e-7);
word vectors and ONNX int8 (one text at a time) do not depend on the batch at all.
"""

from __future__ import annotations

import numpy as np
import pytest

import embeddings

TEXTS = [
    " ".join(["the", "cat", "sat", "on", "a", "dull", "mat", "stocks", "fell"][: i % 9 + 1])
    + f" item {i}"
    for i in range(90)
]
BOUND = 1e-6  # the README's bound for USE and the torch transformers


def _chunked(enc, size):
    return np.concatenate([enc.encode(TEXTS[i : i + size]) for i in range(0, len(TEXTS), size)])


def _available(name):
    return any(e["name"] == name and e["available"] for e in embeddings.list_encoders())


@pytest.mark.filterwarnings("ignore:.*no in-vocabulary token:RuntimeWarning")
@pytest.mark.parametrize("name", ["glove-6b-50d", "glove-6b-50d-sif"])
def test_word_vectors_are_bit_identical_across_chunkings(name):
    enc = embeddings.load(name)
    if enc.requires_fit:
        enc.fit(TEXTS)
    full = enc.encode(TEXTS)
    for size in (1, 7, 64):
        assert _chunked(enc, size).tobytes() == full.tobytes()
    assert enc.encode(TEXTS, batch_size=5).tobytes() == full.tobytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["use-multilingual-v3", "minilm-l6", "minilm-l6-int8"])
def test_batched_models_stay_within_the_stated_bound(name):
    if not _available(name):
        pytest.skip(f"{name} is not installed")
    enc = embeddings.load(name)
    full = enc.encode(TEXTS)
    diffs = [float(np.max(np.abs(_chunked(enc, size) - full))) for size in (1, 7, 64)]
    if name.endswith("int8"):  # one text at a time: no batch shape to depend on
        assert diffs == [0.0, 0.0, 0.0]
    else:
        assert max(diffs) <= BOUND
