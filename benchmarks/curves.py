"""Learning curves: when does transfer pay off?

For a classification task and growing labelled-set sizes, :func:`run_curve` trains
each method on seeded, stratified subsamples of the training split (one run per
seed) and scores it on the test split:

* ``tfidf``: TF-IDF (fitted on the subsample) + logistic regression, from scratch;
* ``frozen``: a pretrained encoder's frozen vectors + logistic regression (only the
  training texts that the runs use, plus dev and test, are encoded, once, through
  the embedding cache);
* ``finetune``: :func:`embeddings.training.fine_tune` with the top layers unfrozen;
* ``scratch``: the same architecture from random init, trained fully (no transfer).

:func:`load_splits` gives train/dev/test of a task (carving dev/test when the task
has none, capping them with fixed stratified subsamples), :func:`curve_summary`
turns runs into the mean, spread and range per (method, size), and
:func:`plot_curve` / :func:`format_table` show them.  Accuracies are points, 0-100
(test accuracy in %), as everywhere in transferkit; every run record says so with
``"score_scale": 100``, and runs of an older curve file without it (0-1) are
converted when they are resumed.  ``transferkit curve``
(:mod:`benchmarks.commands.curve`) is the command-line front end.

Example:
    >>> rows = [{"method": "tfidf", "size": 50, "accuracy": a} for a in (50.0, 60.0)]
    >>> curve_summary(rows)[0]["mean"]
    55.0
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict

import numpy as np

from embeddings.errors import InvalidParameterError
from evaluators.metrics import SCORE_SCALE, points
from evaluators.pairs import PairFeatures

__all__ = [
    "DEFAULT_DEV_MAX",
    "DEFAULT_TEST_MAX",
    "LABELS",
    "METHODS",
    "CurvePoint",
    "Split",
    "curve_summary",
    "describe_splits",
    "format_table",
    "load_encoder",
    "load_splits",
    "plot_curve",
    "run_curve",
    "run_in_points",
]

METHODS: tuple[str, ...] = ("tfidf", "frozen", "finetune", "scratch")
LABELS = {
    "tfidf": "TF-IDF + LR (scratch)",
    "frozen": "frozen {enc} + LR",
    "finetune": "fine-tune {enc} (top {k})",
    "scratch": "{enc} architecture, random init",
}
Split = tuple[list[str], np.ndarray]
#: default caps of the dev and test sets of ``transferkit curve`` and ``finetune``
DEFAULT_DEV_MAX = 500
DEFAULT_TEST_MAX = 1000


class CurvePoint(TypedDict):
    """Mean and spread of one method at one labelled-set size."""

    method: str
    size: int
    mean: float
    std: float
    min: float
    max: float
    n_seeds: int


def curve_summary(records: Sequence[dict[str, Any]], *, key: str = "accuracy") -> list[CurvePoint]:
    """Aggregate per-seed results into mean/std/min/max per (method, size).

    Args:
        records: dicts with ``method``, ``size`` and ``key`` (e.g. one per seed).
        key: the score to aggregate.

    Returns:
        one :class:`CurvePoint` per (method, size), sorted by method then size.

    Example:
        >>> rows = [{"method": "a", "size": 10, "accuracy": x} for x in (50.0, 70.0)]
        >>> p = curve_summary(rows)[0]
        >>> p["mean"], p["n_seeds"]
        (60.0, 2)
    """
    groups: dict[tuple[str, int], list[float]] = {}
    for rec in records:
        groups.setdefault((str(rec["method"]), int(rec["size"])), []).append(float(rec[key]))
    out: list[CurvePoint] = []
    for (method, size), values in sorted(groups.items()):
        arr = np.asarray(values)
        out.append(
            {"method": method, "size": size, "mean": round(float(arr.mean()), 6),
             "std": round(float(arr.std()), 6), "min": float(arr.min()),
             "max": float(arr.max()), "n_seeds": int(arr.size)}
        )  # fmt: skip
    return out


def run_in_points(record: Mapping[str, Any]) -> dict[str, Any]:
    """One curve run with its accuracies in points, whatever version wrote it.

    A run without ``"score_scale": 100`` (written when curves reported fractions) has
    ``accuracy`` and ``dev_accuracy`` multiplied by 100.

    Example:
        >>> run_in_points({"method": "tfidf", "size": 50, "seed": 0, "accuracy": 0.75,
        ...                "dev_accuracy": None})["accuracy"]
        75.0
    """
    out = dict(record)
    if out.get("score_scale") == SCORE_SCALE:
        return out
    for key in ("accuracy", "dev_accuracy"):
        value = out.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = points(value)
    out["score_scale"] = SCORE_SCALE
    return out


# --------------------------------------------------------------------- data
def encode_features(
    encode: Callable[[list[str]], Any],
    rows: Sequence[str] | Sequence[tuple[str, str]],
    *,
    features: PairFeatures = "infersent",
) -> Any:
    """The vectors of texts, or the pair features ``[u, v, |u-v|, u*v]`` of
    ``(text_a, text_b)`` pairs (:func:`evaluators.pair_features`).

    Rows are pairs when the first is a tuple; each side is then encoded in one call.

    Args:
        encode: an encoder's ``encode`` (texts to an ``(n, dim)`` array).
        rows: texts, or ``(text_a, text_b)`` tuples.
        features: the pair combination (see :func:`evaluators.pair_features`).

    Example:
        >>> enc = lambda texts: np.array([[float(len(t))] for t in texts])
        >>> encode_features(enc, ["ab", "c"]).tolist()
        [[2.0], [1.0]]
        >>> encode_features(enc, [("ab", "c")]).tolist()
        [[2.0, 1.0, 1.0, 2.0]]
    """
    rows = list(rows)
    if not rows or not isinstance(rows[0], tuple):
        return encode(rows)  # type: ignore[arg-type]
    a = encode([r[0] for r in rows])
    from evaluators.pairs import pair_features

    return pair_features(a, encode([r[1] for r in rows]), features=features)


def load_splits(
    task_name: str, *, dev_size: int = 500, dev_max: int | None = None,
    test_max: int | None = None, split_seed: int = 0, pairs: bool = False,
) -> tuple[Split, Split, Split, dict[str, Any]]:  # fmt: skip
    """Train, dev and test ``(texts, labels)`` of a classification task.

    SST2 uses its 6920 full training sentences.  Missing dev (and test) splits are
    carved from train with a stratified, seeded subsample (``split_seed``).  With
    ``pairs`` a pair-classification task (MRPC, SICK-E ...) is taken too, its texts as
    ``(text_a, text_b)`` pairs (what fine-tuning on pairs reads).

    Returns:
        ``train, dev, test, info`` where ``info`` says how each split was made.

    Raises:
        InvalidParameterError: the task is not a single-text classification task.
    """
    from benchmarks.tasks import ClassificationTask, PairClassificationTask, get_task
    from embeddings.training.finetune import stratified_subsample

    params = {"train_file": "sentences"} if task_name.strip().lower() == "sst2" else {}
    task = get_task(task_name, **params)
    kinds = (ClassificationTask, PairClassificationTask) if pairs else (ClassificationTask,)
    if not isinstance(task, kinds):
        wanted = " or a pair-classification task (MRPC, SICK-E)" if pairs else ""
        raise InvalidParameterError(
            f"{task.metadata.name} is a {task.metadata.family} task; this needs a "
            f"single-text classification task (e.g. SST2, TREC, MR, SUBJ){wanted}"
        )
    splits = task.metadata.splits
    info: dict[str, Any] = {"task": task.metadata.name, "version": task.metadata.version}

    def as_split(data: Any) -> Split:
        if isinstance(task, PairClassificationTask):
            return list(zip(data.texts_a, data.texts_b, strict=True)), np.asarray(data.labels)
        return list(data.texts), np.asarray(data.labels)

    def carve(pool: Split, size: int, what: str) -> tuple[Split, Split]:
        idx = stratified_subsample(pool[1], size, split_seed)
        mask = np.ones(len(pool[0]), dtype=bool)
        mask[idx] = False
        rest = np.flatnonzero(mask)
        info[what] = f"carved {idx.size} from train (stratified, seed {split_seed})"
        return ([pool[0][i] for i in rest], pool[1][rest]), (
            [pool[0][i] for i in idx],
            pool[1][idx],
        )

    train = as_split(task.load("train" if "train" in splits else "all"))
    if "test" in splits:
        test = as_split(task.load("test"))
        info["test"] = "test split"
    else:
        train, test = carve(train, max(len(train[0]) // 5, 2), "test")
    if "dev" in splits:
        dev = as_split(task.load("dev"))
        info["dev"] = "dev split"
    else:
        train, dev = carve(train, dev_size, "dev")

    def cap(split: Split, limit: int | None, what: str) -> Split:
        if limit is None or limit >= len(split[0]):
            return split
        idx = stratified_subsample(split[1], limit, split_seed)
        info[what] += f", capped to {idx.size} (stratified, seed {split_seed})"
        return [split[0][i] for i in idx], split[1][idx]

    dev = cap(dev, dev_max, "dev")
    test = cap(test, test_max, "test")
    info.update(n_train=len(train[0]), n_dev=len(dev[0]), n_test=len(test[0]))
    return train, dev, test, info


def describe_splits(info: Mapping[str, Any]) -> str:
    """One line on the sizes of the splits and how dev and test were made.

    Example:
        >>> describe_splits({"task": "SST2", "n_train": 6920, "n_dev": 500, "n_test": 1000,
        ...                  "dev": "dev split, capped to 500", "test": "test split"})
        'SST2: 6920 train, 500 dev (dev split, capped to 500), 1000 test (test split)'
    """
    return (
        f"{info['task']}: {info['n_train']} train, {info['n_dev']} dev ({info['dev']}), "
        f"{info['n_test']} test ({info['test']})"
    )


def load_encoder(name: str, max_seq_length: int | None) -> Any:
    """A preset (``"name:key=value"`` sets a parameter, as in ``bench --encoders``) or a
    saved encoder's folder, truncating at ``max_seq_length`` when it has the knob.

    Example:
        >>> load_encoder("minilm-l6:normalize=false", 32).get_params()["max_seq_length"]
        32
    """
    import embeddings

    encoder = embeddings.load(name)  # a preset, a "name:key=value" spec or a saved folder
    if max_seq_length is not None and "max_seq_length" in encoder.get_params(deep=False):
        encoder.set_params(max_seq_length=max_seq_length)
    return encoder


# ------------------------------------------------------------------- output
def _methods(summary: Sequence[Mapping[str, Any]]) -> list[str]:
    """The methods of ``summary``: those of :data:`METHODS` in its order, then the others
    (e.g. ``frozen`` runs of a second encoder renamed by the caller) as they come."""
    present = list(dict.fromkeys(str(p["method"]) for p in summary))
    return [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]


def plot_curve(
    summary: Sequence[Mapping[str, Any]],
    path: Path,
    *,
    title: str,
    labels: Mapping[str, str],
    show: bool = False,
) -> Path:
    """Accuracy (points) vs labelled examples (log x), mean and min-max band per method.

    The figure is :func:`benchmarks.plots.curve_figure`: plain tick numbers, the
    range over seeds shaded, the legend outside the lines.

    Args:
        summary: points from :func:`curve_summary`.
        path: the PNG to write.
        title: the plot title.
        labels: legend text per method (the method name otherwise).
        show: keep the figure open for a notebook to display (default: closed).

    Returns:
        ``path``.
    """
    from benchmarks.plots import curve_figure, save_figure

    fig = curve_figure(summary, title=title, labels=labels, methods=_methods(summary))
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_figure(fig, path, keep_open=show)


def format_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table: one row per size, ``mean ± std (n)`` per method, in points.

    Example:
        >>> print(format_table([{"method": "tfidf", "size": 50, "mean": 61.25, "std": 1.5,
        ...                      "n_seeds": 3}]))
        size             tfidf
          50  61.25 ± 1.50 (3)
    """
    methods = _methods(summary)
    sizes = sorted({p["size"] for p in summary})
    cell = {(p["method"], p["size"]): p for p in summary}
    head = ["size", *methods]
    rows = [head]
    for size in sizes:
        row = [str(size)]
        for m in methods:
            p = cell.get((m, size))
            row.append("-" if p is None else f"{p['mean']:.2f} ± {p['std']:.2f} ({p['n_seeds']})")
        rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


# ------------------------------------------------------------------ the runs
def _lr_scores(Xtr: Any, ytr: Any, Xdv: Any, ydv: Any, Xte: Any, yte: Any, seed: int) -> dict:
    from evaluators import evaluate_classification_split

    s = evaluate_classification_split(Xtr, ytr, Xdv, ydv, Xte, yte, random_state=seed)
    return {"accuracy": s["accuracy"], "dev_accuracy": s["dev_accuracy"], "C": s["C"]}


def run_curve(
    train: Split,
    dev: Split,
    test: Split,
    *,
    encoder: str,
    sizes: Sequence[int | None],
    seeds: int,
    methods: Sequence[str],
    unfreeze: int | Literal["all"] = 2,
    finetune_seeds: int | None = None,
    finetune_max_size: int | None = 1000,
    max_seq_length: int | None = 64,
    ft_options: dict[str, Any] | None = None,
    scratch_lr: float | None = None,
    cache_dir: str | None = None,
    done: Sequence[dict[str, Any]] = (),
    on_record: Any = None,
    log: Any = None,
    show_progress: bool = False,
) -> list[dict[str, Any]]:
    """Run every (method, size, seed) not in ``done``; returns all records.

    Args:
        train, dev, test: ``(texts, labels)``; on a pair-classification task the texts
            are ``(text_a, text_b)`` tuples: ``tfidf`` and ``frozen`` then train on the
            pair features ``[u, v, |u-v|, u*v]``, and the torch methods on the pairs.
        encoder: preset name or saved folder of the pretrained encoder.
        sizes: labelled-set sizes (``None``: all of train).
        seeds: seeds ``0..seeds-1`` (subsample, LR, fine-tuning).
        methods: subset of :data:`METHODS`.
        unfreeze: top layers trained by ``finetune``.
        finetune_seeds: seeds for the torch methods (default ``seeds``).
        finetune_max_size: skip torch methods above this size (``None``: no limit).
        max_seq_length: truncation for the pretrained encoder (all its methods).
        ft_options: extra :func:`~embeddings.training.finetune.fine_tune` keywords.
        scratch_lr: encoder learning rate of ``scratch`` (default: the
            ``learning_rate`` of ``ft_options``).
        cache_dir: embedding cache folder for ``frozen`` (``None``: the default).
        done: records from an earlier run (skipped).
        on_record: called with the record list after each new run.
        log: a ``print``-like function for progress lines.
        show_progress: progress of encoding, training and every evaluation pass.

    Example:
        >>> recs = run_curve(train, dev, test, encoder="minilm-l6", sizes=[50],
        ...                  seeds=1, methods=["tfidf"])   # doctest: +SKIP
    """
    from embeddings.adapters.baselines import TfidfEncoder
    from embeddings.cache import CachedEncoder
    from embeddings.training.finetune import fine_tune, stratified_subsample

    log = log or (lambda *a: None)
    records = [run_in_points(r) for r in done]
    have = {(r["method"], r["size"], r["seed"]) for r in records}
    ytr, ydv, yte = train[1], dev[1], test[1]
    n_total = len(train[0])
    pairs = n_total > 0 and isinstance(train[0][0], tuple)  # a pair-classification task
    frozen_X: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    frozen_row = np.full(n_total, -1, dtype=np.int64)  # train row -> row of frozen_X[0]
    ft = dict(ft_options or {})
    ft.setdefault("show_progress", show_progress)
    n_ft_seeds = seeds if finetune_seeds is None else finetune_seeds

    def size_of(size: int | None) -> int:
        return n_total if size is None or size >= n_total else int(size)

    def frozen_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectors of the training rows that the pending frozen runs use, dev and test."""
        pending = [
            stratified_subsample(ytr, size_of(size), seed)
            for size in sizes
            for seed in range(seeds)
            if ("frozen", size_of(size), seed) not in have
        ]
        rows = np.unique(np.concatenate(pending))
        frozen_row[rows] = np.arange(rows.size)
        cached = CachedEncoder(load_encoder(encoder, max_seq_length), cache_dir)
        what = "pairs" if pairs else "texts"
        log(
            f"frozen {encoder}: encoding the {rows.size} training {what} the runs use (of "
            f"{n_total}), {len(dev[0])} dev and {len(test[0])} test {what}"
        )

        def encode(texts: list[str]) -> np.ndarray:
            return cached.encode(texts, show_progress=show_progress)

        return (
            encode_features(encode, [train[0][i] for i in rows]),
            encode_features(encode, dev[0]),
            encode_features(encode, test[0]),
        )

    for size in sizes:
        n = size_of(size)
        for method in methods:
            torch_method = method in ("finetune", "scratch")
            if torch_method and finetune_max_size is not None and n > finetune_max_size:
                continue
            for seed in range(n_ft_seeds if torch_method else seeds):
                if (method, n, seed) in have:
                    continue
                idx = stratified_subsample(ytr, n, seed)
                sub_texts = [train[0][i] for i in idx]
                t0 = time.perf_counter()
                rec: dict[str, Any] = {"method": method, "size": n, "seed": seed}
                if method == "tfidf":
                    # fitted on every text of the sample (both sides of its pairs)
                    enc = TfidfEncoder().fit([t for r in sub_texts for t in r] if pairs
                                             else sub_texts)  # fmt: skip
                    rec.update(
                        _lr_scores(
                            encode_features(enc.encode, sub_texts), ytr[idx],
                            encode_features(enc.encode, dev[0]), ydv,
                            encode_features(enc.encode, test[0]), yte, seed,
                        )
                    )  # fmt: skip
                elif method == "frozen":
                    if frozen_X is None:
                        frozen_X = frozen_vectors()
                    Xtr, Xdv, Xte = frozen_X
                    rows = frozen_row[idx]
                    rec.update(_lr_scores(Xtr[rows], ytr[idx], Xdv, ydv, Xte, yte, seed))
                else:
                    kw = dict(ft)
                    if method == "scratch":
                        kw.update(unfreeze="all", init="random")
                        if scratch_lr is not None:
                            kw["learning_rate"] = scratch_lr
                    else:
                        kw.update(unfreeze=unfreeze)
                    clf = fine_tune(
                        load_encoder(encoder, max_seq_length), sub_texts, ytr[idx],
                        dev_texts=dev[0], dev_labels=ydv, random_state=seed, **kw,
                    )  # fmt: skip
                    # the classifier's score() is a fraction (scikit-learn's contract);
                    # its history and the curve report points
                    rec.update(
                        accuracy=points(clf.score(test[0], yte, show_progress=show_progress)),
                        dev_accuracy=clf.history_[clf.best_epoch_]["val_accuracy"],
                        best_epoch=clf.best_epoch_,
                        epochs=len(clf.history_) - 1,
                        train_seconds=round(clf.train_seconds_, 2),
                    )
                rec["seconds"] = round(time.perf_counter() - t0, 2)
                rec["score_scale"] = SCORE_SCALE
                records.append(rec)
                have.add((method, n, seed))
                log(
                    f"{method:>8} n={n:<5} seed={seed} acc={rec['accuracy']:.2f} "
                    f"dev={rec['dev_accuracy']:.2f} ({rec['seconds']:.1f}s)"
                )
                if on_record is not None:
                    on_record(records)
    return records
