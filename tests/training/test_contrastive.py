"""Contrastive fine-tuning (``objective="contrastive"``) on a tiny random BERT."""

from __future__ import annotations

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidParameterError
from embeddings.training.finetune import fine_tune
from embeddings.training.finetune_objectives import sample_pairs
from tests.training import test_finetune as _ft
from tests.training.test_finetune import FAST, LABELS, TEXTS, _pretrained, _weights

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

# the tiny BERT fixtures of the classification tests
tiny_folder, encoder = _ft.tiny_folder, _ft.encoder


def test_sample_pairs_are_balanced_and_labelled_by_class() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2])
    pairs = sample_pairs(labels, np.random.default_rng(3))
    same = labels[pairs[:, 0]] == labels[pairs[:, 1]]
    assert np.array_equal(same.astype(int), pairs[:, 2])
    assert (pairs[:, 0] != pairs[:, 1]).all()
    # class 2 has one text: no positive for it; every text has one negative
    assert int(pairs[:, 2].sum()) == 5 and int((pairs[:, 2] == 0).sum()) == 6
    again = sample_pairs(labels, np.random.default_rng(3))
    assert np.array_equal(pairs, again)


def test_passes_by_length_give_the_vectors_and_gradients_of_one_pass(encoder) -> None:
    from embeddings.training.finetune_model import forward_by_length

    texts = ["a", "good film with a long and winding plot", "bad", "fine fun", "the end"] * 3
    encoder.encode(texts[:1])  # loads the model
    model = encoder._model
    model.eval()  # no dropout: the two ways must agree

    def run(fn) -> tuple[np.ndarray, np.ndarray]:
        model.zero_grad()
        out = fn()
        (out * torch.arange(out.shape[1], dtype=out.dtype)).sum().backward()
        grad = model.embeddings.word_embeddings.weight.grad
        return out.detach().numpy(), grad.detach().numpy().copy()

    one = run(lambda: encoder.forward(encoder.tokenize(texts)))
    split = run(lambda: forward_by_length(encoder, texts, parts=3))
    assert np.allclose(one[0], split[0], atol=1e-5)  # same rows, in the order given
    assert np.allclose(one[1], split[1], atol=1e-5) and np.abs(one[1]).sum() > 0
    batch = encoder.tokenize(texts)["input_ids"]
    short = [encoder.tokenize(texts[i : i + 1])["input_ids"].shape[1] for i in range(5)]
    assert batch.shape[1] == max(short) > min(short)  # one pass pads every text to the longest


def test_contrastive_same_seed_gives_identical_vectors(encoder) -> None:
    runs = [
        fine_tune(
            encoder, TEXTS, LABELS, objective="contrastive", unfreeze=1, random_state=0, **FAST
        )
        for _ in range(2)
    ]
    a, b = (r.encode(TEXTS[:4]) for r in runs)
    assert np.array_equal(a, b)
    assert np.isfinite(a).all()


def test_contrastive_differs_from_classification_and_trains_the_encoder(encoder) -> None:
    before = _pretrained(encoder)
    con = fine_tune(
        encoder, TEXTS, LABELS, objective="contrastive", unfreeze=1, random_state=0, **FAST
    )
    cls = fine_tune(encoder, TEXTS, LABELS, unfreeze=1, random_state=0, **FAST)
    after = _weights(con)
    top = [k for k in before if k.startswith("encoder.0.encoder.layer.1.")]
    assert any(not np.array_equal(before[k], after[k]) for k in top)
    assert not np.array_equal(con.encode(TEXTS[:4]), cls.encode(TEXTS[:4]))


def test_contrastive_model_saves_loads_and_predicts(encoder, tiny_folder, tmp_path) -> None:
    clf = fine_tune(
        encoder, TEXTS, LABELS, objective="contrastive", unfreeze=1, random_state=0, **FAST
    )
    clf.save(tmp_path / "m")
    back = embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    assert back.objective == "contrastive"
    assert np.array_equal(back.predict(TEXTS), clf.predict(TEXTS))
    proba = back.predict_proba(TEXTS)
    assert proba.shape == (len(TEXTS), 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_unknown_objective_is_rejected(encoder) -> None:
    with pytest.raises(InvalidParameterError, match="contrastive"):
        fine_tune(encoder, TEXTS, LABELS, objective="triplet", **FAST)


def test_contrastive_without_unfreeze_is_refused_with_the_fix(encoder) -> None:
    with pytest.raises(InvalidParameterError, match="unfreeze=k"):
        fine_tune(encoder, TEXTS, LABELS, objective="contrastive", unfreeze=0, **FAST)


def test_stopped_by_the_time_budget_then_resumed_equals_uninterrupted(
    encoder, tmp_path, monkeypatch
) -> None:
    import time

    from embeddings.training.finetune_objectives import ContrastiveObjective

    opts = {"objective": "contrastive", "unfreeze": 1, "random_state": 0, **FAST}
    ref = fine_tune(encoder, TEXTS, LABELS, **opts)
    wd = tmp_path / "run"
    fast_loss = ContrastiveObjective.loss

    def slow_loss(self, model, batch):  # 20 ms a step: a 0.1 s budget stops mid-run
        time.sleep(0.02)
        return fast_loss(self, model, batch)

    with monkeypatch.context() as patched:
        patched.setattr(ContrastiveObjective, "loss", slow_loss)
        first = fine_tune(encoder, TEXTS, LABELS, workdir=wd, max_minutes=0.1 / 60, **opts)
    assert not first.training_result_.finished and first.training_result_.steps > 0
    assert first.training_result_.stop_reason == "time_budget"
    done = fine_tune(encoder, TEXTS, LABELS, workdir=wd, resume=True, **opts)
    assert done.training_result_.finished and done.training_result_.resumed_from > 0
    assert np.array_equal(done.encode(TEXTS[:6]), ref.encode(TEXTS[:6]))


def test_resuming_with_another_objective_or_other_data_is_refused(encoder, tmp_path) -> None:
    wd = tmp_path / "run"
    opts = {"unfreeze": 1, "random_state": 0, **FAST}
    fine_tune(encoder, TEXTS, LABELS, workdir=wd, objective="contrastive", **opts)
    with pytest.raises(InvalidParameterError, match=r'params\.objective: "contrastive" there, '
                                                    r'"classification" here'):  # fmt: skip
        fine_tune(encoder, TEXTS, LABELS, workdir=wd, resume=True, **opts)
    with pytest.raises(InvalidParameterError, match=r"setup\.data: "):
        fine_tune(encoder, TEXTS[::-1], LABELS[::-1], workdir=wd, resume=True,
                  objective="contrastive", **opts)  # fmt: skip
    with pytest.raises(InvalidParameterError, match=r"params\.learning_rate: "):
        fine_tune(encoder, TEXTS, LABELS, workdir=wd, resume=True, objective="contrastive",
                  **{**opts, "learning_rate": 3e-4})  # fmt: skip
    # the same run resumes (it had finished: nothing more to train), also with the texts
    # as a numpy array of strings, whose items are np.str_
    for texts in (TEXTS, np.array(TEXTS)):
        again = fine_tune(encoder, texts, LABELS, workdir=wd, resume=True,
                          objective="contrastive", **opts)  # fmt: skip
        assert again.training_result_.finished


def test_resuming_from_another_base_under_the_same_path_is_refused(tiny_folder, tmp_path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    from embeddings.adapters.transformer import TransformerEncoder

    base = tmp_path / "base"
    shutil.copytree(tiny_folder, base)
    wd = tmp_path / "run"
    opts = {"unfreeze": 1, "random_state": 0, "workdir": wd, **FAST}
    fine_tune(TransformerEncoder(model=str(base), max_seq_length=16), TEXTS, LABELS, **opts)
    (weights,) = base.glob("*.safetensors")
    tensors = load_file(str(weights))
    save_file({k: v * 1.5 for k, v in tensors.items()}, str(weights))  # the same path
    with pytest.raises(InvalidParameterError, match="initial_weights: the starting weights"):
        fine_tune(TransformerEncoder(model=str(base), max_seq_length=16), TEXTS, LABELS,
                  resume=True, **opts)  # fmt: skip
    # the base's threads are not part of the run
    save_file(tensors, str(weights))
    again = fine_tune(TransformerEncoder(model=str(base), max_seq_length=16, threads=2), TEXTS,
                      LABELS, resume=True, **opts)  # fmt: skip
    assert again.training_result_.finished


def test_no_validation_trains_on_every_text_and_keeps_the_last_epoch(encoder) -> None:
    clf = fine_tune(
        encoder, TEXTS, LABELS, objective="contrastive", unfreeze=1, random_state=0,
        validation_fraction=0.0, **FAST,
    )  # fmt: skip
    assert clf.params_["n_train"] == len(TEXTS) and clf.params_["n_val"] == 0
    assert clf.params_["validation"] == "none"
    assert clf.best_epoch_ == FAST["epochs"] == len(clf.history_) - 1
    assert all(h["val_accuracy"] is None for h in clf.history_)
    assert clf.training_result_.stop_reason == "completed"


def finetune_cli(task: str, tiny_folder: str, tmp_path, monkeypatch) -> dict:
    """``transferkit finetune --objective contrastive`` on 24 rows of ``task``, tiny
    BERT, 1 epoch; the JSON result (the model is saved to ``tmp_path / "m"``)."""
    import json

    from benchmarks.cli import main
    from tests.conftest import data_dir

    if data_dir() is None:
        pytest.skip("benchmark data not found: set TRANSFERKIT_DATA")
    monkeypatch.setenv("TRANSFERKIT_DATA", str(data_dir()))
    out = tmp_path / "result.json"
    code = main([
        "finetune", "--task", task, "--encoder", tiny_folder, "--objective", "contrastive",
        "--unfreeze", "1", "--epochs", "1", "--max-train", "24", "--dev-max", "16",
        "--test-max", "16", "--no-progress", "--json", str(out), "--save", str(tmp_path / "m"),
    ])  # fmt: skip
    assert code == 0
    return json.loads(out.read_text())


def test_cli_finetune_objective_contrastive(tiny_folder, tmp_path, monkeypatch) -> None:
    result = finetune_cli("SST2", tiny_folder, tmp_path, monkeypatch)
    assert result["params"]["objective"] == "contrastive" and result["n_train"] == 24
    assert 0 <= result["test_accuracy"] <= 100
    back = embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    assert back.objective == "contrastive"


@pytest.mark.parametrize("n_classes", [2, 3])
def test_contrastive_head_is_logistic_regression_on_the_final_vectors(encoder, n_classes) -> None:
    """The head is refitted after training: its probabilities are scikit-learn's
    ``LogisticRegression(max_iter=1000)`` fitted on the model's own vectors of the
    training texts (binary: one logit difference split over two rows)."""
    from sklearn.linear_model import LogisticRegression

    labels = LABELS if n_classes == 2 else np.arange(len(TEXTS)) % 3
    clf = fine_tune(encoder, TEXTS, labels, objective="contrastive", unfreeze=1,
                    validation_fraction=0, random_state=0, **FAST)  # fmt: skip
    X = clf.encode(TEXTS).astype(np.float64)
    lr = LogisticRegression(max_iter=1000, random_state=0).fit(X, labels)
    np.testing.assert_allclose(clf.predict_proba(TEXTS), lr.predict_proba(X), atol=1e-4)
