"""Staff's follow-up tasks (``/api/tasks``): the open follow-ups of customers' left messages and agents' wrap-ups,
due first; an agent takes one and completes it (an e-mail task with the answer mailed to the customer)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.services import ANSWER_LENGTH, task_view
from cti.web._audit import source_of
from cti.web._auth import require_role
from cti.web._bodies import read_json
from cti.web._keys import FOLLOW_UPS
from cti.web._openapi import operation
from cti.web._params import MAX_SQL_INT, IntParam

__all__ = ["TaskComplete", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
_ROLES = ("agent", "supervisor", "admin")
_TASK_ID = IntParam("task_id", 1, MAX_SQL_INT, "the task's id", where="path")
_LIMIT = IntParam("limit", 1, 1000, "the first this many (default 100)")
_REACH = "agent (their queues' and their own), supervisor (own scope), admin"


class TaskComplete(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer: str | None = Field(default=None, max_length=ANSWER_LENGTH,
                               description="an e-mail task's answer, mailed to the customer as written")


schemas: tuple[type[BaseModel], ...] = (TaskComplete,)
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/tasks": {"get": operation(
        "The open follow-up tasks, the earliest due first: messages customers left out of hours (reply 'email': "
        "answered by mail) and the follow-ups of wrap-ups. An agent's are those of the queues they are qualified "
        "for, the ones they set and the ones they took (never one another agent took); a supervisor's their "
        "scope's (its queues, its teams' agents); an admin's all. Audited", roles=_REACH,
        params=[_LIMIT.spec()], errors=(400,))},
    "/api/tasks/{task_id}": {"get": operation(
        "One open task", roles=_REACH, params=[_TASK_ID.spec()], errors=(404,))},
    "/api/tasks/{task_id}/claim": {"post": operation(
        "Take the task: no other agent sees or completes it then (409 task_taken when another took it first). "
        "Audited", roles="agent (a task in their reach)", params=[_TASK_ID.spec()], errors=(403, 404, 409))},
    "/api/tasks/{task_id}/complete": {"post": operation(
        "Complete the task (an agent takes it if nobody had): an e-mail task's answer is mailed to the customer "
        "first (422 answer_required without one; 409 not_mailable when they have no address or withdrew their "
        "consent; 503 when the mail server refused: the task stays open) and recorded as an e-mail "
        "contact in their history; the task is done (who, when). Audited", roles=_REACH, body="TaskComplete",
        params=[_TASK_ID.spec()], errors=(404, 409, 422, 503))},
}


@routes.get("/api/tasks")
async def list_tasks(request: web.Request) -> web.Response:
    user = require_role(request, *_ROLES)
    tasks = await request.app[FOLLOW_UPS].tasks(user, limit=_LIMIT.read(request, 100), source=source_of(request))
    return web.json_response({"tasks": [task_view(t) for t in tasks]})


@routes.get("/api/tasks/{task_id}")
async def get_task(request: web.Request) -> web.Response:
    user = require_role(request, *_ROLES)
    task = await request.app[FOLLOW_UPS].get(user, _TASK_ID.read(request, 0))
    return web.json_response(task_view(task))


@routes.post("/api/tasks/{task_id}/claim")
async def claim_task(request: web.Request) -> web.Response:
    user = require_role(request, *_ROLES)
    task = await request.app[FOLLOW_UPS].claim(user, _TASK_ID.read(request, 0), source=source_of(request))
    return web.json_response(task_view(task))


@routes.post("/api/tasks/{task_id}/complete")
async def complete_task(request: web.Request) -> web.Response:
    user = require_role(request, *_ROLES)
    task_id = _TASK_ID.read(request, 0)
    await request.app[FOLLOW_UPS].get(user, task_id)  # who may touch it, before what they sent is read
    body = TaskComplete.model_validate(await read_json(request)) if request.can_read_body else TaskComplete()
    task = await request.app[FOLLOW_UPS].complete(user, task_id, answer=body.answer, source=source_of(request))
    return web.json_response(task_view(task))
