"""Agents (the registry the controller loads on start) and the history of their states (reports, adherence)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, insert, select

from cti.records import AgentRecord, AgentStateRecord

from ._base import utcnow
from ._database import Database
from ._sql import check, check_limit, upsert
from ._tables import METADATA, AgentRow, AgentStateRow

__all__ = ["AgentRepository"]

_AGENTS: Final = METADATA.tables["agents"]
_AGENT_STATES: Final = METADATA.tables["agent_state_history"]
# One statement executed with each change's values: compiled once (the journal records every state change).
_INSERT_STATE: Final = insert(_AGENT_STATES)


class AgentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- agents ------------------------------------------------------------------------------

    async def upsert(self, agent: AgentRecord) -> None:
        """Insert the agent, or replace the name and profile of the stored one."""
        values: dict[str, Any] = {"agent_id": agent.agent_id, "name": agent.name, "profile": agent.profile}
        check(_AGENTS, values)
        values["created_at"] = utcnow()
        statement = upsert(self._db.backend, _AGENTS, tuple(values), key="agent_id", keep=frozenset({"created_at"}))
        async with self._db.transaction(f"save agent {agent.agent_id!r}") as session:
            await session.execute(statement, values)

    async def get(self, agent_id: str) -> AgentRecord | None:
        async with self._db.transaction(f"read agent {agent_id!r}") as session:
            row = await session.get(AgentRow, agent_id)
            return None if row is None else _agent_record(row)

    async def list(self) -> builtins.list[AgentRecord]:
        """All agents, ordered by ``agent_id``."""
        async with self._db.transaction("list agents") as session:
            return [_agent_record(row) for row in await session.scalars(select(AgentRow).order_by(AgentRow.agent_id))]

    # -- state history -----------------------------------------------------------------------

    async def record_state(self, record: AgentStateRecord) -> None:
        """Add one state change to the agent's history."""
        values: dict[str, Any] = {
            "agent_id": record.agent_id,
            "state": record.state,
            "reason": record.reason,
            "extension": record.extension,
            "at": record.at,
        }
        check(_AGENT_STATES, values)
        async with self._db.transaction(f"record state of agent {record.agent_id!r}") as session:
            await session.execute(_INSERT_STATE, values)

    async def record_states(self, records: builtins.list[AgentStateRecord]) -> None:
        """Add many state changes in one transaction, all or none (the journal's batches; an import of the past:
        the demo's generated shifts)."""
        rows = [{"agent_id": r.agent_id, "state": r.state, "reason": r.reason, "extension": r.extension, "at": r.at}
                for r in records]
        for values in rows:
            check(_AGENT_STATES, values)
        if not rows:
            return
        async with self._db.transaction(f"record {len(rows)} agent states") as session:
            await session.execute(insert(_AGENT_STATES), rows)

    async def history(self, agent_id: str, *, limit: int = 100) -> builtins.list[AgentStateRecord]:
        """The agent's ``limit`` most recent state changes, oldest first."""
        check_limit(limit)
        query = (
            select(AgentStateRow)
            .where(AgentStateRow.agent_id == agent_id)
            # id breaks ties between changes recorded within the same microsecond.
            .order_by(AgentStateRow.at.desc(), AgentStateRow.id.desc())
            .limit(limit)
        )
        async with self._db.transaction(f"read state history of agent {agent_id!r}") as session:
            rows = builtins.list(await session.scalars(query))
        rows.reverse()
        return [_state_record(row) for row in rows]

    async def states_between(self, start: datetime, end: datetime) -> builtins.list[AgentStateRecord]:
        """State changes in [start, end) plus each agent's last change before ``start`` (the state it was in),
        oldest first."""
        check(_AGENT_STATES, {"at": start})
        latest = (select(AgentStateRow.agent_id, func.max(AgentStateRow.id).label("id"))
                  .where(AgentStateRow.at < start).group_by(AgentStateRow.agent_id).subquery())
        before = select(AgentStateRow).join(latest, AgentStateRow.id == latest.c.id)
        inside = select(AgentStateRow).where(AgentStateRow.at >= start, AgentStateRow.at < end)
        async with self._db.transaction("read agent states in a period") as session:
            rows = builtins.list(await session.scalars(before)) + builtins.list(await session.scalars(inside))
        rows.sort(key=lambda row: (row.at, row.id))
        return [_state_record(row) for row in rows]


def _agent_record(row: AgentRow) -> AgentRecord:
    return AgentRecord(agent_id=row.agent_id, name=row.name, profile=row.profile)


def _state_record(row: AgentStateRow) -> AgentStateRecord:
    return AgentStateRecord(agent_id=row.agent_id, state=row.state, reason=row.reason, extension=row.extension,
                            at=row.at)
