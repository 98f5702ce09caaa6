"""SentEval and MTEB adapters against minimal stand-ins of their callers (and real mteb)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from benchmarks.interop import MTEBModel, senteval_batcher
from embeddings.base import BaseEncoder
from embeddings.errors import InvalidInputError, NotFittedError


class CharEncoder(BaseEncoder):
    """Deterministic: letter counts a..h, plus the number of words."""

    def _output_dim(self) -> int:
        return 9

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), 9), dtype=np.float32)
        for i, t in enumerate(texts):
            for j, ch in enumerate("abcdefgh"):
                out[i, j] = t.count(ch)
            out[i, 8] = len(t.split())
        return out


class VocabEncoder(CharEncoder):
    """Trainable: must be fitted before use."""

    requires_fit = True
    trainable = True

    def _fit(self, texts: list[str]) -> None:
        self.n_fit_ = len(texts)

    def _get_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {"n": self.n_fit_}


SENTENCES = [
    "a bad cafe",
    "",
    "the cage had a big fence",
    "hedge",
    "a dog and a cat fight beside the garden",
]


class DotDict(dict):  # SentEval's params object
    __getattr__ = dict.get


def senteval_engine(prepare: Any, batcher: Any, sentences: list[str], bsize: int) -> np.ndarray:
    """What SentEval's task classes do: tokenize, prepare(all), sort by length, batch, vstack."""
    params = DotDict(batch_size=bsize, task_path="unused")
    samples = [s.split() for s in sentences]
    prepare(params, samples)
    order = sorted(range(len(samples)), key=lambda i: len(samples[i]))
    embeddings = []
    for ii in range(0, len(order), params.batch_size):
        batch = [samples[i] for i in order[ii : ii + params.batch_size]]
        embeddings.append(batcher(params, batch))
    stacked = np.vstack(embeddings)
    out = np.empty_like(stacked)
    out[order] = stacked
    return out


@pytest.mark.parametrize("bsize", [1, 2, 64])
def test_senteval_batcher_matches_direct_encoding(bsize: int) -> None:
    prepare, batcher = senteval_batcher(CharEncoder())
    got = senteval_engine(prepare, batcher, SENTENCES, bsize)
    expected = CharEncoder().encode([" ".join(s.split()) for s in SENTENCES])
    assert got.dtype == np.float32 and got.shape == (5, 9)
    np.testing.assert_array_equal(got, expected)


def test_senteval_batcher_accepts_bytes_and_str_items_and_rejects_junk() -> None:
    _, batcher = senteval_batcher(CharEncoder())
    np.testing.assert_array_equal(batcher(None, [[b"bad", "cafe"]]), batcher(None, ["bad cafe"]))
    with pytest.raises(InvalidInputError, match="item 0"):
        batcher(None, [3])
    with pytest.raises(InvalidInputError, match="non-string token"):
        batcher(None, [["a", 3]])


def test_senteval_prepare_refuses_an_unfitted_trainable_encoder_and_fits_nothing() -> None:
    enc = VocabEncoder()
    prepare, _ = senteval_batcher(enc)
    with pytest.raises(NotFittedError, match="leak"):
        prepare(DotDict(), [s.split() for s in SENTENCES])
    enc.fit(["only", "training", "texts"])
    prepare, batcher = senteval_batcher(enc)
    senteval_engine(prepare, batcher, SENTENCES, 2)
    assert enc.n_fit_ == 3  # prepare saw the test sentences but did not refit


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_senteval_batcher_takes_a_preset_name() -> None:
    _, batcher = senteval_batcher("glove-6b-50d")
    assert batcher(None, [["good", "film"], []]).shape == (2, 50)


# ---------------------------------------------------------------- MTEB


def test_mteb_model_encode_list_and_mteb2_dataloader_batches() -> None:
    model = MTEBModel(CharEncoder())
    expected = CharEncoder().encode(SENTENCES)
    # mteb 1.x: a list of sentences plus keyword arguments it must ignore
    got = model.encode(SENTENCES, task_name="STS12", prompt_type=None, batch_size=2)
    np.testing.assert_array_equal(got, expected)
    # mteb 2.x: a DataLoader yielding {"text": [...]} batches
    loader = [{"text": SENTENCES[:2]}, {"text": SENTENCES[2:]}]
    got2 = model.encode(loader, task_metadata=object(), hf_split="test", hf_subset="default")
    np.testing.assert_array_equal(got2, expected)
    assert got2.dtype == np.float32


def test_mteb_model_rejects_bad_input_and_unfitted_encoders() -> None:
    with pytest.raises(InvalidInputError, match="single str"):
        MTEBModel(CharEncoder()).encode("one sentence")
    with pytest.raises(InvalidInputError, match="item 0"):
        MTEBModel(CharEncoder()).encode([{"image": 1}])
    with pytest.raises(NotFittedError):
        MTEBModel(VocabEncoder()).encode(["x"])


def test_mteb_model_similarity_is_cosine() -> None:
    model = MTEBModel(CharEncoder())
    a = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    b = np.array([[2.0, 0.0], [0.0, 3.0]])
    np.testing.assert_allclose(
        model.similarity(a, b), [[1.0, 0.0], [1 / np.sqrt(2), 1 / np.sqrt(2)], [0.0, 0.0]]
    )
    np.testing.assert_allclose(model.similarity_pairwise(a[:2], b), [1.0, 1 / np.sqrt(2)])
    assert model.model_name == "transferkit/CharEncoder"


def test_real_mteb_evaluates_a_local_sts_task_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    mteb = pytest.importorskip("mteb")
    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from evaluators import evaluate_similarity

    pairs = [
        ("a bad cafe", "a bad cafe here", 4.6),
        ("the cage had a fence", "hedge", 0.4),
        ("a dog and a cat", "a cat and a dog fight", 3.8),
        ("big garden", "a bad beach", 1.5),
        ("fade", "faded", 4.0),
        ("ace", "the big dog had a cage", 0.8),
    ]
    task = mteb.get_task("STSBenchmark")
    task.dataset = datasets.DatasetDict(
        {
            "test": datasets.Dataset.from_dict(
                {
                    "sentence1": [p[0] for p in pairs],
                    "sentence2": [p[1] for p in pairs],
                    "score": [p[2] for p in pairs],
                }
            )
        }
    )
    task.data_loaded = True
    model = MTEBModel(CharEncoder())
    with pytest.warns(UserWarning):  # mteb: STSBenchmark is superseded by a v2
        result = mteb.evaluate(model, task, cache=None, show_progress_bar=False)
    scores = result.task_results[0].scores["test"][0]
    enc = CharEncoder()
    ours = evaluate_similarity(
        enc.encode([p[0] for p in pairs]), enc.encode([p[1] for p in pairs]), [p[2] for p in pairs]
    )
    # mteb reports fractions (0-1), transferkit points (0-100)
    assert 100 * scores["cosine_spearman"] == pytest.approx(ours["spearman"], abs=1e-7)
    assert 100 * scores["cosine_pearson"] == pytest.approx(ours["pearson"], abs=1e-4)
    assert result.model_name == "transferkit/CharEncoder"
