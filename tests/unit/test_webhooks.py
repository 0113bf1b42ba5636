"""Webhooks without I/O: the signature a partner verifies, the backoff schedule, the event filter, the events the
core's changes make, and the lanes' order on in-memory stand-ins (the real outbox, receiver and database are in
tests/integration/test_webhooks_delivery.py)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cti.acd import AgentChanged, Channel, ContactCenter, WorkChanged, WorkItem
from cti.errors import Fenced, InvalidInput, Unavailable
from cti.records import InteractionRecord, UserRecord, WebhookSubscription
from cti.services import (
    AuditTrail,
    CommandBus,
    CustomerService,
    DeliveryPolicy,
    Distributor,
    OutboxEntry,
    Policy,
    Webhooks,
    WrapUp,
    WrapUpService,
    check_filters,
    matches,
    retry_delay,
    signature,
    verify_signature,
)
from tests.api import PopsSeen
from tests.unit.fakes import FakeAuditLog, FakeCustomers, FakeDeadLetters, FakeInteractions

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def test_the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body() -> None:
    body = b'{"id":"e1","type":"call.ended"}'
    expected = hmac.new(b"whsec_test", b"1765000000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_test", 1765000000, body) == f"t=1765000000,v1={expected}"


def test_a_receiver_accepts_a_fresh_signature_and_refuses_a_changed_old_or_foreign_one() -> None:
    body = b'{"id":"e1"}'
    header = signature("whsec_test", 1000, body)
    assert verify_signature("whsec_test", header, body, now=1100)
    assert not verify_signature("whsec_test", header, body + b" ", now=1100)  # body changed
    assert not verify_signature("whsec_test", header, body, now=1000 + 301)  # replayed too late
    assert not verify_signature("whsec_other", header, body, now=1100)
    assert not verify_signature("whsec_test", "v1=deadbeef", body, now=1100)


def test_retries_wait_twice_as_long_each_time_up_to_the_cap() -> None:
    assert [retry_delay(n, base=1.0, cap=300.0) for n in range(1, 12)] == [
        1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]
    assert retry_delay(1000, base=0.5, cap=60.0) == 60.0


@pytest.mark.parametrize(("filters", "event", "taken"), [
    (["call.ended"], "call.ended", True),
    (["call.ended"], "call.answered", False),
    (["call.*"], "call.answered", True),
    (["call.*"], "callback.scheduled", False),  # a family is up to the dot, not a prefix of the name
    (["*"], "customer.changed", True),
    (["customer.changed", "call.offered"], "call.offered", True),
])
def test_a_filter_takes_events_by_name_family_or_all(filters: list[str], event: str, taken: bool) -> None:
    assert matches(filters, event) is taken


def test_filters_name_catalogued_events_only() -> None:
    assert check_filters(["call.*", "customer.changed", "call.*"]) == ("call.*", "customer.changed")
    for bad in (["call.exploded"], ["phone.*"], ["call"], []):
        with pytest.raises(InvalidInput):
            check_filters(bad)


# -- in-memory stand-ins for the lanes' logic ----------------------------------------------------------------------

class MemoryOutbox:
    def __init__(self) -> None:
        self.streams: dict[str, list[OutboxEntry]] = {}
        self.pending: dict[str, set[str]] = {}
        self.next = 0
        self.arrived = asyncio.Event()

    async def append(self, entries: Sequence[tuple[str, str, bytes]]) -> None:
        for sid, subject, body in entries:
            self.next += 1
            self.streams.setdefault(sid, []).append(OutboxEntry(f"{self.next}-0", subject, body))
        self.arrived.set()

    async def read(self, subscription_id: str, *, after: str | None, count: int,
                   block_ms: int) -> list[OutboxEntry]:
        pending = self.pending.setdefault(subscription_id, set())
        if after is not None:
            return []
        fresh = [e for e in self.streams.get(subscription_id, []) if e.entry_id not in pending][:count]
        if not fresh:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), block_ms / 1000)
            except TimeoutError:
                pass
            return []
        pending.update(e.entry_id for e in fresh)
        return fresh

    async def done(self, subscription_id: str, entry_id: str) -> None:
        self.streams[subscription_id] = [e for e in self.streams[subscription_id] if e.entry_id != entry_id]

    async def backlog(self, subscription_id: str) -> int:
        return len(self.streams.get(subscription_id, []))

    async def drop(self, subscription_id: str) -> None:
        self.streams.pop(subscription_id, None)


class ScriptedSender:
    """Answers 500 to the first ``failures[subject]`` requests of a subject, then 200; records what it took."""

    def __init__(self, failures: Mapping[str, int]) -> None:
        self.failures = dict(failures)
        self.taken: list[tuple[str, str]] = []

    async def check(self, url: str) -> None:
        pass

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        event = json.loads(body)
        if self.failures.get(event["subject"], 0) > 0:
            self.failures[event["subject"]] -= 1
            if event["subject"] == "call:timeout":
                raise Unavailable("no answer")
            return 500
        self.taken.append((event["subject"], event["data"]["n"]))
        return 200


class MemorySubscriptions:
    def __init__(self, *subscriptions: WebhookSubscription) -> None:
        self.rows = {s.subscription_id: s for s in subscriptions}

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        self.rows[subscription.subscription_id] = subscription
        return subscription

    async def get(self, subscription_id: str) -> WebhookSubscription | None:
        return self.rows.get(subscription_id)

    async def list(self) -> list[WebhookSubscription]:
        return list(self.rows.values())

    async def update(self, subscription: WebhookSubscription) -> bool:
        self.rows[subscription.subscription_id] = subscription
        return True

    async def delete(self, subscription_id: str) -> bool:
        return self.rows.pop(subscription_id, None) is not None


SUB = WebhookSubscription(subscription_id="0123456789abcdef", url="https://partner.example/hooks",
                          events=("*",), secret="whsec_test")


def _hooks(sender: ScriptedSender, outbox: MemoryOutbox, letters: FakeDeadLetters | None = None, *,
           attempts: int = 10) -> Webhooks:
    return Webhooks(MemorySubscriptions(SUB), outbox, sender, letters or FakeDeadLetters(),
                    AuditTrail(FakeAuditLog(), lambda: T0), clock=lambda: T0,
                    policy=DeliveryPolicy(max_attempts=attempts, retry_base=0.001, retry_cap=0.004))


async def _settle(outbox: MemoryOutbox, hooks: Webhooks) -> None:
    await hooks.flush()
    for _ in range(2000):
        if not outbox.streams.get(SUB.subscription_id):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"still in the outbox: {outbox.streams}")


async def test_a_failing_subject_keeps_its_order_and_holds_back_no_other_subject() -> None:
    outbox, sender = MemoryOutbox(), ScriptedSender({"call:a": 3, "call:timeout": 2})
    hooks = _hooks(sender, outbox)
    await hooks.start()
    try:
        for n in range(5):
            for subject in ("call:a", "call:b", "call:timeout"):
                hooks.notify("call.answered", subject, {"n": n})
        await _settle(outbox, hooks)
    finally:
        await hooks.close()
    for subject in ("call:a", "call:b", "call:timeout"):
        assert [n for s, n in sender.taken if s == subject] == [0, 1, 2, 3, 4]
    # call:b never waited for call:a's retries: all of it was taken before call:a's first event.
    first_a = sender.taken.index(("call:a", 0))
    assert [n for s, n in sender.taken[:first_a] if s == "call:b"] == [0, 1, 2, 3, 4]
    metrics = await hooks.metrics(SUB.subscription_id)
    assert (metrics["delivered"], metrics["failures"], metrics["attempts"], metrics["dead_letters"]) == (15, 5, 20, 0)


async def test_an_event_refused_every_time_becomes_a_dead_letter_and_the_lane_goes_on() -> None:
    outbox, sender, letters = MemoryOutbox(), ScriptedSender({"call:a": 3}), FakeDeadLetters()
    hooks = _hooks(sender, outbox, letters, attempts=3)
    await hooks.start()
    try:
        hooks.notify("call.ended", "call:a", {"n": 0})
        hooks.notify("call.ended", "call:a", {"n": 1})
        await _settle(outbox, hooks)
        [letter] = await letters.list()
        assert (letter.kind, letter.key) == ("webhook", f"{SUB.subscription_id}/call:a")
        assert letter.payload["event"]["data"] == {"n": 0}
        assert letter.error == "3 attempts: the receiver answered 500"
        assert sender.taken == [("call:a", 1)]
        await hooks.requeue(letter.payload)  # what a replay does
        await _settle(outbox, hooks)
        assert sender.taken == [("call:a", 1), ("call:a", 0)]
    finally:
        await hooks.close()


class FencedOutbox(MemoryOutbox):
    """The outbox of a deposed leader: a newer term's token refuses every addition."""

    async def append(self, entries: Sequence[tuple[str, str, bytes]]) -> None:
        raise Fenced("webhook events not added: fencing token 41 is not the current one (42); a newer leader started")


async def test_a_deposed_leader_s_events_are_dropped_not_retried_and_its_writer_goes_on() -> None:
    outbox = FencedOutbox()
    hooks = _hooks(ScriptedSender({}), outbox)
    await hooks.start()
    try:
        hooks.notify("call.ended", "call:a", {"n": 0})
        await asyncio.wait_for(hooks.flush(), 5)  # idle again: not waiting to retry what can never be added
        hooks.notify("call.ended", "call:a", {"n": 1})
        await asyncio.wait_for(hooks.flush(), 5)
        assert outbox.streams == {}
    finally:
        await hooks.close()


async def test_the_core_changes_become_offered_answered_and_ended_once_each() -> None:
    outbox = MemoryOutbox()
    hooks = _hooks(ScriptedSender({}), outbox)
    told: list[tuple[str, str, Mapping[str, Any]]] = []

    def spy(event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        told.append((event_type, subject, data))

    hooks.notify = spy  # type: ignore[method-assign]
    now = [T0]
    bus = CommandBus({WorkChanged: [hooks.work_changed], AgentChanged: [hooks.agent_changed]})
    distributor = Distributor(ContactCenter(), lambda: now[0], bus)
    distributor.register_agent("ani", "Ani")
    distributor.login("ani", "7001", ready=True)
    distributor.arrive(WorkItem(call_id="c1", channel_id="leg-c1", caller_number="0215550101",
                                service_number="1500100", queue="", arrived_at=T0))
    distributor.offer_answered("c1-a1")
    now[0] = T0 + timedelta(seconds=30)
    distributor.leg_gone("leg-c1")
    assert [(kind, subject) for kind, subject, _ in told] == [
        ("call.offered", "call:c1"), ("call.answered", "call:c1"), ("call.ended", "call:c1")]
    ended = told[2][2]
    assert (ended["outcome"], ended["talk_seconds"], ended["agent_id"]) == ("answered", 30.0, "ani")
    assert "0215550101" not in json.dumps([data for *_, data in told])  # never the caller's number


async def test_a_chat_routed_to_an_agent_becomes_chat_events_as_a_call_does() -> None:
    outbox = MemoryOutbox()
    hooks = _hooks(ScriptedSender({}), outbox)
    told: list[tuple[str, str, Mapping[str, Any]]] = []
    hooks.notify = lambda kind, subject, data: told.append((kind, subject, data))  # type: ignore[method-assign]
    bus = CommandBus({WorkChanged: [hooks.work_changed], AgentChanged: [hooks.agent_changed]})
    distributor = Distributor(ContactCenter(), lambda: T0, bus)
    distributor.register_agent("ani", "Ani", {"capacity": {"chat": 2}})
    distributor.login("ani", "7001", ready=True)
    distributor.arrive(WorkItem(call_id="chat-1", channel_id="chat-1-c", caller_number="", service_number="chat",
                                queue="", arrived_at=T0, channel=Channel.CHAT))
    distributor.offer_answered("chat-1-a1")
    distributor.leg_gone("chat-1-c")
    assert [(kind, subject) for kind, subject, _ in told] == [
        ("chat.offered", "chat:chat-1"), ("chat.answered", "chat:chat-1"), ("chat.ended", "chat:chat-1")]
    assert told[2][2]["channel"] == "chat"


async def test_an_event_waits_in_the_outbox_while_its_dead_letter_cannot_be_stored() -> None:
    outbox, letters = MemoryOutbox(), FakeDeadLetters()
    letters.down = True
    hooks = _hooks(ScriptedSender({"call:a": 5}), outbox, letters, attempts=2)
    await hooks.start()
    try:
        hooks.notify("call.ended", "call:a", {"n": 0})
        await hooks.flush()
        for _ in range(200):
            if hooks.stats_of(SUB.subscription_id).attempts == 2:
                break
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)
        assert await outbox.backlog(SUB.subscription_id) == 1  # not acknowledged: it is nowhere else yet
        letters.down = False
        await _settle(outbox, hooks)
    finally:
        await hooks.close()
    [letter] = await letters.list(kind="webhook")
    assert letter.payload["event"]["data"] == {"n": 0}


async def test_a_wrap_up_and_a_customer_s_record_or_consent_tell_the_webhooks() -> None:
    told: list[tuple[str, str, Mapping[str, Any]]] = []

    def notify(event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        told.append((event_type, subject, dict(data)))

    distributor = Distributor(ContactCenter(), lambda: T0, CommandBus({}))
    interactions, customers = FakeInteractions(), FakeCustomers()
    await interactions.save(InteractionRecord(call_id="c1", channel_id="leg", caller_number="0215550123",
                                              service_number="1500100", queue="general", agent_id="ani",
                                              arrived_at=T0, customer_id=None))
    ani = UserRecord(user_id=2, name="ani", role="agent", agent_id="ani", disabled=False)
    admin = UserRecord(user_id=1, name="admin", role="admin", agent_id=None, disabled=False)
    policy = Policy(distributor.query, interactions)
    wrap_up = WrapUpService(distributor, policy, interactions, customers, PopsSeen(), ["resolved"], notify=notify)
    await wrap_up.wrap_up(ani, "c1", WrapUp("resolved", notes="the caller's private words"))
    records = CustomerService(distributor, policy, customers, PopsSeen(), AuditTrail(FakeAuditLog(), lambda: T0),
                              notify=notify)
    customer = await records.create(admin, call_id=None, name="Rina", phone="0813 9000 1234", source="t")
    await records.set_consent(admin, customer.customer_id, {"phone_calls": True}, source="t")
    await records.set_consent(admin, customer.customer_id, {"surveys": True, "email": False}, source="t")
    assert told == [
        ("call.wrapup", "call:c1", {"call_id": "c1", "agent_id": "ani", "customer_id": None,
                                    "disposition": "resolved", "at": T0.isoformat()}),  # never the notes
        ("customer.changed", f"customer:{customer.customer_id}",
         {"customer_id": customer.customer_id, "change": "created", "fields": ["name", "phones", "email", "language"]}),
        ("customer.changed", f"customer:{customer.customer_id}",
         {"customer_id": customer.customer_id, "change": "changed", "fields": ["consent.phone_calls"]}),
        ("customer.changed", f"customer:{customer.customer_id}",
         {"customer_id": customer.customer_id, "change": "changed", "fields": ["consent.email", "consent.surveys"]}),
    ]
