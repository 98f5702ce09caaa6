"""The shared parameter checks: what passes, what is refused and how the refusal reads."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import embeddings._checks as checks
from embeddings._checks import check_bool, check_int, check_number, check_optional_int
from embeddings.errors import InvalidParameterError


def test_docstring_examples_run() -> None:
    result = doctest.testmod(checks)
    assert result.failed == 0 and result.attempted > 0


def test_ints_pass_as_python_ints() -> None:
    got = check_int("epochs", np.int64(3))
    assert got == 3 and type(got) is int
    assert check_int("n_highway", 0, minimum=0) == 0
    assert check_optional_int("max_length", None) is None
    assert check_optional_int("holdout_every", 2, minimum=2) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "epochs must be an int >= 1, got 0"),
        (True, "epochs must be an int >= 1, got True"),
        (2.0, "epochs must be an int >= 1, got 2.0"),
        ("3", "epochs must be an int >= 1, got '3'"),
        (None, "epochs must be an int >= 1, got None"),
    ],
)
def test_check_int_refuses(value: object, message: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        check_int("epochs", value)
    assert str(info.value) == message


def test_optional_int_names_none_in_its_message() -> None:
    with pytest.raises(InvalidParameterError, match=r"must be None or an int >= 2, got 1$"):
        check_optional_int("holdout_every", 1, minimum=2)


def test_bools() -> None:
    assert check_bool("normalize", np.bool_(False)) is False
    for bad in (1, 0, "true", None):
        with pytest.raises(InvalidParameterError, match="normalize must be True or False"):
            check_bool("normalize", bad)


def test_numbers() -> None:
    assert check_number("learning_rate", np.float32(0.5)) == 0.5
    assert check_number("dropout", 0, lambda v: 0 <= v < 1, "in [0, 1)") == 0.0
    for bad in (0, -1.0, float("nan"), float("inf"), True, "0.1", None):
        with pytest.raises(InvalidParameterError, match="learning_rate must be a finite number"):
            check_number("learning_rate", bad)
    with pytest.raises(InvalidParameterError, match=r"dropout must be a finite number in \[0, 1\)"):
        check_number("dropout", 1.0, lambda v: 0 <= v < 1, "in [0, 1)")


def test_encoders_word_the_same_check_the_same_way() -> None:
    import embeddings

    for name, params in (("elmo-small", {"epochs": 0}), ("quick-thought", {"epochs": 0})):
        enc = embeddings.load(name, **params)
        with pytest.raises(InvalidParameterError, match=r"^epochs must be an int >= 1, got 0$"):
            enc.fit(["a b c"])
