"""Streaming corpus, deterministic word2vec/fastText training, trained encoders, the CLI."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

import embeddings
from embeddings.adapters.word_vectors import TrainedWordVectorEncoder
from embeddings.errors import DataNotFoundError, InvalidInputError
from embeddings.training.corpus import TextCorpus, corpus_files
from embeddings.training.trainers import train_word_vectors

TEXTS = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "cats and dogs play in the garden",
    "the market fell and investors sold shares",
] * 10
SMALL = {"vector_size": 8, "min_count": 1, "epochs": 2}


@pytest.fixture
def corpus_dir(tmp_path):
    (tmp_path / "c" / "news").mkdir(parents=True)
    (tmp_path / "c" / "raw").mkdir()
    (tmp_path / "c" / "news" / "a.txt").write_text("\n".join(TEXTS[:4]) + "\n\n", "utf-8")
    (tmp_path / "c" / "b.txt").write_text("The Cat sat.\n", "utf-8")
    (tmp_path / "c" / "raw" / "dup.txt").write_text("must be skipped\n", "utf-8")
    return tmp_path / "c"


def test_corpus_streams_files_skips_raw_and_restarts(corpus_dir):
    files = corpus_files(corpus_dir)
    assert [f.name for f in files] == ["b.txt", "a.txt"]
    corpus = TextCorpus(corpus_dir)
    first = list(corpus)
    assert first == list(corpus)  # restartable: gensim iterates once per epoch
    assert first[0] == ["the", "cat", "sat", "."] and len(first) == 5
    stats = corpus.stats()
    assert (stats.files, stats.lines, stats.tokens) == (
        2,
        5,
        4 + sum(len(t.split()) for t in TEXTS[:4]),
    )
    with pytest.raises(DataNotFoundError, match="does not exist"):
        TextCorpus(corpus_dir / "nope")


@pytest.mark.parametrize("algorithm", ["word2vec", "fasttext"])
def test_training_is_deterministic_for_a_seed(algorithm):
    corpus = TextCorpus(TEXTS)
    a, info = train_word_vectors(corpus, algorithm=algorithm, bucket=300, random_state=1, **SMALL)
    b, _ = train_word_vectors(corpus, algorithm=algorithm, bucket=300, random_state=1, **SMALL)
    c, _ = train_word_vectors(corpus, algorithm=algorithm, bucket=300, random_state=2, **SMALL)
    np.testing.assert_array_equal(a.vectors, b.vectors)
    assert not np.array_equal(a.vectors, c.vectors)
    assert info.corpus_lines == len(TEXTS) and info.vocabulary == len(a.vocab)
    assert (a.subwords is not None) == (algorithm == "fasttext")


def test_trainer_parameters_have_one_table_of_defaults_and_refuse_unknown_names():
    from embeddings.training.trainers import TRAINING_DEFAULTS, train_doc2vec

    corpus = TextCorpus(TEXTS)
    table, info = train_word_vectors(corpus, min_count=1)  # every other parameter defaulted
    assert (table.dim, info.epochs) == (TRAINING_DEFAULTS["vector_size"], 5)
    _, d2v = train_doc2vec(corpus, min_count=1, vector_size=4)
    assert d2v.epochs == 10  # Doc2Vec's own default
    # word2vec accepts fastText's n-gram parameters without reading them; Doc2Vec's
    # learning rate is no parameter of either, and a misspelling is named
    train_word_vectors(corpus, bucket=10, **SMALL)
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['alpha'\]"):
        train_word_vectors(corpus, alpha=0.1, **SMALL)
    with pytest.raises(TypeError, match=r"\['vector_sise'\]; allowed: \['vector_size'"):
        train_doc2vec(corpus, vector_sise=4)


def test_trained_encoder_save_load_and_export(tmp_path):
    from gensim.models import KeyedVectors

    enc = TrainedWordVectorEncoder("fasttext", bucket=300, pooling="sif", **SMALL).fit(TEXTS)
    out = enc.encode(["the cat", "catz dogz"])  # OOV words through subwords
    assert out[1].any()
    enc.save(tmp_path / "ft")
    loaded = embeddings.load(str(tmp_path / "ft"))
    np.testing.assert_array_equal(loaded.encode(["the cat", "catz dogz"]), out)
    assert loaded.fingerprint() == enc.fingerprint()
    enc.save_word2vec_format(tmp_path / "ft.bin", binary=True)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "ft.bin"), binary=True)
    np.testing.assert_array_equal(kv.vectors, enc.get_vectors())


def test_fit_path_streams_from_disk(corpus_dir):
    enc = TrainedWordVectorEncoder(**SMALL).fit(corpus_dir)
    assert "must" not in enc.get_vocabulary()  # raw/ skipped
    assert enc.encode(["the cat"]).shape == (1, 8)
    assert enc.training_info_["corpus_lines"] == 5


def test_min_count_too_high_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="min_count=100"):
        TrainedWordVectorEncoder(vector_size=4, min_count=100).fit(TEXTS[:4])


def test_cli_train_writes_a_loadable_encoder(corpus_dir, tmp_path, capsys):
    from benchmarks.cli import main

    for algo in ("word2vec", "doc2vec"):
        out = tmp_path / f"m-{algo}"
        argv = ["train", algo, "--corpus", str(corpus_dir), "--out", str(out)]
        argv += ["--min-count", "1", "--vector-size", "8", "--epochs", "2", "--no-progress"]
        argv += ["--json", str(tmp_path / f"{algo}.json")]
        assert main(argv) == 0
        assert f"trained {algo} -> {out}" in capsys.readouterr().out  # a readable summary
        summary = json.loads((tmp_path / f"{algo}.json").read_text())
        assert summary["corpus_stats"]["sentences"] == 5 and os.path.isdir(summary["out"])
        assert embeddings.load(str(out)).encode(["the cat"]).shape == (1, 8)
