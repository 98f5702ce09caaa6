"""SNLI and MultiNLI in the task catalogue: download, conversion, refusal, use for training.

The archives are built here in the published layout (``snli_1.0/snli_1.0_*.jsonl``,
``multinli_1.0/multinli_1.0_*.jsonl``, each line a JSON object with ``gold_label``,
``sentence1``, ``sentence2`` and the other published fields), a few pairs each, one
of them without a gold label (``"-"``).  The pinned size and sha256 are replaced by
those of the built archive; the network is a dict of URL -> bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import zipfile
from pathlib import Path

import pytest

import benchmarks.commands.data as data_cmd
import benchmarks.tasks.nli as nli
from benchmarks.tasks import DataFormatError, clear_checksum_cache, get_task, list_tasks
from benchmarks.tasks.download import download
from benchmarks.tasks.nli import ARCHIVES, NLIArchive, convert_nli_zip
from embeddings.errors import ChecksumError
from embeddings.training.nli import load_nli, resolve_nli_spec


def _line(label: str, s1: str, s2: str, pair_id: str) -> str:
    row = {
        "annotator_labels": [label if label != "-" else "neutral", "contradiction"],
        "captionID": pair_id.split("#")[0],
        "gold_label": label,
        "pairID": pair_id,
        "sentence1": s1,
        "sentence1_binary_parse": "( " + s1 + " )",
        "sentence1_parse": "(ROOT (S " + s1 + "))",
        "sentence2": s2,
        "sentence2_binary_parse": "( " + s2 + " )",
        "sentence2_parse": "(ROOT (S " + s2 + "))",
    }
    return json.dumps(row) + "\n"


SPLIT_LINES = {
    "train": [
        ("neutral", "A person on a horse jumps over a plane.", "A person is training.", "1#0"),
        ("contradiction", "A person on a horse jumps.", "A person is at a diner.", "1#1"),
        ("entailment", "Children smiling and\twaving.", "There are  children present", "2#0"),
        ("-", "Two men on bicycles.", "People are riding bikes.", "3#0"),
    ],
    "dev": [
        ("entailment", "Two women are embracing.", "Two women are holding packages.", "4#0"),
        ("-", "A man sleeps.", "He rests.", "4#1"),
    ],
    "test": [("contradiction", "A dog runs.", "A cat sleeps.", "5#0")],
}

EXPECTED = {
    "train": (
        "label\ttext_a\ttext_b\n"
        "neutral\tA person on a horse jumps over a plane.\tA person is training.\n"
        "contradiction\tA person on a horse jumps.\tA person is at a diner.\n"
        "entailment\tChildren smiling and waving.\tThere are children present\n"
    ),
    "dev": "label\ttext_a\ttext_b\nentailment\tTwo women are embracing.\tTwo women are holding "
    "packages.\n",
    "test": "label\ttext_a\ttext_b\ncontradiction\tA dog runs.\tA cat sleeps.\n",
}


def build_zip(folder: str, extra: dict[str, bytes] | None = None) -> bytes:
    """An archive in the published layout of ``folder`` (SNLI or MultiNLI)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        top = ARCHIVES[folder].members["train"].split("/")[0]
        zf.writestr(f"{top}/", b"")
        zf.writestr(f"{top}/README.txt", b"readme\n")
        for split, member in ARCHIVES[folder].members.items():
            text = "".join(_line(*row) for row in SPLIT_LINES[split])
            zf.writestr(member, text.encode())
            zf.writestr(member.replace(".jsonl", ".txt"), b"gold_label\tsentence1\n")
        if folder == "MultiNLI":  # the unlabelled test files of the published archive
            zf.writestr(f"{top}/multinli_1.0_test_matched_unlabeled.jsonl", b"{}\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


pytestmark = pytest.mark.usefixtures("isolated_data_env")


def pin(monkeypatch: pytest.MonkeyPatch, folder: str, body: bytes) -> NLIArchive:
    """Pin ``body`` as the published archive of ``folder``; returns the archive."""
    real = ARCHIVES[folder]
    fake = NLIArchive(
        folder, real.url, len(body), hashlib.sha256(body).hexdigest(), dict(real.members)
    )
    monkeypatch.setitem(nli.ARCHIVES, folder, fake)
    return fake


def download_snli(monkeypatch: pytest.MonkeyPatch, root: Path) -> NLIArchive:
    """Pin a built SNLI archive and download it into ``root``; returns the archive."""
    body = build_zip("SNLI")
    archive = pin(monkeypatch, "SNLI", body)
    download("SNLI", root, opener=Net({archive.url: body}))
    return archive


class Net:
    def __init__(self, bodies: dict[str, bytes]) -> None:
        self.bodies, self.calls = bodies, []

    def __call__(self, url: str, timeout: float) -> bytes:
        self.calls.append(url)
        if url not in self.bodies:
            raise OSError(f"HTTP Error 404: {url}")
        return self.bodies[url]


@pytest.mark.parametrize("folder", ["SNLI", "MultiNLI"])
def test_download_converts_the_published_layout(
    folder: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = build_zip(folder)
    archive = pin(monkeypatch, folder, body)
    net = Net({archive.url: body})
    report = download(folder.lower(), tmp_path, opener=net)
    out = tmp_path / folder
    for split, text in EXPECTED.items():
        assert (out / f"{split}.tsv").read_text(encoding="utf-8") == text
    assert (out / "raw" / archive.filename).read_bytes() == body
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["archive"]["sha256"] == archive.sha256
    assert manifest["splits"]["train"]["rows"] == 3
    assert manifest["splits"]["train"]["dropped_no_gold_label"] == 1
    assert manifest["splits"]["dev"]["dropped_no_gold_label"] == 1
    assert any("dropped 1 without a gold label" in w for w in report.warnings)
    assert not list(out.rglob("*.part"))
    # the task reads its files, checked against the manifest of the pinned archive
    task = get_task(folder, data_dir=tmp_path)
    data = task.load("train")
    assert data.texts_a[2] == "Children smiling and waving."
    assert [task.metadata.labels[i] for i in data.labels] == [
        "neutral", "contradiction", "entailment",
    ]  # fmt: skip
    assert set(task.verify().values()) == {"ok"}
    # a second run keeps the verified archive
    net.calls.clear()
    again = download(folder, tmp_path, opener=net)
    assert net.calls == [] and again.raw_kept == [archive.filename]


def test_multinli_dev_is_matched_and_test_is_mismatched() -> None:
    members = ARCHIVES["MultiNLI"].members
    assert members["dev"].endswith("_dev_matched.jsonl")
    assert members["test"].endswith("_dev_mismatched.jsonl")
    assert "dev_matched" in get_task("MultiNLI").metadata.description


def test_pins_are_the_published_archives() -> None:
    snli, mnli = ARCHIVES["SNLI"], ARCHIVES["MultiNLI"]
    assert (snli.url, snli.size) == (
        "https://nlp.stanford.edu/projects/snli/snli_1.0.zip",
        94550081,
    )
    assert snli.sha256 == "afb3d70a5af5d8de0d9d81e2637e0fb8c22d1235c2749d83125ca43dab0dbd3e"
    assert mnli.url == "https://cims.nyu.edu/~sbowman/multinli/multinli_1.0.zip"
    assert mnli.size == 226850426
    assert mnli.sha256 == "049f507b9e36b1fcb756cfd5aeb3b7a0cfcb84bf023793652987f7e7e0957822"


def test_wrong_archive_is_refused_and_nothing_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = build_zip("SNLI")
    archive = pin(monkeypatch, "SNLI", body)
    tampered = build_zip("SNLI", extra={"snli_1.0/extra.txt": b"x"})
    with pytest.raises(ChecksumError, match="pinned"):
        download("SNLI", tmp_path, opener=Net({archive.url: tampered}))
    assert not (tmp_path / "SNLI").exists() or not any(
        p.is_file() for p in (tmp_path / "SNLI").rglob("*")
    )
    # more bytes than pinned are refused while streaming
    pin(monkeypatch, "SNLI", body[:-10])
    with pytest.raises(ChecksumError, match="more than the pinned"):
        download("SNLI", tmp_path, opener=Net({archive.url: body}))


def test_edited_tsv_or_foreign_manifest_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = download_snli(monkeypatch, tmp_path)
    task = get_task("SNLI", data_dir=tmp_path)
    train = tmp_path / "SNLI" / "train.tsv"
    train.write_text(train.read_text() + "neutral\ta\tb\n")
    clear_checksum_cache()
    with pytest.raises(ChecksumError, match="recorded when it was converted"):
        task.load("train")
    assert task.verify()["SNLI/train.tsv"] == "sha256 mismatch"
    monkeypatch.setitem(nli.ARCHIVES, "SNLI", ARCHIVES["SNLI"].__class__(
        "SNLI", archive.url, archive.size, "0" * 64, dict(archive.members)))  # fmt: skip
    with pytest.raises(ChecksumError, match="not the pinned"):
        task.load("dev")


def test_converter_refuses_bad_archives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = ARCHIVES["SNLI"]
    (tmp_path / "junk.zip").write_bytes(b"not a zip")
    with pytest.raises(DataFormatError, match="not a zip"):
        convert_nli_zip(tmp_path / "junk.zip", archive, tmp_path / "out")
    # a member only at a traversal path is not the published member: refused, never written
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../snli_1.0/snli_1.0_train.jsonl", _line("neutral", "a", "b", "1"))
    (tmp_path / "evil.zip").write_bytes(buf.getvalue())
    with pytest.raises(DataFormatError, match="no member 'snli_1.0/snli_1.0_train.jsonl'"):
        convert_nli_zip(tmp_path / "evil.zip", archive, tmp_path / "out")
    assert not (tmp_path / "snli_1.0").exists()
    # an oversized member is refused before it is read
    monkeypatch.setattr(nli, "MAX_MEMBER_BYTES", 100)
    (tmp_path / "big.zip").write_bytes(build_zip("SNLI"))
    with pytest.raises(DataFormatError, match="more than the 100 allowed"):
        convert_nli_zip(tmp_path / "big.zip", archive, tmp_path / "out")
    # a malformed line names the member and the line
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for member in archive.members.values():
            zf.writestr(member, '{"gold_label": "maybe", "sentence1": "a", "sentence2": "b"}\n')
    (tmp_path / "bad.zip").write_bytes(buf.getvalue())
    monkeypatch.setattr(nli, "MAX_MEMBER_BYTES", 1024**3)
    with pytest.raises(DataFormatError, match=r"snli_1.0_train.jsonl:1: gold_label 'maybe'"):
        convert_nli_zip(tmp_path / "bad.zip", archive, tmp_path / "out")


def test_nli_training_resolves_the_converted_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    download_snli(monkeypatch, tmp_path)
    monkeypatch.setenv("TRANSFERKIT_DATA", str(tmp_path))
    assert resolve_nli_spec("snli") == "snli"  # `--nli snli`: the data folder, any case
    train, dev = load_nli("snli")
    assert train.label_names() == ["neutral", "contradiction", "entailment"]
    assert dev is not None and dev.label_names() == ["entailment"]


def test_training_data_is_in_no_suite_and_not_listed() -> None:
    from benchmarks.suites import get_suite

    assert "SNLI" not in list_tasks() and "MultiNLI" not in list_tasks()
    for suite in ("quick", "senteval", "full"):
        names = {t.task.lower() for t in get_suite(suite).tasks}
        assert not names & {"snli", "multinli"}, suite


def test_cli_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = build_zip("MultiNLI")
    archive = pin(monkeypatch, "MultiNLI", body)
    monkeypatch.setattr(nli, "urlopen_stream", lambda url, t: io.BytesIO({archive.url: body}[url]))
    parser = argparse.ArgumentParser(prog="transferkit")
    data_cmd.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["data", "download", "multinli", "--dir", str(tmp_path)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "MultiNLI: wrote 4 file(s)" in out
    assert (tmp_path / "MultiNLI" / "test.tsv").read_text() == EXPECTED["test"]
