"""Classification protocols against direct scikit-learn computations."""

from __future__ import annotations

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from embeddings.errors import InvalidInputError, InvalidParameterError
from evaluators.classification import (
    evaluate_classification_cv,
    evaluate_classification_split,
    evaluate_classification_train_test,
)
from evaluators.heads import (
    LOGREG_C_GRID,
    LOGREG_C_GRID_KFOLD,
    MLP_ALPHA_GRID,
    _senteval_pick,
    resolve_head,
)

SENTEVAL_GRID = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]  # 2**t, t in range(-2, 4)
SENTEVAL_KFOLD_GRID = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]  # 2**t, t in range(-1, 6)


def _pick(scores: list[float]) -> int:
    """SentEval: round(100 * mean, 2), then the first argmax."""
    rounded = [round(100 * s, 2) for s in scores]
    return rounded.index(max(rounded))


def _inner_select(X, y, grid, n_folds, seed):
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    means = []
    for C in grid:
        accs = []
        for tr, te in skf.split(X, y):
            clf = LogisticRegression(C=C, random_state=seed).fit(X[tr], y[tr])
            accs.append(clf.score(X[te], y[te]))
        means.append(np.mean(accs))
    best = _pick(means)
    return grid[best], means[best]


def test_grids_are_sentevals() -> None:
    assert list(LOGREG_C_GRID) == SENTEVAL_GRID
    assert list(LOGREG_C_GRID_KFOLD) == SENTEVAL_KFOLD_GRID
    assert list(MLP_ALPHA_GRID) == [1e-5, 1e-4, 1e-3, 1e-2]


def test_cv_matches_direct_sklearn(binary_data) -> None:
    X, y = binary_data
    seed, k = 7, 4
    result = evaluate_classification_cv(X, y, n_folds=k, random_state=seed)

    outer = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    accs, cs, devs, f1s = [], [], [], []
    for tr, te in outer.split(X, y):
        C, dev = _inner_select(X[tr], y[tr], SENTEVAL_GRID, k, seed)
        clf = LogisticRegression(C=C, random_state=seed).fit(X[tr], y[tr])
        pred = clf.predict(X[te])
        accs.append(accuracy_score(y[te], pred))
        f1s.append(f1_score(y[te], pred))
        cs.append(C)
        devs.append(dev)

    # scores are points: the direct scikit-learn fractions x100
    assert result["fold_accuracies"] == [100 * a for a in accs]
    assert result["accuracy"] == pytest.approx(100 * float(np.mean(accs)), abs=1e-10)
    assert result["main_score"] == result["accuracy"]
    assert result["accuracy_std"] == pytest.approx(100 * float(np.std(accs)), abs=1e-10)
    assert result["C"] == cs
    assert result["params"] == [{"C": c} for c in cs]
    assert result["dev_accuracy"] == pytest.approx(100 * float(np.mean(devs)), abs=1e-10)
    assert result["f1"] == pytest.approx(100 * float(np.mean(f1s)), abs=1e-10)
    assert result["f1_average"] == "binary"
    assert (result["n_samples"], result["n_folds"], result["n_classes"]) == (160, k, 2)
    assert result["seed"] == seed and result["head"] == "logreg"


def test_split_matches_direct_sklearn(multiclass_data) -> None:
    X, y = multiclass_data
    Xtr, ytr, Xdv, ydv, Xte, yte = X[:80], y[:80], X[80:110], y[80:110], X[110:], y[110:]
    result = evaluate_classification_split(Xtr, ytr, Xdv, ydv, Xte, yte, random_state=3)

    dev = [
        LogisticRegression(C=C, random_state=3).fit(Xtr, ytr).score(Xdv, ydv) for C in SENTEVAL_GRID
    ]
    best = _pick(dev)
    clf = LogisticRegression(C=SENTEVAL_GRID[best], random_state=3).fit(Xtr, ytr)
    pred = clf.predict(Xte)
    assert result["C"] == SENTEVAL_GRID[best]
    assert result["dev_accuracy"] == 100 * dev[best]
    assert result["accuracy"] == 100 * accuracy_score(yte, pred)
    assert result["f1"] == 100 * f1_score(yte, pred, average="macro")
    assert result["f1_average"] == "macro"
    assert (result["n_train"], result["n_dev"], result["n_test"]) == (80, 30, 40)
    assert result["selection"] == "dev" and result["n_folds"] is None


def test_train_test_matches_direct_sklearn(binary_data) -> None:
    X, y = binary_data
    Xtr, ytr, Xte, yte = X[:120], y[:120], X[120:], y[120:]
    result = evaluate_classification_train_test(Xtr, ytr, Xte, yte, n_folds=5, random_state=11)
    C, dev = _inner_select(Xtr, ytr, SENTEVAL_KFOLD_GRID, 5, 11)
    pred = LogisticRegression(C=C, random_state=11).fit(Xtr, ytr).predict(Xte)
    assert result["C"] == C
    assert result["dev_accuracy"] == pytest.approx(100 * dev, abs=1e-10)
    assert result["accuracy"] == 100 * accuracy_score(yte, pred)
    assert result["f1"] == 100 * f1_score(yte, pred)
    assert result["selection"] == "cv" and result["n_folds"] == 5 and result["n_dev"] == 0


def test_senteval_rounding_breaks_ties_towards_first() -> None:
    # 80.001% and 80.004% both round to 80.0: the first candidate wins.
    assert _senteval_pick([0.80001, 0.80004]) == 0
    assert _senteval_pick([0.80001, 0.80006]) == 1  # 80.01 > 80.0
    assert _senteval_pick([0.5, 0.9, 0.9]) == 1


def test_selection_never_sees_test_labels(binary_data) -> None:
    X, y = binary_data
    args = (X[:80], y[:80], X[80:120], y[80:120], X[120:])
    a = evaluate_classification_split(*args, y[120:], random_state=0)
    b = evaluate_classification_split(*args, 1 - y[120:], random_state=0)
    assert a["C"] == b["C"] and a["dev_accuracy"] == b["dev_accuracy"]
    assert a["accuracy"] == pytest.approx(100 - b["accuracy"])


def test_user_estimator_is_cloned_not_mutated(binary_data) -> None:
    X, y = binary_data
    user = LogisticRegression(C=3.0, max_iter=500)
    before = user.get_params()
    result = evaluate_classification_cv(X, y, n_folds=3, random_state=0, estimator=user)
    assert user.get_params() == before  # random_state stays None on the user's object
    assert not hasattr(user, "coef_")
    assert set(result["C"]) <= set(SENTEVAL_GRID)  # the head's grid still applies
    assert result["head"] == "custom:LogisticRegression"

    fixed = evaluate_classification_cv(
        X, y, n_folds=3, random_state=0, estimator=user, param_grid={}
    )
    assert fixed["C"] == [3.0, 3.0, 3.0]
    assert fixed["dev_accuracy"] is None
    assert not hasattr(user, "coef_")


def test_user_estimator_matches_direct_sklearn(binary_data) -> None:
    X, y = binary_data
    user = KNeighborsClassifier(n_neighbors=3)
    result = evaluate_classification_split(
        X[:100], y[:100], X[100:130], y[100:130], X[130:], y[130:],
        estimator=user, param_grid={"n_neighbors": [1, 5, 9]},
    )  # fmt: skip
    dev = [
        clone(user).set_params(n_neighbors=k).fit(X[:100], y[:100]).score(X[100:130], y[100:130])
        for k in (1, 5, 9)
    ]
    best = [1, 5, 9][_pick(dev)]
    pred = KNeighborsClassifier(n_neighbors=best).fit(X[:100], y[:100]).predict(X[130:])
    assert result["params"] == {"n_neighbors": best}
    assert result["C"] is None
    assert result["accuracy"] == 100 * accuracy_score(y[130:], pred)
    assert user.n_neighbors == 3 and not hasattr(user, "classes_")


def test_estimator_without_head_parameter_needs_a_grid(binary_data) -> None:
    X, y = binary_data
    with pytest.raises(InvalidParameterError, match="no parameter 'C'.*param_grid=\\{\\}"):
        evaluate_classification_cv(X, y, n_folds=3, estimator=KNeighborsClassifier())
    with pytest.raises(InvalidParameterError, match="no parameter 'gamma'"):
        evaluate_classification_cv(X, y, n_folds=3, param_grid={"gamma": [1.0]})
    result = evaluate_classification_cv(
        X, y, n_folds=3, estimator=KNeighborsClassifier(), param_grid={}
    )
    assert result["C"] is None and result["params"] == [{}, {}, {}]


def test_random_state_injected_into_clone_only() -> None:
    user = LogisticRegression()
    spec = resolve_head("logreg", estimator=user, random_state=42)
    assert spec.estimator.random_state == 42
    assert user.random_state is None
    pinned = resolve_head("logreg", estimator=LogisticRegression(random_state=5), random_state=42)
    assert pinned.estimator.random_state == 5


def test_generator_grid_is_read_once() -> None:
    spec = resolve_head(param_grid={"C": (2.0**t for t in range(2))})
    assert [p["C"] for p in spec.candidates] == [1.0, 2.0]


def test_multi_parameter_grid_tries_every_combination(binary_data) -> None:
    X, y = binary_data
    grid = {"C": [0.01, 2.0], "fit_intercept": [True, False]}
    spec = resolve_head(param_grid=grid)
    combos = [(p["C"], p["fit_intercept"]) for p in spec.candidates]
    assert sorted(combos) == [(0.01, False), (0.01, True), (2.0, False), (2.0, True)]
    split = (X[:80], y[:80], X[80:120], y[80:120], X[120:], y[120:])
    result = evaluate_classification_split(*split, param_grid=grid, random_state=0)
    dev = [
        LogisticRegression(C=c, fit_intercept=f, random_state=0)
        .fit(X[:80], y[:80])
        .score(X[80:120], y[80:120])
        for c, f in combos
    ]
    assert result["params"] == dict(zip(("C", "fit_intercept"), combos[_pick(dev)]))


def test_deterministic_and_independent_of_n_jobs(binary_data) -> None:
    X, y = binary_data
    a = evaluate_classification_cv(X, y, n_folds=3, random_state=5)
    b = evaluate_classification_cv(X, y, n_folds=3, random_state=5)
    with joblib.parallel_config(backend="threading"):  # no process start-up in the test
        c = evaluate_classification_cv(X, y, n_folds=3, random_state=5, n_jobs=2)
    assert a == b == c
    d = evaluate_classification_cv(X, y, n_folds=3, random_state=6)
    assert d["fold_accuracies"] != a["fold_accuracies"]  # the seed does move the folds


def test_mlp_head_is_seeded_and_early_stopping(multiclass_data) -> None:
    X, y = multiclass_data
    spec = resolve_head("mlp", random_state=9)
    est = spec.estimator
    assert isinstance(est, MLPClassifier)
    assert est.early_stopping and est.validation_fraction == 0.1 and est.random_state == 9
    assert [p["alpha"] for p in spec.candidates] == [1e-5, 1e-4, 1e-3, 1e-2]
    split = (X[:90], y[:90], X[90:120], y[90:120], X[120:], y[120:])
    a = evaluate_classification_split(*split, head="mlp", random_state=9)
    b = evaluate_classification_split(*split, head="mlp", random_state=9)
    assert a == b and a["head"] == "mlp" and a["C"] is None
    alpha = a["params"]["alpha"]
    direct = clone(est).set_params(alpha=alpha).fit(X[:90], y[:90])
    assert a["accuracy"] == 100 * accuracy_score(y[120:], direct.predict(X[120:]))
    assert a["accuracy"] > 60


def test_string_labels(binary_data) -> None:
    X, y = binary_data
    labels = np.where(y == 1, "pos", "neg")
    a = evaluate_classification_cv(X, labels, n_folds=3, random_state=0)
    b = evaluate_classification_cv(X, y, n_folds=3, random_state=0)
    # "neg" < "pos" sorts like 0 < 1, so the folds, fits and binary F1 are the same
    assert a["fold_accuracies"] == b["fold_accuracies"]
    assert a["f1"] == b["f1"]


def test_sparse_features_give_the_dense_result():
    """CSR input (TF-IDF) takes the same folds, C grid and fits as the dense array."""
    import scipy.sparse as sp

    from evaluators.pairs import pair_features

    X = sp.random(240, 300, density=0.03, random_state=0, format="csr", dtype=np.float32)
    y = (np.asarray(X @ np.random.default_rng(0).normal(size=300)).ravel() > 0).astype(int)
    a = evaluate_classification_cv(X, y, n_folds=3, random_state=1)
    b = evaluate_classification_cv(X.toarray(), y, n_folds=3, random_state=1)
    assert a["fold_accuracies"] == b["fold_accuracies"] and a["C"] == b["C"]
    U, V = X[:120], X[120:]
    for kind in ("infersent", "senteval"):
        got = pair_features(U, V, features=kind)
        assert sp.issparse(got)
        np.testing.assert_array_equal(
            got.toarray(), pair_features(U.toarray(), V.toarray(), features=kind)
        )


def test_sparse_input_is_checked_and_refused_where_dense_is_needed():
    import scipy.sparse as sp

    from evaluators import evaluate_clustering
    from evaluators.metrics import check_embeddings

    X = sp.csr_matrix(np.array([[0.0, 1.0], [np.nan, 0.0]], dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"NaN or infinity in 1 row\(s\), first at row 1"):
        check_embeddings(X, allow_sparse=True)
    with pytest.raises(InvalidInputError, match=r"scipy.sparse matrix.*X.toarray\(\)"):
        evaluate_clustering(sp.csr_matrix(np.eye(4)), [0, 0, 1, 1])
