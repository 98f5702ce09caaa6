"""transferkit benchmarks: tasks, suites, runner, reports and the ``transferkit`` CLI.

Importing the package registers the evaluation protocols (:mod:`benchmarks.protocols`)
behind ``Task.evaluate``; they are imported on the first evaluation, so importing
:mod:`benchmarks.tasks` stays light.
"""

from __future__ import annotations

from typing import Any

from benchmarks.tasks import hooks as _hooks


def _evaluate(task: Any, encoder: Any, **options: Any) -> Any:
    """``task.evaluate(encoder, **options)``: see :func:`benchmarks.protocols.evaluate`."""
    from benchmarks.protocols import evaluate

    return evaluate(task, encoder, **options)


_hooks.provide("evaluate", _evaluate)
