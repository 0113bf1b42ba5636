"""Web chat, routed like a call: the chat channel's adapter (:class:`ChatChannel`) and its use cases
(:class:`ChatService`).

A chat is a work item of the ``chat`` channel in the same core: the same rules place it (``service_number``
``chat``, the customer's language, topic as product, value tier and region from their CRM record), the same
capacities and exclusivity decide who may take it, the same escalation, calendars and transfers apply. What the
core asks of the chat channel is carried out here, in :class:`ChatChannel`, registered in the handler table for
``(Offer, CHAT)``, ``(Connect, CHAT)``, ...: an offer goes to the agent's desktop (the screen pop follows, as
for a call), the agent's accept is the core's ``offer_answered`` of the offer's leg, a decline the core's reject
path (``leg_gone`` with ``rejected``: the agent goes not ready, as after a call refused on the phone), the customer
leaving is the customer's leg gone (abandoned while waiting), the agent ending the chat the agent's leg gone.

Every message is kept in the chat's log (Redis, :class:`~cti.services.ChatLog`) before anyone is told of it, so
a customer's page that reconnects, or a restarted cti, loses nothing; when the chat ended, its transcript goes to
SQL beside the interaction and the log is dropped. The people in a chat hear of it in two ways: the agent's
desktop on its topic (``agent:<id>``: ``chat_offer``, ``chat_message``, ``chat_typing``, ``chat_removed``), the
customer's page and supervisors watching through listeners of the chat (:meth:`ChatChannel.listen`).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Protocol

from cti.acd import (
    Announce,
    Channel,
    Connect,
    EndReason,
    Hangup,
    Hold,
    Offer,
    Outcome,
    Reject,
    Routing,
    WorkChanged,
    WorkItem,
    WorkState,
)
from cti.chat import ChatMessage, ChatSession, Link, NewMessage, Sender, clean_name, clean_text, first_name
from cti.crm import CustomerRecord
from cti.cyberagent import Handover
from cti.cyberagent import Session as BotSession
from cti.errors import Conflict, NotFound, TooMany, Unavailable
from cti.records import UserRecord
from cti.services._cyberagent import SpokenReply
from cti.services._distributor import Distributor
from cti.services._erasure import ErasureSubject
from cti.services._policy import Policy
from cti.services._ports import ChatLog, ChatTranscripts, Customers
from cti.services._query import CenterView, Placement
from cti.tasks import stop_task
from cti.types import Clock, Language, Publisher

__all__ = ["CHAT_SERVICE_NUMBER", "CUSTOMER_BURST", "CUSTOMER_MESSAGES", "CUSTOMER_WINDOW", "ChatBot", "ChatChannel",
           "ChatService", "ChatStart", "bot_owner", "chat_agent_topic"]

log = logging.getLogger("cti.services.chat")

CHAT_SERVICE_NUMBER: Final = "chat"
"""The service number chats come in on: routes match chats by it (``service_numbers: [chat]``)."""
_LISTEN_QUEUE: Final = 1024
_STORE_RETRIES: Final = 5
_CLOSED_KEPT: Final = 4096
CUSTOMER_BURST: Final = 20
"""Messages a customer may send in :data:`CUSTOMER_WINDOW` seconds: a person typing never comes near it; a
script filling Redis through a chat is stopped (429)."""
CUSTOMER_WINDOW: Final = 10.0
CUSTOMER_MESSAGES: Final = 500
"""Messages a customer may send in one chat at all (409 ``chat_too_long``)."""


class ChatBot(Protocol):
    """The virtual agent that answers a chat before any person (:class:`cti.services.CyberAgentDesk`)."""

    async def greet(self, session: BotSession, *, owner: str) -> SpokenReply: ...

    async def respond(self, session: BotSession, message: str, *, owner: str) -> SpokenReply: ...

    def forget(self, owner: str) -> int: ...

    def name(self, language: Language) -> str: ...


def bot_owner(chat_id: str) -> str:
    """Whose the virtual agent's replies in a chat are (their audio is served to that chat's customer only)."""
    return f"chat:{chat_id}"


def chat_agent_topic(agent_id: str) -> str:
    return f"agent:{agent_id}"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChatStart:
    """A customer asking for a chat: signed in on the portal (``customer``), or anonymous with a name."""

    name: str
    language: Language
    customer: CustomerRecord | None = None
    topic: str | None = None
    text: str | None = None


class ChatChannel:
    """The chat channel's adapter: sessions, the messages' log, who listens, and the core's actions on chats."""

    def __init__(self, chat_log: ChatLog, transcripts: ChatTranscripts, hub: Publisher, query: CenterView,
                 clock: Clock, *, accept_seconds: float = 30.0,
                 record: Callable[[WorkItem], None] | None = None) -> None:
        """``accept_seconds``: how long an agent has to accept an offered chat (0: as long as they like).
        ``record`` keeps the interaction of a chat that ended with the virtual agent, never routed (the
        journal's ``record``)."""
        self.log = chat_log
        self.record = record
        self.accept_seconds = accept_seconds
        self._transcripts = transcripts
        self._hub = hub
        self._query = query
        self._clock = clock
        self.sessions: dict[str, ChatSession] = {}
        self._listeners: dict[str, set[asyncio.Queue[dict[str, Any]]]] = {}
        self._legs: dict[str, str] = {}  # an offer's leg -> the agent offered (for a decline, a transfer)
        self._tails: dict[str, asyncio.Task[ChatMessage]] = {}  # the last message asked for, per chat
        self._pending: set[asyncio.Task[ChatMessage]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._storing: set[str] = set()
        # Chats that ended out of hours or with the queue full, the latest few thousand: the customer's page, whose
        # socket opens after the end, still learns it may leave a message (the end's own frame went to nobody).
        self._closed: OrderedDict[str, None] = OrderedDict()

    # -- lifecycle ------------------------------------------------------------------------------------------
    async def restore(self) -> list[ChatSession]:
        """The chats a previous process left: live ones carry on (the core has their items from the live store);
        ended ones whose transcript was not stored yet are stored now."""
        sessions = await self.log.sessions()
        for item in self._query.calls():
            if item.channel is Channel.CHAT and item.agent_id and item.agent_channel_id:
                self._legs[item.agent_channel_id] = item.agent_id
        for session in sessions:
            self.sessions[session.chat_id] = session
            with_bot = session.bot is not None and session.ended_at is None  # never routed: not the core's
            if session.ended_at is not None or (not with_bot and not self._query.is_live(session.chat_id)):
                self._spawn(self._store(session.chat_id))
        return sessions

    async def drain(self) -> None:
        """Wait for the messages and transcripts under way (tests, shutdown)."""
        while self._tasks or self._pending:
            await asyncio.gather(*self._tasks, *self._pending, return_exceptions=True)

    async def close(self) -> None:
        for task in [*self._pending, *self._tasks]:
            await stop_task(task)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def forget_customer(self, subject: ErasureSubject) -> int:
        """Erasure: what the customer said in chats still kept in Redis (live, or not yet stored) goes, and their
        name with it; a live chat goes on without them. How many chats."""
        forgotten = 0
        for session in list(self.sessions.values()):
            if session.customer_id != subject.customer_id:
                continue
            anonymous = replace(session, name="")
            await self.log.drop(session.chat_id)
            await self.log.save_session(anonymous)
            self.sessions[session.chat_id] = anonymous
            forgotten += 1
        return forgotten

    # -- who listens ----------------------------------------------------------------------------------------
    @contextmanager
    def listen(self, chat_id: str) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """Events of the chat while the block runs: ``message`` (a kept message), ``typing``, ``state``."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(_LISTEN_QUEUE)
        self._listeners.setdefault(chat_id, set()).add(queue)
        try:
            yield queue
        finally:
            listeners = self._listeners.get(chat_id)
            if listeners is not None:
                listeners.discard(queue)
                if not listeners:
                    del self._listeners[chat_id]

    def _tell(self, chat_id: str, event: dict[str, Any]) -> None:
        for queue in list(self._listeners.get(chat_id, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a stalled page: it resumes from its last message id when it reconnects
                log.warning("a listener of chat %s fell behind; dropping an event", chat_id)

    def state(self, chat_id: str) -> dict[str, Any]:
        """Where the chat is, as the customer's page shows it: waiting (with its position), with an agent (their
        first name), or ended."""
        item = self._query.find_call(chat_id)
        session = self.sessions.get(chat_id)
        if item is None and session is not None and session.bot is not None and session.ended_at is None:
            return {"chat_id": chat_id, "state": "bot", "position": None, "agent_name": None, "ended_at": None}
        if item is None:
            return {"chat_id": chat_id, "state": "ended", "position": None, "agent_name": None,
                    "ended_at": session.ended_at.isoformat() if session and session.ended_at else None,
                    "leave_message": chat_id in self._closed}
        position = self._query.position(chat_id) if item.state is WorkState.WAITING else None
        agent = None
        if item.state is WorkState.CONNECTED and item.agent_id and self._query.has_agent(item.agent_id):
            agent = first_name(self._query.agent(item.agent_id).name) or None
        state = {WorkState.CONNECTED: "connected"}.get(item.state, "waiting")
        return {"chat_id": chat_id, "state": state, "position": position, "agent_name": agent, "ended_at": None}

    # -- messages ---------------------------------------------------------------------------------------------
    async def say(self, chat_id: str, message: NewMessage) -> ChatMessage:
        """Keep the message, then tell everyone in the chat: in the order :meth:`say` (or a system message) was
        asked for, whatever the awaits between."""
        return await self._queue(chat_id, message)

    def _queue(self, chat_id: str, message: NewMessage) -> asyncio.Task[ChatMessage]:
        # Each message waits for the one asked for before it: its place is taken now, synchronously, so a system
        # message decided in a step of the core comes before anything said after that step.
        previous = self._tails.get(chat_id)
        task = asyncio.get_running_loop().create_task(self._append_after(previous, chat_id, message))
        self._tails[chat_id] = task
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _append_after(self, previous: asyncio.Task[ChatMessage] | None, chat_id: str,
                            message: NewMessage) -> ChatMessage:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        kept = await self.log.append(chat_id, message)
        self._tell(chat_id, {"type": "message", "message": kept})
        agent_id = self._query.holder_of(chat_id)
        if agent_id is not None:
            self._hub.publish(chat_agent_topic(agent_id), "chat_message", {"chat_id": chat_id, **kept.as_json()})
        return kept

    def _system(self, chat_id: str, code: str, text: str, **params: str) -> None:
        """A message of cti's (joined, transferred, ended), in the chat's order from the step that decided it."""
        if chat_id not in self.sessions:
            return
        task = self._queue(chat_id, NewMessage(Sender.SYSTEM, text, self._clock(), code=code, params=dict(params)))
        task.add_done_callback(lambda done: self._unkept(chat_id, code, done))

    @staticmethod
    def _unkept(chat_id: str, code: str, done: asyncio.Task[ChatMessage]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("chat %s: system message %r not kept: %s", chat_id, code, done.exception())

    def typing(self, chat_id: str, sender: Sender, *, agent_id: str | None = None) -> None:
        """Someone is typing: told to the other side now, kept nowhere."""
        self._tell(chat_id, {"type": "typing", "sender": sender.value})
        item = self._query.find_call(chat_id)
        if sender is Sender.CUSTOMER and item is not None and item.agent_id:
            self._hub.publish(chat_agent_topic(item.agent_id), "chat_typing", {"chat_id": chat_id})

    async def messages(self, chat_id: str, after: str | None = None) -> list[ChatMessage]:
        """The chat's messages after ``after``: from its log while it lives, from its transcript once stored."""
        if chat_id in self.sessions:
            return await self.log.after(chat_id, after)
        stored = await self._transcripts.transcript(chat_id)
        if after is None:
            return stored
        index = next((n for n, m in enumerate(stored) if m.message_id == after), None)
        return stored if index is None else stored[index + 1:]

    # -- the core's actions on chats (the handler table's entries) -------------------------------------------
    def offered(self, offer: Offer, distributor: Distributor) -> None:
        self._legs[offer.agent_channel_id] = offer.agent_id
        session = self.sessions.get(offer.call_id)
        if session is None:
            return
        self._hub.publish(chat_agent_topic(offer.agent_id), "chat_offer", {
            "chat_id": offer.call_id, "name": session.name, "language": session.language, "topic": session.topic,
            "customer_id": session.customer_id, "started_at": session.started_at.isoformat(),
            "accept_seconds": self.accept_seconds})
        if self.accept_seconds > 0:
            # A chat offered rings no phone whose timeout would end the offer: an offer not accepted in time is
            # a ring-no-answer (the agent goes not ready, the chat to the next agent).
            asyncio.get_running_loop().call_later(self.accept_seconds, self._not_accepted, offer.call_id,
                                                  offer.agent_channel_id, distributor)

    def _not_accepted(self, chat_id: str, leg: str, distributor: Distributor) -> None:
        item = self._query.find_call(chat_id)
        if item is not None and item.state is WorkState.RINGING and item.agent_channel_id == leg:
            distributor.leg_gone(leg, offer_failure="no_answer")

    def connected(self, connect: Connect, distributor: Distributor) -> None:
        item = self._query.find_call(connect.call_id)
        if item is None or item.agent_id is None:
            return
        name = first_name(self._query.agent(item.agent_id).name) if self._query.has_agent(item.agent_id) else ""
        self._system(connect.call_id, "joined", f"{name} joined the chat", agent=name)
        self._tell(connect.call_id, {"type": "state", "state": self.state(connect.call_id)})

    def hung_up(self, hangup: Hangup, distributor: Distributor) -> None:
        """A side of a chat left (a transfer's agent, the chat's end): told when the item's change comes."""

    def held(self, hold: Hold, distributor: Distributor) -> None:
        """Transferred: the customer waits for the next agent."""
        self._system(hold.call_id, "transferred", "You are being transferred; please wait")

    def rejected(self, reject: Reject, distributor: Distributor) -> None:
        """Closed, or the queue full: the chat ends (its :class:`WorkChanged` says why)."""

    def announced(self, announce: Announce, distributor: Distributor) -> None:
        self._tell(announce.call_id, {"type": "state", "state": self.state(announce.call_id)})

    def work_changed(self, changed: WorkChanged, distributor: Distributor) -> None:
        item = changed.item
        if item.channel is not Channel.CHAT:
            return
        if item.state is WorkState.ENDED:
            self._ended(item)
        else:
            self._left(item)
            self._tell(item.call_id, {"type": "state", "state": self.state(item.call_id)})
        # Everyone behind in the queue moved up (or someone came in ahead): their pages show their place.
        # Only the state of each chat is looked at: a snapshot of every live chat on every change cost 1,000 chats
        # starting seconds of the event loop (bench/chat.py).
        for chat_id in list(self._listeners):
            if chat_id != item.call_id and self._query.state_of(chat_id) is WorkState.WAITING:
                self._tell(chat_id, {"type": "state", "state": self.state(chat_id)})

    def _legs_of(self, chat_id: str) -> list[tuple[str, str]]:
        return [(leg, agent) for leg, agent in self._legs.items() if leg.rpartition("-a")[0] == chat_id]

    def _left(self, item: WorkItem) -> None:
        """Agents offered the chat before (declined, not accepted in time, transferred on): their desktops drop
        it."""
        for leg, agent_id in self._legs_of(item.call_id):
            if leg != item.agent_channel_id:
                del self._legs[leg]
                self._hub.publish(chat_agent_topic(agent_id), "chat_removed", {"chat_id": item.call_id})

    def _ended(self, item: WorkItem) -> None:
        session = self.sessions.get(item.call_id)
        if session is None or session.ended_at is not None:
            return
        for leg, agent_id in self._legs_of(item.call_id):
            del self._legs[leg]
            if leg != item.agent_channel_id or item.answered_at is None:
                self._hub.publish(chat_agent_topic(agent_id), "chat_removed", {"chat_id": item.call_id})
        ended = replace(session, ended_at=item.ended_at or self._clock())
        self.sessions[item.call_id] = ended
        reason = item.end_reason.value if item.end_reason else "ended"
        leave_message = item.end_reason in (EndReason.AFTER_HOURS, EndReason.QUEUE_FULL)
        if leave_message:
            self._closed[item.call_id] = None
            while len(self._closed) > _CLOSED_KEPT:
                self._closed.popitem(last=False)
        self._system(item.call_id, "ended", "The chat has ended", reason=reason)
        if item.agent_id is not None and item.answered_at is not None:
            self._hub.publish(chat_agent_topic(item.agent_id), "chat_ended",
                              {"chat_id": item.call_id, "reason": reason})
        self._tell(item.call_id, {"type": "state", "state": {**self.state(item.call_id), "reason": reason,
                                                             "leave_message": leave_message}})
        self._spawn(self._end_session(ended))

    def end_with_bot(self, session: ChatSession, item: WorkItem) -> None:
        """A chat the virtual agent held to its end (the customer left, or went away): its interaction is
        recorded as served by itself (``item``), its transcript stored like any chat's."""
        ended = replace(session, ended_at=item.ended_at or self._clock())
        self.sessions[session.chat_id] = ended
        self._system(session.chat_id, "ended", "The chat has ended", reason="caller_hangup")
        self._tell(session.chat_id, {"type": "state", "state": {**self.state(session.chat_id),
                                                               "reason": "caller_hangup", "leave_message": False}})
        if self.record is not None:
            self.record(item)
        self._spawn(self._end_session(ended))

    async def _end_session(self, session: ChatSession) -> None:
        try:
            await self.log.save_session(session)
        except Unavailable as exc:
            log.warning("chat %s: its end not kept in the log: %s", session.chat_id, exc)
        await self._store(session.chat_id)

    async def _store(self, chat_id: str, *, retry: float = 1.0) -> None:
        """The ended chat's transcript into SQL (after its last system message), then its log goes."""
        if chat_id in self._storing:
            return
        self._storing.add(chat_id)
        try:
            for attempt in range(_STORE_RETRIES):
                tail = self._tails.get(chat_id)
                if tail is not None and not tail.done():
                    await asyncio.wait([tail])  # after the messages being said (the last: "ended")
                try:
                    await self._transcripts.save(chat_id, await self.log.after(chat_id))
                    await self.log.drop(chat_id)
                except Unavailable as exc:
                    log.warning("chat %s: transcript not stored yet (%s); trying again", chat_id, exc)
                    await asyncio.sleep(retry * 2 ** attempt)
                    continue
                self.sessions.pop(chat_id, None)
                self._tails.pop(chat_id, None)
                return
            log.error("chat %s: transcript still in Redis; it is stored when cti starts again", chat_id)
        finally:
            self._storing.discard(chat_id)


class ChatService:
    """What customers and agents do in chats; who may do it is checked here (customers by their chat's secret
    or their portal session, staff by the :class:`Policy`)."""

    def __init__(self, distributor: Distributor, channel: ChatChannel, policy: Policy, customers: Customers, *,
                 away_seconds: float = 120.0, bot: ChatBot | None = None) -> None:
        """``away_seconds``: how long a chat lives on with no page of its customer open (they closed it, or lost
        their connection for good): then they left it, as if they had pressed "end". ``bot``: the virtual agent
        that answers every chat first and hands it to a queue when a person should take over (none: chats go
        to a queue at once)."""
        self._bot = bot
        self._bot_turns: dict[str, asyncio.Lock] = {}  # one bot turn at a time per chat, in the customer's order
        self._distributor = distributor
        self._away = away_seconds
        self._present: dict[str, int] = {}  # chat id -> the customer's sockets open on it
        self._checks: dict[str, asyncio.TimerHandle] = {}
        self._channel = channel
        self._policy = policy
        self._customers = customers
        self._sent: dict[str, deque[datetime]] = {}  # chat id -> when its customer's messages were sent
        # What routing needs of a signed-in customer, kept until the chat is routed (after the virtual agent).
        self._phones: dict[str, str] = {}
        self._tiers: dict[str, tuple[str | None, str | None, str | None] | None] = {}

    # -- customers ---------------------------------------------------------------------------------------------
    async def start(self, request: ChatStart) -> tuple[ChatSession, str]:
        """A new chat and its secret (the customer's page keeps it in a cookie: it opens this chat only). The
        chat is kept, its first message too, then routed; out of hours it ends at once (``leave_message``)."""
        now = self._distributor.clock()
        for gone in [chat_id for chat_id in self._sent if chat_id not in self._channel.sessions]:
            del self._sent[gone]  # chats over and stored
        customer = request.customer
        name = clean_name(customer.name if customer is not None and customer.name else request.name)
        text = clean_text(request.text) if request.text else None
        secret = secrets.token_urlsafe(32)
        session = ChatSession(chat_id=f"chat-{uuid.uuid4().hex}", name=name, language=request.language,
                              started_at=now, service=CHAT_SERVICE_NUMBER,
                              customer_id=customer.customer_id if customer else None, secret_hash=_hash(secret),
                              topic=request.topic)
        if self._bot is not None:
            session = replace(session, bot=BotSession(lang=request.language,
                                                      customer_id=session.customer_id).to_dict())
        await self._channel.log.save_session(session)
        self._channel.sessions[session.chat_id] = session
        self._phones[session.chat_id] = customer.phones[0] if customer and customer.phones else ""
        self._tiers[session.chat_id] = (customer.value_tier, customer.region, customer.country) if customer else None
        if text is not None:
            await self._channel.say(session.chat_id, NewMessage(Sender.CUSTOMER, text, now, author_name=name))
        if self._bot is not None:
            await self._bot_turn(session.chat_id, text, greet=True)
        else:
            self._route(session)
        self._watch(session.chat_id)  # their page opens its socket next; a page that never does leaves
        return session, secret

    async def _recall_customer(self, session: ChatSession) -> None:
        """What routing needs of a signed-in customer (their phone, tier, region), read again from the CRM."""
        assert session.customer_id is not None
        try:
            customer = await self._customers.customer(session.customer_id)
        except Unavailable as exc:  # routed without them rather than not at all
            log.warning("chat %s: the customer's record could not be read for routing: %s", session.chat_id, exc)
            return
        if customer is not None:
            self._phones[session.chat_id] = customer.phones[0] if customer.phones else ""
            self._tiers[session.chat_id] = (customer.value_tier, customer.region, customer.country)

    def _route(self, session: ChatSession, handover: Handover | None = None) -> None:
        """The chat into the routing core: a work item of the chat channel, to the queue the virtual agent
        handed it to (if the rules have it), else where the rules put a chat."""
        tier, region, country = self._tiers.pop(session.chat_id, None) or (None, None, None)
        queues = self._distributor.query.rules.queues
        routing = Routing(language=session.language, product=handover.product_sku if handover and
                          handover.product_sku else session.topic, value_tier=tier, region=region, country=country,
                          problem_type=handover.reason if handover else None,
                          requested_queue=handover.queue if handover and handover.queue in queues else None)
        item = WorkItem(call_id=session.chat_id, channel_id=session.customer_leg,
                        caller_number=self._phones.pop(session.chat_id, ""), service_number=CHAT_SERVICE_NUMBER,
                        queue="", arrived_at=self._distributor.clock(), caller_name=session.name, routing=routing,
                        customer_id=session.customer_id, channel=Channel.CHAT)
        self._distributor.arrive(item)

    async def _bot_turn(self, chat_id: str, text: str | None, *, greet: bool = False) -> None:
        """The virtual agent's answer to what the customer said (and its greeting first, at the start). When
        it hands over, the chat goes to a queue with everything said so far. A virtual agent that fails hands
        over too: a customer is never left talking to nobody."""
        assert self._bot is not None
        lock = self._bot_turns.setdefault(chat_id, asyncio.Lock())
        async with lock:
            session = self._channel.sessions.get(chat_id)
            if session is None or session.bot is None or session.ended_at is not None:
                return  # a person has it now, or it ended meanwhile
            state = BotSession.from_dict(session.bot)
            owner, handover = bot_owner(chat_id), None
            try:
                replies = [await self._bot.greet(state, owner=owner)] if greet else []
                if text is not None:
                    replies.append(await self._bot.respond(state, text, owner=owner))
            except Exception:
                log.exception("chat %s: the virtual agent failed; handing the chat to a person", chat_id)
                replies = []
                handover = Handover("", "unsure", session.language, ())
            for spoken in replies:
                reply = spoken.reply
                params = {"expression": reply.expression, "action": reply.action, "reply_id": spoken.reply_id,
                          "language": reply.lang}
                if reply.source is not None:
                    params.update(source=reply.source.entry_id, source_question=reply.source.question)
                # What supervisors label later (cti.cyberagent.unsure_reply): why it handed over, how sure it was.
                if reply.handover is not None:
                    params["reason"] = reply.handover.reason
                if reply.confidence is not None:
                    params["confidence"] = f"{reply.confidence:.3f}"
                if reply.learnt is not None:
                    params["learnt"] = reply.learnt
                await self._channel.say(chat_id, NewMessage(
                    Sender.BOT, reply.text, self._distributor.clock(), author="cyberagent",
                    author_name=self._bot.name(reply.lang), params=params))
                handover = handover or reply.handover
            if handover is None:
                kept = replace(session, bot=state.to_dict())
                await self._channel.log.save_session(kept)
                self._channel.sessions[chat_id] = kept
                return
            person = replace(session, bot=None)
            await self._channel.log.save_session(person)
            self._channel.sessions[chat_id] = person
            self._bot_turns.pop(chat_id, None)
            if chat_id not in self._tiers and person.customer_id is not None:
                await self._recall_customer(person)  # a restart since the chat began: routing still knows them
            self._route(person, handover)

    def watch_restored(self) -> None:
        """After a restart: every live chat's customer has ``away_seconds`` to come back (their page reconnects)."""
        for chat_id, session in list(self._channel.sessions.items()):
            if self._distributor.query.is_live(chat_id) or (session.bot is not None and session.ended_at is None):
                self._watch(chat_id)

    def customer_here(self, session: ChatSession) -> None:
        """A page of the customer opened the chat's socket."""
        self._present[session.chat_id] = self._present.get(session.chat_id, 0) + 1
        handle = self._checks.pop(session.chat_id, None)
        if handle is not None:
            handle.cancel()

    def customer_gone(self, session: ChatSession) -> None:
        """A page of the customer closed the chat's socket: without another within ``away_seconds``, they left."""
        left = self._present.get(session.chat_id, 0) - 1
        if left > 0:
            self._present[session.chat_id] = left
            return
        self._present.pop(session.chat_id, None)
        self._watch(session.chat_id)

    def _watch(self, chat_id: str) -> None:
        if self._away <= 0 or self._present.get(chat_id):
            return
        previous = self._checks.pop(chat_id, None)
        if previous is not None:
            previous.cancel()
        self._checks[chat_id] = asyncio.get_running_loop().call_later(self._away, self._away_too_long, chat_id)

    def _away_too_long(self, chat_id: str) -> None:
        self._checks.pop(chat_id, None)
        session = self._channel.sessions.get(chat_id)
        if session is not None and not self._present.get(chat_id) and self._distributor.query.is_live(chat_id):
            log.info("chat %s: no page of its customer for %.0f s; they left", chat_id, self._away)
            self._distributor.leg_gone(session.customer_leg)
        elif session is not None and not self._present.get(chat_id):
            self._end_with_bot(chat_id)

    def close(self) -> None:
        for handle in self._checks.values():
            handle.cancel()
        self._checks.clear()

    def customer_chat(self, chat_id: str, secret: str) -> ChatSession:
        """The chat whose secret the customer holds; any other (or none) is not found."""
        session = self._channel.sessions.get(chat_id)
        if session is None or not hmac.compare_digest(session.secret_hash, _hash(secret)):
            raise NotFound("no such chat", code="chat_not_found")
        return session

    async def customer_says(self, session: ChatSession, text: str) -> ChatMessage:
        if session.ended_at is not None:
            raise Conflict("the chat has ended", code="chat_ended")
        cleaned, now = clean_text(text), self._distributor.clock()
        sent = self._sent.setdefault(session.chat_id, deque(maxlen=CUSTOMER_MESSAGES))
        if len(sent) >= CUSTOMER_MESSAGES:
            raise Conflict(f"a chat takes at most {CUSTOMER_MESSAGES} messages from the customer",
                           code="chat_too_long", params={"limit": CUSTOMER_MESSAGES})
        recent = sum(1 for at in sent if (now - at).total_seconds() < CUSTOMER_WINDOW)
        if recent >= CUSTOMER_BURST:
            raise TooMany(f"more than {CUSTOMER_BURST} messages in {CUSTOMER_WINDOW:.0f} s", round(CUSTOMER_WINDOW))
        sent.append(now)
        said = await self._channel.say(session.chat_id, NewMessage(
            Sender.CUSTOMER, cleaned, now, author_name=session.name))
        if self._bot is not None and self._channel.sessions[session.chat_id].bot is not None:
            await self._bot_turn(session.chat_id, cleaned)
        return said

    def customer_typing(self, session: ChatSession) -> None:
        if session.ended_at is None:
            self._channel.typing(session.chat_id, Sender.CUSTOMER)

    def customer_leaves(self, session: ChatSession) -> None:
        """The customer closed the chat: abandoned while it waited, answered and ended by them with an agent,
        served by the virtual agent when it still held it."""
        if self._distributor.query.is_live(session.chat_id):
            self._distributor.leg_gone(session.customer_leg)
        else:
            self._end_with_bot(session.chat_id)

    def _end_with_bot(self, chat_id: str) -> None:
        session = self._channel.sessions.get(chat_id)
        if session is None or session.bot is None or session.ended_at is not None:
            return
        now = self._distributor.clock()
        item = WorkItem(call_id=chat_id, channel_id=session.customer_leg,
                        caller_number=self._phones.pop(chat_id, ""), service_number=CHAT_SERVICE_NUMBER,
                        queue="", arrived_at=session.started_at, caller_name=session.name,
                        customer_id=session.customer_id, channel=Channel.CHAT, state=WorkState.ENDED,
                        ended_at=now, outcome=Outcome.SELF_SERVICE, end_reason=EndReason.CALLER_HANGUP)
        self._tiers.pop(chat_id, None)
        self._bot_turns.pop(chat_id, None)
        if self._bot is not None:
            self._bot.forget(bot_owner(chat_id))
        self._channel.end_with_bot(session, item)

    def state(self, chat_id: str) -> dict[str, Any]:
        return self._channel.state(chat_id)

    def listen(self, chat_id: str) -> AbstractContextManager[asyncio.Queue[dict[str, Any]]]:
        """What happens in the chat, for a socket (see :meth:`ChatChannel.listen`)."""
        return self._channel.listen(chat_id)

    def find(self, chat_id: str) -> WorkItem | None:
        return self._distributor.query.find_call(chat_id)

    async def messages(self, chat_id: str, after: str | None = None) -> list[ChatMessage]:
        return await self._channel.messages(chat_id, after)

    # -- agents and supervisors ---------------------------------------------------------------------------------
    def chat(self, user: UserRecord, chat_id: str) -> WorkItem:
        """The live chat, if the user reaches it (its agent, offered or connected; staff in scope); else not
        found, as a call would be."""
        item = self._policy.call(user, chat_id)
        if item.channel is not Channel.CHAT:
            raise NotFound(f"no chat {chat_id!r}", code="chat_not_found", params={"chat_id": chat_id})
        return item

    def placement(self, user: UserRecord, chat_id: str) -> Placement:
        """As :meth:`chat` (the same check, the same not found), answering only where the chat is: what every
        message an agent sends checks, without a snapshot of the whole item."""
        placed = self._policy.placement(user, chat_id)
        if placed.channel is not Channel.CHAT:
            raise NotFound(f"no chat {chat_id!r}", code="chat_not_found", params={"chat_id": chat_id})
        return placed

    def chats(self, user: UserRecord) -> list[WorkItem]:
        return [item for item in self._policy.calls(user) if item.channel is Channel.CHAT]

    def bot_chats(self, user: UserRecord) -> list[ChatSession]:
        """The chats the virtual agent holds now (not routed yet, so in no queue), oldest first: staff who see
        every queue only (an admin, a supervisor with no scope); a supervisor of some queues sees a chat once it is
        routed to one of them."""
        if user.role == "agent" or self._policy.reach(user) is not None:
            return []
        held = [s for s in self._channel.sessions.values()
                if s.bot is not None and s.ended_at is None and not self._distributor.query.is_live(s.chat_id)]
        return sorted(held, key=lambda s: (s.started_at, s.chat_id))

    def _with_bot(self, user: UserRecord, chat_id: str) -> bool:
        """The chat is the virtual agent's now and ``user`` sees every queue (see :meth:`bot_chats`)."""
        session = self._channel.sessions.get(chat_id)
        return (session is not None and session.bot is not None and session.ended_at is None
                and not self._distributor.query.is_live(chat_id) and user.role != "agent"
                and self._policy.reach(user) is None)

    def watch(self, user: UserRecord, chat_id: str) -> None:
        """Whether ``user`` may follow the live chat (its agent, staff in scope; a chat with the virtual agent:
        staff who see every queue); else not found."""
        if not self._with_bot(user, chat_id):
            self.chat(user, chat_id)

    def agent_name(self, item: WorkItem) -> str | None:
        """The first name of the agent who has (or is offered) the chat, as its customer is told it."""
        if item.agent_id is None or not self._distributor.query.has_agent(item.agent_id):
            return None
        return first_name(self._distributor.query.agent(item.agent_id).name) or None

    async def transcript(self, user: UserRecord, chat_id: str, after: str | None = None) -> list[ChatMessage]:
        """A live chat's messages (its agent, staff in scope), or an ended one's whose interaction they see."""
        if self._distributor.query.is_live(chat_id) or self._with_bot(user, chat_id):
            self.watch(user, chat_id)
        else:
            record = await self._policy.interaction(user, chat_id)
            if record.channel != Channel.CHAT.value:
                raise NotFound(f"no chat {chat_id!r}", code="chat_not_found", params={"chat_id": chat_id})
        return await self._channel.messages(chat_id, after)

    def _own(self, user: UserRecord, chat_id: str, *states: WorkState) -> Placement:
        item = self.placement(user, chat_id)
        if user.agent_id is None or item.agent_id != user.agent_id:
            raise NotFound(f"no chat {chat_id!r}", code="chat_not_found", params={"chat_id": chat_id})
        if item.state not in states and WorkState.RINGING in states:
            raise Conflict(f"chat {chat_id} is {item.state.value}, not offered", code="chat_not_offered",
                           params={"chat_id": chat_id, "state": item.state.value})
        if item.state not in states:
            raise Conflict(f"chat {chat_id} is {item.state.value}, not connected", code="chat_not_connected",
                           params={"chat_id": chat_id, "state": item.state.value})
        return item

    def accept(self, user: UserRecord, chat_id: str) -> WorkItem:
        item = self._own(user, chat_id, WorkState.RINGING)
        assert item.agent_channel_id is not None
        self._distributor.offer_answered(item.agent_channel_id)
        return self._distributor.query.call(chat_id)

    def decline(self, user: UserRecord, chat_id: str) -> None:
        """The core's reject path: the chat goes back to its queue, the agent goes not ready (``rejected``)."""
        item = self._own(user, chat_id, WorkState.RINGING)
        assert item.agent_channel_id is not None
        self._distributor.leg_gone(item.agent_channel_id, offer_failure="rejected")

    async def agent_says(self, user: UserRecord, chat_id: str, text: str, links: tuple[Link, ...] = ()) -> ChatMessage:
        self._own(user, chat_id, WorkState.CONNECTED)
        assert user.agent_id is not None
        name = self._distributor.query.agent_name(user.agent_id)
        return await self._channel.say(chat_id, NewMessage(
            Sender.AGENT, clean_text(text), self._distributor.clock(), author=user.agent_id,
            author_name=first_name(name), links=links))

    def agent_typing(self, user: UserRecord, chat_id: str) -> None:
        self._own(user, chat_id, WorkState.CONNECTED)
        self._channel.typing(chat_id, Sender.AGENT, agent_id=user.agent_id)

    def end(self, user: UserRecord, chat_id: str) -> Placement:
        """The agent ends the chat: answered, ended by the agent, who goes to wrap-up as after a call."""
        item = self._own(user, chat_id, WorkState.CONNECTED)
        assert item.agent_channel_id is not None
        self._distributor.leg_gone(item.agent_channel_id)
        return item
