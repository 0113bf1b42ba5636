"""The agent desktop's server side: its websocket (screen pops, call and agent changes), wrap-up, and the
customer record an agent fills in for an unknown caller."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.crm.records import NewContact
from cti.persistence import InteractionRepository
from cti.records import InteractionRecord
from cti.screenpop.service import customer_frame
from cti.scripting import AnswerError
from cti.web.auth import principal, require_agent_access
from cti.web.bodies import read_json
from cti.web.keys import CONTROLLER, CRM, DATABASE, HUB, SCREENPOP, SETTINGS
from cti.web.openapi import operation, path_param, query_param
from cti.web.sockets import FrameError

__all__ = ["CustomerCreate", "Transfer", "WrapUp", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CrossSellOutcome(_Body):
    offered: list[str] = Field(default_factory=list, max_length=20)
    accepted: list[str] = Field(default_factory=list, max_length=20)


class FollowUp(_Body):
    due: date
    task: str = Field(min_length=1, max_length=500)


class WrapUp(_Body):
    disposition: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    notes: str = Field(default="", max_length=4000)
    script_answers: dict[str, Any] = Field(default_factory=dict)
    crosssell: CrossSellOutcome = Field(default_factory=CrossSellOutcome)
    follow_up: FollowUp | None = None
    ready: bool = Field(default=True, description="end after-call work and take the next call")


class Transfer(_Body):
    queue: str | None = Field(default=None, min_length=1, max_length=64, description="transfer to this queue")
    agent_id: str | None = Field(default=None, min_length=1, max_length=64,
                                 description="or straight to this agent, who must be ready")
    note: str = Field(default="", max_length=1000, description="shown to the next agent with the screen pop")


class CustomerCreate(_Body):
    call_id: str | None = Field(default=None, description="the live call this caller is on: links them")
    name: str = Field(default="", max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254)
    language: Literal["id", "en"] = "id"


schemas: tuple[type[BaseModel], ...] = (WrapUp, Transfer, CustomerCreate, CrossSellOutcome, FollowUp)
openapi_paths: dict[str, dict[str, Any]] = {
    "/ws/desktop": {"get": operation(
        "Websocket of an agent's desktop: snapshot, then numbered 'offer' (screen pop), 'call' and 'agent' "
        "frames; '?since=' replays what a reconnecting desktop missed; send {type: 'script', call_id, answers} "
        "for the script's next steps. Token in the Authorization header or '?token='.",
        roles="agent (own desktop), supervisor and admin with ?agent_id=",
        params=[query_param("agent_id"), query_param("since", "integer"), query_param("token")],
        ok=101, errors=(400, 404))},
    "/api/interactions/{call_id}/wrapup": {"post": operation(
        "Save the agent's wrap-up (disposition, notes, script answers, cross-sell outcome, follow-up) on the "
        "interaction and in the customer's contact history; optionally end after-call work",
        roles="the call's agent, supervisor, admin", body="WrapUp", params=[path_param("call_id")],
        errors=(404, 409))},
    "/api/calls/{call_id}/transfer": {"post": operation(
        "Blind transfer of a connected call by its agent: to a queue, or to a ready agent (exactly one). The "
        "agent's leg hangs up and they go to wrap-up; the caller holds until the next agent answers, whose "
        "desktop gets the screen pop with who transferred it and the note",
        roles="the call's agent; supervisor and admin on the agent's behalf", body="Transfer",
        params=[path_param("call_id")], errors=(404, 409, 422))},
    "/api/dispositions": {"get": operation("Disposition codes the wrap-up accepts", roles="any authenticated user")},
    "/api/customers": {"post": operation(
        "Create a customer record (an unknown caller), linked to the live call if named",
        roles="agent, supervisor, admin", body="CustomerCreate", ok=201, errors=(404, 409))},
    "/api/customers/{customer_id}": {"get": operation(
        "A customer's record as the screen pop shows it", roles="agent, supervisor, admin",
        params=[path_param("customer_id")], errors=(404,))},
}


def _agent_for_socket(request: web.Request) -> str:
    user = principal(request)
    agent_id = request.query.get("agent_id") or user.agent_id
    if not agent_id:
        raise web.HTTPBadRequest(reason="name the desktop's agent with ?agent_id=")
    require_agent_access(request, agent_id)
    request.app[CONTROLLER].core.agent(agent_id)  # unknown agent -> 404
    return agent_id


@routes.get("/ws/desktop")
async def desktop_socket(request: web.Request) -> web.StreamResponse:
    agent_id = _agent_for_socket(request)
    screenpop = request.app[SCREENPOP]

    async def snapshot() -> dict[str, Any]:
        agent = request.app[CONTROLLER].core.agents.get(agent_id)
        if agent is not None:
            screenpop.agents.setdefault(agent_id, agent.snapshot())
        return screenpop.snapshot(agent_id)

    async def on_frame(frame: dict[str, Any]) -> dict[str, Any] | None:
        if frame["type"] == "script":
            answers = frame.get("answers")
            if not isinstance(frame.get("call_id"), str) or not isinstance(answers, dict):
                raise FrameError("a script frame needs a 'call_id' string and an 'answers' object")
            try:
                progress = screenpop.script_progress(agent_id, frame["call_id"], answers)
            except KeyError as exc:
                raise FrameError(f"no script for call {frame['call_id']!r} on this desktop") from exc
            except AnswerError as exc:
                raise FrameError(str(exc)) from exc
            return {"type": "script", "data": progress}
        raise FrameError(f"unknown frame type {frame['type']!r}")

    return await request.app[HUB].serve(request, f"agent:{agent_id}", snapshot, on_frame)


@routes.post("/api/calls/{call_id}/transfer")
async def transfer(request: web.Request) -> web.Response:
    user = principal(request)
    controller = request.app[CONTROLLER]
    call = controller.core.call(request.match_info["call_id"])  # unknown -> 404
    if call.agent_id is None or (user.role == "agent" and call.agent_id != user.agent_id):
        raise web.HTTPNotFound(reason=f"no connected call {call.call_id!r} of yours")
    body = Transfer.model_validate(await read_json(request))
    if (body.queue is None) == (body.agent_id is None):
        raise web.HTTPUnprocessableEntity(reason="name either a queue or an agent_id to transfer to")
    moved = controller.transfer(call.call_id, call.agent_id, queue=body.queue, to_agent=body.agent_id,
                                note=body.note or None)
    return web.json_response({"call_id": moved.call_id, "state": moved.state.value, "queue": moved.queue,
                              "agent_id": moved.agent_id})


@routes.get("/api/dispositions")
async def dispositions(request: web.Request) -> web.Response:
    principal(request)
    return web.json_response({"dispositions": list(request.app[SETTINGS].dispositions)})


@routes.post("/api/interactions/{call_id}/wrapup")
async def wrap_up(request: web.Request) -> web.Response:
    user = principal(request)
    call_id = request.match_info["call_id"]
    interactions = InteractionRepository(request.app[DATABASE])
    record = await interactions.get(call_id)
    if record is None or (user.role == "agent" and user.agent_id not in _handled_by(record)):
        raise web.HTTPNotFound(reason=f"no interaction {call_id!r} of yours")
    # Whose after-call work this is: the agent asking, or for a supervisor the call's last agent.
    agent_id = user.agent_id if user.role == "agent" else record.agent_id
    body = WrapUp.model_validate(await read_json(request))
    if body.disposition not in request.app[SETTINGS].dispositions:
        raise web.HTTPUnprocessableEntity(reason=f"unknown disposition {body.disposition!r}")
    now = request.app[CONTROLLER].clock()
    saved = await interactions.save_wrap_up(
        call_id, at=now, disposition=body.disposition, notes=body.notes, script_answers=body.script_answers,
        crosssell=body.crosssell.model_dump(), follow_up=None if body.follow_up is None else {
            "due": body.follow_up.due.isoformat(), "task": body.follow_up.task})
    if saved.customer_id:
        await request.app[CRM].add_contact(NewContact(
            customer_id=saved.customer_id, channel="call", at=now, reason=(saved.routing or {}).get("problem_type"),
            disposition=body.disposition, notes=body.notes or None, agent_id=agent_id, call_id=call_id,
            language=_language((saved.routing or {}).get("language")), script_answers=body.script_answers or None,
            cross_sell_offered=tuple(body.crosssell.offered), cross_sell_accepted=tuple(body.crosssell.accepted),
            follow_up_at=None if body.follow_up is None else datetime.combine(
                body.follow_up.due, time(9), tzinfo=now.tzinfo),
            follow_up_task=None if body.follow_up is None else body.follow_up.task))
        request.app[SCREENPOP].customer_changed(saved.customer_id)
    controller = request.app[CONTROLLER]
    if body.ready and agent_id and agent_id in controller.core.agents:
        agent = controller.core.agent(agent_id)
        if agent.state.value in ("wrap_up", "not_ready") and agent.call_id is None:
            controller.set_ready(agent_id)
    return web.json_response({"call_id": call_id, "disposition": saved.disposition,
                              "wrapped_up_at": saved.wrapped_up_at.isoformat() if saved.wrapped_up_at else None})


@routes.post("/api/customers")
async def create_customer(request: web.Request) -> web.Response:
    user = principal(request)
    body = CustomerCreate.model_validate(await read_json(request))
    controller = request.app[CONTROLLER]
    call = None
    if body.call_id is not None:
        call = controller.core.call(body.call_id)
        if user.role == "agent" and call.agent_id != user.agent_id:
            raise web.HTTPNotFound(reason=f"no call {body.call_id!r} of yours")
    number = body.phone or (call.caller_number if call is not None else None)
    # One transaction, checked first: a refused value (422) leaves no blank record behind.
    customer = await request.app[CRM].create_blank_customer(number, name=body.name, email=body.email,
                                                            language=body.language)
    if call is not None:
        call.customer_id = customer.customer_id
    request.app[SCREENPOP].customer_changed(customer.customer_id)
    return web.json_response({"customer_id": customer.customer_id, "name": customer.name,
                              "phones": list(customer.phones)}, status=201)


@routes.get("/api/customers/{customer_id}")
async def get_customer(request: web.Request) -> web.Response:
    principal(request)
    view = await request.app[CRM].customer_view(request.match_info["customer_id"])
    if view is None:
        raise web.HTTPNotFound(reason=f"no customer {request.match_info['customer_id']!r}")
    return web.json_response(customer_frame(view))


def _handled_by(record: InteractionRecord) -> set[str | None]:
    """The agents who talked to the caller: the last one, and any who transferred the call on."""
    decisions = (record.routing or {}).get("decisions") or ()
    return {record.agent_id} | {d.get("winner") for d in decisions if d.get("kind") == "transferred"}


def _language(value: object) -> Literal["id", "en"] | None:
    return "en" if value == "en" else "id" if value == "id" else None


