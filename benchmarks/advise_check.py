"""How good is ``advise``'s advice?  Regret and learning-curve error on held-out tests.

For each task, ``--labels`` rows drawn from the task's training split (seeded,
stratified) play the user's data; ``advise`` runs on them with ``--budget``.  Then every
candidate it measured is trained on those rows (as ``advise`` would save it) and scored
on the task's real test split, which ``advise`` never read:

* **regret**: the best test score among the measured candidates minus the test score
  of the first recommendation (0 is perfect);
* **2x prediction error**: the recommendation's predicted score with twice the labels
  minus its real test score when trained on twice the labels (the drawn rows plus as
  many again, from the same split).

Example:
    $ python -m benchmarks.advise_check --tasks R8 MRPC --labels 300 --budget 8m \\
        --out results/advise_check.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from embeddings._atomic import atomic_write_json


def _rows(task: Any, split: str) -> tuple[list[str], list[str] | None, list[str]]:
    data = task.load(split)
    names = np.asarray(data.label_names, dtype=object)
    labels = names[np.asarray(data.labels)].tolist()
    if hasattr(data, "texts_a"):
        return list(data.texts_a), list(data.texts_b), labels
    return list(data.texts), None, labels


def _frame(texts: list[str], pairs: list[str] | None, labels: list[str]) -> Any:
    import pandas as pd

    cols = {"text": texts, "label": labels}
    if pairs is not None:
        cols["pair"] = pairs
    return pd.DataFrame(cols)


def _test_score(model: Any, texts: list[str], pairs: list[str] | None, labels: list[str]) -> float:
    X: Any = texts if pairs is None else list(zip(texts, pairs))
    return 100.0 * float(np.mean(np.asarray(model.predict(X), dtype=object) == labels))


def check(
    task_name: str,
    n_labels: int,
    budget: str,
    test_max: int,
    log: Any,
    candidates: list[str] | None = None,
) -> dict[str, Any]:
    """Advise on ``n_labels`` training rows of ``task_name``; score the advice on its test."""
    from benchmarks.advice_report import fit_candidate
    from benchmarks.advise import advise
    from benchmarks.tasks import Task, get_task
    from embeddings.training.finetune import stratified_subsample

    task = get_task(task_name)
    texts, pairs, labels = _rows(task, "train")
    test_texts, test_pairs, test_labels = _rows(task, "test")
    if len(test_texts) > test_max:
        keep = stratified_subsample(np.unique(test_labels, return_inverse=True)[1], test_max, 0)
        test_texts = [test_texts[i] for i in keep]
        test_pairs = None if test_pairs is None else [test_pairs[i] for i in keep]
        test_labels = [test_labels[i] for i in keep]
    y = np.unique(labels, return_inverse=True)[1]
    double = stratified_subsample(y, 2 * n_labels, 0)
    first = double[stratified_subsample(y[double], n_labels, 0)]  # the 2N draw holds the N

    def take(idx: np.ndarray) -> tuple[list[str], list[str] | None, list[str]]:
        return ([texts[i] for i in idx], None if pairs is None else [pairs[i] for i in idx],
                [labels[i] for i in idx])  # fmt: skip

    mine = take(first)
    kind = "classification" if pairs is None else "pair_classification"
    own = Task.from_dataframe(_frame(*mine), name=f"{task_name}-{n_labels}", type=kind,
                              **({"pair": "pair"} if pairs is not None else {}))  # fmt: skip
    t0 = time.perf_counter()
    advice = advise(own, budget=budget, candidates=candidates, show_progress=True)
    advise_seconds = time.perf_counter() - t0
    log(advice.table())
    measured = [r for r in advice.ranking if r["score"] is not None]
    tests: dict[str, float] = {}
    for row in measured:
        model, _ = fit_candidate(row, *mine)
        tests[row["candidate"]] = _test_score(model, test_texts, test_pairs, test_labels)
        log(f"  {row['candidate']}: cv {row['score']:.1f}, test {tests[row['candidate']]:.1f}")
    best = measured[0]
    model2, _ = fit_candidate(best, *take(double))
    test_2x = _test_score(model2, test_texts, test_pairs, test_labels)
    pred_2x = best["predicted"][2]
    return {
        "task": task_name, "type": kind, "n_labels": n_labels, "budget": budget,
        "advise_seconds": round(advise_seconds, 1), "n_test": len(test_texts),
        "recommended": best["candidate"], "recommended_cv": best["score"],
        "recommended_test": tests[best["candidate"]],
        "best_test_candidate": max(tests, key=tests.__getitem__),
        "best_test": max(tests.values()),
        "regret": max(tests.values()) - tests[best["candidate"]],
        "test_by_candidate": tests,
        "predicted_1x": best["predicted"][1], "predicted_2x": pred_2x,
        "test_2x": test_2x,
        "error_2x": None if pred_2x is None else pred_2x - test_2x,
        "not_run": {r["candidate"]: r["skipped"] for r in advice.ranking if r["skipped"]},
        "candidates": [r["candidate"] for r in advice.ranking],
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.advise_check",
                                description=__doc__.split("\n\n")[0])  # fmt: skip
    p.add_argument("--tasks", nargs="+", default=["R8", "MRPC"])
    p.add_argument("--labels", type=int, default=300, help="labelled rows given to advise")
    p.add_argument("--budget", default="8m", help="advise's budget per task")
    p.add_argument("--test-max", type=int, default=1000, help="test rows scored (stratified)")
    p.add_argument("--candidates", default=None,
                   help="comma-separated frozen encoders (default: advise's defaults)")  # fmt: skip
    p.add_argument("--out", default="results/advise_check.json")
    args = p.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    names = args.candidates.split(",") if args.candidates else None
    results = [check(t, args.labels, args.budget, args.test_max, log, names) for t in args.tasks]
    atomic_write_json(Path(args.out), {"checks": results})
    print("| task | labels | recommended | cv | test | best tested | regret | pred 2x | "
          "test 2x | error 2x |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        pred = "–" if r["predicted_2x"] is None else f"{r['predicted_2x']:.1f}"
        err = "–" if r["error_2x"] is None else f"{r['error_2x']:+.1f}"
        print(f"| {r['task']} | {r['n_labels']} | {r['recommended']} | "
              f"{r['recommended_cv']:.1f} | {r['recommended_test']:.1f} | "
              f"{r['best_test_candidate']} {r['best_test']:.1f} | {r['regret']:.1f} | "
              f"{pred} | {r['test_2x']:.1f} | {err} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
