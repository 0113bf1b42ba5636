"""Webhooks end to end on real components: the outbox in the real Redis, subscriptions and dead letters in SQLite,
requests over HTTP to a real aiohttp receiver started by the test, which fails, times out and comes back; the
events come from a real distributor's changes. Each receiver checks every signature as docs/integration.md tells a
partner to."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import AgentChanged, ContactCenter, WorkChanged, WorkItem
from cti.live import WebhookOutbox
from cti.messaging import HttpWebhookSender
from cti.persistence import (
    AgentRepository,
    AuditRepository,
    Database,
    DeadLetterRepository,
    InteractionRepository,
    UserRepository,
    WebhookRepository,
)
from cti.records import UserRecord
from cti.services import (
    AuditTrail,
    CommandBus,
    DeadLetterService,
    DeliveryPolicy,
    Distributor,
    Webhooks,
    verify_signature,
)
from cti.web import DEAD_LETTERS, WEBHOOKS, _partners
from tests.api import api_app
from tests.support import eventually

ADMIN_TOKEN = "admin-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
ACTOR = UserRecord(user_id=1, name="admin", role="admin", agent_id=None, disabled=False)
Client = TestClient[web.Request, web.Application]


@dataclass
class Receiver:
    """A partner's endpoint: ``mode`` says how it answers the next requests ('ok', 'fail': 500, 'slow': past
    the sender's timeout); it keeps every event it took (2xx), and every signature it saw checked."""

    mode: str = "ok"
    secret: str = ""
    taken: list[dict[str, Any]] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    """Ids of events it took after the sender had stopped waiting (the duplicates at-least-once allows)."""
    refused: int = 0
    bad_signatures: int = 0
    server: TestServer | None = None
    pending: set[asyncio.Future[None]] = field(default_factory=set)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        now = int(datetime.now(UTC).timestamp())
        if not verify_signature(self.secret, request.headers.get("X-Cti-Signature", ""), body, now=now):
            self.bad_signatures += 1
            return web.Response(status=400)
        if self.mode == "slow":
            self.refused += 1
            # It does take the event, too late: the sender gave up (and the test server cancels this handler
            # when the sender hangs up, so the taking goes on beside it).
            late = asyncio.ensure_future(self._take_late(body))
            self.pending.add(late)
            late.add_done_callback(self.pending.discard)
            await asyncio.shield(late)
            return web.Response(status=200)
        if self.mode == "fail":
            self.refused += 1
            return web.Response(status=500)
        self.taken.append(json.loads(body))
        return web.Response(status=204)

    async def _take_late(self, body: bytes) -> None:
        await asyncio.sleep(1.0)
        self.late.append(json.loads(body)["id"])

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_post("/hooks", self.handle)
        self.server = TestServer(app, host="127.0.0.1", port=port)
        await self.server.start_server()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.close()
        await asyncio.gather(*self.pending, return_exceptions=True)

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.port}/hooks"

    def of(self, subject: str) -> list[str]:
        return [e["type"] for e in self.taken if e["subject"] == subject]


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    await UserRepository(database).ensure_user_token("admin", "admin", ADMIN_TOKEN)
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    await found.start()
    yield found
    await found.stop()


@pytest.fixture
def prefix() -> str:
    return f"cti-test-{secrets.token_hex(4)}"


@pytest.fixture
def make_hooks(db: Database, redis_url: str, prefix: str) -> Callable[..., Webhooks]:
    """A Webhooks as the server builds it (a new one per call: a restarted server), on the same Redis and DB."""

    def make(*, attempts: int = 20, timeout: float = 0.3) -> Webhooks:
        return Webhooks(WebhookRepository(db), WebhookOutbox(redis_url, prefix),
                        HttpWebhookSender(timeout=timeout, allow_private=True), DeadLetterRepository(db),
                        AuditTrail(AuditRepository(db), lambda: datetime.now(UTC)), clock=lambda: datetime.now(UTC),
                        policy=DeliveryPolicy(max_attempts=attempts, retry_base=0.05, retry_cap=0.2))

    return make


async def _closed(hooks: Webhooks) -> None:
    """Close it, then its outbox and sender, as the server's exit stack does."""
    await hooks.close()
    outbox, sender = hooks.outbox, hooks.sender
    assert isinstance(outbox, WebhookOutbox) and isinstance(sender, HttpWebhookSender)
    await outbox.close()
    await sender.close()


def _floor(hooks: Webhooks) -> Distributor:
    """A distributor whose changes go to the webhooks (the handler table the server builds has them too)."""
    distributor = Distributor(ContactCenter(), lambda: datetime.now(UTC),
                              CommandBus({WorkChanged: [hooks.work_changed], AgentChanged: [hooks.agent_changed]}))
    for n, agent_id in enumerate(("ani", "budi")):
        distributor.register_agent(agent_id, agent_id.title())
        distributor.login(agent_id, f"70{n:02d}", ready=True)
    return distributor


def _call(distributor: Distributor, call_id: str) -> None:
    distributor.arrive(WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="0215550101",
                                service_number="1500100", queue="", arrived_at=datetime.now(UTC)))


async def test_a_real_sequence_of_calls_arrives_in_order_per_call_signed(
        make_hooks: Callable[..., Webhooks], receiver: Receiver) -> None:
    hooks = make_hooks()
    await hooks.start()
    try:
        subscription = await hooks.create(ACTOR, receiver.url, ["call.*"], source="test")
        receiver.secret = subscription.secret
        distributor = _floor(hooks)
        _call(distributor, "c1")
        _call(distributor, "c2")
        distributor.offer_answered("c1-a1")
        _call(distributor, "c3")  # nobody free: it waits
        distributor.leg_gone("leg-c2")  # abandoned while ringing Budi
        distributor.offer_answered("c2-a1")  # too late: nothing happens
        distributor.leg_gone("leg-c1")  # Ani's caller hangs up
        await eventually(lambda: len(receiver.taken) == 6, timeout=10, message="six events taken")
    finally:
        await _closed(hooks)
    assert receiver.of("call:c1") == ["call.offered", "call.answered", "call.ended"]
    assert receiver.of("call:c2") == ["call.offered", "call.ended"]
    assert receiver.of("call:c3") == ["call.offered"]  # offered to Budi, freed by c2's end
    assert receiver.bad_signatures == 0
    ended = next(e for e in receiver.taken if e["subject"] == "call:c2" and e["type"] == "call.ended")
    assert (ended["data"]["outcome"], ended["data"]["queue"]) == ("abandoned", "general")


async def test_a_failing_receiver_gets_everything_once_it_recovers_in_order_without_loss(
        make_hooks: Callable[..., Webhooks], receiver: Receiver) -> None:
    receiver.mode = "fail"
    hooks = make_hooks()
    await hooks.start()
    try:
        subscription = await hooks.create(ACTOR, receiver.url, ["*"], source="test")
        receiver.secret = subscription.secret
        for n in range(10):
            for subject in ("customer:1", "customer:2"):
                hooks.notify("customer.changed", subject, {"n": n})
        await eventually(lambda: receiver.refused >= 6, timeout=10, message="the receiver refusing")
        receiver.mode = "ok"
        await eventually(lambda: len(receiver.taken) == 20, timeout=15, message="all twenty events")
        metrics = await hooks.metrics(subscription.subscription_id)
    finally:
        await _closed(hooks)
    for subject in ("customer:1", "customer:2"):
        assert [e["data"]["n"] for e in receiver.taken if e["subject"] == subject] == list(range(10))
    assert len({e["id"] for e in receiver.taken}) == 20  # taken once each: retries only of what was refused
    assert metrics["delivered"] == 20 and metrics["failures"] == receiver.refused
    assert metrics["backlog"] == 0 and metrics["dead_letters"] == 0
    assert metrics["last_error"] == "the receiver answered 500"


async def test_a_receiver_that_times_out_gets_the_event_again_when_it_answers(
        make_hooks: Callable[..., Webhooks], receiver: Receiver) -> None:
    receiver.mode = "slow"
    hooks = make_hooks(timeout=0.3)
    await hooks.start()
    try:
        subscription = await hooks.create(ACTOR, receiver.url, ["callback.scheduled"], source="test")
        receiver.secret = subscription.secret
        hooks.notify("callback.scheduled", "callback:x", {"n": 1})
        hooks.notify("customer.changed", "customer:1", {"n": 2})  # not subscribed: never sent
        await eventually(lambda: receiver.refused >= 2, timeout=10, message="two timed-out attempts")
        receiver.mode = "ok"
        await eventually(lambda: len(receiver.taken) == 1 and len(receiver.late) >= 2, timeout=10,
                         message="the event taken, and the late ones")
        metrics = await hooks.metrics(subscription.subscription_id)
    finally:
        await _closed(hooks)
    assert [e["type"] for e in receiver.taken] == ["callback.scheduled"]
    # What a receiver that was too slow took is the same event, with the same id: a duplicate it can drop.
    assert set(receiver.late) == {receiver.taken[0]["id"]}
    assert metrics["last_error"] is not None and "within 0.3 s" in metrics["last_error"]
    assert metrics["delivered"] == 1 and metrics["failures"] >= 2


async def test_an_event_refused_at_every_attempt_is_a_dead_letter_an_admin_replays(
        db: Database, make_hooks: Callable[..., Webhooks], receiver: Receiver) -> None:
    receiver.mode = "fail"
    hooks = make_hooks(attempts=3)
    app, _ = api_app(db, [_partners])
    app[WEBHOOKS] = hooks
    app[DEAD_LETTERS] = DeadLetterService(DeadLetterRepository(db), InteractionRepository(db), AgentRepository(db),
                                          requeue=hooks.requeue)
    await hooks.start()
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        created = await client.post("/api/webhooks", headers=ADMIN,
                                    json={"url": receiver.url, "events": ["customer.changed"]})
        assert created.status == 201
        subscription = await created.json()
        receiver.secret = subscription["secret"]
        hooks.notify("customer.changed", "customer:7", {"n": 1})
        hooks.notify("customer.changed", "customer:7", {"n": 2})

        async def letters() -> list[dict[str, Any]]:
            response = await client.get("/api/webhooks/dead-letters", headers=ADMIN)
            assert response.status == 200
            return list((await response.json())["dead_letters"])

        async def two_letters() -> bool:
            return len(await letters()) == 2

        await eventually(two_letters, timeout=10, message="both events set aside")
        first, second = await letters()
        assert (first["subscription_id"], first["subject"], first["event"]["data"]) == (
            subscription["subscription_id"], "customer:7", {"n": 1})
        assert first["error"] == "3 attempts: the receiver answered 500"
        assert receiver.refused == 6
        detail = await (await client.get(f"/api/webhooks/{subscription['subscription_id']}", headers=ADMIN)).json()
        assert "secret" not in detail
        assert (detail["metrics"]["dead_letters"], detail["metrics"]["delivered"], detail["metrics"]["backlog"]) == (
            2, 0, 0)

        receiver.mode = "ok"
        for letter in (first, second):
            replayed = await client.post(f"/api/webhooks/dead-letters/{letter['letter_id']}/replay", headers=ADMIN)
            assert replayed.status == 200
        await eventually(lambda: len(receiver.taken) == 2, timeout=10, message="the replayed events")
        assert [e["id"] for e in receiver.taken] == [first["event"]["id"], second["event"]["id"]]
        assert await letters() == []
        missing = await client.post(f"/api/webhooks/dead-letters/{first['letter_id']}/replay", headers=ADMIN)
        assert missing.status == 404
    finally:
        await client.close()
        await _closed(hooks)


async def test_events_pending_when_cti_stops_are_delivered_by_the_next_instance_in_order(
        make_hooks: Callable[..., Webhooks], receiver: Receiver) -> None:
    assert receiver.server is not None and receiver.server.port is not None
    port = receiver.server.port
    await receiver.stop()  # the partner is down: connections refused
    first = make_hooks()
    await first.start()
    try:
        subscription = await first.create(ACTOR, f"http://127.0.0.1:{port}/hooks", ["*"], source="test")
        for n in range(5):
            first.notify("call.answered", "call:r1", {"n": n})
            first.notify("call.answered", "call:r2", {"n": n})
        await first.flush()
        await eventually(lambda: first.stats_of(subscription.subscription_id).failures >= 2, timeout=10,
                         message="attempts refused")
    finally:
        await _closed(first)  # cti stops with every event pending

    receiver.secret = subscription.secret
    await receiver.start(port)
    second = make_hooks()
    await second.start()
    try:
        await eventually(lambda: len(receiver.taken) == 10, timeout=10, message="the pending events")
        metrics = await second.metrics(subscription.subscription_id)
        assert (metrics["delivered"], metrics["backlog"]) == (10, 0)
    finally:
        await _closed(second)
    for subject in ("call:r1", "call:r2"):
        assert [e["data"]["n"] for e in receiver.taken if e["subject"] == subject] == [0, 1, 2, 3, 4]
    assert len({e["id"] for e in receiver.taken}) == 10


async def test_a_url_to_a_private_address_is_refused_unless_the_operator_allows_it(db: Database, redis_url: str,
                                                                                    prefix: str) -> None:
    hooks = Webhooks(WebhookRepository(db), WebhookOutbox(redis_url, prefix), HttpWebhookSender(timeout=1.0),
                     DeadLetterRepository(db), AuditTrail(AuditRepository(db), lambda: datetime.now(UTC)),
                     clock=lambda: datetime.now(UTC))
    app, _ = api_app(db, [_partners])
    app[WEBHOOKS] = hooks
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        for url in ("http://127.0.0.1:8088/ari", "http://169.254.169.254/latest/meta-data", "http://10.1.2.3/x",
                    "http://[::1]/x", "http://user:pw@partner.example/x", "ftp://partner.example/x"):
            response = await client.post("/api/webhooks", headers=ADMIN, json={"url": url, "events": ["*"]})
            assert response.status == 422, url
        refused = await client.post("/api/webhooks", headers=ADMIN,
                                    json={"url": "http://127.0.0.1:8088/ari", "events": ["*"]})
        assert (await refused.json())["error"]["code"] == "webhook_url_refused"
        assert await WebhookRepository(db).list() == []
    finally:
        await client.close()
        await _closed(hooks)
