"""Renamed parameters of the evaluators (``seed`` -> ``random_state``, ``max_epochs`` ->
``epochs``): both names at once, bad values through the old name, warnings once per call
chain, pickling of the wrapped functions, near-miss names and bounded epochs."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from tests.security.probes import Ctx, Variant, check


def setup(shared: object) -> None:
    """Import the evaluators and scikit-learn before the caps."""
    import sklearn.datasets  # noqa: F401

    import evaluators  # noqa: F401
    from evaluators import heads, metrics  # noqa: F401


def _data() -> dict[str, Any]:
    from sklearn.datasets import make_blobs, make_classification

    x, y = make_classification(n_samples=60, n_features=5, random_state=0)
    xb, yb = make_blobs(n_samples=40, centers=3, random_state=0)
    return {"X": x, "y": y, "XB": xb, "yB": yb}


def _run(call: Callable[[dict[str, Any]], Any]) -> tuple[Any, list[warnings.WarningMessage]]:
    from embeddings import errors

    errors._WARNED.clear()
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = call(_data())
    return out, seen


def raises(label: str, call: Callable[[dict[str, Any]], Any], match: str) -> Variant:
    """The call must end in a transferkit error whose message holds ``match``."""

    def run(ctx: Ctx) -> None:
        from embeddings.errors import TransferkitError

        try:
            _run(call)
        except TransferkitError as err:
            check(match in str(err), f"the message lacks {match!r}: {err}")
            return
        check(False, "returned without an error")

    return Variant(label, run, expect="ok")


def deprecations(seen: list[warnings.WarningMessage]) -> int:
    """How many transferkit deprecation warnings were recorded."""
    from embeddings.errors import TransferkitDeprecationWarning

    return sum(issubclass(w.category, TransferkitDeprecationWarning) for w in seen)


def gives(label: str, call: Callable[[dict[str, Any]], Any],
          ok: Callable[[Any, list[warnings.WarningMessage]], bool]) -> Variant:  # fmt: skip
    """The call must return an output for which ``ok(output, warnings)`` holds."""

    def run(ctx: Ctx) -> None:
        out, seen = _run(call)
        check(ok(out, seen), f"wrong output or warnings: {str(out)[:200]}, {len(seen)} warnings")

    return Variant(label, run, expect="ok")


def _clusters(d: dict[str, Any], **kw: Any) -> Any:
    import evaluators

    return evaluators.evaluate_clustering(d["XB"], d["yB"], n_runs=2, **kw)


def _seed(value: Any) -> Callable[[dict[str, Any]], Any]:
    def call(d: dict[str, Any]) -> Any:
        from evaluators.metrics import check_seed

        return check_seed(seed=value)  # type: ignore[call-arg]

    return call


def _cv(d: dict[str, Any], **kw: Any) -> Any:
    import evaluators

    return evaluators.evaluate_classification_cv(d["X"], d["y"], n_folds=3, **kw)


def _same_cv_with_one_warning(out: Any, seen: list[warnings.WarningMessage]) -> bool:
    import evaluators

    want = evaluators.evaluate_classification_cv(*_data_xy(), n_folds=3, random_state=5)
    return bool(out == want and deprecations(seen) == 1)


def _data_xy() -> tuple[Any, Any]:
    d = _data()
    return d["X"], d["y"]


def _pairs_split(d: dict[str, Any]) -> Any:
    import evaluators

    x, y = d["X"], d["y"]
    return evaluators.evaluate_pairs_split(  # type: ignore[call-arg]
        x[:30, :3], x[:30, 2:], y[:30], x[30:45, :3], x[30:45, 2:], y[30:45],
        x[45:, :3], x[45:, 2:], y[45:], seed=3,
    )  # fmt: skip


def _pairs_train_test(d: dict[str, Any]) -> Any:
    import evaluators

    x, y = d["X"], d["y"]
    return evaluators.evaluate_pairs_train_test(  # type: ignore[call-arg]
        x[:45, :3], x[:45, 2:], y[:45], x[45:, :3], x[45:, 2:], y[45:], n_folds=3, seed=3
    )


def _relatedness(d: dict[str, Any]) -> Any:
    import evaluators

    x = d["X"]
    s30, s15 = np.linspace(1, 5, 30), np.linspace(1, 5, 15)
    return evaluators.evaluate_relatedness(  # type: ignore[call-arg]
        x[:30, :2], x[:30, 2:4], s30, x[30:45, :2], x[30:45, 2:4], s15, x[45:, :2],
        x[45:, 2:4], s15, epochs_per_check=1, patience=2, max_epochs=10**12, seed=0,
    )  # fmt: skip


def _warnings_as_errors(ctx: Ctx) -> None:
    from embeddings import errors
    from embeddings.errors import TransferkitDeprecationWarning
    from evaluators.metrics import check_seed

    errors._WARNED.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TransferkitDeprecationWarning)
        try:
            check_seed(seed=1)  # type: ignore[call-arg]
        except TransferkitDeprecationWarning:
            return
    check(False, "no warning was raised as an error")


def _pickled(name: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import evaluators
        from evaluators.heads import resolve_head
        from evaluators.metrics import check_seed

        extra = {"check_seed": check_seed, "resolve_head": resolve_head}
        fn = extra.get(name) or getattr(evaluators, name)
        check(pickle.loads(pickle.dumps(fn)) is fn, "unpickled to a different object")

    return Variant(name, run, expect="ok")


def _misspelled(key: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import evaluators

        d = _data()
        try:
            evaluators.evaluate_clustering(d["XB"], d["yB"], **{key: 1})  # type: ignore[arg-type]
        except TypeError as err:
            check("unexpected keyword" in str(err), f"a TypeError without the name: {err}")
            return
        check(False, f"{key}= was accepted")

    return Variant(key, run, expect="ok")


def _both(fn: str, **kw: Any) -> Variant:
    def call(d: dict[str, Any]) -> Any:
        import evaluators
        from evaluators.heads import resolve_head
        from evaluators.metrics import check_seed

        found = {"check_seed": check_seed, "resolve_head": resolve_head}.get(fn)
        return (found or getattr(evaluators, fn))(**kw)  # type: ignore[operator]

    return raises(fn, call, "only")


PROBES = [
    ("both old and new name", [
        _both("check_seed", seed=1, random_state=1),
        _both("resolve_head", seed=1, random_state=2),
        _both("evaluate_clustering", seed=1, random_state=1),
        _both("evaluate_relatedness", max_epochs=1, epochs=1),
    ]),
    ("bad values through the old name", [
        raises(repr(v), _seed(v), "random_state must be an int")
        for v in (None, "5", -1, 2**32, 1.5, True, float("nan"), [1])
    ]),
    ("numpy int through the old name", [
        gives("np.int64", _seed(np.int64(5)), lambda o, w: o == 5 and type(o) is int),
        gives("np.uint32 max", _seed(np.uint32(2**32 - 1)), lambda o, w: o == 2**32 - 1),
    ]),
    ("old name + n_jobs=2 (joblib workers)", [
        gives("cv n_jobs=2", lambda d: _cv(d, seed=5, n_jobs=2), _same_cv_with_one_warning),
    ]),
    ("nested calls warn once (pairs -> classification)", [
        gives("pairs_split", _pairs_split, lambda o, w: deprecations(w) == 1),
        gives("pairs_train_test", _pairs_train_test, lambda o, w: deprecations(w) == 1),
    ]),
    ("warnings as errors", [Variant("simplefilter error", _warnings_as_errors, expect="ok")]),
    ("seed overflow over runs (clustering)", [
        raises("2**32-1, n_runs=2", lambda d: _clusters(d, seed=2**32 - 1), "last run's seed"),
        gives("2**32-2, n_runs=2", lambda d: _clusters(d, seed=2**32 - 2, algorithm="kmeans"),
              lambda o, w: [r["seed"] for r in o["runs"]] == [2**32 - 2, 2**32 - 1]),
    ]),
    ("decorated functions pickle by reference", [
        _pickled(n) for n in ("evaluate_classification_cv", "evaluate_relatedness",
                              "check_seed", "resolve_head")
    ]),
    ("misspelled / unrelated old names", [
        _misspelled(k) for k in ("random_seed", "progress", "show_progress", "Seed")
    ]),
    ("huge max_epochs via old name is still bounded by patience", [
        gives("max_epochs=10**12", _relatedness, lambda o, w: o["n_epochs"] < 1000),
    ]),
]  # fmt: skip
