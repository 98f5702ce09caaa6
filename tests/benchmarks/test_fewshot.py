"""The few-shot benchmark's sampling, results file, table and time ratios."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks import fewshot


def test_sample_takes_k_of_each_class_seeded() -> None:
    labels = np.array([0] * 10 + [1] * 10 + [2] * 3)
    idx = fewshot.sample(labels, 4, 7)
    assert sorted(np.bincount(labels[idx]).tolist()) == [3, 4, 4]  # all of the small class
    assert np.array_equal(idx, fewshot.sample(labels, 4, 7))
    assert not np.array_equal(np.sort(idx), np.sort(fewshot.sample(labels, 4, 8)))


def _cells(tmp_path) -> fewshot.Cells:
    cells = fewshot.Cells(tmp_path / "r.json")
    for seed, (ours, peer, t_ours, t_peer) in enumerate([(80, 78, 10, 20), (70, 72, 30, 20)]):
        for row, acc, sec in (("contrastive", ours, t_ours), ("setfit", peer, t_peer)):
            cells.add({"key": fewshot.key("SST2", 8, seed, row, "m"), "task": "SST2",
                       "shots": 8, "seed": seed, "row": row, "model": "m",
                       "accuracy": float(acc), "seconds": float(sec)})  # fmt: skip
    return cells


def test_ratios_and_table_come_from_the_cells(tmp_path) -> None:
    cells = _cells(tmp_path)
    r = fewshot.time_ratios(cells)["m"]
    # ratios 10/20 and 30/20: median 1.0; accuracy differences +2 and -2
    assert r["median"] == pytest.approx(1.0) and r["min"] == 0.5 and r["max"] == 1.5
    assert r["accuracy_diff"] == pytest.approx(0.0) and r["n"] == 2
    assert set(fewshot.time_ratios(cells)) == {"m"}  # one k: no per-k entries
    more = fewshot.Cells(tmp_path / "k.json")
    for record in cells.records.values():
        more.add(record)
    for row, acc, sec in (("contrastive", 90.0, 40.0), ("setfit", 86.0, 50.0)):
        more.add({"key": fewshot.key("SST2", 64, 0, row, "m"), "task": "SST2",
                  "shots": 64, "seed": 0, "row": row, "model": "m", "accuracy": acc,
                  "seconds": sec})  # fmt: skip
    by_k = fewshot.time_ratios(more)
    assert by_k["m@8"] == r and by_k["m@64"]["median"] == pytest.approx(0.8)
    assert by_k["m@64"]["accuracy_diff"] == pytest.approx(4.0) and by_k["m"]["n"] == 3
    text = fewshot.table(cells, ["SST2"], [8])
    assert "| contrastive | m | 75.0 ± 7.1 (n=2, 20s) | 75.0 |" in text
    assert "| setfit | m | 75.0 ± 4.2 (n=2, 20s) | 75.0 |" in text
    again = fewshot.Cells(tmp_path / "r.json")  # the file is read back on a rerun
    assert again.records == cells.records
    assert len(json.loads((tmp_path / "r.json").read_text())["cells"]) == 4


def test_a_contrastive_cell_without_its_setfit_partner_is_named_and_dropped(tmp_path) -> None:
    cells = _cells(tmp_path)  # seeds 0 and 1 of SST2@8 hold both rows
    assert cells.unpaired("SST2", 8, 0, "m") is None
    assert cells.unpaired("SST2", 8, 5, "m") is None  # neither: nothing to redo
    cells.drop(fewshot.key("SST2", 8, 1, "setfit", "m"))  # a run stopped in between
    lone = fewshot.key("SST2", 8, 1, "contrastive", "m")
    assert cells.unpaired("SST2", 8, 1, "m") == lone
    cells.drop(lone)
    again = fewshot.Cells(cells.path)  # the drop is written
    assert lone not in again.records and len(again.records) == 2
    assert again.unpaired("SST2", 8, 1, "m") is None


@pytest.mark.data
def test_a_tfidf_run_writes_cells_and_a_rerun_skips_them(tmp_path, capsys) -> None:
    out = tmp_path / "fs.json"
    argv = ["--tasks", "TREC", "--shots", "8", "--seeds", "2", "--rows", "tfidf",
            "--test-max", "100", "--out", str(out)]  # fmt: skip
    assert fewshot.main(argv) == 0
    cells = json.loads(out.read_text())["cells"]
    assert [c["key"] for c in cells] == ["TREC/8/0/tfidf/-", "TREC/8/1/tfidf/-"]
    assert all(0 <= c["accuracy"] <= 100 and c["n_train"] == 48 for c in cells)
    assert fewshot.main(argv) == 0
    assert json.loads(out.read_text())["cells"] == cells  # nothing recomputed
