"""What a task needs to evaluate an encoder: cached encoding, fitting, protocol records.

Each task family has its protocol (``Task.evaluate``, see :mod:`benchmarks.protocols`);
this module holds the pieces they share:

* :class:`EncoderSession`: one encoder during a run.  It fits trainable encoders,
  encodes through the embedding cache (:class:`~embeddings.cache.CachedEncoder`),
  hands TF-IDF to linear heads as a sparse matrix, and times both.
* :class:`EvalContext`: one evaluation.  It loads splits with the suite entry's
  subsampling, records what was fitted on what and the protocol
  (:class:`~benchmarks.results.ProtocolInfo`), and returns a :class:`TaskEvaluation`.
* :func:`cv_per_fold`: SentEval's nested cross-validation with a trainable encoder
  re-fitted on each outer training part.
* :func:`unlabeled_texts`: the out-of-domain texts that trainable encoders fit on when
  a task has no training split.

Trainable encoders (TF-IDF, LSA, SIF/uSIF poolings, corpus-trained nets) are fitted on
training texts only (house rule 8): the ``train`` split (both sides of the pairs for
pair tasks); for cross-validation tasks once per outer fold on that fold's training
part; for tasks without a training split on :data:`UNLABELED_FIT_TEXTS` sentences of
``<data>/unlabeled/brown`` (never the scored texts).  A saved encoder folder is used
as it is.

Example:
    >>> import embeddings
    >>> from benchmarks.tasks import Task
    >>> task = Task.from_dataframe(
    ...     {"text": ["good film", "great cast", "dull plot", "bad acting"] * 10,
    ...      "label": ["pos", "pos", "neg", "neg"] * 10}, name="tiny")
    >>> result = task.evaluate(embeddings.load("glove-6b-50d"))
    >>> result["protocol"]["evaluator"], result["n_samples"]
    ('evaluate_classification_train_test', {'train': 32, 'test': 8})
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from benchmarks.results import ProtocolInfo, to_jsonable
from benchmarks.tasks.records import TaskEvaluation as TaskEvaluation
from embeddings.errors import InvalidInputError, renamed_parameters

if TYPE_CHECKING:
    from benchmarks.tasks.base import Task
    from benchmarks.tasks.metadata import TaskMetadata
    from benchmarks.tasks.settings import SuiteTask

__all__ = [
    "UNLABELED_FIT_TEXTS",
    "EncoderSession",
    "EvalContext",
    "TaskEvaluation",
    "c_grid",
    "cv_per_fold",
    "unlabeled_texts",
]

UNLABELED_FIT_TEXTS = 20000
"""Sentences of ``unlabeled/brown`` that trainable encoders fit on when a task has no
training split."""


def unlabeled_texts(
    data_dir: str | os.PathLike[str] | None = None, n: int = UNLABELED_FIT_TEXTS
) -> tuple[list[str], str]:
    """The first ``n`` non-empty lines of ``<data>/unlabeled/brown/*.txt`` (sorted files).

    Returns:
        The texts and a description ``"unlabeled/brown[:n] sha256=<first 12>"``.

    Raises:
        InvalidInputError: the corpus is not in the data folder.

    Example:
        >>> texts, source = unlabeled_texts(n=3)                  # doctest: +SKIP
        >>> source                                                # doctest: +SKIP
        'unlabeled/brown[:3] sha256=...'
    """
    from benchmarks.tasks.paths import data_dir as default_data_dir

    root = Path(data_dir) if data_dir is not None else default_data_dir()
    folder = root / "unlabeled" / "brown"
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise InvalidInputError(
            f"this task has no training split, and a trainable encoder needs training texts: "
            f"the unlabeled corpus {folder} was not found (set TRANSFERKIT_DATA)"
        )
    texts: list[str] = []
    for file in files:
        with open(file, encoding="utf-8") as handle:
            for line in handle:
                line = line.strip()
                if line:
                    texts.append(line)
                    if len(texts) >= n:
                        break
        if len(texts) >= n:
            break
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    return texts, f"unlabeled/brown[:{len(texts)}] sha256={digest}"


class EncoderSession:
    """One encoder during a run: fitting, cached encoding and timing.

    Args:
        encoder: Anything with ``encode`` (and ``fit`` when trainable).
        cache_dir: Embedding cache folder (``None``: the default cache).
        use_cache: Encode through :class:`~embeddings.cache.CachedEncoder`.
        batch_size: Encoding batch size.
        show_progress: Show a progress bar per encode call (``progress``: its old name).

    Example:
        >>> import embeddings
        >>> session = EncoderSession(embeddings.load("glove-6b-50d"), use_cache=False)
        >>> session.encode(["a cat"]).shape, session.trainable
        ((1, 50), False)
    """

    @renamed_parameters(progress="show_progress")
    def __init__(
        self,
        encoder: Any,
        *,
        cache_dir: str | os.PathLike[str] | None = None,
        use_cache: bool = True,
        batch_size: int = 64,
        show_progress: bool = False,
    ) -> None:
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.fit_s = 0.0
        self.encode_s = 0.0
        self.fit_texts = 0
        self.sparse_used = False
        #: the saved folder of a pretrained encoder: used as it is, never fitted
        self.pretrained_from: str | None = getattr(encoder, "__dict__", {}).get("_pretrained_from")

    @property
    def trainable(self) -> bool:
        """Whether the encoder is fitted on task texts (never for a saved folder)."""
        if self.pretrained_from is not None:
            return False
        return bool(getattr(self.encoder, "trainable", False)) or bool(
            getattr(self.encoder, "requires_fit", False)
        )

    def reset(self) -> None:
        """Zero the timings and the sparse flag (one evaluation starts)."""
        self.fit_s = self.encode_s = 0.0
        self.fit_texts = 0
        self.sparse_used = False

    def fit(self, texts: Sequence[str]) -> None:
        """Fit the encoder on ``texts`` (timed)."""
        start = time.perf_counter()
        self.encoder.fit(list(texts))
        self.fit_s += time.perf_counter() - start
        self.fit_texts = len(texts)

    def encode(self, texts: Sequence[str], *, sparse: bool = False) -> Any:
        """Vectors of ``texts``; with ``sparse=True`` an encoder's ``encode_sparse``
        (TF-IDF) is used when it has one, for heads that train on sparse features.
        """
        start = time.perf_counter()
        encode_sparse = getattr(self.encoder, "encode_sparse", None)
        if sparse and callable(encode_sparse):
            X = encode_sparse(list(texts))
            self.sparse_used = True
            self.encode_s += time.perf_counter() - start
            return X
        target: Any = self.encoder
        if self.use_cache:
            from embeddings.cache import CachedEncoder

            target = CachedEncoder(self.encoder, cache_dir=self.cache_dir)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # e.g. all-OOV sentences
            out = target.encode(
                list(texts), batch_size=self.batch_size, show_progress=self.show_progress
            )
        self.encode_s += time.perf_counter() - start
        return np.asarray(out)


def c_grid(head: str, protocol: str) -> list[float] | None:
    """The C grid of SentEval's logistic regression for a selection protocol.

    Args:
        head: ``"logreg"`` (others have no C grid: ``None``).
        protocol: ``"kfold"`` (2^-1 .. 2^5), else ``"inner_cv"``/``"split"`` (2^-2 .. 2^3).

    Example:
        >>> c_grid("logreg", "kfold")
        [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    """
    if head != "logreg":
        return None
    from evaluators.heads import LOGREG_C_GRID, LOGREG_C_GRID_KFOLD

    return list(LOGREG_C_GRID_KFOLD if protocol == "kfold" else LOGREG_C_GRID)


@dataclass
class EvalContext:
    """One evaluation of one task: the encoder session, the settings, the records.

    Args:
        session: The encoder.
        settings: The suite entry (subsampling, folds, seed, head, pair features).
        verify: Check pinned data files (recorded as ``data_verified``).
        data_dir: Data folder of the unlabeled corpus (``None``: the default).
        n_jobs: joblib workers of the heads.

    Example:
        >>> import embeddings
        >>> from benchmarks.suites import SuiteTask
        >>> ctx = EvalContext(EncoderSession(embeddings.load("glove-6b-50d")), SuiteTask("MR"))
        >>> ctx.protocol["fit"], ctx.protocol["seed"]
        ('none', 1111)
    """

    session: EncoderSession
    settings: SuiteTask
    verify: bool = True
    data_dir: str | os.PathLike[str] | None = None
    n_jobs: int | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    protocol: ProtocolInfo = field(init=False)

    def __post_init__(self) -> None:
        entry = self.settings
        self.protocol = {
            "evaluator": "",
            "head": entry.head,
            "seed": entry.seed,
            "n_folds": None,
            "c_grid": None,
            "selection": None,
            "pair_features": None,
            "min_score": None,
            "fit": "none",
            "fit_texts": 0,
            "fit_source": None,
            "max_samples": dict(entry.max_samples),
            "data_verified": self.verify,
        }

    def set(self, **changes: Any) -> None:
        """Set protocol fields (TypedDict.update with keywords is not typed)."""
        for key, value in changes.items():
            self.protocol[key] = value  # type: ignore[literal-required]

    def n_folds(self, meta: TaskMetadata) -> int:
        """The entry's folds, else the task's ``cv_folds``, else 10."""
        if self.settings.n_folds is not None:
            return self.settings.n_folds
        return meta.cv_folds or 10

    def load(self, task: Task[Any], split: str, *, record: bool = True) -> Any:
        """One split, subsampled as the entry says; its size is recorded in
        ``n_samples`` unless ``record`` is false (texts used only to fit an encoder)."""
        entry = self.settings
        data = task.load(
            split,
            max_samples=entry.max_samples.get(split),
            random_state=entry.seed,
            verify=self.verify,
        )
        if record:
            self.sizes[split] = len(data)
        return data

    def load_splits(self, task: Task[Any]) -> dict[str, Any]:
        """``train``, ``dev`` (when the task has one) and ``test``."""
        splits = ("train", "dev", "test") if "dev" in task.metadata.splits else ("train", "test")
        return {s: self.load(task, s) for s in splits}

    def fit_train(self, texts: Sequence[str]) -> None:
        """Fit a trainable encoder on training texts (nothing for a frozen one)."""
        if self.session.trainable:
            self.session.fit(texts)
            self.set(fit="train", fit_texts=len(texts), fit_source="train split")

    def fit_unlabeled(self) -> None:
        """Fit a trainable encoder on the unlabeled corpus (nothing for a frozen one)."""
        if self.session.trainable:
            texts, source = unlabeled_texts(self.data_dir)
            self.session.fit(texts)
            self.set(fit="unlabeled", fit_source=source, fit_texts=self.session.fit_texts)

    def result(self, scores: Mapping[str, Any]) -> TaskEvaluation:
        """The evaluation: scores (JSON-compatible), sizes and protocol."""
        if self.session.pretrained_from is not None:
            self.set(fit="pretrained", fit_source=self.session.pretrained_from)
        self.protocol["features"] = "sparse" if self.session.sparse_used else "dense"
        out = to_jsonable(dict(scores))
        return {
            "main_score": float(scores["main_score"]),
            "scores": out,
            "n_samples": dict(self.sizes),
            "protocol": self.protocol,
        }


def cv_per_fold(
    session: EncoderSession,
    texts: list[str],
    y: np.ndarray,
    entry: SuiteTask,
    n_folds: int,
    n_jobs: int | None,
) -> dict[str, Any]:
    """SentEval's nested CV with the encoder re-fitted on each outer training part.

    The outer folds, inner folds and C grid are those of
    :func:`~evaluators.classification.evaluate_classification_cv`, so a frozen encoder
    gets exactly the numbers of the one-shot nested CV.

    Example:
        >>> scores = cv_per_fold(session, texts, y, SuiteTask("MR"), 10, None)  # doctest: +SKIP
    """
    from sklearn.model_selection import StratifiedKFold

    from evaluators import evaluate_classification_train_test

    grid_values = c_grid("logreg", "inner_cv")
    grid = {"C": grid_values} if entry.head == "logreg" and grid_values is not None else None
    outer = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=entry.seed)
    folds: list[dict[str, Any]] = []
    for train_idx, test_idx in outer.split(np.zeros((len(y), 1)), y):
        train_texts = [texts[i] for i in train_idx]
        session.fit(train_texts)
        X_train = session.encode(train_texts, sparse=True)
        X_test = session.encode([texts[i] for i in test_idx], sparse=True)
        folds.append(
            dict(
                evaluate_classification_train_test(
                    X_train,
                    y[train_idx],
                    X_test,
                    y[test_idx],
                    n_folds=n_folds,
                    random_state=entry.seed,
                    head=entry.head,
                    param_grid=grid,
                    n_jobs=n_jobs,
                )
            )
        )
    accs = [float(f["accuracy"]) for f in folds]
    c_values = [f["C"] for f in folds]
    dev = [f["dev_accuracy"] for f in folds if f["dev_accuracy"] is not None]
    return {
        "main_score": float(np.mean(accs)),
        "accuracy": float(np.mean(accs)),
        "accuracy_std": float(np.std(accs)),
        "f1": float(np.mean([f["f1"] for f in folds])),
        "f1_average": folds[0]["f1_average"],
        "dev_accuracy": float(np.mean(dev)) if dev else None,
        "fold_accuracies": accs,
        "params": [f["params"] for f in folds],
        "C": None if any(c is None for c in c_values) else [float(c) for c in c_values],
        "n_samples": len(y),
        "n_folds": n_folds,
        "n_classes": int(np.unique(y).size),
        "head": folds[0]["head"],
        "seed": entry.seed,
    }
