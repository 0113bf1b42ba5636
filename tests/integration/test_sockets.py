"""The websocket hub over real sockets: snapshots, numbered frames, replay after a reconnect, garbage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.web import FrameError, Hub, RawJson


@pytest.fixture
async def hub_client() -> AsyncIterator[tuple[Hub, TestClient[web.Request, web.Application]]]:
    hub = Hub()
    state = {"calls": 0}

    async def snapshot() -> dict[str, Any]:
        return dict(state)

    async def on_frame(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame["type"] == "echo":
            return {"type": "echoed", "data": frame.get("data")}
        raise FrameError(f"unknown frame type {frame['type']!r}")

    async def handler(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "t", snapshot, on_frame)

    app = web.Application()
    app.router.add_get("/ws", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield hub, client
    finally:
        await hub.close()
        await client.close()


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


async def test_first_connect_gets_a_snapshot_then_numbered_frames(hub_client: Any) -> None:
    hub, client = hub_client
    hub.publish("t", "update", {"n": 1})
    async with client.ws_connect("/ws") as ws:
        assert await receive(ws) == {"seq": 1, "type": "snapshot", "data": {"calls": 0}}
        hub.publish("t", "update", {"n": 2})
        hub.publish("t", "update", {"n": 3})
        assert await receive(ws) == {"seq": 2, "type": "update", "data": {"n": 2}}
        assert await receive(ws) == {"seq": 3, "type": "update", "data": {"n": 3}}


async def test_reconnect_replays_what_was_missed(hub_client: Any) -> None:
    hub, client = hub_client
    for n in range(1, 6):
        hub.publish("t", "update", {"n": n})
    async with client.ws_connect("/ws?since=3") as ws:
        assert [await receive(ws) for _ in range(2)] == [
            {"seq": 4, "type": "update", "data": {"n": 4}}, {"seq": 5, "type": "update", "data": {"n": 5}}]
        hub.publish("t", "update", {"n": 6})
        assert (await receive(ws))["seq"] == 6


async def test_a_gap_too_old_for_the_buffer_gets_a_fresh_snapshot(hub_client: Any) -> None:
    hub, client = hub_client
    for n in range(300):
        hub.publish("t", "update", {"n": n})
    async with client.ws_connect("/ws?since=2") as ws:
        assert await receive(ws) == {"seq": 300, "type": "snapshot", "data": {"calls": 0}}
    async with client.ws_connect("/ws?since=999") as ws:  # a number from before a server restart
        assert (await receive(ws))["type"] == "snapshot"


async def test_garbage_gets_an_error_frame_and_the_socket_stays(hub_client: Any) -> None:
    _, client = hub_client
    async with client.ws_connect("/ws") as ws:
        await receive(ws)
        for garbage in ("not json", "[1, 2]", '{"type": 5}', '{"type": "nope", "id": 7}'):
            await ws.send_str(garbage)
            reply = await receive(ws)
            assert reply["type"] == "error" and reply["error"]["message"], garbage
        await ws.send_bytes(b"\x00\x01")
        assert (await receive(ws))["error"]["message"] == "binary frames are not accepted; send JSON text"
        await ws.send_str('{"type": "echo", "id": 1, "data": "hi"}')
        assert await receive(ws) == {"id": 1, "type": "echoed", "data": "hi"}
        await ws.send_str('{"type": "ping", "id": 2}')
        assert await receive(ws) == {"type": "pong", "id": 2}


async def test_bad_since_is_refused_before_the_upgrade(hub_client: Any) -> None:
    _, client = hub_client
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws?since=-1")
    assert info.value.status == 400


async def test_shutdown_closes_pages_with_going_away(hub_client: Any) -> None:
    hub, client = hub_client
    async with client.ws_connect("/ws") as ws:
        await receive(ws)
        await hub.close()
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
        assert message.data == aiohttp.WSCloseCode.GOING_AWAY


async def test_json_text_is_sent_as_it_is_and_replayed() -> None:
    hub = Hub()

    async def snapshot() -> RawJson:
        return RawJson('{"calls":[1,2]}')

    async def handler(request: web.Request) -> web.StreamResponse:
        return await hub.serve(request, "t", snapshot)

    app = web.Application()
    app.router.add_get("/ws", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        hub.publish_json("t", "stats", '{"n":1}')
        async with client.ws_connect("/ws") as ws:
            assert (await ws.receive(timeout=5)).data == '{"seq":1,"type":"snapshot","data":{"calls":[1,2]}}'
            frame = hub.publish_json("t", "stats", '{"n":2}')
            assert frame.text == '{"seq":2,"type":"stats","data":{"n":2}}' and frame.payload == frame.text.encode()
            assert (await ws.receive(timeout=5)).data == frame.text
        async with client.ws_connect("/ws?since=0") as ws:
            assert [json.loads((await ws.receive(timeout=5)).data)["data"] for _ in range(2)] == [{"n": 1}, {"n": 2}]
    finally:
        await hub.close()
        await client.close()


async def test_json_nested_too_deep_gets_an_error_frame_and_the_socket_stays(hub_client: Any) -> None:
    # A fuzzer's 30,000-deep array made json.loads raise RecursionError and the socket die with it.
    _, client = hub_client
    async with client.ws_connect("/ws") as ws:
        await receive(ws)
        for deep in ("[" * 30_000 + "]" * 30_000, '{"a":' * 33 + "1" + "}" * 33, "[" * 30_000):
            await ws.send_str(deep)
            assert (await receive(ws))["error"] == {"code": "bad_frame", "message": "JSON nested deeper than 32 levels"}
        nested = '{"type": "echo", "id": 1, "data": ' + "[" * 30 + "]" * 30 + "}"  # 31 levels: fine
        await ws.send_str(nested)
        assert await receive(ws) == {"id": 1, "type": "echoed", "data": json.loads("[" * 30 + "]" * 30)}
        # Brackets inside strings are text, not nesting.
        await ws.send_str(json.dumps({"type": "echo", "id": 2, "data": "[" * 1000}))
        assert await receive(ws) == {"id": 2, "type": "echoed", "data": "[" * 1000}


async def test_an_oversized_frame_closes_the_socket_with_message_too_big(hub_client: Any) -> None:
    _, client = hub_client
    async with client.ws_connect("/ws") as ws:
        await receive(ws)
        await ws.send_str(json.dumps({"type": "echo", "data": "x" * (64 * 1024)}))
        message = await ws.receive(timeout=5)
        assert (message.type, message.data) == (aiohttp.WSMsgType.CLOSE, aiohttp.WSCloseCode.MESSAGE_TOO_BIG)
    async with client.ws_connect("/ws") as ws:  # the hub itself carries on
        assert (await receive(ws))["type"] == "snapshot"


@pytest.mark.parametrize("since", ["9" * 5000, "9" * 17, "1e3", "+1", " 1", "٣"])
async def test_a_since_no_page_can_have_seen_is_refused_before_the_upgrade(hub_client: Any, since: str) -> None:
    # 5,000 digits made int() raise ValueError: a 500.
    _, client = hub_client
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await client.ws_connect("/ws", params={"since": since})
    assert info.value.status == 400
    response = await client.get("/ws", params={"since": since})
    assert (response.status, response.reason) == (400, "since must be an integer from 0 to 9007199254740991")
