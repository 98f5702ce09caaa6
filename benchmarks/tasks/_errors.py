"""Errors specific to benchmark tasks, rooted in the transferkit hierarchy.

Both derive from :class:`embeddings.errors.TransferkitError` and the matching builtin,
as house rule 5 asks; the generic ones (``DataNotFoundError``, ``ChecksumError``,
``InvalidParameterError``) come from :mod:`embeddings.errors`.

Example:
    >>> from benchmarks.tasks import get_task, UnknownTaskError
    >>> try:
    ...     get_task("SST-2x")
    ... except UnknownTaskError as err:
    ...     print("did you mean" in str(err))
    True
"""

from __future__ import annotations

from embeddings.errors import TransferkitError

__all__ = ["DataFormatError", "UnknownTaskError"]


class UnknownTaskError(TransferkitError, KeyError):
    """A task name that is not registered; the message suggests close names."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DataFormatError(TransferkitError, ValueError):
    """A raw or normalised data file whose content does not have the documented format."""
