"""How each task family evaluates an encoder: the protocols behind ``Task.evaluate``.

The task modules (:mod:`benchmarks.tasks`) hold data and metadata; this module, one
floor above them, holds the evaluation.  :func:`evaluate` builds the encoder session
and the evaluation context (:mod:`benchmarks.evaluation`) and runs the protocol of the
task's family, found along the task class's MRO:

=========================  ===================================================
family                     protocol
=========================  ===================================================
``ClassificationTask``     SentEval's logistic regression (nested CV on ``all``,
                           C chosen on dev, or by k-fold on train)
``PairClassificationTask`` the same head on pair features
``SimilarityTask``         SentEval's relatedness regressor, early stopping on dev
``STSTask``                cosine similarity against gold, Spearman per subset
``ClusteringTask``         k-means against the labels, V-measure
=========================  ===================================================

``import benchmarks`` registers :func:`evaluate` as ``Task.evaluate`` (see
:mod:`benchmarks.tasks.hooks`); tasks of your own data use the protocol of their
family.

Example:
    >>> sorted(cls.__name__ for cls in PROTOCOLS)  # doctest: +NORMALIZE_WHITESPACE
    ['ClassificationTask', 'ClusteringTask', 'PairClassificationTask', 'STSTask',
     'SimilarityTask']
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from benchmarks.evaluation import EncoderSession, EvalContext, TaskEvaluation, c_grid, cv_per_fold
from benchmarks.tasks.base import (
    ClassificationTask,
    ClusteringTask,
    PairClassificationTask,
    SimilarityTask,
    STSTask,
    Task,
)
from benchmarks.tasks.metadata import TaskMetadata
from benchmarks.tasks.settings import SuiteTask
from embeddings.errors import InvalidParameterError, renamed_parameters

__all__ = ["PROTOCOLS", "Protocol", "evaluate", "protocol_for"]

Protocol = Callable[[Any, EvalContext], TaskEvaluation]
"""``protocol(task, ctx) -> TaskEvaluation``: load, fit, encode, score."""


@renamed_parameters(progress="show_progress")
def evaluate(
    task: Task[Any],
    encoder: Any,
    *,
    settings: SuiteTask | None = None,
    verify: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    n_jobs: int | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    batch_size: int = 64,
    show_progress: bool = False,
    blas_threads: int | None = 1,
) -> TaskEvaluation:
    """Evaluate an encoder on a task with the protocol of its family.

    This is ``task.evaluate(encoder, ...)``; see :meth:`benchmarks.tasks.Task.evaluate`
    for every argument.

    Raises:
        InvalidParameterError: A task of no known family, ``settings`` that are not a
            :class:`~benchmarks.tasks.settings.SuiteTask`, or ``blas_threads`` that is
            not ``None`` or an int >= 1.
        DataNotFoundError: The task's data is not in the data folder.
        UnknownEncoderError: An unknown preset name.
    """
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    protocol = protocol_for(task)
    if settings is not None and not isinstance(settings, SuiteTask):
        raise InvalidParameterError(
            f"{task.name}: settings must be a SuiteTask (benchmarks.suites.SuiteTask) or None, "
            f"got {type(settings).__name__}"
        )
    if blas_threads is not None and (
        isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1
    ):
        raise InvalidParameterError(
            f"blas_threads must be None (the library default) or an int >= 1, got {blas_threads!r}"
        )
    if isinstance(encoder, EncoderSession):
        session = encoder
    else:
        from benchmarks.specs import build_encoder

        built, _, _ = build_encoder(encoder)
        session = EncoderSession(
            built,
            cache_dir=cache_dir,
            use_cache=cache_dir is not None,
            batch_size=batch_size,
            show_progress=show_progress,
        )
    session.reset()
    ctx = EvalContext(
        session,
        settings if settings is not None else SuiteTask(task.name),
        verify=verify and task.pinned,
        data_dir=data_dir,
        n_jobs=n_jobs,
    )
    limits = None if blas_threads is None else threadpool_limits(blas_threads, user_api="blas")
    try:
        with warnings.catch_warnings():
            # lbfgs at scikit-learn's default max_iter=100, as SentEval: not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            return protocol(task, ctx)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def protocol_for(task: Task[Any]) -> Protocol:
    """The protocol of the first family class in the task's MRO.

    Raises:
        InvalidParameterError: Not a task, or its class derives from no family.

    Example:
        >>> from benchmarks.tasks import get_task
        >>> protocol_for(get_task("STS12")).__name__
        'sts'
    """
    if not isinstance(task, Task):
        raise InvalidParameterError(
            f"expected a task (benchmarks.tasks.Task), got {type(task).__name__}"
        )
    for cls in type(task).__mro__:
        protocol = PROTOCOLS.get(cls)
        if protocol is not None:
            return protocol
    raise InvalidParameterError(
        f"{task.name}: its family {task.metadata.family!r} has no evaluation; "
        "subclass ClassificationTask, PairClassificationTask, SimilarityTask, STSTask "
        "or ClusteringTask"
    )


def _c_on_dev(ctx: EvalContext, evaluator: str) -> None:
    """Record a head whose C is chosen on the dev split."""
    ctx.set(evaluator=evaluator, c_grid=c_grid(ctx.settings.head, "split"), selection="dev")


def _c_by_kfold(ctx: EvalContext, evaluator: str, meta: TaskMetadata) -> int:
    """Record a head whose C is chosen by k-fold on train; returns the number of folds."""
    n_folds = ctx.n_folds(meta)
    ctx.set(
        evaluator=evaluator,
        c_grid=c_grid(ctx.settings.head, "kfold"),
        selection="cv",
        n_folds=n_folds,
    )
    return n_folds


def classification(task: ClassificationTask, ctx: EvalContext) -> TaskEvaluation:
    """Single-sentence classification: SentEval's logistic regression.

    Nested cross-validation on ``all`` (``eval_protocol == "cv"``; a trainable encoder
    is re-fitted on every outer training part), else C chosen on dev (with a dev
    split) or by k-fold on train, scored on test.  Rows reach the folds in the task's
    ``sample_order``.
    """
    import evaluators

    meta, entry, session = task.metadata, ctx.settings, ctx.session
    if meta.eval_protocol == "cv":
        data = task.in_evaluation_order(ctx.load(task, "all"))
        n_folds = ctx.n_folds(meta)
        ctx.set(
            evaluator="evaluate_classification_cv",
            n_folds=n_folds,
            c_grid=c_grid(entry.head, "inner_cv"),
            selection="inner_cv",
        )
        if session.trainable:
            ctx.set(fit="per_fold", fit_source="outer-fold training part")
            scores: Mapping[str, Any] = cv_per_fold(
                session, list(data.texts), data.labels, entry, n_folds, ctx.n_jobs
            )
            ctx.set(fit_texts=session.fit_texts)
        else:
            scores = evaluators.evaluate_classification_cv(
                session.encode(data.texts, sparse=True),
                data.labels,
                n_folds=n_folds,
                random_state=entry.seed,
                head=entry.head,
                n_jobs=ctx.n_jobs,
            )
        return ctx.result(scores)
    parts = {s: task.in_evaluation_order(d) for s, d in ctx.load_splits(task).items()}
    ctx.fit_train(parts["train"].texts)
    X = {s: session.encode(d.texts, sparse=True) for s, d in parts.items()}
    y = {s: d.labels for s, d in parts.items()}
    if "dev" in parts:
        _c_on_dev(ctx, "evaluate_classification_split")
        scores = evaluators.evaluate_classification_split(
            X["train"], y["train"], X["dev"], y["dev"], X["test"], y["test"],
            random_state=entry.seed, head=entry.head, n_jobs=ctx.n_jobs,
        )  # fmt: skip
    else:
        n_folds = _c_by_kfold(ctx, "evaluate_classification_train_test", meta)
        scores = evaluators.evaluate_classification_train_test(
            X["train"], y["train"], X["test"], y["test"],
            n_folds=n_folds, random_state=entry.seed, head=entry.head, n_jobs=ctx.n_jobs,
        )  # fmt: skip
    return ctx.result(scores)


def clustering(task: ClusteringTask, ctx: EvalContext) -> TaskEvaluation:
    """k-means (one cluster per label, several seeds) on the entry's
    ``clustering_split``; the mean V-measure against the labels."""
    import evaluators

    entry, session = ctx.settings, ctx.session
    split = entry.clustering_split
    data = ctx.load(task, split)
    ctx.set(evaluator="evaluate_clustering", head=None)
    if session.trainable:
        if "train" in task.metadata.splits and split != "train":
            ctx.fit_train(ctx.load(task, "train", record=False).texts)
        else:
            ctx.fit_unlabeled()
    scores = evaluators.evaluate_clustering(
        session.encode(data.texts),
        data.labels,
        n_runs=entry.clustering_runs,
        random_state=entry.seed,
    )
    return ctx.result(scores)


def _encode_pairs(
    session: EncoderSession, parts: Mapping[str, Any], *, sparse: bool
) -> dict[str, tuple[Any, Any]]:
    return {
        s: (session.encode(d.texts_a, sparse=sparse), session.encode(d.texts_b, sparse=sparse))
        for s, d in parts.items()
    }


def pair_classification(task: PairClassificationTask, ctx: EvalContext) -> TaskEvaluation:
    """SentEval's logistic regression on pair features (the entry's ``pair_features``;
    ``[|u-v|, u*v]`` by default), C chosen on dev or by k-fold on train."""
    import evaluators

    entry = ctx.settings
    parts = ctx.load_splits(task)
    ctx.fit_train([*parts["train"].texts_a, *parts["train"].texts_b])
    X = _encode_pairs(ctx.session, parts, sparse=True)
    y = {s: d.labels for s, d in parts.items()}
    ctx.set(pair_features=entry.pair_features)
    if "dev" in parts:
        _c_on_dev(ctx, "evaluate_pairs_split")
        scores = evaluators.evaluate_pairs_split(
            *X["train"], y["train"], *X["dev"], y["dev"], *X["test"], y["test"],
            features=entry.pair_features, random_state=entry.seed, head=entry.head,
            n_jobs=ctx.n_jobs,
        )  # fmt: skip
    else:
        n_folds = _c_by_kfold(ctx, "evaluate_pairs_train_test", task.metadata)
        scores = evaluators.evaluate_pairs_train_test(
            *X["train"], y["train"], *X["test"], y["test"],
            features=entry.pair_features, n_folds=n_folds, random_state=entry.seed,
            head=entry.head, n_jobs=ctx.n_jobs,
        )  # fmt: skip
    return ctx.result(scores)


def similarity(task: SimilarityTask, ctx: EvalContext) -> TaskEvaluation:
    """SentEval's softmax relatedness regressor on ``[|u-v|, u*v]``, early stopping on
    dev Pearson (scores from the entry's ``min_score``, else 1, to 5); test Pearson."""
    import evaluators

    entry = ctx.settings
    if "dev" not in task.metadata.splits:
        raise InvalidParameterError(
            f"{task.name}: the relatedness regressor stops early on a dev split, and the "
            f"task has splits {list(task.metadata.splits)}"
        )
    parts = ctx.load_splits(task)
    ctx.fit_train([*parts["train"].texts_a, *parts["train"].texts_b])
    X = _encode_pairs(ctx.session, parts, sparse=False)  # the regressor needs dense input
    min_score = entry.min_score if entry.min_score is not None else 1
    ctx.set(
        evaluator="evaluate_relatedness",
        head="senteval-softmax",
        min_score=min_score,
        pair_features="senteval",
        selection="dev",
    )
    scores = evaluators.evaluate_relatedness(
        *X["train"], parts["train"].scores, *X["dev"], parts["dev"].scores,
        *X["test"], parts["test"].scores,
        min_score=min_score, max_score=5, random_state=entry.seed,
    )  # fmt: skip
    return ctx.result(scores)


def sts(task: STSTask, ctx: EvalContext) -> TaskEvaluation:
    """The cosine of each pair against the gold score: Spearman per subset, averaged
    weighted by size (SentEval's wmean).  Nothing is trained on the scored pairs."""
    import evaluators

    session = ctx.session
    data = ctx.load(task, "test")
    ctx.set(evaluator="evaluate_sts", head=None)
    if session.trainable:
        if "train" in task.metadata.splits:
            train = ctx.load(task, "train")
            ctx.fit_train([*train.texts_a, *train.texts_b])
        else:
            ctx.fit_unlabeled()
    subsets = {
        name: (session.encode(part.texts_a), session.encode(part.texts_b), part.scores)
        for name, part in data.by_subset().items()
    }
    return ctx.result(evaluators.evaluate_sts(subsets))


PROTOCOLS: dict[type, Protocol] = {
    ClassificationTask: classification,
    ClusteringTask: clustering,
    PairClassificationTask: pair_classification,
    SimilarityTask: similarity,
    STSTask: sts,
}
"""Family class -> its protocol (the first class of a task's MRO found here wins)."""
