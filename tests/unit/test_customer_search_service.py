"""The customer search's use case on the in-memory twins: each role's reach, agents' masked phones, the audit
entry (ids only) and the per-user throttle. The same on SQLite and PostgreSQL: tests/integration."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cti.errors import InvalidInput, TooMany
from cti.records import UserRecord
from cti.services import SEARCHES_PER_MINUTE, AuditTrail, CustomerSearch, Policy
from tests.unit.fakes import FakeAuditLog, FakeCustomers, FakeInteractions
from tests.unit.test_services import ADMIN, ANA, BOB, NOW, SUE, connected, floor


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


async def setup() -> tuple[CustomerSearch, FakeCustomers, FakeAuditLog, Clock]:
    distributor, _ = floor("ana", "bob")
    connected(distributor)  # c1: Ana's live call
    customers, audit, clock = FakeCustomers(), FakeAuditLog(), Clock()
    rina = await customers.create_blank_customer("+6281355500011", name="Rina Wati")
    tono = await customers.create_blank_customer("+6281355500022", name="Tono Rinaldi")
    distributor.link_customer("c1", rina.customer_id)
    customers.served[tono.customer_id] = ("sales", "bob")
    search = CustomerSearch(Policy(distributor.query, FakeInteractions()), customers, AuditTrail(audit, clock),
                            clock=clock)
    return search, customers, audit, clock


async def test_each_role_finds_whom_it_reaches_and_agents_see_masked_phones() -> None:
    search, _, audit, _ = await setup()
    [ana_sees] = await search.search(ANA, "rina", source="t")
    assert (ana_sees.name, ana_sees.phones) == ("Rina Wati", ("+62•••••••0011",))
    assert [h.name for h in await search.search(BOB, "rina", source="t")] == ["Tono Rinaldi"]
    [sue_sees] = await search.search(SUE, "rina", source="t")
    assert (sue_sees.name, sue_sees.phones) == ("Tono Rinaldi", ("+6281355500022",))
    assert [h.name for h in await search.search(ADMIN, "rina", source="t")] == ["Rina Wati", "Tono Rinaldi"]
    lone = UserRecord(9, "agent-without-agent", "agent", None, False)
    assert await search.search(lone, "rina", source="t") == []
    assert [(e.actor, e.action, e.subject_type, e.subject_id, e.detail["results"]) for e in audit.entries
            if e.detail] == [("agent-ana", "search", "customer", "*", 1), ("agent-bob", "search", "customer", "*", 1),
                             ("sue", "search", "customer", "*", 1), ("admin", "search", "customer", "*", 2),
                             ("agent-without-agent", "search", "customer", "*", 0)]
    assert all("rina" not in str(e.detail).lower() for e in audit.entries)


async def test_short_long_and_out_of_range_searches_are_refused_before_anything_is_read() -> None:
    search, _, audit, _ = await setup()
    for query, limit, problem in (("r", 10, "q"), ("r" * 101, 10, "q"), ("rina", 0, "limit"), ("rina", 26, "limit")):
        with pytest.raises(InvalidInput) as refused:
            await search.search(ANA, query, limit=limit, source="t")
        assert [p.field for p in refused.value.problems] == [problem]
    assert audit.entries == []


async def test_a_user_searching_too_often_waits_for_the_oldest_search_to_leave_the_minute() -> None:
    search, _, _, clock = await setup()
    for n in range(SEARCHES_PER_MINUTE):
        clock.now = NOW + timedelta(seconds=n)
        await search.search(ANA, "rina", source="t")
    with pytest.raises(TooMany) as throttled:
        await search.search(ANA, "rina", source="t")
    assert (str(throttled.value), throttled.value.retry_after) == ("too many customer searches; retry in 31 s", 31)
    await search.search(BOB, "rina", source="t")
    clock.now = NOW + timedelta(seconds=60)
    await search.search(ANA, "rina", source="t")
