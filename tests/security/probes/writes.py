"""Writes that could go through a link or block on a FIFO: ``train --resume`` over a
training folder holding links, the Trainer's log and plot, ``save()`` over a folder whose
kept ``training/`` holds links, ``write_folder_atomically`` onto a link, the atomic file
writers, report outputs and ``encode`` outputs that are links.

The outside folder holds ``secret.txt`` and ``sub/deep.txt``; a write through a link
changes it (or opens a file there) and counts as outside.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tests.security.probes import Ctx, Variant, check
from tests.security.probes.cli import cli_outcome, report_result, run_cli


def setup(shared: Path) -> None:
    """Train a tiny Quick-Thought run once (resumed by the variants); import the CLI."""
    import torch  # noqa: F401

    import embeddings
    from benchmarks.cli import main  # noqa: F401
    from embeddings.training.trainer import Trainer  # noqa: F401

    embeddings.load("glove-6b-50d").encode(["warm up"])
    if (shared / "qt").exists():
        return
    rng = np.random.default_rng(0)
    words = "the cat dog sat ran on mat log market fell rose bank".split()
    docs = ["\n".join(" ".join(rng.choice(words, 5)) for _ in range(6)) for _ in range(6)]
    corpus = shared / "corpus.txt"
    corpus.write_text("\n\n".join(docs) + "\n")
    tiny = ["--hidden-size", "4", "--embedding-dim", "4", "--batch-size", "8", "--min-count",
            "1", "--epochs", "1", "--init-vectors", "none", "--no-progress"]  # fmt: skip
    rc, _, err = run_cli(["train", "quick-thought", "--corpus", str(corpus), "--out",
                          str(shared / "qt"), *tiny])  # fmt: skip
    if rc != 0:
        raise RuntimeError("the tiny training run failed: " + err[-500:])


def qt_run(ctx: Ctx) -> tuple[Path, list[str]]:
    """A copy of the trained run and the command line that resumes it."""
    out = ctx.copy("qt")
    return out, ["train", "quick-thought", "--out", str(out), "--resume", "--no-progress"]


def ok(label: str, run: Callable[[Ctx], object], seconds: float = 5) -> Variant:
    return Variant(label, run, expect="ok", seconds=seconds)


def _train_link(entry: str, to_dir: bool = False) -> Variant:
    def run(ctx: Ctx) -> None:
        out, resume = qt_run(ctx)
        path = out / "training" / entry
        if path.is_dir() and not path.is_symlink():
            path.rename(ctx.tmp / "moved")
        else:
            path.unlink(missing_ok=True)
        path.symlink_to(ctx.outside if to_dir else ctx.secret_file)
        cli_outcome(resume, "train", "symbolic link")

    return ok(entry, run, 15)


def _training_is_link(ctx: Ctx) -> None:
    out, resume = qt_run(ctx)
    (out / "training").rename(ctx.tmp / "moved")
    (out / "training").symlink_to(ctx.tmp / "moved", target_is_directory=True)
    cli_outcome(resume, "train", "symbolic link")


def _fifo_training(ctx: Ctx) -> None:
    out, resume = qt_run(ctx)
    os.mkfifo(out / "training" / "checkpoints" / "LATEST.fifo")
    cli_outcome(resume, "train", "not a regular file")


def _trainer_fit(work: Path, resume: bool) -> None:
    import torch

    from embeddings.training.trainer import Objective, TrainConfig, Trainer

    class Fit(Objective):
        def plan(self, epoch: int, rng: np.random.Generator) -> list[np.ndarray]:
            return [rng.permutation(8)[:4] for _ in range(2)]

        def loss(self, model: torch.nn.Module, batch: np.ndarray) -> tuple[torch.Tensor, int]:
            x = torch.arange(8.0)[torch.from_numpy(batch)][:, None]
            return ((model(x) - 2 * x) ** 2).mean(), len(batch)

    cfg = TrainConfig(epochs=2, lr=0.05, show_progress=False, log_every=1)
    Trainer(torch.nn.Linear(1, 1), Fit(), cfg, work).fit(resume=resume)


def _trainer_png(ctx: Ctx) -> None:
    work = ctx.tmp / "w"
    work.mkdir()
    (work / "loss.png").symlink_to(ctx.secret_file)
    _trainer_fit(work, False)
    png = work / "loss.png"
    check(not png.is_symlink() and png.read_bytes()[:4] == b"\x89PNG", "loss.png still a link")


def _trainer_log(ctx: Ctx) -> None:
    work = ctx.tmp / "w"
    work.mkdir()
    _trainer_fit(work, False)
    (work / "log.jsonl").unlink()
    (work / "log.jsonl").symlink_to(ctx.secret_file)
    _trainer_fit(work, True)
    check(not (work / "log.jsonl").is_symlink(), "log.jsonl still a link")


def _saved(ctx: Ctx) -> Path:
    import embeddings

    return embeddings.load("tfidf").fit(["a b c", "b c d"]).save(ctx.tmp / "model")


def _save_again(target: Path) -> None:
    import embeddings

    enc = embeddings.load(str(target))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        enc.save(target)
    check(any("not carried over" in str(w.message) for w in seen), "no warning")


def _keep(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        target = _saved(ctx)
        training = target / "training"
        if kind == "training/ itself":
            training.symlink_to(ctx.outside, target_is_directory=True)
            left = training
        elif kind == "a file link":
            training.mkdir()
            (training / "x.txt").symlink_to(ctx.secret_file)
            left = training / "x.txt"
        elif kind == "a folder link":
            (training / "a" / "b").mkdir(parents=True)
            (training / "a" / "b" / "d").symlink_to(ctx.outside / "sub")
            left = training / "a" / "b" / "d"
        else:  # a FIFO: copying it would block in open or fsync
            training.mkdir()
            os.mkfifo(training / "pipe")
            left = training / "pipe"
        _save_again(target)
        check(not os.path.lexists(left), f"{left.name} was carried over")

    return ok(kind, run)


def _write_one(folder: Path) -> None:
    (folder / "config.json").write_text("1")


def _target_link(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        import embeddings._atomic as atomic

        t = ctx.tmp / "m"
        if kind == "exchange":
            (ctx.outside / "sub" / "config.json").write_text("{}")
            ctx.arm()
            t.symlink_to(ctx.outside / "sub")
            atomic.write_folder_atomically(t, _write_one,
                                           kind="saved encoder", keep=("training",))  # fmt: skip
            check(t.is_dir() and not t.is_symlink() and (t / "config.json").read_text() == "1",
                  "the link was not replaced")  # fmt: skip
        elif kind == "rename fallback":
            t.symlink_to(ctx.outside, target_is_directory=True)
            saved = atomic._exchange
            atomic._exchange = lambda a, b: False  # type: ignore[assignment]
            try:
                atomic.write_folder_atomically(t, _write_one,
                                               kind="saved encoder")  # fmt: skip
            finally:
                atomic._exchange = saved  # type: ignore[assignment]
            left = [p for p in ctx.tmp.iterdir() if p.name.startswith(".")]
            check(not t.is_symlink() and not left, "link kept or temporaries left")
        else:
            t.symlink_to(ctx.outside, target_is_directory=True)
            atomic.write_folder_atomically(t, _write_one,
                                           kind="store", replace=False)  # fmt: skip
            check(t.is_symlink(), "replace=False replaced the link")

    return ok(kind, run)


def _file_writer(kind: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings._atomic import atomic_open, atomic_write_bytes, atomic_write_text

        link = ctx.tmp / "f"
        link.symlink_to(ctx.secret_file)
        if kind == "bytes":
            atomic_write_bytes(link, b"x")
        elif kind == "text":
            atomic_write_text(link, "x")
        else:
            with atomic_open(link) as fh:
                fh.write(b"x")
        check(not link.is_symlink() and link.read_bytes() == b"x", "wrote through the link")

    return ok(kind, run)


def _report_link(name: str) -> Variant:
    def run(ctx: Ctx) -> None:
        res = ctx.tmp / "r"
        res.mkdir()
        report_result(res / "ok.json")
        (res / name).symlink_to(ctx.secret_file)
        rc, _, err = run_cli(["report", str(res)])
        if "Traceback" in err:
            raise RuntimeError(err[-300:])
        check(rc == 0 and not (res / name).is_symlink(), f"exit {rc} or the link was kept")

    return ok(name, run, 20)


def _encode_argv(ctx: Ctx, out: Path) -> list[str]:
    src = ctx.tmp / "t.txt"
    src.write_text("a cat\nstocks fell\n")
    return ["encode", "--model", "glove-6b-50d", "--input", str(src), "--output", str(out),
            "--no-progress"]  # fmt: skip


def _encode_rerun(ctx: Ctx) -> None:
    out = ctx.tmp / "v.npy"
    argv = _encode_argv(ctx, out)
    check(run_cli(argv)[0] == 0, "the first encode failed")
    before = out.stat().st_mtime_ns
    cli_outcome(argv, "encode", "--overwrite")
    check(out.stat().st_mtime_ns == before, "the output was rewritten")


def _encode_link_out(ctx: Ctx) -> None:
    out = ctx.tmp / "v.npy"
    out.symlink_to(ctx.secret_file)
    argv = _encode_argv(ctx, out)
    cli_outcome(argv, "encode", "--overwrite")
    rc, _, _ = run_cli([*argv, "--overwrite"])
    check(rc == 0 and not out.is_symlink(), "--overwrite wrote through the link")


PROBES = [
    ("train --resume: link in OUT/training (loss.png, log.jsonl, checkpoints/, run.json)", [
        _train_link("loss.png"), _train_link("log.jsonl"), _train_link("checkpoints", True),
        _train_link("run.json"), ok("training/ itself", _training_is_link, 15),
    ]),
    ("train --resume: a FIFO in OUT/training/checkpoints", [
        ok("LATEST.fifo", _fifo_training, 15)]),
    ("Trainer API: loss.png / log.jsonl are links (fresh and resumed fit)", [
        ok("loss.png", _trainer_png, 10), ok("log.jsonl", _trainer_log, 10)]),
    ("save(): kept training/ holds links or a FIFO", [
        _keep(k) for k in ("training/ itself", "a file link", "a folder link", "a FIFO")]),
    ("write_folder_atomically: target is a link (exchange / rename fallback / replace=False)", [
        _target_link(k) for k in ("exchange", "rename fallback", "replace=False")]),
    ("atomic file writers onto a link (bytes, text, open)", [
        _file_writer(k) for k in ("bytes", "text", "open")]),
    ("report outputs are links (md, csv, bars, heatmap)", [
        _report_link(n) for n in ("report.md", "report.csv", "bars.png", "heatmap.png")]),
    ("encode onto an existing output (rerun, and an output that is a link)", [
        ok("rerun", _encode_rerun, 10), ok("output is a link", _encode_link_out, 10)]),
]  # fmt: skip
