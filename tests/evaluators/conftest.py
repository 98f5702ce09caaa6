"""Shared fixtures for the evaluator tests: small synthetic arrays, one BLAS thread."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from threadpoolctl import threadpool_limits

# pytest puts tests/ on sys.path (tests/conftest.py has no package), so this folder,
# which has no __init__.py, is a namespace-package candidate for `import evaluators`;
# setuptools' editable finder runs after the path finder and loses to it. A regular
# package anywhere on sys.path beats a namespace portion, so the repository root is
# appended here. (The lasting fix is `pythonpath = ["."]` in the pytest settings.)
_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.append(_REPO)


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread() -> Iterator[None]:
    # Tiny matrices: BLAS threads only add contention on a shared CI machine.
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def binary_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=160, n_features=10, n_informative=4, flip_y=0.1, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def multiclass_data() -> tuple[np.ndarray, np.ndarray]:
    X, y = make_classification(
        n_samples=150,
        n_features=8,
        n_informative=5,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=1,
    )
    return X, y
