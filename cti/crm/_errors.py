"""The CRM's exceptions: values refused before any database sees them, so the caller's to fix (never a reason
to retry).

::

    cti.errors.InvalidInput
     +-- CrmInputError          customer or contact values refused (.problems says which)
          +-- CsvFormatError    a file that is not a customers CSV at all (no header, unknown column, ...)

What the store refuses for the data it holds (a phone or customer number that already belongs to another record)
is the store's :class:`cti.persistence.StorageConflict`.
"""

from __future__ import annotations

from collections.abc import Iterable

from cti.errors import InvalidInput, Problem

__all__ = ["CrmInputError", "CsvFormatError", "Problem"]


class CrmInputError(InvalidInput):
    def __init__(self, action: str, problems: Iterable[Problem]) -> None:
        problems = tuple(problems)
        super().__init__(f"cannot {action}: " + "; ".join(str(problem) for problem in problems), problems)


class CsvFormatError(CrmInputError):
    def __init__(self, reason: str) -> None:
        super().__init__("import customers", (Problem("file", reason),))
