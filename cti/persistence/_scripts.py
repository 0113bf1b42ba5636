"""Versioned storage of call scripts: supervisors save new versions, one version per script is active.

Saving validates first (:class:`cti.scripting.ScriptError` before the database is touched) and always adds a
version; nothing is ever overwritten, so every script an interaction was run with can be read again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cti.scripting import Script, ScriptSummary, ScriptVersion, parse_script

from ._base import utcnow
from ._database import Database
from ._errors import StorageConflict, StorageError
from ._tables import ScriptRow

__all__ = ["ScriptRepository"]

_SAVE_ATTEMPTS: Final = 10
"""Saves of one script racing on SQLite (or on a script's first version) each win one round at most."""
_AUTHOR_LENGTH: Final = 64


class ScriptRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, definition: Mapping[str, object], *, author: str, script_id: str | None = None,
                   activate: bool = True, now: datetime | None = None) -> ScriptVersion:
        """Validate and store ``definition`` as the script's next version (active unless ``activate=False``)."""
        if not author or len(author) > _AUTHOR_LENGTH:
            raise StorageError(f"cannot save script: the author must be 1 to {_AUTHOR_LENGTH} characters")
        script = parse_script(dict(definition), script_id=script_id)
        # Stored normalised: YAML's yes/no keys and the like become what JSON and the parser agree on.
        stored = script.model_dump(mode="json", exclude_defaults=True)
        created = now if now is not None else utcnow()
        for attempt in range(_SAVE_ATTEMPTS):
            try:
                async with self._db.transaction(f"save script {script.id!r}") as session:
                    await _lock(session, script.id)
                    latest = await session.scalar(
                        select(func.max(ScriptRow.version)).where(ScriptRow.script_id == script.id))
                    if activate:
                        await _deactivate(session, script.id)
                    row = ScriptRow(script_id=script.id, version=(latest or 0) + 1, definition=stored,
                                    author=author, created_at=created, active=activate)
                    session.add(row)
                    await session.flush()
                    return _version(row)
            except StorageError as exc:
                # Two first versions saved at once: there was nothing to lock, so the primary key decides.
                if not isinstance(exc.__cause__, IntegrityError):
                    raise
                if attempt == _SAVE_ATTEMPTS - 1:
                    raise StorageConflict(f"script {script.id!r} was being saved by someone else at the same "
                                          "time; try again") from exc
        raise AssertionError("unreachable")

    async def get(self, script_id: str, version: int | None = None) -> ScriptVersion | None:
        """The given version, or without one the active version; None if there is no such version."""
        query = select(ScriptRow).where(ScriptRow.script_id == script_id)
        query = query.where(ScriptRow.version == version) if version is not None else query.where(ScriptRow.active)
        async with self._db.transaction(f"read script {script_id!r}") as session:
            row = await session.scalar(query)
            return None if row is None else _version(row)

    async def latest(self, script_id: str) -> ScriptVersion | None:
        """The most recently saved version, active or not."""
        query = select(ScriptRow).where(ScriptRow.script_id == script_id).order_by(ScriptRow.version.desc()).limit(1)
        async with self._db.transaction(f"read script {script_id!r}") as session:
            row = await session.scalar(query)
            return None if row is None else _version(row)

    async def versions(self, script_id: str) -> list[ScriptVersion]:
        """Every version of the script, oldest first (empty for an unknown script)."""
        query = select(ScriptRow).where(ScriptRow.script_id == script_id).order_by(ScriptRow.version)
        async with self._db.transaction(f"list versions of script {script_id!r}") as session:
            return [_version(row) for row in await session.scalars(query)]

    async def list_scripts(self) -> list[ScriptSummary]:
        """One line per script, ordered by id."""
        query = select(ScriptRow).order_by(ScriptRow.script_id, ScriptRow.version)
        async with self._db.transaction("list scripts") as session:
            rows = list(await session.scalars(query))
        by_id: dict[str, list[ScriptRow]] = {}
        for row in rows:
            by_id.setdefault(row.script_id, []).append(row)
        summaries = []
        for script_id, versions in by_id.items():
            active = next((row for row in versions if row.active), None)
            shown = active or versions[-1]
            summaries.append(ScriptSummary(script_id=script_id, title=dict(shown.definition.get("title", {})),
                                           latest_version=versions[-1].version,
                                           active_version=None if active is None else active.version))
        return summaries

    async def activate(self, script_id: str, version: int) -> ScriptVersion | None:
        """Make ``version`` the one calls get (the others of the script stop being active); None if unknown."""
        async with self._db.transaction(f"activate version {version} of script {script_id!r}") as session:
            await _lock(session, script_id)
            row = await session.get(ScriptRow, (script_id, version))
            if row is None:
                return None
            await _deactivate(session, script_id)
            row.active = True
            await session.flush()
            return _version(row)

    async def active_scripts(self) -> tuple[Script, ...]:
        """The active version of every script, parsed: what :func:`cti.scripting.select_script` chooses from."""
        query = select(ScriptRow).where(ScriptRow.active).order_by(ScriptRow.script_id)
        async with self._db.transaction("read active scripts") as session:
            rows = list(await session.scalars(query))
        return tuple(_version(row).script() for row in rows)

    async def install(self, scripts: Iterable[Script], *, author: str = "cti",
                      now: datetime | None = None) -> list[str]:
        """Save, as version 1, each script that has no version yet (the defaults on a new database).

        Returns the ids installed; scripts a supervisor already has are left alone.
        """
        installed = []
        for script in scripts:
            if await self.latest(script.id) is not None:
                continue
            try:
                await self.save(script.model_dump(mode="json", exclude_defaults=True), author=author, now=now)
            except StorageConflict:
                continue  # another process installed it at the same moment
            installed.append(script.id)
        return installed


async def _lock(session: AsyncSession, script_id: str) -> None:
    # Serialises saves and activations of one script on PostgreSQL; SQLite has one writer anyway.
    await session.execute(select(ScriptRow.version).where(ScriptRow.script_id == script_id).with_for_update())


async def _deactivate(session: AsyncSession, script_id: str) -> None:
    await session.execute(update(ScriptRow).where(ScriptRow.script_id == script_id, ScriptRow.active)
                          .values(active=False))


def _version(row: ScriptRow) -> ScriptVersion:
    return ScriptVersion(script_id=row.script_id, version=row.version, definition=row.definition,
                         author=row.author, created_at=row.created_at, active=row.active)
