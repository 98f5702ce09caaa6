"""Command-line options shared by the ``transferkit`` commands, in one place.

``--dev-size``/``--dev-max``/``--test-max`` (:func:`add_split_options`) and the
training options of ``finetune`` and ``curve`` (:func:`add_training_options`):
``--epochs``, ``--learning-rate``, ``--head-learning-rate`` and ``--random-state``,
the names the Python API uses.  Their old spellings (``--max-epochs``, ``--lr``,
``--head-lr``, ``--seed``) still work and print one deprecation warning.

Example:
    >>> p = argparse.ArgumentParser()
    >>> add_training_options(p, epochs=3)
    >>> p.parse_args(["--learning-rate", "0.01"]).learning_rate
    0.01
"""

from __future__ import annotations

import argparse
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from benchmarks.curves import DEFAULT_DEV_MAX, DEFAULT_TEST_MAX
from embeddings.errors import InvalidParameterError, TransferkitDeprecationWarning

__all__ = [
    "add_split_options",
    "add_training_options",
    "parse_cap",
    "parse_unfreeze",
    "write_json",
]


class _Renamed(argparse.Action):
    """Store the value; warn once when an old spelling of the option was used."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        self.new = option_strings[0]
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None and option_string != self.new:
            warnings.warn(
                f"{option_string} is renamed {self.new}; the old name will be removed in a "
                "future version",
                TransferkitDeprecationWarning,
                stacklevel=2,
            )
        setattr(namespace, self.dest, values)


def add_training_options(
    p: argparse.ArgumentParser, *, epochs: int, random_state_help: str | None = None
) -> None:
    """``--epochs``, ``--learning-rate``, ``--head-learning-rate`` (and, with
    ``random_state_help``, ``--random-state``), each with its old spelling as an alias."""
    p.add_argument(
        "--epochs", "--max-epochs", type=int, default=epochs, action=_Renamed,
        help="fine-tuning epochs at most",
    )  # fmt: skip
    p.add_argument(
        "--learning-rate", "--lr", type=float, default=5e-5, action=_Renamed,
        help="encoder learning rate",
    )  # fmt: skip
    p.add_argument(
        "--head-learning-rate", "--head-lr", type=float, default=1e-3, action=_Renamed,
        help="softmax head learning rate",
    )  # fmt: skip
    if random_state_help is not None:
        p.add_argument(
            "--random-state", "--seed", type=int, default=0, action=_Renamed,
            help=random_state_help,
        )  # fmt: skip


def parse_cap(value: str) -> int | None:
    """``"all"`` (no cap) or an int >= 1: the most dev or test rows to evaluate on.

    Example:
        >>> parse_cap("500"), parse_cap("all")
        (500, None)
    """
    text = str(value).strip().lower()
    if text in ("all", "none"):
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an int >= 1 or 'all', got {value!r}")
    return int(text)


def add_split_options(p: argparse.ArgumentParser) -> None:
    """The dev-split and evaluation-cap options shared by ``curve`` and ``finetune``."""
    p.add_argument(
        "--dev-size", type=int, default=500, help="dev rows carved from train if the task has none"
    )
    p.add_argument(
        "--dev-max",
        type=parse_cap,
        default=DEFAULT_DEV_MAX,
        help="evaluate on at most this many dev rows (stratified); 'all' for the whole split",
    )
    p.add_argument(
        "--test-max",
        type=parse_cap,
        default=DEFAULT_TEST_MAX,
        help="score on at most this many test rows (stratified); 'all' for the whole split",
    )


def parse_unfreeze(value: str) -> int | Literal["all"]:
    """``"all"`` or a non-negative int."""
    if value == "all":
        return "all"
    if not value.isdigit():
        raise InvalidParameterError(f"--unfreeze takes an int >= 0 or 'all', got {value!r}")
    return int(value)


# ------------------------------------------------------------------- output
def write_json(path: Path, payload: dict[str, Any]) -> None:
    from embeddings._atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2) + "\n")
