"""Supervisor scopes in the workforce-management API: queues outside a supervisor's scope are refused with 403,
schedules and adherence show only the queues and agents in it; admins and unscoped supervisors see everything.

The same small app as test_wfm_api.py: real auth and error middleware, a real SQLite database, a pure
ContactCenter standing in for the controller. Three schedules of the same Monday:

* A, billing only: budi (team blue) on billing;
* B, sales only: ani (team red) and citra (team blue) on sales;
* C, sales and billing, the newest, so today's schedule for adherence: ani on sales, budi on billing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from cti.acd import ContactCenter
from cti.persistence import AgentRepository, Database, UserRepository
from cti.records import AgentRecord, AgentStateRecord
from cti.web import _wfm, openapi_document
from tests.integration.test_wfm_api import GROUND_TRUTH, MONDAY, serve_wfm

ADMIN = "admin-token-0123456789"
BOSS = "boss-token-0123456789"  # a supervisor without a scope: everything
SUE = "sue-token-0123456789"  # queues: sales
TOM = "tom-token-0123456789"  # teams: red
PAT = "pat-token-0123456789"  # teams: blue
NOBODY = "nobody-token-0123456789"  # a scope with nothing in it
AGENT = "agent-token-0123456789"
DAY = [0] * 8 + [1] * 8 + [0] * 8
PATTERNS = [{"name": "day8", "minutes": 480, "starts": [480],
             "breaks": [{"minutes": 60, "earliest_minutes": 180, "latest_minutes": 240}]}]


@dataclass
class Api:
    client: TestClient
    db: Database
    core: ContactCenter

    async def call(self, method: str, path: str, *, token: str, expect: int = 200, **kwargs: Any) -> Any:
        async with self.client.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                       **kwargs) as response:
            body = await response.json()
            assert response.status == expect, f"{method} {path}: {response.status} {body}"
            return body


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    users, agents = UserRepository(db), AgentRepository(db)
    await users.ensure_user_token("root", "admin", ADMIN)
    for name, token, scope in [("boss", BOSS, None), ("sue", SUE, {"queues": ["sales"], "teams": []}),
                               ("tom", TOM, {"queues": [], "teams": ["red"]}), ("pat", PAT, {"teams": ["blue"]}),
                               ("nobody", NOBODY, {"queues": [], "teams": []})]:
        await users.ensure_user_token(name, "supervisor", token)
        await users.set_user_scope(name, scope)  # before the first request: tokens are cached with their user
    await agents.upsert(AgentRecord("ani", "Ani"))
    await users.ensure_user_token("agent-ani", "agent", AGENT, "ani")
    core = ContactCenter()
    for agent_id, name, team in [("ani", "Ani", "red"), ("budi", "Budi", "blue"), ("citra", "Citra", "blue")]:
        core.add_agent(agent_id, name)
        core.set_profile(agent_id, MONDAY, team=team)
    async with serve_wfm(db, core) as client:
        yield Api(client, db, core)


def plan(name: str, requirements: dict[str, list[int]], agents: list[tuple[str, list[str]]]) -> dict[str, Any]:
    return {"name": name, "start": "2024-04-01T00:00:00+07:00", "interval_minutes": 60,
            "requirements": requirements, "patterns": PATTERNS,
            "agents": [{"agent_id": agent_id, "skills": skills} for agent_id, skills in agents],
            "under_weight": 10.0}


BILLING = plan("A billing", {"billing": DAY}, [("budi", ["billing"])])
SALES = plan("B sales", {"sales": DAY}, [("ani", ["sales"]), ("citra", ["sales"])])
MIXED = plan("C mixed", {"sales": DAY, "billing": DAY}, [("ani", ["sales"]), ("budi", ["billing"])])


class forbidden:  # read as a value: `body == forbidden("...")`
    """A 403 with this message and a scope code (which one, and its params, depend on what was outside)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __eq__(self, body: object) -> bool:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        return (error.get("status"), error.get("message")) == (403, self.message) and error.get("code") in (
            "queue_out_of_scope", "agent_out_of_scope", "schedule_out_of_scope")

    def __repr__(self) -> str:
        return f"forbidden({self.message!r})"


async def schedules(api: Api) -> dict[str, int]:
    """A, B and C stored (B by sue, within her scope), by name."""
    ids = {}
    for body, token in [(BILLING, ADMIN), (SALES, SUE), (MIXED, ADMIN)]:
        ids[body["name"]] = (await api.call("POST", "/api/wfm/schedules", token=token, json=body,
                                            expect=201))["schedule_id"]
    return ids


# -- staffing and forecasts: the queue named ----------------------------------------------------------------

async def test_staffing_an_interval_of_a_queue_outside_the_scope_is_forbidden(api: Api) -> None:
    mine = await api.call("POST", "/api/wfm/staffing", token=SUE, json={**GROUND_TRUTH, "queue": "sales"})
    assert (mine["queue"], mine["agents"]) == ("sales", 14)
    assert await api.call("POST", "/api/wfm/staffing", token=SUE, json={**GROUND_TRUTH, "queue": "billing"},
                          expect=403) == forbidden("queue 'billing' is outside 'sue''s scope")
    # One interval out of scope refuses the whole batch.
    batch = {"intervals": [{**GROUND_TRUTH, "queue": "sales"}, {**GROUND_TRUTH, "queue": "billing"}]}
    assert await api.call("POST", "/api/wfm/staffing", token=SUE, json=batch, expect=403) == forbidden(
        "queue 'billing' is outside 'sue''s scope")
    # No queue named: a plain Erlang calculation, which reads no data.
    assert (await api.call("POST", "/api/wfm/staffing", token=SUE, json=GROUND_TRUTH))["agents"] == 14
    assert "queue" not in await api.call("POST", "/api/wfm/staffing", token=SUE, json=GROUND_TRUTH)
    # A team-only scope has no queue at all.
    await api.call("POST", "/api/wfm/staffing", token=TOM, json={**GROUND_TRUTH, "queue": "sales"}, expect=403)
    for token in (ADMIN, BOSS):
        rows = (await api.call("POST", "/api/wfm/staffing", token=token, json=batch))["intervals"]
        assert [(r["queue"], r["agents"]) for r in rows] == [("sales", 14), ("billing", 14)]
    await api.call("POST", "/api/wfm/staffing", token=AGENT, json=GROUND_TRUTH, expect=403)


async def test_forecasting_a_queue_outside_the_scope_is_forbidden(api: Api) -> None:
    query = {"queue": "billing", "start": "2024-04-01", "end": "2024-04-22", "timezone": "Asia/Jakarta"}
    assert await api.call("POST", "/api/wfm/forecast", token=SUE, json=query, expect=403) == forbidden(
        "queue 'billing' is outside 'sue''s scope")
    await api.call("POST", "/api/wfm/forecast", token=TOM, json={**query, "queue": "sales"}, expect=403)
    # Inside the scope the forecast runs (and finds no history here).
    empty = await api.call("POST", "/api/wfm/forecast", token=SUE, json={**query, "queue": "sales"}, expect=422)
    assert empty["error"]["message"] == "queue 'sales' has no interactions in that range"
    for token in (ADMIN, BOSS):
        await api.call("POST", "/api/wfm/forecast", token=token, json=query, expect=422)
    await api.call("POST", "/api/wfm/forecast", token=AGENT, json=query, expect=403)


# -- schedules ------------------------------------------------------------------------------------------------

async def test_scheduling_needs_every_queue_and_agent_in_the_scope(api: Api) -> None:
    assert await api.call("POST", "/api/wfm/schedules", token=SUE, json=MIXED, expect=403) == forbidden(
        "queue 'billing' is outside 'sue''s scope")
    # budi is of team blue and qualified for billing only: not sue's, though the queue required is.
    stray = plan("stray", {"sales": DAY}, [("ani", ["sales"]), ("budi", ["billing"])])
    assert await api.call("POST", "/api/wfm/schedules", token=SUE, json=stray, expect=403) == forbidden(
        "agent 'budi' is outside 'sue''s scope")
    # tom sees team red (ani) but no queue: he cannot require one.
    assert await api.call("POST", "/api/wfm/schedules", token=TOM, json=plan("red", {"sales": DAY},
                                                                          [("ani", ["sales"])]),
                          expect=403) == forbidden("queue 'sales' is outside 'tom''s scope")
    created = await api.call("POST", "/api/wfm/schedules", token=SUE, json=SALES, expect=201)
    assert sorted(s["agent_id"] for s in created["shifts"]) == ["ani", "citra"]
    assert {row["skill"] for row in created["coverage"]} == {"sales"}
    await api.call("POST", "/api/wfm/schedules", token=AGENT, json=SALES, expect=403)


async def test_schedule_lists_show_what_is_in_the_scope(api: Api) -> None:
    await schedules(api)

    async def listed(token: str) -> list[tuple[str, int]]:
        answer = await api.call("GET", "/api/wfm/schedules", token=token)
        return [(s["name"], s["shift_count"]) for s in answer["schedules"]]

    everything = [("C mixed", 2), ("B sales", 2), ("A billing", 1)]
    assert await listed(ADMIN) == everything
    assert await listed(BOSS) == everything
    # sue: the sales coverage of C and B, and the shifts on sales (budi works billing in C).
    assert await listed(SUE) == [("C mixed", 1), ("B sales", 2)]
    assert await listed(TOM) == [("C mixed", 1), ("B sales", 1)]  # ani, team red
    assert await listed(PAT) == [("C mixed", 1), ("B sales", 1), ("A billing", 1)]  # budi, citra: team blue
    assert await listed(NOBODY) == []
    # The limit counts what the supervisor sees, not what the database holds.
    answer = await api.call("GET", "/api/wfm/schedules", token=PAT, params={"limit": "2"})
    assert [s["name"] for s in answer["schedules"]] == ["C mixed", "B sales"]
    await api.call("GET", "/api/wfm/schedules", token=AGENT, expect=403)


async def test_one_schedule_is_cut_to_the_scope(api: Api) -> None:
    ids = await schedules(api)
    path = f"/api/wfm/schedules/{ids['C mixed']}"

    def seen(answer: dict[str, Any]) -> tuple[list[str], list[str], int]:
        return (sorted({row["skill"] for row in answer["coverage"]}), [s["agent_id"] for s in answer["shifts"]],
                answer["shift_count"])

    assert seen(await api.call("GET", path, token=ADMIN)) == (["billing", "sales"], ["ani", "budi"], 2)
    assert seen(await api.call("GET", path, token=BOSS)) == (["billing", "sales"], ["ani", "budi"], 2)
    assert seen(await api.call("GET", path, token=SUE)) == (["sales"], ["ani"], 1)
    assert seen(await api.call("GET", path, token=TOM)) == ([], ["ani"], 1)
    assert seen(await api.call("GET", path, token=PAT)) == ([], ["budi"], 1)
    billing = ids["A billing"]
    assert await api.call("GET", f"/api/wfm/schedules/{billing}", token=SUE, expect=403) == forbidden(
        f"schedule {billing} is outside 'sue''s scope")
    await api.call("GET", f"/api/wfm/schedules/{billing}", token=TOM, expect=403)
    await api.call("GET", path, token=NOBODY, expect=403)
    await api.call("GET", "/api/wfm/schedules/999", token=SUE, expect=404)
    await api.call("GET", path, token=AGENT, expect=403)


# -- adherence ------------------------------------------------------------------------------------------------

async def test_adherence_lists_the_agents_in_the_scope(api: Api) -> None:
    states = AgentRepository(api.db)
    ids = await schedules(api)
    for agent_id, hour in [("ani", 8), ("budi", 9)]:
        await states.record_state(AgentStateRecord(agent_id, "ready", None, "1001",
                                                   MONDAY + timedelta(hours=hour)))
    at = {"at": "2024-04-01T10:00:00+07:00", "timezone": "Asia/Jakarta"}

    async def agents(token: str, **query: str) -> list[str]:
        answer = await api.call("GET", "/api/wfm/adherence", token=token, params={**at, **query})
        return [row["agent_id"] for row in answer["agents"]]

    assert await agents(ADMIN) == ["ani", "budi"]
    assert await agents(BOSS) == ["ani", "budi"]
    assert await agents(SUE) == ["ani"]  # on sales today
    assert await agents(TOM) == ["ani"]  # team red
    assert await agents(PAT) == ["budi"]  # team blue (citra is not in today's schedule, C)
    assert await agents(ADMIN, queue="billing") == ["budi"]
    assert await agents(SUE, queue="sales") == ["ani"]
    await api.call("GET", "/api/wfm/adherence", token=PAT, params={**at, "queue": "sales"}, expect=403)  # teams only
    assert await api.call("GET", "/api/wfm/adherence", token=SUE, params={**at, "queue": "billing"},
                          expect=403) == forbidden("queue 'billing' is outside 'sue''s scope")
    nothing = await api.call("GET", "/api/wfm/adherence", token=NOBODY, params=at)
    assert nothing == {"schedule": None, "at": "2024-04-01T10:00:00+07:00",
                       "day_start": "2024-04-01T00:00:00+07:00", "agents": []}
    mine = await api.call("GET", "/api/wfm/adherence", token=SUE, params=at)
    assert (mine["schedule"]["schedule_id"], mine["schedule"]["name"], mine["schedule"]["shift_count"]) == (
        ids["C mixed"], "C mixed", 1)
    await api.call("GET", "/api/wfm/adherence", token=AGENT, params=at, expect=403)


async def test_adherence_of_an_agent_for_the_dashboard(api: Api) -> None:
    """Everything the supervisor dashboard shows per agent, exactly: who, what the schedule says now, what the
    agent does now, whether that adheres, and the share of the day so far."""
    states = AgentRepository(api.db)
    await schedules(api)
    await states.record_state(AgentStateRecord("budi", "ready", None, "1002", MONDAY + timedelta(hours=9)))
    await states.record_state(AgentStateRecord("ani", "ready", None, "1001", MONDAY + timedelta(hours=8)))
    await states.record_state(AgentStateRecord("ani", "not_ready", "coffee", "1001",
                                               MONDAY + timedelta(hours=9, minutes=30)))
    answer = await api.call("GET", "/api/wfm/adherence", token=ADMIN,
                            params={"at": "2024-04-01T10:00:00+07:00", "timezone": "Asia/Jakarta"})
    rows = {row["agent_id"]: row for row in answer["agents"]}
    # Both shifts 08:00-16:00 with the lunch at 11:00 or 12:00: at 10:00 both are due at work.
    assert rows["ani"] == {
        "agent_id": "ani", "name": "Ani", "team": "red", "queues": ["sales"],
        "activity_now": {"kind": "work", "skill": "sales", "start": "2024-04-01T08:00:00+07:00",
                         "end": rows["ani"]["activity_now"]["end"]},
        "expected_now": "work", "state_now": "not_ready", "in_adherence_now": False,
        "adherence": 0.75, "adherence_percent": 75.0,
        "scheduled_minutes": 120.0, "in_adherence_minutes": 90.0, "out_of_adherence_minutes": 30.0,
        "exceptions": [{"start": "2024-04-01T09:30:00+07:00", "end": "2024-04-01T10:00:00+07:00",
                        "expected": "work", "state": "not_ready"}],
    }
    assert rows["ani"]["activity_now"]["end"] in ("2024-04-01T11:00:00+07:00", "2024-04-01T12:00:00+07:00")
    budi = rows["budi"]
    assert (budi["name"], budi["team"], budi["queues"], budi["activity_now"]["kind"], budi["activity_now"]["skill"],
            budi["state_now"], budi["in_adherence_now"], budi["adherence"], budi["adherence_percent"],
            budi["out_of_adherence_minutes"]) == ("Budi", "blue", ["billing"], "work", "billing", "ready", True,
                                                  0.5, 50.0, 60.0)  # logged out 08:00-09:00
    # An agent the call center does not know has no name or team (here: a schedule for "dewi").
    await api.call("POST", "/api/wfm/schedules", token=ADMIN, expect=201,
                   json=plan("D unknown", {"sales": DAY}, [("dewi", ["sales"])]))
    later = await api.call("GET", "/api/wfm/adherence", token=ADMIN,
                           params={"at": "2024-04-01T17:00:00+07:00", "timezone": "Asia/Jakarta"})
    assert [(r["agent_id"], r["name"], r["team"], r["activity_now"], r["expected_now"], r["state_now"],
             r["in_adherence_now"], r["adherence_percent"]) for r in later["agents"]] == [
        ("dewi", None, None, None, "off", "logged_out", None, 12.5)]  # logged out: in adherence at lunch only


def test_the_adherence_answer_is_described_in_openapi() -> None:
    document = openapi_document((_wfm,))
    ok = document["paths"]["/api/wfm/adherence"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WfmAdherence"}
    components = document["components"]["schemas"]
    assert set(components["WfmAdherence"]["properties"]) == {"schedule", "at", "day_start", "agents"}
    assert set(components["WfmAdherenceAgent"]["properties"]) == {
        "agent_id", "name", "team", "queues", "activity_now", "expected_now", "state_now", "in_adherence_now",
        "adherence", "adherence_percent", "scheduled_minutes", "in_adherence_minutes", "out_of_adherence_minutes",
        "exceptions"}
    assert set(components["WfmActivityNow"]["properties"]) == {"kind", "skill", "start", "end"}
    assert "queue" in [p["name"] for p in document["paths"]["/api/wfm/adherence"]["get"]["parameters"]]
    listed = document["paths"]["/api/wfm/schedules"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WfmScheduleList"}
