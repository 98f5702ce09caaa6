"""Progress display: tqdm bars in a terminal or notebook, one line per step elsewhere.

Every progress bar of transferkit (encoding, training, evaluation) comes from
:func:`progress`.  What it shows depends on where the output goes:

* a terminal or a Jupyter kernel: tqdm bars (``tqdm.auto``), nested bars stacked;
* anything else (CI logs, ``2> file``, pipes): no bar at all, and one line per step
  when the step ends, e.g. ``encode minilm-l6: 1819 texts in 27.1s (67.1 texts/s)``;
  a bar redrawn with carriage returns would fill a log file with thousands of frames.

``TRANSFERKIT_PROGRESS`` overrides the choice: ``bars``, ``lines``, ``off`` or ``auto``
(the default).  ``show_progress=False`` on a call always shows nothing.

Example:
    >>> import os
    >>> os.environ["TRANSFERKIT_PROGRESS"] = "lines"
    >>> import sys
    >>> with progress(enabled=True, total=3, desc="demo", unit="text", file=sys.stdout) as bar:
    ...     bar.update(3)  # doctest: +ELLIPSIS
    demo: 3 texts in ...s (... texts/s)
    >>> del os.environ["TRANSFERKIT_PROGRESS"]
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, Literal, TextIO

from embeddings.errors import InvalidParameterError

__all__ = ["LineProgress", "progress", "progress_mode"]

ProgressMode = Literal["bars", "lines", "off"]
_MODES = ("auto", "bars", "lines", "off")


def _in_notebook() -> bool:
    """Whether this process runs a Jupyter kernel's shell (not merely has ipykernel
    imported, as a test runner or a library may)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def progress_mode(stream: TextIO | None = None) -> ProgressMode:
    """How progress is shown now: ``TRANSFERKIT_PROGRESS``, else by where output goes.

    Raises:
        InvalidParameterError: ``TRANSFERKIT_PROGRESS`` holds another value.

    Example:
        >>> import io
        >>> progress_mode(io.StringIO()) in ("lines", "bars", "off")
        True
    """
    value = os.environ.get("TRANSFERKIT_PROGRESS", "auto").strip().lower() or "auto"
    if value not in _MODES:
        raise InvalidParameterError(
            f"TRANSFERKIT_PROGRESS must be one of {list(_MODES)}, got {value!r}"
        )
    if value != "auto":
        return value  # type: ignore[return-value]
    if _in_notebook():  # tqdm.auto draws widgets or text bars
        return "bars"
    target = stream if stream is not None else sys.stderr
    isatty = getattr(target, "isatty", None)
    try:
        return "bars" if callable(isatty) and isatty() else "lines"
    except (OSError, ValueError):  # a closed or detached stream
        return "lines"


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s"


class LineProgress:
    """The part of tqdm's interface transferkit uses, printing one line when closed.

    Args:
        total: the expected count, if known.
        desc: what the step is (``"encode minilm-l6"``).
        unit: what is counted (singular; an ``s`` is added for counts other than 1).
        initial: the count at the start (a resumed run).
        file: where the line goes (default: ``sys.stderr`` at close time).

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> with LineProgress(total=10, desc="train", unit="step", file=out) as bar:
        ...     bar.update(4)
        ...     bar.set_postfix(loss="0.25")
        >>> out.getvalue().startswith("train: 4/10 steps in ")
        True
    """

    def __init__(
        self,
        *,
        total: float | None = None,
        desc: str | None = "",
        unit: str = "it",
        initial: float = 0,
        file: TextIO | None = None,
        **_tqdm_options: Any,
    ) -> None:
        self.total = total
        self.desc = desc or ""
        self.unit = unit
        self.n = initial
        self.disable = False
        self._initial = initial
        self._file = file
        self._postfix = ""
        self._start = time.perf_counter()
        self._closed = False

    def update(self, n: float = 1) -> None:
        """Count ``n`` more items."""
        self.n += n

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Values shown after the count (``loss=0.25``)."""
        kwargs.pop("refresh", None)
        items = {**(ordered_dict or {}), **kwargs}
        self._postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        """Text shown after the count."""
        self._postfix = s

    def set_description(self, desc: str | None = None, refresh: bool = True) -> None:
        """Rename the step."""
        self.desc = desc or ""

    def refresh(self) -> None:
        """Nothing to redraw: the line is printed by :meth:`close`."""

    def close(self) -> None:
        """Print the step's line (once)."""
        if self._closed:
            return
        self._closed = True
        elapsed = time.perf_counter() - self._start
        done = self.n - self._initial
        count = f"{self.n:g}"
        if self.total is not None and self.total != self.n:
            count += f"/{self.total:g}"
        plural = "" if self.n == 1 and self.total in (None, 1) else "s"
        line = f"{self.desc}: {count} {self.unit}{plural} in {_duration(elapsed)}"
        if done and elapsed > 0:
            line += f" ({done / elapsed:,.1f} {self.unit}s/s)"
        if self._postfix:
            line += f", {self._postfix}"
        target = self._file if self._file is not None else sys.stderr
        print(line, file=target, flush=True)

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(
    *,
    enabled: bool,
    total: float | None = None,
    desc: str = "",
    unit: str = "it",
    initial: float = 0,
    leave: bool = True,
    file: TextIO | None = None,
) -> Any:
    """A progress display for one step, following the policy of the module docs.

    Args:
        enabled: ``False`` shows nothing (the caller's ``show_progress``).
        total: the expected count.
        desc: the step's name.
        unit: what is counted.
        initial: the count at the start.
        leave: keep a tqdm bar on screen once done (nested inner bars pass ``False``).
        file: the stream (default ``sys.stderr``).

    Returns:
        A tqdm bar, or a :class:`LineProgress`; both offer ``update``,
        ``set_postfix``, ``close`` and the context-manager protocol.

    Example:
        >>> with progress(enabled=False, total=2, desc="x") as bar:
        ...     bar.update(2)
    """
    mode = progress_mode(file) if enabled else "off"
    if mode == "lines":
        return LineProgress(total=total, desc=desc, unit=unit, initial=initial, file=file)
    if mode == "off":
        from tqdm import tqdm  # tqdm.auto would warn in notebooks without ipywidgets

        return tqdm(total=total, disable=True)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, initial=initial, leave=leave, file=file)
