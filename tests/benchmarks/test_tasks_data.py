"""Against the real data folder (``TRANSFERKIT_DATA``): pinned sha256 equal the files,
and the loaders give the data README's row and label counts."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from benchmarks.tasks import clear_checksum_cache, get_task, get_task_class, list_tasks
from benchmarks.tasks._pins import FILES

DATA = os.environ.get("TRANSFERKIT_DATA")
pytestmark = [
    pytest.mark.data,
    pytest.mark.skipif(not DATA, reason="TRANSFERKIT_DATA is not set"),
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    clear_checksum_cache()


def test_pinned_sha256_match_the_real_files() -> None:
    root = Path(DATA or "")
    for name in list_tasks():
        for pinned in get_task_class(name).metadata.files.values():
            data = (root / pinned.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == pinned.sha256, pinned.path
            assert len(data) == pinned.nbytes, pinned.path


def test_pins_are_the_readme_tables() -> None:
    readme = Path(DATA or "") / "README.md"
    if not readme.is_file():
        pytest.skip("no README.md in TRANSFERKIT_DATA")
    table = re.findall(
        r"^\| `([^`]+\.tsv)` \| (\d+) \| [^|]+ \| [^|]+ \| (\d+) \| `([0-9a-f]{64})` \|$",
        readme.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert len(table) == len(FILES) == 53
    for path, rows, nbytes, sha in table:
        assert (FILES[path].rows, FILES[path].nbytes, FILES[path].sha256) == (
            int(rows),
            int(nbytes),
            sha,
        )


# Golden values typed from the data README (rows and label counts per file).
GOLDEN_LABELS: dict[tuple[str, str], dict[str, int]] = {
    ("MR", "all"): {"0": 5331, "1": 5331},
    ("CR", "all"): {"0": 1366, "1": 2405},
    ("SUBJ", "all"): {"0": 5000, "1": 5000},
    ("MPQA", "all"): {"0": 7292, "1": 3311},
    ("TREC", "train"): {
        "ABBR": 86, "DESC": 1162, "ENTY": 1250, "HUM": 1223, "LOC": 835, "NUM": 896,
    },
    ("TREC", "test"): {"ABBR": 9, "DESC": 138, "ENTY": 94, "HUM": 65, "LOC": 81, "NUM": 113},
    ("SST2", "train"): {"0": 29780, "1": 37569},  # train_phrases.tsv, the default
    ("SST2", "dev"): {"0": 428, "1": 444},
    ("SST2", "test"): {"0": 912, "1": 909},
    ("SST5", "train"): {"0": 1092, "1": 2218, "2": 1624, "3": 2322, "4": 1288},
    ("SST5", "dev"): {"0": 139, "1": 289, "2": 229, "3": 279, "4": 165},
    ("SST5", "test"): {"0": 279, "1": 633, "2": 389, "3": 510, "4": 399},
    ("MRPC", "train"): {"0": 1323, "1": 2753},
    ("MRPC", "test"): {"0": 578, "1": 1147},
    ("SICK-E", "train"): {"CONTRADICTION": 665, "ENTAILMENT": 1299, "NEUTRAL": 2536},
    ("SICK-E", "dev"): {"CONTRADICTION": 74, "ENTAILMENT": 144, "NEUTRAL": 282},
    ("SICK-E", "test"): {"CONTRADICTION": 720, "ENTAILMENT": 1414, "NEUTRAL": 2793},
    ("AGNews", "all"): {"Business": 1900, "Sci/Tech": 1900, "Sports": 1900, "World": 1900},
    ("R8", "train"): {
        "acq": 1596, "crude": 253, "earn": 2840, "grain": 41,
        "interest": 190, "money-fx": 206, "ship": 108, "trade": 251,
    },
    ("R8", "test"): {
        "acq": 696, "crude": 121, "earn": 1083, "grain": 10,
        "interest": 81, "money-fx": 87, "ship": 36, "trade": 75,
    },
}  # fmt: skip


@pytest.mark.parametrize(("task", "split"), sorted(GOLDEN_LABELS))
def test_label_counts(task: str, split: str) -> None:
    data = get_task(task).load(split)
    assert Counter(data.label_strings()) == GOLDEN_LABELS[task, split]
    texts = data.texts if hasattr(data, "texts") else data.texts_a + data.texts_b
    assert len(data) == sum(GOLDEN_LABELS[task, split].values())
    assert all(t and t == t.strip() and "\t" not in t for t in texts)


def test_variants_share_rows() -> None:
    assert len(get_task("SST2", train_file="sentences").load("train")) == 6920
    fine = get_task("TREC-fine").load("train")
    coarse = get_task("TREC").load("train")
    assert fine.texts == coarse.texts
    assert len(set(fine.label_strings())) == 50
    assert len(set(get_task("TREC-fine").load("test").label_strings())) == 42
    assert [lab.split(":")[0] for lab in fine.label_strings()] == coarse.label_strings()
    clusters = get_task("AGNewsClustering").load("test")
    assert np.array_equal(clusters.labels, get_task("AGNews").load("all").labels)


GOLDEN_SCORES = {
    ("SICK-R", "train"): (4500, 1.0, 5.0),
    ("SICK-R", "dev"): (500, 1.0, 5.0),
    ("SICK-R", "test"): (4927, 1.0, 5.0),
    ("STS-B", "train"): (5749, 0.0, 5.0),
    ("STS-B", "dev"): (1500, 0.0, 5.0),
    ("STS-B", "test"): (1379, 0.0, 5.0),
}


@pytest.mark.parametrize(("task", "split"), sorted(GOLDEN_SCORES))
def test_similarity_rows_and_range(task: str, split: str) -> None:
    n, low, high = GOLDEN_SCORES[task, split]
    data = get_task(task).load(split)
    assert len(data) == n
    assert low <= data.scores.min() and data.scores.max() <= high


GOLDEN_STS = {
    "STS12": {
        "MSRpar": 750, "MSRvid": 750, "SMTeuroparl": 459,
        "surprise.OnWN": 750, "surprise.SMTnews": 399,
    },
    "STS13": {"FNWN": 189, "headlines": 750, "OnWN": 561},
    "STS14": {
        "deft-forum": 450, "deft-news": 300, "headlines": 750,
        "images": 750, "OnWN": 750, "tweet-news": 750,
    },
    "STS15": {
        "answers-forums": 375, "answers-students": 750, "belief": 375,
        "headlines": 750, "images": 750,
    },
    "STS16": {
        "answer-answer": 254, "headlines": 249, "plagiarism": 230,
        "postediting": 244, "question-question": 209,
    },
}  # fmt: skip
STS_TOTALS = {"STS12": 3108, "STS13": 1500, "STS14": 3750, "STS15": 3000, "STS16": 1186}


@pytest.mark.parametrize("task", sorted(GOLDEN_STS))
def test_sts_subset_counts(task: str) -> None:
    data = get_task(task).load("test")
    assert len(data) == STS_TOTALS[task]
    assert {k: len(v) for k, v in data.by_subset().items()} == GOLDEN_STS[task]
    assert 0.0 <= data.scores.min() and data.scores.max() <= 5.0


def test_quick_subsample_of_real_task() -> None:
    data = get_task("SST5").load("train", max_samples=1000, random_state=0)
    counts = np.bincount(data.labels)
    full = np.array([1092, 2218, 1624, 2322, 1288])
    assert counts.sum() == 1000
    assert np.all(np.abs(counts - full * 1000 / full.sum()) < 1)  # stratified


def test_subsample_keeps_every_per_row_field_aligned_and_stratified() -> None:
    """One row selection serves the three data classes: each list and array field is
    subset with the same rows, the label (or STS subset) shares are kept, and
    tuples of names are left alone."""
    from benchmarks.tasks.data import (
        PairClassificationData,
        PairScoreData,
        TextClassificationData,
        sample_indices,
    )

    labels = np.array([0] * 30 + [1] * 10)
    texts = [f"t{i}" for i in range(40)]
    text = TextClassificationData(texts, labels, ("neg", "pos")).subsample(8, random_state=3)
    idx = sample_indices(40, 8, 3, labels)  # the one sampler, stratified by label
    assert idx is not None
    assert text.texts == [texts[i] for i in idx] and text.labels.tolist() == labels[idx].tolist()
    assert sorted(text.label_strings()).count("pos") == 2 and text.label_names == ("neg", "pos")

    pairs = PairClassificationData(texts, [t + "b" for t in texts], labels, ("n", "p"))
    sub = pairs.subsample(8, random_state=3)
    assert [a + "b" for a in sub.texts_a] == sub.texts_b and sub.texts_a == text.texts
    assert pairs.subsample(None) is pairs and pairs.subsample(40) is pairs

    subsets = np.array([0] * 20 + [1] * 20)
    scores = PairScoreData(texts, texts, np.arange(40.0), subsets, ("x", "y")).subsample(10)
    assert scores.scores.tolist() == [float(t[1:]) for t in scores.texts_a]
    assert scores.subset_ids is not None and scores.subset_ids.tolist().count(0) == 5
    assert scores.subset_names == ("x", "y")
    plain = PairScoreData(texts, texts, np.arange(40.0)).subsample(10)
    assert plain.subset_ids is None and len(plain) == 10
