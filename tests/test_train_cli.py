"""``transferkit train``: the family registry, options, --out/--resume/--force, summaries."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks.cli import main
from benchmarks.commands._options import family_defaults, options_spec
from embeddings.errors import InvalidParameterError, UnknownEncoderError
from embeddings.training.families import (
    TRAINABLE,
    TrainableFamily,
    get_trainable,
    list_trainable,
    register_trainable,
)

QT = "quick-thought"
TINY_QT = ["--hidden-size", "4", "--embedding-dim", "4", "--batch-size", "8", "--min-count", "1"]
TINY_QT += ["--epochs", "2", "--init-vectors", "none", "--no-progress"]


def write_documents(path: Path, words: list[str], n_docs: int) -> Path:
    """``path``: ``n_docs`` seeded random documents of 6 sentences of 3 to 6 of ``words``
    (blank line between documents)."""
    rng = np.random.default_rng(0)
    docs = [
        "\n".join(" ".join(rng.choice(words, rng.integers(3, 7))) for _ in range(6))
        for _ in range(n_docs)
    ]
    path.write_text("\n\n".join(docs) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    """12 documents x 6 sentences over a small vocabulary (blank line between documents)."""
    words = "the cat dog sat ran on mat log market fell rose bank sold shares".split()
    path = tmp_path / "corpus"
    path.mkdir()
    write_documents(path / "a.txt", words, 12)
    return path


def train(*argv: str) -> int:
    return main(["train", *argv])


# ---------------------------------------------------------------- the registry
def test_registry_has_the_four_families_and_derives_options():
    assert [f.name for f in list_trainable()][:4] == ["word2vec", "fasttext", "doc2vec", QT]
    opts = {o.param: o for o in options_spec(get_trainable(QT))}
    assert opts["hidden_size"].flag == "--hidden-size" and opts["hidden_size"].default == 300
    assert opts["random_state"].flag == "--random-state"
    assert opts["random_state"].aliases == ("--seed",)
    assert opts["bidirectional"].kind == "bool"
    assert opts["max_vocab"].nullable and opts["max_vocab"].parse("none") is None
    assert opts["learning_rate"].kind == "float"
    mode = {o.param: o for o in options_spec(get_trainable("doc2vec"))}["mode"]
    assert mode.choices == ("dbow", "dm")
    with pytest.raises(InvalidParameterError, match="must be one of dbow, dm, got 'pv'"):
        mode.parse("pv")
    w2v = get_trainable("word2vec")
    assert family_defaults(w2v)["sg"] is True and "bucket" not in family_defaults(w2v)
    assert "bucket" in family_defaults(get_trainable("fasttext"))
    assert get_trainable(QT).resumable and not w2v.resumable


def test_unknown_family_suggests():
    with pytest.raises(UnknownEncoderError, match="did you mean 'word2vec'"):
        get_trainable("word2vek")


def test_register_trainable_is_one_call_and_checks_names():
    target = "embeddings.adapters.quick_thought:QuickThoughtEncoder"
    try:
        fam = register_trainable("qt-bi", target, "bidirectional", params={"bidirectional": True})
        assert isinstance(fam, TrainableFamily) and TRAINABLE["qt-bi"] is fam
        assert family_defaults(fam)["bidirectional"] is True
        with pytest.raises(InvalidParameterError, match="exists already"):
            register_trainable("qt-bi", target, "again")
    finally:
        TRAINABLE.pop("qt-bi", None)
    with pytest.raises(InvalidParameterError, match="module:Class"):
        register_trainable("bad", "no-colon", "x")
    try:
        bad = register_trainable("bad", target, "x", shortcuts={"resume": {"epochs": 1}})
        with pytest.raises(InvalidParameterError, match="used by transferkit train"):
            options_spec(bad)
    finally:
        TRAINABLE.pop("bad", None)


# -------------------------------------------------------------------- --list
def test_list_shows_every_family_and_its_options(capsys):
    assert train("--list") == 0
    out = capsys.readouterr().out
    for name in ("word2vec", "fasttext", "doc2vec", QT):
        assert f"\n{name}: " in f"\n{out}"
    for flag in ("--hidden-size INT", "--max-vocab INT|none", "--bidirectional/--no-bidirectional",
                 "--mode {dbow,dm}", "--bucket INT", "--random-state INT", "--cbow"):  # fmt: skip
        assert flag in out
    assert "checkpoints, --max-minutes, --resume" in out
    qt_part = out.split(f"\n{QT}: ")[1].split("\n\n")[0]
    assert "300" in qt_part and "0.0005" in qt_part  # defaults shown


def test_list_json(capsys):
    assert train("--list", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data][:4] == ["word2vec", "fasttext", "doc2vec", QT]
    qt = next(d for d in data if d["name"] == QT)
    assert qt["resumable"] is True
    hidden = next(o for o in qt["options"] if o["param"] == "hidden_size")
    assert hidden == {**hidden, "flag": "--hidden-size", "type": "int", "default": 300}


# -------------------------------------------------------------------- errors
def test_unknown_option_is_a_clear_error(corpus, tmp_path, capsys):
    assert (
        train(QT, "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--hiden-size", "4") == 2
    )
    err = capsys.readouterr().err
    assert "unknown option(s) for quick-thought: --hiden-size" in err
    assert "did you mean --hidden-size" in err and "Allowed:" in err
    assert train("word2vec", "--corpus", str(corpus), "--out", str(tmp_path / "m"),
                 "--bucket", "10") == 2  # fmt: skip
    assert "--bucket is an option of fasttext" in capsys.readouterr().err
    assert train(QT, "--corpus", str(corpus), "--out", str(tmp_path / "m"), "--epochs", "x") == 2
    assert "--epochs must be an integer, got 'x'" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_missing_family_corpus_and_bad_values(corpus, tmp_path, capsys):
    assert train() == 2
    assert "name the family to train" in capsys.readouterr().err
    assert train(QT, "--out", str(tmp_path / "m")) == 2
    assert "--corpus is required" in capsys.readouterr().err
    assert train(QT, "--corpus", str(tmp_path / "nope"), "--out", str(tmp_path / "m")) == 2
    assert "does not exist" in capsys.readouterr().err
    assert train(QT, "--corpus", str(corpus), "--out", str(tmp_path / "m"),
                 "--batch-size", "1") == 2  # fmt: skip
    assert "batch_size must be an int >= 2" in capsys.readouterr().err
    assert train(QT, "--corpus", str(corpus), "--out", str(tmp_path / "m"),
                 "--max-minutes", "0") == 2  # fmt: skip
    assert "--max-minutes must be a number > 0" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()  # nothing created before the options are valid


def test_gensim_families_refuse_resume_and_time_budget(corpus, tmp_path, capsys):
    for flag in (["--resume"], ["--max-minutes", "5"], ["--checkpoint-every", "3"]):
        argv = ["word2vec", "--corpus", str(corpus), "--out", str(tmp_path / "w"), *flag]
        assert train(*argv) == 2
        err = capsys.readouterr().err
        assert f"{flag[0]} cannot be used with it" in err and "quick-thought" in err


def test_existing_out_is_refused_unless_resume_or_force(corpus, tmp_path, capsys):
    out = tmp_path / "m"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = [QT, "--corpus", str(corpus), "--out", str(out), *TINY_QT]
    assert train(*argv) == 2
    assert "exists and is not empty; pass --resume" in capsys.readouterr().err
    assert train(*argv, "--force") == 2  # not a training output: left untouched
    assert "left untouched" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    assert train(*argv, "--resume") == 2
    assert "holds no run to continue" in capsys.readouterr().err
    assert train(*argv, "--resume", "--force") == 2
    assert "exclude each other" in capsys.readouterr().err


# ------------------------------------------------------------------ training
def test_word2vec_and_doc2vec_keep_their_flags(corpus, tmp_path, capsys):
    out = tmp_path / "w2v"
    argv = ["word2vec", "--corpus", str(corpus), "--out", str(out), "--min-count", "1",
            "--vector-size", "8", "--epochs", "2", "--window", "3", "--negative", "2",
            "--random-state", "3", "--threads", "1", "--cbow", "--pooling", "max", "--no-progress",
            "--json", str(tmp_path / "w2v.json")]  # fmt: skip
    assert train(*argv) == 0
    text = capsys.readouterr().out
    assert text.startswith("trained word2vec -> ") and "sentences/s" in text
    summary = json.loads((tmp_path / "w2v.json").read_text())
    assert summary["corpus_stats"]["sentences"] == 72 and summary["finished"] is True
    assert summary["params"]["sg"] is False and summary["params"]["random_state"] == 3
    enc = embeddings.load(str(out))
    assert enc.get_params()["pooling"] == "max" and enc.encode(["the cat"]).shape == (1, 8)
    run = json.loads((out / "training" / "run.json").read_text())
    assert run["family"] == "word2vec" and run["params"]["window"] == 3
    argv = ["doc2vec", "--mode", "dm", "--corpus", str(corpus), "--out", str(tmp_path / "d2v"),
            "--min-count", "1", "--vector-size", "8", "--epochs", "2", "--no-progress"]  # fmt: skip
    assert train(*argv) == 0
    d2v = embeddings.load(str(tmp_path / "d2v"))
    assert d2v.name == "doc2vec-dm" and d2v.encode(["the cat"]).shape == (1, 8)


def test_quick_thought_run_resume_and_force(corpus, tmp_path, capsys):
    out = tmp_path / "qt"
    argv = [QT, "--corpus", str(corpus), "--out", str(out), *TINY_QT]
    assert train(*argv, "--random-state", "1", "--json", str(tmp_path / "s.json")) == 0
    text = capsys.readouterr().out
    assert "trained quick-thought" in text and "status        finished" in text
    assert "sentences/s" in text and "continue with" not in text
    assert f"loss curve    {out / 'training' / 'loss.png'}" in text
    assert f"log           {out / 'training' / 'log.jsonl'}" in text
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["finished"] and summary["epochs_done"] == 2 and summary["steps"] > 0
    assert summary["params"]["random_state"] == 1
    enc = embeddings.load(str(out))
    vecs = enc.encode(["the cat sat", "markets fell"])
    assert vecs.shape == (2, 8) and np.isfinite(vecs).all()
    run = json.loads((out / "training" / "run.json").read_text())
    assert run["family"] == QT and run["params"]["hidden_size"] == 4

    # --resume after it finished: nothing left, the same weights, stored parameters kept
    assert train(QT, "--out", str(out), "--resume", "--no-progress") == 0
    text = capsys.readouterr().out
    assert "already before this run" in text and f"resumed from step {summary['steps']}" in text
    np.testing.assert_array_equal(embeddings.load(str(out)).encode(["the cat sat"]), vecs[:1])

    # an explicit option that differs from the stored run is refused, naming both values
    assert train(QT, "--out", str(out), "--resume", "--hidden-size", "8") == 2
    assert "--hidden-size 8 differs from the stored 4" in capsys.readouterr().err
    assert train(QT, "--out", str(out), "--resume", "--hidden-size", "4", "--no-progress") == 0
    assert train(QT, "--out", str(out), "--resume", "--corpus", str(tmp_path)) == 2
    assert "differs from the stored corpus" in capsys.readouterr().err
    assert train("word2vec", "--out", str(out), "--force", "--corpus", str(corpus),
                 "--min-count", "1", "--vector-size", "4", "--no-progress") == 0  # fmt: skip
    assert embeddings.load(str(out)).name == "word2vec-corpus"


def test_time_budget_stops_early_and_resume_finishes(corpus, tmp_path, capsys):
    out = tmp_path / "qt"
    argv = [QT, "--corpus", str(corpus), "--out", str(out), *TINY_QT, "--epochs", "200"]
    assert train(*argv, "--max-minutes", "0.0001", "--checkpoint-every", "5") == 0
    text = capsys.readouterr().out
    assert "stopped by the time budget" in text
    assert "continue with:" in text
    assert f"transferkit train quick-thought --corpus {corpus} --out {out} --resume" in text
    early = embeddings.load(str(out))  # a stopped run is a usable encoder
    assert early.encode(["the cat"]).shape == (1, 8)
    # resume continues with the stored parameters (epochs=200 is not repeated)
    assert train(QT, "--out", str(out), "--resume", "--max-minutes", "0.0002",
                 "--no-progress") == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "of 200 epochs" in text and "stopped by the time budget" in text


def test_a_stored_run_is_checked_before_use(corpus, tmp_path, capsys):
    out = tmp_path / "qt"
    (out / "training").mkdir(parents=True)
    record = {
        "format": "transferkit-train-run",
        "format_version": 1,
        "family": QT,
        "class": "os:system",  # never read: the class comes from the family registry
        "params": {"hidden_size": "4"},
        "corpus": str(corpus),
    }
    run_file = out / "training" / "run.json"
    run_file.write_text(json.dumps(record))
    assert train(QT, "--out", str(out), "--resume") == 2
    assert "params.hidden_size = '4' is not a valid value of --hidden-size" in (
        capsys.readouterr().err
    )
    run_file.write_text(json.dumps({**record, "params": {"trust_pickle": True}}))
    assert train(QT, "--out", str(out), "--resume") == 2
    assert "params.trust_pickle is not a parameter of quick-thought" in capsys.readouterr().err
    run_file.write_text(json.dumps({**record, "family": "word2vec", "params": {}}))
    assert train(QT, "--out", str(out), "--resume") == 2
    err = capsys.readouterr().err
    assert "holds a 'word2vec' run, not 'quick-thought'" in err
    run_file.write_text("{not json")
    assert train(QT, "--out", str(out), "--resume") == 2
    assert "cannot read the stored run" in capsys.readouterr().err
