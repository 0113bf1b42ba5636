"""HTTP status -> exception mapping, body decoding and timeouts, against a tiny local aiohttp server.

Asterisk cannot be made to time out or answer 422/503 on demand, so these faults are staged here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cti.ari import (
    AriBadRequest,
    AriClient,
    AriConflict,
    AriConnectionError,
    AriError,
    AriHTTPError,
    AriNotFound,
    AriProtocolError,
    AriUnprocessable,
)


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    release = asyncio.Event()

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        return web.json_response({"message": f"status {code}"}, status=code)

    async def error_key(request: web.Request) -> web.Response:
        return web.json_response({"error": "Allocation failed"}, status=500)

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html>bad gateway</html>", status=502, content_type="text/html")

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({})

    async def empty(request: web.Request) -> web.Response:
        return web.Response(status=204)

    async def bad_json(request: web.Request) -> web.Response:
        return web.Response(text="{not json", content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/ari/status/{code}", status)
    app.router.add_get("/ari/error-key", error_key)
    app.router.add_get("/ari/html", html)
    app.router.add_get("/ari/slow", slow)
    app.router.add_get("/ari/empty", empty)
    app.router.add_get("/ari/bad-json", bad_json)
    srv = TestServer(app, host="127.0.0.1", port=0)
    await srv.start_server()
    try:
        yield srv
    finally:
        release.set()
        await srv.close()


@pytest.fixture
async def client(server: TestServer) -> AsyncIterator[AriClient]:
    async with AriClient(f"http://127.0.0.1:{server.port}", "cti", "secret", "cti-dev", timeout=0.3) as c:
        yield c


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [
        (400, AriBadRequest),
        (404, AriNotFound),
        (409, AriConflict),
        (422, AriUnprocessable),
        (401, AriHTTPError),
        (500, AriHTTPError),
        (503, AriHTTPError),
    ],
)
async def test_status_maps_to_exception(client: AriClient, code: int, exc_type: type[AriHTTPError]) -> None:
    with pytest.raises(exc_type) as info:
        await client.request("DELETE", f"/status/{code}")
    exc = info.value
    assert type(exc) is exc_type
    assert (exc.status, exc.method, exc.path) == (code, "DELETE", f"/status/{code}")
    assert exc.message == f"status {code}"
    assert isinstance(exc, AriError)


async def test_error_message_from_error_key(client: AriClient) -> None:
    with pytest.raises(AriHTTPError) as info:
        await client.request("GET", "/error-key")
    assert info.value.message == "Allocation failed"


async def test_non_json_error_body_uses_http_reason(client: AriClient) -> None:
    with pytest.raises(AriHTTPError) as info:
        await client.request("GET", "/html")
    assert (info.value.status, info.value.message) == (502, "Bad Gateway")


async def test_unknown_path_is_not_found(client: AriClient) -> None:
    with pytest.raises(AriNotFound):
        await client.get_channel("nope")


async def test_timeout_is_connection_error(client: AriClient) -> None:
    with pytest.raises(AriConnectionError, match="timed out") as info:
        await client.request("GET", "/slow")
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_refused_is_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AriClient(f"http://127.0.0.1:{port}", "cti", "secret", "cti-dev", timeout=2) as c:
        with pytest.raises(AriConnectionError) as info:
            await c.list_channels()
    assert info.value.__cause__ is not None


async def test_empty_body_is_none(client: AriClient) -> None:
    assert await client.request("GET", "/empty") is None


async def test_bad_json_is_protocol_error(client: AriClient) -> None:
    with pytest.raises(AriProtocolError):
        await client.request("GET", "/bad-json")


async def test_request_after_close_is_an_error(server: TestServer) -> None:
    c = AriClient(f"http://127.0.0.1:{server.port}/ari", "cti", "secret", "cti-dev")
    await c.start()
    assert await c.request("GET", "/empty") is None
    await c.close()
    await c.close()  # idempotent
    with pytest.raises(AriError):
        await c.request("GET", "/empty")
