"""Follow-up tasks (:class:`cti.crm.FollowUpTask`): the follow-ups of contacts, as staff take and complete them.

A task is its contact's follow-up (``contacts.follow_up_*``): open while it has a task text, is not done and its
customer is not erased (erasure and retention clear the text, which ends the task). Taking and completing are
conditional updates, so two people acting at once cannot both take, or both complete, one task.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm import CrmInputError, FollowUpTask, NewContact, contact_problems
from cti.records import Reach
from cti.types import Language

from ._customer_rows import contact_row
from ._database import Database
from ._sql import check_limit
from ._tables import ContactRow, CustomerRow

__all__ = ["FollowUpRepository"]


def _open() -> list[Any]:
    return [ContactRow.follow_up_done_at.is_(None), ContactRow.follow_up_task.is_not(None),
            ContactRow.follow_up_at.is_not(None), CustomerRow.forgotten_at.is_(None)]


def _tasks() -> Select[ContactRow, str]:
    return select(ContactRow, CustomerRow.name).join(CustomerRow, CustomerRow.customer_id == ContactRow.customer_id)


class FollowUpRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def open_tasks(self, *, within: Reach | None = None, agent: str | None = None,
                         limit: int = 100) -> builtins.list[FollowUpTask]:
        """The open tasks, the earliest due first: ``within`` a reach's queues and agents (a task's queue, the agent
        who set it or took it; None: all); for ``agent``, none another agent took."""
        check_limit(limit)
        query = _tasks().where(*_open())
        if within is not None:
            agents = builtins.list(within.agents)
            query = query.where(ContactRow.follow_up_queue.in_(builtins.list(within.queues))
                                | ContactRow.agent_id.in_(agents) | ContactRow.follow_up_claimed_by.in_(agents))
        if agent is not None:
            query = query.where(ContactRow.follow_up_claimed_by.is_(None) | (ContactRow.follow_up_claimed_by == agent))
        query = query.order_by(ContactRow.follow_up_at, ContactRow.contact_id).limit(limit)
        async with self._db.transaction("list the open follow-up tasks") as session:
            return [_task(row, name) for row, name in (await session.execute(query)).all()]

    async def get(self, task_id: int) -> FollowUpTask | None:
        """The task, open or done; None for a contact without a follow-up, or an erased customer's."""
        query = _tasks().where(ContactRow.contact_id == task_id, ContactRow.follow_up_task.is_not(None),
                               ContactRow.follow_up_at.is_not(None), CustomerRow.forgotten_at.is_(None))
        async with self._db.transaction(f"read follow-up task {task_id}") as session:
            found = (await session.execute(query)).first()
            return None if found is None else _task(*found)

    async def claim(self, task_id: int, agent_id: str, at: datetime) -> FollowUpTask | None:
        """``agent_id`` takes the open task unless another agent has it; the task as it is after (whoever has it),
        None when it is not open."""
        statement = (update(ContactRow)
                     .where(ContactRow.contact_id == task_id, ContactRow.follow_up_done_at.is_(None),
                            ContactRow.follow_up_task.is_not(None), ContactRow.follow_up_claimed_by.is_(None))
                     .values(follow_up_claimed_by=agent_id, follow_up_claimed_at=at))
        async with self._db.transaction(f"take follow-up task {task_id}") as session:
            await session.execute(statement)
            return await self._open_task(session, task_id)

    async def complete(self, task_id: int, *, by: str, at: datetime,
                       answer: NewContact | None = None) -> FollowUpTask | None:
        """Mark the open task done by ``by`` at ``at`` and record ``answer`` (the contact that answered it) in the
        same transaction; None when it was not open (done meanwhile, or erased)."""
        if answer is not None and (problems := contact_problems(answer)):
            raise CrmInputError(f"record the answer to follow-up task {task_id}", problems)
        statement = (update(ContactRow)
                     .where(ContactRow.contact_id == task_id, ContactRow.follow_up_done_at.is_(None),
                            ContactRow.follow_up_task.is_not(None))
                     .values(follow_up_done_by=by, follow_up_done_at=at))
        async with self._db.transaction(f"complete follow-up task {task_id}") as session:
            if cast(Any, await session.execute(statement)).rowcount != 1:
                return None
            if answer is not None:
                session.add(contact_row(answer))
            found = (await session.execute(_tasks().where(ContactRow.contact_id == task_id))).first()
            return None if found is None else _task(*found)

    @staticmethod
    async def _open_task(session: AsyncSession, task_id: int) -> FollowUpTask | None:
        found = (await session.execute(_tasks().where(ContactRow.contact_id == task_id, *_open()))).first()
        return None if found is None else _task(*found)


def _task(row: ContactRow, name: str) -> FollowUpTask:
    assert row.follow_up_at is not None and row.follow_up_task is not None  # open tasks only are read
    return FollowUpTask(
        task_id=row.contact_id, customer_id=row.customer_id, customer_name=name, channel=row.channel,
        created_at=row.at, due_at=row.follow_up_at, task=row.follow_up_task, notes=row.notes, reason=row.reason,
        reply=row.follow_up_reply, queue=row.follow_up_queue, agent_id=row.agent_id, call_id=row.call_id,
        language=cast(Language | None, row.language), claimed_by=row.follow_up_claimed_by,
        claimed_at=row.follow_up_claimed_at, done_by=row.follow_up_done_by, done_at=row.follow_up_done_at)
