"""How a left message is answered, on the fakes: the default way from what the customer has on file and agreed to
(and whether cti can mail), an e-mail task in the queue the rules put the customer's chat in, a call through the
portal's own callback request, and the refusals in the customer's terms. The same over HTTP, SQL and SMTP, with the
task list: tests/integration/test_follow_up_tasks.py."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cti.acd import CallingHours, ContactCenter, ContactPolicy, ContactRules, parse_rules
from cti.crm import Consent, CustomerRecord
from cti.errors import Conflict, InvalidInput
from cti.services import AuditTrail, CenterView, FollowUps, FollowUpStore, Policy, PortalSelfService
from cti.settings import DEFAULT_CALLBACK_NUMBERS
from cti.types import Language
from tests.unit.fakes import FakeAuditLog, FakeCallbacks, FakeCustomers, FakeDoNotCall, FakeInteractions

NOW = datetime(2026, 12, 7, 7, 0, tzinfo=UTC)  # 14:00 WIB: within the calling hours
RULES = {"queues": {"general": {}, "web": {}, "vip": {}},
         "routes": [{"name": "vip chats", "when": {"service_number": "chat", "value_tier": "gold"}, "queue": "vip"},
                    {"name": "chats", "when": {"service_number": "chat"}, "queue": "web"}]}


class Mailer:
    async def send_answer(self, to: str, answer: str, *, language: Language, message: str | None) -> None:
        raise AssertionError("leaving a message mails nothing")


class Desk:
    def __init__(self, *, mailer: bool = True) -> None:
        self.customers, self.callbacks, self.audit = FakeCustomers(), FakeCallbacks(), FakeAuditLog()
        query = CenterView(ContactCenter(parse_rules(RULES)), lambda: NOW)
        audit = AuditTrail(self.audit, lambda: NOW)
        contact = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=CallingHours.parse("08:00-20:00")))
        portal = PortalSelfService(self.customers, object(), self.callbacks, FakeDoNotCall(),  # type: ignore[arg-type]
                                   contact, audit, queue=lambda: "general", lock=asyncio.Lock(), clock=lambda: NOW)
        # The store is the tasks' (the list, taking, completing): leaving a message never reaches it.
        store: FollowUpStore = object()  # type: ignore[assignment]
        self.service = FollowUps(store, self.customers, Policy(query, FakeInteractions()), query, portal, audit,
                                 mailer=Mailer() if mailer else None, clock=lambda: NOW)

    async def customer(self, *, email: str | None = "andi@example.com", phone: str | None = "0812 1000 0001",
                       consent: Consent | None = None, tier: str | None = None) -> CustomerRecord:
        record = await self.customers.create_blank_customer(phone, name="Andi", email=email)
        record = replace(record, consent=consent or Consent(), value_tier=tier)
        self.customers.customers[record.customer_id] = record
        return record


@pytest.mark.parametrize(("email", "phone", "consent", "mailer", "expected"), [
    ("andi@example.com", "0812 1000 0001", Consent(email=True, phone_calls=True), True, "email"),
    ("andi@example.com", "0812 1000 0001", Consent(email=True, phone_calls=True), False, "call"),  # no mail server
    ("andi@example.com", "0812 1000 0001", Consent(phone_calls=True), True, "call"),  # no consent to mails
    ("andi@example.com", "0812 1000 0001", Consent(), True, "email"),  # neither: what they have, refused after
    (None, "0812 1000 0001", Consent(email=True), True, "call"),
])
async def test_the_default_way_is_what_the_customer_has_and_agreed_to(
        email: str | None, phone: str | None, consent: Consent, mailer: bool, expected: str) -> None:
    desk = Desk(mailer=mailer)
    andi = await desk.customer(email=email, phone=phone, consent=consent)
    assert desk.service.reply_by(andi) == expected


async def test_an_e_mail_answer_is_a_task_of_the_queue_the_rules_put_the_customers_chat_in() -> None:
    desk = Desk()
    gold = await desk.customer(consent=Consent(email=True), tier="gold")
    left = await desk.service.leave_message(gold, "  Where is\u200b my parcel?  ", topic="orders", source="t")
    assert (left.reply_by, left.task_id, left.callback) == ("email", 1, None)
    [contact] = desk.customers.contacts
    assert (contact.channel, contact.notes, contact.reason, contact.follow_up_task, contact.follow_up_at) == (
        "chat", "Where is my parcel?", "orders", "Answer the message the customer left by chat, by e-mail", NOW)
    assert [(e.action, e.subject_type, e.subject_id, e.detail) for e in desk.audit.entries] == [
        ("create", "task", "1", {"customer_id": gold.customer_id, "reply_by": "email", "queue": "vip"})]
    plain = await desk.customer(email="budi@example.com", phone=None, consent=Consent(email=True))
    await desk.service.leave_message(plain, "Halo", source="t")
    assert desk.audit.entries[-1].detail == {"customer_id": plain.customer_id, "reply_by": "email", "queue": "web"}


async def test_a_call_answer_is_the_portals_callback_request_with_the_message_as_its_reason() -> None:
    desk = Desk()
    andi = await desk.customer(consent=Consent(phone_calls=True))
    left = await desk.service.leave_message(andi, "x" * 400, reply_by="call", source="t")
    assert left.callback is not None and left.task_id is None
    assert (left.callback.due_at, left.callback.queue, left.callback.reason) == (
        NOW, "general", "asked on the web portal: message left by chat: " + "x" * 299 + "…")
    assert [(c.channel, c.notes, c.follow_up_task) for c in desk.customers.contacts][-1] == ("chat", "x" * 400, None)


@pytest.mark.parametrize(("reply_by", "email", "phone", "consent", "mailer", "refusal", "code"), [
    ("email", None, "0812 1000 0001", Consent(email=True), True, InvalidInput, "no_email"),
    ("email", "andi@example.com", None, Consent(), True, Conflict, "no_email_consent"),
    ("email", "andi@example.com", None, Consent(email=True), False, Conflict, "mail_unavailable"),
    ("call", "andi@example.com", None, Consent(phone_calls=True), True, InvalidInput, "no_phone"),
    ("call", None, "0812 1000 0001", Consent(email=True), True, Conflict, "no_contact_consent"),
])
async def test_a_way_that_cannot_be_used_is_refused_and_nothing_is_kept(
        reply_by: str, email: str | None, phone: str | None, consent: Consent, mailer: bool,
        refusal: type[Exception], code: str) -> None:
    desk = Desk(mailer=mailer)
    andi = await desk.customer(email=email, phone=phone, consent=consent)
    with pytest.raises(refusal) as refused:
        await desk.service.leave_message(andi, "Halo", reply_by="email" if reply_by == "email" else "call",
                                         source="t")
    assert getattr(refused.value, "code", None) == code
    assert desk.customers.contacts == [] and desk.callbacks.callbacks == {}
