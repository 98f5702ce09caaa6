"""InferSentEncoder: NLI training on the shared trainer, word handling, persistence, CLI."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

import embeddings
from embeddings.adapters.infersent import InferSentEncoder
from embeddings.errors import DataNotFoundError, InvalidInputError, InvalidParameterError
from embeddings.training.nli import NLI_LABELS, load_nli, read_nli_jsonl, read_nli_tsv
from embeddings.training.trainer import Objective, TrainConfig, Trainer

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

SUBJECTS = ["man", "woman", "dog", "cat", "child", "chef"]
VERBS = ["runs", "sleeps", "cooks", "sings", "plays", "eats"]
CUES = {"entailment": "yes", "neutral": "maybe", "contradiction": "no"}
VOCAB = [*SUBJECTS, *VERBS, *CUES.values(), "a", "the", "."]


def synthetic_pairs(n: int, seed: int) -> tuple[list[tuple[str, str]], list[str]]:
    """Pairs whose label is given by a cue word of the hypothesis."""
    rng = np.random.default_rng(seed)
    pairs, labels = [], []
    for _ in range(n):
        label = NLI_LABELS[int(rng.integers(3))]
        s, v = rng.choice(SUBJECTS), rng.choice(VERBS)
        pairs.append((f"a {s} {v} .", f"the {s} {CUES[label]} {rng.choice(VERBS)}"))
        labels.append(label)
    return pairs, labels


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> str:
    """A small native vector store (8-d) holding every synthetic word."""
    from embeddings.formats import VectorTable, write_store

    folder = tmp_path_factory.mktemp("vectors") / "store"
    table = np.random.default_rng(0).standard_normal((len(VOCAB), 8)).astype(np.float32)
    return str(write_store(folder, VectorTable(list(VOCAB), table)))


def small(vectors: str, **kw: object) -> InferSentEncoder:
    params: dict[str, object] = {"word_vectors": vectors, "hidden_size": 6, "fc_dim": 8,
                                 "epochs": 2, "batch_size": 16}  # fmt: skip
    params.update(kw)
    return InferSentEncoder(**params)  # type: ignore[arg-type]


def test_learns_a_synthetic_nli_task_with_the_paper_schedule(vectors):
    pairs, labels = synthetic_pairs(240, 0)
    dev = synthetic_pairs(60, 1)
    enc = small(vectors, epochs=12, learning_rate=0.5).fit(pairs, labels, dev=dev)
    info = enc.training_info_
    assert info["pairs"] == 240 and info["dev_pairs"] == 60 and info["sentences"] == 480
    assert max(info["dev_accuracy"]) > 0.9, info["dev_accuracy"]
    acc = float(np.mean(enc.predict_pairs(*zip(*dev[0], strict=True)) == np.array(dev[1])))
    assert acc > 0.9
    assert enc.dim == 12 and enc.encode(["a man runs ."]).shape == (1, 12)
    history = enc.training_result_.history
    lrs = [h["lr"] for h in history]
    best = -1.0
    for i in range(1, len(history)):  # decayed every epoch, divided by 5 after no new best
        improved = history[i - 1]["dev_metric"] > best
        best = max(best, history[i - 1]["dev_metric"])
        assert lrs[i] == pytest.approx(lrs[i - 1] * 0.99 * (1.0 if improved else 0.2))


def test_deterministic_and_batch_independent(vectors):
    pairs, labels = synthetic_pairs(48, 2)
    a = small(vectors).fit(pairs, labels)
    b = small(vectors).fit(pairs, labels)
    texts = ["a man runs .", "the cat no sleeps", "", "zzz", "a dog " * 40]
    np.testing.assert_array_equal(a.encode(texts), b.encode(texts))
    assert a.fingerprint() == b.fingerprint()
    np.testing.assert_allclose(a.encode(texts, batch_size=1), a.encode(texts, batch_size=5),
                               atol=1e-6)  # fmt: skip
    c = small(vectors, random_state=1).fit(pairs, labels)
    assert not np.array_equal(a.encode(texts), c.encode(texts))


def test_dropped_words_and_the_empty_sentence(vectors):
    pairs, labels = synthetic_pairs(32, 3)
    enc = small(vectors).fit(pairs, labels)
    np.testing.assert_array_equal(enc.encode(["a man qqq runs zzz"]), enc.encode(["a man runs"]))
    X = enc.encode(["", "qqq zzz", "日本語", "   "])
    assert np.isfinite(X).all()
    for row in X[1:]:  # no word with a vector: the documented all-zeros step
        np.testing.assert_array_equal(row, X[0])


@pytest.mark.parametrize("pooling", ["mean", "last"])
def test_other_poolings(vectors, pooling):
    pairs, labels = synthetic_pairs(32, 4)
    enc = small(vectors, pooling=pooling, epochs=1).fit(pairs, labels)
    X = enc.encode(["a man runs .", "the cat"])
    assert X.shape == (2, 12) and np.isfinite(X).all()


def test_save_load_pickle_clone(vectors, tmp_path):
    pairs, labels = synthetic_pairs(32, 5)
    enc = small(vectors).fit(pairs, labels)
    texts = ["a man runs .", "the dog no sleeps"]
    enc.save(tmp_path / "m")
    again = embeddings.load(tmp_path / "m", word_vectors=vectors)  # outside: named again
    assert type(again) is InferSentEncoder and again.fingerprint() == enc.fingerprint()
    np.testing.assert_array_equal(again.encode(texts), enc.encode(texts))
    np.testing.assert_array_equal(again.predict_pairs(["a man"], ["the man yes"]),
                                  enc.predict_pairs(["a man"], ["the man yes"]))  # fmt: skip
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(enc)).encode(texts), enc.encode(texts))
    twin = clone(enc)
    assert not twin.is_fitted and twin.get_params() == enc.get_params()
    assert enc.trainable_layers()["layers"][0] is enc.module.encoder


def test_inputs_are_checked(vectors):
    enc = small(vectors)
    with pytest.raises(InvalidInputError, match="labelled sentence pairs"):
        enc.fit(["a man runs", "a dog sleeps"])
    with pytest.raises(InvalidInputError, match="2 pairs but 1 labels"):
        enc.fit([("a", "b"), ("c", "d")], ["neutral"])
    with pytest.raises(InvalidInputError, match="position 0"):
        enc.fit([("a", "b")], ["maybe"])
    with pytest.raises(InvalidInputError, match=r"pairs\[1\]"):
        enc.fit([("a", "b"), ("c",)], ["neutral", "neutral"])
    with pytest.raises(InvalidParameterError, match="pooling"):
        small(vectors, pooling="sum").fit([("a", "b")], [0])
    with pytest.raises(InvalidParameterError, match="lr_decay"):
        small(vectors, lr_decay=1.5).fit([("a", "b")], [0])
    with pytest.raises(InvalidParameterError, match="word_vectors"):
        small("/nonexistent/vectors.txt").fit([("a", "b")], [0])


# ---------------------------------------------------------------- NLI readers
SNLI_LINE = {
    "annotator_labels": ["neutral"], "captionID": "3416050480.jpg#4",
    "gold_label": "neutral", "pairID": "3416050480.jpg#4r1n",
    "sentence1": "A person on a horse jumps over a broken down airplane.",
    "sentence1_binary_parse": "( ( ( A person ) ...", "sentence1_parse": "(ROOT (S ...",
    "sentence2": "A person is training his horse for a competition.",
    "sentence2_binary_parse": "( ( A person ) ...", "sentence2_parse": "(ROOT (S ...",
}  # fmt: skip


def write_jsonl(path: Path, labels: list[str], genre: bool = False) -> Path:
    rows = []
    for i, label in enumerate(labels):
        row = dict(SNLI_LINE, gold_label=label, sentence2=f"hypothesis {i}")
        if genre:  # MultiNLI adds genre and promptID
            row.update(genre="government", promptID=31193)
        rows.append(json.dumps(row))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_snli_and_multinli_published_layout(tmp_path):
    snli = write_jsonl(tmp_path / "snli_1.0_train.jsonl",
                       ["neutral", "contradiction", "-", "entailment", "-"])  # fmt: skip
    write_jsonl(tmp_path / "snli_1.0_dev.jsonl", ["entailment", "-"])
    write_jsonl(tmp_path / "snli_1.0_test.jsonl", ["not a label"])  # never read
    pairs = read_nli_jsonl(snli)
    assert len(pairs) == 3 and pairs.dropped == 2
    assert pairs.label_names() == ["neutral", "contradiction", "entailment"]
    assert pairs.premises[0] == SNLI_LINE["sentence1"] and pairs.hypotheses[1] == "hypothesis 1"
    train, dev = load_nli(str(snli))
    assert len(train) == 3 and len(dev) == 1 and dev.dropped == 1
    mnli = tmp_path / "mnli"
    mnli.mkdir()
    write_jsonl(mnli / "multinli_1.0_train.jsonl", ["entailment", "neutral"], genre=True)
    write_jsonl(mnli / "multinli_1.0_dev_matched.jsonl", ["contradiction"], genre=True)
    write_jsonl(mnli / "multinli_1.0_dev_mismatched.jsonl", ["neutral"], genre=True)
    train, dev = load_nli(f"{snli},{mnli}")
    assert len(train) == 5 and dev.label_names() == ["entailment", "contradiction"]
    with pytest.raises(InvalidParameterError, match="test split"):
        load_nli(str(tmp_path / "snli_1.0_test.jsonl"))


def test_tsv_layout_names_and_errors(tmp_path, monkeypatch):
    task = tmp_path / "data" / "SICK-E"
    task.mkdir(parents=True)
    head = "label\ttext_a\ttext_b\n"
    (task / "train.tsv").write_text(head + "NEUTRAL\ta b\tc d\nENTAILMENT\te\tf\n")
    (task / "dev.tsv").write_text(head + "CONTRADICTION\ta\tb\n")
    (task / "test.tsv").write_text("garbage that is never read\n")
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "data"))
    train, dev = load_nli("SICK-E")
    assert train.label_names() == ["neutral", "entailment"] and len(dev) == 1
    digest = hashlib.sha256((task / "train.tsv").read_bytes()).hexdigest()
    assert list(train.files.values()) == [digest]
    with pytest.raises(DataNotFoundError, match="SNLI"):
        load_nli("SNLI")
    bad = tmp_path / "bad_train.tsv"
    bad.write_text("label\tsentence1\tsentence2\n")
    with pytest.raises(InvalidInputError, match="header"):
        read_nli_tsv(bad)
    bad.write_text(head + "MAYBE\ta\tb\n")
    with pytest.raises(InvalidInputError, match=":2: label 'MAYBE'"):
        read_nli_tsv(bad)
    with pytest.raises(InvalidParameterError, match="no source"):
        load_nli(" , ")


@pytest.mark.data
def test_sick_e_train_and_dev_of_the_data_folder(monkeypatch):
    from tests.conftest import data_dir

    monkeypatch.setenv("TRANSFERKIT_DATA", str(data_dir()))
    train, dev = load_nli("SICK-E")
    assert len(train) == 4500 and len(dev) == 500 and train.dropped == 0
    assert train.counts() == {"entailment": 1299, "neutral": 2536, "contradiction": 665}


def test_fit_on_a_spec_reads_train_and_dev(vectors, tmp_path):
    pairs, labels = synthetic_pairs(40, 6)
    folder = tmp_path / "nli"
    folder.mkdir()
    head = "label\ttext_a\ttext_b\n"
    (folder / "train.tsv").write_text(
        head + "".join(f"{y.upper()}\t{p}\t{h}\n" for (p, h), y in zip(pairs, labels, strict=True))
    )
    (folder / "dev.tsv").write_text(head + "NEUTRAL\ta man\tthe man maybe runs\n")
    enc = small(vectors).fit(str(folder))
    meta = enc._meta["nli"]
    assert meta["train_pairs"] == 40 and meta["dev_pairs"] == 1
    assert all(h["dev_metric"] is not None for h in enc.training_result_.history)
    same = small(vectors).fit(pairs, labels, dev=([("a man", "the man maybe runs")], ["neutral"]))
    np.testing.assert_array_equal(enc.encode(["a man runs"]), same.encode(["a man runs"]))


# ------------------------------------------------------------ trainer schedule
class _Plateau(Objective):
    """A dev metric that improves once, then never again."""

    def plan(self, epoch, rng):
        return [rng.permutation(4) for _ in range(2)]

    def loss(self, model, batch):
        x = torch.arange(4.0)[torch.from_numpy(batch)][:, None]
        return ((model(x) - x) ** 2).mean(), len(batch)

    def evaluate(self, model):
        return 1.0


def test_plateau_shrink_and_min_lr_stop_and_resume(tmp_path):
    cfg = {"epochs": 10, "lr": 0.1, "optimizer": "sgd", "epoch_decay": 0.99,
           "plateau_factor": 0.2, "min_lr": 1e-3, "show_progress": False}  # fmt: skip
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = torch.nn.Linear(1, 1)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    result = Trainer(model, _Plateau(), TrainConfig(**cfg)).fit()
    lrs = [h["lr"] for h in result.history]
    assert lrs == pytest.approx([0.1, 0.099, 0.1 * 0.99**2 * 0.2, 0.1 * 0.99**3 * 0.04])
    assert result.stop_reason == "early_stopping" and result.epochs_done == 4
    final = {k: v.clone() for k, v in model.state_dict().items()}
    # the same run stopped after 3 steps and resumed ends with the same weights
    model.load_state_dict(start)
    Trainer(model, _Plateau(), TrainConfig(**cfg, max_steps=3, checkpoint_every=1),
            tmp_path).fit()  # fmt: skip
    model.load_state_dict(start)  # resuming must restore everything from the checkpoint
    again = Trainer(model, _Plateau(), TrainConfig(**cfg, checkpoint_every=1), tmp_path).fit(
        resume=True
    )
    assert [h["lr"] for h in again.history] == pytest.approx(lrs)
    for k, v in model.state_dict().items():
        assert torch.equal(v, final[k])
    with pytest.raises(InvalidParameterError, match="plateau_factor"):
        TrainConfig(plateau_factor=2.0).check()


# ------------------------------------------------------------------------ CLI
def test_train_command_with_nli(vectors, tmp_path, capsys):
    from benchmarks.cli import main

    pairs, labels = synthetic_pairs(40, 7)
    data = tmp_path / "snli_1.0_train.jsonl"
    data.write_text("".join(
        json.dumps({"gold_label": y, "sentence1": p, "sentence2": h}) + "\n"
        for (p, h), y in zip(pairs, labels, strict=True)
    ))  # fmt: skip
    out = tmp_path / "model"
    argv = ["train", "infersent", "--nli", str(data), "--out", str(out), "--word-vectors",
            vectors, "--hidden-size", "4", "--fc-dim", "4", "--epochs", "2",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "trained infersent" in text and "80 sentences" in text
    enc = embeddings.load(str(out), allow_paths=[vectors])  # its vectors lie outside
    assert isinstance(enc, InferSentEncoder) and enc.dim == 8
    run = json.loads((out / "training" / "run.json").read_text())
    assert run["corpus"] == str(data.resolve()) and run["params"]["hidden_size"] == 4
    assert main(["train", "infersent", "--out", str(out), "--resume", "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["train", "infersent", "--out", str(tmp_path / "x")]) == 2
    assert "--nli is required" in capsys.readouterr().err
    test_file = tmp_path / "snli_1.0_test.jsonl"
    test_file.write_text("")
    assert main(["train", "infersent", "--nli", str(test_file), "--out", str(tmp_path / "y")]) == 2
    assert "test split" in capsys.readouterr().err and not (tmp_path / "y").exists()
