"""The hub's batched writes over real sockets (cti/web/_sockets.py): frames queued together go out in one write
each batch yet arrive each as its own message, in order, across batches, at the websocket length boundaries and
past the batch's byte bound; a catch-up is batched the same way; a page that stops reading holds the server's
buffer to a bound and is closed with 1013 once too far behind; a page that goes away ends its socket quietly."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.web import Hub
from cti.web import _sockets as sockets
from cti.web._sockets import BATCH_BYTES, BATCH_FRAMES, SEND_QUEUE, Frame

Client = TestClient[web.Request, web.Application]


@dataclass
class Server:
    hub: Hub
    client: Client
    transports: list[asyncio.Transport] = field(default_factory=list)
    served: int = 0
    writes: list[list[int]] = field(default_factory=list)
    """The sizes of the frames of each write the hub made."""


@pytest.fixture
async def server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Server]:
    hub = Hub()

    async def snapshot() -> dict[str, Any]:
        return {}

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        there.transports.append(request.transport)
        try:
            return await hub.serve(request, "t", snapshot)
        finally:
            there.served += 1

    write = sockets._write

    async def counted(ws: web.WebSocketResponse, transport: asyncio.Transport, writer: Any,
                      frames: Sequence[Frame]) -> bool:
        there.writes.append([len(frame.payload) for frame in frames])
        return await write(ws, transport, writer, frames)

    monkeypatch.setattr(sockets, "_write", counted)
    app = web.Application()
    app.router.add_get("/ws", handler)
    client = TestClient(TestServer(app))
    await client.start_server()
    there = Server(hub, client)
    try:
        yield there
    finally:
        await hub.close()
        await client.close()


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    data: dict[str, Any] = json.loads(message.data)
    return data


def publish_sized(hub: Hub, length: int) -> Frame:
    """A frame whose text (the websocket payload) is exactly ``length`` bytes."""
    seq = hub.topic("t").seq + 1
    prefix = f'{{"seq":{seq},"type":"b","data":"'
    frame = hub.publish_json("t", "b", '"' + "x" * (length - len(prefix) - 2) + '"')
    assert len(frame.payload) == length
    return frame


async def test_frames_queued_together_go_out_in_batches_each_its_own_message_in_order(server: Server) -> None:
    async with server.client.ws_connect("/ws") as ws:
        assert (await receive(ws))["type"] == "snapshot"
        for n in range(200):
            server.hub.publish("t", "update", {"n": n})
        got = [await receive(ws) for _ in range(200)]
        assert [(g["seq"], g["data"]["n"]) for g in got] == [(n + 1, n) for n in range(200)]
        # One write for every frame queued when the socket's task woke, up to BATCH_FRAMES.
        assert [len(w) for w in server.writes] == [BATCH_FRAMES] * 3 + [200 - 3 * BATCH_FRAMES]
        server.hub.publish("t", "update", {"n": 200})
        assert (await receive(ws))["seq"] == 201
        assert [len(w) for w in server.writes][-1] == 1


async def test_frames_at_the_length_boundaries_and_past_the_byte_bound_arrive_whole(server: Server) -> None:
    sizes = [125, 126, 127, 65535, 65536, 70000, 100, 200_000, 60] * 3
    async with server.client.ws_connect("/ws", max_msg_size=2**20) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        frames = [publish_sized(server.hub, n) for n in sizes]
        for frame in frames:
            message = await ws.receive(timeout=5)
            assert message.type is aiohttp.WSMsgType.TEXT
            assert message.data == frame.text
    assert [n for write in server.writes for n in write] == sizes
    assert len(server.writes) > 1
    for write in server.writes:  # a write stops at the first frame past the bound
        assert sum(write[:-1]) < BATCH_BYTES


async def test_a_catch_up_is_batched_and_live_frames_follow_it(server: Server) -> None:
    for n in range(200):
        server.hub.publish("t", "update", {"n": n})
    async with server.client.ws_connect("/ws?since=10") as ws:
        got = [await receive(ws) for _ in range(190)]
        assert [g["seq"] for g in got] == list(range(11, 201))
        assert [len(w) for w in server.writes] == [BATCH_FRAMES, BATCH_FRAMES, 190 - 2 * BATCH_FRAMES]
        server.hub.publish("t", "update", {"n": 200})
        assert (await receive(ws))["seq"] == 201


async def test_a_page_that_stops_reading_is_held_to_a_bound_then_closed_with_1013(server: Server) -> None:
    async with server.client.ws_connect("/ws", max_msg_size=2**20) as ws:
        assert (await receive(ws))["type"] == "snapshot"
        [transport] = server.transports
        topic = server.hub.topic("t")
        buffered = 0
        published = 0
        while topic.subscribers and published < 20_000:
            publish_sized(server.hub, 32 * 1024)
            published += 1
            buffered = max(buffered, transport.get_write_buffer_size())
            await asyncio.sleep(0)
        assert not topic.subscribers, "never closed"
        # The kernel's buffers and the client's take the first frames; then the socket's writes wait for the
        # buffer to go below its high-water mark: what is left waits in the bounded queue, never in the buffer.
        high = transport.get_write_buffer_limits()[1]
        assert buffered <= high + BATCH_BYTES + 32 * 1024
        assert published > SEND_QUEUE
        seqs = []
        while True:
            message = await ws.receive(timeout=10)
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            seqs.append(json.loads(message.data)["seq"])
        assert message.type is aiohttp.WSMsgType.CLOSE, message
        assert message.data == aiohttp.WSCloseCode.TRY_AGAIN_LATER
        assert seqs == list(range(1, 1 + len(seqs)))  # what arrived is whole and in order, up to where it stopped


async def test_a_page_that_goes_away_mid_stream_ends_its_socket_quietly(
        server: Server, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    ws = await server.client.ws_connect("/ws")
    assert (await receive(ws))["type"] == "snapshot"
    for n in range(300):
        server.hub.publish("t", "update", {"n": n})
        if n == 100:
            ws._response.connection.transport.abort()  # type: ignore[union-attr]
        await asyncio.sleep(0)
    for _ in range(100):
        if server.served:
            break
        await asyncio.sleep(0.05)
    assert server.served == 1
    assert not server.hub.topic("t").subscribers
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    await ws.close()
