"""Tasks of your own data: Task.from_dataframe / from_file, evaluate, run_suite, bench, report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from benchmarks.cli import main as cli_main
from benchmarks.report import build_table, load_results, to_markdown
from benchmarks.results import RESULT_FORMAT, SCHEMA_VERSION
from benchmarks.suites import SuiteTask
from benchmarks.tasks import Task
from benchmarks.tasks.base import (
    ClassificationTask,
    ClusteringTask,
    PairClassificationTask,
    STSTask,
)
from embeddings.errors import DataNotFoundError, InvalidInputError, InvalidParameterError
from tests.benchmarks.test_runner import VOCAB, BowEncoder, LearnedVocabEncoder, read
from tests.benchmarks.test_runner import run_quietly as run

# ---------------------------------------------------------------- generated data


def reviews(n: int = 120, seed: int = 0) -> pd.DataFrame:
    """Two-class rows whose words carry the label (w0/w1 signal words plus noise)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        label = ["neg", "pos"][k % 2]
        words = [VOCAB[k % 2]] * 2 + list(rng.choice(VOCAB[2:], size=int(rng.integers(1, 5))))
        rng.shuffle(words)
        rows.append({"review": " ".join(words) + f" r{k}", "stars": label})
    return pd.DataFrame(rows)


def pairs(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        a = " ".join(rng.choice(VOCAB, size=4))
        same = k % 2 == 0
        b = a if same else " ".join(rng.choice(VOCAB, size=4))
        rows.append({"a": a, "b": b, "para": int(same), "sim": 5.0 if same else float(k % 3)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- building tasks


def test_dataframe_without_splits_gets_a_seeded_stratified_split_and_says_so() -> None:
    df = reviews()
    task = Task.from_dataframe(df, text="review", label="stars", name="reviews")
    assert isinstance(task, ClassificationTask) and task.name == "reviews"
    meta = task.metadata
    assert meta.family == "classification" and meta.splits == ("train", "test")
    assert meta.labels == ("neg", "pos") and meta.main_score == "accuracy"
    train, test = task.load("train"), task.load("test")
    assert (len(train), len(test)) == (96, 24)
    assert np.bincount(test.labels).tolist() == [12, 12]  # stratified
    assert sorted(train.texts + test.texts) == sorted(df["review"])
    params = task.get_params()
    assert params["splits"] == (
        "stratified random split of the rows: test_size=0.2, random_state=1111"
    )
    assert params["source"] == "DataFrame" and params["columns"] == {
        "text": "review",
        "label": "stars",
    }
    # the same rows give the same task version; another seed, other rows: another version
    same = Task.from_dataframe(df, text="review", label="stars", name="reviews")
    other = Task.from_dataframe(df, text="review", label="stars", name="reviews", random_state=2)
    assert same.metadata.version == meta.version != other.metadata.version
    assert task.load("test").texts == same.load("test").texts


def test_split_column_separate_frames_and_files_give_the_same_task(tmp_path: Path) -> None:
    df = reviews(40)
    df["part"] = ["train"] * 24 + ["dev"] * 6 + ["test"] * 10
    by_column = Task.from_dataframe(df, text="review", label="stars", split="part", name="r")
    assert by_column.metadata.splits == ("train", "dev", "test")
    assert by_column.get_params()["splits"].startswith("split column 'part'")
    frames = {s: df[df["part"] == s] for s in ("train", "dev", "test")}
    by_frames = Task.from_dataframe(frames, text="review", label="stars", name="r")
    assert by_frames.metadata.version == by_column.metadata.version
    for s in ("train", "dev", "test"):
        frames[s].drop(columns="part").to_csv(tmp_path / f"{s}.tsv", sep="\t", index=False)
    by_files = Task.from_file(tmp_path / "train.tsv", test=tmp_path / "test.tsv",
                              dev=tmp_path / "dev.tsv", text="review", label="stars",
                              name="r")  # fmt: skip
    assert by_files.metadata.version == by_column.metadata.version
    assert by_files.get_params()["source"].startswith(f"train={tmp_path / 'train.tsv'}")


@pytest.mark.parametrize("suffix", [".tsv", ".csv", ".parquet"])
def test_from_file_reads_tsv_csv_and_parquet(suffix: str, tmp_path: Path) -> None:
    df = reviews(30)
    df.loc[0, "review"] = 'NA with "quotes", commas'  # kept as text, never NaN
    path = tmp_path / f"mine{suffix}"
    if suffix == ".parquet":
        df.to_parquet(path)
    else:
        df.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    task = Task.from_file(path, text="review", label="stars")
    assert task.name == "mine" and task.get_params()["source"] == str(path)
    texts = task.load("train").texts + task.load("test").texts
    assert 'NA with "quotes", commas' in texts
    reference = Task.from_dataframe(df, text="review", label="stars", name="mine")
    assert task.metadata.version == reference.metadata.version


def test_pair_sts_and_clustering_tasks() -> None:
    df = pairs()
    pair = Task.from_dataframe(df, type="pair_classification", text="a", pair="b",
                               label="para", name="para")  # fmt: skip
    assert isinstance(pair, PairClassificationTask) and pair.metadata.labels == ("0", "1")
    sts = Task.from_dataframe(df, type="similarity", text="a", pair="b", score="sim", name="s")
    assert isinstance(sts, STSTask) and sts.metadata.splits == ("test",)
    assert sts.get_params()["splits"] == "no split given: all rows are scored"
    assert sts.load("test").scores.dtype == np.float64
    clusters = Task.from_dataframe(reviews(), type="clustering", text="review", label="stars",
                                   name="c")  # fmt: skip
    assert isinstance(clusters, ClusteringTask) and clusters.metadata.main_score == "v_measure"


# ---------------------------------------------------------------- errors


def test_bad_arguments_say_what_was_received_and_what_is_allowed(tmp_path: Path) -> None:
    df = reviews(20)
    with pytest.raises(InvalidInputError, match=r"no column 'text'; the columns are \['review'"):
        Task.from_dataframe(df)
    with pytest.raises(InvalidParameterError, match="type must be one of"):
        Task.from_dataframe(df, type="regression", text="review", label="stars")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="built-in task 'MR'"):
        Task.from_dataframe(df, text="review", label="stars", name="mr")
    with pytest.raises(InvalidParameterError, match=r"needs pair= .* and score="):
        Task.from_dataframe(df, type="sts", text="review", label="stars")
    with pytest.raises(InvalidParameterError, match="test_size"):
        Task.from_dataframe(df, text="review", label="stars", test_size=1.5)
    bad = df.assign(part=["train"] * 10 + ["validation"] * 10)
    with pytest.raises(InvalidInputError, match=r"values \['validation'\]; allowed"):
        Task.from_dataframe(bad, text="review", label="stars", split="part")
    lonely = pd.concat([df, pd.DataFrame([{"review": "w5", "stars": "meh"}])])
    with pytest.raises(InvalidInputError, match=r"labels \['meh'\] have 1 row"):
        Task.from_dataframe(lonely, text="review", label="stars")
    with pytest.raises(InvalidInputError, match="row 3 of column 'review' is nan"):
        Task.from_dataframe(df.assign(review=[*df["review"][:3], np.nan, *df["review"][4:]]),
                            text="review", label="stars")  # fmt: skip
    with pytest.raises(InvalidInputError, match="scores must be finite numbers"):
        Task.from_dataframe(pairs().assign(sim="high"), type="sts", text="a", pair="b",
                            score="sim")  # fmt: skip
    only_train = df.assign(part="train")
    with pytest.raises(InvalidInputError, match=r"needs the splits \['train', 'test'\]"):
        Task.from_dataframe(only_train, text="review", label="stars", split="part")
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=r"use one of \['.tsv'"):
        Task.from_file(tmp_path / "x.json")
    with pytest.raises(DataNotFoundError, match="does not exist"):
        Task.from_file(tmp_path / "missing.tsv")
    with pytest.raises(InvalidParameterError, match="needs test= too"):
        Task.from_file(tmp_path / "missing.tsv", dev=tmp_path / "dev.tsv")
    with pytest.raises(InvalidParameterError, match="unexpected options"):
        Task.from_file(tmp_path / "missing.tsv", colour="red")


# ---------------------------------------------------------------- evaluation


def test_evaluate_uses_the_family_protocol() -> None:
    task = Task.from_dataframe(reviews(), text="review", label="stars", name="reviews")
    result = task.evaluate(BowEncoder())
    proto = result["protocol"]
    assert proto["evaluator"] == "evaluate_classification_train_test"
    assert proto["selection"] == "cv" and proto["n_folds"] == 10
    assert proto["c_grid"] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    assert proto["data_verified"] is False  # no pinned files behind it
    assert result["n_samples"] == {"train": 96, "test": 24}
    assert result["main_score"] == result["scores"]["accuracy"] > 0.9
    # the same as the built-in evaluator on the same arrays
    from threadpoolctl import threadpool_limits

    from evaluators import evaluate_classification_train_test

    train, test = task.load("train"), task.load("test")
    with threadpool_limits(1, user_api="blas"):  # evaluate's default
        expected = evaluate_classification_train_test(
            BowEncoder().encode(train.texts), train.labels, BowEncoder().encode(test.texts),
            test.labels, n_folds=10, random_state=1111,
        )  # fmt: skip
    assert result["main_score"] == pytest.approx(expected["main_score"], abs=1e-12)
    parts = ["train"] * 40 + ["dev"] * 10 + ["test"] * 10
    dev = Task.from_dataframe(
        reviews(60).assign(part=parts), text="review", label="stars", split="part", name="d"
    )
    assert dev.evaluate(BowEncoder())["protocol"]["evaluator"] == "evaluate_classification_split"


def test_evaluate_other_families_and_fit_on_train_only() -> None:
    df = pairs()
    para = Task.from_dataframe(df, type="pair_classification", text="a", pair="b",
                               label="para", name="para")  # fmt: skip
    result = para.evaluate(BowEncoder(), settings=SuiteTask("para", n_folds=3))
    assert result["protocol"]["evaluator"] == "evaluate_pairs_train_test"
    assert result["protocol"]["pair_features"] == "senteval"
    sts = Task.from_dataframe(df, type="sts", text="a", pair="b", score="sim", name="s")
    scores = sts.evaluate(BowEncoder())
    assert scores["protocol"]["evaluator"] == "evaluate_sts" and scores["main_score"] > 0.5
    assert list(scores["scores"]["subsets"]) == ["s"]
    clusters = Task.from_dataframe(reviews(), type="clustering", text="review", label="stars",
                                   name="c")  # fmt: skip
    assert clusters.evaluate(BowEncoder())["protocol"]["evaluator"] == "evaluate_clustering"
    enc = LearnedVocabEncoder()
    task = Task.from_dataframe(reviews(), text="review", label="stars", name="reviews")
    fitted = task.evaluate(enc)
    assert enc.fit_log == [task.load("train").texts]  # never the test rows
    assert fitted["protocol"]["fit"] == "train" and fitted["protocol"]["fit_texts"] == 96


def test_run_suite_writes_the_builtin_result_format(tmp_path: Path) -> None:
    task = Task.from_dataframe(reviews(), text="review", label="stars", name="my reviews")
    out = tmp_path / "out"
    summary = run(task, [BowEncoder(), LearnedVocabEncoder()], out)
    assert summary["failed"] == [] and summary["suite"] == "own"
    assert len(summary["computed"]) == 2
    rec = read(summary["computed"][0])
    assert rec["format"] == RESULT_FORMAT and rec["schema_version"] == SCHEMA_VERSION
    assert Path(summary["computed"][0]).name.startswith(f"my-reviews__v{task.metadata.version}__")
    assert rec["task"]["name"] == "my reviews" and rec["task"]["family"] == "classification"
    assert rec["task"]["params"]["splits"].startswith("stratified random split")
    assert rec["task"]["params"]["sha256"].startswith(task.metadata.version)
    assert set(rec) >= {"encoder", "protocol", "n_samples", "scores", "timings", "environment"}
    again = run([task], [BowEncoder()], out)
    assert again["skipped"] == [summary["computed"][0]]
    # edited rows are a new task version: a new result, never mixed with the old one
    edited = Task.from_dataframe(reviews(seed=5), text="review", label="stars", name="my reviews")
    assert len(run(edited, [BowEncoder()], out)["computed"]) == 1
    table = build_table(load_results(out))
    assert table.tasks == ["my reviews"] and len(table.superseded) == 2
    text = to_markdown(table)
    assert "my reviews: your own classification data from DataFrame; stratified random" in text
    assert "Not shown: 2 result(s) of older task versions" in text


# ---------------------------------------------------------------- the command line


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_bench_task_file_then_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A user TSV through ``bench --task-file`` and ``report``, real embedded encoders."""
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "my_reviews.tsv"
    reviews().to_csv(path, sep="\t", index=False)
    out = tmp_path / "own"
    argv = ["bench", "--task-file", str(path), "--type", "classification", "--text-column",
            "review", "--label-column", "stars", "--encoders", "glove-6b-50d,tfidf", "--out",
            str(out), "--no-progress"]  # fmt: skip
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "own: 2 computed, 0 already done, 0 failed" in printed
    records = load_results(out)
    assert {r["encoder"]["label"] for r in records} == {"glove-6b-50d", "tfidf"}
    tfidf = next(r for r in records if r["encoder"]["label"] == "tfidf")
    assert tfidf["protocol"]["fit"] == "train" and tfidf["protocol"]["features"] == "sparse"
    assert cli_main(["report", str(out), "--no-plots"]) == 0
    report = capsys.readouterr().out
    assert "| task | metric | glove-6b-50d | tfidf |" in report
    assert "| my_reviews | accuracy |" in report
    assert "stratified random split of the rows: test_size=0.2, random_state=1111" in report
    assert (out / "report.md").is_file()


def test_bench_option_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["bench", "--test-file", "t.tsv", "--encoders", "tfidf"]) == 2
    assert "add --task-file PATH" in capsys.readouterr().err
    assert cli_main(["bench", "--task-file", "a.tsv", "--suite", "quick"]) == 2
    assert "leave out --suite/--tasks" in capsys.readouterr().err
    assert cli_main(["bench", "--tasks", "mine.tsv", "--encoders", "tfidf"]) == 2
    assert "--task-file PATH" in capsys.readouterr().err


def _capture_runs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import benchmarks.runner as runner_mod

    calls: list[dict[str, Any]] = []

    def fake(suite: Any, encoders: Any, out_dir: Any, **kw: Any) -> dict[str, Any]:
        calls.append({"suite": suite, "encoders": list(encoders), **kw})
        return {"suite": "x", "out_dir": str(out_dir), "computed": [], "skipped": [],
                "failed": [], "wall_s": 0.0}  # fmt: skip

    monkeypatch.setattr(runner_mod, "run_suite", fake)
    return calls


def test_bench_without_encoders_runs_the_embedded_defaults(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from benchmarks.demo import DEFAULT_ENCODERS

    calls = _capture_runs(monkeypatch)
    assert cli_main(["bench", "--suite", "quick"]) == 0
    assert calls[0]["suite"] == "quick" and calls[0]["encoders"] == list(DEFAULT_ENCODERS)
    assert "running the embedded defaults" in capsys.readouterr().out
    assert cli_main(["bench"]) == 0 and calls[1]["suite"] == "quick"


def test_bench_tasks_are_found_in_the_catalogue(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = _capture_runs(monkeypatch)
    assert cli_main(["bench", "--tasks", "AGNews", "--encoders", "tfidf"]) == 0
    suite = calls[0]["suite"]
    assert suite.name == "full" and [t.label for t in suite.tasks] == ["AGNews"]
    assert cli_main(["bench", "--tasks", "TREC,MR", "--encoders", "tfidf"]) == 0
    assert [t.label for t in calls[1]["suite"].tasks] == ["TREC (quick)", "MR"]
    assert cli_main(["bench", "--suite", "quick", "--tasks", "AGNews", "--encoders", "tfidf"]) == 2
    assert "'AGNews' is in suite 'full'" in capsys.readouterr().err
