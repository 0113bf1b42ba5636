"""Follow-up tasks on real SQLite and PostgreSQL databases (migration 0028): the open ones due first, within a reach,
never one another agent took; taking and completing as conditional updates (one taker, one completion, the answer's
contact with it); erasure and retention end a task with its text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.crm import CrmInputError, FollowUpTask, NewContact
from cti.persistence import CustomerRepository, Database, FollowUpRepository
from cti.records import Reach
from tests.support import migrated_database

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def _tasks(db: Database) -> tuple[str, str, list[int]]:
    """Two customers; a left message for the web queue (due now), a wrap-up's follow-up of Ani's in general (due
    tomorrow), a wrap-up's of Budi's in billing (due in an hour), and a contact with no follow-up."""
    customers = CustomerRepository(db)
    siti = await customers.create_blank_customer("+6281200000001", name="Siti", email="siti@example.com")
    joko = await customers.create_blank_customer("+6281200000002", name="Joko")
    ids = []
    for contact in (
        NewContact(customer_id=siti.customer_id, channel="chat", at=T0, reason="billing", notes="Tagihan dobel",
                   language="id", follow_up_at=T0, follow_up_task="Answer by e-mail", follow_up_queue="web",
                   follow_up_reply="email"),
        NewContact(customer_id=joko.customer_id, channel="call", at=T0, agent_id="ani", call_id="c1",
                   notes="router", follow_up_at=T0 + timedelta(days=1), follow_up_task="Ask about the router",
                   follow_up_queue="general"),
        NewContact(customer_id=joko.customer_id, channel="call", at=T0, agent_id="budi", call_id="c2",
                   follow_up_at=T0 + timedelta(hours=1), follow_up_task="Send the bill", follow_up_queue="billing"),
        NewContact(customer_id=joko.customer_id, channel="call", at=T0, agent_id="ani", call_id="c3"),
    ):
        ids.append((await customers.add_contact(contact)).contact_id)
    return siti.customer_id, joko.customer_id, ids


async def test_open_tasks_are_listed_due_first_within_a_reach(db: Database) -> None:
    siti, joko, [left, router, bill, _] = await _tasks(db)
    store = FollowUpRepository(db)
    everything = await store.open_tasks()
    assert [t.task_id for t in everything] == [left, bill, router]
    assert everything[0] == FollowUpTask(
        task_id=left, customer_id=siti, customer_name="Siti", channel="chat", created_at=T0, due_at=T0,
        task="Answer by e-mail", notes="Tagihan dobel", reason="billing", reply="email", queue="web", agent_id=None,
        call_id=None, language="id")
    # An agent of the web queue; Ani (general, and her own); a supervisor of billing.
    assert [t.task_id for t in await store.open_tasks(within=Reach(queues=frozenset({"web"})))] == [left]
    assert [t.task_id for t in await store.open_tasks(within=Reach(agents=frozenset({"ani"})))] == [router]
    assert [t.task_id for t in await store.open_tasks(within=Reach(queues=frozenset({"billing"})))] == [bill]
    assert await store.open_tasks(within=Reach()) == []
    assert [t.task_id for t in await store.open_tasks(limit=1)] == [left]
    assert (await store.get(router)) == everything[2]
    assert await store.get(999999) is None
    assert everything[1].customer_id == everything[2].customer_id == joko


async def test_one_agent_takes_a_task_and_one_completion_records_the_answer(db: Database) -> None:
    siti, _, [left, router, bill, plain] = await _tasks(db)
    store = FollowUpRepository(db)
    taken = await store.claim(left, "ani", T0 + timedelta(minutes=1))
    assert taken is not None
    assert (taken.claimed_by, taken.claimed_at) == ("ani", T0 + timedelta(minutes=1))
    # Budi cannot take it from her: the task as it stands (hers) comes back; his list leaves it out.
    again = await store.claim(left, "budi", T0 + timedelta(minutes=2))
    assert again is not None and (again.claimed_by, again.claimed_at) == ("ani", T0 + timedelta(minutes=1))
    web = Reach(queues=frozenset({"web"}), agents=frozenset({"budi"}))
    assert [t.task_id for t in await store.open_tasks(within=web, agent="budi")] == [bill]  # his own only
    hers = Reach(queues=frozenset({"web"}), agents=frozenset({"ani"}))
    assert [t.task_id for t in await store.open_tasks(within=hers, agent="ani")] == [left, router]
    # A contact without a follow-up is no task.
    assert await store.claim(plain, "ani", T0) is None
    assert await store.complete(plain, by="agent-ani", at=T0) is None

    answer = NewContact(customer_id=siti, channel="email", at=T0 + timedelta(minutes=3), reason="follow_up_answer",
                        disposition="answered", notes="Sudah kami kembalikan", agent_id="ani")
    with pytest.raises(CrmInputError):  # a contact the CRM refuses is refused before anything is marked
        await store.complete(left, by="agent-ani", at=T0, answer=NewContact(customer_id=siti, channel="fax", at=T0))
    done = await store.complete(left, by="agent-ani", at=T0 + timedelta(minutes=3), answer=answer)
    assert done is not None
    assert (done.done_by, done.done_at, done.claimed_by) == ("agent-ani", T0 + timedelta(minutes=3), "ani")
    assert await store.complete(left, by="sue", at=T0 + timedelta(minutes=4), answer=answer) is None  # once
    assert await store.claim(left, "budi", T0) is None
    assert [t.task_id for t in await store.open_tasks()] == [bill, router]
    view = await CustomerRepository(db).customer_view(siti)
    assert view is not None
    assert [(c.channel, c.notes, c.agent_id) for c in view.contacts] == [
        ("email", "Sudah kami kembalikan", "ani"), ("chat", "Tagihan dobel", None)]


async def test_erasure_and_retention_end_a_task_with_its_text(db: Database) -> None:
    siti, _, [left, router, bill, _] = await _tasks(db)
    store, customers = FollowUpRepository(db), CustomerRepository(db)
    await customers.forget(siti)
    assert await store.get(left) is None
    assert [t.task_id for t in await store.open_tasks()] == [bill, router]
    await customers.purge_contacts(T0 + timedelta(seconds=1))
    assert await store.open_tasks() == []
    assert await store.get(router) is None
