"""bench/dashboard.py's account of why dashboards ended (bench/_page_ends.py): the reasons counted, the examples kept,
several client processes' accounts merged, and the benchmark's clients against a real aiohttp server that refuses
one handshake, closes one page with 4001 and drops another without a close frame."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench._page_ends import PageEnd, connect_failure, merge, socket_end, summarise
from bench.dashboard import abridged, open_clients


def _end(idx: int, reason: str, at: float, connected: bool = True, detail: str = "") -> PageEnd:
    return PageEnd(idx, reason, detail or f"detail {idx}", at, connected, "http://f1")


def test_ends_are_counted_by_reason_most_first_with_the_earliest_examples() -> None:
    base = 1_765_000_000.0  # 2025-12-06 05:46:40 UTC
    ends = [_end(i, "connection lost, code 1006 ClientConnectionResetError", base + 10 - i) for i in range(5)]
    ends += [_end(10, "closed by the server, code 4001", base + 3, detail="unknown socket; reconnect"),
             _end(11, "handshake refused, HTTP 503", base + 1, connected=False)]
    out = summarise(ends, examples=2)
    assert out["pages"] == 7 and out["while_connecting"] == 1
    assert out["by_reason"] == {"connection lost, code 1006 ClientConnectionResetError": 5,
                                "closed by the server, code 4001": 1, "handshake refused, HTTP 503": 1}
    assert list(out["by_reason"]) == list(out["examples"])
    lost = out["examples"]["connection lost, code 1006 ClientConnectionResetError"]
    assert [e["idx"] for e in lost] == [4, 3]  # the earliest two, in time order
    assert lost[0] == {"idx": 4, "at": "05:46:46.000", "while": "connected", "where": "http://f1",
                       "detail": "detail 4"}
    assert out["examples"]["handshake refused, HTTP 503"][0]["while"] == "connecting"
    assert (out["first_at"], out["last_at"]) == ("05:46:41.000", "05:46:50.000")


def test_nothing_ended_is_said_as_such() -> None:
    assert summarise([]) == {"pages": 0, "while_connecting": 0, "first_at": None, "last_at": None, "by_reason": {},
                             "examples": {}}
    assert merge([summarise([]), summarise([])]) == summarise([])


def test_several_processes_accounts_add_up_and_keep_the_earliest_examples() -> None:
    base = 1_765_000_000.0
    one = summarise([_end(1, "a", base + 5), _end(2, "a", base + 6), _end(3, "b", base + 1, connected=False)])
    two = summarise([_end(7, "a", base + 2), _end(8, "a", base + 9)])
    out = merge([one, two], examples=2)
    assert out["pages"] == 5 and out["while_connecting"] == 1
    assert out["by_reason"] == {"a": 4, "b": 1}
    assert [e["idx"] for e in out["examples"]["a"]] == [7, 1]
    assert (out["first_at"], out["last_at"]) == ("05:46:41.000", "05:46:49.000")


def test_reasons_name_the_code_the_status_or_the_exception() -> None:
    assert socket_end(True, 4001, "unknown socket; reconnect", None) == (
        "closed by the server, code 4001", "unknown socket; reconnect")
    lost = aiohttp.ClientConnectionResetError("Cannot write to closing transport")
    assert socket_end(False, 1006, "CLOSED", lost) == (
        "connection lost, code 1006 ClientConnectionResetError", "Cannot write to closing transport")
    assert socket_end(False, None, "CLOSED", None) == ("connection lost, code None", "CLOSED")
    assert connect_failure(TimeoutError()) == ("connect failed, TimeoutError", "")
    assert connect_failure(OSError(24, "Too many open files")) == ("connect failed, OSError",
                                                                   "[Errno 24] Too many open files")


def test_a_dump_too_long_to_keep_keeps_its_counts_and_says_what_it_left() -> None:
    short = b'{"ready":3}\n'
    assert abridged(short) == short
    dump = {"clients": [[i, "dashboard:all", list(range(300)), [0.5] * 300, None, None, 0.0] for i in range(20)],
            "verify": {"carried": {}, "checks": 3}, "frames": 6000, "page_ends": summarise([])}
    line = (json.dumps(dump) + "\n").encode()
    kept = json.loads(abridged(line))
    assert kept == {"clients": "<not kept: 20 entries>", "verify": "<not kept: 2 entries>", "frames": 6000,
                    "page_ends": summarise([]), "bytes": len(line)}


async def test_the_clients_say_why_each_page_ended() -> None:
    """Page 0 refused (403), page 1 closed by the server with 4001 after its snapshot, page 2 dropped without a close
    frame, page 3 left open: three ends, each with its reason, and the open page unaffected."""

    async def dashboard(request: web.Request) -> web.StreamResponse:
        page = request.headers["Authorization"].removeprefix("Bearer ")
        if page == "0":
            raise web.HTTPForbidden(reason="not yours")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"seq": 1, "type": "snapshot", "data": {}}))
        await ws.send_str('{"seq":2,"type":"live","data":{}}')
        await asyncio.sleep(0.2)
        if page == "1":
            await ws.close(code=4001, message=b"unknown socket; reconnect")
        elif page == "2":
            assert request.transport is not None
            request.transport.close()  # as aiohttp does to a page that did not answer its ping in time
        else:
            await asyncio.sleep(5)
        return ws

    app = web.Application()
    app.router.add_get("/ws/dashboard", dashboard)
    ended: list[PageEnd] = []
    async with TestServer(app) as server, aiohttp.ClientSession() as session:
        url = str(server.make_url("")).rstrip("/")
        clients = await open_clients(session, [url], [(i, str(i), "dashboard:all") for i in range(4)], compress=False,
                                     concurrency=4, verify=None, on_end=ended.append)
        await asyncio.sleep(0.5)
        try:
            reasons = {c.idx: c.ended.reason if c.ended else None for c in clients}
            assert reasons == {0: "handshake refused, HTTP 403", 1: "closed by the server, code 4001",
                               2: reasons[2], 3: None}
            assert reasons[2] is not None and reasons[2].startswith("connection lost, code 1006")
            assert clients[1].ended is not None and clients[1].ended.detail == "unknown socket; reconnect"
            assert clients[1].ended.connected and not clients[0].ended.connected  # type: ignore[union-attr]
            assert clients[3].frames == 1 and clients[0].ws is None
            assert sorted(e.idx for e in ended) == [0, 1, 2]
        finally:
            for client in clients:
                if client.task is not None:
                    client.task.cancel()
                if client.ws is not None:
                    await client.ws.close()
