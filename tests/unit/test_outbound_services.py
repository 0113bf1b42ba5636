"""The outbound use cases on the fakes: click-to-dial under the contact policy, the do-not-call list, and the
scheduled callbacks' scheduler (preview when due, dial decided again at dial time, retries, reach)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from cti.acd import (
    CallbackStatus,
    CallingHours,
    Channel,
    ContactCenter,
    ContactPolicy,
    ContactRules,
    DialCustomer,
    Offer,
    Preview,
    RetryPolicy,
    WorkChanged,
    WorkState,
)
from cti.crm import Consent
from cti.errors import Conflict, Forbidden, InvalidInput, NotFound
from cti.records import InteractionRecord, UserRecord
from cti.services import (
    AuditTrail,
    CallbackAttempts,
    Callbacks,
    CallbackScheduler,
    CommandBus,
    ContactRefused,
    CustomerService,
    Distributor,
    DoNotCall,
    DoNotCallList,
    OutboundCalls,
    Policy,
)
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from tests.unit.fakes import FakeAuditLog, FakeCallbacks, FakeCustomers, FakeDoNotCall, FakeInteractions, Recorder

MORNING = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)  # 10:00 WIB
ANA = UserRecord(2, "agent-ana", "agent", "ana", False)
BOB = UserRecord(3, "agent-bob", "agent", "bob", False)
SUE = UserRecord(4, "sue", "supervisor", None, False, scope={"queues": ["sales"], "teams": []})
ADMIN = UserRecord(1, "admin", "admin", None, False)
RETRY = RetryPolicy(max_attempts=2, interval=timedelta(minutes=5), agent_first=timedelta(minutes=2),
                    preview=timedelta(seconds=60))


class Floor:
    """A distributor on a movable clock with every command recorded, ana and bob logged in, ana's customer Rina."""

    def __init__(self) -> None:
        self.now = MORNING
        self.recorder = Recorder()
        table = {(kind, Channel.VOICE): [self.recorder] for kind in (Offer, DialCustomer, Preview)}
        self.distributor = Distributor(ContactCenter(), lambda: self.now, CommandBus(
            {**table, WorkChanged: [self.recorder]}))
        for n, agent_id in enumerate(("ana", "bob")):
            self.distributor.register_agent(agent_id, agent_id.title())
            self.distributor.login(agent_id, f"70{n:02d}", ready=True)
        self.customers, self.interactions, self.audit = FakeCustomers(), FakeInteractions(), FakeAuditLog()
        self.do_not_call = FakeDoNotCall()
        self.policy = Policy(self.distributor.query, self.interactions)
        trail = AuditTrail(self.audit, lambda: self.now)
        contact = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00")))
        self.outbound = OutboundCalls(self.distributor, self.policy, self.customers, self.do_not_call, contact, trail,
                                      caller_id="1500100")
        self.store = FakeCallbacks()
        self.attempts = CallbackAttempts(self.store, RETRY)
        self.scheduler = CallbackScheduler(self.distributor, self.policy, self.attempts, self.outbound, trail)
        self.dnc = DoNotCallList(self.do_not_call, trail)

    async def customer(self, phone: str = "0215550199", *, agreed: bool = True, served_by: str = "ana") -> str:
        record = await self.customers.create_blank_customer(phone, name="Rina")
        self.customers.customers[record.customer_id] = replace(record, region="jakarta",
                                                               consent=Consent(phone_calls=agreed))
        await self.interactions.save(InteractionRecord(
            call_id=f"old-{record.customer_id}", channel_id="leg", caller_number=phone, service_number="1500100",
            queue="general", agent_id=served_by, arrived_at=MORNING - timedelta(days=1), outcome="answered",
            customer_id=record.customer_id))
        return record.customer_id


def test_the_fakes_are_what_the_services_expect() -> None:
    callbacks: Callbacks = FakeCallbacks()
    do_not_call: DoNotCall = FakeDoNotCall()
    assert callbacks and do_not_call


async def test_click_to_dial_rings_the_agent_and_each_refusal_dials_nothing() -> None:
    floor = Floor()
    rina = await floor.customer()
    stranger = await floor.customer("0215550177", served_by="bob")
    with pytest.raises(Forbidden):
        await floor.outbound.dial(ADMIN, rina, source="t")
    with pytest.raises(NotFound):
        await floor.outbound.dial(ANA, stranger, source="t")  # bob's customer, not ana's
    with pytest.raises(InvalidInput):
        await floor.outbound.dial(ANA, rina, phone_index=3, source="t")
    await floor.dnc.add(ADMIN, "021 555 0199", reason="asked", source="t")
    with pytest.raises(ContactRefused) as listed:
        await floor.outbound.dial(ANA, rina, source="t")
    assert listed.value.code == "number_do_not_call"
    with pytest.raises(Conflict):
        await floor.dnc.add(ADMIN, "+62215550199", reason=None, source="t")  # the same number, another format
    await floor.dnc.remove(ADMIN, 1, source="t")
    floor.now = MORNING.replace(hour=14)  # 21:00 WIB
    with pytest.raises(ContactRefused) as late:
        await floor.outbound.dial(ANA, rina, source="t")
    assert late.value.code == "outside_calling_hours" and late.value.params["zone"] == "WIB"
    assert floor.recorder.of(Offer) == []
    floor.now = MORNING
    call = await floor.outbound.dial(ANA, rina, source="t")
    [offer] = floor.recorder.of(Offer)
    assert (offer.agent_id, offer.caller_channel_id, call.caller_number, call.service_number) == (
        "ana", None, "+62215550199", "1500100")
    with pytest.raises(Conflict) as busy:
        await floor.outbound.dial(ANA, rina, source="t")
    assert busy.value.code == "agent_on_call"
    dials = [(e.detail or {}).get("refused") for e in floor.audit.entries if e.action == "dial"]
    assert dials == ["number_do_not_call", "outside_calling_hours", None]


async def test_a_due_callback_is_previewed_to_its_agent_and_dialed_when_they_say() -> None:
    floor = Floor()
    rina = await floor.customer()
    callback = await floor.scheduler.schedule(ANA, rina, due_at=MORNING + timedelta(minutes=1), reason="invoice",
                                              agent_first=True, source="t")
    await floor.scheduler.tick()
    assert floor.recorder.of(Preview) == []  # not yet due
    floor.now += timedelta(minutes=1)
    await floor.scheduler.tick()
    [preview] = floor.recorder.of(Preview)
    assert preview.agent_id == "ana"
    previewing = await floor.store.get(callback.callback_id)
    assert previewing is not None and previewing.status is CallbackStatus.PREVIEWING
    with pytest.raises(NotFound):
        await floor.scheduler.dial(BOB, callback.callback_id, source="t")
    with pytest.raises(NotFound):
        await floor.scheduler.get(BOB, callback.callback_id)
    await floor.scheduler.dial(ANA, callback.callback_id, source="t")
    [offer] = floor.recorder.of(Offer)
    assert offer.call_id == previewing.call_id
    # The customer does not answer: one attempt, due again after the interval.
    floor.distributor.offer_answered(f"{offer.call_id}-a1")
    floor.distributor.leg_gone(f"{offer.call_id}-c1", offer_failure="no_answer")
    ended = floor.distributor.query.find_call(offer.call_id)
    assert ended is None
    [last] = [c for c in floor.recorder.of(WorkChanged) if c.item.state is WorkState.ENDED]
    floor.attempts.work_changed(last, floor.distributor)
    await floor.attempts.drain()
    retried = await floor.store.get(callback.callback_id)
    assert retried is not None
    assert (retried.status, retried.dialed, retried.due_at) == (CallbackStatus.SCHEDULED, 1, floor.now + RETRY.interval)


async def test_a_callback_dialed_out_of_hours_moves_to_the_next_morning() -> None:
    floor = Floor()
    rina = await floor.customer()
    evening = MORNING.replace(hour=12, minute=59)  # 19:59 WIB
    floor.now = evening
    callback = await floor.scheduler.schedule(ANA, rina, due_at=evening, reason="invoice", source="t")
    await floor.scheduler.tick()
    floor.now = evening + timedelta(minutes=2)  # 20:01: the agent was slow
    with pytest.raises(ContactRefused):
        await floor.scheduler.dial(ANA, callback.callback_id, source="t")
    moved = await floor.store.get(callback.callback_id)
    assert moved is not None and moved.status is CallbackStatus.SCHEDULED
    assert moved.due_at == MORNING.replace(day=8, hour=1)  # 08:00 WIB tomorrow
    assert floor.distributor.query.agent("ana").state.value == "ready"  # the preview ended


async def test_each_sees_the_callbacks_of_their_reach() -> None:
    floor = Floor()
    rina = await floor.customer()
    mine = await floor.scheduler.schedule(ANA, rina, due_at=MORNING + timedelta(days=1), reason="x", source="t")
    assert [c.callback_id for c in await floor.scheduler.list(ANA, source="t")] == [mine.callback_id]
    assert await floor.scheduler.list(BOB, source="t") == []
    assert await floor.scheduler.list(SUE, source="t") == []  # 'general' is not in her scope
    assert len(await floor.scheduler.list(ADMIN, source="t")) == 1
    with pytest.raises(NotFound):
        await floor.scheduler.get(BOB, mine.callback_id)
    with pytest.raises(InvalidInput):
        await floor.scheduler.schedule(ANA, rina, due_at=MORNING + timedelta(days=91), reason="x", source="t")
    cancelled = await floor.scheduler.cancel(ANA, mine.callback_id, source="t")
    assert cancelled.status is CallbackStatus.CANCELLED


async def test_consent_to_be_called_is_recorded_by_whoever_reaches_the_customer_and_audited() -> None:
    floor = Floor()
    rina = await floor.customer(agreed=False)
    service = CustomerService(floor.distributor, floor.policy, floor.customers, _NoPops(),
                              AuditTrail(floor.audit, lambda: floor.now))
    with pytest.raises(NotFound):
        await service.set_consent(BOB, rina, {"phone_calls": True}, source="t")
    record = await service.set_consent(ANA, rina, {"phone_calls": True}, source="t")
    assert record.consent == Consent(phone_calls=True)
    surveys = await service.set_consent(ANA, rina, {"surveys": True}, source="t")  # the rest stays
    assert surveys.consent == Consent(phone_calls=True, surveys=True)
    assert [(e.action, e.detail) for e in floor.audit.entries] == [("change", {"consent": {"phone_calls": True}}),
                                                                   ("change", {"consent": {"surveys": True}})]
    await floor.outbound.dial(ANA, rina, source="t")  # now allowed


class _NoPops:
    def customer_changed(self, customer_id: str) -> None: ...

    def wrapped_up(self, agent_id: str, call_id: str) -> None: ...


async def test_a_callback_its_agent_cannot_take_goes_to_the_team_who_sees_and_dials_it() -> None:
    floor = Floor()
    rina = await floor.customer()
    floor.distributor.set_not_ready("ana", "lunch")
    callback = await floor.scheduler.schedule(ANA, rina, due_at=MORNING, reason="invoice", source="t")
    await floor.scheduler.tick()
    [preview] = floor.recorder.of(Preview)
    assert preview.agent_id == "bob"  # never served Rina, yet it is his to dial now
    assert (await floor.scheduler.get(BOB, callback.callback_id)).reason == "invoice"
    await floor.scheduler.dial(BOB, callback.callback_id, source="t")
    assert [o.agent_id for o in floor.recorder.of(Offer)] == ["bob"]
