"""The command line (``benchmarks.cli``) and CSV input: unwritable outputs, result JSON
files that lack or mistype fields (or are FIFOs, links, 8 GiB holes, 100k-deep), OS
errors and Ctrl-C, a closed stdout pipe, control characters in labels and paths, and CSV
files with unterminated quotes or oversized headers.

A clean CLI error is a non-zero exit with exactly one ``transferkit <command>: error:``
line, no traceback, that names what was wrong.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.security.probes import Ctx, Outside, Variant, check


def setup(shared: Path) -> None:
    """Import the command line and load the glove table before the caps."""
    import pyarrow.csv  # noqa: F401

    import embeddings
    import embeddings.streaming
    from benchmarks.cli import main  # noqa: F401

    embeddings.load("glove-6b-50d").encode(["warm up"])


def run_cli(argv: list[str]) -> tuple[int | str, str, str]:
    """``(exit status or "exc <name>", stdout, stderr)`` of ``benchmarks.cli.main(argv)``."""
    from benchmarks.cli import main

    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                rc: int | str = main(argv)
    except SystemExit as exc:
        rc = f"exit {exc.code}"
    except Exception as exc:  # a traceback
        rc = "exc " + type(exc).__name__
        err.write(traceback.format_exc())
    return rc, out.getvalue(), err.getvalue()


def one_error_line(rc: object, err: str, command: str) -> bool:
    lines = [x for x in err.splitlines() if x.startswith(f"transferkit {command}: error: ")]
    return isinstance(rc, int) and rc != 0 and len(lines) == 1 and "Traceback" not in err


def cli_outcome(argv: list[str], command: str, must: str = "") -> None:
    """The command must fail with one error line holding ``must``; a traceback is a crash."""
    rc, _, err = run_cli(argv)
    if "Traceback" in err or not isinstance(rc, int):
        raise RuntimeError(f"{rc}: {err[-400:]}")
    check(one_error_line(rc, err, command) and must in err,
          f"exit {rc}, expected one error line with {must!r}: {err[-300:]}")  # fmt: skip


def report_result(path: Path, **changes: Any) -> None:
    """A valid benchmark result file, with ``changes``."""
    rec: dict[str, Any] = {
        "format": "transferkit-benchmark-result", "schema_version": 1, "created": "2024",
        "task": {"name": "MR", "label": "MR", "main_score": "accuracy"},
        "encoder": {"label": "g"}, "main_score": 0.7}  # fmt: skip
    rec.update(changes)
    path.write_text(json.dumps(rec))


def ok(label: str, run: Callable[[Ctx], object], seconds: float = 10) -> Variant:
    return Variant(label, run, expect="ok", seconds=seconds)


def _encode_out(output: str, must: str) -> Variant:
    def run(ctx: Ctx) -> None:
        src = ctx.tmp / "t.txt"
        src.write_text("a cat\nstocks fell\n")
        (ctx.tmp / "afile").write_text("x")
        (ctx.tmp / "adir.npy").mkdir()
        cli_outcome(["encode", "--model", "glove-6b-50d", "--input", str(src), "--output",
                     output.format(root=ctx.tmp), "--no-progress"], "encode", must)  # fmt: skip

    return ok(output.replace("{root}/", ""), run)


def _train_out(out: str, must: str, extra: tuple[str, ...] = ()) -> Variant:
    def run(ctx: Ctx) -> None:
        (ctx.tmp / "c.txt").write_text("a b c\n")
        (ctx.tmp / "afile").write_text("x")
        cli_outcome(["train", "word2vec", "--corpus", str(ctx.tmp / "c.txt"), "--out",
                     out.format(root=ctx.tmp), "--no-progress", *extra], "train", must)  # fmt: skip

    return ok((out + " " + " ".join(extra)).replace("{root}/", ""), run)


def _report_bad(label: str, content: Any, must: str, kind: str = "text") -> Variant:
    """One bad result file beside a good one: one warning naming it, the table still made."""

    def run(ctx: Ctx) -> None:
        res = ctx.tmp / "r"
        res.mkdir()
        report_result(res / "ok.json")
        bad = res / "bad.json"
        if kind == "text":
            bad.write_text(content)
        elif kind == "fields":
            report_result(bad, **content)
        elif kind == "drop":
            report_result(bad)
            rec = json.loads(bad.read_text())
            del rec[content]
            bad.write_text(json.dumps(rec))
        elif kind == "link":
            bad.symlink_to(ctx.secret_file)
        elif kind == "sparse":
            with open(bad, "wb") as fh:
                fh.truncate(8 << 30)
        elif kind == "fifo":
            import os

            os.mkfifo(bad)
        rc, out, err = run_cli(["report", str(res), "--no-plots"])
        if "Traceback" in err or not isinstance(rc, int):
            raise RuntimeError(f"{rc}: {err[-400:]}")
        warned = [x for x in err.splitlines() if "warning" in x and "bad.json" in x]
        check(rc == 0 and len(warned) == 1 and must in warned[0] and "| MR |" in out,
              f"exit {rc}, warnings {warned}")  # fmt: skip

    return ok(label, run)


REPORT_BAD = [
    ("task missing", "task", "'task' is missing", "drop"),
    ("encoder missing", "encoder", "'encoder' is missing", "drop"),
    ("main_score missing", "main_score", "'main_score' is missing", "drop"),
    ("task a list", {"task": ["MR"]}, "'task' must be an object", "fields"),
    ("task.label missing", {"task": {"name": "MR"}}, "'task.label' is missing", "fields"),
    ("main_score a string", {"main_score": "0.9"}, "must be a number", "fields"),
    ("unknown task.config key", {"task": {"label": "MR", "config": {"max_samples": 5}}},
     "max_samples", "fields"),
    ("task.params a list", {"task": {"label": "MR", "params": [1]}}, "task.params", "fields"),
    ("not JSON", '{"format": ', "not valid JSON", "text"),
    ("a list", "[1, 2]", "holds a list", "text"),
    ("a string", '"just a string"', "holds a string", "text"),
    ("not UTF-8 as Latin-1", b"\xff\xfe".decode("latin-1"), "not", "text"),
]  # fmt: skip


def _report_none(ctx: Ctx) -> None:
    res = ctx.tmp / "r"
    res.mkdir()
    (res / "a.json").write_text("[1]")
    report_result(res / "b.json", task={"name": "x"})
    cli_outcome(["report", str(res), "--no-plots"], "report", "no benchmark results")


def _os_error(label: str, error: BaseException) -> Variant:
    def run(ctx: Ctx) -> None:
        import benchmarks.commands.models as m

        saved = m.run

        def boom(args: object) -> int:
            raise error

        m.run = boom  # type: ignore[assignment]
        try:
            rc, _, err = run_cli(["models"])
        finally:
            m.run = saved  # type: ignore[assignment]
        if isinstance(error, KeyboardInterrupt):
            check(rc == 130 and len(err.splitlines()) == 1, f"exit {rc}: {err[-200:]}")
        elif isinstance(error, OSError):
            if "Traceback" in err:
                raise RuntimeError(err[-300:])
            check(one_error_line(rc, err, "models") and len(err.splitlines()) == 1, err[-200:])
        else:  # a bug keeps its traceback
            check(rc == "exc " + type(error).__name__, f"a bug was hidden: {rc}")

    return ok(label, run)


def _csv(label: str, content: str, error: str | None, texts: list[str] | None = None) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings.errors import InvalidInputError
        from embeddings.streaming import TextSource

        p = ctx.tmp / "t.csv"
        p.write_text(content, encoding="utf-8")
        for how in ("count", "chunks"):
            try:
                src = TextSource(p)
                got = src.count() if how == "count" else [t for c, _ in src.chunks(4) for t in c]
            except InvalidInputError as err:
                check(error is not None and error in str(err), f"{how}: {err}")
                if "zz" in str(err):
                    raise Outside(f"{how}: the message quotes the file's data: {err}") from None
                continue
            check(error is None, f"{how}: no error for an unterminated quote")
            check(how == "count" or texts is None or got == texts, f"{how}: read {got!r}")

    return ok(label, run)


CSV = [
    ("last column", 'id,text\n1,"hello\n2,zzworld\n', ":2: a quoted value opens here", None),
    ("other column", 'text,id\n"hello,1\nzzworld,2\n', ":2: a quoted value opens here", None),
    ("CRLF", 'id,text\r\n1,"a\r\nb"\r\n2,"zzopen\r\n3,zzx\r\n', ":4: a quoted value", None),
    ("doubled quotes", 'id,text\n1,"a ""q"" zzw\n', ":2: a quoted value", None),
    ("BOM", '\ufefftext\n"zzx', ":2: a quoted value", None),
    ("valid quoted newlines and quotes", 'id,text\n1,"a\nb"\n2,5" in\n3,"x ""y"""\n', None,
     ["a\nb", '5" in', 'x "y"']),
]  # fmt: skip


def _bigint(ctx: Ctx) -> None:
    res = ctx.tmp / "r"
    res.mkdir()
    report_result(res / "ok.json")
    text = (res / "ok.json").read_text()
    (res / "bad.json").write_text(text.replace('"main_score": 0.7', '"main_score": 1' + "0" * 400))
    rc, _, err = run_cli(["report", str(res), "--no-plots"])
    if "Traceback" in err:
        raise RuntimeError(err[-300:])
    check(rc == 0 and "between -1e9 and 1e9" in err, f"exit {rc}: {err[-200:]}")


def _csv_header_escape(ctx: Ctx) -> None:
    from embeddings.errors import InvalidInputError
    from embeddings.streaming import TextSource

    p = ctx.tmp / "t.csv"
    p.write_text("\x1b[2Jid,other\n1,2\n")
    try:
        TextSource(p)
    except InvalidInputError as err:
        check("\x1b" not in str(err), "the escape sequence is in the message")
        return
    check(False, "no error for a CSV without a text column")


def _newline_path(ctx: Ctx) -> None:
    cli_outcome(["encode", "--model", "glove-6b-50d", "--input", str(ctx.tmp / "no\nfile.txt"),
                 "--output", str(ctx.tmp / "o.npy")], "encode", "no such file")  # fmt: skip


def _csv_bounded(label: str, data: bytes | None, must: str) -> Variant:
    def run(ctx: Ctx) -> None:
        from embeddings.errors import InvalidInputError
        from embeddings.streaming import TextSource

        p = ctx.tmp / "t.csv"
        with open(p, "wb") as fh:
            if data is None:
                fh.write(b'"h')
                fh.truncate(4 << 30)
            else:
                fh.write(data)
        try:
            TextSource(p).count()
        except InvalidInputError as err:
            check(must in str(err), str(err)[:200])
            return
        check(False, "no error")

    return ok(label, run)


def _reference(label: str, text: str) -> Variant:
    def run(ctx: Ctx) -> None:
        res = ctx.tmp / "r"
        res.mkdir()
        report_result(res / "ok.json")
        (ctx.tmp / "ref.json").write_text(text)
        cli_outcome(["report", str(res), "--no-plots", "--reference", str(ctx.tmp / "ref.json")],
                    "report")  # fmt: skip

    return ok(label, run)


def _pipe(ctx: Ctx) -> None:
    proc = subprocess.run(
        f"{sys.executable} -m benchmarks.cli models | head -c 10 >/dev/null; "
        "echo ${PIPESTATUS[0]}",
        shell=True, capture_output=True, text=True, executable="/bin/bash",
    )  # fmt: skip
    if "Traceback" in proc.stderr:
        raise RuntimeError(proc.stderr[-300:])
    check(proc.stdout.strip() in ("0", "141"), f"exit {proc.stdout.strip()}")


def _report_out(where: str) -> Variant:
    def run(ctx: Ctx) -> None:
        res = ctx.tmp / "r"
        res.mkdir()
        report_result(res / "ok.json")
        (ctx.tmp / "afile").write_text("x")
        cli_outcome(["report", str(res), "--no-plots", "--out", where.format(root=ctx.tmp)],
                    "report", "--out")  # fmt: skip

    return ok(where.replace("{root}/", ""), run)


PROBES = [
    ("encode --output unwritable (/proc, under a file, a folder, NUL)", [
        _encode_out(o, m) for o, m in (
            ("/proc/nope/o.npy", "cannot create"), ("{root}/afile/o.npy", "not a folder"),
            ("{root}/adir.npy", "is a folder"), ("{root}/a\0b.npy", "NUL"))]),
    ("train --out / --json unwritable (checked before training)", [
        _train_out("/proc/nope/t", "cannot create"), _train_out("{root}/afile/t", "not a folder"),
        _train_out("{root}/afile", "not a folder"),
        _train_out("{root}/w", "--json", ("--json", "/proc/nope/s.json"))]),
    ("report: a result JSON lacks/mistypes a field, is not JSON, is a list", [
        _report_bad(label, c, m, k) for label, c, m, k in REPORT_BAD]),
    ("report: no valid result remains", [ok("none valid", _report_none)]),
    ("models --family nope / near miss", [
        ok("nope", lambda ctx: cli_outcome(["models", "--family", "nope"], "models",
                                           "word_vectors")),
        ok("word-vectors", lambda ctx: cli_outcome(["models", "--family", "word-vectors"],
                                                   "models", "did you mean"))]),
    ("CLI: OSError kinds -> one line; Ctrl-C -> 130; a bug keeps its traceback", [
        _os_error(label, e) for label, e in (
            ("PermissionError", PermissionError(13, "Permission denied", "/x")),
            ("IsADirectoryError", IsADirectoryError(21, "Is a dir", "/d")),
            ("NotADirectoryError", NotADirectoryError(20, "Not a directory", "/f/x")),
            ("FileNotFoundError", FileNotFoundError(2, "No such", "/n")),
            ("OSError with a newline in its path", OSError(18, "cross-device", "/a\nb", "/c")),
            ("KeyboardInterrupt", KeyboardInterrupt()), ("a bug", ZeroDivisionError("bug")))]),
    ("CSV: unterminated quote (last col, other col, CRLF, doubled quotes, BOM) + valid", [
        _csv(*case) for case in CSV]),
    ("result files: FIFO / link named *.json in a results folder", [
        _report_bad("FIFO", None, "not a regular file", "fifo"),
        _report_bad("link outside", None, "symbolic link", "link")]),
    ("result JSON nested 100k deep / 8 GiB sparse / huge integer score", [
        _report_bad("100k deep", "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        _report_bad("8 GiB sparse", None, "too big", "sparse"), ok("10**400 score", _bigint)]),
    ("control characters / newlines in labels and messages", [
        _report_bad("ESC in a label", {"encoder": {"label": "a\x1b[2Jb"}}, "printable", "fields"),
        ok("ESC in a CSV header", _csv_header_escape),
        ok("newline in a path", _newline_path)]),
    ("CSV header over 1 MiB / 4 GiB header in an open quote / row error quoting data", [
        _csv_bounded("2 MiB header", b"x" * (2 << 20) + b",text\n1,2\n", "longer than 1 MiB"),
        _csv_bounded("4 GiB sparse header", None, "longer than 1 MiB"),
        _csv("extra columns", "id,text\n1,a,zzsecret,b\n", "Expected 2 columns, got 4")]),
    ("reference JSON: a list of sources / unhashable source / text score / not JSON", [
        _reference(label, t) for label, t in (
            ("sources a string", '{"models": [], "sources": "x"}'), ("not JSON", "not json"),
            ("source a list", '{"models": [{"scores": {}, "source": ["s"]}], "sources": {}}'),
            ("score a string", '{"models": [{"scores": {"MR": {"value": "x"}}, '
                               '"source": "s"}]}'))]),
    ("closed stdout pipe (models piped into head -c 10)", [ok("head -c 10", _pipe, 30)]),
    ("report --out is a file / under /proc", [
        _report_out(w) for w in ("{root}/afile", "/proc/nope/rep")]),
]  # fmt: skip
