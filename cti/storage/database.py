"""The :class:`Database` facade: the only way the rest of cti reads or writes persistent data.

One instance per process, created and started by whoever owns the application's lifetime (no
module-level engine: tests and tools need several side by side). Every method returns plain
records and raises only :class:`StorageError`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import fields
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Connection, Executable, String, Table, event, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from cti.records import ROLES, WRAP_UP_FIELDS, AgentRecord, AgentStateRecord, InteractionRecord, UserRecord

from .errors import StorageConflict, StorageError
from .models import Agent, AgentStateChange, Base, Interaction, User, utcnow

__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config", "hash_token"]

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"

# Plain "sqlite://" / "postgresql://" URLs name sync drivers, which the async engine rejects;
# accepting them spares operators a confusing error for the obvious intent.
_ASYNC_DRIVERS: Final = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_BACKENDS: Final = ("sqlite", "postgresql")

# Arbitrary constant: serialises upgrade() between processes starting at once on one PostgreSQL.
_MIGRATION_LOCK_KEY: Final = 0x637469_0001

_INTERACTIONS: Final = Base.metadata.tables["interactions"]
_AGENTS: Final = Base.metadata.tables["agents"]
_USERS: Final = Base.metadata.tables["users"]
_AGENT_STATES: Final = Base.metadata.tables["agent_state_history"]
_INTERACTION_FIELDS: Final = tuple(f.name for f in fields(InteractionRecord))
# The call handling saves a call's progress many times; the agent's wrap-up must survive each save.
_KEPT_ON_SAVE: Final = frozenset({"created_at", *WRAP_UP_FIELDS})


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code, so no ``alembic.ini`` is needed at run time."""
    config = Config()
    # set_main_option interpolates "%"; a checkout path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def hash_token(token: str) -> str:
    """Hex SHA-256 of an API token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode()).hexdigest()


class Database:
    def __init__(self, url: str, *, echo: bool = False, connect_timeout: float = 10.0) -> None:
        self._url = _parse_url(url)
        self._backend = self._url.get_backend_name()
        self._echo = echo
        self._connect_timeout = connect_timeout
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None

    @property
    def url(self) -> str:
        """The database URL with its password masked, safe for logs and error messages."""
        return self._url.render_as_string(hide_password=True)

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._backend

    def __repr__(self) -> str:
        return f"Database({self.url!r})"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Create the engine and check that the database answers. Idempotent."""
        if self._engine is not None:
            return
        engine = self._create_engine()
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            await engine.dispose()
            raise StorageError(f"cannot connect to database {self.url}: {_reason(exc)}") from exc
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def close(self) -> None:
        """Dispose of the engine and its pooled connections. Idempotent."""
        engine, self._engine, self._sessions = self._engine, None, None
        if engine is not None:
            await engine.dispose()

    async def upgrade(self) -> None:
        """Migrate the schema to the newest revision (starting the database first if needed).

        Idempotent: an up-to-date database is left as it is.
        """
        await self.start()
        engine = self._require_engine()
        try:
            async with engine.begin() as connection:
                await connection.run_sync(_upgrade_to_head)
        except (SQLAlchemyError, OSError, CommandError) as exc:
            raise StorageError(f"cannot migrate database {self.url}: {_reason(exc)}") from exc

    async def ping(self) -> bool:
        """Whether the database answers ``SELECT 1`` right now (for health checks; never raises)."""
        if self._engine is None:
            return False
        try:
            async with self._engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError):
            return False
        return True

    # -- interactions ------------------------------------------------------------------------

    async def save_interaction(self, record: InteractionRecord) -> None:
        """Insert the interaction, or replace the stored one with the same ``call_id``."""
        values: dict[str, Any] = {name: getattr(record, name) for name in _INTERACTION_FIELDS}
        _check(_INTERACTIONS, values)
        now = utcnow()
        values.update(created_at=now, updated_at=now)
        statement = self._upsert(_INTERACTIONS, values, key="call_id", keep=_KEPT_ON_SAVE)
        async with self._transaction(f"save interaction {record.call_id!r}") as session:
            await session.execute(statement)

    async def save_wrap_up(
        self, call_id: str, *, at: datetime, disposition: str, notes: str = "",
        script_answers: Mapping[str, Any] | None = None, crosssell: Mapping[str, Any] | None = None,
        follow_up: Mapping[str, Any] | None = None, customer_id: str | None = None,
    ) -> InteractionRecord:
        """The agent's after-call record on the interaction. Saving it again replaces it (a correction)."""
        values: dict[str, Any] = {
            "disposition": disposition, "notes": notes, "script_answers": dict(script_answers or {}),
            "crosssell": None if crosssell is None else dict(crosssell),
            "follow_up": None if follow_up is None else dict(follow_up), "wrapped_up_at": at, "updated_at": utcnow(),
        }
        if customer_id is not None:
            values["customer_id"] = customer_id
        _check(_INTERACTIONS, values)
        async with self._transaction(f"save wrap-up of {call_id!r}") as session:
            row = await session.get(Interaction, call_id)
            if row is None:
                raise StorageError(f"cannot save wrap-up of {call_id!r}: no such interaction")
            for name, value in values.items():
                setattr(row, name, value)
            await session.flush()
            return _interaction_record(row)

    async def list_customer_interactions(self, customer_id: str, *, limit: int = 10) -> list[InteractionRecord]:
        """A customer's calls, most recent first (the screen pop's contact history)."""
        _check_limit(limit)
        query = (select(Interaction).where(Interaction.customer_id == customer_id)
                 .order_by(Interaction.arrived_at.desc(), Interaction.call_id.desc()).limit(limit))
        async with self._transaction(f"list interactions of customer {customer_id!r}") as session:
            return [_interaction_record(row) for row in await session.scalars(query)]

    async def get_interaction(self, call_id: str) -> InteractionRecord | None:
        async with self._transaction(f"read interaction {call_id!r}") as session:
            row = await session.get(Interaction, call_id)
            return None if row is None else _interaction_record(row)

    async def list_interactions(
        self, *, limit: int = 100, agent_id: str | None = None, queue: str | None = None
    ) -> list[InteractionRecord]:
        """Up to ``limit`` interactions, most recently arrived first, optionally filtered."""
        _check_limit(limit)
        query = select(Interaction)
        if agent_id is not None:
            query = query.where(Interaction.agent_id == agent_id)
        if queue is not None:
            query = query.where(Interaction.queue == queue)
        # call_id breaks ties so that equal arrival times still page deterministically.
        query = query.order_by(Interaction.arrived_at.desc(), Interaction.call_id.desc()).limit(limit)
        async with self._transaction("list interactions") as session:
            return [_interaction_record(row) for row in await session.scalars(query)]

    # -- agents ------------------------------------------------------------------------------

    async def upsert_agent(self, agent: AgentRecord) -> None:
        values: dict[str, Any] = {"agent_id": agent.agent_id, "name": agent.name, "profile": agent.profile}
        _check(_AGENTS, values)
        values["created_at"] = utcnow()
        statement = self._upsert(_AGENTS, values, key="agent_id", keep=frozenset({"created_at"}))
        async with self._transaction(f"save agent {agent.agent_id!r}") as session:
            await session.execute(statement)

    async def get_agent(self, agent_id: str) -> AgentRecord | None:
        async with self._transaction(f"read agent {agent_id!r}") as session:
            row = await session.get(Agent, agent_id)
            return None if row is None else AgentRecord(agent_id=row.agent_id, name=row.name, profile=row.profile)

    async def list_agents(self) -> list[AgentRecord]:
        """All agents, ordered by ``agent_id``."""
        async with self._transaction("list agents") as session:
            rows = await session.scalars(select(Agent).order_by(Agent.agent_id))
            return [AgentRecord(agent_id=row.agent_id, name=row.name, profile=row.profile) for row in rows]

    # -- users and tokens --------------------------------------------------------------------

    async def create_user(self, name: str, role: str, agent_id: str | None = None) -> tuple[UserRecord, str]:
        """Create a user with a fresh random token, returned here and never again."""
        token = secrets.token_urlsafe(32)
        return await self._save_user(name, role, token, agent_id, replace=False), token

    async def ensure_user_token(self, name: str, role: str, token: str, agent_id: str | None = None) -> UserRecord:
        """Create the user, or update its role, agent and token to the given ones. Idempotent.

        Meant for tokens that come from configuration (the bootstrap admin, demos, tests). A
        disabled user stays disabled: configuration must not silently undo an administrator.
        """
        return await self._save_user(name, role, token, agent_id, replace=True)

    async def user_for_token(self, token: str) -> UserRecord | None:
        """The enabled user holding ``token``, or ``None``."""
        if not token:
            return None
        # Looked up by hash: the clear token never reaches the database, not even in a query.
        query = select(User).where(User.token_hash == hash_token(token), User.disabled.is_(False))
        async with self._transaction("look up token") as session:
            user = await session.scalar(query)
            return None if user is None else _user_record(user)

    async def list_users(self) -> list[UserRecord]:
        """All users, disabled ones included, ordered by ``user_id``."""
        async with self._transaction("list users") as session:
            return [_user_record(user) for user in await session.scalars(select(User).order_by(User.user_id))]

    async def set_user_scope(self, name: str, scope: Mapping[str, Any] | None) -> UserRecord:
        """The queues and teams a supervisor may see (``None``: all of them)."""
        async with self._transaction(f"set the scope of user {name!r}") as session:
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                raise StorageError(f"cannot set the scope of user {name!r}: no such user")
            user.scope = None if scope is None else dict(scope)
            return _user_record(user)

    async def set_user_disabled(self, name: str, disabled: bool = True) -> UserRecord:
        """Disable (or re-enable) a user: a disabled user's token stops working."""
        async with self._transaction(f"update user {name!r}") as session:
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                raise StorageError(f"cannot update user {name!r}: no such user")
            user.disabled = disabled
            await session.flush()
            return _user_record(user)

    # -- agent state history -----------------------------------------------------------------

    async def record_agent_state(self, record: AgentStateRecord) -> None:
        values: dict[str, Any] = {
            "agent_id": record.agent_id,
            "state": record.state,
            "reason": record.reason,
            "extension": record.extension,
            "at": record.at,
        }
        _check(_AGENT_STATES, values)
        async with self._transaction(f"record state of agent {record.agent_id!r}") as session:
            session.add(AgentStateChange(**values))

    async def agent_state_history(self, agent_id: str, *, limit: int = 100) -> list[AgentStateRecord]:
        """The agent's ``limit`` most recent state changes, oldest first."""
        _check_limit(limit)
        query = (
            select(AgentStateChange)
            .where(AgentStateChange.agent_id == agent_id)
            # id breaks ties between changes recorded within the same microsecond.
            .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
            .limit(limit)
        )
        async with self._transaction(f"read state history of agent {agent_id!r}") as session:
            rows = list(await session.scalars(query))
        rows.reverse()
        return [
            AgentStateRecord(
                agent_id=row.agent_id, state=row.state, reason=row.reason, extension=row.extension, at=row.at
            )
            for row in rows
        ]

    async def interactions_between(self, start: datetime, end: datetime, *,
                                   queues: Collection[str] | None = None) -> list[InteractionRecord]:
        """Calls with any instant in [start, end): arrived before ``end`` and not ended before ``start``
        (reports, forecasts). An hour of margin before ``start`` keeps the after-call work of calls that ended
        just before it."""
        _check(_INTERACTIONS, {"arrived_at": start, "ended_at": end})
        query = select(Interaction).where(
            Interaction.arrived_at < end,
            (Interaction.ended_at.is_(None)) | (Interaction.ended_at >= start - timedelta(hours=1)))
        if queues is not None:
            query = query.where(Interaction.queue.in_(list(queues)))
        query = query.order_by(Interaction.arrived_at, Interaction.call_id)
        async with self._transaction("read interactions in a period") as session:
            return [_interaction_record(row) for row in await session.scalars(query)]

    async def agent_states_between(self, start: datetime, end: datetime) -> list[AgentStateRecord]:
        """State changes in [start, end) plus each agent's last change before ``start`` (the state it was in),
        oldest first."""
        _check(_AGENT_STATES, {"at": start})
        latest = (select(AgentStateChange.agent_id, func.max(AgentStateChange.id).label("id"))
                  .where(AgentStateChange.at < start).group_by(AgentStateChange.agent_id).subquery())
        before = select(AgentStateChange).join(latest, AgentStateChange.id == latest.c.id)
        inside = select(AgentStateChange).where(AgentStateChange.at >= start, AgentStateChange.at < end)
        async with self._transaction("read agent states in a period") as session:
            rows = list(await session.scalars(before)) + list(await session.scalars(inside))
        rows.sort(key=lambda row: (row.at, row.id))
        return [AgentStateRecord(agent_id=row.agent_id, state=row.state, reason=row.reason, extension=row.extension,
                                 at=row.at) for row in rows]

    # -- internals ---------------------------------------------------------------------------

    def _create_engine(self) -> AsyncEngine:
        options: dict[str, Any] = {"echo": self._echo}
        if self._backend == "sqlite":
            database = self._url.database
            if not database or database == ":memory:":
                # Every connection to an in-memory database is a new, empty database: share one.
                options["poolclass"] = StaticPool
            else:
                try:
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StorageError(f"cannot create the directory of {self.url}: {exc}") from exc
            # sqlite3's busy timeout: writers wait for each other instead of failing at once.
            options["connect_args"] = {"timeout": self._connect_timeout}
        else:
            options.update(
                pool_size=5,
                max_overflow=10,
                # Survive server restarts and idle connections cut by firewalls.
                pool_pre_ping=True,
                pool_recycle=1800,
                connect_args={"timeout": self._connect_timeout},
            )
        try:
            engine = create_async_engine(self._url, **options)
        except (SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"cannot create an engine for {self.url}: {_reason(exc)}") from exc
        if self._backend == "sqlite":
            event.listen(engine.sync_engine, "connect", _configure_sqlite_connection)
        return engine

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StorageError(f"database {self.url} is not started: call start() first")
        return self._engine

    def transaction(self, action: str, *, conflict: str | None = None) -> AbstractAsyncContextManager[AsyncSession]:
        """A session in a transaction for the domain stores built on this database (CRM, WFM, ...):
        committed on success; library errors become :class:`StorageError` naming ``action``."""
        return self._transaction(action, conflict=conflict)

    @asynccontextmanager
    async def _transaction(self, action: str, *, conflict: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed on success; library errors become StorageError."""
        self._require_engine()
        assert self._sessions is not None  # set together with the engine
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise StorageError(f"cannot {action}: {conflict or _reason(exc)}") from exc
        except (SQLAlchemyError, OSError) as exc:
            raise StorageError(f"cannot {action}: {_reason(exc)}") from exc

    def _upsert(self, table: Table, values: dict[str, Any], *, key: str, keep: frozenset[str]) -> Executable:
        """INSERT ... ON CONFLICT (key) DO UPDATE: atomic, unlike a select-then-write."""
        updated = [name for name in values if name != key and name not in keep]
        if self._backend == "postgresql":
            pg = pg_insert(table).values(values)
            return pg.on_conflict_do_update(index_elements=[key], set_={n: pg.excluded[n] for n in updated})
        lite = sqlite_insert(table).values(values)
        return lite.on_conflict_do_update(index_elements=[key], set_={n: lite.excluded[n] for n in updated})

    async def _save_user(self, name: str, role: str, token: str, agent_id: str | None, *, replace: bool) -> UserRecord:
        if role not in ROLES:
            raise StorageError(f"cannot save user {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
        if not name:
            raise StorageError("cannot save user: the name is empty")
        if not token:
            raise StorageError(f"cannot save user {name!r}: the token is empty")
        _check(_USERS, {"name": name, "role": role, "agent_id": agent_id})
        token_hash = hash_token(token)
        async with self._transaction(
            f"save user {name!r}", conflict=f"user {name!r} or its token is already in use"
        ) as session:
            # Checked up front for a clear message; the foreign key and unique constraints still
            # guard against concurrent writers.
            if agent_id is not None and await session.get(Agent, agent_id) is None:
                raise StorageError(f"cannot save user {name!r}: unknown agent_id {agent_id!r}")
            user = await session.scalar(select(User).where(User.name == name))
            if user is None:
                user = User(
                    name=name,
                    role=role,
                    agent_id=agent_id,
                    token_hash=token_hash,
                    created_at=utcnow(),
                    disabled=False,
                )
                session.add(user)
            elif not replace:
                raise StorageConflict(f"cannot create user {name!r}: the name is already taken")
            else:
                user.role, user.agent_id, user.token_hash = role, agent_id, token_hash
            await session.flush()
            return _user_record(user)


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        # The URL itself stays out of the message: it may hold a password.
        raise StorageError(f"invalid database URL: {exc}") from exc
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[parsed.drivername])
    if parsed.get_backend_name() not in _BACKENDS:
        masked = parsed.render_as_string(hide_password=True)
        raise StorageError(f"unsupported database {masked}: use sqlite+aiosqlite or postgresql+asyncpg")
    return parsed


def _configure_sqlite_connection(dbapi_connection: Any, connection_record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        # Off by default in SQLite, per connection.
        cursor.execute("PRAGMA foreign_keys=ON")
        # Readers no longer block the writer; NORMAL is durable enough in WAL mode.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _upgrade_to_head(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")


def _reason(exc: BaseException) -> str:
    """The driver's own words when there are some: SQLAlchemy's wrapper adds SQL and links."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {exc}".strip()


def _check(table: Table, values: Mapping[str, object]) -> None:
    """Refuse what one backend would store and another reject, before any backend sees it.

    SQLite ignores VARCHAR lengths and would store naive datetimes as if they were UTC.
    """
    for column in table.columns:
        if column.name not in values:
            continue
        value = values[column.name]
        length = column.type.length if isinstance(column.type, String) else None
        if isinstance(value, str) and length is not None and len(value) > length:
            raise StorageError(f"{table.name}.{column.name} is longer than {length} characters: {value[:80]!r}")
        if isinstance(value, datetime) and value.utcoffset() is None:
            raise StorageError(
                f"{table.name}.{column.name}: naive datetime {value.isoformat()} refused,"
                " use a timezone-aware UTC datetime"
            )


def _check_limit(limit: int) -> None:
    if limit < 1:
        raise StorageError(f"limit must be at least 1, not {limit}")


def _interaction_record(row: Interaction) -> InteractionRecord:
    return InteractionRecord(**{name: getattr(row, name) for name in _INTERACTION_FIELDS})


def _user_record(user: User) -> UserRecord:
    return UserRecord(
        user_id=user.user_id, name=user.name, role=user.role, agent_id=user.agent_id, disabled=user.disabled,
        scope=user.scope,
    )
