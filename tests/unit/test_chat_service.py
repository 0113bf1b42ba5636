"""The chat use case on in-memory twins of its log and transcript store (tests/integration/test_chat_api.py drives
the same over HTTP on real Redis and SQL): routed by the core, told to the right people, stored when it ends, and
a message Redis does not take refused rather than kept in memory."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.acd import Capacity, Channel, Connect, ContactCenter, Hangup, Hold, Offer, WorkChanged, parse_rules
from cti.chat import Sender
from cti.crm import Consent, CustomerRecord
from cti.errors import Conflict, NotFound, TooMany, Unavailable
from cti.records import UserRecord
from cti.services import (
    CUSTOMER_BURST,
    CUSTOMER_WINDOW,
    CenterView,
    ChatChannel,
    ChatService,
    ChatStart,
    ErasureSubject,
    Policy,
)
from tests.unit.fakes import FakeChatLog, FakeCustomers, FakeInteractions, FakePublisher, FakeTranscripts, distributor

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)
ANI = UserRecord(user_id=1, name="agent-ani", role="agent", agent_id="ani", disabled=False)
BUDI = UserRecord(user_id=2, name="agent-budi", role="agent", agent_id="budi", disabled=False)


def world() -> tuple[ChatService, ChatChannel, FakeChatLog, FakeTranscripts, FakePublisher]:
    core = ContactCenter(parse_rules({"queues": {"general": {"wrap_up_seconds": 0}}}))
    log, transcripts, hub = FakeChatLog(), FakeTranscripts(), FakePublisher()
    channel = ChatChannel(log, transcripts, hub, CenterView(core, lambda: T0), lambda: T0, accept_seconds=0)
    text = Channel.CHAT
    center = distributor(core, now=T0, table={
        (Offer, text): [channel.offered], (Connect, text): [channel.connected], (Hangup, text): [channel.hung_up],
        (Hold, text): [channel.held], WorkChanged: [channel.work_changed]})
    for agent_id in ("ani", "budi"):
        center.register_agent(agent_id, f"{agent_id.title()} Lestari", {"capacity": {"chat": 1}})
    center.login("ani", "7001", ready=True)
    assert core.agent("ani").capacity == Capacity.of({"chat": 1})
    return ChatService(center, channel, Policy(center.query, FakeInteractions()), FakeCustomers()), channel, log, \
        transcripts, hub


async def test_a_chat_is_offered_accepted_said_and_stored_when_it_ends() -> None:
    service, channel, log, transcripts, hub = world()
    session, secret = await service.start(ChatStart(name="Siti", language="id", text="Halo"))
    assert [data["chat_id"] for data in hub.of("agent:ani", "chat_offer")] == [session.chat_id]
    with pytest.raises(NotFound):
        service.customer_chat(session.chat_id, "not-the-secret")
    with pytest.raises(NotFound):
        service.accept(BUDI, session.chat_id)  # not offered to Budi
    service.accept(ANI, session.chat_id)
    await service.agent_says(ANI, session.chat_id, "Ada yang bisa dibantu?")
    await service.customer_says(service.customer_chat(session.chat_id, secret), "Tagihan saya")
    with pytest.raises(Conflict):
        service.accept(ANI, session.chat_id)  # connected already
    service.end(ANI, session.chat_id)
    await channel.drain()
    assert [(m.sender, m.text) for m in transcripts.stored[session.chat_id]] == [
        (Sender.CUSTOMER, "Halo"), (Sender.SYSTEM, "Ani joined the chat"), (Sender.AGENT, "Ada yang bisa dibantu?"),
        (Sender.CUSTOMER, "Tagihan saya"), (Sender.SYSTEM, "The chat has ended")]
    assert (log.kept, log.messages) == ({}, {})  # stored: the live copy goes
    assert [m["text"] for m in hub.of("agent:ani", "chat_message")] == ["Ani joined the chat",
                                                                        "Ada yang bisa dibantu?", "Tagihan saya"]


async def test_a_message_redis_does_not_take_is_refused_and_told_to_nobody() -> None:
    service, _, log, _, hub = world()
    session, secret = await service.start(ChatStart(name="Siti", language="id"))
    service.accept(ANI, session.chat_id)
    log.away = True
    with pytest.raises(Unavailable):
        await service.customer_says(service.customer_chat(session.chat_id, secret), "Halo?")
    assert hub.of("agent:ani", "chat_message") == []


async def test_erasure_drops_what_a_customer_said_in_a_live_chat_and_their_name() -> None:
    service, channel, log, _, _ = world()
    siti = CustomerRecord(customer_id="10000002", name="Siti Rahayu", phones=("+6281210000002",), email=None,
                          address=None, city=None, region=None, country="ID", language="id", segment=None,
                          value_tier=None, lifetime_value_minor=0, consent=Consent(), forgotten_at=None,
                          created_at=T0, updated_at=T0)
    session, _ = await service.start(ChatStart(name="", language="id", customer=siti, text="alamat saya di Mawar 5"))
    other, _ = await service.start(ChatStart(name="Joko", language="id", text="halo"))
    await channel.drain()
    assert await channel.forget_customer(ErasureSubject("10000002")) == 1
    assert (log.messages.get(session.chat_id), log.kept[session.chat_id].name) == (None, "")
    assert [m.text for m in log.messages[other.chat_id]] == ["halo"]


async def test_a_customer_flooding_a_chat_is_slowed_down_and_nothing_more_is_kept() -> None:
    service, _, log, _, _ = world()
    session, secret = await service.start(ChatStart(name="Bot", language="id"))
    chat = service.customer_chat(session.chat_id, secret)
    for n in range(CUSTOMER_BURST):
        await service.customer_says(chat, f"spam {n}")
    with pytest.raises(TooMany) as slowed:
        await service.customer_says(chat, "one more")
    assert slowed.value.retry_after == CUSTOMER_WINDOW
    assert len(log.messages[session.chat_id]) == CUSTOMER_BURST
