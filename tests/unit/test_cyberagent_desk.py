"""The virtual agent's use case on in-memory twins (the real-component test is
tests/integration/test_cyberagent_api.py): replies kept for their owner only, for a while and up to a bound; the
agent rebuilt when the FAQ changes; a verified customer's reads audited as their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.crm import CustomerView, OrderRecord, ProductRecord
from cti.cyberagent import Session
from cti.errors import InvalidInput, NotFound
from cti.records import UserRecord
from cti.services import REPLY_TTL, AuditTrail, CyberAgentDesk, Faq, FaqDraft, _cyberagent
from cti.sim._crm_seed_data import PRODUCTS
from cti.types import Language
from tests.unit.fakes import FakeAuditLog, FakeFaq

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SUE = UserRecord(user_id=2, name="sue", role="supervisor", agent_id=None, disabled=False)
ROOT = UserRecord(user_id=1, name="root", role="admin", agent_id=None, disabled=False)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Customers:
    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None:
        return None

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> list[OrderRecord]:
        return [OrderRecord(order_number="70012345", customer_id=customer_id, status="paid", items=(),
                            total_minor=1, placed_at=T0)]

    async def catalog(self, *, include_inactive: bool = False) -> list[ProductRecord]:
        return list(PRODUCTS)


class Voice:
    def __init__(self) -> None:
        self.said: list[tuple[str, Language]] = []

    async def speak(self, text: str, language: Language) -> bytes:
        self.said.append((text, language))
        return b"RIFF"


async def desk(clock: Clock, voice: Voice | None = None) -> tuple[CyberAgentDesk, Faq, AuditTrail]:
    faq = Faq(FakeFaq(), clock=clock)
    await faq.create(SUE, FaqDraft(texts={"en": {"question": "Where is the parcel?", "answer": "On its way.",
                                                 "keywords": ["parcel location", "track the parcel"]}}),
                     entry_id="parcel", publish=True)
    await faq.create(SUE, FaqDraft(texts={"en": {"question": "How do I pay?", "answer": "By card.",
                                                 "keywords": ["payment methods", "pay by card"]}}),
                     entry_id="pay", publish=True)
    trail = AuditTrail(FakeAuditLog(), clock)
    return CyberAgentDesk(faq, Customers(), trail, clock=clock, voice=voice), faq, trail


async def test_a_reply_is_heard_by_its_owner_only_and_not_after_it_expired() -> None:
    clock, voice = Clock(), Voice()
    agent, _, _ = await desk(clock, voice)
    spoken = await agent.respond(Session(lang="en"), "where is the parcel", owner="chat:1")
    assert spoken.reply.source is not None and spoken.reply.source.entry_id == "parcel"
    assert await agent.audio(spoken.reply_id, owner="chat:1") == b"RIFF"
    assert voice.said == [("On its way.", "en")]
    with pytest.raises(NotFound):
        await agent.audio(spoken.reply_id, owner="chat:2")
    clock.now += REPLY_TTL + timedelta(seconds=1)
    with pytest.raises(NotFound):
        await agent.audio(spoken.reply_id, owner="chat:1")
    with pytest.raises(InvalidInput):
        await agent.respond(Session(), "x" * 1001, owner="chat:1")


async def test_replies_kept_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_cyberagent, "MAX_REPLIES", 2)
    agent, _, _ = await desk(Clock(), Voice())
    first, second, third = [await agent.respond(Session(lang="en"), "pay by card", owner="chat:1")
                            for _ in range(3)]
    with pytest.raises(NotFound):
        await agent.audio(first.reply_id, owner="chat:1")
    assert await agent.audio(third.reply_id, owner="chat:1") == b"RIFF"
    assert agent.forget("chat:1") == 2
    with pytest.raises(NotFound):
        await agent.audio(second.reply_id, owner="chat:1")


async def test_the_agent_follows_the_published_faq_and_audits_own_reads() -> None:
    clock = Clock()
    agent, faq, trail = await desk(clock)
    before = await agent.agent()
    assert await agent.agent() is before
    await faq.set_status("pay", "archived")
    assert await agent.agent() is not before
    spoken = await agent.respond(Session(customer_id="10000001"), "where is my order", owner="customer:10000001")
    assert spoken.reply.text == "Your orders: number 70012345, paid and being prepared."
    assert [(e.actor, e.action, e.subject_id, e.source) for e in await trail.search(ROOT)] == [
        ("customer:10000001", "view", "10000001", "cyberagent")]
    assert not agent.speaks
    with pytest.raises(NotFound):
        await agent.audio(spoken.reply_id, owner="customer:10000001")



async def test_the_desk_learns_from_labelled_questions_and_the_published_faq() -> None:
    clock = Clock()
    faq = Faq(FakeFaq(), clock=clock, questions={"en": [("parcel", "wheres the box i was sent"),
                                                        ("gone", "an entry the faq does not have")]})
    await faq.create(SUE, FaqDraft(texts={"en": {"question": "Where is the parcel?", "answer": "On its way.",
                                                 "keywords": ["parcel location"]}}), entry_id="parcel", publish=True)
    questions = {"en": [("order_status", "how is my order doing"), ("order_status", "my order, any news"),
                        ("balance", "how much do i owe"), ("other", "what time do you open")]}
    agent = CyberAgentDesk(faq, Customers(), AuditTrail(FakeAuditLog(), clock), clock=clock, questions=questions)
    built = await agent.agent()
    assert built.intents is not None
    assert built.intents.probabilities("how is my order doing", "en")["order_status"] > 0.5
    # The published FAQ's own phrasings are "something else" to the intent model.
    assert built.intents.probabilities("parcel location", "en")["other"] > 0.5
    # The FAQ's classifier learnt the question labelled with its entry.
    assert (await faq.index()).classify("wheres the box i was sent", "en")[0].entry.entry_id == "parcel"
    # The words it has seen (the FAQ's texts, the learnt questions): a name outside them is another company's.
    assert built.known is not None and {"parcel", "owe", "way"} <= built.known
    assert "zelkom" not in built.known
    reply = (await agent.respond(Session(lang="en"), "where is the zelkom parcel", owner="chat:1")).reply
    assert reply.action == "handover" and reply.handover is not None and reply.handover.reason == "unsure"
    plain, _, _ = await desk(clock)
    assert (await plain.agent()).intents is None
