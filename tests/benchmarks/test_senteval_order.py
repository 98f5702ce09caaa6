"""MR/CR/SUBJ/MPQA and TREC are evaluated in SentEval's sample order.

SentEval's loaders (``senteval/binary.py``, ``senteval/trec.py``) sort the samples by
(number of whitespace tokens, label) before the stratified shuffled folds are drawn.
The ports below follow those loaders; the runner must give their fold accuracies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.suites import Suite, SuiteTask
from benchmarks.tasks import TextClassificationData, clear_checksum_cache, get_task, list_tasks
from tests.benchmarks.test_runner import (
    TREC_LABELS,
    VOCAB,
    BowEncoder,
    FitIgnoringEncoder,
    _senteval_inner_kfold,
    _senteval_kfold,
    labelled_sentence,
    read,
    run,
    write_tsv,
)

SENTEVAL_ORDERED = ("MR", "CR", "SUBJ", "MPQA", "TREC")


# ---------------------------------------------------------------- ports of SentEval's loaders


def senteval_binary_order(pos: list[str], neg: list[str]) -> tuple[list[str], list[int]]:
    """``BinaryClassifierEval``: samples = pos + neg (labels 1, 0) as token lists,
    sorted by (token count, label); returns the texts and labels in that order."""
    samples = [line.split() for line in pos] + [line.split() for line in neg]
    labels = [1] * len(pos) + [0] * len(neg)
    ranked = sorted(zip(samples, labels, range(len(samples))), key=lambda z: (len(z[0]), z[1]))
    texts = [*pos, *neg]
    return [texts[i] for _, _, i in ranked], [y for _, y, _ in ranked]


def senteval_trec_order(lines: list[str]) -> tuple[list[str], list[int]]:
    """``TRECEval.loadFile`` + ``run``: ``COARSE:fine question`` lines, the question's
    tokens after the fine label, sorted by (token count, coarse label index)."""
    tgt2idx = {name: i for i, name in enumerate(TREC_LABELS)}
    X, y = [], []
    for line in lines:
        target, sample = line.strip().split(":", 1)
        X.append(sample.split(" ", 1)[1].split())
        y.append(tgt2idx[target])
    ranked = sorted(zip(X, y), key=lambda z: (len(z[0]), z[1]))
    return [" ".join(x) for x, _ in ranked], [label for _, label in ranked]


# ---------------------------------------------------------------- data with varied lengths


def _sentence(rng: np.random.Generator, label: int, uid: str) -> str:
    """A labelled sentence of 1 to 6 random words besides the label's two."""
    return labelled_sentence(rng, label, uid, size=int(rng.integers(1, 7)))


@pytest.fixture()
def varied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """MR (positives first, as the data README says) and TREC with varied lengths."""
    rng = np.random.default_rng(7)
    root = tmp_path / "data"
    pos = [_sentence(rng, 1, f"p{k}") for k in range(45)]
    neg = [_sentence(rng, 0, f"n{k}") for k in range(45)]
    write_tsv(
        root, "MR/all.tsv", "label\ttext", [f"1\t{t}" for t in pos] + [f"0\t{t}" for t in neg]
    )
    trec: dict[str, list[str]] = {}
    for split, n in (("train", 120), ("test", 30)):
        labels = [TREC_LABELS[int(rng.integers(0, 6))] for _ in range(n)]
        questions = [_sentence(rng, TREC_LABELS.index(lab), f"{split}{k}") for k, lab in
                     enumerate(labels)]  # fmt: skip
        trec[split] = [f"{lab}:other {q}" for lab, q in zip(labels, questions)]
        write_tsv(root, f"TREC/{split}.tsv", "label\ttext",
                  [f"{lab}\t{q}" for lab, q in zip(labels, questions)])  # fmt: skip
    monkeypatch.setenv("TRANSFERKIT_DATA", str(root))
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    clear_checksum_cache()
    return {"pos": pos, "neg": neg, "trec": trec}


def _run(encoder: Any, entry: SuiteTask, out: Path) -> dict[str, Any]:
    summary = run([encoder], Suite("t", "t", (entry,)), out)
    assert summary["failed"] == []
    return read(summary["computed"][0])


# ---------------------------------------------------------------- the order itself


def test_in_senteval_order_equals_the_port_of_binary_py() -> None:
    rng = np.random.default_rng(0)
    pos = [" ".join(["w"] * int(rng.integers(1, 6))) + f" p{i}" for i in range(40)]
    neg = [" ".join(["w"] * int(rng.integers(1, 6))) + f" n{i}" for i in range(40)]
    data = TextClassificationData([*pos, *neg], np.array([1] * 40 + [0] * 40), ("0", "1"))
    texts, labels = senteval_binary_order(pos, neg)
    ordered = data.in_senteval_order()
    assert ordered.texts == texts and ordered.labels.tolist() == labels
    # the input is not reordered in place, and file order is what load() returns
    assert data.texts == [*pos, *neg]


def test_in_senteval_order_equals_the_port_of_trec_py() -> None:
    rng = np.random.default_rng(1)
    lines = []
    for k in range(60):
        label = TREC_LABELS[int(rng.integers(0, 6))]
        words = " ".join(rng.choice(VOCAB, size=int(rng.integers(1, 5))))
        lines.append(f"{label}:fine {words} q{k} ?")
    data = TextClassificationData(
        [line.split(" ", 1)[1] for line in lines],
        np.array([TREC_LABELS.index(line.split(":")[0]) for line in lines]),
        TREC_LABELS,
    )
    texts, labels = senteval_trec_order(lines)
    ordered = data.in_senteval_order()
    assert ordered.texts == texts and ordered.labels.tolist() == labels


def test_the_senteval_tasks_have_a_new_version_and_the_others_keep_file_order() -> None:
    for name in list_tasks():
        meta = get_task(name).metadata
        if name in SENTEVAL_ORDERED:
            assert (meta.sample_order, meta.version) == ("senteval", "2"), name
        else:
            assert (meta.sample_order, meta.version) == ("file", "1"), name


def test_load_keeps_file_order(varied: dict[str, Any]) -> None:
    mr = get_task("MR").load("all", verify=False)
    assert mr.texts == varied["pos"] + varied["neg"]
    assert mr.in_senteval_order().texts != mr.texts


# ---------------------------------------------------------------- the runner follows it


@pytest.mark.parametrize("encoder_cls", [BowEncoder, FitIgnoringEncoder])
def test_cv_folds_equal_senteval_binary_py_with_varied_lengths(
    encoder_cls: type, varied: dict[str, Any], tmp_path: Path
) -> None:
    from threadpoolctl import threadpool_limits

    rec = _run(encoder_cls(), SuiteTask("MR", n_folds=5), tmp_path / "o")
    texts, labels = senteval_binary_order(varied["pos"], varied["neg"])
    X, y = BowEncoder().encode(texts), np.array(labels)
    with threadpool_limits(1, user_api="blas"):
        expected = _senteval_inner_kfold(X, y, 5)
        file_order = _senteval_inner_kfold(
            BowEncoder().encode(varied["pos"] + varied["neg"]),
            np.array([1] * len(varied["pos"]) + [0] * len(varied["neg"])),
            5,
        )
    assert rec["task"]["version"] == "2"
    folds = [a / 100 for a in rec["scores"]["fold_accuracies"]]  # points -> SentEval's fractions
    assert folds == pytest.approx(expected, abs=1e-12)
    # the order matters: file order gives other folds
    assert folds != pytest.approx(file_order, abs=1e-12)


def test_trec_selection_folds_equal_senteval_trec_py(
    varied: dict[str, Any], tmp_path: Path
) -> None:
    from threadpoolctl import threadpool_limits

    rec = _run(BowEncoder(), SuiteTask("TREC", n_folds=5), tmp_path / "o")
    train_texts, train_y = senteval_trec_order(varied["trec"]["train"])
    test_texts, test_y = senteval_trec_order(varied["trec"]["test"])
    enc = BowEncoder()
    with threadpool_limits(1, user_api="blas"):
        expected = _senteval_kfold(enc.encode(train_texts), np.array(train_y),
                                   enc.encode(test_texts), np.array(test_y), 5)  # fmt: skip
    assert rec["main_score"] / 100 == pytest.approx(expected, abs=1e-12)  # points
    assert rec["task"]["version"] == "2"


# ---------------------------------------------------------------- the real files


def _raw_lines(path: Path, encoding: str) -> list[str]:
    with open(path, encoding=encoding) as handle:
        return handle.read().splitlines()


def _real(task: str) -> Any:
    from tests.conftest import data_dir

    root = data_dir()
    assert root is not None  # the data marker skips the test without data
    return get_task(task, data_dir=root)


@pytest.mark.data
@pytest.mark.parametrize(
    ("task", "pos", "neg"),
    [
        ("MR", "rt-polarity.pos", "rt-polarity.neg"),
        ("CR", "custrev.pos", "custrev.neg"),
        ("SUBJ", "plot.tok.gt9.5000", "quote.tok.gt9.5000"),  # objective = label 1
        ("MPQA", "mpqa.pos", "mpqa.neg"),
    ],
)
def test_real_binary_tasks_follow_the_port_on_their_raw_files(
    task: str, pos: str, neg: str
) -> None:
    """Our order of the normalised rows is SentEval's order of the raw lines (the raw
    files' empty lines, which the data folder drops, aside)."""
    real = _real(task)
    data = real.load("all")
    raw = real.path("all").parent / "raw"
    texts, labels = senteval_binary_order(
        [t for t in _raw_lines(raw / pos, "utf-8") if t.split()],
        [t for t in _raw_lines(raw / neg, "utf-8") if t.split()],
    )
    ordered = data.in_senteval_order()
    assert ordered.labels.tolist() == labels
    assert [len(t.split()) for t in ordered.texts] == [len(t.split()) for t in texts]
    same = sum(a.split() == b.split() for a, b in zip(ordered.texts, texts))
    assert same >= 0.99 * len(texts)  # the rest differ by the cp1252 normalisation only


@pytest.mark.data
def test_real_trec_follows_the_port_on_its_raw_files() -> None:
    real = _real("TREC")
    raw = real.path("train").parent / "raw"
    for split, name in (("train", "TREC.train"), ("test", "TREC.test")):
        texts, labels = senteval_trec_order(_raw_lines(raw / name, "latin-1"))
        ordered = real.load(split).in_senteval_order()
        assert ordered.labels.tolist() == labels
        assert [t.split() for t in ordered.texts] == [t.split() for t in texts]
