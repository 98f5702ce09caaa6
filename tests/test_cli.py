"""The transferkit CLI: encode (txt/csv/jsonl, progress), models, and every ``--help``."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pytest

import embeddings
from benchmarks.cli import COMMANDS, build_parser, main

TEXTS = ["the cat sat on the mat", "stocks fell", "", "naïve café"]


def encode(model: str, source: Path, output: Path, *extra: str) -> int:
    """``transferkit encode --model MODEL --input SOURCE --output OUTPUT EXTRA...``."""
    return main(
        ["encode", "--model", model, "--input", str(source), "--output", str(output), *extra]
    )


def test_encode_txt(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "bars")  # stderr is captured, not a terminal
    src = tmp_path / "t.txt"
    src.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    assert encode("glove-6b-50d", src, tmp_path / "v.npy") == 0
    got = np.load(tmp_path / "v.npy")
    np.testing.assert_array_equal(got, embeddings.load("glove-6b-50d").encode(TEXTS))
    err = capsys.readouterr().err
    assert "100%" in err and "4 x 50" in err  # the tqdm progress bar and the summary


def test_encode_csv_and_jsonl_with_column(tmp_path) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text('id,body\n1,"the cat, sat"\n2,stocks fell\n', encoding="utf-8")
    column = ("--column", "body", "--no-progress")
    assert encode("glove-6b-50d", csv_path, tmp_path / "c.npy", *column) == 0
    jl = tmp_path / "t.jsonl"
    jl.write_text("\n".join(json.dumps({"body": t}) for t in ["the cat, sat", "stocks fell"]))
    assert encode("glove-6b-50d", jl, tmp_path / "j.npy", *column) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "c.npy"), np.load(tmp_path / "j.npy"))
    assert np.load(tmp_path / "c.npy").shape == (2, 50)


def test_encode_errors_are_one_clear_line(tmp_path, capsys) -> None:
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("id,body\n1,x\n", encoding="utf-8")
    assert encode("glove-6b-50d", csv_path, tmp_path / "o.npy") == 2
    assert "no column 'text'" in capsys.readouterr().err
    assert not (tmp_path / "o.npy").exists()
    assert encode("glov", csv_path, tmp_path / "o.npy", "--column", "body") == 2
    assert "did you mean" in capsys.readouterr().err


def test_encode_saved_fitted_encoder(tmp_path) -> None:
    enc = embeddings.load("tfidf").fit(["a b c", "b c d"])
    enc.save(tmp_path / "tfidf")
    src = tmp_path / "t.txt"
    src.write_text("a b\nd\n")
    assert encode(str(tmp_path / "tfidf"), src, tmp_path / "v.npy", "--no-progress") == 0
    np.testing.assert_array_equal(np.load(tmp_path / "v.npy"), enc.encode(["a b", "d"]))


def test_models_lists_presets(capsys) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "glove-6b-50d" in out and "minilm-l6" in out and "use-multilingual-v3" in out
    assert main(["models", "--json"]) == 0
    names = {i["name"] for i in json.loads(capsys.readouterr().out)}
    assert {"glove-6b-50d", "tfidf", "lsa", "random-glove"} <= names


@pytest.mark.parametrize("command", [m.rsplit(".", 1)[1] for m in COMMANDS])
def test_every_subcommand_has_help(command, capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    assert f"usage: transferkit {command}" in capsys.readouterr().out


def test_help_names_only_options_that_exist() -> None:
    """Every ``--flag`` a command's help mentions is one of that command's options."""
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in commands.choices.items():
        if name == "train":
            continue  # its options are a family's, parsed after the family name
        nested = [command]  # ``cache info``: an action's options count for its command
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                nested += action.choices.values()
        flags = {s for p in nested for action in p._actions for s in action.option_strings}
        named = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", command.format_help()))
        assert named <= flags, (name, sorted(named - flags))


def test_curve_and_finetune_take_the_library_names(capsys) -> None:
    for command in ("curve", "finetune"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = capsys.readouterr().out
        for flag in ("--epochs", "--learning-rate", "--threads", "--unfreeze", "--dev-max"):
            assert flag in text
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    assert "--random-state" in capsys.readouterr().out


def test_unknown_subcommand_exits_nonzero() -> None:
    with pytest.raises(SystemExit):
        main(["no-such-command"])
