"""A web front end's hub over real sockets (docs/scaling.md, *Web front ends*): a page starts from the leader's
snapshot at the leader's number and then gets exactly the relayed frames after it; a gap or a new term sends it
to a fresh snapshot (4001); and the leader's side of the sockets a front end serves (grants): renewed, given back,
expired, closed with their owner's revocation, each ending once, and renewed and given back by the thousand."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.records import UserRecord
from cti.web import HUB, MAX_BODY, FrontEnd, Hub
from cti.web._live import routes as live_routes
from cti.web._sockets import CLOSE_RECONNECT, LENT_TTL, AtSeq

Client = TestClient[web.Request, web.Application]


def _text(seq: int, n: int) -> str:
    return json.dumps({"seq": seq, "type": "agent", "data": {"n": n}}, separators=(",", ":"))


@pytest.fixture
async def front() -> AsyncIterator[tuple[Hub, Client, dict[str, Any]]]:
    hub = Hub()
    remote: dict[str, Any] = {"seq": 10, "state": {"at": 10}, "before_serve": []}

    async def handler(request: web.Request) -> web.StreamResponse:
        async def snapshot() -> AtSeq:
            for seq in remote["before_serve"]:  # relayed while the leader's answer was on its way
                hub.relay("agent:a1", seq, "agent", _text(seq, seq))
            return AtSeq(remote["seq"], remote["state"])

        return await hub.serve(request, "agent:a1", snapshot)

    app = web.Application()
    app.router.add_get("/ws", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield hub, client, remote
    finally:
        await hub.close()
        await client.close()


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


async def test_a_page_starts_at_the_leaders_snapshot_and_gets_only_what_follows(front: Any) -> None:
    hub, client, remote = front
    for seq in (8, 9, 10):  # the stream ran ahead of nothing: frames the snapshot covers
        hub.relay("agent:a1", seq, "agent", _text(seq, seq))
    remote["before_serve"] = [11]  # a frame after the snapshot, relayed before the page subscribed
    async with client.ws_connect("/ws") as ws:
        assert await receive(ws) == {"seq": 10, "type": "snapshot", "data": {"at": 10}}
        assert await receive(ws) == {"seq": 11, "type": "agent", "data": {"n": 11}}
        hub.relay("agent:a1", 12, "agent", _text(12, 12))
        assert await receive(ws) == {"seq": 12, "type": "agent", "data": {"n": 12}}


async def test_a_snapshot_ahead_of_the_front_end_drops_the_frames_it_covers(front: Any) -> None:
    hub, client, _ = front
    hub.relay("agent:a1", 7, "agent", _text(7, 7))  # this front end is behind the leader's snapshot (10)
    async with client.ws_connect("/ws") as ws:
        assert (await receive(ws))["seq"] == 10
        for seq in (8, 9, 10, 11):  # the stream catching up: 8..10 are in the snapshot
            hub.relay("agent:a1", seq, "agent", _text(seq, seq))
        assert await receive(ws) == {"seq": 11, "type": "agent", "data": {"n": 11}}
    # A page reconnecting with 10 is replayed 11 from this front end's buffer.
    async with client.ws_connect("/ws?since=10") as ws:
        assert await receive(ws) == {"seq": 11, "type": "agent", "data": {"n": 11}}


async def test_a_page_joining_ahead_of_the_relay_takes_nothing_from_the_pages_already_there(front: Any) -> None:
    # The cluster dashboards' bench found full frames holding call agents' changes no live frame had brought,
    # only while dashboards were connecting: a newcomer's snapshot, taken by the leader a few frames ahead of what
    # this front end had read from the stream, moved the topic's number on, and the stream's frames up to it were
    # then dropped as had, for the pages already connected too.
    hub, client, remote = front
    remote["seq"] = 7
    hub.relay("agent:a1", 7, "agent", _text(7, 7))
    async with client.ws_connect("/ws") as early:
        assert (await receive(early))["seq"] == 7
        remote["seq"] = 10  # the leader published 8..10 that the stream has not brought here yet
        async with client.ws_connect("/ws") as late:
            assert (await receive(late))["seq"] == 10
            for seq in (8, 9, 10, 11):
                hub.relay("agent:a1", seq, "agent", _text(seq, seq))
            for seq in (8, 9, 10, 11):
                assert (await receive(early))["seq"] == seq
            assert await receive(late) == {"seq": 11, "type": "agent", "data": {"n": 11}}  # 8..10: in its snapshot
    # The replay buffer holds them too: a page that saw 8 elsewhere is replayed 9 on.
    async with client.ws_connect("/ws?since=8") as ws:
        assert [(await receive(ws))["seq"] for _ in range(3)] == [9, 10, 11]


async def test_a_gap_or_a_new_term_sends_the_page_to_a_fresh_snapshot(front: Any) -> None:
    hub, client, _ = front
    async with client.ws_connect("/ws") as ws:
        assert (await receive(ws))["seq"] == 10
        hub.relay("agent:a1", 11, "agent", _text(11, 11))
        assert (await receive(ws))["seq"] == 11
        hub.relay("agent:a1", 13, "agent", _text(13, 13))  # 12 never came
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, CLOSE_RECONNECT)
    async with client.ws_connect("/ws") as ws:
        assert (await receive(ws))["type"] == "snapshot"
        assert hub.reset() == 1  # a new leader's term
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, CLOSE_RECONNECT)
    assert hub.topic("agent:a1").seq == 0  # numbered afresh


def _user(name: str) -> UserRecord:
    return UserRecord(user_id=1, name=name, role="agent", agent_id=name, disabled=False)


async def test_the_leaders_grants_end_once_however_they_end(monkeypatch: pytest.MonkeyPatch) -> None:
    import cti.web._sockets as sockets

    now = [1000.0]
    monkeypatch.setattr(sockets.time, "monotonic", lambda: now[0])
    hub = Hub()
    ended: list[str] = []
    kept = hub.lend(_user("ana"), lambda: ended.append("kept"), topic="agent:ana")
    given = hub.lend(_user("ana"), lambda: ended.append("given"), topic="agent:ana")
    lapsed = hub.lend(_user("bob"), lambda: ended.append("lapsed"), topic="agent:bob")
    revoked = hub.lend(_user("cid"), lambda: ended.append("revoked"), topic="agent:cid")
    assert len(hub.owners()) == 4
    assert hub.subscribers("agent:ana") == 2  # what the dashboards' feed asks before publishing to a topic
    assert hub.lent_topic(kept) == "agent:ana"

    hub.give_back([given])
    now[0] += sockets.LENT_TTL - 1
    assert hub.renew([kept, revoked]) == {}
    assert await hub.disconnect(lambda owner: "token rotated" if owner.name == "cid" else None) == 1
    assert ended == ["given", "revoked"]
    now[0] += 2  # bob's was not renewed within its time
    assert hub.renew([kept, revoked, lapsed]) == {
        revoked: (1008, "token rotated"), lapsed: (CLOSE_RECONNECT, "unknown socket; reconnect")}
    assert ended == ["given", "revoked", "lapsed"]
    assert [owner.name for owner in hub.owners()] == ["ana"]
    assert hub.lent_topic(revoked) is None
    hub.give_back([kept, kept])
    assert ended == ["given", "revoked", "lapsed", "kept"]
    assert [hub.subscribers(t) for t in ("agent:ana", "agent:bob", "agent:cid")] == [0, 0, 0]
    await asyncio.sleep(0)


def test_a_leaders_numbers_start_where_its_term_says() -> None:
    old, new = Hub(), Hub()
    old.number_from_term(1796599449649)
    new.number_from_term(1796599461234)  # the standby that took over, 11.6 s later
    for _ in range(3):
        old.publish("agent:a1", "agent", {})
        new.publish("agent:a1", "agent", {})
    base_old, base_new = (1796599449649 % 2**20) << 32, (1796599461234 % 2**20) << 32
    assert [f.seq for f in old.topic("agent:a1").buffer] == [base_old + 1, base_old + 2, base_old + 3]
    assert new.topic("agent:a1").seq == base_new + 3 < 2**53
    # A page that saw the old leader's 2nd frame asks the new one: a snapshot, not the new leader's 3rd frame.
    assert new.topic("agent:a1").since(base_old + 2) is None


class _NoStream:
    async def leader(self) -> tuple[str, int] | None:
        return None

    async def read(self, after: str) -> AsyncIterator[list[Any]]:
        yield []


async def test_a_front_end_serving_thousands_of_pages_renews_and_gives_back_every_grant(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21's 5,000 dashboards put 2,500 on a front end: their renewal in one body (117 KB) was over what the
    leader reads (413, and the front end let it go), so ten seconds later the leader counted nobody on the topic and
    its feed stopped publishing there, while every page stayed open, waiting."""
    import cti.web._sockets as sockets

    now = [1000.0]
    monkeypatch.setattr(sockets.time, "monotonic", lambda: now[0])
    async with _leader_and_front() as (hub, front, url):
        grants = [hub.lend(_user(f"s{n}"), topic="dashboard:all") for n in range(2500)]
        for grant in grants:
            front.held(grant, web.WebSocketResponse())
        now[0] += LENT_TTL - 1
        await front._renew(url)
        now[0] += LENT_TTL - 1
        assert len(hub.owners()) == hub.subscribers("dashboard:all") == 2500
        for grant in grants[:2000]:  # pages gone together (a client's network dropped)
            front.release(grant)
        await front._renew(url)
        assert hub.subscribers("dashboard:all") == 500
        now[0] += LENT_TTL - 1
        await front._renew(url)
        now[0] += LENT_TTL - 1
        assert len(hub.owners()) == hub.subscribers("dashboard:all") == 500


@contextlib.asynccontextmanager
async def _leader_and_front() -> AsyncIterator[tuple[Hub, FrontEnd, str]]:
    """The leader's live routes (its hub, its body limit) served, and a front end that renews its grants there; the
    hub, the front end and the leader's URL."""
    hub = Hub()
    app = web.Application(client_max_size=MAX_BODY)  # the leader's limit
    app[HUB] = hub
    app.add_routes(live_routes)
    leader = TestClient(TestServer(app))
    await leader.start_server()
    front = FrontEnd(Hub(), _NoStream())
    front._http = aiohttp.ClientSession()
    try:
        yield hub, front, str(leader.make_url("")).rstrip("/")
    finally:
        await front.close()
        await leader.close()


class _SilentPage:
    """A page's socket that never answers a close (a stalled browser): its close waits out aiohttp's timeout."""

    closed = False

    def __init__(self) -> None:
        self.codes: list[int] = []

    async def close(self, *, code: int, message: bytes) -> bool:
        self.codes.append(code)
        await asyncio.sleep(10)
        return True


async def test_a_renewal_that_closes_many_pages_does_not_wait_for_each_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """The leader answered a renewal with 1,342 sockets to close (their grants had lapsed): the front end closed them
    one after the other, each waiting for its page, and renewed no other grant for minutes."""
    async with _leader_and_front() as (hub, front, url):
        kept = hub.lend(_user("kept"), topic="dashboard:all")
        front.held(kept, web.WebSocketResponse())
        pages = [_SilentPage() for _ in range(50)]
        for n, page in enumerate(pages):
            front.held(f"lapsed-grant-{n:04d}", page)  # type: ignore[arg-type]  # unknown to the leader
        await asyncio.wait_for(front._renew(url), 2)
        await asyncio.sleep(0)
        assert [page.codes for page in pages] == [[CLOSE_RECONNECT]] * 50
        assert list(front._grants) == [kept]
