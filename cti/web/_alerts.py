"""Supervisor alerts over HTTP: the thresholds of a supervisor's queues, and the alert history (raised and
cleared). The alerts themselves reach open dashboards as ``alert`` frames on ``/ws/dashboard``."""

from __future__ import annotations

from typing import Any, Final, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from cti.errors import InvalidInput, Problem
from cti.services import Scope, scope_of
from cti.stats import AGENT_STATES_WATCHED, AlertMetric, AlertThreshold, ThresholdError
from cti.web._auth import principal, require_role
from cti.web._bodies import read_object
from cti.web._keys import ALERTS
from cti.web._openapi import operation, path_param, query_param
from cti.web._params import IntParam

__all__ = ["ThresholdBody", "ThresholdsBody", "openapi_paths", "routes", "schemas"]

_STAFF: Final = ("supervisor", "admin")


class ThresholdBody(BaseModel):
    """One figure of the queue watched: raised when it crosses ``raise_at``, cleared once back past ``clear_at``
    (below it for the service level, where lower is worse; above it for the others)."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["service_level", "longest_wait", "abandon_rate", "waiting", "agent_state_seconds", "csat"]
    raise_at: float = Field(ge=0, le=86_400)
    clear_at: float = Field(ge=0, le=86_400)
    channel: Literal["voice", "chat"] = Field(
        default="voice", description="csat: the surveys after calls (voice) or after chats (chat)")
    state: Literal["ringing", "on_call", "wrap_up", "not_ready"] | None = Field(
        default=None, description="the agent state watched (agent_state_seconds only)")


class ThresholdsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: list[ThresholdBody] = Field(max_length=20, description="the queue's thresholds; [] removes them")


routes = web.RouteTableDef()
schemas: tuple[type[BaseModel], ...] = (ThresholdBody, ThresholdsBody)
_LIMIT: Final = IntParam("limit", 1, 1000, "at most this many (default 200)")
_QUEUE: Final = [path_param("queue", pattern="^[a-z0-9_-]{1,64}$", examples=["care"])]
openapi_paths: dict[str, dict[str, Any]] = {
    "/api/alerts": {"get": operation(
        "The alert history of the caller's queues, newest first: each alert raised (queue, metric, subject: the "
        "queue or an agent, value, thresholds, raised_at) and, once its figure came back, cleared_at and "
        "cleared_value; open=yes: only those raised now", roles="supervisor (own scope), admin",
        params=[query_param("open", enum=["yes", "no"]), _LIMIT.spec()], errors=(400,))},
    "/api/alerts/thresholds": {"get": operation(
        "The alert thresholds of the caller's queues (docs/supervisors.md, 'Alerts')",
        roles="supervisor (own scope), admin")},
    "/api/alerts/thresholds/{queue}": {"put": operation(
        "Replace a queue's alert thresholds (service level, longest wait, abandon rate, waiting calls, an agent "
        "too long in one state, CSAT: the mean 1-5 rating of recent survey answers), each with its raise and clear "
        "points; in effect within a second",
        roles="supervisor (own scope), admin", body="ThresholdsBody", params=_QUEUE, errors=(404, 422))},
}


def _scope(request: web.Request) -> Scope:
    user = require_role(request, *_STAFF)
    return Scope() if user.role == "admin" else scope_of(user.scope)


def _threshold_view(t: AlertThreshold) -> dict[str, Any]:
    return {"queue": t.queue, "channel": t.channel, "metric": t.metric.value, "state": t.state,
            "raise_at": t.raise_at, "clear_at": t.clear_at}


@routes.get("/api/alerts")
async def alert_history(request: web.Request) -> web.Response:
    scope = _scope(request)
    open_only = request.query.get("open", "no")
    if open_only not in ("yes", "no"):
        raise web.HTTPBadRequest(reason="open is yes or no")
    alerts = await request.app[ALERTS].history(scope, open_only=open_only == "yes", limit=_LIMIT.read(request, 200))
    return web.json_response({"alerts": [a.as_json() for a in alerts]})


@routes.get("/api/alerts/thresholds")
async def list_thresholds(request: web.Request) -> web.Response:
    thresholds = await request.app[ALERTS].thresholds(_scope(request))
    return web.json_response({"thresholds": [_threshold_view(t) for t in thresholds]})


@routes.put("/api/alerts/thresholds/{queue}")
async def set_thresholds(request: web.Request) -> web.Response:
    scope = _scope(request)
    queue = request.match_info["queue"]
    request.app[ALERTS].require_queue(scope, queue)  # before the body: a queue out of reach is not there at all
    body = ThresholdsBody.model_validate(await read_object(request))
    thresholds: list[AlertThreshold] = []
    for i, item in enumerate(body.thresholds):
        try:
            thresholds.append(AlertThreshold(queue=queue, metric=AlertMetric(item.metric), raise_at=item.raise_at,
                                             clear_at=item.clear_at, channel=item.channel, state=item.state))
        except ThresholdError as exc:
            raise InvalidInput(str(exc), [Problem(f"thresholds.{i}", str(exc))], code="invalid_threshold") from exc
    saved = await request.app[ALERTS].set_thresholds(scope, queue, thresholds, by=principal(request).name)
    return web.json_response({"queue": queue, "thresholds": [_threshold_view(t) for t in saved],
                              "agent_states": list(AGENT_STATES_WATCHED)})
