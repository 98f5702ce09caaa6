"""``advise``: which encoder, and how much training, suit *your* labelled data.

Within a time budget, :func:`advise` measures learning curves on the task's training
rows (its test split is never read), cross-validated over ``folds`` stratified folds,
for:

* TF-IDF + logistic regression (the baseline);
* frozen encoders + logistic regression with the SentEval-protocol choice of ``C``
  (an inner cross-validation over :data:`evaluators.heads.LOGREG_C_GRID`): by default
  the embedded presets, their int8 variant, and ``mpnet-base`` when it is installed;
* for the best frozen encoder that can be fine-tuned: contrastive fine-tuning
  (``fine_tune(objective="contrastive")``) and top-2 unfreezing (classification tasks).

Cheap candidates run first, at every size and fold; fine-tuning units run while the
budget allows, each skipped (and said so) when its estimated time no longer fits (the
first estimate is timed on a short probe run, later ones on the runs measured).
Frozen vectors go through :class:`~embeddings.cache.CachedEncoder` and every unit's
score is kept in the cache folder, so a second ``advise`` on the same data is fast.
:mod:`benchmarks.advice_report` ranks the candidates, fits the learning curves and
writes the table, the plot, the recommendation and the saved model.

Example:
    >>> import transferkit                                          # doctest: +SKIP
    >>> task = transferkit.Task.from_file("reviews.tsv")            # doctest: +SKIP
    >>> advice = transferkit.advise(task, budget="10m")             # doctest: +SKIP
    >>> print(advice.recommendation)                                # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.advise_candidates import (
    Candidate,
    check_candidates,
    default_candidates,
    encode_rate,
    fine_tunable,
    fine_tune_params,
    guessed_rate,
    parse_budget,
    size_mb,
    to_fine_tune,
)
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = [
    "Advice",
    "Candidate",
    "advise",
    "default_candidates",
    "fine_tunable",
    "fine_tune_params",
    "parse_budget",
]


@dataclass
class Advice:
    """What :func:`advise` measured and recommends (see :mod:`benchmarks.advice_report`).

    Attributes:
        task: the task's name; ``task_type``: ``classification`` or ``pair_classification``.
        n_labels: labelled training rows used; ``sizes``: learning-curve sizes.
        folds: cross-validation folds; ``budget_seconds`` and ``seconds`` (used, with
            ``final_seconds`` of them training the saved model).
        random_state: seeds folds, subsamples, heads, fine-tuning and the saved model.
        candidates: every candidate, run or not.
        ranking, recommendation, rebuild, saved_to, plot: filled by the report.
    """

    task: str
    task_type: str
    n_labels: int
    n_classes: int
    sizes: list[int]
    folds: int
    budget_seconds: float
    seconds: float = 0.0
    random_state: int = 0
    final_seconds: float = 0.0
    runs: dict[str, int] = field(default_factory=dict)
    candidates: list[Candidate] = field(default_factory=list)
    ranking: list[dict[str, Any]] = field(default_factory=list)
    recommendation: str = ""
    rebuild: str = ""
    saved_to: str | None = None
    plot: str | None = None

    def table(self) -> str:
        """The ranking as a plain-text table."""
        from benchmarks.advice_report import format_table

        return format_table(self)


# ------------------------------------------------------------------ the data
@dataclass
class _Data:
    """The labelled rows: texts (or pairs), class ids, the folds and the sizes."""

    texts: list[str]
    pairs: list[str] | None  # second texts of pair tasks
    y: np.ndarray
    classes: list[str]
    folds: list[tuple[np.ndarray, np.ndarray]]
    sizes: list[int]
    fingerprint: str

    def subsample(self, train: np.ndarray, size: int, random_state: int) -> np.ndarray:
        from embeddings.training.finetune import stratified_subsample

        if size >= train.size:
            return train
        return train[stratified_subsample(self.y[train], size, random_state)]

    def rows(self, idx: np.ndarray) -> list[Any]:
        """The texts of rows ``idx``, or their ``(text_a, text_b)`` pairs on a pair task."""
        if self.pairs is None:
            return [self.texts[i] for i in idx]
        return [(self.texts[i], self.pairs[i]) for i in idx]


def _task_rows(task: Any) -> tuple[str, list[str], list[str] | None, np.ndarray, list[str]]:
    """``(type, texts, second texts or None, labels, label names)`` of the training rows."""
    from benchmarks.tasks import ClassificationTask, PairClassificationTask

    if not isinstance(task, (ClassificationTask, PairClassificationTask)):
        raise InvalidParameterError(
            f"advise takes a classification or pair_classification task; "
            f"{task.metadata.name} is a {task.metadata.family} task"
        )
    splits = task.metadata.splits
    # an own file split by us (not by the user): every row is a labelled row
    carved = str(getattr(task, "provenance", {}).get("splits", "")).startswith("stratified")
    use = list(splits) if carved else ["train" if "train" in splits else splits[0]]
    parts = [task.load(s) for s in use]
    labels = np.concatenate([np.asarray(p.labels) for p in parts])
    if isinstance(task, PairClassificationTask):
        a = [t for p in parts for t in p.texts_a]
        b = [t for p in parts for t in p.texts_b]
        return "pair_classification", a, b, labels, list(parts[0].label_names)
    texts = [t for p in parts for t in p.texts]
    return "classification", texts, None, labels, list(parts[0].label_names)


def _prepare(task: Any, folds: int, random_state: int) -> tuple[str, _Data]:
    from sklearn.model_selection import StratifiedKFold

    kind, texts, pairs, y, names = _task_rows(task)
    counts = np.bincount(y)
    smallest = int(counts[counts > 0].min())
    if smallest < 2:
        raise InvalidInputError(
            f"advise needs at least 2 labelled rows of every class; class "
            f"{names[int(np.argmin(np.where(counts > 0, counts, 10**9)))]!r} has {smallest}"
        )
    # a class rarer than the folds is simply absent from some test folds: fewer folds
    # would train every fold on far fewer rows than the final model sees; but stratified
    # folds need one class with at least as many rows as folds
    k = min(folds, len(y) // 2, int(counts.max()))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class")
        folder = StratifiedKFold(k, shuffle=True, random_state=random_state)
        split = list(folder.split(texts, y))
    largest = min(tr.size for tr, _ in split)
    floor = max(4 * len(names), 16)
    sizes = [largest]
    while sizes[-1] // 2 >= floor and len(sizes) < 4:
        sizes.append(sizes[-1] // 2)
    digest = hashlib.sha256()
    for t in (texts, pairs or [], y.tolist(), [k, random_state]):
        digest.update(json.dumps(t).encode())
    data = _Data(texts, pairs, y, names, split, sorted(sizes), digest.hexdigest()[:16])
    return kind, data


# ------------------------------------------------------------------ the units
#: the version of how a unit (one candidate, size and fold) is trained and scored; it
#: names the cache file, so a change of method never reuses older scores
#: (2: contrastive heads refitted after training, pair tasks fine-tuned; 3: keys name
#: the encoder's fingerprint)
UNITS_VERSION = 3

#: rows of the probe that times a fine-tuning candidate before its first run
PROBE_ROWS = 32


class _Runner:
    """Runs candidates' units under the budget, with a results cache."""

    def __init__(self, data: _Data, budget: float, cache_dir: Path, random_state: int,
                 log: Callable[[str], None]) -> None:  # fmt: skip
        self.data, self.budget, self.random_state, self.log = data, budget, random_state, log
        self.started = time.perf_counter()
        self.cache_file = cache_dir / "advise" / f"{data.fingerprint}-u{UNITS_VERSION}.json"
        self.cache_dir = cache_dir
        self.results: dict[str, dict[str, float]] = {}
        self.new_runs = 0  # runs measured now; the others in ``results`` came from the cache
        if self.cache_file.is_file():
            from embeddings._jsonfile import read_json_file
            from embeddings.errors import TransferkitError

            try:
                found = read_json_file(self.cache_file, what="advise cache", limit=1 << 24)
            except TransferkitError:
                found = None  # unreadable: measured again, and rewritten
            found = found if isinstance(found, dict) else {}
            # records of finite numbers only (the file is rewritten with them)
            self.results = {k: v for k, v in found.items() if isinstance(v, dict) and all(
                _finite(x) for x in v.values())}  # fmt: skip

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.started)

    def cached(self, key: str, fields: Sequence[str]) -> bool:
        """Whether the cache holds a usable record under ``key``: an object whose
        ``fields`` are finite numbers >= 0 (a damaged or tampered one is measured again)."""
        rec = self.results.get(key)
        return isinstance(rec, dict) and all(_finite(rec.get(k)) and rec[k] >= 0 for k in fields)

    def remember(self, key: str, record: dict[str, float], *, measured_run: bool = True) -> None:
        """Keep ``record`` under ``key`` in the cache file; ``measured_run`` counts it as
        a unit run now (a cost probe is not one)."""
        from embeddings._atomic import atomic_write_json

        self.results[key] = record
        self.new_runs += int(measured_run)
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.cache_file, self.results)

    # -------------------------------------------------------------- features
    def vectors(self, cand: Candidate) -> np.ndarray | None:
        """Frozen vectors of every row (pair tasks: the pair features), cached."""
        import embeddings
        from embeddings.cache import CachedEncoder
        from evaluators.pairs import pair_features

        d = self.data
        texts = d.texts + (d.pairs or [])
        raw = embeddings.load(cand.encoder)
        enc = CachedEncoder(raw, cache_dir=self.cache_dir)
        cand.weights = enc.fingerprint()[:16]
        missing = enc.count_missing(texts)
        if missing and self.left() <= 0:  # not even the probe fits
            cand.skipped.append(f"encoding {missing} texts: budget spent")
            return None
        probe = texts[: min(64, len(texts))]
        # timed without the cache (after loading the model), times the texts not cached
        cand.encode_ms_per_1000 = encode_rate(raw, probe)
        estimate = (cand.encode_ms_per_1000 or 0.0) / 1e6 * missing
        if estimate > max(self.left(), 0.0):  # nothing to encode: read from the cache
            cand.skipped.append(f"encoding needs ~{estimate:.0f}s, {self.left():.0f}s left")
            return None
        X = enc.encode(texts, batch_size=64)
        cand.size_mb = size_mb(raw)
        if d.pairs is None:
            return X
        return pair_features(X[: len(d.texts)], X[len(d.texts) :])

    # ------------------------------------------------------------------ heads
    def linear(self, cand: Candidate, X_of: Callable[[np.ndarray, np.ndarray], tuple],
               *, budgeted: bool = True) -> None:  # fmt: skip
        """Logistic regression with the SentEval choice of C, every size and fold while
        the budget lasts (the TF-IDF baseline, ``budgeted=False``, always runs whole; one
        BLAS thread: these fits are small, and more threads only contend)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1):
            self._linear(cand, X_of, budgeted)

    def _linear(self, cand: Candidate, X_of: Callable[[np.ndarray, np.ndarray], tuple],
                budgeted: bool) -> None:  # fmt: skip
        for size in self.data.sizes:
            for f, (train, test) in enumerate(self.data.folds):
                key = cand.unit_key(f"{size}/{f}")
                if not self.cached(key, ("score", "seconds", "C")):
                    if budgeted and self.left() <= 0:
                        if not cand.skipped:
                            cand.skipped.append(f"n={size} fold {f + 1} on: budget spent")
                        continue
                    idx = self.data.subsample(train, size, self.random_state + f)
                    t0 = time.perf_counter()
                    acc, C = _fit_linear(*X_of(idx, test), self.data.y[idx],
                                         self.data.y[test], self.random_state)  # fmt: skip
                    self.remember(key, {"score": acc, "seconds": time.perf_counter() - t0,
                                        "C": C})  # fmt: skip
                rec = self.results[key]
                cand.scores.setdefault(size, []).append(rec["score"])
                cand.folds.setdefault(size, []).append(f)
                if size == self.data.sizes[-1]:
                    cand.train_seconds.append(rec["seconds"])
                    cand.params.setdefault("C", []).append(rec["C"])

    def tfidf(self, cand: Candidate) -> None:
        import embeddings
        from benchmarks.curves import encode_features

        d = self.data

        def features(idx: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            enc = embeddings.load("tfidf").fit([d.texts[i] for i in idx] + (
                [d.pairs[i] for i in idx] if d.pairs else []))  # fmt: skip
            return encode_features(enc.encode, d.rows(idx)), encode_features(
                enc.encode, d.rows(test)
            )

        self.linear(cand, features, budgeted=False)
        sample = d.texts[:64]
        cand.encode_ms_per_1000 = encode_rate(embeddings.load("tfidf").fit(sample), sample)
        cand.size_mb = None

    def frozen(self, cand: Candidate) -> None:
        X = self.vectors(cand)
        if X is not None:
            self.linear(cand, lambda idx, test: (X[idx], X[test]))
            # training also encodes the training rows (pairs: both texts)
            per_row = (cand.encode_ms_per_1000 or 0.0) / 1e6 * (2 if self.data.pairs else 1)
            extra = per_row * self.data.sizes[-1]
            cand.train_seconds = [s + extra for s in cand.train_seconds]

    def fine_tune_units(self, cands: Sequence[Candidate]) -> None:
        """Fine-tuning runs, cheapest-to-most-informative first, while the budget lasts.

        The first estimate of a run's cost comes from a probe (:meth:`first_cost`); a
        run it ruled out is tried once more after the others, with the cost the runs
        measured.
        """
        d = self.data
        order = [(d.sizes[-1], 0), *((s, 0) for s in d.sizes[:-1][::-1][:2]),
                 *((d.sizes[-1], f) for f in range(1, len(d.folds)))]  # fmt: skip
        cost = {c.name: self.first_cost(c) for c in cands}
        waiting = [(cand, size, f) for size, f in order for cand in cands
                   if self._fine_tune_unit(cand, size, f, cost, cands) is not None]  # fmt: skip
        for cand, size, f in waiting:  # the retry's reason is the one reported
            note = self._fine_tune_unit(cand, size, f, cost, cands)
            if note is not None:
                cand.skipped.append(note)

    def first_cost(self, cand: Candidate) -> tuple[float, float]:
        """``(fixed seconds, seconds per row and epoch)`` of a fine-tuning run.

        Timed on a probe: one epoch on :data:`PROBE_ROWS` rows of the first fold, with
        the candidate's settings (its wall time less the trainer's is the fixed part:
        copying and loading the encoder, the head's refit).  Without room for the probe
        (a quarter of what is left), :func:`~benchmarks.advise_candidates.guessed_rate`.
        """
        d = self.data
        key = cand.unit_key("probe")
        guess = guessed_rate(cand, cand.kind, d.pairs is not None)
        if not self.cached(key, ("fixed_seconds", "seconds_per_row_epoch")):
            train = d.folds[0][0]
            idx = d.subsample(train, min(PROBE_ROWS, len(train)), self.random_state)
            if guess * len(idx) > self.left() / 4:
                return 0.0, guess
            fixed, rate = self.probe_once(cand, idx)
            self.remember(key, {"fixed_seconds": fixed, "seconds_per_row_epoch": rate},
                          measured_run=False)  # fmt: skip
            self.log(f"  {cand.name} probe on {len(idx)} rows: {fixed:.1f}s + "
                     f"{rate:.3f}s a row and epoch")  # fmt: skip
        rec = self.results[key]
        return float(rec["fixed_seconds"]), float(rec["seconds_per_row_epoch"])

    def probe_once(self, cand: Candidate, idx: np.ndarray) -> tuple[float, float]:
        """``(fixed seconds, seconds per row and epoch)`` of one epoch on rows ``idx``."""
        from embeddings.training.finetune import fine_tune

        d = self.data
        params = {**fine_tune_params(cand, len(idx)), "epochs": 1, "validation_fraction": 0.0}
        t0 = time.perf_counter()
        clf = fine_tune(cand.encoder, d.rows(idx), d.y[idx], **params,
                        random_state=self.random_state)  # fmt: skip
        total = time.perf_counter() - t0
        trained = float(clf.training_result_.seconds)
        return max(total - trained, 0.0), trained / len(idx)

    def _fine_tune_unit(self, cand: Candidate, size: int, f: int,
                        cost: dict[str, tuple[float, float]],
                        cands: Sequence[Candidate]) -> str | None:  # fmt: skip
        """One fine-tuning run (measured, or read from the cache) and its score; or, when
        its estimated time, plus room to train the final model of any of ``cands``, does
        not fit what is left, why not."""
        d = self.data
        key = cand.unit_key(f"{size}/{f}")
        fixed, rate = cost[cand.name]
        if not self.cached(key, ("score", "seconds")):
            epochs = fine_tune_params(cand, size)["epochs"]
            estimate = fixed + rate * size * epochs
            # and room to train on all rows whichever tuned candidate is recommended
            final = max(self.final_cost(c, cost) for c in cands)
            if estimate + final > self.left() or self.left() <= 0:
                return (f"n={size} fold {f + 1}: needs ~{estimate:.0f}s (+ ~{final:.0f}s to "
                        f"train the final model), {max(self.left(), 0):.0f}s left")  # fmt: skip
            train, test = d.folds[f]
            idx = d.subsample(train, size, self.random_state + f)
            t0 = time.perf_counter()
            acc = self.fine_tune_once(cand, idx, test)
            seconds = time.perf_counter() - t0
            self.remember(key, {"score": acc, "seconds": seconds})
            self.log(f"  {cand.name} n={size} fold {f + 1}: {acc:.1f} ({seconds:.0f}s)")
        rec = self.results[key]
        # what the run measured, less the fixed part (at least a tenth of the run)
        variable = max(rec["seconds"] - fixed, 0.1 * rec["seconds"])
        cost[cand.name] = (fixed, variable / (size * fine_tune_params(cand, size)["epochs"]))
        cand.scores.setdefault(size, []).append(rec["score"])
        cand.folds.setdefault(size, []).append(f)
        if size == d.sizes[-1]:
            cand.train_seconds.append(rec["seconds"])
        return None

    def final_cost(self, cand: Candidate, cost: dict[str, tuple[float, float]]) -> float:
        """Estimated seconds to fine-tune ``cand`` on every row (the saved model)."""
        fixed, rate = cost[cand.name]
        n_all = len(self.data.y)
        return fixed + rate * n_all * fine_tune_params(cand, n_all)["epochs"]

    def fine_tune_once(self, cand: Candidate, idx: np.ndarray, test: np.ndarray) -> float:
        from embeddings.training.finetune import fine_tune

        d = self.data
        clf = fine_tune(cand.encoder, d.rows(idx), d.y[idx], **fine_tune_params(cand, len(idx)),
                        random_state=self.random_state)  # fmt: skip
        predicted = clf.predict(d.rows(test))
        return 100.0 * float(np.mean(predicted == d.y[test]))


def _finite(value: Any) -> bool:
    """A finite int or float (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _fit_linear(X: Any, X_test: Any, y: np.ndarray, y_test: np.ndarray,
                random_state: int) -> tuple[float, float]:  # fmt: skip
    """Accuracy (points) of logistic regression, C chosen by an inner stratified CV."""
    from evaluators.heads import fit_logreg_selected

    head, C = fit_logreg_selected(X, y, random_state=random_state)
    return 100.0 * float(np.mean(head.predict(X_test) == y_test)), C


# ------------------------------------------------------------------ entry
def advise(
    task: Any,
    *,
    budget: float | str = "20m",
    candidates: Sequence[str] | None = None,
    fine_tuning: bool = True,
    folds: int = 5,
    random_state: int = 0,
    cache_dir: str | Path | None = None,
    out: str | Path | None = None,
    show_progress: bool = True,
) -> Advice:
    """Measure which encoder, frozen or fine-tuned, suits ``task``'s labelled rows.

    Args:
        task: a classification or pair-classification :class:`~benchmarks.tasks.Task`
            (``Task.from_file("my.tsv")``), or a task name.
        budget: time budget: seconds, or ``"90s"``, ``"20m"``, ``"1h"``.
        candidates: frozen encoder presets to try (default :func:`default_candidates`).
        fine_tuning: also try contrastive fine-tuning and top-2 unfreezing of the best
            fine-tunable frozen encoder.
        folds: stratified cross-validation folds (fewer only when there are fewer than
            ``2 * folds`` rows, or when no class has ``folds`` rows; a class with fewer
            rows than folds is absent from some test folds).
        random_state: seeds folds, subsamples, heads and fine-tuning.
        cache_dir: vectors and unit scores (default: transferkit's cache folder).
        out: folder for ``advice.json``, ``advice.md``, ``curves.png`` and the
            recommended model (``model/``), trained on all the rows.
        show_progress: print one line per step on stderr.

    Returns:
        an :class:`Advice`; ``print(advice.table())`` and ``advice.recommendation``.

    Raises:
        InvalidParameterError: a bad budget, an unknown candidate or one that must first
            be fitted or trained (see :func:`check_candidates`), a task of another type.
        InvalidInputError: a class with fewer than two rows.

    Example:
        >>> advice = advise(task, budget="10m", out="advice")      # doctest: +SKIP
        >>> print(advice.recommendation)                            # doctest: +SKIP
    """
    import sys

    from benchmarks.advice_report import finish
    from embeddings.cache import default_cache_dir

    seconds = parse_budget(budget)
    if isinstance(task, str):
        from benchmarks.tasks import get_task

        task = get_task(task)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise InvalidParameterError(f"folds must be an int >= 2, got {folds!r}")
    names = list(candidates) if candidates is not None else default_candidates()
    check_candidates(names)

    def log(line: str) -> None:
        if show_progress:
            print(line, file=sys.stderr, flush=True)

    kind, data = _prepare(task, folds, random_state)
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    runner = _Runner(data, seconds, root, random_state, log)
    advice = Advice(task.metadata.name, kind, len(data.y), len(data.classes), data.sizes,
                    len(data.folds), seconds, random_state=random_state)  # fmt: skip
    log(f"advise {advice.task}: {advice.n_labels} labelled rows, {advice.n_classes} classes, "
        f"{advice.folds}-fold CV, sizes {data.sizes}, budget {seconds:.0f}s")  # fmt: skip
    base = Candidate("tfidf", "tfidf")
    runner.tfidf(base)
    advice.candidates.append(base)
    for name in names:
        cand = Candidate(f"frozen:{name}", "frozen", name)
        log(f"  {cand.name}")
        if runner.left() <= 0:
            cand.skipped.append("budget spent before it started")
        else:
            runner.frozen(cand)
        advice.candidates.append(cand)
    tunable = [c for c in advice.candidates if c.scores and fine_tunable(c.encoder)]
    if fine_tuning and tunable:
        best = to_fine_tune(tunable, data.sizes[-1], len(data.y), runner.left(),
                            pairs=data.pairs is not None)  # fmt: skip
        tuned = [Candidate(f"contrastive:{best.encoder}", "contrastive", best.encoder),
                 Candidate(f"top2:{best.encoder}", "top2", best.encoder)]  # fmt: skip
        for c in tuned:
            c.encode_ms_per_1000, c.size_mb, c.weights = (
                best.encode_ms_per_1000, best.size_mb, best.weights)  # fmt: skip
        for c in tuned:  # the settings of the model trained on all rows
            c.params["fine_tune"] = fine_tune_params(c, len(data.y))
        runner.fine_tune_units(tuned)
        advice.candidates.extend(tuned)
    advice.seconds = time.perf_counter() - runner.started
    used = sum(len(v) for c in advice.candidates for v in c.scores.values())
    advice.runs = {"measured": runner.new_runs, "from_cache": used - runner.new_runs}
    return finish(advice, data, out, log)
