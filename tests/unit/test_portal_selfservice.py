"""The portal's callback requests on the fakes: the contact policy at the time asked, one waiting request, the
daily limit, cancelling under the scheduler's lock, and each action a web contact. The same over HTTP and SQL:
tests/integration/test_portal_selfservice_api.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cti.acd import CallbackStatus, CallingHours, ContactPolicy, ContactRules
from cti.crm import Consent, CustomerRecord
from cti.errors import Conflict, InvalidInput, NotFound, TooMany
from cti.services import AuditTrail, PortalSelfService
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from tests.unit.fakes import FakeAuditLog, FakeCallbacks, FakeCustomers, FakeDoNotCall

AFTERNOON = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 15:00 WITA in Makassar


class Desk:
    def __init__(self) -> None:
        self.now = AFTERNOON
        self.customers, self.callbacks, self.do_not_call = FakeCustomers(), FakeCallbacks(), FakeDoNotCall()
        self.audit = FakeAuditLog()
        contact = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00")))
        self.lock = asyncio.Lock()
        self.watched: list[str] = []
        self.service = PortalSelfService(self.customers, object(), self.callbacks, self.do_not_call,  # type: ignore[arg-type]
                                         contact, AuditTrail(self.audit, lambda: self.now), queue=lambda: "general",
                                         lock=self.lock, clock=lambda: self.now,
                                         new_id=lambda: f"{len(self.callbacks.callbacks) + 1:032x}")
        self.service.watch(self.watched.append)

    async def customer(self, *, agreed: bool = True) -> CustomerRecord:
        record = await self.customers.create_blank_customer("0411 555 0101", name="Andi")
        record = replace(record, region="makassar", consent=Consent(phone_calls=agreed))
        self.customers.customers[record.customer_id] = record
        return record


async def test_a_request_within_the_hours_is_a_scheduled_callback_in_the_customers_own_zone() -> None:
    desk = Desk()
    andi = await desk.customer()
    made = await desk.service.request_callback(andi, at=None, topic="internet", source="t")
    assert (made.status, made.due_at, made.queue, made.agent_id, made.created_by, made.reason) == (
        CallbackStatus.SCHEDULED, AFTERNOON, "general", None, f"customer:{andi.customer_id}",
        "asked on the web portal: internet")
    assert [c.reason for c in desk.customers.contacts] == [f"portal:callback_requested:{made.callback_id}"]
    assert desk.watched == [andi.customer_id]
    assert [(e.actor, e.action, e.subject_type) for e in desk.audit.entries] == [
        (f"customer:{andi.customer_id}", "create", "callback")]
    with pytest.raises(Conflict) as pending:
        await desk.service.request_callback(andi, at=None, source="t")
    assert pending.value.code == "callback_pending"


async def test_out_of_hours_is_refused_for_a_chosen_time_and_moved_to_the_morning_for_as_soon_as_possible() -> None:
    desk = Desk()
    andi = await desk.customer()
    evening = datetime(2026, 12, 7, 12, 30, tzinfo=UTC)  # 20:30 WITA
    with pytest.raises(InvalidInput) as late:
        await desk.service.request_callback(andi, at=evening, source="t")
    assert (late.value.code, late.value.params["zone"], late.value.params["local_time"]) == (
        "outside_calling_hours", "WITA", "20:30")
    desk.now = evening
    made = await desk.service.request_callback(andi, at=None, source="t")
    assert made.due_at == datetime(2026, 12, 8, 0, 0, tzinfo=UTC)  # 08:00 WITA


async def test_no_consent_and_the_do_not_call_list_refuse_and_keep_nothing() -> None:
    desk = Desk()
    andi = await desk.customer(agreed=False)
    with pytest.raises(Conflict) as refused:
        await desk.service.request_callback(andi, at=None, source="t")
    assert refused.value.code == "no_contact_consent"
    andi = desk.customers.customers[andi.customer_id] = replace(andi, consent=Consent(phone_calls=True))
    await desk.do_not_call.add("+624115550101", reason=None, added_by="sue")
    with pytest.raises(Conflict) as listed:
        await desk.service.request_callback(andi, at=None, source="t")
    assert listed.value.code == "number_do_not_call"
    assert desk.callbacks.callbacks == {} and desk.customers.contacts == []


async def test_three_requests_a_day_then_429_until_the_first_is_a_day_old() -> None:
    desk = Desk()
    andi = await desk.customer()
    for _ in range(3):
        made = await desk.service.request_callback(andi, at=None, source="t")
        await desk.service.cancel_callback(andi, made.callback_id, source="t")
        desk.now += timedelta(hours=1)
    with pytest.raises(TooMany) as limited:
        await desk.service.request_callback(andi, at=None, source="t")
    assert limited.value.retry_after == 21 * 3600 + 1
    desk.now = AFTERNOON + timedelta(days=1)
    assert (await desk.service.request_callback(andi, at=None, source="t")).status is CallbackStatus.SCHEDULED


async def test_a_customer_cancels_only_their_own_waiting_request() -> None:
    desk = Desk()
    andi = await desk.customer()
    other = replace(andi, customer_id="10009999")
    made = await desk.service.request_callback(andi, at=None, source="t")
    with pytest.raises(NotFound):
        await desk.service.cancel_callback(other, made.callback_id, source="t")
    await desk.callbacks.save(replace(made, status=CallbackStatus.PREVIEWING))
    with pytest.raises(Conflict) as taken:
        await desk.service.cancel_callback(andi, made.callback_id, source="t")
    assert taken.value.code == "callback_not_scheduled"
    await desk.callbacks.save(made)
    async with desk.lock:  # the scheduler's tick holds it: the cancel waits its turn
        waiting = asyncio.ensure_future(desk.service.cancel_callback(andi, made.callback_id, source="t"))
        await asyncio.sleep(0)
        assert not waiting.done()
    assert (await waiting).status is CallbackStatus.CANCELLED
