"""MTEB at the front door, and MTEB's own STS tasks run offline from the local files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import transferkit
from benchmarks.interop import MTEBModel, load_mteb_task
from benchmarks.tasks import Task, UnknownTaskError, get_task
from benchmarks.tasks.mteb_tasks import MTEB_LOCAL_TASKS
from embeddings.errors import DataNotFoundError, MissingDependencyError


def test_mteb_model_is_at_the_front_door() -> None:
    assert transferkit.MTEBModel is MTEBModel
    assert "MTEBModel" in transferkit.__all__


def test_an_mteb_task_without_local_data_is_refused_with_the_choices() -> None:
    with pytest.raises(UnknownTaskError, match=r"'Banking77Classification'.*STSBenchmark"):
        load_mteb_task("Banking77Classification")


def test_a_missing_data_folder_says_where_it_looked(tmp_path: Path) -> None:
    pytest.importorskip("mteb")
    with pytest.raises(DataNotFoundError, match=r"STS-B/train\.tsv.*data download STS-B"):
        load_mteb_task("STSBenchmark", data_dir=tmp_path)


@pytest.mark.data
def test_stsbenchmark_is_built_from_the_local_sts_b_files() -> None:
    pytest.importorskip("mteb")
    task = load_mteb_task("stsbenchmark")  # any case
    assert task.metadata.name == "STSBenchmark" and task.data_loaded
    assert {k: len(v) for k, v in task.dataset.items()} == {
        "train": 5749,
        "validation": 1500,
        "test": 1379,
    }
    local = get_task("STS-B").load("dev")
    rows = task.dataset["validation"]
    assert rows["sentence1"] == local.texts_a and rows["sentence2"] == local.texts_b
    np.testing.assert_array_equal(np.array(rows["score"]), local.scores)


@pytest.mark.data
def test_sts12_holds_every_subset_in_one_test_split() -> None:
    pytest.importorskip("mteb")
    task = load_mteb_task("STS12")
    local = get_task("STS12").load("test")
    assert list(task.dataset) == ["test"] and len(task.dataset["test"]) == len(local) == 3108
    assert task.dataset["test"]["sentence1"][-1] == local.texts_a[-1]
    assert set(MTEB_LOCAL_TASKS) == {"STSBenchmark", "STS12", "STS13", "STS14", "STS15", "STS16"}


@pytest.mark.data
@pytest.mark.filterwarnings("ignore:The task 'STSBenchmark' is superseded")
def test_real_mteb_scores_local_sts_b_as_transferkit_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """mteb.evaluate on the local STS-B test split gives transferkit's own Spearman.

    The reference is transferkit's own STS evaluation (cosine, Spearman) of the same
    1,379 test pairs through ``Task.from_dataframe(..., type="sts").evaluate``.
    """
    mteb = pytest.importorskip("mteb")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = transferkit.load("glove-6b-50d")
    task = load_mteb_task("STSBenchmark")
    result = mteb.evaluate(MTEBModel(encoder), task, cache=None, show_progress_bar=False)
    scores = result.task_results[0].scores["test"][0]

    test = get_task("STS-B").load("test")
    own = Task.from_dataframe(
        {"text": test.texts_a, "pair": test.texts_b, "score": test.scores},
        type="sts",
        pair="pair",
        score="score",
        name="stsb-test",
    ).evaluate(encoder)
    # mteb reports fractions (0-1), transferkit points (0-100): compare in points.
    # "spearman" is scored with the model's similarity (MTEBModel.similarity_pairwise,
    # float64 cosine, as transferkit's evaluator); "cosine_spearman", mteb's main score,
    # with mteb's own float32 cosine, which moves ties in the last bits only.
    assert 100 * scores["spearman"] == pytest.approx(own["main_score"], abs=1e-6)
    assert 100 * scores["cosine_spearman"] == pytest.approx(own["main_score"], abs=1e-4)
    assert result.model_name == "transferkit/glove-6b-50d"
    assert 20.0 < own["main_score"] < 80.0  # a real encoder, not a constant


@pytest.mark.data
def test_real_mteb_scores_sts12_as_transferkits_all_subsets_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MTEB's STS12 is one Spearman over all subsets: transferkit's ``"all"`` entry."""
    mteb = pytest.importorskip("mteb")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    encoder = transferkit.load("glove-6b-50d")
    result = mteb.evaluate(
        MTEBModel(encoder), load_mteb_task("STS12"), cache=None, show_progress_bar=False
    )
    scores = result.task_results[0].scores["test"][0]
    own = get_task("STS12").evaluate(encoder)
    assert 100 * scores["spearman"] == pytest.approx(own["scores"]["all"]["spearman"], abs=1e-6)
    assert own["scores"]["all"]["n_samples"] == 3108


def test_without_mteb_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "mteb", None)  # import mteb -> ImportError
    with pytest.raises(MissingDependencyError, match=r"transferkit\[mteb\]"):
        load_mteb_task("STS12")


@pytest.mark.data
def test_bench_mteb_runs_mtebs_own_task_offline(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``transferkit bench --mteb STS12`` prints mteb's main score, in points, of each
    encoder: the same number as ``mteb.evaluate`` on the local task."""
    mteb = pytest.importorskip("mteb")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from benchmarks.cli import main

    assert main(["bench", "--mteb", "STS12", "--encoders", "glove-6b-50d"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("MTEB STS12 x glove-6b-50d: main score = ")
    printed = float(line.split("= ")[1].split()[0])
    result = mteb.evaluate(
        MTEBModel("glove-6b-50d"), load_mteb_task("STS12"), cache=None, show_progress_bar=False
    )
    assert printed == pytest.approx(100 * result.task_results[0].get_score(), abs=0.006)
