"""The virtual agent's spoken replies over HTTP: a reply's audio, for the customer it was given to.

The conversation itself goes over the chat (its own module); the chat calls :class:`cti.services.CyberAgentDesk`
and hands the page each reply's text, expression and ``reply_id``. The page fetches the audio here. Only the owner
the reply was kept for hears it: here the signed-in portal customer (``customer:<id>``); a chat that serves
customers who have not signed in checks its own session and calls ``desk.audio(reply_id, owner=...)`` the same
way. Another customer's reply, an expired or unknown one, all answer the same 404.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel

from cti.errors import Unavailable
from cti.web._keys import CYBERAGENT
from cti.web._openapi import operation, path_param
from cti.web._portal import customer

__all__ = ["REPLY_ID", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = ()
REPLY_ID: Final = r"^[A-Za-z0-9_-]{16,64}$"


def _audio_operation() -> dict[str, Any]:
    op = operation("A virtual agent's reply, spoken (audio/wav, 16 kHz mono) with the IVR's voice for its language; "
                   "only for the customer it was given to. Never cached: a reply may tell a balance",
                   roles="a customer signed in on the portal (cti_portal cookie), their own replies only",
                   public=True, params=[path_param("reply_id", pattern=REPLY_ID)], errors=(401, 404, 503))
    op["responses"]["200"]["content"] = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
    return op


openapi_paths: dict[str, dict[str, Any]] = {
    "/api/portal/cyberagent/replies/{reply_id}/audio": {"get": _audio_operation()},
}


@routes.get("/api/portal/cyberagent/replies/{reply_id}/audio")
async def reply_audio(request: web.Request) -> web.Response:
    who = await customer(request)
    desk = request.app[CYBERAGENT]
    if not desk.speaks:
        raise Unavailable("the virtual agent's replies are not spoken here (no voice configured)")
    audio = await desk.audio(request.match_info["reply_id"], owner=f"customer:{who.customer_id}")
    return web.Response(body=audio, content_type="audio/wav")
