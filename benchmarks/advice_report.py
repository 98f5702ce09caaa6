"""What ``advise`` reports: ranking with intervals, learning-curve predictions, costs,
the recommendation in words, the code that rebuilds it, the plot and the saved model.

The learning-curve model is a power law with an offset, ``score(n) = a - b * n**-c``
(``a`` <= 100, ``b`` >= 0, ``0.05 <= c <= 2``), fitted by least squares to the mean
score at each size (:func:`scipy.optimize.curve_fit`) when at least three sizes were
measured.  It predicts the score with all ``N`` labels (the saved model trains on all of
them; cross-validation trains on ``(k-1)/k`` of them) and with ``2N`` and ``4N``.  A
candidate whose smaller sizes ran on fewer folds than its largest (fine-tuning) is fitted
on the folds run at every size and moved to its largest size's mean over every fold.

Example:
    >>> fit = fit_curve([50, 100, 200, 400], [70.0, 76.0, 80.0, 82.5])
    >>> 82.5 < predict(fit, 800) < 100
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["finish", "fit_candidate", "fit_curve", "format_table", "predict", "render"]


def fit_curve(sizes: Sequence[int], means: Sequence[float]) -> tuple[float, float, float] | None:
    """``(a, b, c)`` of ``a - b * n**-c`` through the points, or ``None`` (< 3 sizes,
    or no fit)."""
    if len(sizes) < 3:
        return None
    from scipy.optimize import curve_fit

    n = np.asarray(sizes, dtype=np.float64)
    y = np.asarray(means, dtype=np.float64)

    def model(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a - b * np.power(x, -c)

    start = (min(100.0, float(y.max()) + 2.0), max(float(y.max() - y.min()), 1.0) * 10, 0.5)
    import warnings

    from scipy.optimize import OptimizeWarning

    try:
        with warnings.catch_warnings():  # 3 points, 3 parameters: no covariance, as expected
            warnings.simplefilter("ignore", OptimizeWarning)
            params, _ = curve_fit(model, n, y, p0=start, maxfev=20000,
                                  bounds=([0, 0, 0.05], [100, np.inf, 2.0]))  # fmt: skip
    except (RuntimeError, ValueError):
        return None
    a, b, c = (float(v) for v in params)
    return (a, b, c) if all(math.isfinite(v) for v in (a, b, c)) else None


def predict(fit: tuple[float, float, float] | None, n: float) -> float | None:
    """The curve's score at ``n`` labels (``None`` without a curve)."""
    if fit is None:
        return None
    a, b, c = fit
    return float(min(100.0, a - b * n ** (-c)))


def _interval(scores: Sequence[float]) -> float | None:
    """Half-width of the 95% t-interval of the mean (``None`` for one score)."""
    if len(scores) < 2:
        return None
    from scipy.stats import t

    sd = float(np.std(scores, ddof=1))
    return float(t.ppf(0.975, len(scores) - 1) * sd / math.sqrt(len(scores)))


def _pair_partial_rows(rows: list[dict[str, Any]], advice: Any) -> None:
    """Put a candidate the budget stopped after fewer folds on the scale of the others.

    Folds differ in difficulty, so the mean of one or two folds cannot be ranked against
    means over every fold.  Such a row is compared on the folds it ran with the reference,
    the best candidate measured on every fold: its score becomes the reference's mean over
    every fold plus the mean paired difference on the shared folds, and its interval is
    that of the differences.  The mean it measured stays in ``measured_score``, and
    ``paired_with`` names the reference and its score on the same folds.

    Its predictions move to the same scale.  A curve of its own, fitted on the folds it
    ran, is shifted by the reference's difference between every fold and those folds.
    Without one (fewer than 3 sizes measured), the prediction is the reference's plus the
    paired difference, which assumes the gap stays as measured; ``predicted_from`` then
    names the reference.
    """
    top = advice.sizes[-1]
    by_fold = {
        c.name: dict(zip(c.folds.get(top, []), c.scores.get(top, []), strict=True))
        for c in advice.candidates
    }
    full = [r for r in rows if r["score"] is not None and r["folds_run"] >= advice.folds]
    if not full:
        return
    ref = max(full, key=lambda r: r["score"])
    theirs = by_fold[ref["candidate"]]
    for row in rows:
        if row["score"] is None or row["folds_run"] >= advice.folds:
            continue
        shared = [f for f in by_fold[row["candidate"]] if f in theirs]
        if not shared:
            continue
        diffs = [by_fold[row["candidate"]][f] - theirs[f] for f in shared]
        row["measured_score"] = row["score"]
        row["paired_with"] = {
            "candidate": ref["candidate"], "folds": [f + 1 for f in shared],
            "score_on_same_folds": float(np.mean([theirs[f] for f in shared])),
            "difference": float(np.mean(diffs)),
        }  # fmt: skip
        row["score"] = ref["score"] + float(np.mean(diffs))
        row["ci95"] = _interval(diffs)
        if row["curve_fit"] is not None:
            shift = row["score"] - row["measured_score"]
            own = row["predicted"]
        else:
            shift, own = float(np.mean(diffs)), ref["predicted"]
            if ref["curve_fit"] is not None:
                row["predicted_from"] = ref["candidate"]
        row["predicted"] = {m: None if v is None else min(100.0, v + shift)
                            for m, v in own.items()}  # fmt: skip


def _fit_on_shared_folds(cand: Any, sizes: list[int]) -> tuple[float, float, float] | None:
    """The learning curve of ``cand`` on the scale of its largest size's every fold.

    A fine-tuned candidate runs its smaller sizes on fold 1 only and its largest on more
    folds; a curve through those means would take the folds' difference in difficulty
    for the effect of more labels.  So the curve is fitted on the folds run at every size,
    then moved by the largest size's mean over all its folds less its mean over those.
    """
    means = [float(np.mean(cand.scores[s])) for s in sizes]
    folds = [cand.folds.get(s, []) for s in sizes]
    if not sizes or any(len(f) != len(cand.scores[s]) for f, s in zip(folds, sizes)):
        return fit_curve(sizes, means)
    shared = set.intersection(*(set(f) for f in folds))
    if not shared or all(len(f) == len(shared) for f in folds):
        return fit_curve(sizes, means)

    def on_shared(s: int) -> float:
        return float(np.mean([v for f, v in zip(cand.folds[s], cand.scores[s]) if f in shared]))

    fit = fit_curve(sizes, [on_shared(s) for s in sizes])
    if fit is None:
        return None
    a, b, c = fit
    return a + means[-1] - on_shared(sizes[-1]), b, c


def _rank(advice: Any) -> list[dict[str, Any]]:
    top = advice.sizes[-1]
    rows = []
    for c in advice.candidates:
        at_top = c.scores.get(top, [])
        sizes = sorted(s for s, v in c.scores.items() if v)
        fit = _fit_on_shared_folds(c, sizes)
        row = {
            "candidate": c.name, "kind": c.kind, "encoder": c.encoder,
            "score": float(np.mean(at_top)) if at_top else None,
            "ci95": _interval(at_top), "folds_run": len(at_top),
            "curve": {str(s): float(np.mean(c.scores[s])) for s in sizes},
            "curve_fit": fit,
            "predicted": {m: predict(fit, m * advice.n_labels) for m in (1, 2, 4)},
            "train_seconds": float(np.mean(c.train_seconds)) if c.train_seconds else None,
            "encode_ms_per_1000": c.encode_ms_per_1000, "size_mb": c.size_mb,
            "cpu_only": True, "skipped": list(c.skipped),
            "fine_tune": c.params.get("fine_tune"), "measured_score": None, "paired_with": None,
            "predicted_from": None,
        }  # fmt: skip
        rows.append(row)
    _pair_partial_rows(rows, advice)
    run = sorted((r for r in rows if r["score"] is not None), key=lambda r: -r["score"])
    return run + [r for r in rows if r["score"] is None]


def _label(row: dict[str, Any]) -> str:
    kind, enc = row["kind"], row["encoder"]
    return {
        "tfidf": "TF-IDF + logistic regression",
        "frozen": f"frozen {enc} + logistic regression",
        "contrastive": f"contrastive fine-tuning of {enc}",
        "top2": f"{enc} with its top 2 layers fine-tuned",
    }[kind]


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "–" if value is None else format(value, spec)


def format_table(advice: Any) -> str:
    """The ranking, one line per candidate (plain text, aligned)."""
    head = ["rank", "candidate", f"score@{advice.sizes[-1]}", "±95%", "folds",
            f"pred@{advice.n_labels}", f"pred@{2 * advice.n_labels}",
            f"pred@{4 * advice.n_labels}", "train s", "ms/1k texts", "MB", "no GPU"]  # fmt: skip
    lines = [head]
    for i, r in enumerate(advice.ranking, start=1):
        p = r["predicted"]
        lines.append([
            str(i) if r["score"] is not None else "–", r["candidate"],
            _fmt(r["score"]) + ("*" if r.get("paired_with") else ""),
            _fmt(r["ci95"]), str(r["folds_run"]), _fmt(p[1]), _fmt(p[2]), _fmt(p[4]),
            _fmt(r["train_seconds"], ".2f"), _fmt(r["encode_ms_per_1000"], ".0f"),
            _fmt(r["size_mb"]), "yes" if r["cpu_only"] else "no",
        ])  # fmt: skip
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    paired = [r for r in advice.ranking if r.get("paired_with")]
    if paired:
        ref = paired[0]["paired_with"]["candidate"]
        out.append(f"* run on fewer folds than the others: scored and predicted by its "
                   f"difference to {ref} on the same folds (see the recommendation and "
                   "advice.json)")  # fmt: skip
    return "\n".join(out)


def _recommend(advice: Any) -> str:
    ranked = [r for r in advice.ranking if r["score"] is not None]
    if not ranked:
        return "Nothing could be measured within the budget; give a larger --budget."
    best = ranked[0]
    ci = f" ± {best['ci95']:.1f}" if best["ci95"] is not None else ""
    folds = f"{advice.folds}-fold CV"
    paired = best.get("paired_with")
    if paired:
        ref = next(r for r in ranked if r["candidate"] == paired["candidate"])
        shared = ", ".join(str(f) for f in paired["folds"])
        folds = (f"estimated from {best['folds_run']} of {advice.folds} CV folds: it scored "
                 f"{best['measured_score']:.1f} on fold {shared}, where {ref['candidate']} "
                 f"scored {paired['score_on_same_folds']:.1f} and {ref['score']:.1f} over all "
                 f"{advice.folds}; a rough estimate")  # fmt: skip
    elif best["folds_run"] < advice.folds:
        folds = f"{best['folds_run']} of {advice.folds} CV folds, so a rough estimate"
    lines = [f"Recommended: {_label(best)}: {best['score']:.1f}{ci} "
             f"({folds}, {advice.sizes[-1]} training labels)."]  # fmt: skip
    tuned = [r for r in ranked if r["kind"] in ("contrastive", "top2")]
    frozen = [r for r in ranked if r["kind"] in ("frozen", "tfidf")]
    if best["kind"] in ("frozen", "tfidf") and tuned:
        t = tuned[0]
        ratio = (t["train_seconds"] or 0) / max(best["train_seconds"] or 1e-3, 1e-3)
        gain = t["score"] - best["score"]
        lines.append(f"Fine-tuning ({t['candidate']}) changes it by {gain:+.1f} points at "
                     f"{ratio:.0f}x the training time.")  # fmt: skip
    elif best["kind"] in ("contrastive", "top2") and frozen:
        f = frozen[0]
        ratio = (best["train_seconds"] or 0) / max(f["train_seconds"] or 1e-3, 1e-3)
        lines.append(f"It beats the best frozen model ({f['candidate']}, {f['score']:.1f}) by "
                     f"{best['score'] - f['score']:.1f} points at {ratio:.0f}x its training "
                     "time.")  # fmt: skip
    p1, p2 = best["predicted"][1], best["predicted"][2]
    if p1 is not None and p2 is not None:
        lines.append(f"Trained on all {advice.n_labels} labels it is predicted to score {p1:.1f}; "
                     f"{advice.n_labels} more labels are predicted to add {p2 - p1:.1f} points "
                     f"(to {p2:.1f}).")  # fmt: skip
        if best.get("predicted_from"):
            lines.append(f"Both predictions are {best['predicted_from']}'s learning curve "
                         f"plus the measured gap of {best['paired_with']['difference']:+.1f} "
                         "points, since fewer than 3 training sizes of it were measured; "
                         "a rough estimate.")  # fmt: skip
    else:
        why = ("fewer than 3 training sizes were measured within the budget"
               if len(best["curve"]) < 3
               else "no learning curve fits its measured scores")  # fmt: skip
        lines.append(f"No learning-curve prediction for it: {why}.")
    skipped = [f"{r['candidate']} ({r['skipped'][0]})" for r in advice.ranking if r["skipped"]]
    if skipped:
        lines.append("Not run or not complete within the budget or the task: "
                     + "; ".join(skipped) + ".")  # fmt: skip
    return "\n".join(lines)


def _rebuild(best: dict[str, Any], advice: Any, params: dict[str, Any]) -> str:
    return (
        "# labels: one class name a row, as text (str), as the task reads them and the\n"
        "# saved model predicts them (e.g. frame['label'].astype(str))\n"
        + _rebuild_code(best, advice, params)
    )


def _rebuild_code(best: dict[str, Any], advice: Any, params: dict[str, Any]) -> str:
    if best["kind"] in ("contrastive", "top2"):
        kw = best["fine_tune"]
        args = ", ".join(f"{k}={v!r}" for k, v in {**kw, "random_state": params["seed"]}.items())
        if advice.task_type == "pair_classification":
            return ("import transferkit\n"
                    "# pairs: a list of (text_a, text_b)\n"
                    f"model = transferkit.fine_tune({best['encoder']!r}, pairs, labels, {args})\n"
                    "model.save('model')  # embeddings.load('model').predict(pairs)")  # fmt: skip
        return ("import transferkit\n"
                f"model = transferkit.fine_tune({best['encoder']!r}, texts, labels, {args})\n"
                "model.save('model')  # embeddings.load('model').predict(new_texts)")  # fmt: skip
    enc = "tfidf" if best["kind"] == "tfidf" else best["encoder"]
    if advice.task_type == "pair_classification":
        step = f"PairFeatures({enc!r})"
        imports = "from benchmarks.advice_model import PairFeatures\n"
        fit = "model.fit(pairs, labels)  # pairs: a list of (text_a, text_b)"
    else:
        step = f"EmbeddingTransformer({enc!r})"
        imports = "from transferkit import EmbeddingTransformer\n"
        fit = "model.fit(texts, labels)"
    return (f"{imports}from sklearn.linear_model import LogisticRegression\n"
            "from sklearn.pipeline import Pipeline\n"
            f"model = Pipeline([('features', {step}),\n"
            f"                  ('head', LogisticRegression(C={params['C']!r}, "
            f"random_state={params['seed']}))])\n"
            + ("# C: the value most CV folds chose; with --out it is chosen on all rows\n"
               if params.get("C_from") == "folds" else "")
            + f"{fit}")  # fmt: skip


def fit_candidate(
    row: dict[str, Any],
    texts: list[str],
    pairs: list[str] | None,
    labels: list[Any],
    random_state: int = 0,
) -> tuple[Any, dict[str, Any]]:
    """Train the candidate of ranking ``row`` on all of ``texts`` (and ``pairs``).

    Returns:
        ``(model, params)``: a :class:`~embeddings.training.finetune.FineTunedEncoder`,
        or a features + logistic-regression pipeline (``C`` chosen by inner CV); both
        ``predict`` labels (pipelines of pair tasks take ``(text_a, text_b)`` pairs).
    """
    from sklearn.pipeline import Pipeline

    from benchmarks.advice_model import PairFeatures
    from evaluators.heads import fit_logreg_selected

    if row["kind"] in ("contrastive", "top2"):
        from embeddings.training.finetune import fine_tune

        rows: list[Any] = texts if pairs is None else list(zip(texts, pairs, strict=True))
        model = fine_tune(row["encoder"], rows, labels, **row["fine_tune"],
                          random_state=random_state)  # fmt: skip
        return model, {"seed": random_state}
    enc = "tfidf" if row["kind"] == "tfidf" else row["encoder"]
    if pairs is None:
        from embeddings.sklearn import EmbeddingTransformer

        features: Any = EmbeddingTransformer(enc)
        X = features.fit_transform(texts)
    else:
        features = PairFeatures(enc)
        X = features.fit_transform(list(zip(texts, pairs)))
    _, y = np.unique(np.asarray(labels, dtype=object).astype(str), return_inverse=True)
    head, C = fit_logreg_selected(X, y, random_state=random_state, targets=labels)
    model = Pipeline([("features", features), ("head", head)])
    return model, {"C": C, "seed": random_state}


def _train_final(data: Any, best: dict[str, Any], folder: Path, seed: int) -> dict[str, Any]:
    """Train the recommendation on every labelled row and save it to ``folder``."""
    from benchmarks.advice_model import save_pipeline

    labels = np.asarray(data.classes, dtype=object)[data.y].tolist()
    model, params = fit_candidate(best, data.texts, data.pairs, labels, seed)
    if best["kind"] in ("contrastive", "top2"):
        model.save(folder)
    else:
        save_pipeline(model, folder)
    return params


def _plot(advice: Any, path: Path) -> str | None:
    """Learning curves with 95% intervals, and the fitted curves out to 4N (``None``
    without the plots extra)."""
    from benchmarks.plots import _pyplot, save_figure
    from embeddings.errors import MissingDependencyError

    try:
        plt = _pyplot()
    except MissingDependencyError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in advice.ranking:
        cand = next(c for c in advice.candidates if c.name == r["candidate"])
        sizes = sorted(s for s, v in cand.scores.items() if v)
        if not sizes:
            continue
        means = np.array([np.mean(cand.scores[s]) for s in sizes])
        half = np.array([_interval(cand.scores[s]) or 0.0 for s in sizes])
        notes = []
        if r.get("paired_with"):  # plotted as measured, on its own folds
            notes.append(f"folds {', '.join(map(str, r['paired_with']['folds']))} only")
        if len(cand.scores[sizes[0]]) < len(cand.scores[sizes[-1]]):
            below = sorted({f + 1 for s in sizes[:-1] for f in cand.folds.get(s, [])})
            notes.append(f"below {sizes[-1]}: fold {', '.join(map(str, below))}")
        label = r["candidate"] + (f" ({'; '.join(notes)})" if notes else "")
        (line,) = ax.plot(sizes, means, marker="o", label=label)
        ax.fill_between(sizes, np.maximum(means - half, 0.0), np.minimum(means + half, 100.0),
                        alpha=0.15, color=line.get_color())  # fmt: skip
        if r["curve_fit"] is not None:
            xs = np.geomspace(sizes[0], 4 * advice.n_labels, 50)
            ax.plot(xs, [predict(r["curve_fit"], x) for x in xs], ls="--", lw=1,
                    color=line.get_color())  # fmt: skip
    ax.axvline(advice.n_labels, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("labelled training rows (log scale; dotted: all your labels)")
    ax.set_ylabel("accuracy (points, 0-100)")
    ax.set_title(f"{advice.task}: learning curves ({advice.folds}-fold CV, 95% intervals)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return str(save_figure(fig, path))


def finish(advice: Any, data: Any, out: str | Path | None,
           log: Callable[[str], None]) -> Any:  # fmt: skip
    """Rank, predict, recommend; with ``out``, train and save the model, plot, write."""
    from embeddings._atomic import atomic_write_json

    advice.ranking = _rank(advice)
    advice.recommendation = _recommend(advice)
    ranked = [r for r in advice.ranking if r["score"] is not None]
    seed = advice.random_state
    params: dict[str, Any] = {"seed": seed, "C": 1.0}
    if ranked and out is not None:
        import time

        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        log(f"training the recommended model on all {advice.n_labels} rows")
        t0 = time.perf_counter()
        params = _train_final(data, ranked[0], folder / "model", seed)
        advice.final_seconds = time.perf_counter() - t0
        advice.seconds += advice.final_seconds
        advice.saved_to = str(folder / "model")
        advice.plot = _plot(advice, folder / "curves.png")
    elif ranked:  # the C most folds chose at the largest size
        cand = next(c for c in advice.candidates if c.name == ranked[0]["candidate"])
        chosen = cand.params.get("C") or [1.0]
        params["C"] = float(max(set(chosen), key=chosen.count))
        params["C_from"] = "folds"
    if ranked:
        advice.rebuild = _rebuild(ranked[0], advice, {"C": 1.0, **params})
    if out is not None:
        record = {k: v for k, v in vars(advice).items() if k != "candidates"}
        atomic_write_json(Path(out) / "advice.json", json.loads(json.dumps(record, default=str)))
        (Path(out) / "advice.md").write_text(render(advice), encoding="utf-8")
    return advice


def render(advice: Any) -> str:
    """Everything ``transferkit advise`` prints: table, recommendation, rebuild code."""
    parts = [
        f"transferkit advise: {advice.task} ({advice.task_type}), {advice.n_labels} labelled "
        f"rows, {advice.n_classes} classes; {advice.folds}-fold CV at sizes "
        f"{', '.join(map(str, advice.sizes))}; {advice.seconds:.0f}s of a "
        f"{advice.budget_seconds:.0f}s budget"
        + (
            f" ({advice.final_seconds:.0f}s of them training the saved model)"
            if advice.final_seconds
            else ""
        )
        + f"; {advice.runs.get('measured', 0)} runs measured "
        f"now, {advice.runs.get('from_cache', 0)} read from the cache",
        "",
        format_table(advice),
        "",
        advice.recommendation,
    ]
    if advice.rebuild:
        parts += ["", "Rebuild it:", "", advice.rebuild]
    if advice.saved_to:
        parts += ["", f"Saved, trained on all {advice.n_labels} rows: {advice.saved_to}"]
    if advice.plot:
        parts.append(f"Learning curves: {advice.plot}")
    return "\n".join(parts) + "\n"
