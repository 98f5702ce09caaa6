"""The floor plan of ``benchmarks``: tasks hold data, the protocols live above them.

``benchmarks.tasks`` imports nothing of the floors above it (not even inside a
function); ``Task.evaluate``, ``Task.from_dataframe`` and ``Task.from_file`` reach
their functions through :mod:`benchmarks.tasks.hooks`.
"""

from __future__ import annotations

import doctest
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import benchmarks
import benchmarks.suites
from benchmarks import protocols
from benchmarks.evaluation import EncoderSession
from benchmarks.tasks import (
    Task,
    catalog_training,
    download_report,
    get_task,
    hooks,
    own_rows,
    settings,
)
from benchmarks.tasks.data import TextClassificationData
from benchmarks.tasks.metadata import TaskMetadata
from embeddings.errors import InvalidParameterError, MissingDependencyError
from tests.test_import_graph import _imports, _modules

REPO = Path(__file__).resolve().parents[2]


def _rows() -> dict[str, list[str]]:
    return {"text": ["a fine film", "great fun", "a dull film", "bad fun"] * 10,
            "label": ["pos", "pos", "neg", "neg"] * 10}  # fmt: skip


class _Words:
    """A frozen two-word bag-of-words encoder (no data files, no cache)."""

    def encode(self, texts: Any, **_: Any) -> Any:
        import numpy as np

        return np.array([[t.count("fine") + t.count("great"), t.count("dull") + t.count("bad")]
                         for t in texts], dtype=np.float32)  # fmt: skip


# ---------------------------------------------------------------- the import graph


def test_task_modules_import_only_tasks_and_embeddings() -> None:
    modules = _modules()
    for name, path in sorted(modules.items()):
        if name != "benchmarks.tasks" and not name.startswith("benchmarks.tasks."):
            continue
        found = _imports(name, path, modules)
        upward = sorted(
            m for m in found if m.split(".")[:2] != ["benchmarks", "tasks"] and m != "embeddings"
            and m.startswith("benchmarks")
        )  # fmt: skip
        assert not upward, f"{name} imports {upward} (above benchmarks.tasks)"
        others = sorted(m for m in found if m.split(".")[0] not in ("benchmarks", "embeddings"))
        assert not others, f"{name} imports {others}"


def test_the_task_floors_are_ordered() -> None:
    everything = _modules()
    floor = {"benchmarks", "benchmarks.protocols", "benchmarks.evaluation", "benchmarks.suites"}
    modules = {
        n: p for n, p in everything.items() if n in floor or n.startswith("benchmarks.tasks")
    }
    graph = {n: _imports(n, p, everything) & set(modules) for n, p in modules.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: tuple[str, ...]) -> None:
        if state.get(node) == 2:
            return
        assert state.get(node) != 1, f"circle: {' -> '.join((*trail, node))}"
        state[node] = 1
        for child in sorted(graph.get(node, ())):
            visit(child, (*trail, node))
        state[node] = 2
        order.append(node)

    for node in sorted(graph):
        visit(node, ())
    # imported modules come first: each floor only needs the ones below it
    assert order.index("benchmarks.tasks.base") < order.index("benchmarks.tasks.own")
    assert order.index("benchmarks.tasks.registry") < order.index("benchmarks.tasks.own")
    assert order.index("benchmarks.tasks.nli") < order.index("benchmarks.tasks.download")
    assert order.index("benchmarks.tasks.settings") < order.index("benchmarks.suites")
    assert order.index("benchmarks.tasks.base") < order.index("benchmarks.protocols")


def test_suite_settings_are_one_class() -> None:
    assert benchmarks.suites.SuiteTask is settings.SuiteTask
    assert benchmarks.suites.SUITE_FORMAT_VERSION == settings.SUITE_FORMAT_VERSION
    # a suite entry's hash (part of result keys) is that of the moved class
    entry = settings.SuiteTask("TREC", max_samples={"train": 500}, n_folds=5)
    assert entry.config()["format"] == 1
    assert len(entry.config_hash()) == 64


def test_nli_report_is_the_download_report() -> None:
    from benchmarks.tasks import download, nli

    assert download.DownloadReport is download_report.DownloadReport
    assert nli.DownloadReport is download_report.DownloadReport


@pytest.mark.parametrize("module", [hooks, settings, download_report, own_rows, catalog_training])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# ---------------------------------------------------------------- hooks


def test_the_methods_call_the_registered_functions() -> None:
    from benchmarks.tasks import own

    assert hooks.lookup("from_dataframe") is own.from_dataframe
    assert hooks.lookup("from_file") is own.from_file
    assert hooks.lookup("evaluate") is benchmarks._evaluate


def test_a_missing_hook_names_its_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    task = Task.from_dataframe(_rows(), name="tiny")
    monkeypatch.setattr(hooks, "_HOOKS", {})
    with pytest.raises(MissingDependencyError, match="benchmarks.protocols"):
        task.evaluate(_Words())
    with pytest.raises(MissingDependencyError, match="benchmarks.tasks.own"):
        Task.from_file("rows.tsv")


def test_hooks_refuse_unknown_names_and_non_callables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "_HOOKS", dict(hooks._HOOKS))
    with pytest.raises(InvalidParameterError, match="unknown task hook"):
        hooks.provide("load", print)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="must be callable"):
        hooks.provide("evaluate", "benchmarks.protocols.evaluate")  # type: ignore[arg-type]
    calls: list[tuple[Any, ...]] = []
    hooks.provide("evaluate", lambda task, encoder, **kw: calls.append((task, encoder, kw)))
    task = Task.from_dataframe(_rows(), name="tiny")
    task.evaluate("enc", n_jobs=2)
    assert calls[0][0] is task and calls[0][1] == "enc" and calls[0][2]["n_jobs"] == 2


def test_importing_tasks_registers_own_and_defers_the_protocols() -> None:
    code = (
        "import sys\n"
        "from benchmarks.tasks import Task\n"
        "task = Task.from_dataframe({'text': ['a', 'b'] * 5, 'label': ['x', 'y'] * 5},"
        " name='t')\n"
        "print(task.metadata.splits, 'benchmarks.protocols' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert result.returncode == 0, result.stderr
    # Task.from_dataframe works from the tasks package alone; the protocols wait
    assert result.stdout.strip() == "('train', 'test') False"


# ---------------------------------------------------------------- protocols


def test_protocols_follow_the_mro() -> None:
    assert protocols.protocol_for(get_task("STS12")) is protocols.sts  # before similarity
    assert protocols.protocol_for(get_task("SICK-R")) is protocols.similarity
    assert protocols.protocol_for(get_task("MRPC")) is protocols.pair_classification
    assert protocols.protocol_for(get_task("SNLI")) is protocols.pair_classification
    assert protocols.protocol_for(get_task("TRECClustering")) is protocols.clustering
    assert protocols.protocol_for(get_task("MR")) is protocols.classification
    families = ("Classification", "Clustering", "PairClassification", "Similarity", "STS")
    assert set(protocols.PROTOCOLS) == {getattr(benchmarks.tasks, f"{f}Task") for f in families}


class _NoFamily(Task[TextClassificationData]):
    metadata = TaskMetadata(
        name="no-family", version="1", family="classification", description="x",
        dataset="x", files={}, splits=("test",), main_score="accuracy",
        eval_protocol="split",
    )  # fmt: skip

    def _build(self, rows: list[list[str]], split: str) -> TextClassificationData:
        raise AssertionError("not loaded")


def test_evaluate_refuses_bad_tasks_and_settings() -> None:
    with pytest.raises(InvalidParameterError, match="has no evaluation"):
        _NoFamily().evaluate(_Words())
    with pytest.raises(InvalidParameterError, match="expected a task"):
        protocols.evaluate("MR", _Words())  # type: ignore[arg-type]
    task = Task.from_dataframe(_rows(), name="tiny")
    with pytest.raises(InvalidParameterError, match="settings must be a SuiteTask"):
        task.evaluate(_Words(), settings={"seed": 1})  # type: ignore[arg-type]
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(InvalidParameterError, match="blas_threads"):
            task.evaluate(_Words(), blas_threads=bad)  # type: ignore[arg-type]


def test_task_evaluate_is_the_protocol() -> None:
    task = Task.from_dataframe(_rows(), name="tiny")
    through_method = task.evaluate(EncoderSession(_Words(), use_cache=False))
    direct = protocols.evaluate(task, EncoderSession(_Words(), use_cache=False))
    assert through_method == direct
    assert through_method["protocol"]["evaluator"] == "evaluate_classification_train_test"
    assert through_method["main_score"] == 100.0  # points
