"""The agent desktop's server side: its websocket (screen pops, call and agent changes), the call's controls
(hold, resume, mute, unmute, tones, hang up), transfer, consult and conference, wrap-up, and the customer record
an agent fills in for an unknown caller."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.acd import WorkItem
from cti.errors import InvalidInput
from cti.scripting import AnswerError, RenderError
from cti.services import FollowUp as FollowUpRecord
from cti.services import WrapUp as WrapUpRecord
from cti.services import customer_frame
from cti.types import Language, utc_now
from cti.web._audit import source_of
from cti.web._auth import principal
from cti.web._bodies import read_json
from cti.web._keys import AGENTS, AUDIT, CALL_CONTROLS, CALLBACKS, CUSTOMERS, HUB, POLICY, SCREENPOP, TRANSFERS, WRAP_UP
from cti.web._openapi import operation, path_param, query_param
from cti.web._sockets import SINCE, FrameError
from cti.web._views import ID_PATTERN

__all__ = ["ConsentChange", "Consult", "CustomerCreate", "Dtmf", "Transfer", "WrapUp", "WrapUpCallback",
           "agent_for_socket", "desktop_frame", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CrossSellOutcome(_Body):
    offered: list[str] = Field(default_factory=list, max_length=20)
    accepted: list[str] = Field(default_factory=list, max_length=20)


class FollowUp(_Body):
    due: date
    task: str = Field(min_length=1, max_length=500)


class WrapUpCallback(_Body):
    """Call the customer back: a scheduled callback (see POST /api/callbacks)."""

    due_at: datetime = Field(description="when, with its UTC offset")
    reason: str = Field(min_length=1, max_length=500)
    agent_first: bool = Field(default=False, description="to the agent wrapping up alone at first ('me first')")


class WrapUp(_Body):
    disposition: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    notes: str = Field(default="", max_length=4000)
    script_answers: dict[str, Any] = Field(default_factory=dict)
    crosssell: CrossSellOutcome = Field(default_factory=CrossSellOutcome)
    follow_up: FollowUp | None = None
    callback: WrapUpCallback | None = Field(default=None, description="schedule a callback to the call's customer")
    ready: bool = Field(default=True, description="end after-call work and take the next call (an agent who is "
                        "not ready, on a break asked for during the call, stays so)")


class Transfer(_Body):
    queue: str | None = Field(default=None, min_length=1, max_length=64, description="transfer to this queue")
    agent_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="or straight to this agent, who must be ready")
    note: str = Field(default="", max_length=1000, description="shown to the next agent with the screen pop")


class Consult(_Body):
    agent_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="consult this agent, who must be ready")
    queue: str | None = Field(default=None, min_length=1, max_length=64,
                              description="or the longest idle ready agent of this queue (409 when none is ready)")
    number: str | None = Field(default=None, pattern=r"^\+?[0-9]{3,20}$",
                               description="or this external number, if the consult_numbers setting allows it")
    note: str = Field(default="", max_length=1000, description="shown to the agent consulted with the screen pop")


class Dtmf(_Body):
    digits: str = Field(pattern=r"^[0-9*#A-D]{1,32}$", description="tones to send to the caller's side: 0-9, *, #, A-D")


class ConsentChange(_Body):
    """What the customer agreed to or withdrew; what is left out stays as it is."""

    phone_calls: bool | None = Field(default=None, description="to be called about their own business "
                                                               "(click-to-dial, scheduled callbacks)")
    marketing_calls: bool | None = None
    email: bool | None = None
    data_sharing: bool | None = None
    surveys: bool | None = Field(default=None, description="to be asked to rate their call on the line after the "
                                                           "agent hangs up")


class CustomerCreate(_Body):
    call_id: str | None = Field(default=None, description="the live call this caller is on: links them")
    name: str = Field(default="", max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    language: Language = "id"


schemas: tuple[type[BaseModel], ...] = (WrapUp, Transfer, Consult, Dtmf, CustomerCreate, CrossSellOutcome,
                                        FollowUp, WrapUpCallback, ConsentChange)

_CONTROLS: dict[str, str] = {
    "hold": "Put the caller of a connected call on hold: they hear music on hold, the agent hears nothing; the "
            "hold is counted (times and seconds) in the interaction. 409 if the call is not connected or is on "
            "hold already",
    "resume": "Take the caller off hold: back in the call with the agent. 409 if the call is not on hold",
    "mute": "Mute the agent: their voice no longer reaches the caller (they still hear the caller). 409 if the "
            "call is not connected or the agent is muted already",
    "unmute": "Unmute the agent. 409 if the agent is not muted",
    "dtmf": "Send tones to the caller's side of the call (to work a partner's IVR), or during a consult to the "
            "party consulted: 0-9, *, #, A-D, at most 32. 422 for other digits, 409 while the call is not connected "
            "or on hold, or the party consulted has not answered",
    "hangup": "End the call from the desktop: both legs hang up, the call is recorded as answered and ended by "
              "the agent, who goes to wrap-up. 409 if the call is not connected",
    "consult/complete": "Complete the consult: the caller and the party consulted talk, the agent's leg hangs up "
                        "and they go to wrap-up. An agent consulted owns the call from now on; an external party "
                        "gets it from cti (the call ends as answered, transferred_out, and its bridge stays until "
                        "either side hangs up). 409 (no_consult, consult_not_answered)",
    "consult/cancel": "Cancel the consult: the party consulted is hung up (ringing, talking or in the conference) and "
                      "the caller is back with the agent. 409 (no_consult)",
    "consult/conference": "Bring the caller back into the call with the agent and the party consulted: three talk. "
                          "409 (no_consult, consult_not_answered, already_conference)",
    "conference/leave": "The agent leaves the conference; the call goes on between the caller and the third party "
                        "as after a completed consult. 409 (not_in_conference)",
}
_STEPS = {"consult/complete": "complete", "consult/cancel": "cancel", "consult/conference": "conference",
          "conference/leave": "leave"}
_CONTROL_ROLES = "the call's agent; supervisor (own scope) and admin on the agent's behalf"
openapi_paths: dict[str, dict[str, Any]] = {
    "/ws/desktop": {"get": operation(
        "Websocket of an agent's desktop: snapshot, then numbered 'offer' (screen pop), 'call', 'agent' and "
        "'wrapped_up' (the call's wrap-up was saved: its pop is over) frames, the chats' frames, and 'task' and "
        "'task_removed' (a follow-up task the agent lists was set, taken or completed); '?since=' replays what a "
        "reconnecting desktop missed; send {type: 'script', call_id, answers} "
        "for the script's next steps. Token in the Authorization header, or from browsers a ticket from POST "
        "/api/ws-tickets as '?ticket=' (a token in the URL is refused); closed with 1008 when the user's token "
        "stops working (rotated, disabled, deleted, expired).",
        roles="agent (own desktop), supervisor (own scope) and admin with ?agent_id= (audited)",
        params=[query_param("agent_id", pattern=ID_PATTERN), SINCE.spec(), query_param("ticket")],
        ok=101, errors=(400, 404))},
    "/api/interactions/{call_id}/wrapup": {"post": operation(
        "Save the agent's wrap-up (disposition, notes, script answers, cross-sell outcome, follow-up) on the "
        "interaction and in the customer's contact history; optionally schedule a callback to the customer "
        "(callback: 422 callback_no_customer, callback_time) and end after-call work",
        roles="the call's agents, supervisor (own scope), admin", body="WrapUp",
        params=[path_param("call_id", maxLength=64)], errors=(404, 409))},
    "/api/calls/{call_id}/transfer": {"post": operation(
        "Blind transfer of a connected call by its agent: to a queue, or to a ready agent (exactly one). The "
        "agent's leg hangs up and they go to wrap-up; the caller holds until the next agent answers, whose "
        "desktop gets the screen pop with who transferred it and the note",
        roles="the call's agent; supervisor (own scope) and admin on the agent's behalf", body="Transfer",
        params=[path_param("call_id", maxLength=64)], errors=(404, 409, 422))},
    **{f"/api/calls/{{call_id}}/{action}": {"post": operation(
        summary, roles=_CONTROL_ROLES, body="Dtmf" if action == "dtmf" else None,
        params=[path_param("call_id", maxLength=64)], errors=(404, 409, 422) if action == "dtmf" else (404, 409))}
       for action, summary in _CONTROLS.items()},
    "/api/calls/{call_id}/consult": {"post": operation(
        "Consult (attended transfer) from a connected call: the caller holds (music; counted as a hold) while the "
        "agent's phone talks with another ready agent, the longest idle ready agent of a queue, or an external "
        "number the consult_numbers setting allows (exactly one); the agent consulted gets the screen pop with "
        "the note. Then complete, cancel or conference. 409 (consult_in_progress, agent_not_ready, no_agent_ready, "
        "not connected), 422 (consult_target, number_not_allowed)",
        roles=_CONTROL_ROLES, body="Consult", params=[path_param("call_id", maxLength=64)],
        errors=(404, 409, 422))},
    "/api/dispositions": {"get": operation("Disposition codes the wrap-up accepts", roles="any authenticated user")},
    "/api/customers": {"post": operation(
        "Create a customer record (an unknown caller), linked to the live call if named; an agent names their "
        "own live call and records the caller's number (audited)",
        roles="agent (own call), supervisor (own scope), admin", body="CustomerCreate", ok=201,
        errors=(404, 409, 422))},
    "/api/customers/{customer_id}/consent": {"put": operation(
        "Record what the customer agreed to or withdrew (phone_calls: to be called by agents; marketing_calls, "
        "email, data_sharing; surveys: to be asked on the line to rate their calls); what is left out stays; "
        "audited. The record's consents are in GET /api/customers/{customer_id} ('consent')",
        roles="an agent who is serving or has served them, supervisor (own scope), admin", body="ConsentChange",
        params=[path_param("customer_id", maxLength=16)], errors=(404,))},
    "/api/customers/{customer_id}": {"get": operation(
        "A customer's record as the screen pop shows it (audited)",
        roles="an agent who is serving or has served them, supervisor (own scope), admin",
        params=[path_param("customer_id", maxLength=16)], errors=(404,))},
}


async def agent_for_socket(request: web.Request) -> str:
    """The desktop's agent: one's own, or (supervisors in scope, admins) another's, which is audited."""
    user = principal(request)
    agent_id = request.query.get("agent_id") or user.agent_id
    if not agent_id:
        raise web.HTTPBadRequest(reason="name the desktop's agent with ?agent_id=")
    request.app[POLICY].agent(user, agent_id)  # unknown or outside the scope -> 404
    if agent_id != user.agent_id:
        await request.app[AUDIT].record(user, "view", "desktop", agent_id, source=source_of(request))
    return agent_id


def desktop_frame(app: web.Application, agent_id: str, frame: dict[str, Any]) -> dict[str, Any] | None:
    """What agent ``agent_id``'s desktop sent (a script's answers), answered; :class:`FrameError` if refused."""
    if frame["type"] == "script":
        answers = frame.get("answers")
        if not isinstance(frame.get("call_id"), str) or not isinstance(answers, dict):
            raise FrameError("a script frame needs a 'call_id' string and an 'answers' object")
        try:
            progress = app[SCREENPOP].script_progress(agent_id, frame["call_id"], answers)
        except KeyError as exc:
            raise FrameError(f"no script for call {frame['call_id']!r} on this desktop", "no_script") from exc
        except AnswerError as exc:
            raise FrameError(str(exc), "invalid_answers") from exc
        except RenderError as exc:  # logged by the screen pop; the reason may quote the caller's data
            raise FrameError("the script could not be shown; a supervisor needs to correct it",
                             "script_broken") from exc
        return {"type": "script", "data": progress}
    raise FrameError(f"unknown frame type {frame['type']!r}")


@routes.get("/ws/desktop")
async def desktop_socket(request: web.Request) -> web.StreamResponse:
    agent_id = await agent_for_socket(request)
    screenpop = request.app[SCREENPOP]

    async def snapshot() -> dict[str, Any]:
        return screenpop.snapshot(agent_id)

    async def on_frame(frame: dict[str, Any]) -> dict[str, Any] | None:
        return desktop_frame(request.app, agent_id, frame)

    # The agent's own desktop holds their wrap-up: while one is open, a call ends in wrap-up until it is saved.
    own = agent_id == principal(request).agent_id
    if own:
        request.app[AGENTS].desk_opened(agent_id)
    try:
        return await request.app[HUB].serve(request, f"agent:{agent_id}", snapshot, on_frame,
                                            user=principal(request))
    finally:
        if own:
            request.app[AGENTS].desk_closed(agent_id)


@routes.post("/api/calls/{call_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    user = principal(request)
    transfers = request.app[TRANSFERS]
    call_id = request.match_info["call_id"]
    transfers.transferable(user, call_id)  # unknown or someone else's -> 404 before the body is read
    body = Transfer.model_validate(await read_json(request))
    moved = transfers.transfer(user, call_id, queue=body.queue, to_agent=body.agent_id, note=body.note)
    return web.json_response({"call_id": moved.call_id, "state": moved.state.value, "queue": moved.queue,
                              "agent_id": moved.agent_id})


def call_control_view(call: WorkItem) -> dict[str, Any]:
    """What a control answers: the call's state after it, as the desktop's call frame has it."""
    return {"call_id": call.call_id, "state": call.state.value, "held": call.held,
            "held_since": call.held_since.isoformat() if call.held_since else None, "hold_count": call.hold_count,
            "hold_seconds": round(call.hold_seconds(), 3), "muted": call.muted, "agent_id": call.agent_id,
            "consult": None if call.consult is None else call.consult.as_json()}


async def _control(request: web.Request, action: str) -> web.Response:
    user = principal(request)
    controls = request.app[CALL_CONTROLS]
    call_id = request.match_info["call_id"]
    controls.controllable(user, call_id)  # unknown or someone else's -> 404 before the body is read
    digits = Dtmf.model_validate(await read_json(request)).digits if action == "dtmf" else ""
    return web.json_response(call_control_view(controls.act(user, call_id, action, digits=digits)))


@routes.post("/api/calls/{call_id}/consult")
async def consult(request: web.Request) -> web.Response:
    user = principal(request)
    controls = request.app[CALL_CONTROLS]
    call_id = request.match_info["call_id"]
    controls.controllable(user, call_id)  # unknown or someone else's -> 404 before the body is read
    body = Consult.model_validate(await read_json(request))
    if sum(target is not None for target in (body.agent_id, body.queue, body.number)) != 1:
        raise InvalidInput("name one of agent_id, queue or number to consult", code="consult_target")
    return web.json_response(call_control_view(controls.consult(
        user, call_id, to_agent=body.agent_id, queue=body.queue, number=body.number, note=body.note)))


def _consult_step(step: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        call = request.app[CALL_CONTROLS].act(principal(request), request.match_info["call_id"], step)
        return web.json_response(call_control_view(call))

    return handler


for _path, _step in _STEPS.items():
    routes.post(f"/api/calls/{{call_id}}/{_path}")(_consult_step(_step))


@routes.post("/api/calls/{call_id}/hold")
async def hold_call(request: web.Request) -> web.Response:
    return await _control(request, "hold")


@routes.post("/api/calls/{call_id}/resume")
async def resume_call(request: web.Request) -> web.Response:
    return await _control(request, "resume")


@routes.post("/api/calls/{call_id}/mute")
async def mute_agent(request: web.Request) -> web.Response:
    return await _control(request, "mute")


@routes.post("/api/calls/{call_id}/unmute")
async def unmute_agent(request: web.Request) -> web.Response:
    return await _control(request, "unmute")


@routes.post("/api/calls/{call_id}/dtmf")
async def send_dtmf(request: web.Request) -> web.Response:
    return await _control(request, "dtmf")


@routes.post("/api/calls/{call_id}/hangup")
async def hang_up_call(request: web.Request) -> web.Response:
    return await _control(request, "hangup")


@routes.get("/api/dispositions")
async def dispositions(request: web.Request) -> web.Response:
    principal(request)
    return web.json_response({"dispositions": list(request.app[WRAP_UP].dispositions)})


@routes.post("/api/interactions/{call_id}/wrapup")
async def wrap_up(request: web.Request) -> web.Response:
    user = principal(request)
    call_id = request.match_info["call_id"]
    service = request.app[WRAP_UP]
    record = await service.visible(user, call_id)  # someone else's or unknown -> 404 before the body is read
    body = WrapUp.model_validate(await read_json(request))
    callback = None
    if body.callback is not None:  # scheduled first: a refusal (no customer, a bad time) leaves the wrap-up open
        if record.customer_id is None:
            raise InvalidInput("the call has no customer to call back", code="callback_no_customer")
        callback = await request.app[CALLBACKS].schedule(
            user, record.customer_id, due_at=body.callback.due_at, reason=body.callback.reason,
            agent_first=body.callback.agent_first, source=source_of(request))
    saved = await service.wrap_up(user, call_id, WrapUpRecord(
        disposition=body.disposition, notes=body.notes, script_answers=body.script_answers,
        crosssell_offered=tuple(body.crosssell.offered), crosssell_accepted=tuple(body.crosssell.accepted),
        follow_up=None if body.follow_up is None else FollowUpRecord(body.follow_up.due, body.follow_up.task),
        ready=body.ready))
    return web.json_response({"call_id": call_id, "disposition": saved.disposition,
                              "wrapped_up_at": saved.wrapped_up_at.isoformat() if saved.wrapped_up_at else None,
                              "callback_id": callback.callback_id if callback else None})


@routes.post("/api/customers")
async def create_customer(request: web.Request) -> web.Response:
    user = principal(request)
    body = CustomerCreate.model_validate(await read_json(request))
    customer = await request.app[CUSTOMERS].create(user, call_id=body.call_id, name=body.name, phone=body.phone,
                                                   email=body.email, language=body.language,
                                                   source=source_of(request))
    return web.json_response({"customer_id": customer.customer_id, "name": customer.name,
                              "phones": list(customer.phones)}, status=201)


@routes.get("/api/customers/{customer_id}")
async def get_customer(request: web.Request) -> web.Response:
    view = await request.app[CUSTOMERS].view(principal(request), request.match_info["customer_id"],
                                             source=source_of(request))
    return web.json_response(customer_frame(view, utc_now()))


@routes.put("/api/customers/{customer_id}/consent")
async def set_consent(request: web.Request) -> web.Response:
    user = principal(request)
    customer_id = request.match_info["customer_id"]
    customers = request.app[CUSTOMERS]
    await customers.reachable(user, customer_id)  # someone else's or unknown -> 404 before the body is read
    body = ConsentChange.model_validate(await read_json(request))
    changes = {name: value for name, value in body.model_dump().items() if value is not None}
    record = await customers.set_consent(user, customer_id, changes, source=source_of(request))
    consent = record.consent
    return web.json_response({"customer_id": customer_id, "consent": {
        "phone_calls": consent.phone_calls, "marketing_calls": consent.marketing_calls, "email": consent.email,
        "data_sharing": consent.data_sharing, "surveys": consent.surveys}})
