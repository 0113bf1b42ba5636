"""The agent's phone in the browser: the agent's own SIP credentials, and the websocket that carries SIP to Asterisk.

An agent listed in ``CTI_WEBPHONES`` may use the desktop as their phone (WebRTC through Asterisk). ``GET
/api/me/phone`` answers that agent, and only them, their extension and its SIP password (derived from the admin
token; audited as a ``view`` of ``phone``, never logged, never in a URL). ``/ws/phone`` relays SIP between the
page and Asterisk's websocket transport on the ARI address (loopback): the browser never reaches Asterisk's HTTP
server, the page's Content-Security-Policy stays ``connect-src 'self'``, and behind a TLS proxy the browser speaks
wss to cti while cti speaks ws on loopback. Media does not pass here: it flows between the browser and Asterisk
(DTLS-SRTP, ICE).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from pydantic import BaseModel

from cti.records import UserRecord
from cti.web._audit import source_of
from cti.web._auth import principal
from cti.web._keys import AUDIT, HUB, SETTINGS
from cti.web._openapi import operation, query_param

__all__ = ["openapi_paths", "routes", "schemas"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
SIP_PROTOCOL = "sip"
"""The websocket subprotocol of SIP over websockets (RFC 7118), which both JsSIP and Asterisk insist on."""
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/me/phone": {"get": operation(
        "The calling agent's browser phone: extension, SIP user and password, and the websocket to register "
        "on (/ws/phone). Only for an agent listed in CTI_WEBPHONES; audited; the answer is never cached",
        roles="agent (own phone only)", errors=(404,))},
    "/ws/phone": {"get": operation(
        "SIP over a websocket (subprotocol 'sip', RFC 7118) for the calling agent's browser phone, relayed to "
        "Asterisk's websocket transport; the phone then registers with its digest credentials. Ticket from POST "
        "/api/ws-tickets as '?ticket='",
        roles="agent listed in CTI_WEBPHONES", params=[query_param("ticket")], ok=101, errors=(404,))},
}


def _extension(request: web.Request, user: UserRecord) -> str:
    extension = request.app[SETTINGS].webphone_extensions().get(user.agent_id or "")
    if user.role != "agent" or extension is None:
        raise web.HTTPNotFound(reason="no browser phone for this user (an administrator lists agents in "
                                      "CTI_WEBPHONES)")
    return extension


@routes.get("/api/me/phone")
async def my_phone(request: web.Request) -> web.Response:
    user = principal(request)
    extension = _extension(request, user)
    await request.app[AUDIT].record(user, "view", "phone", extension, source=source_of(request))
    settings = request.app[SETTINGS]
    return web.json_response({
        "extension": extension, "user": extension, "password": settings.webphone_password(extension),
        # Asterisk takes the request URI's host as the domain; the relay is what the browser reaches.
        "domain": urlsplit(settings.ari_url).hostname or "127.0.0.1", "socket": "/ws/phone",
    })


def _asterisk_socket_url(ari_url: str) -> str:
    parts = urlsplit(ari_url)
    return urlunsplit(("wss" if parts.scheme == "https" else "ws", parts.netloc, "/ws", "", ""))


@routes.get("/ws/phone")
async def phone_socket(request: web.Request) -> web.StreamResponse:
    user = principal(request)
    _extension(request, user)
    page = web.WebSocketResponse(protocols=(SIP_PROTOCOL,), heartbeat=30)
    await page.prepare(request)
    request.app[HUB].own(page, user)  # a revoked token or an ended session closes the phone too
    url = _asterisk_socket_url(request.app[SETTINGS].ari_url)
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(url, protocols=(SIP_PROTOCOL,)) as asterisk:
            await _relay(page, asterisk)
    except aiohttp.ClientError as exc:
        log.warning("the browser phone's relay to Asterisk failed: %s", exc)
    await page.close(code=aiohttp.WSCloseCode.TRY_AGAIN_LATER if not page.closed else aiohttp.WSCloseCode.OK)
    return page


async def _relay(page: web.WebSocketResponse, asterisk: aiohttp.ClientWebSocketResponse) -> None:
    """Copy text frames both ways until either side closes; then the other is closed too."""

    async def pump(source: Any, sink: Any) -> None:
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                await sink.send_str(message.data)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(message.data)
            else:
                break

    tasks = [asyncio.create_task(pump(page, asterisk)), asyncio.create_task(pump(asterisk, page))]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        await asterisk.close()
