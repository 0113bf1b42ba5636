"""What a web front end forwards to the leader (docs/scaling.md, *Web front ends*): requests as they came (method,
path, query, body, credentials, cookies both ways, the client's address added), the leader's answer as it
came (status, headers); other websockets both ways, a refused one refused with the leader's status; and its
``/healthz``. A stand-in leader over real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.web import FrontEnd, Hub, mount_front

Client = TestClient[web.Request, web.Application]


class _NoStream:
    async def leader(self) -> tuple[str, int] | None:
        return None

    async def read(self, after: str) -> AsyncIterator[list[Any]]:
        yield []


async def _leader_app() -> web.Application:
    app = web.Application()

    async def echo(request: web.Request) -> web.Response:
        response = web.json_response({
            "method": request.method, "path": request.path, "query": dict(request.query),
            "body": (await request.read()).decode(), "authorization": request.headers.get("Authorization"),
            "forwarded_for": request.headers.get("X-Forwarded-For"), "cookie": request.cookies.get("cti_session")})
        response.set_cookie("cti_csrf", "from-the-leader")
        return response

    async def refuse(request: web.Request) -> web.Response:
        raise web.HTTPUnauthorized(reason="missing bearer token", headers={"WWW-Authenticate": 'Bearer realm="cti"'})

    async def socket(request: web.Request) -> web.WebSocketResponse:
        if "Authorization" not in request.headers:
            raise web.HTTPNotFound(reason="no phone")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            await ws.send_str(f"echo {message.data}")
        return ws

    app.router.add_route("*", "/api/echo", echo)
    app.router.add_get("/api/refuse", refuse)
    app.router.add_get("/ws/phone", socket)
    return app


@pytest.fixture
async def clients() -> AsyncIterator[tuple[Client, FrontEnd]]:
    leader = TestClient(TestServer(await _leader_app()))
    await leader.start_server()
    front = FrontEnd(Hub(), _NoStream())
    app = web.Application()
    mount_front(app, front)
    client = TestClient(TestServer(app))
    await client.start_server()
    front._http = aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())
    front.leader_url = str(leader.make_url("")).rstrip("/")
    front.stream_up = True
    try:
        yield client, front
    finally:
        await front.close()
        await client.close()
        await leader.close()


async def test_requests_go_to_the_leader_as_they_came_and_come_back_as_it_answered(clients: Any) -> None:
    client, _ = clients
    async with client.post("/api/echo?x=1&y=two", data=b'{"a": 1}', headers={
            "Authorization": "Bearer t0ken", "Cookie": "cti_session=s1"}) as response:
        assert response.status == 200
        answer = await response.json()
        assert response.cookies["cti_csrf"].value == "from-the-leader"
    assert answer == {"method": "POST", "path": "/api/echo", "query": {"x": "1", "y": "two"}, "body": '{"a": 1}',
                      "authorization": "Bearer t0ken", "forwarded_for": "127.0.0.1", "cookie": "s1"}
    async with client.get("/api/refuse") as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="cti"'
    async with client.get("/ui/index.html") as response:  # the static pages are the front end's own
        assert response.status == 200 and "html" in response.headers["Content-Type"]


async def test_other_websockets_are_forwarded_both_ways_or_refused_as_the_leader_refuses(clients: Any) -> None:
    client, _ = clients
    async with client.ws_connect("/ws/phone", headers={"Authorization": "Bearer t0ken"}) as ws:
        await ws.send_str("hello")
        assert (await ws.receive(timeout=5)).data == "echo hello"
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await client.ws_connect("/ws/phone")
    assert refused.value.status == 404


async def test_health_says_whether_there_is_a_leader_and_a_stream(clients: Any) -> None:
    client, front = clients
    async with client.get("/healthz") as response:
        assert (response.status, await response.json()) == (200, {
            "status": "ok", "role": "front_end", "term": None, "components": {"redis": True, "leader": True}})
    front.leader_url = None
    async with client.get("/healthz") as response:
        assert response.status == 503
    async with client.get("/api/echo") as response:
        assert response.status == 503  # nothing to forward to: the balancer takes this front end out
