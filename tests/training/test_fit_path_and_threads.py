"""``fit(path)`` with ``fit_corpus`` as its old name, ``threads`` for gensim's workers,
corpus read/write errors, and per-epoch progress lines of piped gensim training."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import embeddings
from embeddings import errors
from embeddings.adapters.doc2vec import Doc2VecEncoder
from embeddings.adapters.word_vectors import TrainedWordVectorEncoder
from embeddings.base import BaseEncoder
from embeddings.errors import (
    DataNotFoundError,
    InvalidInputError,
    InvalidParameterError,
    TransferkitDeprecationWarning,
)
from embeddings.training.corpus import TextCorpus, ordered_token_ids
from embeddings.training.trainers import train_doc2vec, train_word_vectors

LINES = [
    "the cat sat on the mat",
    "the dog sat on the log",
    "cats and dogs play in the garden",
    "the market fell and investors sold shares",
] * 5
SMALL = {"vector_size": 8, "min_count": 1, "epochs": 2}


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the once-per-process deprecation warnings again."""
    monkeypatch.setattr(errors, "_WARNED", set())
    import embeddings._corpus_fit as corpus_fit

    monkeypatch.setattr(corpus_fit, "_WARNED", errors._WARNED)


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


class _Frozen(BaseEncoder):
    def _output_dim(self) -> int:
        return 1

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 1))


# ------------------------------------------------------------------ fit(path)
@pytest.mark.parametrize("klass", [TrainedWordVectorEncoder, Doc2VecEncoder])
def test_fit_takes_a_corpus_path_and_trains_as_on_its_lines(klass, corpus_file) -> None:
    from_path = klass(**SMALL).fit(corpus_file)
    from_str = klass(**SMALL).fit(str(corpus_file))
    from_texts = klass(**SMALL).fit(LINES)  # the same lines as a list: the same training
    probe = ["the cat sat", "stocks fell"]
    np.testing.assert_array_equal(from_path.encode(probe), from_texts.encode(probe))
    np.testing.assert_array_equal(from_str.encode(probe), from_texts.encode(probe))
    assert from_path.is_fitted and from_path.training_info_["corpus_lines"] == len(LINES)


def test_fit_corpus_is_a_deprecated_alias_that_warns_once_per_class(corpus_file) -> None:
    ref = TrainedWordVectorEncoder(**SMALL).fit(corpus_file).encode(["the cat"])
    with pytest.warns(TransferkitDeprecationWarning, match=r"fit_corpus is renamed fit"):
        old = TrainedWordVectorEncoder(**SMALL).fit_corpus(corpus_file, progress=False)
    np.testing.assert_array_equal(old.encode(["the cat"]), ref)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second call of the same class is silent
        TrainedWordVectorEncoder(**SMALL).fit_corpus(LINES[:4])
    with pytest.warns(TransferkitDeprecationWarning, match=r"Doc2VecEncoder.fit_corpus"):
        Doc2VecEncoder(**SMALL).fit_corpus(corpus_file)
    with pytest.warns(TransferkitDeprecationWarning, match=r"_Frozen.fit_corpus"):
        assert _Frozen().fit_corpus(["a text"]).is_fitted  # delegates to fit(texts)


def test_fit_path_options_and_refusals(corpus_file) -> None:
    enc = TrainedWordVectorEncoder(**SMALL, pooling="sif")
    enc.fit(corpus_file, max_pooling_texts=3)
    assert enc.encode(["the cat"]).shape == (1, 8)
    with pytest.raises(InvalidParameterError, match=r"max_pooling_texts.*corpus path"):
        TrainedWordVectorEncoder(**SMALL).fit(LINES, max_pooling_texts=3)
    with pytest.raises(InvalidParameterError, match=r"unknown option\(s\) \['max_pooling_texts'\]"):
        Doc2VecEncoder(**SMALL).fit(corpus_file, max_pooling_texts=3)
    with pytest.raises(InvalidParameterError, match=r"allowed: \['max_pooling_texts'\]"):
        TrainedWordVectorEncoder(**SMALL).fit(corpus_file, max_pooling=3)
    with pytest.raises(InvalidInputError, match=r"takes a list of texts.*pass \[text\]"):
        _Frozen().fit("one text")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        Doc2VecEncoder(**SMALL).fit(corpus_file.parent / "missing.txt")


# ------------------------------------------------------------------- threads
@pytest.mark.parametrize("klass", [TrainedWordVectorEncoder, Doc2VecEncoder])
def test_workers_is_the_old_name_of_threads(klass, tmp_path: Path) -> None:
    with pytest.warns(TransferkitDeprecationWarning, match="workers= is renamed threads="):
        enc = klass(workers=2, **SMALL)
    assert enc.get_params()["threads"] == 2 and "workers" not in enc.get_params()
    with pytest.raises(InvalidParameterError, match="pass threads= only"):
        klass(workers=1, threads=1)
    # a folder saved under the old name loads, its value under the new one
    enc = klass(threads=1, **SMALL).fit(LINES)
    enc.save(tmp_path / "m")
    config_path = tmp_path / "m" / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["params"]["workers"] = config["params"].pop("threads")
    config_path.write_text(json.dumps(config), encoding="utf-8")
    loaded = embeddings.load(tmp_path / "m")
    assert loaded.threads == 1
    np.testing.assert_array_equal(loaded.encode(["the cat"]), enc.encode(["the cat"]))


def test_trainers_take_threads_and_workers_as_its_old_name() -> None:
    corpus = TextCorpus(LINES)
    new, _ = train_word_vectors(corpus, threads=1, **SMALL)
    with pytest.warns(TransferkitDeprecationWarning, match="workers= is renamed threads="):
        old, _ = train_word_vectors(corpus, workers=1, **SMALL)
    np.testing.assert_array_equal(new.vectors, old.vectors)
    with pytest.raises(InvalidParameterError, match=r"threads must be an int from 1 to 64"):
        train_doc2vec(corpus, threads=65, **SMALL)


# -------------------------------------------------------------- corpus errors
def test_a_corpus_file_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    for name in ("a.txt", "b.txt"):
        (tmp_path / "c" / name).write_text("a b c\n", encoding="utf-8")
    corpus = TextCorpus(tmp_path / "c")
    (tmp_path / "c" / "b.txt").unlink()  # gone between listing and reading
    with pytest.raises(DataNotFoundError, match=r"cannot read corpus file .*b\.txt") as info:
        list(corpus)
    assert isinstance(info.value.__cause__, OSError)


def test_a_workdir_that_cannot_be_written_is_a_transferkit_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=r"cannot write .* to .*not-a-folder"):
        ordered_token_ids(
            ["a b", "b c"], lowercase=True, min_count=1, max_vocab=None, max_length=8,
            workdir=blocker,
        )  # fmt: skip


# ------------------------------------------------------------------ progress
@pytest.mark.parametrize("algorithm", ["word2vec", "fasttext"])
def test_piped_gensim_training_prints_one_line_per_epoch(
    algorithm: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "lines")
    corpus = TextCorpus(LINES)
    train_word_vectors(corpus, algorithm=algorithm, bucket=64, show_progress=True, **{
        **SMALL, "epochs": 3})  # fmt: skip
    lines = capsys.readouterr().err.splitlines()
    epochs = [line for line in lines if f"train {algorithm}: epoch " in line]
    assert [line.split(" in ")[0] for line in epochs] == [
        f"train {algorithm}: epoch {e}/3" for e in (1, 2, 3)
    ]
    assert all("words/s" in line and "texts/s" in line for line in epochs)
    assert lines[0].startswith(f"train {algorithm}: vocabulary of ")  # the first pass
    assert f"words from {len(LINES)} texts" in lines[0]
    assert lines[-1].startswith(f"train {algorithm}: 3 epochs in ") and "words/s" in lines[-1]
    assert "epochs/s" not in "\n".join(lines)


def test_piped_doc2vec_training_prints_lines_and_off_prints_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "lines")
    Doc2VecEncoder(**SMALL).fit(LINES)  # fit(texts) shows nothing
    assert capsys.readouterr().err == ""
    train_doc2vec(TextCorpus(LINES), show_progress=True, **SMALL)
    err = capsys.readouterr().err
    assert "train doc2vec-dbow: epoch 2/2 in " in err and "2 epochs in " in err
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "off")
    train_doc2vec(TextCorpus(LINES), show_progress=True, **SMALL)
    assert capsys.readouterr().err == ""


def test_the_train_command_prints_epoch_lines_when_piped(
    tmp_path: Path,
    corpus_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks.cli import main

    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "auto")  # captured stderr is not a terminal
    argv = ["train", "word2vec", "--corpus", str(corpus_file), "--out", str(tmp_path / "w")]
    assert main([*argv, "--min-count", "1", "--vector-size", "8", "--epochs", "2"]) == 0
    err = capsys.readouterr().err
    assert "train word2vec: epoch 1/2 in " in err and "train word2vec: epoch 2/2 in " in err


def test_fit_corpus_of_a_torch_family_warns_and_trains_as_fit_path(corpus_file) -> None:
    from embeddings.adapters.quick_thought import QuickThoughtEncoder

    tiny = {"hidden_size": 4, "embedding_dim": 4, "epochs": 1, "batch_size": 8, "min_count": 1}
    tiny["init_vectors"] = None
    assert QuickThoughtEncoder.trains_on_corpus
    ref = QuickThoughtEncoder(**tiny).fit(corpus_file)
    with pytest.warns(TransferkitDeprecationWarning, match=r"QuickThoughtEncoder.fit_corpus"):
        old = QuickThoughtEncoder(**tiny).fit_corpus(corpus_file, show_progress=False)
    np.testing.assert_array_equal(old.encode(LINES[:3]), ref.encode(LINES[:3]))
