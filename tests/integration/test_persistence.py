"""cti.persistence (the database, users, interactions, agents) against real databases: SQLite files and a
local PostgreSQL.

PostgreSQL is taken from CTI_TEST_POSTGRES_URL (default: trust auth on 127.0.0.1:5432, database
``test``); each test gets a scratch database created next to it and dropped afterwards. Without a
reachable server the PostgreSQL cases skip, except under CI where they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Row, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cti.persistence import (
    AgentRepository,
    Database,
    InteractionRepository,
    StorageError,
    StorageRejected,
    UserRepository,
)
from cti.persistence._database import alembic_config
from cti.persistence._tables import METADATA
from cti.records import AgentRecord, AgentStateRecord, InteractionRecord, UserRecord
from tests.support import create_postgres_database

CTI_TABLES = {"interactions", "agents", "users", "agent_state_history"}

T0 = datetime(2024, 5, 17, 9, 30, 0, 123456, tzinfo=UTC)


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL naming an empty database of each backend."""
    if request.param == "sqlite":
        # A missing parent directory on purpose: Database must create it.
        yield f"sqlite+aiosqlite:///{tmp_path}/var/cti.db"
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


@pytest.fixture
def users(db: Database) -> UserRepository:
    return UserRepository(db)


@pytest.fixture
def agents(db: Database) -> AgentRepository:
    return AgentRepository(db)


@pytest.fixture
def interactions(db: Database) -> InteractionRepository:
    return InteractionRepository(db)


async def raw_rows(url: str, sql: str, **params: Any) -> Sequence[Row[Any]]:
    """Read behind Database's back, to see what is really stored."""
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).all()
    finally:
        await engine.dispose()


def interaction(call_id: str = "call-1", **changes: Any) -> InteractionRecord:
    values: dict[str, Any] = {
        "call_id": call_id,
        "channel_id": f"chan-{call_id}",
        "caller_number": "+33123456789",
        "caller_name": "Ada Lovelace",
        "service_number": "1500100",
        "queue": "general",
        "arrived_at": T0,
    }
    values.update(changes)
    return InteractionRecord(**values)


# -- schema --------------------------------------------------------------------------------------


async def test_upgrade_is_idempotent_and_creates_the_tables(db_url: str) -> None:
    for _ in range(2):
        # A new instance each time, as after a restart.
        async with Database(db_url) as database:
            await database.upgrade()
            await database.upgrade()

    def describe(connection: Connection) -> dict[str, Any]:
        inspector = inspect(connection)
        return {
            "tables": set(inspector.get_table_names()),
            "interaction_indexes": {tuple(index["column_names"]) for index in inspector.get_indexes("interactions")},
            "state_indexes": {tuple(index["column_names"]) for index in inspector.get_indexes("agent_state_history")},
            "user_columns": {column["name"] for column in inspector.get_columns("users")},
        }

    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            schema = await connection.run_sync(describe)
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()

    assert CTI_TABLES | {"alembic_version"} <= schema["tables"]
    assert schema["tables"] - {"alembic_version"} == set(METADATA.tables)
    assert {("arrived_at",), ("agent_id",), ("queue",)} <= schema["interaction_indexes"]
    assert {("agent_id",), ("at",)} <= schema["state_indexes"]
    assert "token_hash" in schema["user_columns"]
    assert "token" not in schema["user_columns"]
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert [tuple(row) for row in versions] == [(head,)]


async def test_models_match_the_migrations(db: Database, db_url: str) -> None:
    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, METADATA))

    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


# -- interactions --------------------------------------------------------------------------------


async def test_interaction_insert_then_update_round_trips_exactly(
    db_url: str, interactions: InteractionRepository
) -> None:
    paris = timezone(timedelta(hours=2))
    arrived = datetime(2024, 5, 17, 11, 30, 0, 123456, tzinfo=paris)  # == T0, written in another zone
    ringing = interaction(arrived_at=arrived, offered_at=T0 + timedelta(seconds=2), offers=1)
    await interactions.save(ringing)

    stored = await interactions.get("call-1")
    assert stored == ringing
    assert stored is not None
    assert stored.arrived_at == T0
    assert stored.arrived_at.utcoffset() == timedelta(0)
    assert stored.offered_at is not None
    assert stored.offered_at.tzinfo is UTC
    assert stored.outcome is None

    ended = interaction(
        arrived_at=T0,
        offered_at=T0 + timedelta(seconds=2),
        answered_at=T0 + timedelta(seconds=7, microseconds=654321),
        ended_at=T0 + timedelta(minutes=3, microseconds=1),
        agent_id="agent-7",
        agent_extension="7007",
        wait_seconds=7.530865,
        talk_seconds=172.345_678_901_234_5,
        offers=2,
        outcome="answered",
        end_reason="agent_hangup",
        caller_name=None,
    )
    await interactions.save(ended)

    stored = await interactions.get("call-1")
    assert stored == ended
    assert stored is not None
    assert stored.talk_seconds == 172.345_678_901_234_5
    assert stored.ended_at == T0 + timedelta(minutes=3, microseconds=1)
    assert all(
        value.tzinfo is UTC
        for value in (stored.arrived_at, stored.offered_at, stored.answered_at, stored.ended_at)
        if value is not None
    )

    rows = await raw_rows(db_url, "SELECT call_id FROM interactions")
    assert len(rows) == 1
    assert await interactions.get("no-such-call") is None


async def test_agent_profile_and_call_routing_round_trip_as_json(
    agents: AgentRepository, interactions: InteractionRepository
) -> None:
    profile = {"skills": {"billing": 7, "care": 3}, "languages": ["en", "id"], "region": "surabaya",
               "site": "sby-1", "team": "east"}
    await agents.upsert(AgentRecord("dewi", "Dewi", profile))
    assert await agents.get("dewi") == AgentRecord("dewi", "Dewi", profile)
    await agents.upsert(AgentRecord("dewi", "Dewi L.", None))
    assert await agents.list() == [AgentRecord("dewi", "Dewi L.", None)]

    routing = {"route": "vip", "priority": 10, "region": "jakarta",
               "decisions": [{"kind": "offered", "winner": "dewi", "candidates": ["dewi", "eko"], "step": 1}]}
    await interactions.save(interaction("call-r", routing=routing))
    stored = await interactions.get("call-r")
    assert stored is not None and stored.routing == routing


async def test_list_interactions_is_newest_first_and_filters(interactions: InteractionRepository) -> None:
    calls = [
        interaction("a", arrived_at=T0, agent_id="agent-1", queue="general"),
        interaction("b", arrived_at=T0 + timedelta(minutes=1), agent_id="agent-2", queue="general"),
        interaction("c", arrived_at=T0 + timedelta(minutes=2), agent_id="agent-1", queue="vip"),
        interaction("d", arrived_at=T0 + timedelta(minutes=3), queue="vip"),
        interaction("e", arrived_at=T0 - timedelta(days=1), agent_id="agent-1", queue="general"),
    ]
    for call in calls:
        await interactions.save(call)

    def ids(records: list[InteractionRecord]) -> list[str]:
        return [record.call_id for record in records]

    assert ids(await interactions.list()) == ["d", "c", "b", "a", "e"]
    assert ids(await interactions.list(limit=2)) == ["d", "c"]
    assert ids(await interactions.list(agent_id="agent-1")) == ["c", "a", "e"]
    assert ids(await interactions.list(queue="vip")) == ["d", "c"]
    assert ids(await interactions.list(agent_id="agent-1", queue="general")) == ["a", "e"]
    assert await interactions.list(agent_id="nobody") == []
    with pytest.raises(StorageError):
        await interactions.list(limit=0)


async def test_naive_datetimes_are_rejected(agents: AgentRepository, interactions: InteractionRepository) -> None:
    naive = datetime(2024, 5, 17, 9, 30)
    with pytest.raises(StorageError, match="naive"):
        await interactions.save(interaction(arrived_at=naive))
    with pytest.raises(StorageError, match="naive"):
        await interactions.save(interaction(ended_at=naive))
    with pytest.raises(StorageError, match="naive"):
        await agents.record_state(AgentStateRecord("agent-1", "ready", None, None, naive))
    assert await interactions.list() == []
    assert await agents.history("agent-1") == []


async def test_values_too_long_for_their_column_are_rejected_on_every_backend(
    interactions: InteractionRepository
) -> None:
    with pytest.raises(StorageError, match="outcome"):
        await interactions.save(interaction(outcome="x" * 17))
    assert await interactions.get("call-1") is None


# -- agents --------------------------------------------------------------------------------------


async def test_agents_upsert_get_and_list(agents: AgentRepository) -> None:
    await agents.upsert(AgentRecord("agent-2", "Grace"))
    await agents.upsert(AgentRecord("agent-1", "Alan"))
    await agents.upsert(AgentRecord("agent-2", "Grace Hopper"))

    assert await agents.get("agent-2") == AgentRecord("agent-2", "Grace Hopper")
    assert await agents.get("agent-3") is None
    assert await agents.list() == [AgentRecord("agent-1", "Alan"), AgentRecord("agent-2", "Grace Hopper")]


# -- users and tokens ----------------------------------------------------------------------------


async def test_create_user_and_look_up_its_token(db_url: str, users: UserRepository, agents: AgentRepository) -> None:
    await agents.upsert(AgentRecord("agent-1", "Alan"))
    user, token = await users.create_user("alan", "agent", agent_id="agent-1", expires_at=T0)
    assert user == UserRecord(user.user_id, "alan", "agent", "agent-1", False, token_issued_at=user.token_issued_at,
                              token_expires_at=T0)
    assert user.token_issued_at is not None
    assert len(token) >= 32

    assert await users.user_for_token(token) == user
    assert await users.user_for_token(token + "x") is None
    assert await users.user_for_token("") is None

    rows = await raw_rows(db_url, "SELECT token_hash FROM users WHERE name = :name", name="alan")
    (token_hash,) = rows[0]
    assert token_hash != token
    assert len(token_hash) == 64
    assert token not in {str(value) for row in await raw_rows(db_url, "SELECT * FROM users") for value in row}

    other, other_token = await users.create_user("boss", "supervisor")
    assert other_token != token
    assert await users.user_for_token(other_token) == other
    assert await users.list_users() == [user, other]


async def test_disabled_users_tokens_stop_working(users: UserRepository) -> None:
    user, token = await users.create_user("alan", "agent")
    disabled = await users.set_user_disabled("alan")
    assert disabled == replace(user, disabled=True)
    assert await users.user_for_token(token) is None
    assert await users.list_users() == [disabled]

    await users.set_user_disabled("alan", False)
    assert await users.user_for_token(token) == user
    with pytest.raises(StorageError, match="no such user"):
        await users.set_user_disabled("nobody")


async def test_create_user_refuses_bad_input(users: UserRepository) -> None:
    await users.create_user("alan", "agent")
    with pytest.raises(StorageError, match="already taken"):
        await users.create_user("alan", "supervisor")
    with pytest.raises(StorageError, match="role"):
        await users.create_user("root", "superuser")
    with pytest.raises(StorageError, match="unknown agent_id"):
        await users.create_user("grace", "agent", agent_id="agent-404")
    assert [user.name for user in await users.list_users()] == ["alan"]


async def test_ensure_user_token_is_idempotent_and_replaces_the_token(
    users: UserRepository, agents: AgentRepository
) -> None:
    first = await users.ensure_user_token("admin", "admin", "bootstrap-token-1")
    again = await users.ensure_user_token("admin", "admin", "bootstrap-token-1")
    assert again == first
    assert await users.list_users() == [first]
    assert await users.user_for_token("bootstrap-token-1") == first

    await agents.upsert(AgentRecord("agent-1", "Alan"))
    changed = await users.ensure_user_token("admin", "supervisor", "bootstrap-token-2", agent_id="agent-1")
    assert changed == replace(first, role="supervisor", agent_id="agent-1", token_issued_at=changed.token_issued_at)
    assert first.token_issued_at is not None and changed.token_issued_at is not None
    assert changed.token_issued_at > first.token_issued_at  # a new token: sockets opened with the old one close
    assert await users.user_for_token("bootstrap-token-1") is None
    assert await users.user_for_token("bootstrap-token-2") == changed
    assert len(await users.list_users()) == 1

    # One token, one user: the hash is unique.
    with pytest.raises(StorageError, match="already in use"):
        await users.ensure_user_token("intruder", "admin", "bootstrap-token-2")
    with pytest.raises(StorageError, match="empty"):
        await users.ensure_user_token("admin", "admin", "")


async def test_a_rotated_token_replaces_the_old_one_at_once(db_url: str, users: UserRepository) -> None:
    user, old = await users.create_user("alan", "agent", expires_at=T0)
    rotated, new = await users.rotate_token("alan", expires_at=T0 + timedelta(days=30))
    assert new != old and len(new) >= 32
    assert await users.user_for_token(old) is None
    assert await users.user_for_token(new) == rotated
    assert rotated == replace(user, token_issued_at=rotated.token_issued_at, token_expires_at=T0 + timedelta(days=30))
    assert user.token_issued_at is not None and rotated.token_issued_at is not None
    assert rotated.token_issued_at > user.token_issued_at
    stored = {str(value) for row in await raw_rows(db_url, "SELECT * FROM users") for value in row}
    assert new not in stored and old not in stored
    with pytest.raises(StorageError, match="no such user"):
        await users.rotate_token("nobody", expires_at=T0)


async def test_a_deleted_user_and_token_are_gone(users: UserRepository) -> None:
    _, token = await users.create_user("alan", "agent")
    other, _ = await users.create_user("boss", "supervisor")
    assert await users.delete_user("alan") is True
    assert await users.user_for_token(token) is None
    assert await users.user_named("alan") is None
    assert await users.list_users() == [other]
    assert await users.delete_user("alan") is False
    assert await users.user_named("boss") == other


async def test_tokens_without_an_expiry_get_one_except_the_kept_user(users: UserRepository) -> None:
    await users.ensure_user_token("admin", "admin", "bootstrap-token-1")
    await users.create_user("alan", "agent")  # as before tokens expired
    await users.create_user("boss", "supervisor", expires_at=T0)
    assert await users.bound_token_lifetimes(T0 + timedelta(days=30), keep="admin") == 1
    assert {u.name: u.token_expires_at for u in await users.list_users()} == {
        "admin": None, "alan": T0 + timedelta(days=30), "boss": T0}
    assert await users.bound_token_lifetimes(T0 + timedelta(days=60), keep="admin") == 0


async def test_the_migration_gives_existing_tokens_their_issue_time(db_url: str) -> None:
    """Users created before revision 0009 keep working: issued when created, no expiry until the server sets it."""
    async with Database(db_url) as database:
        await database.upgrade()
    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(lambda sync: _alembic(sync, "downgrade", "0006"))
            await connection.execute(text(
                "INSERT INTO users (name, role, token_hash, created_at, disabled) "
                "VALUES ('old', 'agent', :hash, :at, false)"), {"hash": "a" * 64, "at": T0})
            await connection.run_sync(lambda sync: _alembic(sync, "upgrade", "head"))
    finally:
        await engine.dispose()
    async with Database(db_url) as database:
        (user,) = await UserRepository(database).list_users()
    assert (user.name, user.token_issued_at, user.token_expires_at) == ("old", T0, None)


def _alembic(connection: Connection, action: str, revision: str) -> None:
    from alembic import command

    getattr(command, action)(alembic_config(connection), revision)


# -- agent state history -------------------------------------------------------------------------


async def test_agent_state_history_is_oldest_first(agents: AgentRepository) -> None:
    changes = [
        AgentStateRecord("agent-1", "ready", None, "7001", T0 + timedelta(minutes=5)),
        AgentStateRecord("agent-1", "logged_in", None, "7001", T0),
        AgentStateRecord("agent-1", "paused", "lunch", "7001", T0 + timedelta(minutes=30)),
        AgentStateRecord("agent-2", "ready", None, "7002", T0 + timedelta(minutes=1)),
        AgentStateRecord("agent-1", "logged_out", None, None, T0 + timedelta(hours=1)),
    ]
    for change in changes:
        await agents.record_state(change)

    history = await agents.history("agent-1")
    assert [change.state for change in history] == ["logged_in", "ready", "paused", "logged_out"]
    assert history[2] == changes[2]
    assert all(change.at.tzinfo is UTC for change in history)

    latest = await agents.history("agent-1", limit=2)
    assert [change.state for change in latest] == ["paused", "logged_out"]
    assert await agents.history("agent-2") == [changes[3]]
    assert await agents.history("agent-9") == []


# -- failures and lifecycle ----------------------------------------------------------------------


async def test_unreachable_database_raises_storage_error_with_masked_url() -> None:
    database = Database("postgresql+asyncpg://postgres:s3cret@127.0.0.1:1/test", connect_timeout=5)
    assert "s3cret" not in database.url
    for attempt in (database.start, database.upgrade):
        with pytest.raises(StorageError) as caught:
            await attempt()
        message = str(caught.value)
        assert "127.0.0.1:1" in message
        assert "s3cret" not in message
        assert caught.value.__cause__ is not None
    assert not await database.ping()
    with pytest.raises(StorageError, match="not started"):
        await AgentRepository(database).list()
    await database.close()


async def test_unusable_sqlite_path_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="cannot"):
        await Database(f"sqlite+aiosqlite:///{blocker}/cti.db").upgrade()


async def test_bad_urls_raise_storage_error() -> None:
    with pytest.raises(StorageError, match="unsupported"):
        Database("mysql+aiomysql://root:pw@localhost/cti")
    with pytest.raises(StorageError, match="invalid"):
        Database("not a url")


async def test_ping_and_close(db: Database) -> None:
    assert await db.ping()
    await db.close()
    assert not await db.ping()
    await db.close()


async def test_in_memory_sqlite_keeps_one_database() -> None:
    async with Database("sqlite://") as database:
        assert database.backend == "sqlite"
        await database.upgrade()
        await AgentRepository(database).upsert(AgentRecord("agent-1", "Alan"))
        assert await AgentRepository(database).list() == [AgentRecord("agent-1", "Alan")]


async def test_wrap_up_is_saved_and_survives_later_saves_of_the_call(interactions: InteractionRepository) -> None:
    await interactions.save(interaction(outcome="answered", customer_id="C-1", ivr={"path": ["lang", "menu"]}))
    saved = await interactions.save_wrap_up(
        "call-1", at=T0 + timedelta(minutes=3), disposition="resolved", notes="<b>asked</b> about 'bill'",
        script_answers={"identity_ok": True, "topic": "billing"}, crosssell={"offered": ["SKU-1"], "accepted": []},
        follow_up={"due": "2024-05-20", "task": "call back"})
    # The call handling saves the call again (a late state change): the agent's wrap-up stays.
    await interactions.save(interaction(outcome="answered", customer_id="C-1", ivr={"path": ["lang", "menu"]},
                                          end_reason="agent_hangup"))
    stored = await interactions.get("call-1")
    assert stored is not None and saved.disposition == "resolved"
    assert (stored.disposition, stored.notes, stored.script_answers, stored.crosssell, stored.follow_up,
            stored.wrapped_up_at, stored.end_reason, stored.customer_id, stored.ivr) == (
        "resolved", "<b>asked</b> about 'bill'", {"identity_ok": True, "topic": "billing"},
        {"offered": ["SKU-1"], "accepted": []}, {"due": "2024-05-20", "task": "call back"},
        T0 + timedelta(minutes=3), "agent_hangup", "C-1", {"path": ["lang", "menu"]})
    with pytest.raises(StorageError, match="no such interaction"):
        await interactions.save_wrap_up("nope", at=T0, disposition="resolved")


async def test_the_journal_s_batch_saves_every_call_in_one_transaction_or_none(
        interactions: InteractionRepository, agents: AgentRepository) -> None:
    await interactions.save(interaction("call-1", outcome=None))
    await interactions.save_wrap_up("call-1", at=T0 + timedelta(minutes=3), disposition="resolved", notes="ok")
    batch = [interaction("call-1", outcome="answered", talk_seconds=42.0),
             interaction("call-2", outcome="abandoned", caller_name="Dewi"), interaction("call-3")]
    await interactions.save_many(batch)
    stored = {r.call_id: r for r in await interactions.list(limit=10)}
    assert sorted(stored) == ["call-1", "call-2", "call-3"]
    # The later snapshot replaced the row, and the agent's wrap-up stayed, as with one save.
    assert (stored["call-1"].outcome, stored["call-1"].talk_seconds, stored["call-1"].disposition,
            stored["call-1"].notes) == ("answered", 42.0, "resolved", "ok")
    assert stored["call-2"] == batch[1]
    # A refused record keeps none of its batch: the journal then saves them one by one.
    with pytest.raises(StorageRejected):
        await interactions.save_many([interaction("call-4"), interaction("call-5", caller_name="N" * 300)])
    assert await interactions.get("call-4") is None
    await agents.record_states([AgentStateRecord("ana", "ready", None, "7001", T0),
                                AgentStateRecord("ana", "busy", None, "7001", T0 + timedelta(seconds=5))])
    assert [s.state for s in await agents.history("ana")] == ["ready", "busy"]


async def test_supervisor_scope_round_trips(users: UserRepository) -> None:
    await users.create_user("sue", "supervisor")
    user = await users.set_user_scope("sue", {"queues": ["sales"], "teams": ["jakarta"]})
    assert user.scope == {"queues": ["sales"], "teams": ["jakarta"]}
    assert [u.scope for u in await users.list_users() if u.name == "sue"] == [
        {"queues": ["sales"], "teams": ["jakarta"]}]
    assert (await users.set_user_scope("sue", None)).scope is None
    with pytest.raises(StorageError, match="no such user"):
        await users.set_user_scope("nobody", None)


async def test_period_reads_for_reports(agents: AgentRepository, interactions: InteractionRepository) -> None:
    for call_id, arrived, ended, queue in (
        ("before", T0 - timedelta(hours=3), T0 - timedelta(hours=2), "care"),  # long over: not in the period
        ("edge", T0 - timedelta(minutes=10), T0 - timedelta(minutes=5), "care"),  # its wrap-up may reach in
        ("inside", T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), "care"),
        ("other", T0 + timedelta(minutes=2), T0 + timedelta(minutes=3), "sales"),
        ("live", T0 + timedelta(minutes=20), None, "care"),
        ("after", T0 + timedelta(hours=2), T0 + timedelta(hours=2, minutes=1), "care"),
    ):
        await interactions.save(interaction(call_id, queue=queue, arrived_at=arrived, ended_at=ended))
    period = (T0, T0 + timedelta(hours=1))
    assert [r.call_id for r in await interactions.between(*period)] == ["edge", "inside", "other", "live"]
    assert [r.call_id for r in await interactions.between(*period, queues=["sales"])] == ["other"]

    for record in (
        AgentStateRecord("a1", "ready", None, "7001", T0 - timedelta(hours=2)),
        AgentStateRecord("a1", "not_ready", "lunch", "7001", T0 - timedelta(minutes=30)),  # a1's state at T0
        AgentStateRecord("a1", "ready", None, "7001", T0 + timedelta(minutes=10)),
        AgentStateRecord("a2", "ready", None, "7002", T0 + timedelta(minutes=50)),
        AgentStateRecord("a2", "logged_out", None, None, T0 + timedelta(hours=1)),  # at the end: excluded
    ):
        await agents.record_state(record)
    states = await agents.states_between(*period)
    assert [(s.agent_id, s.state, s.at - T0) for s in states] == [
        ("a1", "not_ready", timedelta(minutes=-30)), ("a1", "ready", timedelta(minutes=10)),
        ("a2", "ready", timedelta(minutes=50))]
