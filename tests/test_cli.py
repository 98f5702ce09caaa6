"""The transferkit CLI: encode (txt/csv/jsonl, progress) and models."""

from __future__ import annotations

import json

import numpy as np
import pytest

import embeddings
from benchmarks.cli import main

TEXTS = ["the cat sat on the mat", "stocks fell", "", "naïve café"]


def test_encode_txt(tmp_path, capsys) -> None:
    src = tmp_path / "t.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert (
        main(
            [
                "encode",
                "--model",
                "glove-6b-50d",
                "--input",
                str(src),
                "--output",
                str(tmp_path / "v.npy"),
            ]
        )
        == 0
    )
    got = np.load(tmp_path / "v.npy")
    np.testing.assert_array_equal(got, embeddings.load("glove-6b-50d").encode(TEXTS))
    err = capsys.readouterr().err
    assert "100%" in err and "4 x 50" in err  # the tqdm progress bar and the summary


def test_encode_csv_and_jsonl_with_column(tmp_path) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text('id,body\n1,"the cat, sat"\n2,stocks fell\n', encoding="utf-8")
    assert (
        main(
            [
                "encode",
                "--model",
                "glove-6b-50d",
                "--input",
                str(csv_path),
                "--column",
                "body",
                "--output",
                str(tmp_path / "c.npy"),
                "--no-progress",
            ]
        )
        == 0
    )
    jl = tmp_path / "t.jsonl"
    jl.write_text("\n".join(json.dumps({"body": t}) for t in ["the cat, sat", "stocks fell"]))
    assert (
        main(
            [
                "encode",
                "--model",
                "glove-6b-50d",
                "--input",
                str(jl),
                "--column",
                "body",
                "--output",
                str(tmp_path / "j.npy"),
                "--no-progress",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "j.npy"))
    assert np.load(tmp_path / "c.npy").shape == (2, 50)


def test_encode_errors_are_one_clear_line(tmp_path, capsys) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("id,body\n1,x\n", encoding="utf-8")
    rc = main(
        [
            "encode",
            "--model",
            "glove-6b-50d",
            "--input",
            str(csv_path),
            "--output",
            str(tmp_path / "o.npy"),
        ]
    )
    assert rc == 2
    assert "no column 'text'" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()
    rc = main(
        [
            "encode",
            "--model",
            "glov",
            "--input",
            str(csv_path),
            "--column",
            "body",
            "--output",
            str(tmp_path / "o.npy"),
        ]
    )
    assert rc == 2 and "did you mean" in capsys.readouterr().err


def test_encode_saved_fitted_encoder(tmp_path) -> None:
    enc = embeddings.load("tfidf").fit(["a b c", "b c d"])
    enc.save(tmp_path / "tfidf")
    src = tmp_path / "t.txt"
    src.write_text("a b\nd\n")
    assert (
        main(
            [
                "encode",
                "--model",
                str(tmp_path / "tfidf"),
                "--input",
                str(src),
                "--output",
                str(tmp_path / "v.npy"),
                "--no-progress",
            ]
        )
        == 0
    )
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), enc.encode(["a b", "d"]))


def test_models_lists_presets(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "glove-6b-50d" in out and "minilm-l6" in out and "use-multilingual-v3" in out
    assert main(["models", "--json"]) == 0
    names = {i["name"] for i in json.loads(capsys.readouterr().out)}
    assert {"glove-6b-50d", "tfidf", "lsa", "random-glove"} <= names


def test_unknown_subcommand_exits_nonzero() -> None:
    with pytest.raises(SystemExit):
        main(["no-such-command"])
