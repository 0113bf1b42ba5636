"""The CRM's exceptions: all are :class:`~cti.storage.StorageError`, so store callers handle one type.

::

    StorageError
     +-- StorageConflict        a phone or customer number that already belongs to another record
     +-- CrmInputError          values refused before any database sees them (.problems says which)
          +-- CsvFormatError    a file that is not a customers CSV at all (no header, unknown column, ...)
"""

from __future__ import annotations

from dataclasses import dataclass

from cti.storage import StorageConflict, StorageError

__all__ = ["CrmInputError", "CsvFormatError", "Problem", "StorageConflict", "StorageError"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One refused value: which field (or CSV column) and why."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class CrmInputError(StorageError):
    def __init__(self, action: str, problems: tuple[Problem, ...]) -> None:
        super().__init__(f"cannot {action}: " + "; ".join(str(problem) for problem in problems))
        self.problems = problems


class CsvFormatError(CrmInputError):
    def __init__(self, reason: str) -> None:
        super().__init__("import customers", (Problem("file", reason),))
