"""How the CLI talks to people: help pages with defaults, plain warnings, and
progress that collapses to one line per step outside a terminal."""

from __future__ import annotations

import argparse
import io
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import embeddings
from benchmarks.cli import build_parser
from benchmarks.console import CommandParser, format_user_warning, user_warnings
from embeddings._progress import LineProgress, progress, progress_mode
from embeddings.errors import InvalidParameterError


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                out.append((path, sub))
                out.extend(_subparsers(sub, path))
    return out


COMMANDS = _subparsers(build_parser())


def test_every_command_is_listed() -> None:
    names = {name for name, _ in COMMANDS}
    assert {"curve", "finetune", "models", "encode", "cache", "data", "report", "bench"} <= names
    assert {"cache info", "data list", "data download"} <= names


@pytest.mark.parametrize("name,parser", COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_has_a_description_and_shows_defaults(name: str, parser: Any) -> None:
    assert parser.description and len(parser.description) > 10, name
    text = parser.format_help()
    for action in parser._actions:
        default = action.default
        if (
            not action.option_strings
            or default is None
            or default is False
            or default is argparse.SUPPRESS
            or isinstance(action, (argparse._HelpAction, argparse._VersionAction))
            or action.help is argparse.SUPPRESS
        ):
            continue
        flag = action.option_strings[0]
        listing = text[text.index("\noptions:") :]
        start = re.search(rf"\n  (-\w, )?{re.escape(flag)}\b", listing)
        assert start is not None, f"{name} {flag} is not listed"
        block = listing[start.end() :].split("\n  -")[0]
        assert "default" in block, f"{name} {flag}: default {default!r} not shown"
        if action.choices is not None:
            assert "{" in block, f"{name} {flag}: allowed values not shown"


def test_help_formatter_keeps_examples_and_skips_unset_defaults() -> None:
    p = CommandParser(prog="demo", description="line one\nline two", epilog="e.g.:\n  demo -x")
    p.add_argument("--size", type=int, default=0, help="rows")
    p.add_argument("--cap", type=int, default=None, help="at most this many (unset: all)")
    p.add_argument("--flag", action="store_true", help="a switch")
    p.add_argument("--batch", type=int, default=64)  # no help text: the default still shows
    text = p.format_help()
    assert "line one\nline two" in text and "e.g.:\n  demo -x" in text
    assert "rows (default: 0)" in text and "default: 64" in text
    assert "(default: None)" not in text and "(default: False)" not in text


def test_curve_and_finetune_help_document_the_caps(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("curve", "finetune"):
        with pytest.raises(SystemExit):
            build_parser().parse_args([command, "--help"])
        text = capsys.readouterr().out
        assert "--dev-max DEV_MAX" in text and "(default: 500)" in text
        assert "(default: 1000)" in text and "'all' for the whole split" in text
    args = build_parser().parse_args(["curve", "--task", "SST2", "--out", "x"])
    assert (args.dev_max, args.test_max) == (500, 1000)
    args = build_parser().parse_args(["finetune", "--task", "SST2", "--test-max", "all"])
    assert (args.dev_max, args.test_max) == (500, None)


# ------------------------------------------------------------------ warnings
def test_user_warnings_are_one_plain_line() -> None:
    line = format_user_warning(
        RuntimeWarning("2 texts had no known word"), RuntimeWarning, "/x/word_vectors.py", 9
    )
    assert line == "transferkit: warning: 2 texts had no known word\n"
    from embeddings.cache import CacheWarning

    assert format_user_warning("shard removed", CacheWarning, "/x/cache.py", 3) == (
        "transferkit: warning: shard removed (CacheWarning)\n"
    )
    other = format_user_warning("old API", DeprecationWarning, "/x/mod.py", 3, "f()")
    assert "/x/mod.py:3" in other  # not a user warning: Python's format
    out = io.StringIO()
    with user_warnings(out), warnings.catch_warnings():
        warnings.simplefilter("always")
        embeddings.load("glove-6b-50d").encode(["zzzqqq"])
    assert out.getvalue().startswith("transferkit: warning: glove-6b-50d: 1 text(s) had no")
    assert ".py" not in out.getvalue()


def test_cli_prints_warnings_without_source_paths(tmp_path: Path) -> None:
    texts = tmp_path / "t.txt"
    texts.write_text("zzzqqq xxyyzz\nthe cat\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "benchmarks.cli", "encode", "--model", "glove-6b-50d"]
    cmd += ["--input", str(texts), "--output", str(tmp_path / "v.npy"), "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert done.returncode == 0, done.stderr
    assert "transferkit: warning: glove-6b-50d: 1 text(s) had no in-vocabulary token" in (
        done.stderr
    )
    assert ".py:" not in done.stderr and "warnings.warn" not in done.stderr


# ------------------------------------------------------------------ progress
def test_progress_mode_follows_the_stream_and_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert progress_mode(io.StringIO()) == "lines"
    assert progress_mode(Tty()) == "bars"
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "off")
    assert progress_mode(Tty()) == "off"
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "bars")
    assert progress_mode(io.StringIO()) == "bars"
    monkeypatch.setenv("TRANSFERKIT_PROGRESS", "fancy")
    with pytest.raises(InvalidParameterError, match=r"TRANSFERKIT_PROGRESS must be one of"):
        progress_mode()


def test_line_progress_prints_one_line_at_the_end() -> None:
    out = io.StringIO()
    with LineProgress(total=5, desc="train", unit="step", file=out) as bar:
        bar.update(2)
        bar.set_postfix(loss="0.5000")
        assert out.getvalue() == ""  # nothing while the step runs
        bar.update(3)
    bar.close()  # closing twice prints once
    (line,) = out.getvalue().splitlines()
    assert line.startswith("train: 5 steps in ") and line.endswith(", loss=0.5000")
    assert "steps/s" in line and "\r" not in out.getvalue()
    with progress(enabled=False, total=3, desc="x", file=out) as off:
        off.update(3)
    assert len(out.getvalue().splitlines()) == 1


def test_encode_progress_is_one_line_outside_a_terminal(capsys, monkeypatch) -> None:
    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)
    enc = embeddings.load("glove-6b-50d")
    enc.encode(["a cat", "a dog", "stocks fell"], show_progress=True)
    err = capsys.readouterr().err
    assert "\r" not in err
    (line,) = err.splitlines()
    assert line.startswith("encode glove-6b-50d: 3 texts in ")
    enc.encode(["a cat"], show_progress=False)
    assert capsys.readouterr().err == ""


def test_trainer_progress_is_one_line_outside_a_terminal(capsys, monkeypatch) -> None:
    torch = pytest.importorskip("torch")
    from embeddings.training.trainer import Objective, TrainConfig, Trainer

    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)

    class Fit(Objective):
        def plan(self, epoch: int, rng: np.random.Generator) -> list[np.ndarray]:
            return [rng.permutation(8)[:4] for _ in range(2)]

        def loss(self, model: Any, batch: np.ndarray) -> tuple[Any, int]:
            x = torch.arange(8.0)[torch.from_numpy(batch)][:, None]
            return ((model(x) - 2 * x) ** 2).mean(), len(batch)

    config = TrainConfig(epochs=3, lr=0.05, show_progress=True, log_every=1)
    Trainer(torch.nn.Linear(1, 1), Fit(), config).fit()
    err = capsys.readouterr().err
    assert "\r" not in err
    (line,) = [x for x in err.splitlines() if x.startswith("train")]
    assert line.startswith("train: 6 steps in ") and "loss=" in line


def test_notebook_bars_only_inside_a_kernel_shell(monkeypatch):
    """ipykernel imported (by a test runner or a library) is not a notebook; a kernel's
    ZMQInteractiveShell is."""
    import io
    import types

    from embeddings._progress import progress_mode

    monkeypatch.delenv("TRANSFERKIT_PROGRESS", raising=False)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: None
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert progress_mode(io.StringIO()) == "lines"
    fake.get_ipython = lambda: type("ZMQInteractiveShell", (), {})()
    assert progress_mode(io.StringIO()) == "bars"
