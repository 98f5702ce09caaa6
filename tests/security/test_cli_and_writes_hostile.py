"""Hostile inputs to the CLI and the writers: links out of a folder, unwritable outputs,
broken result files, unclosed CSV quotes.

Every write must replace a symbolic link at its target (never write through it) and
never carry a link from an old folder into a new one; every CLI failure must be one
``transferkit COMMAND: error: ...`` line and a non-zero exit; a CSV quote that is
never closed must be an error naming the line where it opens.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

import embeddings
import embeddings._atomic as atomic
from benchmarks.cli import main
from embeddings._atomic import atomic_write_bytes, write_folder_atomically
from embeddings.errors import InvalidParameterError
from tests.test_train_cli import write_documents

SECRET = b"outside file: must stay as it is\n"
RESULT = "transferkit-benchmark-result"


def _outside(tmp_path: Path) -> Path:
    """A folder outside every folder that the code under test writes."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_bytes(SECRET)
    return folder


def _error_lines(err: str, command: str) -> list[str]:
    """The stderr lines of a failed command; it must be exactly one error line."""
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"transferkit {command}: error: ")]
    assert len(errors) == 1 and "Traceback" not in err, err
    return errors


# ------------------------------------------------------------ links and writes
def test_loss_curve_replaces_a_link_instead_of_writing_through_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from embeddings.training.trainer import plot_loss_curve

    outside = _outside(tmp_path)
    work = tmp_path / "training"
    work.mkdir()
    (work / "log.jsonl").write_text(
        "\n".join(json.dumps({"kind": "step", "step": i, "loss": 1.0 / i}) for i in range(1, 5))
        + '\n[1]\n{"kind": "step", "step": "x", "loss": null}\nnot json\n'
    )
    (work / "loss.png").symlink_to(outside / "secret.txt")
    assert plot_loss_curve(work / "log.jsonl", work / "loss.png") == work / "loss.png"
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert not (work / "loss.png").is_symlink()
    assert (work / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_trainer_writes_only_inside_its_workdir(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from embeddings.training.trainer import Objective, TrainConfig, Trainer

    class Fit(Objective):
        def plan(self, epoch, rng):
            return [rng.permutation(8)[:4] for _ in range(2)]

        def loss(self, model, batch):
            x = torch.arange(8.0)[torch.from_numpy(batch)][:, None]
            return ((model(x) - 2 * x) ** 2).mean(), len(batch)

    outside = _outside(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "loss.png").symlink_to(outside / "secret.txt")
    config = TrainConfig(epochs=2, lr=0.05, show_progress=False, log_every=1)
    Trainer(torch.nn.Linear(1, 1), Fit(), config, work).fit()
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert (work / "loss.png").read_bytes()[:4] == b"\x89PNG"
    # a resumed run whose log is a link reads nothing through it and replaces it
    (work / "log.jsonl").unlink()
    (work / "log.jsonl").symlink_to(outside / "secret.txt")
    Trainer(torch.nn.Linear(1, 1), Fit(), config, work).fit(resume=True)
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert not (work / "log.jsonl").is_symlink()
    # checkpoints that lead out of the workdir are refused before any step
    (work / "checkpoints").rename(tmp_path / "moved")
    (work / "checkpoints").symlink_to(outside)
    with pytest.raises(InvalidParameterError, match="symbolic link"):
        Trainer(torch.nn.Linear(1, 1), Fit(), config, work).fit(resume=True)
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


def _saved_folder(tmp_path: Path) -> Path:
    enc = embeddings.load("tfidf").fit(["a b c", "b c d"])
    return enc.save(tmp_path / "model")


def test_save_never_carries_a_linked_training_folder(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    target = _saved_folder(tmp_path)
    (target / "training").symlink_to(outside, target_is_directory=True)
    enc = embeddings.load(str(target))
    with pytest.warns(RuntimeWarning, match="not carried over"):
        enc.save(target)
    assert not (target / "training").exists()  # neither the link nor its files
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert os.stat(outside / "secret.txt").st_nlink == 1  # no hard link was made to it
    assert np.array_equal(embeddings.load(str(target)).encode(["a b"]), enc.encode(["a b"]))


def test_save_carries_only_regular_files_of_a_kept_folder(tmp_path: Path) -> None:
    outside = _outside(tmp_path)
    (outside / "sub").mkdir()
    (outside / "sub" / "deep.txt").write_bytes(SECRET)
    target = _saved_folder(tmp_path)
    training = target / "training"
    (training / "checkpoints" / "step-1").mkdir(parents=True)
    (training / "log.jsonl").write_text('{"step": 1}\n')
    (training / "checkpoints" / "step-1" / "w.bin").write_bytes(b"weights")
    (training / "linked.txt").symlink_to(outside / "secret.txt")
    (training / "checkpoints" / "linked-dir").symlink_to(outside / "sub")
    os.mkfifo(training / "pipe")  # would block the fsync of the new folder if carried
    enc = embeddings.load(str(target))
    with pytest.warns(RuntimeWarning, match="linked.txt"):
        enc.save(target)
    kept = sorted(str(p.relative_to(training)) for p in training.rglob("*"))
    assert kept == ["checkpoints", "checkpoints/step-1", "checkpoints/step-1/w.bin", "log.jsonl"]
    assert (training / "checkpoints" / "step-1" / "w.bin").read_bytes() == b"weights"
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert os.stat(outside / "sub" / "deep.txt").st_nlink == 1


@pytest.mark.parametrize("exchange", [True, False])
def test_a_target_that_is_a_link_is_replaced_as_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    outside = _outside(tmp_path)
    (outside / "config.json").write_text("{}")
    (outside / "training").mkdir()
    (outside / "training" / "t.bin").write_bytes(SECRET)
    target = tmp_path / "model"
    target.symlink_to(outside, target_is_directory=True)

    def fill(tmp: Path) -> None:
        (tmp / "config.json").write_text('{"new": 1}')

    write_folder_atomically(target, fill, kind="saved encoder", keep=("training",))
    assert target.is_dir() and not target.is_symlink()
    assert sorted(p.name for p in target.iterdir()) == ["config.json"]
    assert (outside / "config.json").read_text() == "{}"
    assert os.stat(outside / "training" / "t.bin").st_nlink == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # replace=False keeps the link and writes nothing through it
    link = tmp_path / "store"
    link.symlink_to(outside, target_is_directory=True)
    write_folder_atomically(link, fill, kind="store", replace=False)
    assert link.is_symlink() and (outside / "config.json").read_text() == "{}"
    # a file write replaces a link too
    file_link = tmp_path / "f.bin"
    file_link.symlink_to(outside / "secret.txt")
    atomic_write_bytes(file_link, b"new")
    assert file_link.read_bytes() == b"new" and not file_link.is_symlink()
    assert (outside / "secret.txt").read_bytes() == SECRET


def test_report_files_replace_links(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    outside = _outside(tmp_path)
    results = _results(tmp_path, "ok.json")
    for name in ("report.md", "report.csv", "bars.png", "heatmap.png"):
        (results / name).symlink_to(outside / "secret.txt")
    assert main(["report", str(results)]) == 0
    assert (outside / "secret.txt").read_bytes() == SECRET
    assert (results / "bars.png").read_bytes()[:4] == b"\x89PNG"
    assert not any((results / n).is_symlink() for n in ("report.md", "report.csv"))
    capsys.readouterr()


# ------------------------------------------------------------------ train CLI
QT = "quick-thought"
TINY_QT = ["--hidden-size", "4", "--embedding-dim", "4", "--batch-size", "8", "--min-count", "1"]
TINY_QT += ["--epochs", "1", "--init-vectors", "none", "--no-progress"]


def _corpus(tmp_path: Path) -> Path:
    words = "the cat dog sat ran on mat log market fell rose bank".split()
    return write_documents(tmp_path / "corpus.txt", words, 6)


def test_train_resume_refuses_links_in_its_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("torch")
    outside = _outside(tmp_path)
    out = tmp_path / "qt"
    argv = ["train", QT, "--corpus", str(_corpus(tmp_path)), "--out", str(out), *TINY_QT]
    assert main(argv) == 0
    (out / "training" / "loss.png").unlink(missing_ok=True)
    (out / "training" / "loss.png").symlink_to(outside / "secret.txt")
    capsys.readouterr()
    assert main(["train", QT, "--out", str(out), "--resume", "--no-progress"]) == 2
    (line,) = _error_lines(capsys.readouterr().err, "train")
    assert "loss.png is a symbolic link" in line and "--force" in line
    assert (outside / "secret.txt").read_bytes() == SECRET
    # a FIFO would block the read of the stored run
    (out / "training" / "loss.png").unlink()
    os.mkfifo(out / "training" / "run.lock")
    assert main(["train", QT, "--out", str(out), "--resume", "--no-progress"]) == 2
    assert "not a regular file" in _error_lines(capsys.readouterr().err, "train")[0]


def test_train_out_that_cannot_be_written_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = _corpus(tmp_path)
    (tmp_path / "afile").write_text("x")
    for out, why in [
        ("/proc/nope/t", "cannot create /proc/nope"),
        (str(tmp_path / "afile" / "t"), "is not a folder"),
        (str(tmp_path / "afile"), "exists and is not a folder"),
    ]:
        # word2vec trains in one pass and saves at the end: the check must come first
        rc = main(["train", "word2vec", "--corpus", str(corpus), "--out", out, "--no-progress"])
        (line,) = _error_lines(capsys.readouterr().err, "train")
        assert rc == 2 and why in line, line
    rc = main(["train", "word2vec", "--corpus", str(corpus), "--out", str(tmp_path / "w"),
               "--json", "/proc/nope/s.json", "--no-progress"])  # fmt: skip
    assert rc == 2 and "--json /proc/nope/s.json" in capsys.readouterr().err
    assert not (tmp_path / "w").exists()


def test_an_interrupted_training_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.commands.train as train_cmd

    def stop(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(train_cmd, "_fit_resumable", stop)
    argv = ["train", QT, "--corpus", str(_corpus(tmp_path)), "--out", str(tmp_path / "qt")]
    assert main([*argv, *TINY_QT]) == 130
    err = capsys.readouterr().err
    assert err.count("transferkit train: interrupted") == 1 and "continue with" in err
    assert "Traceback" not in err and "transferkit train: error" not in err


# ----------------------------------------------------------------- encode CLI
def _texts(tmp_path: Path) -> Path:
    src = tmp_path / "t.txt"
    src.write_text("the cat sat\nstocks fell\n", encoding="utf-8")
    return src


@pytest.mark.parametrize(
    ("output", "why"),
    [
        ("/proc/nope/o.npy", "cannot create /proc/nope"),
        ("{tmp}/afile/o.npy", "afile is not a folder"),
        ("{tmp}/adir.npy", "is a folder; give the path of a file"),
    ],
)
def test_encode_output_is_checked_before_the_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str, why: str
) -> None:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir.npy").mkdir()
    src = _texts(tmp_path)
    # an unknown model shows the order: the output is refused before any model is loaded
    rc = main(["encode", "--model", "no-such-model", "--input", str(src),
               "--output", output.format(tmp=tmp_path), "--no-progress"])  # fmt: skip
    (line,) = _error_lines(capsys.readouterr().err, "encode")
    assert rc == 2 and why in line, line


def test_encode_refuses_an_existing_output_without_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _texts(tmp_path)
    out = tmp_path / "v.npy"
    np.save(out, np.zeros((1, 1), np.float32))
    args = ["encode", "--model", "glove-6b-50d", "--input", str(src), "--output", str(out)]
    assert main([*args, "--no-progress"]) == 2
    (line,) = _error_lines(capsys.readouterr().err, "encode")
    assert "already exists" in line and "--overwrite" in line
    assert np.load(out).shape == (1, 1)  # untouched
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main([*args, "--no-progress", "--overwrite"]) == 0
    assert np.load(out).shape == (2, 50)


def test_encode_csv_with_an_unclosed_quote_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "t.csv"
    src.write_text('id,text\n1,fine\n2,"opens here\n3,swallowed\n4,too\n', encoding="utf-8")
    out = tmp_path / "v.npy"
    args = ["encode", "--model", "glove-6b-50d", "--input", str(src), "--output", str(out)]
    assert main([*args, "--no-progress"]) == 2
    (line,) = _error_lines(capsys.readouterr().err, "encode")
    assert f"{src}:3: a quoted value opens here and is never closed" in line
    assert "swallowed" not in line and not out.exists()


# --------------------------------------------------------- models / report CLI
def test_models_unknown_family(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--family", "nope"]) == 2
    (line,) = _error_lines(capsys.readouterr().err, "models")
    assert "unknown family 'nope'" in line and "word_vectors" in line and "use" in line
    assert main(["models", "--family", "word-vectors"]) == 2
    assert "did you mean 'word_vectors'" in capsys.readouterr().err


def _results(tmp_path: Path, name: str, **changes: object) -> Path:
    """``tmp_path/results`` holding one result file ``name`` (see ``_write_result``)."""
    results = tmp_path / "results"
    results.mkdir()
    _write_result(results / name, **changes)
    return results


def _write_result(path: Path, **changes: object) -> None:
    record: dict[str, object] = {
        "format": RESULT,
        "schema_version": 1,
        "created": "2024-01-01",
        "task": {"name": "MR", "label": "MR", "main_score": "accuracy", "config": {}},
        "encoder": {"label": "glove"},
        "main_score": 0.75,
    }
    record.update(changes)
    path.write_text(json.dumps(record), encoding="utf-8")


def test_report_skips_each_bad_result_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results(tmp_path, "good.json")
    record = json.loads((results / "good.json").read_text())
    del record["task"]
    (results / "no_task.json").write_text(json.dumps(record))
    _write_result(results / "task_list.json", task=["MR"])
    _write_result(results / "no_label.json", encoder={"name": "x"})
    _write_result(results / "score_text.json", main_score="0.9")
    _write_result(results / "escape.json", encoder={"label": "a\x1b[2Jb"})
    _write_result(results / "bad_config.json", task={"label": "MR", "config": {"max_samples": 3}})
    (results / "list.json").write_text("[1, 2]")
    (results / "broken.json").write_text('{"format": ')
    (results / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (results / "link.json").symlink_to(_outside(tmp_path) / "secret.txt")
    os.mkfifo(results / "pipe.json")
    (results / "other.json").write_text('{"hello": 1}')  # another kind of file: silent
    assert main(["report", str(results), "--no-plots"]) == 0
    captured = capsys.readouterr()
    assert "| MR | accuracy | 75.00 |" in captured.out
    warned = [line for line in captured.err.splitlines() if "warning" in line]
    expected = {
        "no_task.json": "field 'task' is missing",
        "task_list.json": "field 'task' must be an object",
        "no_label.json": "field 'encoder.label' is missing",
        "score_text.json": "field 'main_score' must be a number",
        "escape.json": "'encoder.label' must be 1 to 200 printable characters",
        "bad_config.json": "'task.config.max_samples' must be an object",
        "list.json": "holds a list, not a result object",
        "broken.json": "not valid JSON",
        "deep.json": "nested too deeply",
        "link.json": "a symbolic link",
        "pipe.json": "not a regular file",
    }
    assert len(warned) == len(expected), captured.err
    for name, why in expected.items():
        assert any(name in line and why in line for line in warned), (name, captured.err)
    assert "Traceback" not in captured.err and "outside file" not in captured.err


def test_report_without_a_usable_result_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results(tmp_path, "a.json", task={"name": "MR"})
    assert main(["report", str(results), "--no-plots"]) == 2
    err = capsys.readouterr().err
    _error_lines(err, "report")
    assert "a.json" in err and "task.label" in err


def test_report_reference_file_that_is_not_usable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _results(tmp_path, "a.json")
    ref = tmp_path / "ref.json"
    for text in ("not json", '{"models": [], "sources": "x"}',
                 '{"models": [{"scores": {"MR": {"value": "x"}}, "source": "s"}]}',
                 '{"models": [{"scores": {}, "source": ["s"]}], "sources": {}}'):  # fmt: skip
        ref.write_text(text)
        assert main(["report", str(results), "--no-plots", "--reference", str(ref)]) == 2
        _error_lines(capsys.readouterr().err, "report")


# ------------------------------------------------------------- the CLI itself
def test_os_errors_are_one_line_and_bugs_keep_their_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import benchmarks.commands.models as models_cmd

    def fail(error: BaseException):
        def run(args: object) -> int:
            raise error

        return run

    cases = [
        (PermissionError(13, "Permission denied", "/root/x.npy"), 1),
        (IsADirectoryError(21, "Is a directory", "/tmp/d"), 1),
        (NotADirectoryError(20, "Not a directory", "/tmp/f/x", None), 1),
        (OSError(18, "Invalid cross-device link", "/a\nb", "/c"), 1),
        (KeyboardInterrupt(), 130),
    ]
    for error, code in cases:
        monkeypatch.setattr(models_cmd, "run", fail(error))
        assert main(["models"]) == code
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("transferkit models: "), err
        if isinstance(error, OSError):
            assert str(error.filename).split("\n")[0] in err and error.strerror in err
    monkeypatch.setattr(models_cmd, "run", fail(BrokenPipeError(32, "Broken pipe")))
    assert main(["models"]) == 141
    monkeypatch.setattr(models_cmd, "run", fail(ZeroDivisionError("a bug")))
    with pytest.raises(ZeroDivisionError):
        main(["models"])


def test_check_writable() -> None:
    from embeddings._atomic import check_writable

    with pytest.raises(InvalidParameterError, match="cannot create /proc/nope"):
        check_writable("/proc/nope/x.npy", what="--output")
    with pytest.raises(InvalidParameterError, match="not a usable path"):
        check_writable("a\0b", what="--output")
