"""Web sessions and passwords in SQL, on SQLite and PostgreSQL: only hashes stored, found with their user, touched,
ended one by one, per user (keeping one) and by time, gone with their user; a password hash and a language per
user, checked where they are stored."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from cti.persistence import Database, StorageError, UserRepository, WebSessionRepository
from cti.records import WebSessionRecord
from cti.services import session_key
from tests.api import FAST_PASSWORDS
from tests.support import migrated_database

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


def session(secret: str, *, at: datetime = T0, hours: float = 12) -> WebSessionRecord:
    return WebSessionRecord(key=session_key(secret), user_id=0, created_at=at, last_seen_at=at,
                            expires_at=at + timedelta(hours=hours), csrf_hash=session_key(f"csrf-{secret}"))


async def test_sessions_are_stored_as_hashes_found_with_their_user_and_ended(db: Database) -> None:
    users, sessions = UserRepository(db), WebSessionRepository(db)
    ana, _ = await users.create_user("ana", "agent")
    await users.create_user("sue", "supervisor")
    for secret in ("one", "two", "three"):
        await sessions.create("ana", session(secret))
    await sessions.create("sue", session("sues"))
    with pytest.raises(StorageError):
        await sessions.create("ghost", session("nobody's"))

    found = await sessions.find(session_key("one"))
    assert found is not None
    record, user = found
    assert (user.name, record.user_id, record.created_at, record.expires_at) == (
        "ana", ana.user_id, T0, T0 + timedelta(hours=12))
    assert record.csrf_hash == session_key("csrf-one")
    assert await sessions.find(session_key("never")) is None
    async with db.transaction("read raw") as raw:  # the secrets themselves are nowhere
        stored = " ".join(str(row) for row in await raw.execute(text("SELECT * FROM web_sessions")))
    assert stored.count(session_key("one")) == 1 and "csrf-" not in stored
    assert all(f"'{secret}'" not in stored for secret in ("one", "two", "three"))

    await sessions.touch(session_key("one"), T0 + timedelta(hours=1))
    found = await sessions.find(session_key("one"))
    assert found is not None and found[0].last_seen_at == T0 + timedelta(hours=1)

    assert await sessions.delete(session_key("two")) and not await sessions.delete(session_key("two"))
    assert await sessions.delete_of_user("ana", keep=session_key("one")) == 1  # "three"
    assert await sessions.find(session_key("one")) is not None
    assert await sessions.find(session_key("sues")) is not None  # another user's stay

    # By time: past the end, or unused since the idle limit.
    await sessions.create("sue", session("old", at=T0 - timedelta(hours=13)))
    assert await sessions.purge(now=T0 + timedelta(hours=2), idle_since=T0 + timedelta(minutes=30)) == 2
    assert await sessions.find(session_key("one")) is not None  # seen at T0+1h
    # A deleted user's sessions go with them.
    assert await users.delete_user("ana")
    assert await sessions.find(session_key("one")) is None


async def test_a_users_password_hash_and_language(db: Database) -> None:
    users = UserRepository(db)
    await users.create_user("ana", "agent")
    found = await users.credentials("ana")
    assert found is not None and found[1] is None and found[0].language == "id"
    stored = FAST_PASSWORDS.hash("kopi susu 2026!")
    await users.set_password("ana", stored)
    found = await users.credentials("ana")
    assert found is not None and found[1] == stored
    with pytest.raises(StorageError, match="not an argon2 hash"):
        await users.set_password("ana", "kopi susu 2026!")  # never a clear password
    with pytest.raises(StorageError):
        await users.set_password("ghost", stored)
    assert (await users.set_language("ana", "en")).language == "en"
    assert [u.language for u in await users.list_users()] == ["en"]
    with pytest.raises(StorageError):
        await users.set_language("ana", "fr")
    assert await users.credentials("ghost") is None
