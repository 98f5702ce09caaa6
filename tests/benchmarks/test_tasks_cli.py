"""``transferkit data list|download|verify``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

import benchmarks.commands.data as data_cmd
from benchmarks.tasks.download import DownloadReport

pytestmark = pytest.mark.usefixtures("isolated_data_env")


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="transferkit")
    sub = parser.add_subparsers(dest="command")
    data_cmd.register(sub)
    args = parser.parse_args(["data", *argv])
    return int(args.func(args))


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list", "--family", "similarity") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "family", "protocol", "score", "splits", "(rows)"]
    assert out[1].split()[:4] == ["SICK-R", "similarity", "split", "pearson"]
    assert "train 4500, dev 500, test 4927" in out[1]
    assert len(out) == 3


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list", "--json") == 0
    items = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert len(items) == 22
    assert items["SST2"]["splits"] == {"train": 67349, "dev": 872, "test": 1821}
    assert items["STS14"]["splits"] == {"test": 3750}


def test_verify_missing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path))
    assert run("verify", "trec-fine", "MR") == 1
    captured = capsys.readouterr()
    assert "missing          TREC/train_fine.tsv" in captured.out
    assert f"0/3 files ok in {tmp_path} (from TRANSFERKIT_DATA)" in captured.out
    assert "fix: transferkit data download MR TREC-fine" in captured.err


def test_verify_bad_checksum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "CR").mkdir()
    (tmp_path / "CR" / "all.tsv").write_text("label\ttext\n1\tx\n", encoding="utf-8")
    assert run("verify", "CR", "--dir", str(tmp_path)) == 1
    assert "sha256 mismatch  CR/all.tsv" in capsys.readouterr().out


def test_download_deduplicates_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = []

    def fake(folder: str, dest: object, *, timeout: float, force: bool) -> DownloadReport:
        calls.append((folder, Path(str(dest)), timeout, force))
        return DownloadReport(folder, Path(str(dest)), written=[Path("x")], raw_fetched=["r"])

    monkeypatch.setattr("benchmarks.tasks.download.download_folder", fake)
    code = run("download", "TREC", "trec-fine", "TRECClustering", "STS-B", "--dir", str(tmp_path))
    assert code == 0
    assert [c[0] for c in calls] == ["TREC", "STS-B"]
    assert calls[0][1:] == (tmp_path, 60.0, False)
    assert f"TREC: wrote 1 file(s) to {tmp_path / 'TREC'}" in capsys.readouterr().out


def test_download_os_error_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake(folder: str, dest: object, **kwargs: object) -> DownloadReport:
        raise PermissionError(13, "Permission denied", "/ro/MR/raw")

    monkeypatch.setattr("benchmarks.tasks.download.download_folder", fake)
    assert run("download", "MR", "--dir", "/ro") == 2
    assert "error: MR:" in capsys.readouterr().err


def test_main_reports_unknown_task(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.cli import main

    assert main(["data", "download", "SST-2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("transferkit data: error: unknown task 'SST-2'; did you mean 'SST2'")
