"""A cti for the chat tests (tests/integration/test_chat_api.py, tests/pages/test_chat_pages.py): the web part over
a real database and Redis, with the journal, the screen pop and the chat channel in the handler table as the
composition root wires them, but no telephony (and the desktop's follow-up tasks); and the helpers that drive a
customer and agents."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import ClientWebSocketResponse, web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import (
    AgentChanged,
    Announce,
    Channel,
    Connect,
    ContactCenter,
    Hangup,
    Hold,
    Offer,
    Reject,
    WorkChanged,
    parse_rules,
)
from cti.live import ChatStreams, LiveStore
from cti.messaging import SmtpMailer
from cti.persistence import (
    AgentRepository,
    ChatTranscriptRepository,
    CustomerRepository,
    Database,
    DeadLetterRepository,
    InteractionRepository,
    ScriptRepository,
    UserRepository,
)
from cti.records import AgentRecord
from cti.services import (
    AgentService,
    CenterView,
    ChatChannel,
    ChatService,
    ConnectedCrm,
    Distributor,
    Handler,
    HandlerKey,
    Journal,
    ReplyVoice,
    ScreenPop,
    StatsFeed,
)
from cti.sim._demo_seed import starter_faq
from cti.web import (
    ACCOUNTS,
    AGENTS,
    CHAT_STARTS,
    CHATS,
    CYBERAGENT,
    FAQ,
    POLICY,
    SCREENPOP,
    STATS,
    ApiModule,
    FailureThrottle,
    Hub,
    _chat,
    _desktop,
    _portal,
    _tasks,
)
from tests.api import api_app

Client = TestClient[web.Request, web.Application]
T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # a Monday, 09:00 WIB
ANI = {"Authorization": "Bearer agent-token-ani-0123456789"}
BUDI = {"Authorization": "Bearer agent-token-budi-0123456789"}
SUPER = {"Authorization": "Bearer super-token-0123456789"}
ELSEWHERE = {"Authorization": "Bearer super-token-elsewhere-01234"}
RULES = {"queues": {"general": {"wrap_up_seconds": 0}}}
CLOSED = {"calendars": {"office": {"timezone": "WIB", "hours": {"mon-fri": ["08:00-17:00"]},
                                   "holidays": ["2026-12-07"]}},
          "queues": {"general": {}, "web": {"calendar": "office"}},
          "routes": [{"name": "chat", "when": {"service_number": "chat"}, "queue": "web"}]}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class NoPhones:
    """Asterisk's endpoints, as far as these tests go: 7000 and 7001 (the agents' phones) exist."""

    async def endpoint_exists(self, extension: str) -> bool:
        return extension in ("7000", "7001")


@dataclass
class Center:
    """One cti over the shared Redis and database: its app, the test clients, and what is behind them."""

    app: web.Application
    distributor: Distributor
    chat: ChatChannel
    journal: Journal
    live: LiveStore
    streams: ChatStreams
    http: Client
    db: Database
    customers: list[Client] = field(default_factory=list)

    async def customer(self) -> Client:
        """A new browser: its own cookie jar."""
        client: Client = TestClient(self.http.server)
        self.customers.append(client)
        return client

    async def settle(self) -> None:
        await self.chat.drain()
        await self.journal.flush(10)

    async def close(self) -> None:
        self.app[CHATS].close()
        if STATS in self.app:
            await self.app[STATS].close()
        for client in self.customers:
            await client.session.close()
        await self.http.close()
        await self.chat.close()
        await self.journal.close()
        await self.streams.close()
        await self.live.close()


async def seed_users(database: Database) -> None:
    """Ani (two chats at once) and Budi (one), their tokens; Sue, a supervisor of everything; Sam, of billing only."""
    users, agents = UserRepository(database), AgentRepository(database)
    for agent_id, name, capacity in (("ani", "Ani Lestari", 2), ("budi", "Budi Santoso", 1)):
        await agents.upsert(AgentRecord(agent_id, name, {"capacity": {"chat": capacity}}))
        await users.ensure_user_token(f"agent-{agent_id}", "agent", f"agent-token-{agent_id}-0123456789", agent_id)
    await users.ensure_user_token("sue", "supervisor", "super-token-0123456789")
    await users.ensure_user_token("sam", "supervisor", "super-token-elsewhere-01234")
    await users.set_user_scope("sam", {"queues": ["billing"]})


async def start_center(db: Database, redis_url: str, prefix: str, clock: Clock,
                       rules: Mapping[str, Any] = RULES, *, accept_seconds: float = 0,
                       mailer: SmtpMailer | None = None, features: Sequence[ApiModule] = (),
                       away_seconds: float = 120.0, bot: bool = False,
                       voice: ReplyVoice | None = None, stats: bool = False,
                       crm: ConnectedCrm | None = None) -> Center:
    """A cti as the composition root builds one (but no telephony): the journal, the screen pop and the chat
    channel in the handler table, the live state and the chats restored from Redis. With ``bot``, the virtual agent
    over the demo's starter FAQ answers every chat first (its replies spoken by ``voice``, if given). With ``stats``,
    the dashboard's feed too (``STATS``), told of every change as the composition root tells it; with ``crm``,
    another CRM is the pop's source."""
    live, streams = LiveStore(redis_url, prefix), ChatStreams(redis_url, prefix)
    parts: dict[str, Any] = {}

    def handlers(hub: Hub, query: CenterView) -> Mapping[HandlerKey, Sequence[Handler]]:
        journal = Journal(live, InteractionRepository(db), AgentRepository(db), query,
                          dead_letters=DeadLetterRepository(db))
        screenpop = ScreenPop(hub, CustomerRepository(db), ScriptRepository(db), query, clock=clock, source=crm)
        chat = ChatChannel(streams, ChatTranscriptRepository(db), hub, query, clock, accept_seconds=accept_seconds,
                           record=lambda item: parts["journal"].record(item))
        feed = StatsFeed(hub, clock, lambda: query.rules, query.agent_map, ZoneInfo("UTC")) if stats else None
        parts.update(journal=journal, screenpop=screenpop, chat=chat, feed=feed)
        text = Channel.CHAT
        watchers = [] if feed is None else [feed.work_changed]
        agents = [] if feed is None else [feed.agent_changed]
        return {(Offer, text): [chat.offered], (Connect, text): [chat.connected], (Hangup, text): [chat.hung_up],
                (Hold, text): [chat.held], (Reject, text): [chat.rejected], (Announce, text): [chat.announced],
                Offer: [screenpop.offered],
                AgentChanged: [journal.agent_changed, screenpop.agent_changed, *agents],
                WorkChanged: [journal.work_changed, screenpop.work_changed, chat.work_changed, *watchers]}

    app, distributor = api_app(db, [_desktop, _portal, _chat, _tasks, *features],
                               core=ContactCenter(parse_rules(dict(rules))), clock=clock, handlers=handlers,
                               mailer=mailer, voice=voice)
    journal, chat = parts["journal"], parts["chat"]
    registry = [(r.agent_id, r.name, r.profile) for r in await AgentRepository(db).list()]
    agents, calls = await journal.load()
    distributor.restore(registry, agents, calls)
    journal.start()
    await chat.restore()
    app[SCREENPOP] = parts["screenpop"]
    app[AGENTS] = AgentService(distributor, AgentRepository(db), app[ACCOUNTS], NoPhones())
    if bot:
        await app[FAQ].install(starter_faq())
        await app[CYBERAGENT].agent()  # trained before the first chat, as the server does at start
    app[CHATS] = ChatService(distributor, chat, app[POLICY], CustomerRepository(db), away_seconds=away_seconds,
                             bot=app[CYBERAGENT] if bot else None)
    app[CHATS].watch_restored()
    app[CHAT_STARTS] = FailureThrottle(clock, limit=100)
    if parts["feed"] is not None:
        app[STATS] = parts["feed"]
    http: Client = TestClient(TestServer(app))
    await http.start_server()
    return Center(app, distributor, chat, journal, live, streams, http, db)


async def frames_until(ws: ClientWebSocketResponse, wanted: str, *, limit: int = 50) -> list[dict[str, Any]]:
    """Frames as they come, up to the first of type ``wanted``."""
    seen = []
    for _ in range(limit):
        frame = await asyncio.wait_for(ws.receive_json(), 5)
        seen.append(frame)
        if frame["type"] == wanted:
            return seen
    raise AssertionError(f"no {wanted!r} frame in {seen}")


async def message(ws: ClientWebSocketResponse) -> dict[str, Any]:
    """The next message frame's data (state and typing frames passed over)."""
    while True:
        frame = await asyncio.wait_for(ws.receive_json(), 5)
        if frame["type"] == "message":
            data: dict[str, Any] = frame["data"]
            return data


async def start(customer: Client, **body: Any) -> tuple[int, Any]:
    response = await customer.post("/api/portal/chat", json={"language": "id", **body})
    return response.status, await response.json()


def login(center: Center, *agents: str) -> None:
    for agent_id in agents:
        center.distributor.login(agent_id, {"ani": "7000", "budi": "7001"}[agent_id], ready=True)
