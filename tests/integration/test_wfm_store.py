"""WfmRepository (and the forecast's samples of InteractionRepository) against real databases: SQLite files and a
local PostgreSQL (as in test_persistence.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cti.persistence import Database, InteractionRepository, StorageError, WfmRepository
from cti.persistence._tables import METADATA
from cti.records import InteractionRecord
from cti.wfm import (
    AgentAvailability,
    BreakRule,
    InteractionSample,
    Schedule,
    ScheduleProblem,
    ShiftPattern,
    solve_schedule,
)
from tests.support import create_postgres_database

WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 4, 1, tzinfo=WIB)
WFM_TABLES = {"wfm_schedules", "wfm_shifts"}


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


def monday_schedule(day: datetime = MONDAY, agents: int = 3) -> Schedule:
    pattern = ShiftPattern("day8", 480, (420, 480), (BreakRule(60, 180, 300),))
    need = [0] * 7 + [2] * 9 + [0] * 8
    return solve_schedule(ScheduleProblem(
        start=day, interval_minutes=60, requirements={"sales": need}, patterns=(pattern,),
        agents=tuple(AgentAvailability(f"agent-{i}", frozenset({"sales"})) for i in range(agents))))


async def test_the_migration_creates_the_tables_the_models_describe(db: Database, db_url: str) -> None:
    def describe(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        return {
            "tables": set(inspector.get_table_names()),
            "shift_indexes": {tuple(i["column_names"]) for i in inspector.get_indexes("wfm_shifts")},
            "foreign_keys": [(fk["constrained_columns"], fk["referred_table"], fk["options"].get("ondelete"))
                             for fk in inspector.get_foreign_keys("wfm_shifts")],
        }

    def differences(connection: Connection) -> list[Any]:
        wfm = MetaData()
        for name in WFM_TABLES:
            METADATA.tables[name].to_metadata(wfm)
        context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                               "include_name": _only_wfm})
        return list(compare_metadata(context, wfm))

    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            schema = await connection.run_sync(describe)
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
    assert WFM_TABLES <= schema["tables"]
    assert {("schedule_id",), ("agent_id",), ("starts_at",)} <= schema["shift_indexes"]
    assert schema["foreign_keys"] == [(["schedule_id"], "wfm_schedules", "CASCADE")]


def _only_wfm(name: str | None, type_: str, parent_names: Any) -> bool:
    return type_ != "table" or name in WFM_TABLES


async def test_a_schedule_round_trips_exactly(db: Database) -> None:
    store = WfmRepository(db)
    schedule = monday_schedule()
    saved = await store.save_schedule("Monday plan", schedule)
    assert saved.summary.name == "Monday plan"
    assert (saved.summary.shifts, saved.summary.status, saved.summary.interval_minutes) == (3, "optimal", 60)
    loaded = await store.get_schedule(saved.summary.schedule_id)
    assert loaded is not None
    assert loaded.schedule == schedule
    assert loaded.summary == saved.summary
    assert loaded.summary.starts_at == MONDAY and loaded.summary.starts_at.tzinfo == UTC
    assert loaded.summary.ends_at == MONDAY + timedelta(days=1)
    assert [s.agent_id for s in loaded.schedule.shifts] == [s.agent_id for s in schedule.shifts]
    assert await store.get_schedule(saved.summary.schedule_id + 1000) is None


async def test_list_and_current_schedule(db: Database) -> None:
    store = WfmRepository(db)
    first = await store.save_schedule("first Monday", monday_schedule())
    tuesday = await store.save_schedule("Tuesday", monday_schedule(MONDAY + timedelta(days=1)))
    replan = await store.save_schedule("Monday re-plan", monday_schedule(agents=2))
    everything = await store.list_schedules()
    assert [s.name for s in everything] == ["Monday re-plan", "Tuesday", "first Monday"]
    monday = (MONDAY, MONDAY + timedelta(days=1))
    assert [s.schedule_id for s in await store.list_schedules(overlapping=monday)] == [
        replan.summary.schedule_id, first.summary.schedule_id]
    assert [s.name for s in await store.list_schedules(limit=1)] == ["Monday re-plan"]
    current = await store.current_schedule(*monday)
    assert current is not None and current.summary.schedule_id == replan.summary.schedule_id
    current_tuesday = await store.current_schedule(MONDAY + timedelta(days=1, hours=12), MONDAY + timedelta(days=2))
    assert current_tuesday is not None and current_tuesday.summary.schedule_id == tuesday.summary.schedule_id
    assert await store.current_schedule(MONDAY - timedelta(days=1), MONDAY) is None
    with pytest.raises(StorageError):
        await store.list_schedules(limit=0)
    with pytest.raises(StorageError):
        await store.save_schedule("", monday_schedule())


async def test_interactions_are_read_as_forecast_samples(db: Database) -> None:
    def record(call_id: str, queue: str, minutes: int, outcome: str | None, talk: float | None) -> InteractionRecord:
        return InteractionRecord(call_id=call_id, channel_id=f"c-{call_id}", caller_number="+6281234",
                                 service_number="1500100", queue=queue,
                                 arrived_at=MONDAY + timedelta(minutes=minutes), outcome=outcome, talk_seconds=talk)

    for r in [record("1", "sales", 10, "answered", 120.5), record("2", "sales", 20, "abandoned", None),
              record("3", "support", 30, "answered", 60.0), record("4", "sales", 60 * 24, "answered", 10.0),
              record("5", "sales", -1, "answered", 10.0), record("6", "sales", 40, None, 33.0)]:
        await InteractionRepository(db).save(r)
    samples = await InteractionRepository(db).samples("sales", MONDAY, MONDAY + timedelta(days=1))
    assert samples == [
        InteractionSample("sales", MONDAY + timedelta(minutes=10), 120.5),
        InteractionSample("sales", MONDAY + timedelta(minutes=20), None),
        InteractionSample("sales", MONDAY + timedelta(minutes=40), None),  # still in progress: no handle time
    ]
