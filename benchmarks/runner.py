"""Run a suite: every (encoder, task) pair becomes one JSON result file.

For each encoder and each :class:`~benchmarks.suites.SuiteTask` the runner loads
the task's splits, encodes the texts through the embedding cache
(:class:`~embeddings.cache.CachedEncoder`), evaluates them with the head of the
task's family (:mod:`evaluators`) and writes the result atomically to
``<out_dir>/<task label>__v<task version>__<config hash>__<encoder>__<fingerprint>.json``.

* **Resume.**  A result file that exists, parses, has this schema version and this
  toolkit version is skipped; anything else is recomputed (``force=True``
  recomputes everything).
* **Failures.**  An encoder that cannot be built or loaded, or a task that fails,
  is reported (message and exception type) and the run goes on with the rest.
  Nothing is written for a failed pair, so the next run retries it.
* **Trainable encoders** (TF-IDF, LSA, SIF/uSIF poolings, corpus-trained nets) are
  fitted on training texts only (house rule 8):

  - split tasks: the ``train`` split (both sides of the pairs for pair tasks);
  - cross-validation tasks (MR, CR, SUBJ, MPQA, AGNews): **once per outer fold**,
    on that fold's training part, with the same outer folds and inner C grid as
    :func:`~evaluators.classification.evaluate_classification_cv` (so a frozen
    encoder gets exactly the numbers of the one-shot nested CV);
  - tasks without a training split (STS12-16, clustering of a test-only corpus):
    the first :data:`UNLABELED_FIT_TEXTS` sentences of the out-of-domain unlabeled
    corpus ``<data>/unlabeled/brown`` (never the scored texts); the result records
    which texts were used.

  Fitted encoders are cached correctly because the cache key (the fingerprint)
  covers the fitted state.  Frozen encoders are fitted on nothing.

Example:
    >>> from benchmarks.runner import parse_encoder_spec
    >>> parse_encoder_spec("glove-6b-50d:pooling=sif:sif_a=0.001")
    ('glove-6b-50d', {'pooling': 'sif', 'sif_a': 0.001})
    >>> summary = run_suite("quick", ["glove-6b-50d"], "results/")   # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np

from benchmarks.suites import Suite, SuiteTask, get_suite
from embeddings._atomic import atomic_write_text
from embeddings.errors import InvalidInputError, InvalidParameterError

__all__ = [
    "RESULT_FORMAT",
    "SCHEMA_VERSION",
    "UNLABELED_FIT_TEXTS",
    "EncoderInfo",
    "FailureInfo",
    "FitPolicy",
    "ProtocolInfo",
    "ResultRecord",
    "RunSummary",
    "TaskInfo",
    "Timings",
    "evaluate_task",
    "parse_encoder_spec",
    "result_path",
    "run_suite",
    "toolkit_version",
]

RESULT_FORMAT = "transferkit-benchmark-result"
SCHEMA_VERSION = 1
"""Bump when the layout of :class:`ResultRecord` changes."""

UNLABELED_FIT_TEXTS = 20000
"""Sentences of ``unlabeled/brown`` that trainable encoders fit on when a task has no
training split."""

FitPolicy = Literal["none", "train", "per_fold", "unlabeled", "pretrained"]
"""What a trainable encoder was fitted on: nothing (frozen encoder), the train split,
each outer fold's training part, or the unlabeled corpus."""


class TaskInfo(TypedDict):
    """The task part of a result."""

    name: str
    label: str
    version: str
    family: str
    eval_protocol: str
    main_score: str
    params: dict[str, Any]
    config: dict[str, Any]
    config_hash: str


class EncoderInfo(TypedDict):
    """The encoder part of a result; ``fingerprint`` is that of the unfitted encoder."""

    label: str
    name: str
    spec: str
    class_path: str
    fingerprint: str
    params: dict[str, Any]
    dim: int | None
    trainable: bool


class ProtocolInfo(TypedDict):
    """How the score was obtained (enough to reproduce it)."""

    evaluator: str
    head: str | None
    seed: int
    n_folds: int | None
    c_grid: list[float] | None
    selection: str | None
    pair_features: str | None
    min_score: int | None
    fit: FitPolicy
    fit_texts: int
    fit_source: str | None
    max_samples: dict[str, int]
    data_verified: bool
    features: NotRequired[str]


class Timings(TypedDict):
    """Seconds spent per stage (the encoder's weights load in the first encode/fit)."""

    fit_s: float
    encode_s: float
    evaluate_s: float
    total_s: float


class ResultRecord(TypedDict):
    """One result file."""

    format: str
    schema_version: int
    toolkit_version: str
    created: str
    key: str
    task: TaskInfo
    encoder: EncoderInfo
    protocol: ProtocolInfo
    n_samples: dict[str, int]
    main_score: float
    scores: dict[str, Any]
    timings: Timings
    environment: dict[str, Any]


class FailureInfo(TypedDict):
    """A pair that could not be computed."""

    encoder: str
    task: str
    error: str
    error_type: str


class RunSummary(TypedDict):
    """What :func:`run_suite` did."""

    suite: str
    out_dir: str
    computed: list[str]
    skipped: list[str]
    failed: list[FailureInfo]
    wall_s: float


# ------------------------------------------------------------------ helpers


def toolkit_version() -> str:
    """The transferkit version recorded in every result.

    Example:
        >>> toolkit_version().count(".") >= 1
        True
    """
    from embeddings import __version__

    return str(__version__)


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_encoder_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name:key=value:key=value"`` into a preset name and overrides.

    Values are read as JSON where they parse (numbers, ``true``, ``null``), else kept
    as strings.  This is how a variant without a preset of its own is named on the
    command line, e.g. ``glove-6b-50d:pooling=sif``.

    Raises:
        InvalidParameterError: an empty name or an override without ``=``.

    Example:
        >>> parse_encoder_spec("tfidf:max_features=2000")
        ('tfidf', {'max_features': 2000})
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError(f"encoder spec must be a non-empty str, got {spec!r}")
    name, *parts = spec.strip().split(":")
    overrides: dict[str, Any] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise InvalidParameterError(
                f"encoder spec {spec!r}: {part!r} is not key=value; write e.g. "
                "'glove-6b-50d:pooling=sif'"
            )
        overrides[key.strip()] = _parse_value(value.strip())
    if not name:
        raise InvalidParameterError(f"encoder spec {spec!r} has no encoder name")
    return name, overrides


_SLUG_RE = re.compile(r"[^A-Za-z0-9._-]+")


def _slug(text: str) -> str:
    return _SLUG_RE.sub("-", text).strip("-") or "x"


def result_path(
    out_dir: str | os.PathLike[str],
    entry: SuiteTask,
    task_version: str,
    encoder_label: str,
    fingerprint: str,
) -> Path:
    """The result file of one (suite entry, encoder) pair.

    The name holds the entry label, the task version, the first 12 hex digits of the
    entry's configuration hash, the encoder label and the first 16 of its fingerprint.

    Example:
        >>> from benchmarks.suites import SuiteTask
        >>> result_path("r", SuiteTask("MR"), "1", "glove-6b-50d", "ab" * 32).name[:16]
        'MR__v1__630e26f0'
    """
    name = (
        f"{_slug(entry.label)}__v{_slug(task_version)}__{entry.config_hash()[:12]}__"
        f"{_slug(encoder_label)}__{fingerprint[:16]}.json"
    )
    return Path(out_dir) / name


def _write_json_atomic(path: Path, payload: Any) -> None:
    text = json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=True) + "\n"
    atomic_write_text(path, text)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _is_current(path: Path) -> bool:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (
        isinstance(record, dict)
        and record.get("format") == RESULT_FORMAT
        and record.get("schema_version") == SCHEMA_VERSION
        and record.get("toolkit_version") == toolkit_version()
    )


def _environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }


def unlabeled_texts(
    data_dir: str | os.PathLike[str] | None = None, n: int = UNLABELED_FIT_TEXTS
) -> tuple[list[str], str]:
    """The first ``n`` non-empty lines of ``<data>/unlabeled/brown/*.txt`` (sorted files).

    Returns:
        The texts and a description ``"unlabeled/brown[:n] sha256=<first 12>"``.

    Raises:
        InvalidInputError: the corpus is not in the data folder.
    """
    from benchmarks.tasks import data_dir as default_data_dir

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


# ------------------------------------------------------------------ encoding context


class _Encoding:
    """One encoder during a run: fitting, cached encoding and timing."""

    def __init__(
        self, encoder: Any, *, cache_dir: Any, use_cache: bool, batch_size: int, progress: bool
    ) -> None:
        self.encoder = encoder
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.batch_size = batch_size
        self.progress = progress
        self.fit_s = 0.0
        self.encode_s = 0.0
        self.fit_texts = 0
        self.sparse_used = False
        #: the saved folder of a pretrained encoder: used as it is, never fitted
        self.pretrained_from: str | None = encoder.__dict__.get("_pretrained_from")

    @property
    def trainable(self) -> bool:
        if self.pretrained_from is not None:
            return False
        return bool(getattr(self.encoder, "trainable", False)) or bool(
            getattr(self.encoder, "requires_fit", False)
        )

    def fit(self, texts: Sequence[str]) -> None:
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
                list(texts), batch_size=self.batch_size, show_progress=self.progress
            )
        self.encode_s += time.perf_counter() - start
        return np.asarray(out)


# ------------------------------------------------------------------ evaluation


def _load(task: Any, split: str, entry: SuiteTask, verify: bool) -> Any:
    return task.load(
        split, max_samples=entry.max_samples.get(split), random_state=entry.seed, verify=verify
    )


def _c_grid(head: str, protocol: str) -> list[float] | None:
    if head != "logreg":
        return None
    from evaluators.heads import LOGREG_C_GRID, LOGREG_C_GRID_KFOLD

    return list(LOGREG_C_GRID_KFOLD if protocol == "kfold" else LOGREG_C_GRID)


def _set(protocol: ProtocolInfo, **changes: Any) -> None:
    """Set several protocol fields (TypedDict.update with keywords is not typed)."""
    for key, value in changes.items():
        protocol[key] = value  # type: ignore[literal-required]


def _cv_per_fold(
    enc: _Encoding,
    texts: list[str],
    y: np.ndarray,
    entry: SuiteTask,
    n_folds: int,
    n_jobs: int | None,
) -> dict[str, Any]:
    """SentEval's nested CV with the encoder re-fitted on each outer training part."""
    from sklearn.model_selection import StratifiedKFold

    from evaluators import evaluate_classification_train_test

    c_grid = _c_grid("logreg", "inner_cv")
    grid = {"C": c_grid} if entry.head == "logreg" and c_grid is not None else None
    outer = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=entry.seed)
    folds: list[dict[str, Any]] = []
    for train_idx, test_idx in outer.split(np.zeros((len(y), 1)), y):
        train_texts = [texts[i] for i in train_idx]
        enc.fit(train_texts)
        X_train = enc.encode(train_texts, sparse=True)
        X_test = enc.encode([texts[i] for i in test_idx], sparse=True)
        folds.append(
            dict(
                evaluate_classification_train_test(
                    X_train,
                    y[train_idx],
                    X_test,
                    y[test_idx],
                    n_folds=n_folds,
                    seed=entry.seed,
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


def _fit_unlabeled(enc: _Encoding, data_dir: Any) -> str:
    texts, source = unlabeled_texts(data_dir)
    enc.fit(texts)
    return source


def evaluate_task(
    task: Any,
    entry: SuiteTask,
    enc: _Encoding,
    *,
    verify: bool = True,
    data_dir: Any = None,
    n_jobs: int | None = None,
) -> tuple[dict[str, Any], dict[str, int], ProtocolInfo]:
    """Load, (fit,) encode and evaluate one task; returns scores, sizes and protocol.

    This is the per-family dispatch.  The evaluators are those of :mod:`evaluators`
    with SentEval's defaults; see the module docstring for what is fitted on what.
    """
    import evaluators

    meta = task.metadata
    trainable = enc.trainable
    n_folds = entry.n_folds if entry.n_folds is not None else (meta.cv_folds or 10)
    protocol: ProtocolInfo = {
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
        "data_verified": verify,
    }
    sizes: dict[str, int] = {}
    scores: Mapping[str, Any]
    family = meta.family
    has_dev = "dev" in meta.splits

    if family == "classification" and meta.eval_protocol == "cv":
        data = _load(task, "all", entry, verify)
        sizes["all"] = len(data)
        _set(
            protocol,
            evaluator="evaluate_classification_cv",
            n_folds=n_folds,
            c_grid=_c_grid(entry.head, "inner_cv"),
            selection="inner_cv",
        )
        if trainable:
            _set(protocol, fit="per_fold", fit_source="outer-fold training part")
            scores = _cv_per_fold(enc, list(data.texts), data.labels, entry, n_folds, n_jobs)
            protocol["fit_texts"] = enc.fit_texts
        else:
            X_all = enc.encode(data.texts, sparse=True)
            scores = dict(
                evaluators.evaluate_classification_cv(
                    X_all,
                    data.labels,
                    n_folds=n_folds,
                    seed=entry.seed,
                    head=entry.head,
                    n_jobs=n_jobs,
                )
            )
        return scores, sizes, protocol

    if family in ("classification", "pair_classification", "similarity"):
        splits = ("train", "dev", "test") if has_dev else ("train", "test")
        data = {s: _load(task, s, entry, verify) for s in splits}
        sizes.update({s: len(d) for s, d in data.items()})
        pairs = family != "classification"

        def texts_of(d: Any) -> list[list[str]]:
            return [list(d.texts_a), list(d.texts_b)] if pairs else [list(d.texts)]

        if trainable:
            fit_texts = [t for part in texts_of(data["train"]) for t in part]
            enc.fit(fit_texts)
            _set(protocol, fit="train", fit_texts=len(fit_texts), fit_source="train split")
        sparse = family != "similarity"  # the relatedness regressor needs dense input
        X = {s: [enc.encode(part, sparse=sparse) for part in texts_of(d)] for s, d in data.items()}
        if family == "similarity":
            min_score = entry.min_score if entry.min_score is not None else 1
            _set(
                protocol,
                evaluator="evaluate_relatedness",
                head="senteval-softmax",
                min_score=min_score,
                pair_features="senteval",
                selection="dev",
            )
            scores = evaluators.evaluate_relatedness(
                X["train"][0],
                X["train"][1],
                data["train"].scores,
                X["dev"][0],
                X["dev"][1],
                data["dev"].scores,
                X["test"][0],
                X["test"][1],
                data["test"].scores,
                min_score=min_score,
                max_score=5,
                seed=entry.seed,
            )
            return dict(scores), sizes, protocol
        kind = "split" if has_dev else "kfold"
        _set(
            protocol,
            c_grid=_c_grid(entry.head, kind),
            selection="dev" if has_dev else "cv",
            n_folds=None if has_dev else n_folds,
        )
        if family == "classification":
            y = {s: d.labels for s, d in data.items()}
            if has_dev:
                protocol["evaluator"] = "evaluate_classification_split"
                scores = evaluators.evaluate_classification_split(
                    X["train"][0],
                    y["train"],
                    X["dev"][0],
                    y["dev"],
                    X["test"][0],
                    y["test"],
                    seed=entry.seed,
                    head=entry.head,
                    n_jobs=n_jobs,
                )
            else:
                protocol["evaluator"] = "evaluate_classification_train_test"
                scores = evaluators.evaluate_classification_train_test(
                    X["train"][0],
                    y["train"],
                    X["test"][0],
                    y["test"],
                    n_folds=n_folds,
                    seed=entry.seed,
                    head=entry.head,
                    n_jobs=n_jobs,
                )
            return dict(scores), sizes, protocol
        protocol["pair_features"] = entry.pair_features
        y = {s: d.labels for s, d in data.items()}
        if has_dev:
            protocol["evaluator"] = "evaluate_pairs_split"
            scores = evaluators.evaluate_pairs_split(
                X["train"][0],
                X["train"][1],
                y["train"],
                X["dev"][0],
                X["dev"][1],
                y["dev"],
                X["test"][0],
                X["test"][1],
                y["test"],
                features=entry.pair_features,
                seed=entry.seed,
                head=entry.head,
                n_jobs=n_jobs,
            )
        else:
            protocol["evaluator"] = "evaluate_pairs_train_test"
            scores = evaluators.evaluate_pairs_train_test(
                X["train"][0],
                X["train"][1],
                y["train"],
                X["test"][0],
                X["test"][1],
                y["test"],
                features=entry.pair_features,
                n_folds=n_folds,
                seed=entry.seed,
                head=entry.head,
                n_jobs=n_jobs,
            )
        return dict(scores), sizes, protocol

    if family == "sts":
        data = _load(task, "test", entry, verify)
        sizes["test"] = len(data)
        _set(protocol, evaluator="evaluate_sts", head=None)
        if trainable:
            _set(
                protocol,
                fit="unlabeled",
                fit_source=_fit_unlabeled(enc, data_dir),
                fit_texts=enc.fit_texts,
            )
        subsets = {
            name: (enc.encode(part.texts_a), enc.encode(part.texts_b), part.scores)
            for name, part in data.by_subset().items()
        }
        return dict(evaluators.evaluate_sts(subsets)), sizes, protocol

    if family == "clustering":
        split = entry.clustering_split
        data = _load(task, split, entry, verify)
        sizes[split] = len(data)
        _set(protocol, evaluator="evaluate_clustering", head=None)
        if trainable:
            if "train" in meta.splits and split != "train":
                train = _load(task, "train", entry, verify)
                enc.fit(list(train.texts))
                _set(protocol, fit="train", fit_texts=len(train), fit_source="train split")
            else:
                _set(
                    protocol,
                    fit="unlabeled",
                    fit_source=_fit_unlabeled(enc, data_dir),
                    fit_texts=enc.fit_texts,
                )
        X_all = enc.encode(data.texts)
        scores = evaluators.evaluate_clustering(
            X_all, data.labels, n_runs=entry.clustering_runs, seed=entry.seed
        )
        return dict(scores), sizes, protocol

    raise InvalidParameterError(f"{meta.name}: no evaluation for family {family!r}")


# ------------------------------------------------------------------ the run


def _saved_folder(spec: str) -> Path | None:
    """The folder of a saved encoder (``encoder.save``/``transferkit train``), if ``spec``
    names one."""
    folder = Path(spec.strip()).expanduser()
    return folder if (folder / "config.json").is_file() else None


def _build_encoder(spec: Any) -> tuple[Any, str, str]:
    """(encoder, label, spec string) from a spec string or an encoder instance.

    A spec that is the folder of a saved encoder loads it as pretrained: it is used
    as it is (never re-fitted on task data), labelled ``saved:<folder name>``.
    """
    if isinstance(spec, str):
        import embeddings

        folder = _saved_folder(spec)
        if folder is not None:
            from embeddings.base import BaseEncoder

            encoder = BaseEncoder.load(folder)
            encoder.__dict__["_pretrained_from"] = str(folder)
            return encoder, f"saved:{folder.resolve().name}", spec.strip()
        name, overrides = parse_encoder_spec(spec)
        encoder = embeddings.load(name, **overrides)
        return encoder, spec.strip(), spec.strip()
    from sklearn.base import clone

    encoder = spec
    if getattr(spec, "requires_fit", False) and getattr(spec, "is_fitted", False):
        encoder = clone(spec)  # start unfitted: the runner fits on training texts only
        preset = spec.__dict__.get("_preset_name")
        if preset:
            encoder._preset_name = preset
    label = str(getattr(encoder, "name", type(encoder).__name__))
    return encoder, label, label


def _encoder_info(encoder: Any, label: str, spec: str, fingerprint: str) -> EncoderInfo:
    params: dict[str, Any] = {}
    if hasattr(encoder, "_json_params"):
        params = encoder._json_params()
    trainable = encoder.__dict__.get("_pretrained_from") is None and bool(
        getattr(encoder, "trainable", False) or getattr(encoder, "requires_fit", False)
    )
    dim: int | None = None
    if not trainable:
        with contextlib.suppress(Exception):
            dim = int(encoder.dim)
    return {
        "label": label,
        "name": str(getattr(encoder, "name", type(encoder).__name__)),
        "spec": spec,
        "class_path": f"{type(encoder).__module__}:{type(encoder).__qualname__}",
        "fingerprint": fingerprint,
        "params": params,
        "dim": dim,
        "trainable": trainable,
    }


def _task_info(task: Any, entry: SuiteTask) -> TaskInfo:
    meta = task.metadata
    return {
        "name": meta.name,
        "label": entry.label,
        "version": meta.version,
        "family": meta.family,
        "eval_protocol": meta.eval_protocol,
        "main_score": meta.main_score,
        "params": _to_jsonable({k: v for k, v in task.get_params().items() if k != "data_dir"}),
        "config": entry.config(),
        "config_hash": entry.config_hash(),
    }


def _say(message: str, log: Callable[[str], None] | None) -> None:
    if log is None:
        return
    log(message)


def _default_log(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


@contextlib.contextmanager
def _bar(total: int, enabled: bool, desc: str) -> Iterator[Any]:
    from tqdm.auto import tqdm

    with tqdm(total=total, disable=not enabled, desc=desc, unit="result", position=0) as bar:
        yield bar


def run_suite(
    suite: str | Suite,
    encoders: Sequence[Any],
    out_dir: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    use_cache: bool = True,
    data_dir: str | os.PathLike[str] | None = None,
    verify: bool = True,
    force: bool = False,
    tasks: Sequence[str] | None = None,
    batch_size: int = 64,
    n_jobs: int | None = None,
    blas_threads: int | None = 1,
    progress: bool = True,
    log: Callable[[str], None] | None = _default_log,
) -> RunSummary:
    """Evaluate every encoder on every task of a suite; write one JSON per pair.

    Args:
        suite: A suite name (``"quick"``, ``"senteval"``, ``"full"``) or a
            :class:`~benchmarks.suites.Suite`.
        encoders: Preset names, ``"name:key=value"`` specs, or encoder instances.
        out_dir: Folder of the result files (created).
        cache_dir: Embedding cache folder; ``None`` is the default cache.
        use_cache: Encode through :class:`~embeddings.cache.CachedEncoder`.
        data_dir: Benchmark data folder instead of ``$TRANSFERKIT_DATA``.
        verify: Check each data file's pinned sha256 (recorded in the result).
        force: Recompute results that exist already.
        tasks: Only these entries of the suite (labels or task names).
        batch_size: Encoding batch size (does not change the vectors).
        n_jobs: joblib workers of the heads (``None``: one).
        blas_threads: BLAS threads while fitting and evaluating (``None``: leave the
            library default).  One thread is about 20x faster for the logistic
            regressions on a busy 2-core machine.  The thread count can move the
            last bits of a fit (BLAS summation order), so compare scores computed
            with the same setting.
        progress: Show progress bars (overall, and per encode call).
        log: Receives one line per pair (done, skipped, failed); ``None`` is silent.

    Returns:
        :class:`RunSummary`: the files computed and skipped, and the failures.

    Raises:
        InvalidParameterError: unknown suite, or no encoders.

    Example:
        >>> s = run_suite("quick", ["glove-6b-50d"], "results")       # doctest: +SKIP
        >>> s["failed"]                                                 # doctest: +SKIP
        []
    """
    from benchmarks.tasks import get_task

    start = time.perf_counter()
    suite_obj = get_suite(suite) if not isinstance(suite, Suite) else suite
    if tasks:
        suite_obj = suite_obj.select(list(tasks))
    if isinstance(encoders, str) or not encoders:
        raise InvalidParameterError(
            f"encoders must be a non-empty list of names or encoders, got {encoders!r}"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: RunSummary = {
        "suite": suite_obj.name,
        "out_dir": str(out),
        "computed": [],
        "skipped": [],
        "failed": [],
        "wall_s": 0.0,
    }
    task_params_extra = {"data_dir": data_dir} if data_dir is not None else {}
    total = len(encoders) * len(suite_obj.tasks)
    with _bar(total, progress, f"bench {suite_obj.name}") as bar:
        for spec in encoders:
            spec_text = spec if isinstance(spec, str) else getattr(spec, "name", repr(spec))
            try:
                encoder, label, spec_str = _build_encoder(spec)
                fingerprint = str(encoder.fingerprint())
                enc_info = _encoder_info(encoder, label, spec_str, fingerprint)
            except Exception as err:  # a broken encoder must not stop the others
                for entry in suite_obj.tasks:
                    summary["failed"].append(_failure(str(spec_text), entry.label, err))
                _say(
                    f"FAILED {spec_text}: cannot build/load the encoder: "
                    f"{type(err).__name__}: {err}",
                    log,
                )
                bar.update(len(suite_obj.tasks))
                continue
            encoding = _Encoding(
                encoder,
                cache_dir=cache_dir,
                use_cache=use_cache,
                batch_size=batch_size,
                progress=progress,
            )
            for entry in suite_obj.tasks:
                bar.set_postfix_str(f"{label} / {entry.label}")
                try:
                    task = get_task(entry.task, **{**dict(entry.task_params), **task_params_extra})
                    path = result_path(out, entry, task.metadata.version, label, fingerprint)
                    if not force and path.is_file() and _is_current(path):
                        summary["skipped"].append(str(path))
                        _say(f"skip   {entry.label} x {label} (result exists: {path.name})", log)
                        bar.update(1)
                        continue
                    record = _run_one(
                        task,
                        entry,
                        encoding,
                        enc_info,
                        path,
                        verify=verify,
                        data_dir=data_dir,
                        n_jobs=n_jobs,
                        blas_threads=blas_threads,
                    )
                except KeyboardInterrupt:
                    raise
                except Exception as err:
                    summary["failed"].append(_failure(label, entry.label, err))
                    _say(f"FAILED {entry.label} x {label}: {type(err).__name__}: {err}", log)
                    bar.update(1)
                    continue
                summary["computed"].append(str(path))
                _say(
                    f"done   {entry.label} x {label}: {record['task']['main_score']} = "
                    f"{100 * record['main_score']:.2f} ({record['timings']['total_s']:.1f}s)",
                    log,
                )
                bar.update(1)
    summary["wall_s"] = time.perf_counter() - start
    return summary


def _failure(encoder: str, task: str, err: BaseException) -> FailureInfo:
    last = traceback.extract_tb(err.__traceback__)[-1:] if err.__traceback__ else []
    where = f" (at {last[0].filename}:{last[0].lineno})" if last else ""
    return {
        "encoder": encoder,
        "task": task,
        "error": f"{err}{where}",
        "error_type": type(err).__name__,
    }


def _run_one(
    task: Any,
    entry: SuiteTask,
    encoding: _Encoding,
    enc_info: EncoderInfo,
    path: Path,
    *,
    verify: bool,
    data_dir: Any,
    n_jobs: int | None,
    blas_threads: int | None,
) -> ResultRecord:
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    encoding.fit_s = encoding.encode_s = 0.0
    encoding.sparse_used = False
    t0 = time.perf_counter()
    limits = threadpool_limits(blas_threads, user_api="blas") if blas_threads else None
    try:
        with warnings.catch_warnings():
            # lbfgs at scikit-learn's default max_iter=100, as SentEval: not an error
            warnings.simplefilter("ignore", ConvergenceWarning)
            scores, sizes, protocol = evaluate_task(
                task, entry, encoding, verify=verify, data_dir=data_dir, n_jobs=n_jobs
            )
    finally:
        if limits is not None:
            limits.restore_original_limits()
    total = time.perf_counter() - t0
    protocol["features"] = "sparse" if encoding.sparse_used else "dense"
    if encoding.pretrained_from is not None:
        _set(protocol, fit="pretrained", fit_source=encoding.pretrained_from)
    if enc_info["dim"] is None:
        with contextlib.suppress(Exception):
            enc_info = {**enc_info, "dim": int(encoding.encoder.dim)}
    record: ResultRecord = {
        "format": RESULT_FORMAT,
        "schema_version": SCHEMA_VERSION,
        "toolkit_version": toolkit_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "key": path.stem,
        "task": _task_info(task, entry),
        "encoder": enc_info,
        "protocol": protocol,
        "n_samples": sizes,
        "main_score": float(scores["main_score"]),
        "scores": _to_jsonable(scores),
        "timings": {
            "fit_s": round(encoding.fit_s, 3),
            "encode_s": round(encoding.encode_s, 3),
            "evaluate_s": round(total - encoding.fit_s - encoding.encode_s, 3),
            "total_s": round(total, 3),
        },
        "environment": _environment(),
    }
    _write_json_atomic(path, record)
    return record
