"""SQL helpers the repositories share: checks that make both backends refuse the same values, and the upsert."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, String, Table, case
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ._errors import StorageError, StorageRejected

__all__ = ["check", "check_limit", "upsert"]


def check(table: Table, values: Mapping[str, object]) -> None:
    """Refuse what one backend would store and another reject, before any backend sees it.

    SQLite ignores VARCHAR lengths and would store naive datetimes as if they were UTC. The message names the
    column, never the value: it ends up in logs and dead letters, and the value may be a caller's number.
    """
    for column in table.columns:
        if column.name not in values:
            continue
        value = values[column.name]
        length = column.type.length if isinstance(column.type, String) else None
        if isinstance(value, str) and length is not None and len(value) > length:
            # The length, not the value: this message reaches logs, and the value may be a caller's name.
            raise StorageRejected(f"{table.name}.{column.name} is longer than {length} characters ({len(value)})")
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise StorageRejected(
                f"{table.name}.{column.name}: naive datetime {value.isoformat()} refused,"
                " use a timezone-aware UTC datetime"
            )


def check_limit(limit: int) -> None:
    if limit < 1:
        raise StorageError(f"limit must be at least 1, not {limit}")


def upsert(backend: str, table: Table, values: dict[str, Any], *, key: str, keep: frozenset[str],
           where: ColumnElement[bool] | None = None,
           sealed: tuple[str, frozenset[str]] | None = None) -> Executable:
    """INSERT ... ON CONFLICT (key) DO UPDATE of every column but ``key`` and ``keep`` (only where ``where``
    holds of the stored row, when given): atomic, unlike a select-then-write. ``backend`` is
    :attr:`Database.backend`: the two dialects spell it alike but apart.

    ``sealed`` is ``(flag, columns)``: once the stored row's ``flag`` column is set, those columns keep their
    stored values too (a redacted interaction stays redacted whatever a late snapshot of the call says)."""
    updated = [name for name in values if name != key and name not in keep]
    statement = pg_insert(table) if backend == "postgresql" else sqlite_insert(table)
    statement = statement.values(values)
    excluded = statement.excluded

    def new_value(name: str) -> ColumnElement[Any]:
        if sealed is None or name not in sealed[1]:
            return excluded[name]
        return case((table.c[sealed[0]].is_(None), excluded[name]), else_=table.c[name])

    return statement.on_conflict_do_update(index_elements=[key], set_={n: new_value(n) for n in updated},
                                           where=where)
