"""The :class:`Database`: one engine's lifecycle and the transactions the repositories run in.

One instance per process, created and started by whoever owns the application's lifetime (no module-level
engine: tests and tools need several side by side). It reads and writes nothing itself: the repositories
(:mod:`cti.persistence`) are built on it and do, each in :meth:`Database.transaction`.

**Fencing** (standby controllers, docs/scaling.md): a controller that takes the lease claims the database with its
term's fencing token (:meth:`Database.claim_term`), which raises the one row of ``controller_terms``. From then on
the first write of each of its transactions first reads that row (under a shared row lock on PostgreSQL, so a newer
claim waits for the writes in flight and every later write sees it; SQLite has one writer at a time, and a
transaction whose snapshot a newer claim made stale cannot write at all), and a newer token there refuses the write
(:class:`StorageFenced`) before anything of it is kept. Reads are never fenced, nor is a process that claimed nothing.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Connection, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DataError, DBAPIError, IntegrityError, SQLAlchemyError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from ._errors import StorageError, StorageFenced, StorageRejected

__all__ = ["MIGRATIONS_DIR", "Database", "alembic_config"]

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

# SQLSTATE classes of errors caused by the values sent, not by the server's state: 22 data exception (a
# character the encoding refuses, a number out of range), 23 integrity constraint violation. asyncpg reports
# most of class 22 as a plain DBAPIError, so the class is read from the code rather than the exception type.
_REJECTED_SQLSTATE_CLASSES: Final = ("22", "23")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration built in code, so no ``alembic.ini`` is needed at run time."""
    config = Config()
    # set_main_option interpolates "%"; a checkout path may contain one.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class Database:
    """SQLite (``sqlite+aiosqlite``, the default) or PostgreSQL (``postgresql+asyncpg``) behind one async engine."""

    def __init__(self, url: str, *, echo: bool = False, connect_timeout: float = 10.0) -> None:
        self._url = _parse_url(url)
        self._backend = self._url.get_backend_name()
        self._echo = echo
        self._connect_timeout = connect_timeout
        self._engine: AsyncEngine | None = None
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._term: int | None = None  # the fencing token this process claimed the database with, if any
        # Transactions whose term was checked already: only their first write reads it (each is a new object).
        self._fenced: weakref.WeakSet[Any] = weakref.WeakSet()

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

    # -- for the repositories ----------------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, action: str, *, conflict: str | None = None) -> AsyncIterator[AsyncSession]:
        """A session in a transaction, committed on success and rolled back on any exception.

        Library errors become :class:`StorageError` naming ``action`` ("cannot save user 'ana': ..."), or
        :class:`StorageRejected` when the database refused the values themselves (a constraint, a value too long
        or in an encoding it cannot hold), which no retry will change; an integrity error says ``conflict`` when
        given, the driver's words otherwise.
        """
        self._require_engine()
        assert self._sessions is not None  # set together with the engine
        try:
            async with self._sessions() as session, session.begin():
                yield session
        except IntegrityError as exc:
            raise StorageRejected(f"cannot {action}: {conflict or _reason(exc)}") from exc
        except (SQLAlchemyError, OSError) as exc:
            error = StorageRejected if _rejected(exc) else StorageError
            raise error(f"cannot {action}: {_reason(exc)}") from exc

    @property
    def term(self) -> int | None:
        """The fencing token this process claimed the database with (None: its writes are not fenced)."""
        return self._term

    async def claim_term(self, token: int, holder: str) -> None:
        """A controller that took the lease with ``token``: raise the database's term to it, so every write of an
        older term is refused from now on (on PostgreSQL this waits for those already under way), and fence this
        process's own writes with it. :class:`StorageFenced` if a newer term claimed it already."""
        async with self.transaction("claim the controllers' term") as session:
            result = await session.execute(
                text("UPDATE controller_terms SET token = :token, holder = :holder, claimed_at = :at "
                     "WHERE term_id = 1 AND token < :token"),
                {"token": token, "holder": holder[:200], "at": datetime.now(UTC)})
            claimed = bool(getattr(result, "rowcount", 0))
            current = None if claimed else (await session.execute(
                text("SELECT token FROM controller_terms WHERE term_id = 1"))).scalar()
        if not claimed:
            raise StorageFenced(f"cannot claim the database for term {token}: term {current} claimed it already")
        self._term = token

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
        event.listen(engine.sync_engine, "before_cursor_execute", self._fence_write)
        return engine

    def _fence_write(self, connection: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                     executemany: bool) -> None:
        """Before a claimed process's first write in a transaction: is its term still the database's?"""
        if self._term is None or not _WRITE.match(statement):
            return
        transaction = connection.get_transaction()
        if transaction is not None and transaction in self._fenced:
            return
        cursor.execute(_TERM_SQL[self._backend])
        row = cursor.fetchone()
        current = None if row is None else int(row[0])
        if current is not None and current > self._term:
            raise StorageFenced(f"term {self._term} is over: term {current} leads now; the write is not kept")
        if transaction is not None:
            self._fenced.add(transaction)

    def _require_engine(self) -> AsyncEngine:
        if self._engine is None:
            raise StorageError(f"database {self.url} is not started: call start() first")
        return self._engine


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


_WRITE: Final = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# Raising the term (claim_term) is itself an UPDATE: it reads nothing first, as it is the only write not fenced by
# the row it changes (its WHERE clause refuses an older token).
_TERM_SQL: Final = {
    "postgresql": "SELECT token FROM controller_terms WHERE term_id = 1 FOR SHARE",
    "sqlite": "SELECT token FROM controller_terms WHERE term_id = 1",
}


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


def _rejected(exc: BaseException) -> bool:
    """Whether the database (or its driver) refused the values sent, rather than being unable to take them now."""
    if isinstance(exc, DataError):
        return True
    if isinstance(exc, StatementError) and not isinstance(exc, DBAPIError):
        return True  # a value SQLAlchemy could not bind (not JSON-serialisable, a naive datetime)
    sqlstate = getattr(exc.orig, "sqlstate", None) if isinstance(exc, DBAPIError) else None
    return isinstance(sqlstate, str) and sqlstate[:2] in _REJECTED_SQLSTATE_CLASSES


def _reason(exc: BaseException) -> str:
    """The driver's own words when there are some: SQLAlchemy's wrapper adds the SQL, its parameters (a caller's
    number, a customer's name) and links."""
    if isinstance(exc, StatementError) and exc.orig is not None:
        exc = exc.orig
    return f"{type(exc).__name__}: {exc}".strip()
