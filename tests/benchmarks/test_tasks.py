"""Task registry, metadata, data location, loaders and subsampling (offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import benchmarks.tasks.checksum as checksum_mod
from benchmarks.tasks import (
    ClassificationTask,
    ClusteringTask,
    DataFormatError,
    PairClassificationTask,
    PairScoreData,
    SimilarityTask,
    STSTask,
    TextClassificationData,
    UnknownTaskError,
    cache_dir,
    data_dir,
    file_sha256,
    get_task,
    get_task_class,
    list_tasks,
    load_task,
)
from benchmarks.tasks._pins import FILES, RAW_FILES
from benchmarks.tasks.data import sample_indices
from embeddings.errors import (
    ChecksumError,
    DataNotFoundError,
    InvalidParameterError,
    TransferkitError,
)

ALL_TASKS = [
    "MR", "CR", "SUBJ", "MPQA", "SST2", "SST5", "TREC", "TREC-fine", "AGNews", "R8",
    "MRPC", "SICK-E", "SICK-R", "STS-B", "STS12", "STS13", "STS14", "STS15", "STS16",
    "TRECClustering", "AGNewsClustering", "R8Clustering",
]  # fmt: skip

FAMILY_CLASS = {
    "classification": ClassificationTask,
    "pair_classification": PairClassificationTask,
    "similarity": SimilarityTask,
    "sts": STSTask,
    "clustering": ClusteringTask,
}


pytestmark = pytest.mark.usefixtures("isolated_data_env")


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="")
    return path


# ---------------------------------------------------------------- registry


def test_list_tasks_all_and_by_family() -> None:
    assert list_tasks() == ALL_TASKS
    assert list_tasks("pair_classification") == ["MRPC", "SICK-E"]
    assert list_tasks("similarity") == ["SICK-R", "STS-B"]
    assert list_tasks("sts") == ["STS12", "STS13", "STS14", "STS15", "STS16"]
    assert list_tasks("clustering") == ["TRECClustering", "AGNewsClustering", "R8Clustering"]
    with pytest.raises(InvalidParameterError, match="family must be one of"):
        list_tasks("retrieval")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["sst2", "SST2", " Sst2 ", "trec-FINE", "sick-r", "sts-b"])
def test_get_task_case_insensitive(name: str) -> None:
    assert get_task(name).name.lower() == name.strip().lower()


def test_unknown_task_did_you_mean() -> None:
    with pytest.raises(UnknownTaskError) as info:
        get_task("SST-2")
    message = str(info.value)
    assert "unknown task 'SST-2'" in message
    assert "did you mean 'SST2'" in message
    assert isinstance(info.value, KeyError)
    assert isinstance(info.value, TransferkitError)


def test_unknown_task_without_close_match_lists_tasks() -> None:
    with pytest.raises(UnknownTaskError, match="known tasks: MR, CR"):
        get_task("zzzzzzzz")


def test_unknown_parameter_raises() -> None:
    with pytest.raises(InvalidParameterError, match="train_file"):
        get_task("MR", train_file="sentences")


def test_load_task_is_get_task() -> None:
    assert type(load_task("MRPC")) is type(get_task("mrpc"))


# ---------------------------------------------------------------- metadata


@pytest.mark.parametrize("name", ALL_TASKS)
def test_metadata_is_consistent(name: str) -> None:
    cls = get_task_class(name)
    meta = cls.metadata
    assert meta.name == name
    assert isinstance(meta.version, str) and meta.version
    assert isinstance(get_task(name), FAMILY_CLASS[meta.family])
    assert meta.citation and meta.license and meta.homepage.startswith("http")
    assert meta.dataset in RAW_FILES
    for key, pinned in meta.files.items():
        assert FILES[pinned.path] is pinned, key
        assert pinned.path.startswith(meta.dataset + "/")
        assert re.fullmatch(r"[0-9a-f]{64}", pinned.sha256)
    for split in meta.splits:
        keys = [meta.file_key(split, s) for s in meta.subsets] or [split]
        assert all(k in meta.files for k in keys)
    if meta.eval_protocol == "cv":
        assert meta.splits == ("all",) and meta.cv_folds == 10
    if meta.family in ("classification", "pair_classification", "clustering"):
        assert meta.labels is not None
        assert list(meta.labels) == sorted(set(meta.labels))
    else:
        assert meta.labels is None
    if meta.family == "sts":
        assert meta.eval_protocol == "unsupervised" and meta.subsets
        assert meta.main_score == "spearman"
    if meta.family == "clustering":
        assert meta.main_score == "v_measure" and meta.eval_protocol == "unsupervised"


def test_every_pinned_file_belongs_to_a_task() -> None:
    used = {f.path for name in ALL_TASKS for f in get_task_class(name).metadata.files.values()}
    assert used == set(FILES)
    assert len(FILES) == 53  # the data README's table rows for the 18 task folders


def test_raw_sources_are_pinned_http_urls() -> None:
    for folder, raws in RAW_FILES.items():
        for raw in raws:
            assert re.fullmatch(r"[0-9a-f]{64}", raw.sha256), (folder, raw.name)
            sources = raw.resolved_sources()
            assert sources, (folder, raw.name)
            first = sources[0].url
            # the first source is a GitHub snapshot pinned to a 40-hex commit
            assert re.match(r"https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/", first)
            assert all(s.url.startswith(("http://", "https://")) for s in sources)


def test_labels_golden_from_readme() -> None:
    assert get_task_class("TREC").metadata.labels == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert len(get_task_class("TREC-fine").metadata.labels or ()) == 50
    assert get_task_class("SICK-E").metadata.labels == ("CONTRADICTION", "ENTAILMENT", "NEUTRAL")
    assert get_task_class("AGNews").metadata.labels == ("Business", "Sci/Tech", "Sports", "World")
    assert len(get_task_class("R8").metadata.labels or ()) == 8


# ---------------------------------------------------------------- data location


def test_data_dir_prefers_transferkit_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path / "data"))
    assert data_dir() == tmp_path / "data"


def test_cache_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert data_dir() == tmp_path / "home" / ".cache" / "transferkit" / "data"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "transferkit" / "data"
    monkeypatch.setenv("TRANSFERKIT_CACHE", str(tmp_path / "tk"))
    assert cache_dir() == tmp_path / "tk" / "data"
    assert data_dir() == cache_dir()


def test_missing_file_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as info:
        get_task("SST2").load("dev")
    message = str(info.value)
    assert "\n" not in message
    assert "'SST2/dev.tsv'" in message
    assert f"{tmp_path} (from TRANSFERKIT_DATA)" in message
    assert "set TRANSFERKIT_DATA" in message
    assert "`transferkit data download SST2`" in message
    assert isinstance(info.value, FileNotFoundError)


def test_missing_file_message_for_cache(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match="download cache; TRANSFERKIT_DATA is not set"):
        get_task("MR").load("all")


# ---------------------------------------------------------------- loading


def test_checksum_mismatch_reports_both_hashes(tmp_path: Path) -> None:
    path = write(tmp_path, "MR/all.tsv", "label\ttext\n1\tgood\n0\tbad\n")
    task = get_task("MR", data_dir=tmp_path)
    with pytest.raises(ChecksumError) as info:
        task.load("all")
    message = str(info.value)
    assert file_sha256(path) in message
    assert FILES["MR/all.tsv"].sha256 in message
    assert "transferkit data download MR" in message
    assert isinstance(info.value, ValueError)


def test_checksum_is_memoised_by_path_mtime_size(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = []
    real = checksum_mod.hashlib.file_digest

    def counting(handle, name):  # type: ignore[no-untyped-def]
        calls.append(name)
        return real(handle, name)

    monkeypatch.setattr(checksum_mod.hashlib, "file_digest", counting)
    path = write(tmp_path, "x.tsv", "abc")
    first = file_sha256(path)
    assert file_sha256(path) == first and len(calls) == 1
    path.write_text("abcd", encoding="utf-8")  # size (and mtime) change -> hashed again
    assert file_sha256(path) != first and len(calls) == 2


def test_classification_load_and_stable_labels(tmp_path: Path) -> None:
    write(tmp_path, "TREC/test.tsv", 'label\ttext\nNUM\tWhen ?\nLOC\tWhere "exactly" ?\n')
    data = get_task("TREC", data_dir=tmp_path).load("test", verify=False)
    assert isinstance(data, TextClassificationData)
    assert data.texts == ["When ?", 'Where "exactly" ?']
    assert data.label_names == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert data.labels.dtype == np.int64 and data.labels.tolist() == [5, 4]
    assert data.label_strings() == ["NUM", "LOC"]


def test_unknown_label_in_file(tmp_path: Path) -> None:
    write(tmp_path, "TREC/test.tsv", "label\ttext\nNUMBER\tWhen ?\n")
    with pytest.raises(DataFormatError, match="'NUMBER' is not one of"):
        get_task("TREC", data_dir=tmp_path).load("test", verify=False)


def test_bad_header_and_field_count(tmp_path: Path) -> None:
    write(tmp_path, "MRPC/test.tsv", "label\ttext\n1\ta\n")
    with pytest.raises(DataFormatError, match="header"):
        get_task("MRPC", data_dir=tmp_path).load("test", verify=False)
    write(tmp_path, "MRPC/test.tsv", "label\ttext_a\ttext_b\n1\ta\n")
    with pytest.raises(DataFormatError, match="line 2"):
        get_task("MRPC", data_dir=tmp_path).load("test", verify=False)


def test_pair_and_similarity_loaders(tmp_path: Path) -> None:
    write(tmp_path, "SICK-E/dev.tsv", "label\ttext_a\ttext_b\nNEUTRAL\ta\tb\nENTAILMENT\tc\td\n")
    pairs = get_task("SICK-E", data_dir=tmp_path).load("dev", verify=False)
    assert (pairs.texts_a, pairs.texts_b) == (["a", "c"], ["b", "d"])
    assert pairs.labels.tolist() == [2, 1]
    write(tmp_path, "STS-B/dev.tsv", "label\ttext_a\ttext_b\n5.000\ta\tb\n0.6\tc\td\n")
    scores = get_task("STS-B", data_dir=tmp_path).load("dev", verify=False)
    assert isinstance(scores, PairScoreData) and scores.subset_ids is None
    assert scores.scores.dtype == np.float64 and scores.scores.tolist() == [5.0, 0.6]


def test_sts_subsets(tmp_path: Path) -> None:
    subsets = get_task_class("STS13").metadata.subsets
    assert subsets == ("FNWN", "headlines", "OnWN")
    for k, name in enumerate(subsets):
        rows = "".join(f"{k + j / 10}\t{name} a{j}\t{name} b{j}\n" for j in range(k + 1))
        write(tmp_path, f"STS13/test_{name}.tsv", "label\ttext_a\ttext_b\n" + rows)
    task = get_task("STS13", data_dir=tmp_path)
    data = task.load("test", verify=False)
    assert len(data) == 6 and data.subset_names == subsets
    assert data.subset_ids is not None and data.subset_ids.tolist() == [0, 1, 1, 2, 2, 2]
    parts = data.by_subset()
    assert [len(parts[s]) for s in subsets] == [1, 2, 3]
    assert parts["OnWN"].texts_a[0] == "OnWN a0"
    one = task.load("test", subset="headlines", verify=False)
    assert one.texts_b == ["headlines b0", "headlines b1"] and one.subset_names == ("headlines",)
    with pytest.raises(InvalidParameterError, match="no subset 'SMT'"):
        task.load("test", subset="SMT")
    with pytest.raises(InvalidParameterError, match="one file per subset"):
        task.path("test")
    assert task.path("test", "FNWN") == tmp_path / "STS13" / "test_FNWN.tsv"


def test_subset_on_task_without_subsets() -> None:
    with pytest.raises(InvalidParameterError, match="has no subsets"):
        get_task("MR").load("all", subset="x")


def test_unknown_split() -> None:
    with pytest.raises(InvalidParameterError, match=r"no split 'dev'; choose one of \['train'"):
        get_task("TREC").load("dev")


def test_sst2_train_file_variant(tmp_path: Path) -> None:
    write(tmp_path, "SST2/train_phrases.tsv", "label\ttext\n1\tphrase\n")
    write(tmp_path, "SST2/train.tsv", "label\ttext\n0\tsentence\n")
    assert get_task("SST2", data_dir=tmp_path).load("train", verify=False).texts == ["phrase"]
    sentences = get_task("SST2", train_file="sentences", data_dir=tmp_path)
    assert sentences.load("train", verify=False).texts == ["sentence"]
    assert sentences.get_params()["train_file"] == "sentences"
    assert repr(sentences) == "SST2(train_file='sentences')"
    with pytest.raises(InvalidParameterError, match="'phrases' or 'sentences'"):
        get_task("SST2", train_file="all").load("train")  # type: ignore[arg-type]


# ---------------------------------------------------------------- subsampling


def _synthetic(tmp_path: Path) -> Path:
    rows = [("0", f"neg {i}") for i in range(60)] + [("1", f"pos {i}") for i in range(40)]
    write(tmp_path, "MR/all.tsv", "label\ttext\n" + "".join(f"{a}\t{b}\n" for a, b in rows))
    return tmp_path


def test_stratified_subsample(tmp_path: Path) -> None:
    task = get_task("MR", data_dir=_synthetic(tmp_path))
    small = task.load("all", max_samples=10, random_state=3, verify=False)
    assert len(small) == 10
    assert np.bincount(small.labels).tolist() == [6, 4]  # 60/40 kept
    # file order is kept and the sample is reproducible and seed-dependent
    order = [int(t.split()[1]) + (100 if t.startswith("pos") else 0) for t in small.texts]
    assert order == sorted(order)
    again = task.load("all", max_samples=10, random_state=3, verify=False)
    assert again.texts == small.texts
    other = task.load("all", max_samples=10, random_state=4, verify=False)
    assert other.texts != small.texts
    assert len(task.load("all", max_samples=1000, verify=False)) == 100


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "10"])
def test_bad_max_samples(bad: object) -> None:
    with pytest.raises(InvalidParameterError, match="max_samples"):
        get_task("MR").load("all", max_samples=bad)  # type: ignore[arg-type]


def test_sample_indices_largest_remainder() -> None:
    strata = np.array([0] * 5 + [1] * 3 + [2] * 2)
    idx = sample_indices(10, 5, 0, strata)
    assert idx is not None and idx.size == 5
    assert np.bincount(strata[idx], minlength=3).tolist() == [3, 1, 1]
    assert sample_indices(10, None, 0) is None and sample_indices(10, 10, 0) is None
    plain = sample_indices(10, 4, 0)
    assert plain is not None and plain.tolist() == sorted(set(plain.tolist()))


def test_sts_subsample_stratified_by_subset() -> None:
    data = PairScoreData(
        [str(i) for i in range(8)],
        [str(i) for i in range(8)],
        np.arange(8, dtype=np.float64),
        np.array([0, 0, 0, 0, 0, 0, 1, 1]),
        ("a", "b"),
    )
    small = data.subsample(4, random_state=0)
    assert small.subset_ids is not None
    assert np.bincount(small.subset_ids).tolist() == [3, 1]


# ---------------------------------------------------------------- import cost


def test_import_is_light() -> None:
    code = (
        "import sys, benchmarks.tasks;"
        "bad = [m for m in ('sklearn', 'torch', 'numpy', 'scipy') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
