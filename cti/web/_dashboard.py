"""Supervisor dashboard: live statistics over a websocket, the same as JSON, and interval reports (JSON, CSV).

Supervisors see only the queues and teams of their scope; agents see none of it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import BaseModel

from cti.services import Scope, dashboard_topic, scope_of
from cti.stats import agent_csv, outbound_csv, queue_csv
from cti.web._audit import source_of
from cti.web._auth import principal, require_role
from cti.web._keys import AUDIT, HUB, REPORTS, SETTINGS, STATS
from cti.web._openapi import operation, query_param
from cti.web._params import IntParam
from cti.web._sockets import SINCE, RawJson

__all__ = ["dashboard_scope", "openapi_paths", "routes", "schemas"]

routes = web.RouteTableDef()
STAFF = ("supervisor", "admin")
MAX_REPORT_DAYS = 62

schemas: tuple[type[BaseModel], ...] = ()
_INTERVAL = IntParam("interval", 15, 60, "minutes per row (default 30)", choices=(15, 30, 60))
_REPORT_PARAMS = [
    query_param("from", format="date", description="first local day (default today)"),
    query_param("to", format="date", description=f"last local day (default from; at most {MAX_REPORT_DAYS} days)"),
    _INTERVAL.spec(), query_param("tz", maxLength=64, description="IANA time zone (default the server's)"),
    query_param("format", enum=["json", "csv"]), query_param("queue", maxLength=64),
    query_param("empty", enum=["yes", "no"], description="yes: also the intervals without calls")]
openapi_paths: dict[str, dict[str, Any]] = {
    "/ws/dashboard": {"get": operation(
        "Websocket of the supervisor dashboard: a snapshot (today, last 15 and 60 minutes; per queue and "
        "agent; the agent grid; the day's series), then numbered frames: 'live' at once on every change of an "
        "agent or of a queue's live picture, 'stats' (every figure) every 0.8 s, 'series' once a minute "
        "(docs/metrics.md, 'The dashboard feed'). Authenticated as /ws/desktop (a '?ticket=' from browsers)",
        roles="supervisor (own scope), admin", params=[SINCE.spec(), query_param("ticket")],
        ok=101)},
    "/api/stats": {"get": operation("The live statistics the dashboard shows, as JSON",
                                    roles="supervisor (own scope), admin")},
    "/api/reports/queues": {"get": operation(
        "Interval statistics per queue over local days from..to (15, 30 or 60 minute intervals); "
        "format=csv for a download", roles="supervisor (own scope), admin", params=_REPORT_PARAMS, errors=(400,))},
    "/api/reports/agents": {"get": operation(
        "Interval statistics per agent, as the queue report", roles="supervisor (own scope), admin",
        params=_REPORT_PARAMS, errors=(400,))},
    "/api/reports/outbound": {"get": operation(
        "Agents' calls out per interval and queue (dialed, answered, failed, talk time) and scheduled callbacks "
        "completed or failed after their retries; apart from the customers' calls of the queue report "
        "(docs/metrics.md, 'Outbound figures')", roles="supervisor (own scope), admin", params=_REPORT_PARAMS,
        errors=(400,))},
}


def dashboard_scope(request: web.Request) -> Scope:
    user = require_role(request, *STAFF)
    return Scope() if user.role == "admin" else scope_of(user.scope)


@routes.get("/ws/dashboard")
async def dashboard_socket(request: web.Request) -> web.StreamResponse:
    scope = dashboard_scope(request)
    feed = request.app[STATS]
    feed.scopes[scope.key] = scope

    async def snapshot() -> RawJson:
        # The topic's current state, serialised once for every dashboard connecting until the next change.
        return RawJson(feed.view_json(scope))

    return await request.app[HUB].serve(request, dashboard_topic(scope), snapshot, user=principal(request))


@routes.get("/api/stats")
async def stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].view(dashboard_scope(request)), dumps=_dumps)


async def _report(request: web.Request, name: str) -> tuple[Any, str]:
    """The report ``name`` (queues, agents: the interval report; outbound: its rows), and the format asked."""
    scope = dashboard_scope(request)
    reports = request.app[REPORTS]
    query = request.query
    try:
        tz = ZoneInfo(query.get("tz", request.app[SETTINGS].timezone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise web.HTTPBadRequest(reason=f"unknown time zone {query.get('tz')!r}") from exc
    today = reports.today(tz)
    try:
        first = date.fromisoformat(query.get("from", today.isoformat()))
        last = date.fromisoformat(query.get("to", first.isoformat()))
    except ValueError as exc:
        raise web.HTTPBadRequest(reason="from and to are dates: YYYY-MM-DD") from exc
    interval = _INTERVAL.read(request, 30)
    if not first <= last or (last - first).days >= MAX_REPORT_DAYS:
        raise web.HTTPBadRequest(reason=f"from must not be after to, and the range at most {MAX_REPORT_DAYS} days")
    include_empty = query.get("empty", "no") == "yes"
    report: Any
    if name == "outbound":
        report = await reports.outbound(scope, first, last, tz=tz, minutes=interval, queue=query.get("queue"),
                                        include_empty=include_empty)
    else:
        report = await reports.intervals(scope, first, last, tz=tz, minutes=interval, queue=query.get("queue"),
                                         include_empty=include_empty)
    fmt = query.get("format", "json")
    # An export of people's performance (agents') and of the center's figures: who took which, in the audit log.
    await request.app[AUDIT].record(principal(request), "export", "report", name, source=source_of(request), detail={
        "from": first.isoformat(), "to": last.isoformat(), "queue": query.get("queue"), "format": fmt})
    return report, fmt


@routes.get("/api/reports/queues")
async def queue_report(request: web.Request) -> web.Response:
    report, fmt = await _report(request, "queues")
    if fmt == "csv":
        return _csv(queue_csv(report.queues), "queues.csv")
    return web.json_response({"rows": [_flat(r) for r in report.queues]}, dumps=_dumps)


@routes.get("/api/reports/agents")
async def agent_report(request: web.Request) -> web.Response:
    report, fmt = await _report(request, "agents")  # only the agents of the supervisor's scope
    if fmt == "csv":
        return _csv(agent_csv(report.agents), "agents.csv")
    return web.json_response({"rows": [_flat(r) for r in report.agents]}, dumps=_dumps)


@routes.get("/api/reports/outbound")
async def outbound_report(request: web.Request) -> web.Response:
    rows, fmt = await _report(request, "outbound")
    if fmt == "csv":
        return _csv(outbound_csv(rows), "outbound.csv")
    return web.json_response({"rows": [_flat(r) for r in rows]}, dumps=_dumps)


def _flat(row: Any) -> dict[str, Any]:
    """A report row as one flat object: its keys, then its counters and figures (as the CSV's columns)."""
    out: dict[str, Any] = {}
    for name, value in asdict(row).items():
        if isinstance(value, dict):
            out.update(value)
        else:
            out[name] = value
    return out


def _csv(text: str, name: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _dumps(value: Any) -> str:
    return json.dumps(value, default=lambda o: o.isoformat() if isinstance(o, datetime | date) else str(o))
