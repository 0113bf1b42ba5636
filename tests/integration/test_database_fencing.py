"""Fencing in the database: once a newer controller claimed it, an older term's writes are refused whole, on SQLite
and PostgreSQL; reads go on, a process that claimed nothing is not fenced, and on PostgreSQL a claim waits for the
older term's write already under way (which is kept) instead of cutting it off halfway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from cti.persistence import Database, DeadLetterRepository, StorageFenced
from tests.support import migrated_database


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database._url.render_as_string(hide_password=False)


async def _rows(db: Database) -> list[tuple[str, str]]:
    async with db.transaction("read the test rows") as session:
        return [(r[0], r[1]) for r in await session.execute(text("SELECT holder, kind FROM fence_probe ORDER BY n"))]


async def _write(db: Database, holder: str, kind: str) -> None:
    async with db.transaction("write a test row") as session:
        await session.execute(text("INSERT INTO fence_probe (holder, kind) VALUES (:h, :k)"), {"h": holder, "k": kind})
        await session.execute(text("UPDATE fence_probe SET kind = kind WHERE holder = :h"), {"h": holder})


async def _probe_table(db: Database) -> None:
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if db.backend == "sqlite" else "SERIAL PRIMARY KEY"
    async with db.transaction("make the test table") as session:
        await session.execute(text(f"CREATE TABLE fence_probe (n {key}, holder TEXT, kind TEXT)"))


async def test_a_newer_term_refuses_the_older_one_s_writes_and_never_the_other_way(url: str) -> None:
    old, new, bystander = Database(url), Database(url), Database(url)
    for db in (old, new, bystander):
        await db.start()
    try:
        await _probe_table(old)
        await old.claim_term(1796599449649, "host-a:1:aa")
        await _write(old, "a", "first term")
        await new.claim_term(1796599449650, "host-b:2:bb")
        with pytest.raises(StorageFenced, match="term 1796599449649 is over: term 1796599449650 leads now"):
            await _write(old, "a", "after the new term began")
        await _write(new, "b", "second term")
        await _write(bystander, "c", "claimed nothing")  # a tool, a front end: not a controller's term
        # Reads are not fenced: the old process may still read what it needs on its way out.
        assert await _rows(old) == [("a", "first term"), ("b", "second term"), ("c", "claimed nothing")]
        # The old term can never claim again, nor an equal one, nor a process that never wrote with it.
        for claimant in (old, bystander):
            for token in (1796599449649, 1796599449650):
                with pytest.raises(StorageFenced, match="term 1796599449650"):
                    await claimant.claim_term(token, "host-a:1:aa")
        async with new.transaction("read the term") as session:
            row = (await session.execute(text("SELECT token, holder FROM controller_terms"))).one()
        assert (row[0], row[1]) == (1796599449650, "host-b:2:bb")
        assert (old.term, new.term, bystander.term) == (1796599449649, 1796599449650, None)
        # A repository's write is fenced like any other, and nothing of it is kept.
        with pytest.raises(StorageFenced):
            await DeadLetterRepository(old).add("webhook", "k1", {"x": 1}, "refused")
        assert await DeadLetterRepository(new).list() == []
    finally:
        for db in (old, new, bystander):
            await db.close()


@pytest.mark.parametrize("url", ["postgresql"], indirect=True)
async def test_on_postgresql_a_claim_waits_for_the_older_term_s_write_under_way(url: str) -> None:
    old, new = Database(url), Database(url)
    for db in (old, new):
        await db.start()
    try:
        await _probe_table(old)
        await old.claim_term(10, "host-a")
        inside, release = asyncio.Event(), asyncio.Event()

        async def slow_write() -> None:
            async with old.transaction("a slow write") as session:
                await session.execute(text("INSERT INTO fence_probe (holder, kind) VALUES ('a', 'under way')"))
                inside.set()
                await release.wait()

        writing = asyncio.create_task(slow_write())
        await inside.wait()  # the old term's write holds its shared lock on the term's row
        claiming = asyncio.create_task(new.claim_term(11, "host-b"))
        await asyncio.sleep(0.5)
        assert not claiming.done()  # the claim waits for it
        release.set()
        await writing
        await claiming
        assert await _rows(new) == [("a", "under way")]
        with pytest.raises(StorageFenced):
            await _write(old, "a", "too late")
    finally:
        for db in (old, new):
            await db.close()
