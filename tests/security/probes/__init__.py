"""Hostile-input probes of transferkit's readers, routes and command line, one module per area.

Each area module exposes ``PROBES``: a list of ``(row name, variants)``.  A variant is a
:class:`Variant`, or a bare callable taking a :class:`Ctx`, or a bare string of Python
statements (run with the area module's globals plus ``ctx``); bare ones must end in a
transferkit error.  ``tests/security/probe_table.py`` runs every variant in a capped
child process and classifies it:

* **clean**: a transferkit error where one is expected, or the expected correct output;
* **crash**: any other exception, a kill, ``MemoryError``, a run past the time limit;
* **silent bad**: wrong output without an error (:class:`SilentBad`, a failed ``assert``
  in probe code, a hostile input that returned, a valid input that was refused);
* **outside**: code ran (a marker file appeared), a file outside the variant's folder was
  read (its secret appeared in a message or an output) or changed.

An area module may also define ``setup(shared)`` (run in the child before any variant and
before the caps: it builds shared fixtures into ``shared`` once and warms imports) and
``ENV`` (extra environment for its child; ``{shared}`` is replaced by the shared folder).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "Ctx",
    "Outside",
    "SECRET",
    "SilentBad",
    "Variant",
    "check",
    "edit_json",
    "mkfifo",
    "no_echo",
    "refused",
    "write_json",
]

#: the bytes of every outside secret file; seeing them in a message or output is a leak
SECRET = "TK-OUTSIDE-SECRET-7f3a"

Expect = Literal["error", "ok", "either"]


class SilentBad(AssertionError):
    """The call returned, or failed, in a way that is wrong without being a crash."""


class Outside(Exception):
    """Code from a file ran, or a file outside the variant's folder was read or changed."""


@dataclass
class Ctx:
    """What a variant works in: its own empty folder, the area's shared fixtures, and an
    ``outside`` folder (holding ``secret.txt``) that must stay unread and unchanged."""

    tmp: Path
    shared: Path
    outside: Path
    watched: list[str] = field(default_factory=list)
    arm: Callable[[], None] = lambda: None
    """Called by a variant once its files are built: what the outside folder holds now is
    the baseline, and only later opens of it count."""

    def marker(self, name: str = "ran") -> Path:
        """A path whose existence after the variant means code from a file ran."""
        folder = self.tmp / ".markers"
        folder.mkdir(exist_ok=True)
        return folder / name

    def copy(self, name: str, to: str | None = None) -> Path:
        """Copy the shared fixture ``name`` (file or folder) into this variant's folder."""
        src, dst = self.shared / name, self.tmp / (to or name)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dst)
        return dst

    def watch(self, *texts: str) -> None:
        """Further strings that must never appear in a message or an output."""
        self.watched.extend(t for t in texts if t)

    @property
    def secret_file(self) -> Path:
        """A file outside the variant's folder holding :data:`SECRET`."""
        return self.outside / "secret.txt"


@dataclass(frozen=True)
class Variant:
    """One probe input: ``run(ctx)`` (or statements), what is correct, and its CPU limit."""

    name: str
    run: Callable[[Ctx], Any] | str
    expect: Expect = "error"
    seconds: float = 5.0


def check(condition: object, what: str = "wrong output") -> None:
    """Raise :class:`SilentBad` unless ``condition`` holds."""
    if not condition:
        raise SilentBad(what)


def refused(call: Callable[[], Any]) -> None:
    """Run ``call``; its returning (no error) is silent bad."""
    call()
    raise SilentBad("returned without an error")


def no_echo(call: Callable[[], Any], *secrets: str) -> Any:
    """Run ``call``; raise :class:`Outside` if its error message quotes one of ``secrets``."""
    try:
        return call()
    except Exception as err:
        text = str(err)
        for secret in secrets:
            if secret and secret in text:
                raise Outside(f"the message quotes {secret!r}") from None
        raise


def write_json(path: Path, data: object) -> Path:
    """Write ``data`` as JSON to ``path``."""
    Path(path).write_text(json.dumps(data), encoding="utf-8")
    return Path(path)


def edit_json(path: Path, **fields: object) -> Path:
    """Update the JSON object in ``path`` with ``fields``."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    data.update(fields)
    return write_json(path, data)


def mkfifo(path: Path) -> Path:
    """Replace ``path`` (if any) by a FIFO."""
    if os.path.lexists(path):
        os.unlink(path)
    os.mkfifo(path)
    return path
