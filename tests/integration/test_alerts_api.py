"""Supervisor alerts over HTTP and in the store, on real SQLite and PostgreSQL: a supervisor sets thresholds
on their own queue only, bad thresholds are refused with a clear error, the monitor raises and clears from the
live statistics (calls waiting, fed as the call path feeds them), stores the history and pushes an ``alert``
frame to the dashboards that see the queue. Real calls driving a queue over a threshold:
tests/e2e/test_alerts.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import ContactCenter, Outcome, Rules, WorkChanged, WorkItem, WorkState
from cti.persistence import AlertRepository, Database, UserRepository
from cti.services import AlertMonitor, StatsFeed, dashboard_topic, scope_of
from cti.stats import AlertChange, AlertMetric, AlertThreshold
from cti.web import ALERTS, STATS, _alerts
from tests.api import api_app
from tests.support import migrated_database

Client = TestClient[web.Request, web.Application]
TOKENS = {"agent": "agent-token-0123456789", "supervisor": "supervisor-token-0123456789",
          "admin": "admin-token-0123456789"}
RULES = Rules.model_validate({
    "default_queue": "care",
    "queues": {"care": {"skills": {"care": 1}}, "sales": {"skills": {"sales": 1}}},
    "routes": [{"name": "all", "queue": "care"}],
})
T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Topics:
    """The hub's side the feed publishes to: every frame kept, one dashboard subscribed per scope key."""

    def __init__(self, *watched: str) -> None:
        self.watched = set(watched)
        self.frames: list[tuple[str, str, Any]] = []
        self.notified: list[tuple[str, str, dict[str, Any]]] = []  # the monitor's events for webhooks

    def publish(self, name: str, type_: str, data: Any) -> None:
        self.frames.append((name, type_, data))

    def publish_json(self, name: str, type_: str, data_json: str) -> None:
        self.frames.append((name, type_, data_json))

    def subscribers(self, name: str) -> int:
        return int(name in self.watched)


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def test_the_store_keeps_thresholds_per_queue_and_the_history_of_alerts(db: Database) -> None:
    store = AlertRepository(db)
    waiting = AlertThreshold("care", AlertMetric.WAITING, raise_at=3, clear_at=1)
    idle = AlertThreshold("care", AlertMetric.AGENT_STATE_SECONDS, raise_at=600, clear_at=0, state="not_ready")
    await store.replace_thresholds("care", [waiting, idle], by="sue")
    await store.replace_thresholds("sales", [AlertThreshold("sales", AlertMetric.SERVICE_LEVEL, 0.8, 0.9)], by="adm")
    assert await store.thresholds(["care"]) == [idle, waiting]  # by key: care:voice:agent_state... first
    await store.replace_thresholds("care", [waiting], by="sue")
    assert [t.queue for t in await store.thresholds()] == ["care", "sales"]
    raised = AlertChange(waiting, "care", 3.0, T0)
    first = await store.raised(raised)
    await store.cleared(AlertChange(waiting, "care", 1.0, T0, T0 + timedelta(minutes=2)))
    second = await store.raised(AlertChange(waiting, "care", 4.0, T0 + timedelta(minutes=5)))
    [latest, earlier] = await store.history(queues=["care"])
    assert (latest.alert_id, latest.value, latest.cleared_at) == (second, 4.0, None)
    assert (earlier.alert_id, earlier.value, earlier.cleared_value, earlier.cleared_at) == (
        first, 3.0, 1.0, T0 + timedelta(minutes=2))
    assert [a.alert_id for a in await store.history(open_only=True)] == [second]
    assert await store.history(queues=["sales"]) == []
    assert await store.close_open(T0 + timedelta(hours=1)) == 1
    assert await store.history(open_only=True) == []


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Client, StatsFeed, AlertMonitor, Topics, Clock]]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await database.upgrade()
    users = UserRepository(database)
    for role, token in TOKENS.items():
        await users.ensure_user_token(f"{role}1", role, token)
    await users.set_user_scope("supervisor1", {"queues": ["care"], "teams": []})
    clock = Clock()
    core = ContactCenter(RULES)
    app, distributor = api_app(database, [_alerts], core=core, clock=clock)
    care, everything = scope_of({"queues": ["care"]}), scope_of(None)
    topics = Topics(dashboard_topic(care), dashboard_topic(everything))
    feed = StatsFeed(topics, clock, lambda: distributor.query.rules, distributor.query.agent_map, ZoneInfo("UTC"))
    feed.scopes.update({care.key: care, everything.key: everything, "sales": scope_of({"queues": ["sales"]})})
    notified: list[tuple[str, str, dict[str, Any]]] = []
    monitor = AlertMonitor(AlertRepository(database), feed, lambda: list(distributor.query.rules.queues),
                           every=3600,  # the test evaluates when it wants
                           notify=lambda kind, subject, data: notified.append((kind, subject, dict(data))))
    topics.notified = notified
    app[STATS], app[ALERTS] = feed, monitor
    await monitor.start(clock())
    client: Client = TestClient(TestServer(app))
    await client.start_server()
    try:
        yield client, feed, monitor, topics, clock
    finally:
        await client.close()
        await monitor.close()
        await database.close()


async def test_a_supervisor_sets_thresholds_on_their_own_queue_only(
        served: tuple[Client, StatsFeed, AlertMonitor, Topics, Clock]) -> None:
    client, *_ = served
    body = {"thresholds": [{"metric": "waiting", "raise_at": 2, "clear_at": 0},
                           {"metric": "agent_state_seconds", "state": "not_ready", "raise_at": 600, "clear_at": 0}]}
    response = await client.put("/api/alerts/thresholds/care", json=body, headers=auth("supervisor"))
    assert response.status == 200, await response.text()
    assert [t["metric"] for t in (await response.json())["thresholds"]] == ["waiting", "agent_state_seconds"]
    for queue, role, status in (("sales", "supervisor", 404), ("nowhere", "admin", 404), ("care", "agent", 403)):
        response = await client.put(f"/api/alerts/thresholds/{queue}", json=body, headers=auth(role))
        assert response.status == status, (queue, role)
    assert (await client.put("/api/alerts/thresholds/care", json=body)).status == 401
    await client.put("/api/alerts/thresholds/sales", headers=auth("admin"), json={
        "thresholds": [{"metric": "service_level", "raise_at": 0.8, "clear_at": 0.9}]})
    seen = await (await client.get("/api/alerts/thresholds", headers=auth("supervisor"))).json()
    assert {(t["queue"], t["metric"]) for t in seen["thresholds"]} == {("care", "waiting"),
                                                                      ("care", "agent_state_seconds")}
    seen = await (await client.get("/api/alerts/thresholds", headers=auth("admin"))).json()
    assert len(seen["thresholds"]) == 3


@pytest.mark.parametrize(("threshold", "code"), [
    ({"metric": "waiting", "raise_at": 2, "clear_at": 2}, "invalid_threshold"),
    ({"metric": "service_level", "raise_at": 0.9, "clear_at": 0.8}, "invalid_threshold"),
    ({"metric": "abandon_rate", "raise_at": 20, "clear_at": 10}, "invalid_threshold"),
    ({"metric": "agent_state_seconds", "raise_at": 60, "clear_at": 0}, "invalid_threshold"),
    ({"metric": "waiting", "raise_at": -1, "clear_at": 0}, "invalid_body"),
    ({"metric": "temperature", "raise_at": 2, "clear_at": 0}, "invalid_body"),
    ({"metric": "waiting", "raise_at": 2, "clear_at": 0, "colour": "red"}, "invalid_body"),
])
async def test_thresholds_that_could_not_work_are_refused_with_a_clear_error(
        served: tuple[Client, StatsFeed, AlertMonitor, Topics, Clock], threshold: dict[str, Any], code: str) -> None:
    client, *_ = served
    response = await client.put("/api/alerts/thresholds/care", json={"thresholds": [threshold]},
                                headers=auth("supervisor"))
    assert response.status == 422
    assert (await response.json())["error"]["code"] == code
    twice = {"thresholds": [{"metric": "waiting", "raise_at": 2, "clear_at": 0}] * 2}
    response = await client.put("/api/alerts/thresholds/care", json=twice, headers=auth("supervisor"))
    assert (response.status, (await response.json())["error"]["code"]) == (422, "duplicate_threshold")
    garbage = await client.put("/api/alerts/thresholds/care", data=b"{not json", headers=auth("supervisor"))
    assert garbage.status == 400
    assert (await (await client.get("/api/alerts/thresholds", headers=auth("admin"))).json())["thresholds"] == []


def waiting_call(n: int, queue: str, at: datetime) -> WorkItem:
    return WorkItem(call_id=f"call-{n}", channel_id=f"chan-{n}", caller_number=f"08123450{n:03d}",
                    service_number="1500100", queue=queue, arrived_at=at, queued_at=at)


async def test_calls_waiting_over_the_threshold_raise_an_alert_that_clears_with_hysteresis(
        served: tuple[Client, StatsFeed, AlertMonitor, Topics, Clock]) -> None:
    client, feed, monitor, topics, clock = served
    await client.put("/api/alerts/thresholds/care", headers=auth("supervisor"),
                     json={"thresholds": [{"metric": "waiting", "raise_at": 2, "clear_at": 0}]})
    calls = [waiting_call(n, "care", T0) for n in range(3)]
    feed.work_changed(WorkChanged(calls[0]))
    assert await monitor.evaluate() == []
    clock.now = T0 + timedelta(seconds=5)
    feed.work_changed(WorkChanged(calls[1]))
    [raised] = await monitor.evaluate()
    assert (raised.subject, raised.value, raised.cleared_at) == ("care", 2.0, None)
    alert_frames = [(topic, data) for topic, kind, data in topics.frames if kind == "alert"]
    # The care supervisor's dashboard and the admin's; the sales scope has no dashboard open and no care.
    assert [topic for topic, _ in alert_frames] == ["dashboard:q=care;t=", "dashboard:all"]
    assert {k: alert_frames[0][1][k] for k in ("status", "queue", "metric", "value", "raise_at")} == {
        "status": "raised", "queue": "care", "metric": "waiting", "value": 2.0, "raise_at": 2.0}
    clock.now = T0 + timedelta(seconds=10)
    feed.work_changed(WorkChanged(abandoned(calls[0], clock.now)))
    assert await monitor.evaluate() == []  # 1 waiting: not yet back at the clearing point (hysteresis)
    history = await (await client.get("/api/alerts", params={"open": "yes"}, headers=auth("supervisor"))).json()
    assert [(a["queue"], a["metric"], a["value"], a["cleared_at"]) for a in history["alerts"]] == [
        ("care", "waiting", 2.0, None)]
    clock.now = T0 + timedelta(seconds=12)
    feed.work_changed(WorkChanged(abandoned(calls[1], clock.now)))
    [cleared] = await monitor.evaluate()
    assert (cleared.value, cleared.raised_at, cleared.cleared_at) == (0.0, T0 + timedelta(seconds=5), clock.now)
    assert [data["status"] for _, kind, data in topics.frames if kind == "alert"] == ["raised"] * 2 + ["cleared"] * 2
    # Partners and paging tools subscribed to alert.* are told each, once (not once per dashboard).
    assert [(kind, subject, data["value"]) for kind, subject, data in topics.notified] == [
        ("alert.raised", "alert:care:voice:waiting@care", 2.0), ("alert.cleared", "alert:care:voice:waiting@care", 0.0)]
    history = await (await client.get("/api/alerts", headers=auth("supervisor"))).json()
    assert [(a["value"], a["cleared_value"], a["cleared_at"]) for a in history["alerts"]] == [
        (2.0, 0.0, clock.now.isoformat())]
    assert (await (await client.get("/api/alerts", headers=auth("admin"))).json())["alerts"] == history["alerts"]
    assert (await client.get("/api/alerts", headers=auth("agent"))).status == 403
    assert (await client.get("/api/alerts", params={"open": "maybe"}, headers=auth("admin"))).status == 400


def abandoned(call: WorkItem, at: datetime) -> WorkItem:
    call.state, call.outcome, call.ended_at = WorkState.ENDED, Outcome.ABANDONED, at
    return call
