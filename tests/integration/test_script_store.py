"""The versioned script store (ScriptRepository) on real SQLite and PostgreSQL databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cti.persistence import Database, ScriptRepository, StorageError
from cti.persistence._tables import METADATA
from cti.scripting import ScriptError, ScriptSummary, load_script_file
from tests.support import create_postgres_database

T0 = datetime(2026, 5, 18, 2, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/cti.db"
        return
    url, drop = await create_postgres_database()  # fails, never skips, when CI is set
    try:
        yield url
    finally:
        await drop()


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    try:
        yield database
    finally:
        await database.close()


def definition(greeting: str = "Halo", **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "welcome",
        "title": {"id": "Sambutan", "en": "Welcome"},
        "steps": [
            {"id": "hello", "text": {"id": f"{greeting} {{{{ customer.name }}}}", "en": "Hello {{ customer.name }}"}},
            {"id": "ok", "text": {"id": "Sudah?", "en": "Done?"}, "question": {"kind": "yes_no"},
             "branches": {True: "bye"}},
            {"id": "bye", "text": {"id": "Sampai jumpa", "en": "Goodbye"}},
        ],
    }
    data.update(changes)
    return data


async def test_the_table_matches_its_model(db: Database, db_url: str) -> None:
    def describe(connection: Connection) -> tuple[list[str], list[Any]]:
        columns = [column["name"] for column in inspect(connection).get_columns("scripts")]
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            # Other domains' tables are being migrated by their own revisions; only ours is checked here.
            "include_object": lambda obj, name, type_, reflected, compare_to: (
                name == "scripts" if type_ == "table" else getattr(obj, "table", None) is None
                or obj.table.name == "scripts"),
        })
        return columns, list(compare_metadata(context, METADATA))

    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            columns, differences = await connection.run_sync(describe)
    finally:
        await engine.dispose()
    assert columns == ["script_id", "version", "definition", "author", "created_at", "active"]
    assert differences == []


async def test_saving_adds_versions_and_never_overwrites(db: Database) -> None:
    store = ScriptRepository(db)
    first = await store.save(definition("Halo"), author="sari", now=T0)
    second = await store.save(definition("Selamat pagi"), author="andi", now=T0 + timedelta(minutes=5))
    assert (first.version, first.active, first.author, first.created_at) == (1, True, "sari", T0)
    assert (second.version, second.active, second.author) == (2, True, "andi")
    assert second.created_at == T0 + timedelta(minutes=5) and second.created_at.tzinfo is UTC

    versions = await store.versions("welcome")
    assert [(v.version, v.active, v.author) for v in versions] == [(1, False, "sari"), (2, True, "andi")]
    assert versions[0].definition["steps"][0]["text"]["id"] == "Halo {{ customer.name }}"
    assert versions[1].definition["steps"][0]["text"]["id"] == "Selamat pagi {{ customer.name }}"
    # Stored normalised: the YAML-style boolean branch key became the answer it stands for.
    assert versions[1].definition["steps"][1] == {
        "id": "ok", "text": {"id": "Sudah?", "en": "Done?"}, "question": {"kind": "yes_no"},
        "branches": {"yes": "bye"}}
    assert versions[1].script().step("ok").branches == {"yes": "bye"}


async def test_get_latest_and_activate(db: Database) -> None:
    store = ScriptRepository(db)
    for greeting in ("Halo", "Hai"):
        await store.save(definition(greeting), author="sari", now=T0)
    draft = await store.save(definition("Permisi"), author="sari", activate=False, now=T0)
    assert (draft.version, draft.active) == (3, False)

    active = await store.get("welcome")
    latest = await store.latest("welcome")
    assert active is not None and latest is not None
    assert (active.version, latest.version) == (2, 3)
    one = await store.get("welcome", 1)
    assert one is not None and (one.version, one.active) == (1, False)
    assert await store.get("welcome", 9) is None
    assert await store.get("nothing") is None
    assert await store.latest("nothing") is None
    assert await store.versions("nothing") == []

    activated = await store.activate("welcome", 1)
    assert activated is not None and (activated.version, activated.active) == (1, True)
    assert [(v.version, v.active) for v in await store.versions("welcome")] == [(1, True), (2, False), (3, False)]
    assert await store.activate("welcome", 7) is None
    assert await store.activate("nothing", 1) is None
    assert [(v.version, v.active) for v in await store.versions("welcome")] == [(1, True), (2, False), (3, False)]


async def test_invalid_definitions_are_refused_before_saving(db: Database) -> None:
    store = ScriptRepository(db)
    broken = definition()
    broken["steps"][1]["branches"] = {"yes": "nowhere"}
    with pytest.raises(ScriptError) as info:
        await store.save(broken, author="sari")
    assert [str(p) for p in info.value.problems] == ["steps.ok.branches.yes: unknown next step 'nowhere'"]
    with pytest.raises(ScriptError, match="the definition says 'welcome', not 'other'"):
        await store.save(definition(), author="sari", script_id="other")
    with pytest.raises(StorageError, match="the author must be 1 to 64 characters"):
        await store.save(definition(), author="x" * 65)
    assert await store.versions("welcome") == []


async def test_listing_and_the_active_set(db: Database) -> None:
    store = ScriptRepository(db)
    await store.save(definition(), author="sari", now=T0)
    await store.save(definition(id="closing", title={"id": "Penutup", "en": "Closing"}), author="sari",
                     activate=False, now=T0)
    assert await store.list_scripts() == [
        ScriptSummary("closing", {"id": "Penutup", "en": "Closing"}, latest_version=1, active_version=None),
        ScriptSummary("welcome", {"id": "Sambutan", "en": "Welcome"}, latest_version=1, active_version=1),
    ]
    assert [s.id for s in await store.active_scripts()] == ["welcome"]


async def test_installing_the_defaults_once(db: Database) -> None:
    store = ScriptRepository(db)
    await store.save(definition(id="general", title={"id": "Milik supervisor", "en": "Supervisor's own"}),
                     author="sari", now=T0)
    defaults = load_script_file()
    installed = await store.install(defaults, now=T0)
    assert installed == ["vip", "technical", "order_status", "billing", "billing_due", "sales", "promotion"]
    assert await store.install(defaults, now=T0) == []
    general = await store.get("general")
    assert general is not None and (general.author, general.version) == ("sari", 1)  # left alone
    active = {s.id: s for s in await store.active_scripts()}
    assert sorted(active) == sorted(s.id for s in defaults)
    assert active["technical"] == next(s for s in defaults if s.id == "technical")


async def test_concurrent_saves_get_distinct_versions(db: Database) -> None:
    store = ScriptRepository(db)
    await store.save(definition(), author="sari", now=T0)
    saved = await asyncio.gather(*(store.save(definition(f"Halo {i}"), author=f"agent{i}", now=T0)
                                   for i in range(5)))
    assert sorted(v.version for v in saved) == [2, 3, 4, 5, 6]
    versions = await store.versions("welcome")
    assert [v.version for v in versions] == [1, 2, 3, 4, 5, 6]
    assert sum(v.active for v in versions) == 1
