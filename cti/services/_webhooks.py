"""Outbound webhooks: the events partners subscribe to, signed, delivered at least once and in order per subject.

An event (``call.answered`` of call ``c1``...) is fanned out when it happens to every active subscription whose
filter takes it, into that subscription's durable outbox (Redis streams, :class:`WebhookOutbox`): from then on
it survives a restart of cti. One delivery loop per subscription reads its outbox in order and hands each event
to the *lane* of its subject (``call:c1``, ``customer:42``): a lane delivers one event at a time, retrying with
backoff until the receiver answers 2xx, so the events of one subject arrive in the order they happened while
other subjects go on beside it. An event refused ``max_attempts`` times becomes a dead letter (kind
``webhook``, the same list as the journal's refused records, :class:`cti.services.DeadLetterService`) and its
lane moves on; an admin replays it once the receiver is fixed. Only then is it removed from the outbox, so an
event is never lost, and is delivered twice only when cti stopped between the receiver's answer and the removal.

Each request carries ``X-Cti-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` with the
subscription's secret (:func:`signature`), as Stripe signs its webhooks: docs/integration.md shows a partner how
to verify it.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import hmac
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final, Protocol

from cti.acd import AgentChanged, AgentState, Channel, WorkChanged, WorkItem, WorkState
from cti.errors import Conflict, Fenced, Forbidden, InvalidInput, NotFound, Unavailable
from cti.records import UserRecord, WebhookSubscription
from cti.services._audit import AuditTrail
from cti.services._ports import DeadLetters
from cti.tasks import stop_task
from cti.types import Clock

__all__ = [
    "EMITTED_EVENTS",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "DeliveryPolicy",
    "DeliveryStats",
    "Notify",
    "OutboxEntry",
    "UnknownSubscription",
    "WebhookOutbox",
    "WebhookSender",
    "WebhookSubscriptions",
    "Webhooks",
    "matches",
    "retry_delay",
    "signature",
    "verify_signature",
]

log = logging.getLogger("cti.services.webhooks")

EVENT_TYPES: Final[dict[str, str]] = {
    "call.offered": "a call was offered to an agent (their phone rings); once per offer until answered",
    "call.answered": "the agent answered: the call is connected",
    "call.ended": "the call ended, with its outcome and end reason",
    "call.wrapup": "the agent saved the call's wrap-up (disposition)",
    "chat.offered": "a chat was offered to an agent",
    "chat.answered": "the agent took the chat",
    "chat.ended": "the chat ended",
    "chat.wrapup": "the agent saved the chat's wrap-up",
    "agent.wrapup": "an agent entered after-call work",
    "survey.answered": "a customer answered a satisfaction survey",
    "callback.scheduled": "a callback to a customer was scheduled",
    "alert.raised": "a supervisor's alert threshold on a queue was crossed",
    "alert.cleared": "an alert's figure came back past its clearing point",
    "customer.changed": "a customer record was created or changed",
}
"""The event catalogue: every event a subscription may name (``call.*`` names a family)."""

EMITTED_EVENTS: Final = frozenset({"call.offered", "call.answered", "call.ended", "call.wrapup", "agent.wrapup",
                                   "chat.offered", "chat.answered", "chat.ended", "chat.wrapup", "survey.answered",
                                   "callback.scheduled", "customer.changed", "alert.raised", "alert.cleared"})
"""The events cti has a source for: every event of the catalogue (``chat.*`` from the chat channel's work items,
``survey.answered`` from the survey service, ``alert.*`` from the supervisors' alerts)."""

_CHANNEL_NOUN: Final = {Channel.VOICE: "call", Channel.CHAT: "chat"}
SIGNATURE_HEADER: Final = "X-Cti-Signature"


class UnknownSubscription(NotFound):
    code = "subscription_not_found"


# -- the pure part: signing, matching, backoff --------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Cti-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>." + body>``."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (docs/integration.md): the signature matches and is at most ``tolerance`` s old."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def matches(filters: Iterable[str], event_type: str) -> bool:
    """Whether a subscription's filter takes ``event_type``: by name, by family (``call.*``) or all (``*``)."""
    for pattern in filters:
        if pattern in ("*", event_type) or (pattern.endswith(".*") and event_type.startswith(pattern[:-1])):
            return True
    return False


def check_filters(filters: Sequence[str]) -> tuple[str, ...]:
    """The filters, each naming a catalogued event or family; refused otherwise."""
    families = {name.split(".", 1)[0] for name in EVENT_TYPES}
    for pattern in filters:
        if not (pattern == "*" or pattern in EVENT_TYPES or (pattern.endswith(".*") and pattern[:-2] in families)):
            raise InvalidInput(f"{pattern!r} is no event of the catalogue (GET /api/webhooks/events)",
                               code="unknown_event", params={"event": pattern})
    if not filters:
        raise InvalidInput("name at least one event (or '*')", code="unknown_event", params={"event": ""})
    return tuple(dict.fromkeys(filters))


def retry_delay(attempt: int, *, base: float, cap: float) -> float:
    """How long to wait after the ``attempt``-th failed delivery (1, 2, ...): ``base`` doubled each time, at most
    ``cap``."""
    return float(min(cap, base * 2 ** min(attempt - 1, 40)))


# -- ports ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OutboxEntry:
    entry_id: str
    subject: str
    body: bytes


class WebhookOutbox(Protocol):
    """The durable queue of events per subscription, in the order they happened (cti.live)."""

    async def append(self, entries: Sequence[tuple[str, str, bytes]]) -> None:
        """``(subscription_id, subject, body)`` each, in order; raises ``Unavailable`` when Redis is away."""

    async def read(self, subscription_id: str, *, after: str | None, count: int,
                   block_ms: int) -> builtins.list[OutboxEntry]:
        """Entries handed out before and not yet done, after ``after`` (a restart's first reads); with ``after``
        None, new entries (waiting up to ``block_ms``)."""

    async def done(self, subscription_id: str, entry_id: str) -> None: ...

    async def backlog(self, subscription_id: str) -> int: ...

    async def drop(self, subscription_id: str) -> None: ...


class WebhookSender(Protocol):
    """POSTs to a receiver (cti.messaging); refuses addresses the operator did not allow."""

    async def check(self, url: str) -> None:
        """Raises ``InvalidInput`` for a URL cti may not call (scheme, a private address...)."""

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        """The receiver's status; raises ``Unavailable`` when there is none (refused, timed out)."""


class WebhookSubscriptions(Protocol):
    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription: ...

    async def get(self, subscription_id: str) -> WebhookSubscription | None: ...

    async def list(self) -> builtins.list[WebhookSubscription]: ...

    async def update(self, subscription: WebhookSubscription) -> bool: ...

    async def delete(self, subscription_id: str) -> bool: ...


# -- delivery ---------------------------------------------------------------------------------------------------------

@dataclass(slots=True)
class DeliveryStats:
    """What one subscription's deliveries did since this server started."""

    delivered: int = 0
    attempts: int = 0
    failures: int = 0
    dead_letters: int = 0
    last_error: str | None = None
    last_delivered_at: datetime | None = None
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=2000))
    """Seconds from the event to its receiver's 2xx, the latest ones."""

    def view(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)

        def quantile(q: float) -> float | None:
            return None if not ordered else round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)

        return {"delivered": self.delivered, "attempts": self.attempts, "failures": self.failures,
                "dead_letters": self.dead_letters, "last_error": self.last_error,
                "last_delivered_at": None if self.last_delivered_at is None else self.last_delivered_at.isoformat(),
                "latency_p50_seconds": quantile(0.5), "latency_p99_seconds": quantile(0.99)}


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    max_attempts: int = 8
    retry_base: float = 1.0
    retry_cap: float = 300.0
    concurrency: int = 64
    """Requests in flight at once per subscription (each subject has one at most)."""
    held: int = 2000
    """Events read from the outbox and not yet done, per subscription: beyond it the loop waits."""


class _Pipe:
    """One subscription's delivery: its outbox read in order, one lane per subject."""

    def __init__(self, hooks: Webhooks, subscription: WebhookSubscription) -> None:
        self.subscription = subscription
        self._hooks = hooks
        self._lanes: dict[str, deque[OutboxEntry]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(hooks.policy.concurrency)
        self._room = asyncio.Event()
        self._room.set()
        self._held = 0
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"cti-webhooks-{subscription.subscription_id}")

    async def close(self) -> None:
        await stop_task(self._task)
        for task in list(self._lane_tasks.values()):
            await stop_task(task)  # what was not done stays in the outbox, for the next start

    async def _run(self) -> None:
        outbox, sid = self._hooks.outbox, self.subscription.subscription_id
        after: str | None = "0"  # first what a previous run handed out and never finished, in order
        while True:
            try:
                await self._room.wait()
                entries = await outbox.read(sid, after=after, count=200, block_ms=1000)
            except Unavailable as exc:
                log.warning("webhook outbox of %s unreadable, retrying: %s", sid, exc)
                await asyncio.sleep(1.0)
                continue
            except Exception:  # a bug must not end this subscription's deliveries for good
                log.exception("reading the webhook outbox of %s failed unexpectedly; retrying", sid)
                await asyncio.sleep(1.0)
                continue
            if after is not None:
                if not entries:
                    after = None
                    continue
                after = entries[-1].entry_id
            for entry in entries:
                self._add(entry)

    def _add(self, entry: OutboxEntry) -> None:
        self._held += 1
        if self._held >= self._hooks.policy.held:
            self._room.clear()
        lane = self._lanes.get(entry.subject)
        if lane is None:
            lane = self._lanes[entry.subject] = deque()
            self._lane_tasks[entry.subject] = asyncio.get_running_loop().create_task(self._lane(entry.subject, lane))
        lane.append(entry)

    async def _lane(self, subject: str, lane: deque[OutboxEntry]) -> None:
        try:
            while lane:
                entry = lane[0]
                await self._deliver(entry)
                lane.popleft()
                self._held -= 1
                if self._held < self._hooks.policy.held:
                    self._room.set()
        finally:
            if self._lanes.get(subject) is lane and not lane:
                del self._lanes[subject]
                self._lane_tasks.pop(subject, None)

    async def _deliver(self, entry: OutboxEntry) -> None:
        hooks, policy = self._hooks, self._hooks.policy
        stats = hooks.stats_of(self.subscription.subscription_id)
        attempt = 0
        while True:
            attempt += 1
            subscription = self.subscription  # the latest URL and secret
            timestamp = int(hooks.clock().timestamp())
            headers = {"Content-Type": "application/json", SIGNATURE_HEADER: signature(
                subscription.secret, timestamp, entry.body), "X-Cti-Attempt": str(attempt),
                "User-Agent": "cti-webhooks/1"}
            error: str
            async with self._slots:
                stats.attempts += 1
                try:
                    status = await hooks.sender.post(subscription.url, entry.body, headers)
                except Unavailable as exc:
                    error = str(exc)
                except Exception as exc:  # a bug of ours: counted as a failed attempt, the lane goes on
                    log.exception("a webhook request of %s failed unexpectedly", subscription.subscription_id)
                    error = f"{type(exc).__name__} in cti"
                else:
                    if 200 <= status < 300:
                        self._delivered(entry)
                        break
                    error = f"the receiver answered {status}"
            stats.failures += 1
            stats.last_error = error
            if attempt >= policy.max_attempts:
                await self._set_aside(entry, error, attempt)
                break
            await asyncio.sleep(retry_delay(attempt, base=policy.retry_base, cap=policy.retry_cap))
        await self._done(entry)

    def _delivered(self, entry: OutboxEntry) -> None:
        stats, now = self._hooks.stats_of(self.subscription.subscription_id), self._hooks.clock()
        stats.delivered += 1
        stats.last_delivered_at = now
        occurred = _occurred_at(entry.body)
        if occurred is not None:
            stats.latencies.append(max(0.0, (now - occurred).total_seconds()))

    async def _set_aside(self, entry: OutboxEntry, error: str, attempts: int) -> None:
        hooks = self._hooks
        sid = self.subscription.subscription_id
        payload = {"subscription_id": sid, "subject": entry.subject, "event": json.loads(entry.body)}
        delay = 0.5
        while True:
            try:
                letter_id = await hooks.letters.add("webhook", f"{sid}/{entry.subject}", payload,
                                                    f"{attempts} attempts: {error}")
                break
            except Exception as exc:
                if isinstance(exc, Unavailable) and not isinstance(exc, (InvalidInput, Conflict, NotFound, Forbidden)):
                    # The database is away: not acknowledged before it is stored elsewhere, so nothing is lost.
                    log.error("cannot set aside webhook event of %s, retrying: %s", sid, exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
                # Refused for good: said loudly rather than holding the subject back forever, as the journal
                # does with a record it cannot set aside either.
                log.exception("webhook event %s of %s could not be set aside either; it is lost",
                              payload["event"].get("id"), sid)
                return
        hooks.stats_of(sid).dead_letters += 1
        log.error("webhook event %s of %s set aside as dead letter %d after %d attempts: %s",
                  payload["event"].get("id"), sid, letter_id, attempts, error)

    async def _done(self, entry: OutboxEntry) -> None:
        hooks, sid = self._hooks, self.subscription.subscription_id
        while True:
            try:
                await hooks.outbox.done(sid, entry.entry_id)
                return
            except Unavailable as exc:
                log.warning("cannot mark webhook event done for %s, retrying: %s", sid, exc)
                await asyncio.sleep(1.0)


def _occurred_at(body: bytes) -> datetime | None:
    try:
        return datetime.fromisoformat(json.loads(body)["occurred_at"])
    except (ValueError, KeyError, TypeError):
        return None


# -- the service ----------------------------------------------------------------------------------------------------

Notify = Callable[[str, str, Mapping[str, Any]], None]
"""``notify(event_type, subject, data)``: what services call when something a partner may subscribe to happens."""


class Webhooks:
    """Subscriptions (admins'), the events' fan-out into the outbox, and their delivery."""

    def __init__(self, subscriptions: WebhookSubscriptions, outbox: WebhookOutbox, sender: WebhookSender,
                 letters: DeadLetters, audit: AuditTrail, *, clock: Clock,
                 policy: DeliveryPolicy = DeliveryPolicy()) -> None:
        self._subscriptions = subscriptions
        self.outbox = outbox
        self.sender = sender
        self.letters = letters
        self._audit = audit
        self.clock = clock
        self.policy = policy
        self._active: dict[str, WebhookSubscription] = {}
        self._pipes: dict[str, _Pipe] = {}
        self._stats: dict[str, DeliveryStats] = {}
        self._outgoing: list[tuple[str, str, bytes]] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._writer: asyncio.Task[None] | None = None
        self._calls: dict[str, tuple[int, bool]] = {}
        """Per live item: the offers and whether answered that were told, so each is told once."""
        self._wraps: dict[str, str | None] = {}
        self.emitted = 0

    # -- lifecycle -------------------------------------------------------------------------------------------------
    async def start(self) -> None:
        """Load the subscriptions and deliver what their outboxes hold (what a previous run left, first)."""
        for subscription in await self._subscriptions.list():
            if subscription.active:
                self._activate(subscription)
        self._writer = asyncio.get_running_loop().create_task(self._write(), name="cti-webhooks-outbox")

    async def close(self, timeout: float = 5.0) -> None:
        try:
            await self.flush(timeout)
        except TimeoutError:
            log.error("shutting down with %d webhook events not in the outbox (Redis unavailable)",
                      len(self._outgoing))
        if self._writer is not None:
            await stop_task(self._writer)
        for pipe in list(self._pipes.values()):
            await pipe.close()
        self._pipes.clear()

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event emitted so far is in the outbox."""
        if self._writer is None or self._writer.done():
            return
        await asyncio.wait_for(self._idle.wait(), timeout)

    def stats_of(self, subscription_id: str) -> DeliveryStats:
        return self._stats.setdefault(subscription_id, DeliveryStats())

    def delivery_stats(self) -> dict[str, DeliveryStats]:
        """Each subscription's deliveries since start (``/metrics``)."""
        return dict(self._stats)

    def _activate(self, subscription: WebhookSubscription) -> None:
        self._active[subscription.subscription_id] = subscription
        pipe = self._pipes.get(subscription.subscription_id)
        if pipe is None:
            self._pipes[subscription.subscription_id] = _Pipe(self, subscription)
        else:
            pipe.subscription = subscription

    async def _deactivate(self, subscription_id: str) -> None:
        self._active.pop(subscription_id, None)
        pipe = self._pipes.pop(subscription_id, None)
        if pipe is not None:
            await pipe.close()

    # -- events in ---------------------------------------------------------------------------------------------------
    def notify(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        """An event happened: into the outbox of each active subscription that takes it (soon, in order)."""
        targets = [s.subscription_id for s in self._active.values() if matches(s.events, event_type)]
        if not targets:
            return
        event = {"id": secrets.token_hex(16), "type": event_type, "occurred_at": self.clock().isoformat(),
                 "subject": subject, "data": dict(data)}
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        self._outgoing.extend((sid, subject, body) for sid in targets)
        self.emitted += 1
        self._idle.clear()
        self._wake.set()

    def work_changed(self, changed: WorkChanged, distributor: object) -> None:
        """The handler table's entry: offered, answered, ended, each told once per item (and offer)."""
        item = changed.item
        noun = _CHANNEL_NOUN.get(item.channel, item.channel.value)
        told_offers, told_answer = self._calls.get(item.call_id, (0, False))
        subject = f"{noun}:{item.call_id}"
        if item.offers > told_offers and item.offered_at is not None and item.answered_at is None:
            self.notify(f"{noun}.offered", subject, _work_data(item))
        if item.answered_at is not None and not told_answer:
            told_answer = True
            self.notify(f"{noun}.answered", subject, _work_data(item))
        if item.state is WorkState.ENDED:
            self._calls.pop(item.call_id, None)
            self.notify(f"{noun}.ended", subject, _work_data(item))
            return
        self._calls[item.call_id] = (max(told_offers, item.offers), told_answer)

    def agent_changed(self, changed: AgentChanged, distributor: object) -> None:
        """The handler table's entry: an agent entering after-call work, once per entry."""
        agent = changed.agent
        if agent.state is not AgentState.WRAP_UP:
            self._wraps.pop(agent.agent_id, None)
            return
        since = None if agent.state_since is None else agent.state_since.isoformat()
        if agent.agent_id not in self._wraps or self._wraps[agent.agent_id] != since:
            self._wraps[agent.agent_id] = since
            self.notify("agent.wrapup", f"agent:{agent.agent_id}", {"agent_id": agent.agent_id, "since": since})

    async def _write(self) -> None:
        delay = 0.2
        while True:
            if not self._outgoing:
                self._idle.set()
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = self._outgoing[:500]
            try:
                await self.outbox.append(batch)
            except Fenced as exc:
                # A newer leader started: events are its to tell now (this process stands down). Those not yet in
                # the outbox go with this process: at most the last moments of its term.
                log.error("%s; %d events not added", exc, len(self._outgoing))
                self._outgoing.clear()
                continue
            except Unavailable as exc:
                log.error("webhook outbox unavailable, %d events kept, retrying in %.1f s: %s",
                          len(self._outgoing), delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            del self._outgoing[:len(batch)]

    # -- admins' management ----------------------------------------------------------------------------------------
    async def create(self, actor: UserRecord, url: str, events: Sequence[str], *, description: str = "",
                     source: str) -> WebhookSubscription:
        """A new subscription, with its secret (the only time it is handed out)."""
        await self.sender.check(url)
        subscription = await self._subscriptions.add(WebhookSubscription(
            subscription_id=secrets.token_hex(8), url=url, events=check_filters(events),
            secret="whsec_" + secrets.token_urlsafe(32), description=description, created_by=actor.name[:64],
            created_at=self.clock()))
        self._activate(subscription)
        await self._audit.record(actor, "create", "webhook", subscription.subscription_id, source=source,
                                 detail={"events": list(subscription.events)})
        return subscription

    async def list(self) -> builtins.list[WebhookSubscription]:
        return await self._subscriptions.list()

    async def get(self, subscription_id: str) -> WebhookSubscription:
        subscription = await self._subscriptions.get(subscription_id)
        if subscription is None:
            raise UnknownSubscription(f"no webhook subscription {subscription_id!r}",
                                      params={"subscription_id": subscription_id})
        return subscription

    async def change(self, actor: UserRecord, subscription_id: str, *, url: str | None = None,
                     events: Sequence[str] | None = None, description: str | None = None,
                     active: bool | None = None, source: str) -> WebhookSubscription:
        subscription = await self.get(subscription_id)
        if url is not None:
            await self.sender.check(url)
        changed = replace(subscription, url=url or subscription.url,
                          events=subscription.events if events is None else check_filters(events),
                          description=subscription.description if description is None else description,
                          active=subscription.active if active is None else active)
        await self._subscriptions.update(changed)
        if changed.active:
            self._activate(changed)
        else:
            await self._deactivate(subscription_id)
        await self._audit.record(actor, "change", "webhook", subscription_id, source=source)
        return changed

    async def delete(self, actor: UserRecord, subscription_id: str, *, source: str) -> None:
        await self.get(subscription_id)
        await self._deactivate(subscription_id)
        await self._subscriptions.delete(subscription_id)
        try:
            await self.outbox.drop(subscription_id)
        except Unavailable as exc:
            log.warning("the outbox of deleted subscription %s stays in Redis: %s", subscription_id, exc)
        self._stats.pop(subscription_id, None)
        await self._audit.record(actor, "delete", "webhook", subscription_id, source=source)

    async def metrics(self, subscription_id: str) -> dict[str, Any]:
        """Deliveries since start, and how many events wait in the outbox now (null when Redis is away)."""
        await self.get(subscription_id)
        try:
            backlog: int | None = await self.outbox.backlog(subscription_id)
        except Unavailable:
            backlog = None
        return {**self.stats_of(subscription_id).view(), "backlog": backlog}

    async def requeue(self, payload: Mapping[str, Any]) -> None:
        """A dead letter's event into its subscription's outbox again (the same id: a receiver dedupes on it);
        it arrives after the events of its subject that came meanwhile."""
        sid, subject, event = payload.get("subscription_id"), payload.get("subject"), payload.get("event")
        if not isinstance(sid, str) or not isinstance(subject, str) or not isinstance(event, dict):
            raise InvalidInput("not a webhook dead letter (subscription_id, subject, event)", code="invalid_letter")
        await self.get(sid)
        body = json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()
        await self.outbox.append([(sid, subject, body)])


def _work_data(item: WorkItem) -> dict[str, Any]:
    """What a partner learns of a call: ids, times and outcome; never the caller's number or name."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {"call_id": item.call_id, "channel": item.channel.value, "direction": item.direction.value,
            "queue": item.queue, "agent_id": item.agent_id, "customer_id": item.customer_id,
            "service_number": item.service_number, "state": item.state.value, "arrived_at": iso(item.arrived_at),
            "offered_at": iso(item.offered_at), "answered_at": iso(item.answered_at), "ended_at": iso(item.ended_at),
            "offers": item.offers, "outcome": None if item.outcome is None else item.outcome.value,
            "end_reason": None if item.end_reason is None else item.end_reason.value,
            "wait_seconds": item.wait_seconds, "talk_seconds": item.talk_seconds}

