"""Fine-tuning's public face after the split into modules: names, keywords, objectives."""

from __future__ import annotations

import inspect

import pytest

from embeddings import errors
from embeddings.errors import InvalidInputError, InvalidParameterError


def test_the_old_import_path_keeps_its_public_names():
    import embeddings.training.finetune as finetune
    from embeddings.training import finetune_data, finetune_objectives

    for name in finetune.__all__:
        assert getattr(finetune, name) is not None
    assert finetune.stratified_subsample is finetune_data.stratified_subsample
    assert finetune.EpochRecord is finetune_objectives.EpochRecord
    assert finetune.fine_tune.__module__ == "embeddings.training.finetune"
    assert finetune.FineTunedEncoder.__module__ == "embeddings.training.finetune"


def test_fine_tune_lists_every_keyword_in_its_signature():
    from embeddings.training.finetune import FineTunedEncoder, fine_tune

    params = inspect.signature(fine_tune).parameters
    encoder = [n for n in inspect.signature(FineTunedEncoder).parameters if n != "base"]
    assert list(params)[:3] == ["encoder", "texts", "labels"]
    assert list(params)[3 : 3 + len(encoder)] == encoder
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in list(params)[3:])
    assert all(p.kind is not inspect.Parameter.VAR_KEYWORD for p in params.values())


def test_fine_tune_refuses_an_unknown_keyword_with_the_allowed_ones():
    from embeddings.training.finetune import fine_tune

    with pytest.raises(InvalidParameterError, match=r"unknown keyword\(s\) \['epoch'\].*'epochs'"):
        fine_tune("minilm-l6", ["a", "b"], [0, 1], epoch=3)


def test_fine_tune_still_takes_the_old_names_with_a_warning():
    from embeddings.training.finetune import fine_tune

    errors._WARNED.clear()
    with (
        pytest.warns(errors.TransferkitDeprecationWarning, match="lr= is renamed learning_rate="),
        pytest.raises(InvalidInputError),  # the texts are checked after the parameters
    ):
        fine_tune("minilm-l6", "not a list", [0, 1], lr=1e-3)


def test_objectives_are_chosen_in_one_registry():
    from embeddings.training.finetune_objectives import (
        OBJECTIVES,
        ClassificationObjective,
        ContrastiveObjective,
        make_objective,
    )

    assert OBJECTIVES == {
        "classification": ClassificationObjective,
        "contrastive": ContrastiveObjective,
    }
    with pytest.raises(InvalidParameterError, match="objective must be one of"):
        make_objective("contrastive-typo", None)
