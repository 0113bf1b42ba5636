"""ORM tables. Internal to :mod:`cti.storage`: the schema itself is owned by the Alembic migrations,
and a test checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from cti.records import ROLES

__all__ = ["Agent", "AgentStateChange", "Base", "Interaction", "UTCDateTime", "User", "utcnow"]

# Deterministic constraint names: migrations can only drop or alter what they can name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zone type and SQLAlchemy writes its datetimes as naive strings, silently
    dropping tzinfo; so values are normalised to UTC before storage and marked UTC again when read.
    Naive datetimes are refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_literal_param(self, value: Any, dialect: Dialect) -> str:
        # Only reached by offline (--sql) migrations, which never bind datetimes.
        raise NotImplementedError("UTCDateTime has no literal rendering")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Interaction(Base):
    __tablename__ = "interactions"

    call_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(128))
    caller_number: Mapped[str] = mapped_column(String(64))
    caller_name: Mapped[str | None] = mapped_column(String(128))
    service_number: Mapped[str] = mapped_column(String(32))
    queue: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), index=True)
    agent_extension: Mapped[str | None] = mapped_column(String(32))
    arrived_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wait_seconds: Mapped[float | None] = mapped_column(Float)
    talk_seconds: Mapped[float | None] = mapped_column(Float)
    offers: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    outcome: Mapped[str | None] = mapped_column(String(16))
    end_reason: Mapped[str | None] = mapped_column(String(32))
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    customer_id: Mapped[str | None] = mapped_column(String(64), index=True)
    ivr: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    disposition: Mapped[str | None] = mapped_column(String(64))
    notes: Mapped[str | None] = mapped_column(Text)
    script_answers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    crosssell: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    follow_up: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    wrapped_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Agent(Base):
    __tablename__ = "agents"

    agent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in ROLES)), name="role"),)

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("agents.agent_id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """Hex SHA-256 of the token: a leaked database must not hand out working tokens."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """A supervisor's queues and teams (``{"queues": [...], "teams": [...]}``); none means all."""


class AgentStateChange(Base):
    __tablename__ = "agent_state_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    agent_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    extension: Mapped[str | None] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


# The domain tables live in their own modules but must be on Base.metadata whenever the core tables are
# (the migration-agreement test and Alembic both read it).
from cti.scripting import models as _scripting_models  # noqa: E402, F401

from . import crm_models, wfm_models  # noqa: E402, F401
