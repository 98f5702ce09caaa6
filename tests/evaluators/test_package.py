"""The package stays light to import, and its docstring examples run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import evaluators

MODULES = [
    "evaluators",
    "evaluators.metrics",
    "evaluators.heads",
    "evaluators.classification",
    "evaluators.pairs",
    "evaluators.similarity",
    "evaluators.clustering",
]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    )
    return out.stdout.strip()


def test_import_is_light() -> None:
    loaded = _run(
        "import sys, evaluators; "
        "print(sorted(m for m in ('sklearn', 'scipy', 'torch') if m in sys.modules))"
    )
    assert loaded == "[]"
    # every evaluator module may use scikit-learn and scipy, but never torch at import
    loaded = _run(
        "import sys; "
        + "; ".join(f"import {m}" for m in MODULES)
        + "; print('torch' in sys.modules)"
    )
    assert loaded == "False"


def test_lazy_exports_resolve() -> None:
    for name in evaluators.__all__:
        assert callable(getattr(evaluators, name)) or isinstance(getattr(evaluators, name), type)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        evaluators.nope  # noqa: B018


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module: str) -> None:
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module} has no Example"
    assert result.failed == 0
