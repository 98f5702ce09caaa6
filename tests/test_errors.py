"""Every error is a TransferkitError and the matching builtin."""

from __future__ import annotations

import pytest

from embeddings import errors


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (errors.UnknownEncoderError, KeyError),
        (errors.MissingDependencyError, ImportError),
        (errors.InvalidInputError, TypeError),
        (errors.InvalidParameterError, ValueError),
        (errors.NotFittedError, ValueError),
        (errors.NotFittedError, AttributeError),
        (errors.ModelFormatError, ValueError),
        (errors.EncodingError, RuntimeError),
        (errors.DataNotFoundError, FileNotFoundError),
        (errors.ChecksumError, ValueError),
    ],
)
def test_hierarchy(cls: type, builtin: type) -> None:
    assert issubclass(cls, errors.TransferkitError)
    assert issubclass(cls, builtin)


def test_unknown_encoder_message_is_not_quoted() -> None:
    assert str(errors.UnknownEncoderError("no such thing")) == "no such thing"


def test_missing_dependency_names_the_extra() -> None:
    from embeddings._deps import require

    with pytest.raises(errors.MissingDependencyError, match=r"transferkit\[models\]"):
        require("surely_not_installed_pkg_xyz", extra="models")
