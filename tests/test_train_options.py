"""The options of ``transferkit train FAMILY``, derived from the family's constructor."""

from __future__ import annotations

import warnings

import pytest

from benchmarks.cli import main
from benchmarks.commands._options import (
    describe_family,
    family_defaults,
    options_spec,
    warn_renamed_flags,
)
from embeddings import errors
from embeddings.errors import InvalidParameterError, TransferkitDeprecationWarning
from embeddings.training.families import TRAINABLE, get_trainable, register_trainable


def _renamed_warnings(argv: list[str]) -> list[str]:
    spec = options_spec(get_trainable("word2vec"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_renamed_flags(spec, argv)
    return [str(w.message) for w in caught if issubclass(w.category, TransferkitDeprecationWarning)]


def test_every_flag_spells_the_library_parameter():
    for family in ("word2vec", "doc2vec", "quick-thought"):
        for option in options_spec(get_trainable(family)):
            assert option.flag == "--" + option.param.replace("_", "-")
    w2v = {o.param: o for o in options_spec(get_trainable("word2vec"))}
    assert w2v["random_state"].aliases == ("--seed",)
    assert w2v["threads"].aliases == ("--workers",)  # from the encoder's renamed_params


def test_old_spellings_warn_once_per_process():
    errors._WARNED.clear()
    first = _renamed_warnings(["--seed", "3", "--workers=2", "--random-state", "4"])
    assert first == [
        "--seed is renamed --random-state; the old name will be removed in a future version",
        "--workers is renamed --threads; the old name will be removed in a future version",
    ]
    assert _renamed_warnings(["--seed", "3"]) == []  # once
    errors._WARNED.clear()
    assert len(_renamed_warnings(["--seed", "3"])) == 1


def test_the_train_command_accepts_seed_with_a_warning(tmp_path, capsys):
    errors._WARNED.clear()
    (tmp_path / "c.txt").write_text("the cat sat\n\nthe dog ran\n", encoding="utf-8")
    argv = ["train", "word2vec", "--corpus", str(tmp_path / "c.txt"), "--out", str(tmp_path / "o")]
    # an invalid vector size stops the run after the options are parsed
    assert main([*argv, "--seed", "3", "--vector-size", "0", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--seed is renamed --random-state" in err and "vector_size must be" in err


def test_family_data_builds_without_the_command_line():
    w2v = get_trainable("word2vec")
    encoder = w2v.build({"vector_size": 8})
    assert encoder.get_params()["vector_size"] == 8 and encoder.name == "word2vec-corpus"
    with pytest.raises(InvalidParameterError, match="does not take"):
        w2v.build({"hidden_size": 3})
    with pytest.raises(InvalidParameterError, match="fixes"):
        w2v.build({"algorithm": "fasttext"})
    assert family_defaults(w2v)["vector_size"] == options_spec(w2v)[1].default
    described = describe_family(w2v)
    assert described["data_option"] == "--corpus" and described["fixed"] == {
        "algorithm": "word2vec"
    }


def test_a_shortcut_must_be_an_option_name():
    target = "embeddings.adapters.quick_thought:QuickThoughtEncoder"
    with pytest.raises(InvalidParameterError, match="lowercase option names"):
        register_trainable("bad", target, "x", shortcuts={"No Way": {"epochs": 1}})
    assert "bad" not in TRAINABLE
