"""Web chat over HTTP and websockets: the customer's side (under the portal's paths) and the agents' and
supervisors' side.

The customer's chat is the ``cti_chat`` cookie (``<chat_id>.<secret>``: HttpOnly, ``SameSite=Strict``,
``Path=/api/portal/chat``), set when the chat starts: it opens that chat only, for a customer signed in on the portal
(whose portal session, with its CSRF token, starting needs) or an anonymous one who gave a name. A staff token opens
nothing here, and the chat's cookie nothing elsewhere. Changes take JSON only (a form of another site cannot post
it) and the socket refuses a page of another origin.

Agents act on the chats offered to them or theirs (accept, decline, send, typing, end); transfer and wrap-up are a
call's (``/api/calls/{id}/transfer``, ``/api/interactions/{id}/wrapup``). Supervisors (their scope) and admins read
chats and watch them live (audited: a chat is personal data).

On both sockets a frame is a JSON object with a ``type``; anything else gets an ``error`` frame and the socket stays
open. Messages carry their ids: a page that reconnects with ``?after=<id>`` gets what it missed, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from cti.acd import WorkItem
from cti.chat import ChatMessage, ChatSession, message_order, parse_links
from cti.crm import CustomerRecord
from cti.errors import CtiError, InvalidInput, Unavailable
from cti.services import ChatStart, bot_owner
from cti.web._audit import source_of
from cti.web._auth import principal
from cti.web._bodies import JsonTooDeep, decode_json, read_object
from cti.web._cyberagent import REPLY_ID
from cti.web._errors import coded
from cti.web._keys import AUDIT, CHAT_STARTS, CHATS, CYBERAGENT, FOLLOW_UPS, PORTAL, SESSIONS
from cti.web._openapi import operation, path_param, query_param
from cti.web._portal import PORTAL_COOKIE, customer
from cti.web._sockets import MAX_FRAME

__all__ = ["CHAT_COOKIE", "ChatLeaveMessage", "ChatSend", "ChatStartBody", "openapi_paths", "routes", "schemas"]

log = logging.getLogger("cti.web.chat")
routes = web.RouteTableDef()
CHAT_COOKIE: Final = "cti_chat"
_COOKIE_PATH: Final = "/api/portal/chat"
_CUSTOMER_ROLE: Final = "the customer whose chat it is (cti_chat cookie)"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ChatStartBody(_Body):
    name: str = Field(default="", max_length=128, description="the customer's name (anonymous customers)")
    language: Literal["id", "en"] = "id"
    topic: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$",
                              description="what it is about: the routing's product")
    text: str | None = Field(default=None, max_length=4000, description="the first message")


class ChatSend(_Body):
    text: str = Field(min_length=1, max_length=4000)
    links: list[Any] | None = Field(default=None, description="agents only: http(s) links, {url, title} or URLs")


class ChatLeaveMessage(_Body):
    text: str = Field(min_length=1, max_length=4000)
    topic: str | None = Field(default=None, pattern=r"^[a-z0-9_]{1,32}$")
    reply_by: Literal["email", "call"] | None = Field(
        default=None, description="how to be answered: 'email' (an agent's answer by mail) or 'call' (a callback "
                                  "when the calling hours begin); none: e-mail if they have an address and agreed "
                                  "to mails, else a call")


schemas: tuple[type[BaseModel], ...] = (ChatStartBody, ChatSend, ChatLeaveMessage)
_AFTER = query_param("after", pattern=r"^\d{1,20}-\d{1,20}$")
_STAFF = "the chat's agent (offered or connected), supervisor (own scope), admin"
def _reply_audio_operation() -> dict[str, Any]:
    op = operation("A reply of the virtual agent in the customer's chat, spoken (audio/wav, 16 kHz mono) with the "
                   "IVR's voice for its language; the chat's own replies only (the message's params.reply_id). Never "
                   "cached: a reply may tell a balance", roles=_CUSTOMER_ROLE, public=True,
                   params=[path_param("reply_id", pattern=REPLY_ID)], errors=(404, 503))
    op["responses"]["200"]["content"] = {"audio/wav": {"schema": {"type": "string", "format": "binary"}}}
    return op


openapi_paths: dict[str, dict[str, Any]] = {
    "/api/portal/chat": {
        "post": operation(
            "Start a chat: routed like a call (language, topic, the signed-in customer's tier and region). Sets the "
            "cti_chat cookie that opens this chat only. A signed-in portal customer sends their X-CSRF-Token; an "
            "anonymous one a name. Out of hours (or with the queue full) the chat ends at once: state 'ended' with "
            "leave_message true. 429 when one client starts too many",
            roles="anyone (a portal customer, or anonymous with a name)", public=True, body="ChatStartBody", ok=201,
            errors=(403, 422, 429)),
        "get": operation("The chat's state (waiting with its position, connected with the agent's first name, "
                         "ended) and its messages after ?after=", roles=_CUSTOMER_ROLE, public=True,
                         params=[_AFTER], errors=(404,)),
    },
    "/api/portal/chat/messages": {"post": operation(
        "Say something in the chat (the socket is the usual way)", roles=_CUSTOMER_ROLE, public=True, body="ChatSend",
        ok=201, errors=(404, 409, 422))},
    "/api/portal/chat/leave": {"post": operation(
        "Leave the chat: abandoned while it waited, ended by the customer with an agent", roles=_CUSTOMER_ROLE,
        public=True, errors=(404,))},
    "/api/portal/chat/left-message": {"post": operation(
        "Out of hours, leave a message and how to be answered (reply_by). 'email': an e-mail task for the agents of "
        "the queue the chat would have gone to (422 no_email without an address, 409 no_email_consent without "
        "consent to mails, 409 mail_unavailable without a mail server); 'call': a callback when the calling hours "
        "begin, as the portal's own request (422 no_phone; 409 no_contact_consent, number_do_not_call, "
        "callback_pending; 429 past the day's requests). Either way the message is a contact in the customer's "
        "history", roles="a customer signed in on the portal (cti_portal cookie)", public=True,
        body="ChatLeaveMessage", ok=202, errors=(401, 403, 409, 422, 429))},
    "/api/portal/chat/ws": {"get": operation(
        "The customer's chat socket: a 'state' frame, the messages after ?after=, then live 'message', 'typing' "
        "and 'state' frames; send {type: 'message', text}, {type: 'typing'} or {type: 'leave'}",
        roles=_CUSTOMER_ROLE, public=True, params=[_AFTER], ok=101, errors=(403, 404))},
    "/api/portal/chat/replies/{reply_id}/audio": {"get": _reply_audio_operation()},
    "/api/chats": {"get": operation(
        "The live chats the caller reaches: an agent's own, a supervisor's scope (state waiting, ringing: offered, "
        "connected; the agent's first name), and for staff who see every queue the chats the virtual agent holds "
        "(state 'bot', no queue yet)", roles="agent (own), supervisor (own scope), admin")},
    "/api/chats/{chat_id}/messages": {
        "get": operation("A chat's messages after ?after= (live, or the stored transcript of an ended one; audited "
                         "for staff other than its agent)", roles=_STAFF, params=[path_param("chat_id",
                                                                                              maxLength=64), _AFTER],
                         errors=(404,)),
        "post": operation("The agent says something (text and links)", roles="the chat's connected agent",
                          body="ChatSend", params=[path_param("chat_id", maxLength=64)], ok=201,
                          errors=(404, 409, 422)),
    },
    **{f"/api/chats/{{chat_id}}/{action}": {"post": operation(
        summary, roles=roles, params=[path_param("chat_id", maxLength=64)], errors=(404, 409))}
       for action, summary, roles in (
           ("accept", "Accept the chat offered: the customer is told the agent's first name", "the agent offered it"),
           ("decline", "Decline the chat offered: it goes to the next agent and the agent goes not ready "
                       "('rejected'), as after a call refused", "the agent offered it"),
           ("typing", "Tell the customer the agent is typing", "the chat's connected agent"),
           ("end", "End the chat: answered, ended by the agent, who goes to wrap-up (POST "
                   "/api/interactions/{chat_id}/wrapup)", "the chat's connected agent"))},
    "/ws/chats/{chat_id}": {"get": operation(
        "Watch a chat live, read-only: 'state', the messages after ?after=, then 'message', 'typing' and 'state' "
        "frames until it ends (audited: one 'view' of the chat per socket opened). A chat the virtual agent holds: "
        "staff who see every queue. Ticket as for every socket", roles=_STAFF,
        params=[path_param("chat_id", maxLength=64), _AFTER, query_param("ticket")], ok=101, errors=(404,))},
}


# -- helpers -----------------------------------------------------------------------------------------------------
def _json_only(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise web.HTTPBadRequest(reason="send a JSON body (Content-Type: application/json)")


def _after(request: web.Request) -> str | None:
    after = request.query.get("after")
    if after is not None:
        message_order(after)  # 422 for a malformed one
    return after


def _customer_chat(request: web.Request) -> ChatSession:
    chat_id, _, secret = request.cookies.get(CHAT_COOKIE, "").partition(".")
    if not chat_id or not secret:
        raise coded(web.HTTPNotFound(reason="no chat: start one first"), "chat_not_found")
    return request.app[CHATS].customer_chat(chat_id, secret)


def _message_view(message: ChatMessage, *, for_customer: bool) -> dict[str, Any]:
    return message.as_json(for_customer=for_customer)


def _chat_view(item: WorkItem, agent_name: str | None = None) -> dict[str, Any]:
    return {"chat_id": item.call_id, "state": item.state.value, "queue": item.queue, "agent_id": item.agent_id,
            "agent_name": agent_name, "name": item.caller_name, "customer_id": item.customer_id,
            "language": item.routing.language, "arrived_at": item.arrived_at.isoformat(),
            "answered_at": item.answered_at.isoformat() if item.answered_at else None}


def _bot_chat_view(session: ChatSession) -> dict[str, Any]:
    """A chat the virtual agent holds: in no queue yet, with no agent."""
    return {"chat_id": session.chat_id, "state": "bot", "queue": None, "agent_id": None, "agent_name": None,
            "name": session.name, "customer_id": session.customer_id, "language": session.language,
            "arrived_at": session.started_at.isoformat(), "answered_at": None}


def _same_origin(request: web.Request) -> None:
    """A page of another site may not open a customer's chat socket with the browser's cookie."""
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise coded(web.HTTPForbidden(reason="the chat opens from this site's pages only"), "origin")


async def _error(ws: web.WebSocketResponse, message: str, code: str = "bad_frame", frame_id: Any = None) -> None:
    await ws.send_str(json.dumps({"type": "error", "id": frame_id, "error": {"code": code, "message": message}}))


async def _serve(request: web.Request, chat_id: str, *, for_customer: bool,
                 on_frame: Any = None) -> web.WebSocketResponse:
    """One socket on a chat: its state, what was said after ``?after=``, then what happens, in order; frames from
    the page go to ``on_frame`` (none: only pings)."""
    after = _after(request)
    service = request.app[CHATS]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_FRAME)
    await ws.prepare(request)
    with service.listen(chat_id) as events:
        last = message_order(after) if after else (0, 0)
        await ws.send_json({"type": "state", "data": service.state(chat_id)})
        try:
            caught_up = await service.messages(chat_id, after)
        except Unavailable as exc:
            # The handshake is done: an HTTP error now would go into the socket as bytes (a broken frame to the
            # page, which then missed what followed). The page reconnects, after the last message it has.
            log.warning("chat %s: a socket's catch-up not read (%s); closed for the page to try again", chat_id, exc)
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"try again shortly")
            return ws
        for message in caught_up:
            await ws.send_json({"type": "message", "data": _message_view(message, for_customer=for_customer)})
            last = message_order(message.message_id)

        async def forward() -> None:
            nonlocal last
            while True:
                event = await events.get()
                try:
                    if event["type"] == "message":
                        message: ChatMessage = event["message"]
                        if message_order(message.message_id) <= last:
                            continue  # already sent in the catch-up
                        last = message_order(message.message_id)
                        await ws.send_json({"type": "message",
                                            "data": _message_view(message, for_customer=for_customer)})
                    elif event["type"] == "typing":
                        await ws.send_json({"type": "typing", "data": {"sender": event["sender"]}})
                    else:
                        await ws.send_json({"type": "state", "data": event["state"]})
                except ConnectionResetError:
                    # The page went while a frame was on its way: the reading side ends the socket; what it missed
                    # is in the chat's log, after its last message id. Not an error of the request.
                    return

        sender = asyncio.create_task(forward())
        try:
            async for raw in ws:
                if raw.type is not WSMsgType.TEXT:
                    if raw.type is WSMsgType.BINARY:
                        await _error(ws, "binary frames are not accepted; send JSON text")
                    continue
                try:
                    frame = decode_json(raw.data)
                except (JsonTooDeep, ValueError):
                    await _error(ws, "not JSON")
                    continue
                if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
                    await _error(ws, "a frame is a JSON object with a string 'type'")
                    continue
                if frame["type"] == "ping":
                    await ws.send_json({"type": "pong", "id": frame.get("id")})
                    continue
                if on_frame is None:
                    await _error(ws, f"unknown frame type {frame['type']!r}", frame_id=frame.get("id"))
                    continue
                try:
                    await on_frame(frame)
                except CtiError as exc:  # refused, the socket stays
                    await _error(ws, str(exc), exc.code, frame.get("id"))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
    return ws


# -- the customer's side -----------------------------------------------------------------------------------------
@routes.post("/api/portal/chat")
async def start_chat(request: web.Request) -> web.Response:
    _json_only(request)
    # A portal session makes the chat the customer's (its CSRF token checked); a stale cookie is nobody's.
    cookie = request.cookies.get(PORTAL_COOKIE)
    live = cookie is not None and await request.app[PORTAL].session(cookie) is not None
    who: CustomerRecord | None = await customer(request) if live else None
    throttle, client = request.app[CHAT_STARTS], request.remote or "-"
    wait = throttle.retry_after(client)
    if wait is not None:
        raise coded(web.HTTPTooManyRequests(reason=f"too many chats started; retry in {wait} s",
                                            headers={"Retry-After": str(wait)}), "throttled", seconds=wait)
    body = ChatStartBody.model_validate(await read_object(request))
    throttle.failed(client)  # every start counts: a page cannot flood the queues with chats
    session, secret = await request.app[CHATS].start(ChatStart(
        name=body.name, language=body.language, customer=who, topic=body.topic, text=body.text))
    response = web.json_response({"chat_id": session.chat_id, "name": session.name,
                                  "state": request.app[CHATS].state(session.chat_id)}, status=201)
    response.set_cookie(CHAT_COOKIE, f"{session.chat_id}.{secret}", path=_COOKIE_PATH, httponly=True,
                        samesite="Strict", secure=request.secure or request.app[SESSIONS].secure_cookies)
    return response


@routes.get("/api/portal/chat")
async def chat_state(request: web.Request) -> web.Response:
    session = _customer_chat(request)
    service = request.app[CHATS]
    messages = await service.messages(session.chat_id, _after(request))
    return web.json_response({"chat_id": session.chat_id, "name": session.name, "state": service.state(session.chat_id),
                              "messages": [_message_view(m, for_customer=True) for m in messages]})


@routes.post("/api/portal/chat/messages")
async def customer_says(request: web.Request) -> web.Response:
    session = _customer_chat(request)
    _json_only(request)
    body = ChatSend.model_validate(await read_object(request))
    if body.links:
        raise InvalidInput("customers send text only", code="chat_bad_link")
    message = await request.app[CHATS].customer_says(session, body.text)
    return web.json_response(_message_view(message, for_customer=True), status=201)


@routes.post("/api/portal/chat/leave")
async def customer_leaves(request: web.Request) -> web.Response:
    session = _customer_chat(request)
    _json_only(request)
    request.app[CHATS].customer_leaves(session)
    return web.json_response(request.app[CHATS].state(session.chat_id))


@routes.post("/api/portal/chat/left-message")
async def leave_message(request: web.Request) -> web.Response:
    who = await customer(request)
    _json_only(request)
    body = ChatLeaveMessage.model_validate(await read_object(request))
    left = await request.app[FOLLOW_UPS].leave_message(who, body.text, reply_by=body.reply_by, topic=body.topic,
                                                        source=source_of(request))
    view: dict[str, Any] = {"left": True, "reply_by": left.reply_by}
    if left.callback is not None:
        view["callback"] = {"callback_id": left.callback.callback_id, "due_at": left.callback.due_at.isoformat()}
    return web.json_response(view, status=202)


@routes.get("/api/portal/chat/ws")
async def customer_socket(request: web.Request) -> web.StreamResponse:
    _same_origin(request)
    session = _customer_chat(request)
    service = request.app[CHATS]

    async def on_frame(frame: dict[str, Any]) -> None:
        current = service.customer_chat(session.chat_id, request.cookies[CHAT_COOKIE].partition(".")[2])
        if frame["type"] == "message":
            if not isinstance(frame.get("text"), str):
                raise InvalidInput("a message frame needs a 'text' string", code="bad_frame")
            await service.customer_says(current, frame["text"])
        elif frame["type"] == "typing":
            service.customer_typing(current)
        elif frame["type"] == "leave":
            service.customer_leaves(current)
        else:
            raise InvalidInput(f"unknown frame type {frame['type']!r}", code="bad_frame")

    service.customer_here(session)
    try:
        return await _serve(request, session.chat_id, for_customer=True, on_frame=on_frame)
    finally:
        service.customer_gone(session)


# -- agents and supervisors --------------------------------------------------------------------------------------
@routes.get("/api/portal/chat/replies/{reply_id}/audio")
async def reply_audio(request: web.Request) -> web.Response:
    session = _customer_chat(request)
    desk = request.app[CYBERAGENT]
    if not desk.speaks:
        raise Unavailable("the virtual agent's replies are not spoken here (no voice configured)")
    audio = await desk.audio(request.match_info["reply_id"], owner=bot_owner(session.chat_id))
    return web.Response(body=audio, content_type="audio/wav")


@routes.get("/api/chats")
async def list_chats(request: web.Request) -> web.Response:
    service, user = request.app[CHATS], principal(request)
    routed = [_chat_view(c, service.agent_name(c)) for c in service.chats(user)]
    return web.json_response({"chats": routed + [_bot_chat_view(s) for s in service.bot_chats(user)]})


async def _audited(request: web.Request, chat_id: str) -> None:
    """A chat read by staff other than its agent is a personal-data read: audited."""
    user = principal(request)
    item = request.app[CHATS].find(chat_id)
    if user.role != "agent" and (item is None or item.agent_id != user.agent_id):
        await request.app[AUDIT].record(user, "view", "chat", chat_id, source=source_of(request))


@routes.get("/api/chats/{chat_id}/messages")
async def chat_messages(request: web.Request) -> web.Response:
    chat_id = request.match_info["chat_id"]
    messages = await request.app[CHATS].transcript(principal(request), chat_id, _after(request))
    await _audited(request, chat_id)
    return web.json_response({"chat_id": chat_id, "messages": [_message_view(m, for_customer=False)
                                                               for m in messages]})


@routes.post("/api/chats/{chat_id}/messages")
async def agent_says(request: web.Request) -> web.Response:
    user, chat_id = principal(request), request.match_info["chat_id"]
    request.app[CHATS].placement(user, chat_id)  # unknown or someone else's -> 404 before the body is read
    body = ChatSend.model_validate(await read_object(request))
    message = await request.app[CHATS].agent_says(user, chat_id, body.text, parse_links(body.links))
    return web.json_response(_message_view(message, for_customer=False), status=201)


@routes.post("/api/chats/{chat_id}/accept")
async def accept_chat(request: web.Request) -> web.Response:
    item = request.app[CHATS].accept(principal(request), request.match_info["chat_id"])
    return web.json_response(_chat_view(item, request.app[CHATS].agent_name(item)))


@routes.post("/api/chats/{chat_id}/decline")
async def decline_chat(request: web.Request) -> web.Response:
    request.app[CHATS].decline(principal(request), request.match_info["chat_id"])
    return web.json_response({"chat_id": request.match_info["chat_id"], "declined": True})


@routes.post("/api/chats/{chat_id}/typing")
async def agent_typing(request: web.Request) -> web.Response:
    request.app[CHATS].agent_typing(principal(request), request.match_info["chat_id"])
    return web.json_response({"chat_id": request.match_info["chat_id"]})


@routes.post("/api/chats/{chat_id}/end")
async def end_chat(request: web.Request) -> web.Response:
    item = request.app[CHATS].end(principal(request), request.match_info["chat_id"])
    return web.json_response({"chat_id": item.call_id, "state": "ended"})


@routes.get("/ws/chats/{chat_id}")
async def watch_chat(request: web.Request) -> web.StreamResponse:
    chat_id = request.match_info["chat_id"]
    request.app[CHATS].watch(principal(request), chat_id)  # unknown or out of reach -> 404
    await _audited(request, chat_id)
    return await _serve(request, chat_id, for_customer=False)

