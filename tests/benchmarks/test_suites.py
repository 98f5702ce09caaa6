"""Suites are data: names resolve, configurations hash stably, selection works."""

from __future__ import annotations

import pytest

from benchmarks.suites import (
    Suite,
    SuiteTask,
    find_tasks,
    get_suite,
    list_suites,
    register_suite,
    suites_with,
)
from benchmarks.tasks import UnknownTaskError, get_task, list_tasks
from embeddings.errors import InvalidParameterError

SENTEVAL_TASKS = [
    "MR", "CR", "SUBJ", "MPQA", "SST2", "SST5", "TREC", "MRPC", "SICK-E", "SICK-R", "STS-B",
    "STS12", "STS13", "STS14", "STS15", "STS16",
]  # fmt: skip


def test_builtin_suites_and_lookup() -> None:
    assert list_suites()[:3] == ["quick", "senteval", "full"]
    assert get_suite("SENTEVAL") is get_suite("senteval")
    with pytest.raises(InvalidParameterError, match="did you mean 'senteval'"):
        get_suite("sentevl")


@pytest.mark.parametrize("name", ["quick", "senteval", "full"])
def test_every_entry_names_a_registered_task_with_valid_params(name: str) -> None:
    for entry in get_suite(name).tasks:
        task = get_task(entry.task, **dict(entry.task_params))
        for split in entry.max_samples:
            assert split in task.metadata.splits, (entry.label, split)


def test_senteval_is_the_senteval_transfer_tasks_with_their_protocol() -> None:
    suite = get_suite("senteval")
    assert [t.task for t in suite.tasks] == SENTEVAL_TASKS
    for entry in suite.tasks:
        assert entry.max_samples == {} and entry.n_folds is None and entry.seed == 1111
        assert entry.head == "logreg" and entry.pair_features == "senteval"
        assert entry.label == entry.task
    # SST2 trains on the 67,349 phrases as SentEval does (the task's default)
    sst2 = next(t for t in suite.tasks if t.task == "SST2")
    assert get_task("SST2", **dict(sst2.task_params)).train_file == "phrases"
    # the CV tasks get SentEval's 10 folds from their metadata
    for name in ("MR", "CR", "SUBJ", "MPQA"):
        assert get_task(name).metadata.cv_folds == 10
    mins = {t.task: t.min_score for t in suite.tasks if t.task in ("SICK-R", "STS-B")}
    assert mins == {"SICK-R": 1, "STS-B": 0}


def test_full_covers_every_registered_task_and_shares_senteval_configs() -> None:
    full = get_suite("full")
    assert sorted({t.task for t in full.tasks}) == sorted(list_tasks())
    hashes = {t.task: t.config_hash() for t in full.tasks}
    for entry in get_suite("senteval").tasks:
        assert hashes[entry.task] == entry.config_hash()  # results are shared, not recomputed


def test_quick_covers_the_families_and_is_subsampled() -> None:
    quick = get_suite("quick")
    families = {get_task(t.task).metadata.family for t in quick.tasks}
    assert families >= {"classification", "pair_classification", "sts", "clustering"}
    for entry in quick.tasks:
        assert all(n <= 2000 for n in entry.max_samples.values())
        task = get_task(entry.task, **dict(entry.task_params))
        if "train" in task.metadata.splits and entry.task != "TRECClustering":
            assert entry.max_samples.get("train", 10**9) <= 2000, entry.label
    # subsampled entries say so in their label (they must not look like full results)
    assert all("quick" in t.label for t in quick.tasks if t.max_samples)


def test_config_hash_is_stable_and_sees_every_setting() -> None:
    base = SuiteTask("TREC")
    assert base.config_hash() == SuiteTask("TREC", label="other name").config_hash()
    variants = [
        SuiteTask("TREC", n_folds=5),
        SuiteTask("TREC", seed=1),
        SuiteTask("TREC", max_samples={"train": 100}),
        SuiteTask("TREC", head="mlp"),
        SuiteTask("TREC", pair_features="infersent"),
        SuiteTask("TREC", task_params={"x": 1}),
        SuiteTask("TREC", clustering_runs=2),
    ]
    assert len({v.config_hash() for v in variants} | {base.config_hash()}) == len(variants) + 1
    assert (
        SuiteTask("TREC", max_samples={"a": 1, "b": 2}).config_hash()
        == SuiteTask("TREC", max_samples={"b": 2, "a": 1}).config_hash()
    )


def test_select_register_and_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.suites as suites_mod

    monkeypatch.setattr(suites_mod, "_SUITES", dict(suites_mod._SUITES))  # no global leftovers
    sel = get_suite("senteval").select(["trec", "MR"])
    assert [t.task for t in sel.tasks] == ["MR", "TREC"]
    with pytest.raises(InvalidParameterError, match="has no task"):
        get_suite("quick").select(["MR"])
    suite = register_suite(Suite("test-mine", "x", (SuiteTask("MR"),)), overwrite=True)
    assert get_suite("test-mine") is suite
    with pytest.raises(InvalidParameterError, match="exists already"):
        register_suite(Suite("test-mine", "x", (SuiteTask("MR"),)))
    with pytest.raises(InvalidParameterError, match="repeats the labels"):
        Suite("dup", "x", (SuiteTask("MR"), SuiteTask("MR")))
    with pytest.raises(InvalidParameterError, match="max_samples"):
        SuiteTask("MR", max_samples={"all": 0})
    with pytest.raises(InvalidParameterError, match="n_folds"):
        SuiteTask("MR", n_folds=1)


def test_find_tasks_looks_in_every_suite_and_says_where_a_task_is() -> None:
    assert [t.label for t in find_tasks(["AGNews"]).tasks] == ["AGNews"]
    assert find_tasks(["AGNews"]).name == "full"
    mixed = find_tasks(["trec", "MR", "TREC (quick)"])
    assert [t.label for t in mixed.tasks] == [
        "TREC (quick)",
        "MR",
    ] and mixed.name == "quick+senteval"
    assert suites_with("MR") == ["senteval", "full"]
    with pytest.raises(InvalidParameterError, match=r"'AGNews' is in suite 'full'"):
        find_tasks(["AGNews"], "quick")
    with pytest.raises(InvalidParameterError, match=r"is in suite 'senteval' \(also \['full'\]\)"):
        get_suite("quick").select(["MR"])
    with pytest.raises(InvalidParameterError, match="is a file: run your own rows"):
        find_tasks(["reviews.tsv"])
    with pytest.raises(UnknownTaskError, match="did you mean 'AGNews'"):
        find_tasks(["AGNewz"])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize(
    "module",
    [
        "benchmarks.suites",
        "benchmarks.runner",
        "benchmarks.report",
        "benchmarks.interop",
        "benchmarks.results",
        "benchmarks.specs",
        "benchmarks.evaluation",
        "benchmarks.tasks.own",
        "benchmarks.tasks.base",
        "benchmarks.tasks.data",
        "benchmarks.commands.bench",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
