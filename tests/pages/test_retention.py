"""The retention purge as the server runs it: started by the composition root, on a database holding a year and
more of calls, with the clock moved on past the retention (365 days by default). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.persistence import Database, InteractionRepository
from tests.fullapp import Cti
from tests.integration.test_erasure_store import NEEDLES, call
from tests.privacy import tables_holding
from tests.support import create_postgres_database, eventually

REAL_NOW = datetime.now(UTC)
MOVED = REAL_NOW + timedelta(days=400)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database with two calls when the server starts: one 400 days old by its clock, one 10 days old."""
    drop = None
    if request.param == "postgresql":
        url, drop = await create_postgres_database()
    else:
        url = f"sqlite+aiosqlite:///{tmp_path}/cti.db"
    async with Database(url) as db:
        await db.upgrade()
        interactions = InteractionRepository(db)
        await interactions.save(call("old", REAL_NOW, notes="Ratna's note"))
        await interactions.save(call("recent", MOVED - timedelta(days=10)))
        await interactions.save_wrap_up("old", at=REAL_NOW, disposition="resolved", notes="Ratna's note")
    yield url
    if drop is not None:
        await drop()


@pytest.fixture
def cti_clock() -> Callable[[], datetime]:
    return lambda: datetime.now(UTC) + timedelta(days=400)


async def test_the_server_purges_interactions_older_than_the_retention_when_it_starts(cti: Cti) -> None:
    assert cti.running.retention is not None and cti.running.retention.days == 365
    interactions = InteractionRepository(cti.db)

    async def purged() -> bool:
        old = await interactions.get("old")
        return old is not None and old.redacted_at is not None

    await eventually(purged, message="the old call's personal fields to be purged")
    old, recent = await interactions.get("old"), await interactions.get("recent")
    assert old is not None and recent is not None
    assert (old.caller_number, old.caller_name, old.notes, old.disposition, old.outcome, old.talk_seconds) == (
        "anonymous", None, None, "resolved", "answered", 188.0)
    assert (recent.caller_number, recent.redacted_at) == (call("recent").caller_number, None)
    # Only the recent call still holds the caller's data.
    holding = await tables_holding(cti.settings.database_url, NEEDLES)
    assert set(holding) == {"interactions.caller_number", "interactions.caller_name", "interactions.ivr",
                            "interactions.routing"}
