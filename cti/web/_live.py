"""What the leader answers the web front ends (docs/scaling.md, *Web front ends*): a websocket's snapshot with the
number it stands at, the sockets they serve (grants), and a desktop's frames.

A front end serves ``/ws/desktop`` and ``/ws/dashboard`` itself from the leader's frame stream, but the decisions
stay here, where the live picture is: for each page that connects, the front end asks ``GET /api/live/snapshot``
with the page's own credentials (its token, or its ticket in ``X-CTI-Ticket``: tickets are issued and redeemed
here, so one works through any front end) and is answered as the websocket would be (the same checks and the same
audit) with the topic, the leader's term, the snapshot and the topic's number at it. The front end holds no
credential of its own and no database.

The answer also carries a **grant**: this process's handle on the socket (:meth:`cti.web.Hub.lend`), which the
front end renews every two seconds (``POST /api/live/grants``) and gives back when the page goes. While it lasts,
the socket counts here as an open one: its owner is checked with the others' (a rotated token, a disabled user, a
changed scope close it, told at the next renewal), and an agent's own desktop holds their wrap-up as one opened
here does. The grant is also what a desktop's frames (a script's answers) come with (``POST /api/live/frame``).
A grant is 256 random bits in a body, never in a URL; it is the only authority of those two routes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.services import dashboard_topic
from cti.web._auth import principal
from cti.web._bodies import read_json
from cti.web._dashboard import dashboard_scope
from cti.web._desktop import agent_for_socket, desktop_frame
from cti.web._keys import AGENTS, HUB, SCREENPOP, STATS
from cti.web._openapi import operation, query_param
from cti.web._sockets import FrameError, RawJson
from cti.web._views import ID_PATTERN

__all__ = ["FRAME_TERM", "FrameTerm", "Grants", "LiveFrame", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()

class FrameTerm(Protocol):
    """The term under which this leader mirrors its frames (None: not mirroring)."""

    def __call__(self) -> int | None: ...


FRAME_TERM = web.AppKey("frame_term", FrameTerm)

_GRANT = Field(min_length=16, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Grants(_Body):
    renew: list[str] = Field(default_factory=list, max_length=10_000, description="grants still in use")
    release: list[str] = Field(default_factory=list, max_length=10_000, description="grants whose page went")


class LiveFrame(_Body):
    grant: str = _GRANT
    frame: dict[str, Any] = Field(description="what the page sent: a JSON object with a string 'type'")


schemas: tuple[type[BaseModel], ...] = (Grants, LiveFrame)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/live/snapshot": {"get": operation(
        "For a web front end: what a page's websocket starts with, checked as the websocket itself (socket=desktop "
        "with ?agent_id= as /ws/desktop, socket=dashboard as /ws/dashboard): {topic, term, seq, snapshot, grant}. "
        "The page's token in the Authorization header, or its websocket ticket in the X-CTI-Ticket header",
        roles="as /ws/desktop and /ws/dashboard",
        params=[query_param("socket", enum=["desktop", "dashboard"]), query_param("agent_id", pattern=ID_PATTERN)],
        errors=(400, 404))},
    "/api/live/grants": {"post": operation(
        "For a web front end: renew the grants of the sockets it serves, give back those that closed; answers "
        "{closed: {grant: {code, reason}}} for each socket to close (its owner's token stopped working, a scope "
        "changed, an unknown grant)", roles="anyone holding the grants", public=True, body="Grants")},
    "/api/live/frame": {"post": operation(
        "For a web front end: a frame a desktop sent (a script's answers), answered as /ws/desktop would",
        roles="anyone holding the socket's grant", public=True, body="LiveFrame", errors=(404,))},
}


@routes.get("/api/live/snapshot")
async def snapshot(request: web.Request) -> web.Response:
    socket = request.query.get("socket")
    user = principal(request)
    hub = request.app[HUB]
    on_end: Callable[[], None] | None = None
    if socket == "desktop":
        agent_id = await agent_for_socket(request)
        name = f"agent:{agent_id}"
        seq = hub.topic(name).seq
        state: Any = request.app[SCREENPOP].snapshot(agent_id)
        if agent_id == user.agent_id:  # the agent's own desktop holds their wrap-up, wherever it is served
            agents = request.app[AGENTS]
            agents.desk_opened(agent_id)
            on_end = lambda: agents.desk_closed(agent_id)  # noqa: E731
        grant = hub.lend(user, on_end, topic=name)
    elif socket == "dashboard":
        scope = dashboard_scope(request)
        feed = request.app[STATS]
        feed.scopes[scope.key] = scope
        name = dashboard_topic(scope)
        seq = hub.topic(name).seq
        state = RawJson(feed.view_json(scope))
        grant = hub.lend(user, topic=name)
    else:
        raise web.HTTPBadRequest(reason="socket is desktop or dashboard")
    term = request.app[FRAME_TERM]() if FRAME_TERM in request.app else None
    head = _dumps({"topic": name, "term": term, "seq": seq, "grant": grant})
    # The snapshot as the websocket would send it; the dashboard's is JSON text already (serialised once a cycle).
    data = state if isinstance(state, RawJson) else _dumps(state)
    return web.Response(text=f'{head[:-1]},"snapshot":{data}}}', content_type="application/json")


@routes.post("/api/live/grants")
async def grants(request: web.Request) -> web.Response:
    body = Grants.model_validate(await read_json(request))
    hub = request.app[HUB]
    hub.give_back(body.release)
    closing = hub.renew(body.renew)
    return web.json_response({"closed": {grant: {"code": code, "reason": reason}
                                         for grant, (code, reason) in closing.items()}})


@routes.post("/api/live/frame")
async def frame(request: web.Request) -> web.Response:
    body = LiveFrame.model_validate(await read_json(request))
    hub = request.app[HUB]
    topic = hub.lent_topic(body.grant)
    if topic is None or not topic.startswith("agent:"):
        raise web.HTTPNotFound(reason="no such desktop socket")
    if not isinstance(body.frame.get("type"), str):
        raise web.HTTPBadRequest(reason="a frame is a JSON object with a string 'type'")
    try:
        reply = desktop_frame(request.app, topic.removeprefix("agent:"), body.frame)
    except FrameError as exc:
        return web.json_response({"error": {"code": exc.code, "message": str(exc)}})
    return web.json_response({"reply": reply}, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))
