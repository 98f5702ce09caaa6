"""Report tables, CSV, plots and the bundled reference numbers (synthetic results)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.cli import main as cli_main
from benchmarks.report import (
    build_table,
    build_tables,
    list_references,
    load_reference,
    load_results,
    to_csv,
    to_markdown,
    write_report,
)
from benchmarks.tasks import list_tasks
from embeddings.errors import DataNotFoundError, InvalidParameterError, ModelFormatError


def record(task: str, enc: str, score: float, *, created: str = "2024-01-01T00:00:00+00:00",
           metric: str = "accuracy", label: str | None = None,
           max_samples: dict[str, int] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "format": "transferkit-benchmark-result",
        "schema_version": 1,
        "created": created,
        "task": {
            "name": task,
            "label": label or task,
            "main_score": metric,
            "config": {"max_samples": max_samples or {}, "n_folds": None},
        },
        "encoder": {"label": enc},
        "main_score": score,
    }


def write_records(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, rec in enumerate(records):
        (folder / f"r{i}.json").write_text(json.dumps(rec), encoding="utf-8")
    return folder


RECORDS = [
    record("MR", "a", 0.70),
    record("MR", "b", 0.80),
    record("TREC", "a", 0.60),
    record("TREC", "b", 0.90),
    record("STS12", "a", 0.50, metric="spearman"),  # b has no STS12 result
]


def test_table_orders_tasks_by_suite_and_averages_common_tasks() -> None:
    table = build_table(RECORDS)
    assert table.tasks == ["MR", "TREC", "STS12"] and table.encoders == ["a", "b"]
    assert table.get("MR", "b") == pytest.approx(80.0) and table.get("STS12", "b") is None
    assert table.average_tasks == ["MR", "TREC"]
    assert table.averages() == {"a": pytest.approx(65.0), "b": pytest.approx(85.0)}


def test_newest_result_of_a_pair_wins() -> None:
    old = record("MR", "a", 0.10, created="2024-01-01T00:00:00+00:00")
    new = record("MR", "a", 0.75, created="2024-06-01T00:00:00+00:00")
    assert build_table([new, old]).get("MR", "a") == pytest.approx(75.0)
    assert build_table([old, new]).get("MR", "a") == pytest.approx(75.0)


def test_filters_and_unknown_names() -> None:
    table = build_table(RECORDS, tasks=["trec"], encoders=["b"])
    assert table.tasks == ["TREC"] and table.encoders == ["b"]
    with pytest.raises(InvalidParameterError, match="no results for task"):
        build_table(RECORDS, tasks=["SST5"])
    with pytest.raises(InvalidParameterError, match="no results for encoder"):
        build_table(RECORDS, encoders=["zzz"])


def test_markdown_rows_average_and_missing_cells() -> None:
    lines = to_markdown(build_table(RECORDS)).splitlines()
    assert lines[0] == "| task | metric | a | b |"
    assert "| MR | accuracy | 70.00 | 80.00 |" in lines
    assert "| STS12 | spearman | 50.00 | — |" in lines
    assert "| **average (2 tasks)** |  | 65.00 | 85.00 |" in lines
    assert any("covers the 2 task(s)" in line for line in lines)


def test_reference_columns_are_separate_cited_and_only_next_to_full_entries() -> None:
    recs = [*RECORDS, record("SST2", "a", 0.7, label="SST2 (quick)", max_samples={"train": 9})]
    ref = load_reference("senteval")
    text = to_markdown(build_table(recs), ref)
    header = text.splitlines()[0]
    assert header.startswith("| task | metric | a | b | ‖ | ref: InferSent (AllNLI) [1] |")
    mr = next(line for line in text.splitlines() if line.startswith("| MR |"))
    assert mr.endswith("| ‖ | 81.1 | 79.7 | 79.4 |")  # InferSent1, InferSent2, SkipThought
    quick = next(line for line in text.splitlines() if line.startswith("| SST2 (quick) |"))
    assert quick.endswith("| ‖ | —‡ | —‡ | —‡ |")  # subsampled: no published number beside it
    assert "‡ no published number beside SST2 (quick): subsampled (at most train 9 rows)." in text
    assert "[1] InferSent (AllNLI): Alexis Conneau" in text
    assert "github.com/facebookresearch/InferSent" in text
    # the reference average covers the same tasks as ours (MR, TREC)
    avg = next(line for line in text.splitlines() if "average" in line)
    assert avg.endswith(
        f"| ‖ | {(81.1 + 88.2) / 2:.1f} | {(79.7 + 90.8) / 2:.1f} | {(79.4 + 88.4) / 2:.1f} |"
    )
    # a reference is cited or absent: nothing about references that are not shown
    assert "not verified" not in text.lower() and "Not shown" not in text


def test_why_an_entry_has_no_reference_number() -> None:
    folds = record("TREC", "a", 0.6, label="TREC (5 folds)")
    folds["task"]["config"]["n_folds"] = 5
    text = to_markdown(build_table([folds]), load_reference("senteval"))
    assert "| TREC (5 folds) | accuracy | 60.00 | ‖ | —‡ | —‡ |" in text
    assert "TREC (5 folds): 5-fold selection instead of the task's own." in text


def test_reference_with_a_different_metric_is_marked() -> None:
    text = to_markdown(build_table([record("STS14", "a", 0.5, metric="pearson")]),
                       load_reference("senteval"))  # fmt: skip
    row = next(line for line in text.splitlines() if line.startswith("| STS14 |"))
    assert "65.0†" in row and "different metric" in text


def test_bundled_reference_file_is_consistent() -> None:
    assert "senteval" in list_references()
    ref = load_reference("senteval")
    assert ref["models"], "no models"
    for model in ref["models"]:
        assert model["source"] in ref["sources"]
        assert ref["sources"][model["source"]]["url"].startswith("https://")
        assert ref["sources"][model["source"]]["citation"].strip()
        for task, score in model["scores"].items():
            assert task in list_tasks(), task
            assert 0.0 < score["value"] <= 100.0
            assert score["metric"] in ("accuracy", "pearson", "spearman")
    with pytest.raises(InvalidParameterError, match="unknown reference"):
        load_reference("nope")


def test_a_reference_without_a_citation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mine.json"
    model = {"label": "X", "source": "blog", "scores": {"MR": {"value": 80.0}}}
    path.write_text(json.dumps({"sources": {"blog": {"url": "https://x"}}, "models": [model]}))
    with pytest.raises(ModelFormatError, match="names the source 'blog', which has no citation"):
        load_reference(path)
    path.write_text(json.dumps({"sources": {"blog": {"citation": "A. B. 2020."}},
                                "models": [model]}))  # fmt: skip
    assert load_reference(path)["models"][0]["label"] == "X"


def test_results_of_an_older_task_version_are_not_mixed_with_the_current_one() -> None:
    old_a = record("MR", "a", 0.70, created="2024-01-01T00:00:00+00:00")
    old_b = record("MR", "b", 0.80, created="2024-01-01T00:00:00+00:00")
    new_a = record("MR", "a", 0.72, created="2024-06-01T00:00:00+00:00")
    for rec, version in ((old_a, "1"), (old_b, "1"), (new_a, "2")):
        rec["task"]["version"] = version
    table = build_table([old_a, old_b, new_a])
    assert table.get("MR", "a") == pytest.approx(72.0) and table.get("MR", "b") is None
    assert table.superseded == [("MR", "1", "a"), ("MR", "1", "b")]
    text = to_markdown(table)
    assert "Not shown: 2 result(s) of older task versions (MR v1)" in text


def test_csv_matches_the_table() -> None:
    rows = list(csv.reader(io.StringIO(to_csv(build_table(RECORDS), load_reference("senteval")))))
    assert rows[0][:4] == ["task", "metric", "a", "b"] and rows[0][4].startswith("ref:")
    mr = rows[1]
    assert mr[:4] == ["MR", "accuracy", "70.0", "80.0"] and mr[4] == "81.1"
    assert rows[3][:4] == ["STS12", "spearman", "50.0", ""]
    assert rows[-1][:4] == ["average", "2 tasks", "65.0", "85.0"]


def test_load_results_ignores_other_json_and_warns_on_broken(tmp_path: Path) -> None:
    folder = write_records(tmp_path / "r", RECORDS[:2])
    (folder / "other.json").write_text('{"hello": 1}', encoding="utf-8")
    (folder / "broken.json").write_text('{"format": ', encoding="utf-8")
    with pytest.warns(RuntimeWarning, match="broken.json"):
        assert len(load_results(folder)) == 2
    with pytest.raises(DataNotFoundError):
        load_results(tmp_path / "missing")


def test_write_report_writes_markdown_csv_and_png_plots(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    folder = write_records(tmp_path / "r", RECORDS)
    text, files = write_report(folder, tmp_path / "rep", reference="senteval", title="T")
    assert text.startswith("### T") and Path(files["markdown"]).read_text() == text
    assert Path(files["csv"]).read_text().startswith("task,metric,a,b")
    for key in ("bars", "heatmap"):
        assert Path(str(files[key])).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataNotFoundError, match="no benchmark results"):
        write_report(empty)


def test_report_cli_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_records(tmp_path / "r", RECORDS)
    assert cli_main(["report", str(folder), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "| MR | accuracy | 70.00 | 80.00 |" in out and "report.csv" in out
    assert cli_main(["report", str(tmp_path / "none")]) == 2


def test_results_without_a_scale_are_read_in_points(tmp_path: Path) -> None:
    # A record written before scores were points: main_score and scores on 0-1.
    old = record("MR", "a", 0.775)
    old["scores"] = {"main_score": 0.775, "accuracy": 0.775, "fold_accuracies": [0.75, 0.8],
                     "dev_accuracy": None, "n_folds": 10, "C": [1.0, 2.0]}  # fmt: skip
    new = {**record("TREC", "a", 81.5), "score_scale": 100, "scores": {"accuracy": 81.5}}
    sts = {**record("STS12", "a", 0.5, metric="spearman"), "scores": {
        "subsets": {"MSRpar": {"spearman": 0.4, "pearson": 0.3, "n_samples": 750}},
        "wmean": {"spearman": 0.5, "pearson": 0.45}, "n_samples": 750}}  # fmt: skip
    by_task = {
        r["task"]["label"]: r for r in load_results(write_records(tmp_path, [old, new, sts]))
    }
    mr, trec, sts_read = by_task["MR"], by_task["TREC"], by_task["STS12"]
    assert mr["main_score"] == pytest.approx(77.5) and mr["score_scale"] == 100
    assert mr["scores"]["accuracy"] == pytest.approx(77.5)
    assert mr["scores"]["fold_accuracies"] == pytest.approx([75.0, 80.0])
    assert mr["scores"]["dev_accuracy"] is None  # not a number: left alone
    assert (mr["scores"]["n_folds"], mr["scores"]["C"]) == (10, [1.0, 2.0])  # not scores
    assert trec["main_score"] == 81.5 and trec["scores"] == {"accuracy": 81.5}  # kept as is
    assert sts_read["scores"]["subsets"]["MSRpar"] == {
        "spearman": pytest.approx(40.0),
        "pearson": pytest.approx(30.0),
        "n_samples": 750,
    }
    assert sts_read["scores"]["wmean"]["spearman"] == pytest.approx(50.0)
    from benchmarks.results import SCORE_SCALE
    from evaluators.metrics import SCORE_SCALE as EVALUATOR_SCALE

    assert SCORE_SCALE == EVALUATOR_SCALE == 100  # files hold what the evaluators return
    table = build_table([old, new])  # records in memory are converted too
    assert table.get("MR", "a") == pytest.approx(77.5) and table.get("TREC", "a") == 81.5


def test_mixed_suites_give_one_table_and_one_average_each(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    # The README's quick example and its senteval example, run into one folder: the
    # quick suite on two encoders, the SentEval tasks on a third; one old record
    # has no suite field (its label tells), the others name their suite.
    quick = [
        {**record("SST2", enc, s, label="SST2 (quick)"), "suite": "quick", "score_scale": 100}
        for enc, s in (("glove", 78.0), ("tfidf", 74.0))
    ] + [
        record("TREC", enc, s, label="TREC (quick)") for enc, s in (("glove", 0.8), ("tfidf", 0.7))
    ]
    senteval = [
        {**record(t, "minilm", s), "suite": "senteval", "score_scale": 100}
        for t, s in (("MR", 75.0), ("CR", 79.0))
    ]
    folder = write_records(tmp_path / "r", quick + senteval)
    tables = build_tables(load_results(folder))
    assert [t.suite for t in tables] == ["quick", "senteval"]
    assert tables[0].encoders == ["glove", "tfidf"] and tables[1].encoders == ["minilm"]
    assert tables[0].averages() == {"glove": pytest.approx(79.0), "tfidf": pytest.approx(72.0)}
    assert tables[1].averages() == {"minilm": pytest.approx(77.0)}
    text, files = write_report(folder, tmp_path / "rep")
    assert "average (0 tasks)" not in text
    assert "### suite: quick" in text and "### suite: senteval" in text
    assert text.count("**average (2 tasks)**") == 2
    assert "| **average (2 tasks)** |  | 79.00 | 72.00 |" in text
    rows = list(csv.reader(io.StringIO(Path(files["csv"]).read_text())))
    assert rows[0][:3] == ["suite", "task", "metric"]
    assert {r[0] for r in rows[1:]} == {"quick", "senteval"}
    names = sorted(Path(p).name for p in files["plots"])
    assert names == ["bars-quick.png", "bars-senteval.png", "heatmap-quick.png",
                     "heatmap-senteval.png"]  # fmt: skip
    # a filter keeps only the suites that have the task
    only = build_tables(load_results(folder), tasks=["MR"])
    assert [(t.suite, t.tasks) for t in only] == [("senteval", ["MR"])]
