"""``advise``: learning curves on the user's rows, ranking, predictions, saved model.

Small real runs: GloVe (embedded) and a tiny random BERT folder as the fine-tunable
encoder, on synthetic reviews whose classes differ by their words.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchmarks.advice_model import load_pipeline
from benchmarks.advice_report import _rank, _recommend, fit_curve, format_table, predict
from benchmarks.advise import advise, fine_tunable, parse_budget
from benchmarks.advise_candidates import Candidate
from benchmarks.tasks import Task
from embeddings.errors import InvalidInputError, InvalidParameterError

GOOD = ["a good film", "great fun", "a fine and lovely movie", "superb acting", "good story"]
BAD = ["a bad film", "dull and boring", "an awful movie", "terrible acting", "bad story"]


def _frame(n_each: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n_each):
        rows.append({"text": f"{GOOD[i % 5]} {['indeed', 'really', ''][i % 3]}".strip(),
                     "label": "pos"})  # fmt: skip
        rows.append({"text": f"{BAD[i % 5]} {['indeed', 'really', ''][i % 3]}".strip(),
                     "label": "neg"})  # fmt: skip
    return pd.DataFrame(rows).iloc[rng.permutation(2 * n_each)].reset_index(drop=True)


def test_parse_budget_takes_seconds_and_durations_and_refuses_the_rest() -> None:
    assert parse_budget("90s") == 90 and parse_budget("2m") == 120 and parse_budget(5) == 5
    for bad in ("soon", 0, -3, "m", True):
        with pytest.raises(InvalidParameterError, match="budget must be"):
            parse_budget(bad)


def test_the_curve_model_recovers_a_known_power_law() -> None:
    # points computed from 90 - 40 * n**-0.5: the fit must give back a, b, c
    sizes = [25, 50, 100, 200, 400]
    fit = fit_curve(sizes, [90 - 40 * n**-0.5 for n in sizes])
    assert fit is not None and np.allclose(fit, (90, 40, 0.5), rtol=1e-3)
    assert predict(fit, 1600) == pytest.approx(89.0, abs=1e-3)
    assert fit_curve([10, 20], [50.0, 60.0]) is None  # two sizes: no curve


def test_advise_ranks_measures_and_saves_a_frozen_pipeline(tmp_path) -> None:
    frame = _frame()
    task = Task.from_dataframe(frame, name="reviews")
    advice = advise(task, budget="5m", candidates=["glove-6b-50d"], fine_tuning=False,
                    cache_dir=tmp_path / "cache", out=tmp_path / "out",
                    show_progress=False)  # fmt: skip
    # every row of an own file without splits is a labelled row
    assert advice.n_labels == 60 and advice.folds == 5 and advice.sizes[-1] == 48
    names = [r["candidate"] for r in advice.ranking]
    assert sorted(names) == ["frozen:glove-6b-50d", "tfidf"]
    for r in advice.ranking:
        assert 0 <= r["score"] <= 100 and r["folds_run"] == 5 and r["ci95"] is not None
        assert len(r["curve"]) == len(advice.sizes)
    best = advice.ranking[0]
    assert best["score"] >= advice.ranking[1]["score"]
    assert advice.recommendation.startswith("Recommended: ")
    # the saved model, trained on all 60 rows, is the recommended one and predicts labels
    model = load_pipeline(tmp_path / "out" / "model")
    predicted = model.predict(list(frame["text"]))
    assert set(predicted) <= {"pos", "neg"}
    # the printed rebuild code builds the same model, from labels as text, as it says
    assert "labels: one class name a row, as text (str)" in advice.rebuild
    scope = {"texts": list(frame["text"]), "labels": list(frame["label"].astype(str))}
    exec(advice.rebuild, scope)
    assert np.array_equal(scope["model"].predict(list(frame["text"])), predicted)
    saved = json.loads((tmp_path / "out" / "advice.json").read_text())
    assert saved["ranking"][0]["candidate"] == best["candidate"]
    assert (tmp_path / "out" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert "Rebuild it:" in (tmp_path / "out" / "advice.md").read_text()


def test_a_second_advise_reads_the_measured_units_from_the_cache(tmp_path, monkeypatch) -> None:
    task = Task.from_dataframe(_frame(), name="reviews")
    opts = {"budget": "5m", "candidates": ["glove-6b-50d"], "fine_tuning": False,
            "cache_dir": tmp_path, "show_progress": False}  # fmt: skip
    first = advise(task, **opts)
    units = json.loads(next((tmp_path / "advise").glob("*.json")).read_text())
    assert len(units) == 2 * len(first.sizes) * first.folds  # tfidf and glove, every unit
    (next((tmp_path / "advise").glob("*.json"))).write_text(
        json.dumps({k: {**v, "score": 42.0} for k, v in units.items()})
    )
    second = advise(task, **opts)  # scores come from the cache file, not a new run
    assert all(r["score"] == 42.0 for r in second.ranking)
    assert first.runs == {"measured": len(units), "from_cache": 0}
    assert second.runs == {"measured": 0, "from_cache": len(units)}
    # new weights under the same name (a retrained model folder) are measured anew:
    # the units are kept under the encoder's fingerprint; TF-IDF's are read back
    from embeddings.cache import CachedEncoder

    monkeypatch.setattr(CachedEncoder, "fingerprint", lambda self: "ab" * 32)
    retrained = advise(task, **opts)
    half = len(units) // 2
    assert retrained.runs == {"measured": half, "from_cache": half}
    assert next(r for r in retrained.ranking if r["candidate"] == "tfidf")["score"] == 42.0
    monkeypatch.undo()
    # a new version of how units are trained and scored never reads older scores
    import benchmarks.advise as advise_module

    monkeypatch.setattr(advise_module, "UNITS_VERSION", advise_module.UNITS_VERSION + 1)
    third = advise(task, **opts)
    assert third.runs == {"measured": len(units), "from_cache": 0}
    assert all(r["score"] != 42.0 for r in third.ranking)


def test_fine_tuning_candidates_run_on_a_torch_encoder(tmp_path, monkeypatch) -> None:
    pytest.importorskip("transformers")
    from benchmarks import advise as advise_module
    from tests.training.test_finetune import _tiny_bert

    folder = tmp_path / "tiny"
    _tiny_bert(folder)
    assert fine_tunable(str(folder)) and not fine_tunable("glove-6b-50d")
    task = Task.from_dataframe(_frame(12), name="reviews")
    advice = advise(task, budget="5m", candidates=[str(folder)], folds=3,
                    cache_dir=tmp_path / "cache", show_progress=False)  # fmt: skip
    by_name = {r["candidate"]: r for r in advice.ranking}
    assert set(by_name) == {"tfidf", f"frozen:{folder}", f"contrastive:{folder}", f"top2:{folder}"}
    for kind in ("contrastive", "top2"):
        row = by_name[f"{kind}:{folder}"]
        assert row["score"] is not None and 0 <= row["score"] <= 100
        assert row["train_seconds"] > 0
    # each fine-tuning candidate's first cost was timed on a probe run, kept in the cache
    (cache_file,) = (tmp_path / "cache" / "advise").glob("*.json")
    cached = json.loads(cache_file.read_text())
    for kind in ("contrastive", "top2"):
        (probe,) = (v for k, v in cached.items() if k.startswith(f"{kind}:{folder}@")
                    and k.endswith("/probe"))  # fmt: skip
        assert probe["seconds_per_row_epoch"] > 0 and probe["fixed_seconds"] >= 0

    # a second advise reads the probes and the runs from the cache: nothing is trained
    def no_training(*args, **kwargs):
        raise AssertionError("trained again")

    monkeypatch.setattr(advise_module._Runner, "probe_once", no_training)
    monkeypatch.setattr(advise_module._Runner, "fine_tune_once", no_training)
    again = advise(task, budget="5m", candidates=[str(folder)], folds=3,
                   cache_dir=tmp_path / "cache", show_progress=False)  # fmt: skip
    assert again.runs["measured"] == 0
    assert [r["score"] for r in again.ranking] == [r["score"] for r in advice.ranking]


def test_a_rare_class_keeps_every_fold(tmp_path) -> None:
    frame = _frame()
    frame.loc[len(frame)] = {"text": "so so film", "label": "meh"}
    frame.loc[len(frame)] = {"text": "a so so movie", "label": "meh"}
    advice = advise(Task.from_dataframe(frame, name="r"), budget="2m",
                    candidates=["glove-6b-50d"], fine_tuning=False, cache_dir=tmp_path,
                    show_progress=False)  # fmt: skip
    assert advice.folds == 5 and advice.n_classes == 3
    assert all(r["folds_run"] == 5 for r in advice.ranking)


def test_folds_are_capped_by_the_largest_class(tmp_path) -> None:
    """12 rows of 3 classes: stratified 5-fold CV needs a class of 5 rows, so 4 folds;
    the saved model and its rebuild code use ``random_state``."""
    frame = pd.DataFrame({"text": GOOD[:4] + BAD[:4] + ["so so", "meh", "fine I guess", "ok"],
                          "label": ["pos"] * 4 + ["neg"] * 4 + ["mid"] * 4})  # fmt: skip
    advice = advise(Task.from_dataframe(frame, name="r"), budget="2m",
                    candidates=["glove-6b-50d"], fine_tuning=False, random_state=3,
                    cache_dir=tmp_path, show_progress=False)  # fmt: skip
    assert advice.folds == 4 and advice.n_labels == 12
    assert all(r["folds_run"] == 4 for r in advice.ranking)
    assert "random_state=3" in advice.rebuild


def test_a_tiny_budget_says_what_it_could_not_run(tmp_path) -> None:
    task = Task.from_dataframe(_frame(), name="reviews")
    advice = advise(task, budget=0.01, candidates=["glove-6b-50d"], fine_tuning=False,
                    cache_dir=tmp_path, show_progress=False)  # fmt: skip
    glove = next(r for r in advice.ranking if r["candidate"] == "frozen:glove-6b-50d")
    assert glove["score"] is None and glove["skipped"]
    assert "Not run or not complete" in advice.recommendation


def test_a_budget_spent_loading_the_encoder_skips_its_timing_probe(tmp_path, monkeypatch) -> None:
    import benchmarks.advise as advise_module
    from embeddings.cache import CachedEncoder

    runners: list = []
    init = advise_module._Runner.__init__

    def keep(self, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        runners.append(self)

    def spend(self, texts) -> int:  # as if loading the model had used up the budget
        runners[0].budget = -1.0
        timed.clear()  # the TF-IDF baseline's timing, before GloVe's turn
        return len(texts)

    timed: list[int] = []
    monkeypatch.setattr(advise_module._Runner, "__init__", keep)
    monkeypatch.setattr(CachedEncoder, "count_missing", spend)
    monkeypatch.setattr(advise_module, "encode_rate", lambda enc, texts: timed.append(1) or 1.0)
    task = Task.from_dataframe(_frame(), name="reviews")
    advice = advise(task, budget="5m", candidates=["glove-6b-50d"], fine_tuning=False,
                    cache_dir=tmp_path, show_progress=False)  # fmt: skip
    glove = next(r for r in advice.ranking if r["candidate"] == "frozen:glove-6b-50d")
    assert glove["skipped"] == ["encoding 60 texts: budget spent"]  # all 60 rows
    assert not timed


def test_pair_tasks_get_pair_features_and_a_pair_pipeline(tmp_path) -> None:
    rows = []
    for i in range(24):
        a = GOOD[i % 5]
        rows.append({"text": a, "pair": a + " indeed", "label": "same"})
        rows.append({"text": a, "pair": BAD[i % 5], "label": "other"})
    task = Task.from_dataframe(pd.DataFrame(rows), name="pairs", type="pair_classification",
                               pair="pair")  # fmt: skip
    advice = advise(task, budget="5m", candidates=["glove-6b-50d"], cache_dir=tmp_path,
                    out=tmp_path / "out", show_progress=False)  # fmt: skip
    assert advice.task_type == "pair_classification"
    model = load_pipeline(tmp_path / "out" / "model")
    assert set(model.predict([("a good film", "a good film indeed")])) <= {"same", "other"}


def test_pair_tasks_fine_tune_on_their_pairs(tmp_path) -> None:
    pytest.importorskip("transformers")
    from benchmarks.advice_report import _rebuild, fit_candidate
    from tests.training.test_finetune import _tiny_bert

    folder = tmp_path / "tiny"
    _tiny_bert(folder)
    rows = []
    for i in range(12):
        a = GOOD[i % 5]
        rows.append({"text": a, "pair": a, "label": "same"})
        rows.append({"text": a, "pair": BAD[i % 5], "label": "other"})
    task = Task.from_dataframe(pd.DataFrame(rows), name="pairs", type="pair_classification",
                               pair="pair")  # fmt: skip
    advice = advise(task, budget="5m", candidates=[str(folder)], folds=3,
                    cache_dir=tmp_path / "cache", out=tmp_path / "out",
                    show_progress=False)  # fmt: skip
    by_name = {r["candidate"]: r for r in advice.ranking}
    assert set(by_name) == {"tfidf", f"frozen:{folder}", f"contrastive:{folder}", f"top2:{folder}"}
    for kind in ("contrastive", "top2"):
        row = by_name[f"{kind}:{folder}"]
        assert row["score"] is not None and 0 <= row["score"] <= 100 and not row["skipped"]
        model, _ = fit_candidate(row, [r["text"] for r in rows], [r["pair"] for r in rows],
                                 [r["label"] for r in rows])  # fmt: skip
        assert model.input_ == "pairs"
        assert set(model.predict([("a good film", "a good film")]).tolist()) <= {"same", "other"}
        code = _rebuild(row, advice, {"seed": 0})
        assert f"fine_tune({str(folder)!r}, pairs, labels" in code


def test_bad_input_gets_clear_errors(tmp_path) -> None:
    frame = _frame(10)
    frame.loc[len(frame)] = {"text": "lonely", "label": "rare"}
    frame["split"] = ["test"] * 4 + ["train"] * (len(frame) - 4)  # "rare": 1 train row
    with pytest.raises(InvalidInputError, match="at least 2 labelled rows of every class"):
        advise(Task.from_dataframe(frame, name="x", split="split"), budget=5,
               cache_dir=tmp_path, show_progress=False)  # fmt: skip
    task = Task.from_dataframe(_frame(10), name="x")
    with pytest.raises(InvalidParameterError, match="unknown candidate"):
        advise(task, candidates=["no-such-encoder"], show_progress=False)
    # presets fitted on the training texts would leak the test folds; trained ones need
    # their folder
    for fitted in ("tfidf", "lsa", "glove-6b-50d-sif"):
        with pytest.raises(InvalidParameterError, match=f"'{fitted}' is fitted on the training"):
            advise(task, candidates=["glove-6b-50d", fitted], show_progress=False)
    with pytest.raises(InvalidParameterError, match="weights you train first.*transferkit train"):
        advise(task, candidates=["skip-thought-uni"], show_progress=False)
    with pytest.raises(InvalidParameterError, match="folds must be"):
        advise(task, folds=1, show_progress=False)
    sts = Task.from_dataframe(
        pd.DataFrame({"text": GOOD, "pair": BAD, "score": [1.0, 2.0, 3.0, 4.0, 5.0]}),
        name="s", type="sts", pair="pair", score="score", label=None,
    )  # fmt: skip
    with pytest.raises(InvalidParameterError, match="s is a sts task"):
        advise(sts, show_progress=False)


def test_cli_advise_prints_the_report(tmp_path, capsys) -> None:
    from benchmarks.cli import main

    path = tmp_path / "reviews.tsv"
    _frame().to_csv(path, sep="\t", index=False)
    code = main(["advise", "--task-file", str(path), "--candidates", "glove-6b-50d",
                 "--no-fine-tuning", "--budget", "2m", "--cache-dir", str(tmp_path / "c"),
                 "--out", str(tmp_path / "out"), "--no-progress"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "rank  candidate" in out and "Recommended:" in out
    assert (tmp_path / "out" / "model" / "advised.json").is_file()


def test_the_encoder_to_fine_tune_is_the_best_one_that_fits_the_budget() -> None:
    from benchmarks.advise_candidates import Candidate, to_fine_tune

    big = Candidate("frozen:big", "frozen", "big", scores={400: [90.0]}, encode_ms_per_1000=80e3)
    small = Candidate("frozen:small", "frozen", "small", scores={400: [85.0]},
                      encode_ms_per_1000=10e3)  # fmt: skip
    # contrastive at 400 rows (2 epochs) then on all 500 (1 epoch): 1,300 text-passes at
    # 16 encodings' worth each: big needs ~1,664 s, small ~208 s
    assert to_fine_tune([big, small], 400, 500, left=3000).name == "frozen:big"
    assert to_fine_tune([big, small], 400, 500, left=600).name == "frozen:small"
    assert to_fine_tune([big, small], 400, 500, left=10).name == "frozen:small"  # cheapest
    # a pair task's contrastive epoch holds one pair (2 texts) a row: big needs ~832 s
    assert to_fine_tune([big, small], 400, 500, left=1000).name == "frozen:small"
    assert to_fine_tune([big, small], 400, 500, left=1000, pairs=True).name == "frozen:big"


def test_a_candidate_cut_short_by_the_budget_is_ranked_on_the_folds_it_ran() -> None:
    """A fine-tuning run measured on fold 1 only (an easy fold) is compared with the
    reference on that fold, not with the reference's mean over five folds."""
    from types import SimpleNamespace

    def cand(name: str, kind: str, folds: dict[int, float]) -> Candidate:
        return Candidate(name, kind, "minilm-l6", scores={400: list(folds.values())},
                         folds={400: list(folds)}, train_seconds=[1.0])  # fmt: skip

    frozen = cand("frozen:minilm-l6", "frozen", {0: 90.0, 1: 84.0, 2: 85.0, 3: 83.0, 4: 88.0})
    tuned = cand("contrastive:minilm-l6", "contrastive", {0: 91.0})
    two = cand("top2:minilm-l6", "top2", {0: 86.0, 1: 82.0})
    advice = SimpleNamespace(sizes=[100, 400], folds=5, n_labels=500,
                             candidates=[frozen, tuned, two])  # fmt: skip
    ranking = _rank(advice)
    advice.ranking = ranking
    by_name = {r["candidate"]: r for r in ranking}
    # 91.0 on fold 1, where the reference scored 90.0: 1 point over its 5-fold mean of 86.0
    assert by_name["contrastive:minilm-l6"]["score"] == pytest.approx(87.0)
    assert by_name["contrastive:minilm-l6"]["measured_score"] == 91.0
    assert by_name["contrastive:minilm-l6"]["paired_with"] == {
        "candidate": "frozen:minilm-l6", "folds": [1], "score_on_same_folds": 90.0,
        "difference": 1.0}  # fmt: skip
    # two folds: differences -4 and -2, so 86.0 - 3.0, with an interval over the differences
    assert by_name["top2:minilm-l6"]["score"] == pytest.approx(83.0)
    assert by_name["top2:minilm-l6"]["ci95"] is not None
    assert by_name["frozen:minilm-l6"]["paired_with"] is None
    assert [r["candidate"] for r in ranking] == [
        "contrastive:minilm-l6", "frozen:minilm-l6", "top2:minilm-l6"]  # fmt: skip
    assert "87.0*" in format_table(advice) and "* run on fewer folds" in format_table(advice)
    text = _recommend(advice)
    assert "87.0 (estimated from 1 of 5 CV folds: it scored 91.0 on fold 1" in text
    assert "frozen:minilm-l6 scored 90.0 and 86.0 over all 5" in text
    assert "by 1.0 points" in text


def test_a_candidate_cut_short_is_predicted_on_the_scale_of_every_fold() -> None:
    """Predictions of a candidate run on fold 1 only: its own curve (3 sizes on fold 1)
    moves by the reference's gap between fold 1 and every fold; with one size, the
    reference's curve plus the paired difference stands in.  The expected values come
    from ``fit_curve``/``predict`` on the same means."""
    from types import SimpleNamespace

    sizes = [100, 200, 400]
    ref_by_size = {100: [80.0, 74.0, 75.0, 73.0, 78.0], 200: [85.0, 79.0, 80.0, 78.0, 83.0],
                   400: [88.0, 82.0, 83.0, 81.0, 86.0]}  # fmt: skip
    frozen = Candidate("frozen:minilm-l6", "frozen", "minilm-l6", scores=ref_by_size,
                       folds={s: [0, 1, 2, 3, 4] for s in sizes}, train_seconds=[1.0])  # fmt: skip
    own = {100: [81.0], 200: [87.0], 400: [90.0]}
    two = Candidate("top2:minilm-l6", "top2", "minilm-l6", scores=own,
                    folds={s: [0] for s in sizes}, train_seconds=[1.0])  # fmt: skip
    one = Candidate("contrastive:minilm-l6", "contrastive", "minilm-l6", scores={400: [91.0]},
                    folds={400: [0]}, train_seconds=[1.0])  # fmt: skip
    advice = SimpleNamespace(sizes=sizes, folds=5, n_labels=500, candidates=[frozen, two, one])
    advice.ranking = _rank(advice)
    by_name = {r["candidate"]: r for r in advice.ranking}
    ref_fit = fit_curve(sizes, [float(np.mean(ref_by_size[s])) for s in sizes])
    own_fit = fit_curve(sizes, [own[s][0] for s in sizes])
    assert ref_fit is not None and own_fit is not None
    gap = 84.0 - 88.0  # the reference over every fold at 400, less its fold 1
    for m in (1, 2, 4):
        assert by_name["top2:minilm-l6"]["predicted"][m] == pytest.approx(
            predict(own_fit, m * 500) + gap
        )
        assert by_name["contrastive:minilm-l6"]["predicted"][m] == pytest.approx(
            predict(ref_fit, m * 500) + 3.0
        )  # 91.0 against the reference's 88.0 on fold 1
    assert by_name["top2:minilm-l6"]["predicted_from"] is None
    assert by_name["contrastive:minilm-l6"]["predicted_from"] == "frozen:minilm-l6"
    assert advice.ranking[0]["candidate"] == "contrastive:minilm-l6"
    text = _recommend(advice)
    assert "frozen:minilm-l6's learning curve plus the measured gap of +3.0 points" in text
    assert "No learning-curve prediction" not in text


def test_a_fine_tuning_run_ruled_out_by_the_first_estimate_is_tried_again(
    tmp_path, monkeypatch
) -> None:
    """When the first cost estimate (the probe's) is too high, the run it ruled out is
    tried again once a smaller run has measured the real cost."""
    from benchmarks import advise as advise_module

    _kind, data = advise_module._prepare(Task.from_dataframe(_frame(), name="r"), 5, 0)
    assert data.sizes[-1] == 48 and len(data.y) == 60
    # a probe that says 1 s a row and epoch (top-2: 3 epochs at every size): fold 1 at 48
    # rows needs 144 s + 180 s for the final model > 300 s; 24 rows need 72 + 180 s and fit
    tuned = Candidate("top2:x", "top2", "x")
    runner = advise_module._Runner(data, 300.0, tmp_path, 0, lambda line: None)
    monkeypatch.setattr(runner, "probe_once", lambda cand, idx: (0.0, 1.0))
    monkeypatch.setattr(runner, "fine_tune_once", lambda cand, idx, test: 75.0)
    runner.fine_tune_units([tuned])
    assert sorted(tuned.folds[48]) == [0, 1, 2, 3, 4]
    assert tuned.skipped == []
    assert f"{tuned.name}/48/0" in runner.results


@pytest.mark.parametrize(
    "entry",
    [{}, [1, 2], None, {"fixed_seconds": "abc", "seconds_per_row_epoch": 0.1},
     {"fixed_seconds": float("inf"), "seconds_per_row_epoch": 0.1},
     {"fixed_seconds": -1000.0, "seconds_per_row_epoch": -5.0},
     {"fixed_seconds": True, "seconds_per_row_epoch": 0.1}],
)  # fmt: skip
def test_a_damaged_cached_probe_is_measured_again(tmp_path, entry) -> None:
    from benchmarks import advise as advise_module

    _kind, data = advise_module._prepare(Task.from_dataframe(_frame(), name="r"), 5, 0)
    first = advise_module._Runner(data, 300.0, tmp_path, 0, lambda line: None)
    first.cache_file.parent.mkdir(parents=True)
    first.cache_file.write_text(json.dumps({"top2:x/probe": entry, "top2:x/48/0": entry}))
    runner = advise_module._Runner(data, 300.0, tmp_path, 0, lambda line: None)
    runner.probe_once = lambda cand, idx: (0.5, 0.01)  # type: ignore[method-assign]
    runner.fine_tune_once = lambda cand, idx, test: 75.0  # type: ignore[method-assign]
    tuned = Candidate("top2:x", "top2", "x")
    runner.fine_tune_units([tuned])
    assert runner.results["top2:x/probe"] == {"fixed_seconds": 0.5, "seconds_per_row_epoch": 0.01}
    assert runner.results["top2:x/48/0"]["score"] == 75.0
    assert sorted(tuned.folds[48]) == [0, 1, 2, 3, 4] and tuned.skipped == []


def test_a_fine_tuned_curve_is_fitted_on_the_folds_run_at_every_size() -> None:
    """Fine-tuning runs its smaller sizes on fold 1 only.  Fold 1 is 3 points easier
    than the mean of the five at 400 rows; a curve through 73, 79 (fold 1) and 80 (five
    folds) would take that for a flattening.  The curve is fitted on fold 1's 73, 79, 83
    and moved down by 3; the expected values come from ``fit_curve``/``predict``."""
    from types import SimpleNamespace

    sizes = [100, 200, 400]
    tuned = Candidate("contrastive:minilm-l6", "contrastive", "minilm-l6",
                      scores={100: [73.0], 200: [79.0], 400: [83.0, 79.0, 80.0, 78.0, 80.0]},
                      folds={100: [0], 200: [0], 400: [0, 1, 2, 3, 4]},
                      train_seconds=[1.0])  # fmt: skip
    advice = SimpleNamespace(sizes=sizes, folds=5, n_labels=500, candidates=[tuned])
    (row,) = _rank(advice)
    shared = fit_curve(sizes, [73.0, 79.0, 83.0])
    mixed = fit_curve(sizes, [73.0, 79.0, 80.0])
    assert shared is not None and mixed is not None
    for m in (1, 2, 4):
        assert row["predicted"][m] == pytest.approx(predict(shared, m * 500) - 3.0)
    # what the curve through the mixed means predicts is far off
    gain = row["predicted"][2] - row["predicted"][1]
    assert gain - (predict(mixed, 1000) - predict(mixed, 500)) > 1.0
    assert row["score"] == pytest.approx(80.0) and row["folds_run"] == 5
