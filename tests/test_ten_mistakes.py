"""The ten first mistakes of a new user: each ends in one clear line that names the fix,
never a traceback (Python: a transferkit error with a one-line message; CLI: one
``transferkit COMMAND: error: ...`` line and exit code 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks.cli import main
from embeddings.errors import TransferkitError
from embeddings.sklearn import EmbeddingTransformer


def _one_line(err: TransferkitError, *fragments: str) -> None:
    message = str(err)
    assert "\n" not in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def _cli_one_line(capsys, argv: list[str], *fragments: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert err.startswith(f"transferkit {argv[0]}: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_python_mistakes_are_one_line_naming_the_fix(tmp_path: Path) -> None:
    with pytest.raises(embeddings.UnknownEncoderError) as info:  # 1. a wrong preset
        embeddings.load("glove-6b-5d")
    _one_line(info.value, "did you mean 'glove-6b-50d'")
    with pytest.raises(embeddings.InvalidInputError) as info:  # 2. a string to sklearn
        EmbeddingTransformer("glove-6b-50d").fit_transform("hello world")
    _one_line(info.value, "wrap it in a list")
    with pytest.raises(embeddings.NotFittedError) as info:  # 3. an unfitted tfidf
        embeddings.load("tfidf").encode(["a b"])
    _one_line(info.value, ".fit(train_texts)")
    glove = embeddings.load("glove-6b-50d")
    assert glove.encode([]).shape == (0, 50)  # 9. an empty list: (0, dim), as documented
    with pytest.raises(embeddings.InvalidInputError) as info:  # 10. a 2-D array
        glove.encode(np.array([["a", "b"], ["c", "d"]]))
    _one_line(info.value, "one-dimensional", "(2, 2)")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(embeddings.ModelFormatError) as info:  # 8. a folder that is no model
        embeddings.load(str(tmp_path))
    _one_line(info.value, "not a model", "encoder.save(folder)")


def test_a_gpu_on_a_cpu_machine_is_one_line(capsys, tmp_path: Path) -> None:  # 7.
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(embeddings.InvalidParameterError) as info:
        embeddings.load("minilm-l6", device="cuda")
    _one_line(info.value, "this machine has ['cpu']")
    texts = tmp_path / "t.txt"
    texts.write_text("hello\n")
    _cli_one_line(
        capsys,
        ["encode", "--model", "minilm-l6", "--device", "cuda", "--input", str(texts),
         "--output", str(tmp_path / "v.npy")],
        "cpu",
    )  # fmt: skip


def test_cli_mistakes_are_one_line_naming_the_fix(capsys, tmp_path: Path, monkeypatch) -> None:
    own = tmp_path / "reviews.tsv"
    own.write_text("sentence\tlabel\nhello\tpos\nbye\tneg\n")
    out = str(tmp_path / "out")
    # 4. a missing data folder
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "no-data"))
    _cli_one_line(capsys, ["bench", "--encoders", "glove-6b-50d", "--out", out], "does not exist")
    monkeypatch.delenv("TRANSFERKIT_DATA")
    # 5. a wrong column
    _cli_one_line(
        capsys,
        ["bench", "--task-file", str(own), "--text-column", "text", "--encoders",
         "glove-6b-50d", "--out", out],
        "no column 'text'", "'sentence'",
    )  # fmt: skip
    # 6. an --encoders typo fails once, before any task runs
    _cli_one_line(
        capsys,
        ["bench", "--suite", "quick", "--encoders", "glove-6b-50", "--out", out],
        "did you mean 'glove-6b-50d'",
    )
    assert not Path(out).exists() or not any(Path(out).rglob("*.json"))
    # 8. a folder that is no model, given to encode
    (tmp_path / "folder").mkdir()
    _cli_one_line(
        capsys,
        ["encode", "--model", str(tmp_path / "folder"), "--input", str(own), "--column",
         "sentence", "--output", str(tmp_path / "v.npy")],
        "not a model",
    )  # fmt: skip
