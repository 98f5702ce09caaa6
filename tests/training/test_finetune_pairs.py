"""Fine-tuning on labelled ``(text_a, text_b)`` pairs, on a tiny random BERT."""

from __future__ import annotations

import json

import numpy as np
import pytest

import embeddings
from embeddings.errors import InvalidInputError, ModelFormatError
from embeddings.training.finetune import fine_tune
from embeddings.training.finetune_data import check_pairs, is_pairs
from embeddings.training.finetune_objectives import class_targets
from tests.training import test_finetune as _ft
from tests.training.test_finetune import FAST, NEG, POS, TEXTS

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

tiny_folder, encoder = _ft.tiny_folder, _ft.encoder

# "same": the two texts are one text (cosine 1 under any encoder); "other": a short
# and a long text (the tiny BERT tells texts apart by length).  Sorted, class 0 is
# "other" and class 1 is "same".
SAME = [(t, t) for t in POS + NEG]
OTHER = [(p, n) for p, n in zip(POS, NEG, strict=True)] * 2
PAIRS = (SAME + OTHER) * 2
PAIR_LABELS = (["same"] * len(SAME) + ["other"] * len(OTHER)) * 2


def test_pair_inputs_are_recognised_and_checked() -> None:
    import pandas as pd

    assert is_pairs([("a", "b")]) and is_pairs(np.array([["a", "b"]]))
    assert is_pairs(pd.Series([("a", "b")], index=[5]))  # first item, not label 0
    assert not is_pairs(["a", "b"]) and not is_pairs("ab") and not is_pairs([])
    assert check_pairs([["a", "b"]]) == [("a", "b")]
    with pytest.raises(InvalidInputError, match=r"item 1 is tuple"):
        check_pairs([("a", "b"), ("c",)])
    with pytest.raises(InvalidInputError, match=r"item 0 is tuple"):  # a 3-tuple first
        check_pairs([("a", "b", "c"), ("c", "d")])
    with pytest.raises(InvalidInputError, match="second texts"):
        check_pairs([("a", 3)])
    with pytest.raises(InvalidInputError, match="has no order"):  # rows could not be matched
        check_pairs({("a", "b"), ("c", "d")})
    with pytest.raises(InvalidInputError, match="got a dict"):
        check_pairs({("a", "b"): 1})


def test_class_targets_rank_classes_by_how_alike_their_pairs_are() -> None:
    # computed by hand: class 0 mean 0.85, class 1 mean 0.15 -> class 0 gets 1
    assert class_targets(np.array([0.9, 0.8, 0.2, 0.1]), np.array([0, 0, 1, 1]), 2) == [1.0, 0.0]
    # NLI-like: entailment (2) most alike, contradiction (0) least, neutral between
    cos = np.array([0.1, 0.2, 0.5, 0.6, 0.9, 0.8])
    assert class_targets(cos, np.array([0, 0, 1, 1, 2, 2]), 3) == [0.0, 0.5, 1.0]


@pytest.mark.parametrize("objective", ["classification", "contrastive"])
def test_pair_model_predicts_pairs_saves_loads_and_repeats(
    objective, encoder, tiny_folder, tmp_path
) -> None:
    runs = [
        fine_tune(
            encoder, PAIRS, PAIR_LABELS, objective=objective, unfreeze=1, random_state=0, **FAST
        )
        for _ in range(2)
    ]
    clf = runs[0]
    assert clf.input_ == "pairs" and clf.objective == objective
    assert clf._head.weight.shape == (2, 4 * encoder.dim)
    proba = clf.predict_proba(PAIRS)
    assert proba.shape == (len(PAIRS), 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(proba, runs[1].predict_proba(PAIRS))  # same seed, same numbers
    assert set(clf.predict(PAIRS[:4]).tolist()) <= {"same", "other"}
    assert clf.encode(TEXTS[:3]).shape == (3, encoder.dim)  # encode still takes texts
    clf.save(tmp_path / "m")
    back = embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    assert back.input_ == "pairs" and back.pair_targets_ == clf.pair_targets_
    assert np.array_equal(back.predict_proba(PAIRS), proba)
    assert back.score(PAIRS, PAIR_LABELS) == clf.score(PAIRS, PAIR_LABELS)


def test_contrastive_targets_follow_the_data_not_the_label_names(encoder) -> None:
    clf = fine_tune(encoder, PAIRS, PAIR_LABELS, objective="contrastive", unfreeze=1,
                    random_state=0, **FAST)  # fmt: skip
    # classes_ == ["other", "same"]: "same" pairs are identical texts, so they get 1
    assert clf.classes_.tolist() == ["other", "same"]
    assert clf.pair_targets_ == {"other": 0.0, "same": 1.0}
    flipped = ["b" if y == "same" else "a" for y in PAIR_LABELS]  # same -> "b" (class 1)
    renamed = ["a" if y == "same" else "b" for y in PAIR_LABELS]  # same -> "a" (class 0)
    assert fine_tune(encoder, PAIRS, flipped, objective="contrastive", unfreeze=1,
                     **FAST)._meta["training"]["pair_targets"] == [0.0, 1.0]  # fmt: skip
    assert fine_tune(encoder, PAIRS, renamed, objective="contrastive", unfreeze=1,
                     **FAST)._meta["training"]["pair_targets"] == [1.0, 0.0]  # fmt: skip


def test_contrastive_pairs_pull_the_other_pairs_apart(encoder) -> None:
    """The pair loss moves the encoder: "other" pairs (target 0) end less alike."""

    def mean_cos(enc) -> float:
        a = enc.encode([x for x, _ in OTHER])
        b = enc.encode([y for _, y in OTHER])
        num = (a * b).sum(axis=1)
        return float(np.mean(num / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))

    clf = fine_tune(encoder, PAIRS, PAIR_LABELS, objective="contrastive", unfreeze="all",
                    random_state=0, **{**FAST, "epochs": 5})  # fmt: skip
    assert mean_cos(clf) < mean_cos(encoder) - 0.05


def test_pairs_and_texts_are_not_mixed_up(encoder) -> None:
    texts_model = fine_tune(encoder, TEXTS, _ft.LABELS, unfreeze=0, **FAST)
    with pytest.raises(InvalidInputError, match="fine-tuned on single texts"):
        texts_model.predict(PAIRS)
    pair_model = fine_tune(encoder, PAIRS, PAIR_LABELS, unfreeze=0, **FAST)
    with pytest.raises(InvalidInputError, match=r"\(text_a, text_b\) pairs; item 0 is str"):
        pair_model.predict(TEXTS)
    with pytest.raises(InvalidInputError, match="dev_texts must be"):
        fine_tune(encoder, PAIRS, PAIR_LABELS, dev_texts=TEXTS[:2], dev_labels=["same"] * 2,
                  **FAST)  # fmt: skip
    with pytest.raises(InvalidInputError, match="one label per pair"):
        fine_tune(encoder, PAIRS, PAIR_LABELS[:-1], **FAST)
    with pytest.raises(InvalidInputError, match="mixes strings and int"):
        fine_tune(encoder, PAIRS, [0, *PAIR_LABELS[1:]], **FAST)
    with pytest.raises(InvalidInputError, match="at least one text"):
        pair_model.score([], [])
    # a generator of pairs is read once, like a list
    from_gen = fine_tune(encoder, (p for p in PAIRS), PAIR_LABELS, unfreeze=0, **FAST)
    assert np.array_equal(from_gen.predict_proba(PAIRS), pair_model.predict_proba(PAIRS))


def test_contrastive_pairs_need_training_pairs_of_every_class(encoder) -> None:
    # one "same" pair: the 10% validation split takes it, so it has no target to learn
    pairs, labels = OTHER * 2 + SAME[:1], ["other"] * 20 + ["same"]
    with pytest.raises(InvalidInputError, match=r"\['same'\] has no training pair left"):
        fine_tune(encoder, pairs, labels, objective="contrastive", unfreeze=1, **FAST)
    with pytest.raises(InvalidInputError, match=r"class id\(s\) \[1\] of 2 have no pair"):
        class_targets(np.array([0.5, 0.4]), np.array([0, 0]), 2)


def test_a_saved_input_kind_other_than_texts_or_pairs_is_refused(
    encoder, tiny_folder, tmp_path
) -> None:
    clf = fine_tune(encoder, PAIRS, PAIR_LABELS, unfreeze=0, **FAST)
    clf.save(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["state"]["training"]["input"] = "triples"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="'texts' or 'pairs', got 'triples'"):
        embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    config["params"]["objective"] = "bogus"
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFormatError, match="objective must be one of"):
        embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    config["params"]["objective"] = "classification"
    for bad in ([1.0, 0.0, 0.5], [True, False]):
        config["state"]["training"].update(input="pairs", pair_targets=bad)
        (tmp_path / "m" / "config.json").write_text(json.dumps(config))
        with pytest.raises(ModelFormatError, match=r"one number in \[0, 1\] per class \(2\)"):
            embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])


def test_cli_finetune_on_a_pair_task(tiny_folder, tmp_path, monkeypatch, capsys) -> None:
    from benchmarks.cli import main
    from tests.training.test_contrastive import finetune_cli

    result = finetune_cli("MRPC", tiny_folder, tmp_path, monkeypatch)
    assert result["task"]["task"] == "MRPC" and result["n_train"] == 24
    assert 0 <= result["test_accuracy"] <= 100
    back = embeddings.load(tmp_path / "m", allow_paths=[tiny_folder])
    assert back.input_ == "pairs" and sorted(back.pair_targets_.values()) == [0.0, 1.0]
    # the learning curve on the pairs: frozen and TF-IDF on the pair features, and
    # fine-tuning on the pairs themselves
    code = main(["curve", "--task", "MRPC", "--encoder", tiny_folder, "--sizes", "12",
                 "--seeds", "1", "--methods", "tfidf,frozen,finetune", "--epochs", "1",
                 "--dev-max", "16", "--test-max", "16", "--no-progress",
                 "--out", str(tmp_path / "curve")])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    runs = {r["method"]: r for r in json.loads((tmp_path / "curve" / "curve.json").read_text())
            ["runs"]}  # fmt: skip
    assert set(runs) == {"tfidf", "frozen", "finetune"}
    assert all(0 <= r["accuracy"] <= 100 and r["size"] == 12 for r in runs.values())
    # the frozen run's score, rebuilt from the public pieces on the same rows: the
    # features are those of both texts of each pair
    from benchmarks.curves import load_splits
    from embeddings.training.finetune import stratified_subsample
    from evaluators import evaluate_classification_split, pair_features

    train, dev, test, _ = load_splits("MRPC", dev_max=16, test_max=16, pairs=True)
    enc = embeddings.load(tiny_folder).set_params(max_seq_length=64)  # as curve loads it

    def feats(rows: list) -> np.ndarray:
        return pair_features(enc.encode([a for a, _ in rows]), enc.encode([b for _, b in rows]))

    idx = stratified_subsample(train[1], 12, 0)
    ref = evaluate_classification_split(
        feats([train[0][i] for i in idx]), train[1][idx], feats(dev[0]), dev[1],
        feats(test[0]), test[1], random_state=0,
    )  # fmt: skip
    assert runs["frozen"]["accuracy"] == pytest.approx(ref["accuracy"], abs=1e-9)


def test_sklearn_sees_a_classifier_and_cross_validates_pairs_stratified(encoder) -> None:
    from sklearn.base import is_classifier
    from sklearn.model_selection import cross_val_score

    from embeddings.training.finetune import FineTunedEncoder

    est = FineTunedEncoder(encoder, unfreeze=0, validation_fraction=0, **FAST)
    assert is_classifier(est)
    # PAIRS is ordered by class: unstratified 2-fold would train on one class only
    scores = cross_val_score(est, PAIRS, PAIR_LABELS, cv=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
