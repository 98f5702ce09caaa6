"""Old parameter names (``seed``, ``max_epochs``) still work, warn once, and never mix.

The public names are ``random_state`` and ``epochs``; each old keyword is mapped to
the new one by :func:`embeddings.errors.renamed_parameters`.
"""

from __future__ import annotations

import importlib
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification

from embeddings import errors
from embeddings.errors import InvalidParameterError, TransferkitDeprecationWarning
from evaluators.classification import (
    evaluate_classification_cv,
    evaluate_classification_split,
    evaluate_classification_train_test,
)
from evaluators.clustering import evaluate_clustering
from evaluators.heads import resolve_head, select_by_cv
from evaluators.metrics import check_seed
from evaluators.pairs import evaluate_pairs_split, evaluate_pairs_train_test
from evaluators.similarity import evaluate_relatedness
from tests.evaluators.test_package import MODULES as PACKAGE_MODULES

X, y = make_classification(n_samples=60, n_features=5, n_informative=3, random_state=0)
XB, yB = make_blobs(n_samples=40, centers=3, random_state=0)
_rng = np.random.default_rng(0)
U = _rng.normal(size=(60, 3))
V = U + _rng.normal(scale=0.5, size=(60, 3))
yP = (np.abs(U - V).sum(axis=1) > np.median(np.abs(U - V).sum(axis=1))).astype(int)
yR = np.clip(5 - np.linalg.norm(U - V, axis=1), 1, 5)
_SPEC = resolve_head("logreg", random_state=0)

#: the evaluator modules (the package itself only re-exports their functions)
MODULES = [m for m in PACKAGE_MODULES if m != "evaluators"]
OLD_NAMES = {"seed": "random_state", "max_epochs": "epochs", "progress": "show_progress"}


def _three_splits(labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Train (30), dev (15) and test (15) pairs as ``U, V, labels`` per split."""
    cuts = (slice(0, 30), slice(30, 45), slice(45, 60))
    return tuple(a[c] for c in cuts for a in (U, V, labels))


def _heads_spec(spec: Any) -> tuple[Any, ...]:
    """A comparable view of a HeadSpec (estimators compare by identity)."""
    return spec.name, spec.estimator.get_params(), spec.candidates


# (name, call, new kwargs, old kwargs); the values differ from every default, so a
# dropped alias would change the result.
CASES: list[tuple[str, Callable[..., Any], dict[str, Any], dict[str, Any]]] = [
    (
        "evaluate_classification_cv",
        lambda **kw: evaluate_classification_cv(X, y, n_folds=3, **kw),
        {"random_state": 5},
        {"seed": 5},
    ),
    (
        "evaluate_classification_split",
        lambda **kw: evaluate_classification_split(
            X[:30], y[:30], X[30:45], y[30:45], X[45:], y[45:], **kw
        ),
        {"random_state": 6},
        {"seed": 6},
    ),
    (
        "evaluate_classification_train_test",
        lambda **kw: evaluate_classification_train_test(
            X[:45], y[:45], X[45:], y[45:], n_folds=3, **kw
        ),
        {"random_state": 7},
        {"seed": 7},
    ),
    (
        "evaluate_clustering",
        lambda **kw: evaluate_clustering(XB, yB, n_runs=2, algorithm="kmeans", **kw),
        {"random_state": 3},
        {"seed": 3},
    ),
    (
        "evaluate_pairs_split",
        lambda **kw: evaluate_pairs_split(*_three_splits(yP), **kw),
        {"random_state": 8},
        {"seed": 8},
    ),
    (
        "evaluate_pairs_train_test",
        lambda **kw: evaluate_pairs_train_test(
            U[:45], V[:45], yP[:45], U[45:], V[45:], yP[45:], n_folds=3, **kw
        ),
        {"random_state": 9},
        {"seed": 9},
    ),
    (
        "resolve_head",
        lambda **kw: _heads_spec(resolve_head("mlp", **kw)),
        {"random_state": 4},
        {"seed": 4},
    ),
    (
        "select_by_cv",
        lambda **kw: select_by_cv(_SPEC, X, y, n_folds=3, **kw),
        {"random_state": 2},
        {"seed": 2},
    ),
    ("check_seed", lambda **kw: check_seed(**kw), {"random_state": 12}, {"seed": 12}),
    (
        "evaluate_relatedness",
        lambda **kw: evaluate_relatedness(*_three_splits(yR), epochs_per_check=2, **kw),
        {"random_state": 5, "epochs": 2},
        {"seed": 5, "max_epochs": 2},
    ),
]
IDS = [case[0] for case in CASES]


@pytest.fixture(autouse=True)
def _fresh_warned() -> Iterator[None]:
    """Each test starts as a fresh process would: no old name warned about yet."""
    saved = set(errors._WARNED)
    errors._WARNED.clear()
    yield
    errors._WARNED.clear()
    errors._WARNED.update(saved)


def _call_recording(
    call: Callable[..., Any], kwargs: dict[str, Any]
) -> tuple[Any, list[warnings.WarningMessage]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # count every warning; "once" is the code's job
        result = call(**kwargs)
    return result, [w for w in caught if issubclass(w.category, TransferkitDeprecationWarning)]


@pytest.mark.parametrize(("name", "call", "new", "old"), CASES, ids=IDS)
def test_old_name_gives_same_result_and_warns_once(
    name: str, call: Callable[..., Any], new: dict[str, Any], old: dict[str, Any]
) -> None:
    expected, new_warnings = _call_recording(call, new)
    assert new_warnings == []  # the new names never warn
    first, first_warnings = _call_recording(call, old)
    assert first == expected
    if isinstance(expected, dict) and "seed" in expected:  # the result key keeps its name
        assert expected["seed"] == new["random_state"]
    # one warning per old name, naming the function and both names, at the caller's line
    assert len(first_warnings) == len(old)
    for warning, (old_name, value) in zip(first_warnings, old.items(), strict=True):
        message = str(warning.message)
        new_name = OLD_NAMES[old_name]
        assert new[new_name] == value
        assert f"{name}: {old_name}= is renamed {new_name}=" in message
        assert warning.filename == __file__
    again, again_warnings = _call_recording(call, old)
    assert again == expected
    assert again_warnings == []  # once per function and name per process


@pytest.mark.parametrize(("name", "call", "new", "old"), CASES, ids=IDS)
def test_old_and_new_name_together_raise(
    name: str, call: Callable[..., Any], new: dict[str, Any], old: dict[str, Any]
) -> None:
    for old_name in old:
        both = {**new, old_name: new[OLD_NAMES[old_name]]}
        with pytest.raises(InvalidParameterError, match=f"pass {OLD_NAMES[old_name]}= only"):
            call(**both)
        with pytest.raises(ValueError):  # InvalidParameterError is also a ValueError
            call(**both)


def test_the_old_value_is_used_not_the_default() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TransferkitDeprecationWarning)
        run = evaluate_clustering(XB, yB, n_runs=3, seed=40, algorithm="kmeans")
        assert [r["seed"] for r in run["runs"]] == [40, 41, 42]
        assert resolve_head("mlp", seed=17).estimator.random_state == 17
        short = CASES[-1][1](seed=0, max_epochs=0)
        with pytest.raises(InvalidParameterError, match="random_state must be an int"):
            check_seed(seed=-1)
        with pytest.raises(InvalidParameterError, match="epochs must be an int >= 0"):
            CASES[-1][1](max_epochs=-1)
    assert short["n_epochs"] == 2  # one chunk of epochs_per_check=2, not 1000 epochs


def test_public_signatures_use_only_the_new_names() -> None:
    takers: dict[str, set[str]] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for public in module.__all__:
            obj = getattr(module, public)
            if not inspect.isfunction(obj):
                continue
            for param in inspect.signature(obj).parameters:
                assert param not in OLD_NAMES, f"{module_name}.{public} takes {param}="
                takers.setdefault(param, set()).add(public)
    renamed = set(IDS)
    # every function of CASES, plus one added after the rename that never had seed=
    assert takers["random_state"] == renamed | {"fit_logreg_selected"}
    assert takers["epochs"] == {"evaluate_relatedness"}
