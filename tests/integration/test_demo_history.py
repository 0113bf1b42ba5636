"""The demo's generated history in a real SQLite database: seeded once, and enough for the WFM API to forecast
from on a first run (non-zero calls, a sane backtest error)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cti.acd import ContactCenter
from cti.persistence import AgentRepository, Database, InteractionRepository, UserRepository
from cti.persistence._tables import AgentStateRow, InteractionRow
from cti.sim import generate
from cti.sim._demo import AGENT_PROFILES
from cti.sim._demo_seed import HISTORY_DAYS, history_agents, history_callers, seed_history, seed_schedule
from tests.integration.test_wfm_api import BOSS, serve_wfm

JAKARTA = ZoneInfo("Asia/Jakarta")
TODAY = date(2026, 11, 20)  # a Friday
EXTENSIONS = [str(7001 + n) for n in range(len(AGENT_PROFILES))]


async def counts(db: Database) -> tuple[int, int]:
    async with db.transaction("count") as session:
        calls = await session.scalar(select(func.count()).select_from(InteractionRow))
        states = await session.scalar(select(func.count()).select_from(AgentStateRow))
    return int(calls or 0), int(states or 0)


async def test_history_is_seeded_once_and_forecasts_the_next_day(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("boss", "supervisor", BOSS)
    callers = history_callers(generate(now=datetime.combine(TODAY, time(8), tzinfo=UTC), customers=200))
    agents = history_agents(AGENT_PROFILES, EXTENSIONS)
    first = await seed_history(db, today=TODAY, zone=JAKARTA, agents=agents, callers=callers)
    assert first.days == HISTORY_DAYS and 30_000 < first.calls < 60_000
    stored = await counts(db)
    again = await seed_history(db, today=TODAY, zone=JAKARTA, agents=agents, callers=callers)
    assert (again.days, again.calls) == (0, 0) and await counts(db) == stored  # nothing twice
    # A day later, only the day since is added.
    later = await seed_history(db, today=TODAY + timedelta(days=1), zone=JAKARTA, agents=agents, callers=callers)
    assert later.days == 1 and 300 < later.calls < 1500

    recent = await InteractionRepository(db).list(limit=50)
    assert all(r.outcome in ("answered", "abandoned", "rejected") for r in recent)
    assert any(r.customer_id for r in recent) and any(r.customer_id is None for r in recent)
    yesterday = datetime.combine(TODAY - timedelta(days=1), time(), tzinfo=JAKARTA)
    states = await AgentRepository(db).states_between(yesterday, yesterday + timedelta(days=1))
    assert {s.state for s in states} == {"ready", "not_ready", "logged_out"}

    async with serve_wfm(db, ContactCenter()) as client:
        body = {"queue": "care", "start": str(TODAY - timedelta(days=HISTORY_DAYS)), "end": str(TODAY),
                "timezone": "Asia/Jakarta", "interval_minutes": 30, "horizon_days": 1,
                "targets": {"service_level": 0.8, "answer_within_seconds": 20}}
        async with client.post("/api/wfm/forecast", json=body,
                               headers={"Authorization": f"Bearer {BOSS}"}) as response:
            forecast = await response.json()
            assert response.status == 200, forecast
    assert forecast["history_calls"] > 25_000
    best = forecast["backtest"][0]
    assert best["wape"] < 0.3, forecast["backtest"]  # measured 0.2 at 30-minute intervals
    day = forecast["intervals"]
    assert len(day) == 48 and day[0]["start"].startswith(str(TODAY))
    calls = [interval["calls"] for interval in day]
    assert 400 < sum(calls) < 1000  # a Friday: about 700 care calls
    peak = max(range(48), key=calls.__getitem__)
    assert 16 <= peak <= 33  # between 08:00 and 17:00
    assert max(interval.get("agents", 0) for interval in day) >= 3
    assert sum(calls[:10]) < 0.05 * sum(calls)  # quiet until 05:00


async def test_todays_schedule_is_solved_from_the_history_once(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    await db.upgrade()
    try:
        callers = history_callers(generate(now=datetime.combine(TODAY, time(8), tzinfo=UTC), customers=100))
        agents = history_agents(AGENT_PROFILES, EXTENSIONS)
        await seed_history(db, today=TODAY, zone=JAKARTA, agents=agents, callers=callers)
        stored = await seed_schedule(db, today=TODAY, zone=JAKARTA, agents=agents)
        assert stored is not None and stored.summary.starts_at == datetime.combine(TODAY, time(), tzinfo=JAKARTA)
        schedule = stored.schedule
        assert 8 <= len(schedule.shifts) <= len(agents)
        required = {row.skill: 0 for row in schedule.coverage}
        for row in schedule.coverage:
            required[row.skill] = max(required[row.skill], row.required)
        assert set(required) == {"care", "billing"} and required["care"] >= 4 and required["billing"] >= 2
        peak = [row for row in schedule.coverage if row.skill == "care" and row.start.astimezone(JAKARTA).hour == 10]
        assert all(row.scheduled >= 1 for row in peak)
        assert await seed_schedule(db, today=TODAY, zone=JAKARTA, agents=agents) is None  # today's is there
    finally:
        await db.close()
