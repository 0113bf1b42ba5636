"""The workforce-management HTTP module on a small app: real auth and error middleware, a real SQLite database,
and a pure ContactCenter standing in for the controller (no Asterisk, no Redis)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import ContactCenter
from cti.persistence import AgentRepository, Database, UserRepository
from cti.persistence._tables import InteractionRow
from cti.records import AgentRecord, AgentStateRecord
from cti.web import _wfm, openapi_document
from cti.wfm import SyntheticPattern, synthetic_history
from tests.api import api_app

JAKARTA = ZoneInfo("Asia/Jakarta")
WIB = timezone(timedelta(hours=7))
MONDAY = datetime(2024, 4, 1, tzinfo=WIB)
BOSS = "boss-token-0123456789"
AGENT = "agent-token-0123456789"


@dataclass
class Api:
    client: TestClient
    db: Database
    core: ContactCenter

    async def call(self, method: str, path: str, *, token: str | None = BOSS, expect: int = 200,
                   **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json()
            assert response.status == expect, f"{method} {path}: {response.status} {body}"
            return body


@contextlib.asynccontextmanager
async def serve_wfm(db: Database, core: ContactCenter) -> AsyncIterator[TestClient]:
    """The WFM routes on a test server, with the real auth and error middlewares; closes ``db`` after."""
    app, _ = api_app(db, [_wfm], core=core)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
        await db.close()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users, agents = UserRepository(db), AgentRepository(db)
    await users.ensure_user_token("boss", "supervisor", BOSS)
    await agents.upsert(AgentRecord("ani", "Ani"))
    await users.ensure_user_token("agent-ani", "agent", AGENT, "ani")
    core = ContactCenter()
    async with serve_wfm(db, core) as client:
        yield Api(client, db, core)


GROUND_TRUTH = {"calls": 100, "interval_minutes": 30, "aht_seconds": 180, "service_level": 0.8,
                "answer_within_seconds": 20}


async def test_staffing_one_interval(api: Api) -> None:
    body = await api.call("POST", "/api/wfm/staffing", json={**GROUND_TRUTH, "shrinkage": 0.3})
    assert {k: body[k] for k in ("model", "traffic", "agents", "scheduled_agents", "limited_by", "abandon_rate")} \
        == {"model": "erlang_c", "traffic": 10.0, "agents": 14, "scheduled_agents": 20,
            "limited_by": ["service_level"], "abandon_rate": None}
    assert (round(body["service_level"], 4), round(body["wait_probability"], 4), round(body["asa_seconds"], 2),
            round(body["occupancy"], 3)) == (0.8884, 0.1741, 7.84, 0.714)


async def test_staffing_many_intervals_with_erlang_a(api: Api) -> None:
    intervals = [{**GROUND_TRUTH, "start": "2024-04-01T08:00:00+07:00"},
                 {**GROUND_TRUTH, "calls": 100, "patience_seconds": 30, "max_abandon": 0.3, "service_level": None,
                  "start": "2024-04-01T08:30:00+07:00"}]
    body = await api.call("POST", "/api/wfm/staffing", json={"intervals": intervals})
    rows = body["intervals"]
    assert [(r["start"], r["model"], r["agents"]) for r in rows] == [
        ("2024-04-01T08:00:00+07:00", "erlang_c", 14), ("2024-04-01T08:30:00+07:00", "erlang_a", 8)]
    assert rows[1]["abandon_rate"] <= 0.3


async def test_staffing_errors(api: Api) -> None:
    bad = await api.call("POST", "/api/wfm/staffing", json={**GROUND_TRUTH, "service_level": 1.5}, expect=422)
    assert bad["error"]["status"] == 422
    assert any(d["field"].endswith("service_level") for d in bad["error"]["details"])
    unknown = await api.call("POST", "/api/wfm/staffing", json={**GROUND_TRUTH, "colour": "red"}, expect=422)
    assert unknown["error"]["message"] == "request body is invalid"
    core = await api.call("POST", "/api/wfm/staffing", json={**GROUND_TRUTH, "max_abandon": 0.1}, expect=422)
    assert core["error"]["message"] == "max_abandon needs patience_seconds (Erlang A): Erlang C callers never abandon"
    await api.call("POST", "/api/wfm/staffing", data="{", expect=400)
    await api.call("POST", "/api/wfm/staffing", expect=400)
    await api.call("POST", "/api/wfm/staffing", json=GROUND_TRUTH, token=None, expect=401)
    await api.call("POST", "/api/wfm/staffing", json=GROUND_TRUTH, token=AGENT, expect=403)
    await api.call("GET", "/api/wfm/schedules", token=AGENT, expect=403)
    await api.call("GET", "/api/wfm/adherence", token=AGENT, expect=403)


async def test_forecast_from_stored_interactions(api: Api) -> None:
    pattern = SyntheticPattern(calls_per_day=300)
    history = synthetic_history(pattern, queue="sales", start=MONDAY, days=21, seed=5)
    async with api.db.transaction("seed interactions") as session:
        session.add_all(InteractionRow(
            call_id=f"c{i}", channel_id=f"ch{i}", caller_number="+628123", service_number="1500100",
            queue=s.queue, arrived_at=s.arrived_at, outcome="abandoned" if s.handle_seconds is None else "answered",
            talk_seconds=s.handle_seconds, offers=1) for i, s in enumerate(history))
    query = {"queue": "sales", "start": "2024-04-01", "end": "2024-04-22", "timezone": "Asia/Jakarta",
             "interval_minutes": 60, "horizon_days": 2, "holdout_days": 7,
             "targets": {"service_level": 0.8, "answer_within_seconds": 20, "shrinkage": 0.3}}
    body = await api.call("POST", "/api/wfm/forecast", json=query)
    assert (body["queue"], body["interval_minutes"], body["history_calls"], body["holdout_days"]) == (
        "sales", 60, len(history), 7)
    assert body["model"] == body["backtest"][0]["model"]
    assert sorted(b["model"] for b in body["backtest"]) == ["daily_profile", "holt_winters", "seasonal_naive"]
    assert all(0 < b["wape"] < 0.5 and b["mape"] > 0 for b in body["backtest"])
    intervals = body["intervals"]
    assert len(intervals) == 48
    assert intervals[0]["start"] == "2024-04-22T00:00:00+07:00"
    assert intervals[10]["calls"] > 10 and intervals[10]["agents"] >= 1
    assert intervals[10]["scheduled_agents"] >= intervals[10]["agents"]
    assert intervals[2]["calls"] < 1  # 02:00 has no calls in the pattern
    empty = await api.call("POST", "/api/wfm/forecast", json={**query, "queue": "billing"}, expect=422)
    assert empty["error"]["message"] == "queue 'billing' has no interactions in that range"
    short = await api.call("POST", "/api/wfm/forecast", json={**query, "end": "2024-04-05"}, expect=422)
    assert "at least 14 are needed" in short["error"]["message"]
    await api.call("POST", "/api/wfm/forecast", json={**query, "timezone": "Mars/Base"}, expect=400)
    await api.call("POST", "/api/wfm/forecast", json={**query, "end": "2024-03-01"}, expect=422)


def schedule_body(day: str = "2024-04-01") -> dict[str, Any]:
    return {
        "name": f"plan {day}", "start": f"{day}T00:00:00+07:00", "interval_minutes": 60,
        "requirements": {"sales": [0] * 8 + [1] * 8 + [0] * 8},
        "patterns": [{"name": "day8", "minutes": 480, "starts": [480],
                      "breaks": [{"minutes": 60, "earliest_minutes": 180, "latest_minutes": 240}]}],
        "agents": [{"agent_id": "ani", "skills": ["sales"]}, {"agent_id": "budi", "skills": ["sales"]}],
        "under_weight": 10.0,
    }


async def test_schedules_are_solved_stored_and_listed(api: Api) -> None:
    created = await api.call("POST", "/api/wfm/schedules", json=schedule_body(), expect=201)
    assert (created["name"], created["status"], created["interval_minutes"], created["shift_count"]) == (
        "plan 2024-04-01", "optimal", 60, 2)
    assert created["start"] == "2024-04-01T00:00:00+07:00"
    assert sorted(s["agent_id"] for s in created["shifts"]) == ["ani", "budi"]
    # Two agents, one lunch each: the lunches are staggered so one of them always covers sales.
    assert created["objective"] == 6.0
    coverage = [(c["required"], c["scheduled"]) for c in created["coverage"]]
    assert coverage[8:16] == [(1, 2), (1, 2), (1, 2), (1, 1), (1, 1), (1, 2), (1, 2), (1, 2)]
    lunches = sorted(a["start"] for s in created["shifts"] for a in s["activities"] if a["kind"] == "break")
    assert lunches == ["2024-04-01T11:00:00+07:00", "2024-04-01T12:00:00+07:00"]
    path = f"/api/wfm/schedules/{created['schedule_id']}"
    assert await api.call("GET", path, params={"timezone": "Asia/Jakarta"}) == created
    in_utc = await api.call("GET", path)  # shown in UTC unless a time zone is asked for
    assert (in_utc["start"], in_utc["shifts"][0]["start"]) == ("2024-03-31T17:00:00+00:00",
                                                               "2024-04-01T01:00:00+00:00")
    await api.call("POST", "/api/wfm/schedules", json=schedule_body("2024-04-02"), expect=201)
    listed = await api.call("GET", "/api/wfm/schedules")
    assert [s["name"] for s in listed["schedules"]] == ["plan 2024-04-02", "plan 2024-04-01"]
    monday = await api.call("GET", "/api/wfm/schedules", params={"from": "2024-04-01T00:00:00+07:00",
                                                                 "to": "2024-04-02T00:00:00+07:00"})
    assert [s["name"] for s in monday["schedules"]] == ["plan 2024-04-01"]
    await api.call("GET", "/api/wfm/schedules/999", expect=404)
    await api.call("GET", "/api/wfm/schedules/abc", expect=404)
    await api.call("GET", "/api/wfm/schedules", params={"limit": "0"}, expect=400)
    await api.call("GET", "/api/wfm/schedules", params={"from": "yesterday"}, expect=400)
    await api.call("POST", "/api/wfm/schedules", json={**schedule_body(), "start": "2024-04-01T06:00:00+07:00"},
                   expect=422)
    refused = await api.call("POST", "/api/wfm/schedules",
                             json={**schedule_body(), "requirements": {"sales": [1] * 23}}, expect=422)
    assert "whole days" in refused["error"]["message"]


async def test_adherence_today_from_history_and_live_state(api: Api) -> None:
    states = AgentRepository(api.db)
    created = await api.call("POST", "/api/wfm/schedules", json=schedule_body(), expect=201)
    shifts = {s["agent_id"]: s for s in created["shifts"]}
    assert shifts["ani"]["start"] == "2024-04-01T08:00:00+07:00"
    for state, hour, minute in [("ready", 8, 10), ("not_ready", 11, 0), ("ready", 12, 0)]:
        await states.record_state(AgentStateRecord("ani", state, None, "1001",
                                                   MONDAY + timedelta(hours=hour, minutes=minute)))
    # budi has no stored history yet, but is live: ready since 08:00 in the core.
    api.core.add_agent("budi", "Budi")
    api.core.login("budi", "1002", MONDAY + timedelta(hours=8), ready=True)
    at = "2024-04-01T13:00:00+07:00"
    body = await api.call("GET", "/api/wfm/adherence", params={"at": at, "timezone": "Asia/Jakarta"})
    assert body["schedule"]["schedule_id"] == created["schedule_id"]
    assert body["at"] == at
    rows = {r["agent_id"]: r for r in body["agents"]}
    ani_lunch = next(a for a in shifts["ani"]["activities"] if a["kind"] == "break")["start"]
    ani = rows["ani"]
    assert ani["scheduled_minutes"] == 300.0
    # 10 minutes late; the lunch was at 11:00 or 12:00, and ani was not ready 11:00-12:00.
    expected_out = 10.0 if ani_lunch == "2024-04-01T11:00:00+07:00" else 10.0 + 60.0 + 60.0
    assert ani["out_of_adherence_minutes"] == expected_out
    assert ani["in_adherence_minutes"] == 300.0 - expected_out
    assert ani["exceptions"][0] == {"start": "2024-04-01T08:00:00+07:00", "end": "2024-04-01T08:10:00+07:00",
                                    "expected": "work", "state": "logged_out"}
    budi = rows["budi"]
    assert (budi["name"], budi["state_now"]) == ("Budi", "ready")
    assert budi["out_of_adherence_minutes"] == 60.0  # worked through the lunch hour
    assert budi["adherence"] == pytest.approx(240 / 300)
    assert budi["expected_now"] in ("work", "break")
    elsewhere = await api.call("GET", "/api/wfm/adherence", params={"at": "2024-04-05T10:00:00+07:00"})
    assert elsewhere == {"schedule": None, "at": "2024-04-05T03:00:00+00:00",
                         "day_start": "2024-04-05T00:00:00+00:00", "agents": []}
    await api.call("GET", "/api/wfm/adherence", params={"at": "2024-04-01T13:00:00"}, expect=400)
    await api.call("GET", "/api/wfm/adherence", params={"grace_seconds": "-3"}, expect=400)
    now = await api.call("GET", "/api/wfm/adherence")
    assert datetime.fromisoformat(now["at"]) <= datetime.now(UTC)


@pytest.mark.parametrize(("change", "field", "problem"), [
    # The fuzzer's 500: an OverflowError in the Erlang code.
    ({"aht_seconds": 5e-324}, "WfmStaffing.aht_seconds", "Input should be greater than or equal to 1"),
    ({"interval_minutes": 5e-324}, "WfmStaffing.interval_minutes", "Input should be greater than or equal to 1"),
    ({"max_occupancy": 5e-324}, "WfmStaffing.max_occupancy", "Input should be greater than or equal to 0.01"),
    ({"patience_seconds": 0.5}, "WfmStaffing.patience_seconds", "Input should be greater than or equal to 1"),
    ({"asa_seconds": 86401}, "WfmStaffing.asa_seconds", "Input should be less than or equal to 86400"),
])
async def test_staffing_numbers_outside_their_ranges_are_refused(api: Api, change: dict[str, Any], field: str,
                                                                  problem: str) -> None:
    body = await api.call("POST", "/api/wfm/staffing", json={**GROUND_TRUTH, **change}, expect=422)
    code = "less_than_equal" if "less than" in problem else "greater_than_equal"  # pydantic's error types
    assert {"field": field, "code": code, "problem": problem} in body["error"]["details"]


async def test_staffing_more_traffic_than_any_contact_center_is_refused(api: Api) -> None:
    # Every number within its range, their product not: 1.44 billion Erlangs would take Erlang A minutes.
    huge = {**GROUND_TRUTH, "calls": 1_000_000, "aht_seconds": 86400, "interval_minutes": 1}
    for body in (huge, {**huge, "patience_seconds": 60}, {"intervals": [GROUND_TRUTH, huge]}):
        refused = await api.call("POST", "/api/wfm/staffing", json=body, expect=422)
        assert refused["error"]["message"] == ("calls x aht_seconds / interval is 1.44e+09 Erlangs, more than the "
                                               "100,000 cti staffs; split the queue or check the units")


async def test_query_and_path_numbers_outside_their_ranges(api: Api) -> None:
    for grace in ("9" * 5000, "1e400", "nan", "86401", "-0.5"):
        refused = await api.call("GET", "/api/wfm/adherence", params={"grace_seconds": grace}, expect=400)
        assert refused["error"]["message"] == "grace_seconds must be a number from 0 to 86400"
    await api.call("GET", "/api/wfm/adherence", params={"grace_seconds": "86400"})
    for limit in ("0", "1001", "9" * 5000):
        refused = await api.call("GET", "/api/wfm/schedules", params={"limit": limit}, expect=400)
        assert refused["error"]["message"] == "limit must be an integer from 1 to 1000"
    missing = await api.call("GET", "/api/wfm/schedules/" + "9" * 40, expect=404)
    assert missing["error"]["message"] == "no schedule '999999999999999999999999...'"
    missing = await api.call("GET", "/api/wfm/schedules/2147483647", expect=404)
    assert missing["error"]["message"] == "no schedule '2147483647'"


def test_every_route_is_described_in_openapi() -> None:
    described = {(path, method.upper()) for path, ops in _wfm.openapi_paths.items() for method in ops}
    routes = {(r.path, r.method) for r in _wfm.routes if isinstance(r, web.RouteDef)}
    assert routes == described
    document = openapi_document((_wfm,))
    components = document["components"]["schemas"]
    for name in ("WfmStaffingQuery", "WfmStaffing", "WfmStaffingBatch", "WfmForecastQuery", "WfmScheduleCreate",
                 "WfmShiftPattern", "WfmBreakRule", "WfmScheduleAgent", "WfmTargets"):
        assert name in components, name
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', str(document).replace("'", '"')))
    assert refs <= set(components)
