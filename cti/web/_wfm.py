"""Workforce management over HTTP: staffing, forecasts from the interaction history, schedules, adherence.

Supervisors and admins only, and a supervisor with a scope only for the queues and teams in it (the service,
:class:`cti.services.WfmService`, decides what is in it). Bodies are validated by the pydantic models below
(they are also the OpenAPI schemas); the answers are built by the views below.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, RootModel, model_validator

from cti.errors import InvalidInput
from cti.services import ScheduleAgent, StaffedForecast
from cti.web._auth import require_role
from cti.web._bodies import read_json
from cti.web._keys import WFM
from cti.web._openapi import operation, query_param
from cti.web._params import MAX_SQL_INT, IntParam, NumberParam
from cti.wfm import (
    MAX_CALLS,
    MAX_INTERVAL_MINUTES,
    MAX_SECONDS,
    MIN_INTERVAL_MINUTES,
    MIN_OCCUPANCY,
    MIN_SECONDS,
    Activity,
    AgentAdherence,
    AgentAvailability,
    AgentShift,
    BreakRule,
    QueueMetrics,
    Schedule,
    ScheduleProblem,
    ScheduleSummary,
    ShiftPattern,
    StaffingRequest,
    StaffingResult,
    StoredSchedule,
)

__all__ = [
    "WfmActivityNow",
    "WfmAdherence",
    "WfmAdherenceAgent",
    "WfmAdherenceException",
    "WfmBreakRule",
    "WfmForecastQuery",
    "WfmScheduleAgent",
    "WfmScheduleCreate",
    "WfmScheduleList",
    "WfmScheduleSummary",
    "WfmShiftPattern",
    "WfmStaffing",
    "WfmStaffingBatch",
    "WfmStaffingQuery",
    "WfmTargets",
    "openapi_paths",
    "routes",
    "schemas",
]

routes = web.RouteTableDef()
STAFF: Final = ("supervisor", "admin")
_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_SKILL = r"^[a-z0-9_-]{1,32}$"
_QUEUE = r"^[A-Za-z0-9_.-]{1,64}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class WfmTargets(_Body):
    """Staffing targets; omitted ones are not checked."""

    service_level: float | None = Field(default=0.8, gt=0, lt=1, description="share answered within T")
    answer_within_seconds: float = Field(default=20, ge=0, le=MAX_SECONDS, description="the service level's T")
    asa_seconds: float | None = Field(default=None, ge=MIN_SECONDS, le=MAX_SECONDS,
                                      description="target mean wait of answered")
    max_occupancy: float | None = Field(default=None, ge=MIN_OCCUPANCY, le=1)
    shrinkage: float = Field(default=0, ge=0, lt=1)
    patience_seconds: float | None = Field(default=None, ge=MIN_SECONDS, le=MAX_SECONDS, description="set: Erlang A")
    max_abandon: float | None = Field(default=None, gt=0, lt=1, description="needs patience_seconds")


class WfmStaffing(WfmTargets):
    """One interval: its workload and targets. Calls x AHT / interval must stay within 100,000 Erlangs."""

    calls: float = Field(ge=0, le=MAX_CALLS)
    interval_minutes: float = Field(default=30, ge=MIN_INTERVAL_MINUTES, le=MAX_INTERVAL_MINUTES)
    aht_seconds: float = Field(ge=MIN_SECONDS, le=MAX_SECONDS)
    start: AwareDatetime | None = Field(default=None, description="a label echoed back")
    queue: str | None = Field(default=None, pattern=_QUEUE,
                              description="the queue staffed, echoed back: must be in a supervisor's scope")


class WfmStaffingBatch(_Body):
    intervals: list[WfmStaffing] = Field(min_length=1, max_length=5000)


class WfmStaffingQuery(RootModel[WfmStaffingBatch | WfmStaffing]):
    """One interval, or ``{"intervals": [...]}``."""


class WfmForecastQuery(_Body):
    queue: str = Field(pattern=_QUEUE, description="must be in a supervisor's scope")
    start: date = Field(description="first day of history (local)")
    end: date = Field(description="day after the last day of history (local)")
    timezone: str = Field(default="UTC", max_length=64, description="IANA zone, e.g. Asia/Jakarta")
    interval_minutes: Literal[15, 30, 60] = 30
    horizon_days: int = Field(default=7, ge=1, le=28)
    holdout_days: int = Field(default=7, ge=1, le=28)
    targets: WfmTargets | None = Field(default=None, description="also staff every forecast interval")

    @model_validator(mode="after")
    def _range(self) -> WfmForecastQuery:
        if not 1 <= (self.end - self.start).days <= 400:
            raise ValueError("end must be 1 to 400 days after start")
        return self


class WfmBreakRule(_Body):
    minutes: int = Field(gt=0, le=480)
    earliest_minutes: int = Field(gt=0, le=1440)
    latest_minutes: int = Field(gt=0, le=1440)


class WfmShiftPattern(_Body):
    name: str = Field(pattern=_ID)
    minutes: int = Field(gt=0, le=1440)
    starts: list[Annotated[int, Field(ge=0, lt=1440)]] = Field(min_length=1, max_length=96)
    breaks: list[WfmBreakRule] = Field(default_factory=list, max_length=6)


class WfmScheduleAgent(_Body):
    agent_id: str = Field(pattern=_ID)
    skills: list[Annotated[str, Field(pattern=_SKILL)]] = Field(min_length=1, max_length=20)
    available: list[tuple[AwareDatetime, AwareDatetime]] = Field(default_factory=list, max_length=100)
    patterns: list[str] = Field(default_factory=list, max_length=20)
    max_shifts: int | None = Field(default=None, ge=0, le=31)


class WfmScheduleCreate(_Body):
    name: str = Field(min_length=1, max_length=128)
    start: AwareDatetime = Field(description="a local midnight; its offset sets the day")
    interval_minutes: Literal[15, 30, 60] = 30
    requirements: dict[Annotated[str, Field(pattern=_SKILL)],
                       list[Annotated[int, Field(ge=0, le=10000)]]] = Field(min_length=1, max_length=20)
    patterns: list[WfmShiftPattern] = Field(min_length=1, max_length=20)
    agents: list[WfmScheduleAgent] = Field(min_length=1, max_length=500)
    under_weight: float = Field(default=2.0, ge=0, le=1000)
    over_weight: float = Field(default=1.0, ge=0, le=1000)
    time_limit_seconds: float = Field(default=20.0, gt=0, le=120)

    def problem(self) -> ScheduleProblem:
        """The solver's problem this body describes (the API and ``cti wfm schedule`` share it)."""
        return ScheduleProblem(
            start=self.start, interval_minutes=self.interval_minutes,
            requirements={skill: tuple(values) for skill, values in self.requirements.items()},
            patterns=tuple(ShiftPattern(p.name, p.minutes, tuple(p.starts),
                                        tuple(BreakRule(b.minutes, b.earliest_minutes, b.latest_minutes)
                                              for b in p.breaks)) for p in self.patterns),
            agents=tuple(AgentAvailability(a.agent_id, frozenset(a.skills), tuple(a.available), tuple(a.patterns),
                                           a.max_shifts) for a in self.agents),
            under_weight=self.under_weight, over_weight=self.over_weight,
            time_limit_seconds=self.time_limit_seconds)


# -- answers (documentation only: the handlers build plain JSON, these models describe it in OpenAPI) ------------
class WfmScheduleSummary(BaseModel):
    schedule_id: int
    name: str
    start: AwareDatetime
    end: AwareDatetime
    interval_minutes: int
    status: str = Field(description="optimal, or time_limit when the best schedule found in time was kept")
    objective: float
    shift_count: int = Field(description="the shifts shown: a supervisor with a scope sees those in it")
    created_at: AwareDatetime


class WfmScheduleList(BaseModel):
    schedules: list[WfmScheduleSummary] = Field(description="newest first")


class WfmActivityNow(BaseModel):
    kind: Literal["work", "break"]
    skill: str | None = Field(description="the queue worked, when the schedule assigned one")
    start: AwareDatetime
    end: AwareDatetime


class WfmAdherenceException(BaseModel):
    start: AwareDatetime
    end: AwareDatetime
    expected: Literal["work", "break"]
    state: str = Field(description="the agent's state meanwhile")


class WfmAdherenceAgent(BaseModel):
    agent_id: str
    name: str | None = Field(description="the agent's name, if the call center knows the agent")
    team: str | None
    queues: list[str] = Field(description="the queues the agent is scheduled to work today")
    activity_now: WfmActivityNow | None = Field(description="what the schedule says now; null off shift")
    expected_now: Literal["work", "break", "off"]
    state_now: str = Field(description="the agent's state now: ready, ringing, on_call, wrap_up, not_ready, "
                                       "logged_out")
    in_adherence_now: bool | None = Field(description="null off shift")
    adherence: float | None = Field(description="share of the scheduled time so far in adherence, 0 to 1; "
                                                "null before any time was scheduled")
    adherence_percent: float | None = Field(description="the same in percent, one decimal")
    scheduled_minutes: float = Field(description="scheduled time from the day's start to now")
    in_adherence_minutes: float
    out_of_adherence_minutes: float
    exceptions: list[WfmAdherenceException] = Field(description="runs out of adherence longer than the grace")


class WfmAdherence(BaseModel):
    """Today's adherence (the local day of ``at`` in ``timezone``), per scheduled agent in the caller's scope."""

    schedule: WfmScheduleSummary | None = Field(description="the newest schedule covering the day; null: none")
    at: AwareDatetime
    day_start: AwareDatetime
    agents: list[WfmAdherenceAgent] = Field(description="by agent id")


schemas: tuple[type[BaseModel], ...] = (WfmStaffingQuery, WfmForecastQuery, WfmScheduleCreate, WfmAdherence,
                                        WfmScheduleList)
_STAFF_ROLES: Final = "supervisor (queues and teams of their scope), admin"
_LIMIT: Final = IntParam("limit", 1, 1000, "the newest this many (default 100)")
_SCHEDULE_ID: Final = IntParam("schedule_id", 1, MAX_SQL_INT, where="path")
_GRACE: Final = NumberParam("grace_seconds", 0, MAX_SECONDS,
                            "how long out of adherence is not yet an exception (default 0)")
_TIMEZONE: Final = query_param("timezone", maxLength=64, description="IANA time zone of the times shown (default UTC)")


def _answers(op: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``op`` with its success response described by ``model``."""
    for status, response in op["responses"].items():
        if status.startswith("2"):
            response["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}
    return op


openapi_paths: dict[str, dict[str, Any]] = {
    "/api/wfm/staffing": {"post": operation(
        "Agents needed for one interval or many (Erlang C, or Erlang A with patience), with the service level, "
        "P(wait), ASA, occupancy and abandonment they give; an interval naming a queue outside the "
        "supervisor's scope is refused", roles=_STAFF_ROLES, body="WfmStaffingQuery")},
    "/api/wfm/forecast": {"post": operation(
        "Forecast a queue's volume and AHT per interval from its stored interactions; the model is chosen by "
        "a holdout backtest (WAPE/MAPE reported); optionally staffed per interval", roles=_STAFF_ROLES,
        body="WfmForecastQuery")},
    "/api/wfm/schedules": {
        "post": operation("Solve shift schedules for a staffing requirement (HiGHS) and store them; every "
                          "queue required and every agent must be in the supervisor's scope",
                          roles=_STAFF_ROLES, body="WfmScheduleCreate", ok=201),
        "get": _answers(operation(
            "Stored schedules, newest first (times shown in the time zone asked for); a supervisor with a scope "
            "sees those covering their queues or shifts of their agents", roles=_STAFF_ROLES,
            params=[query_param("from", format="date-time", description="covering from (with its UTC offset)"),
                    query_param("to", format="date-time", description="covering until (with its UTC offset)"),
                    _LIMIT.spec(), _TIMEZONE], errors=(400,)), WfmScheduleList),
    },
    "/api/wfm/schedules/{schedule_id}": {"get": operation(
        "One stored schedule: shifts with breaks and skills, coverage per interval (for a supervisor with a "
        "scope, the queues and agents in it; 403 when none are)", roles=_STAFF_ROLES,
        params=[_SCHEDULE_ID.spec(), _TIMEZONE], errors=(400, 404))},
    "/api/wfm/adherence": {"get": _answers(operation(
        "Each scheduled agent's adherence today so far (the newest schedule covering the day) and right now: "
        "the activity scheduled now, the state now, in adherence or not, the adherence share and percentage, "
        "the exceptions. Only agents in the supervisor's scope (their teams, or working their queues today); "
        "queue= narrows to the agents scheduled on that queue (403 outside the scope)", roles=_STAFF_ROLES,
        params=[query_param("at", format="date-time", description="the moment asked about (default now)"),
                _TIMEZONE, _GRACE.spec(), query_param("queue", pattern=_QUEUE)], errors=(400,)), WfmAdherence)},
}


# -- staffing --------------------------------------------------------------------------------------------
@routes.post("/api/wfm/staffing")
async def staffing(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    query = WfmStaffingQuery.model_validate(await read_json(request)).root
    items = query.intervals if isinstance(query, WfmStaffingBatch) else [query]
    results = await request.app[WFM].staff(
        user, [_request(item, item.calls, item.interval_minutes, item.aht_seconds) for item in items],
        (item.queue for item in items if item.queue is not None))
    views = [_staff_view(item, result) for item, result in zip(items, results, strict=True)]
    return web.json_response({"intervals": views} if isinstance(query, WfmStaffingBatch) else views[0])


def _staff_view(item: WfmStaffing, result: StaffingResult) -> dict[str, Any]:
    view = _result_view(result)
    if item.queue is not None:
        view = {"queue": item.queue, **view}
    if item.start is not None:
        view = {"start": item.start.isoformat(), **view}
    return view


def _request(targets: WfmTargets, calls: float, interval_minutes: float, aht_seconds: float) -> StaffingRequest:
    return StaffingRequest(
        calls=calls, interval_minutes=interval_minutes, aht_seconds=aht_seconds,
        service_level=targets.service_level, answer_within_seconds=targets.answer_within_seconds,
        asa_seconds=targets.asa_seconds, max_occupancy=targets.max_occupancy, shrinkage=targets.shrinkage,
        patience_seconds=targets.patience_seconds, max_abandon=targets.max_abandon)


def _result_view(result: StaffingResult) -> dict[str, Any]:
    return {"model": result.model, "traffic": result.traffic, "agents": result.agents,
            "scheduled_agents": result.scheduled_agents, **_metrics_view(result.metrics),
            "limited_by": list(result.limited_by)}


def _metrics_view(metrics: QueueMetrics) -> dict[str, Any]:
    return {"service_level": metrics.service_level, "wait_probability": metrics.wait_probability,
            "asa_seconds": _finite(metrics.asa_seconds), "occupancy": metrics.occupancy,
            "abandon_rate": metrics.abandon_rate}


# -- forecast --------------------------------------------------------------------------------------------
@routes.post("/api/wfm/forecast")
async def forecast(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    body = WfmForecastQuery.model_validate(await read_json(request))
    zone = _zone(body.timezone)
    start = datetime(body.start.year, body.start.month, body.start.day, tzinfo=zone)
    staffed = await request.app[WFM].forecast(
        user, body.queue, start, (body.end - body.start).days, interval_minutes=body.interval_minutes,
        horizon_days=body.horizon_days, holdout_days=body.holdout_days,
        targets=None if body.targets is None else _request(body.targets, 0.0, body.interval_minutes, 0.0))
    return web.json_response(_forecast_view(staffed))


def _forecast_view(staffed: StaffedForecast) -> dict[str, Any]:
    result = staffed.forecast
    intervals: list[dict[str, Any]] = [{"start": item.start.isoformat(), "calls": item.calls,
                                        "aht_seconds": item.aht_seconds} for item in result.intervals]
    for view, one in zip(intervals, staffed.staffing or (), strict=False):
        if one is not None:
            view.update(agents=one.agents, scheduled_agents=one.scheduled_agents,
                        service_level=one.metrics.service_level)
    return {
        "queue": result.queue, "interval_minutes": result.interval_minutes, "model": result.model,
        "history_calls": staffed.history_calls, "holdout_days": result.holdout_days,
        "backtest": [{"model": s.model, "wape": _finite(s.wape), "mape": s.mape} for s in result.backtest],
        "aht_wape": result.aht_wape, "intervals": intervals,
    }


# -- schedules -------------------------------------------------------------------------------------------
@routes.post("/api/wfm/schedules")
async def create_schedule(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    body = WfmScheduleCreate.model_validate(await read_json(request))
    stored = await request.app[WFM].create_schedule(
        user, body.name, body.problem(), [ScheduleAgent(a.agent_id, tuple(a.skills)) for a in body.agents])
    return web.json_response(_schedule_view(stored, _offset(body.start)), status=201)


@routes.get("/api/wfm/schedules")
async def list_schedules(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    zone = _zone(request.query.get("timezone", "UTC"))
    low, high = _when(request, "from"), _when(request, "to")
    window = None
    if low is not None or high is not None:
        window = (low or datetime.min.replace(tzinfo=UTC), high or datetime.max.replace(tzinfo=UTC))
    summaries = await request.app[WFM].list_schedules(user, window=window, limit=_LIMIT.read(request, 100))
    return web.json_response({"schedules": [_summary_view(s, zone) for s in summaries]})


@routes.get("/api/wfm/schedules/{schedule_id}")
async def get_schedule(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    zone = _zone(request.query.get("timezone", "UTC"))
    schedule_id = _SCHEDULE_ID.read(request, 0)  # a path parameter: always there
    return web.json_response(_schedule_view(await request.app[WFM].schedule(user, schedule_id), zone))


def _summary_view(summary: ScheduleSummary, zone: tzinfo) -> dict[str, Any]:
    return {"schedule_id": summary.schedule_id, "name": summary.name, "start": _iso(summary.starts_at, zone),
            "end": _iso(summary.ends_at, zone), "interval_minutes": summary.interval_minutes,
            "status": summary.status, "objective": summary.objective, "shift_count": summary.shifts,
            "created_at": _iso(summary.created_at, zone)}


def _schedule_view(stored: StoredSchedule, zone: tzinfo) -> dict[str, Any]:
    schedule: Schedule = stored.schedule
    return {
        **_summary_view(stored.summary, zone),
        "shifts": [_shift_view(s, zone) for s in schedule.shifts],
        "coverage": [{"start": _iso(r.start, zone), "skill": r.skill, "required": r.required,
                      "scheduled": r.scheduled, "under": r.under, "over": r.over} for r in schedule.coverage],
    }


def _shift_view(shift: AgentShift, zone: tzinfo) -> dict[str, Any]:
    return {"agent_id": shift.agent_id, "pattern": shift.pattern, "start": _iso(shift.start, zone),
            "end": _iso(shift.end, zone),
            "activities": [{"start": _iso(a.start, zone), "end": _iso(a.end, zone), "kind": a.kind,
                            "skill": a.skill} for a in shift.activities]}


# -- adherence -------------------------------------------------------------------------------------------


@routes.get("/api/wfm/adherence")
async def get_adherence(request: web.Request) -> web.Response:
    user = require_role(request, *STAFF)
    zone = _zone(request.query.get("timezone", "UTC"))
    now = _when(request, "at") or datetime.now(UTC)
    grace = _GRACE.read(request, 0.0)
    try:
        today = await request.app[WFM].adherence(user, now, zone, grace_seconds=grace,
                                                 queue=request.query.get("queue"))
    except InvalidInput as exc:  # the question's times do not hold together: the query's to fix
        raise web.HTTPBadRequest(reason=str(exc)) from exc
    answer: dict[str, Any] = {"schedule": None if today.schedule is None else _summary_view(today.schedule, zone),
                              "at": _iso(now, zone), "day_start": today.day_start.isoformat(), "agents": []}
    names, teams, queues = today.names or {}, today.teams or {}, today.queues or {}
    answer["agents"] = [_adherence_view(row, names.get(row.agent_id), teams.get(row.agent_id),
                                        list(queues.get(row.agent_id, ())), zone) for row in today.rows]
    return web.json_response(answer)


def _adherence_view(row: AgentAdherence, name: str | None, team: str | None, queues: list[str],
                    zone: tzinfo) -> dict[str, Any]:
    """One agent, as WfmAdherenceAgent describes it."""
    share = row.adherence
    return {
        "agent_id": row.agent_id, "name": name, "team": team, "queues": queues,
        "activity_now": _activity_view(row.activity_now, zone), "expected_now": row.expected_now,
        "state_now": row.state_now, "in_adherence_now": row.in_adherence_now,
        "adherence": share, "adherence_percent": None if share is None else round(share * 100, 1),
        "scheduled_minutes": round(row.scheduled_seconds / 60, 2),
        "in_adherence_minutes": round(row.in_adherence_seconds / 60, 2),
        "out_of_adherence_minutes": round(row.out_of_adherence_seconds / 60, 2),
        "exceptions": [{"start": _iso(e.start, zone), "end": _iso(e.end, zone), "expected": e.expected,
                        "state": e.state} for e in row.exceptions],
    }


def _activity_view(activity: Activity | None, zone: tzinfo) -> dict[str, Any] | None:
    if activity is None:
        return None
    return {"kind": activity.kind, "skill": activity.skill, "start": _iso(activity.start, zone),
            "end": _iso(activity.end, zone)}


# -- helpers ---------------------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise web.HTTPBadRequest(reason=f"unknown time zone {name!r}") from exc


def _when(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise web.HTTPBadRequest(reason=f"{name} must be an ISO 8601 date-time") from exc
    if value.tzinfo is None:
        raise web.HTTPBadRequest(reason=f"{name} needs a UTC offset (e.g. 2024-05-17T09:30:00+07:00)")
    return value


def _iso(value: datetime, zone: tzinfo) -> str:
    return value.astimezone(zone).isoformat()


def _offset(value: datetime) -> tzinfo:
    assert value.tzinfo is not None  # AwareDatetime
    return value.tzinfo


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
