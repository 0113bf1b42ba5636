"""A CSAT alert from real survey answers, on real SQLite and PostgreSQL with a real SMTP server (aiosmtpd): answers
given through the survey service (the post-call IVR survey) and through the survey link's API (mailed by the
sender) feed the alert monitor's CSAT of the queue; under the threshold with enough answers the alert is raised
(stored, pushed to the queue's dashboards, told to webhooks) with exact values, better answers clear it, and a
controller that starts again reads the last hour's ratings back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import ContactCenter, Rules
from cti.crm import Consent, CustomerFields
from cti.persistence import AlertRepository, CustomerRepository, Database, SurveyRepository, UserRepository
from cti.services import AlertMonitor, InteractionEnded, StatsFeed, SurveyService, dashboard_topic, scope_of
from cti.surveys import SurveyRecord
from cti.web import ALERTS, AUDIT, STATS, SURVEYS, _alerts, _surveys
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import migrated_database

Client = TestClient[web.Request, web.Application]
SUPERVISOR = {"Authorization": "Bearer supervisor-token-0123456789"}
RULES = Rules.model_validate({"default_queue": "care", "queues": {"care": {}, "sales": {}},
                              "routes": [{"name": "all", "queue": "care"}]})
T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
QUESTIONS: list[dict[str, Any]] = [
    {"key": "satisfaction", "kind": "rating", "text": {"id": "Puas?", "en": "Satisfied?"}, "metric": "csat"},
    {"key": "solved", "kind": "yes_no", "text": {"id": "Selesai?", "en": "Solved?"}, "metric": "fcr",
     "required": False},
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Topics:
    """The hub's side the feed publishes to: frames kept, the care supervisor's dashboard open."""

    def __init__(self, *watched: str) -> None:
        self.watched = set(watched)
        self.frames: list[tuple[str, str, Any]] = []

    def publish(self, name: str, type_: str, data: Any) -> None:
        self.frames.append((name, type_, data))

    def publish_json(self, name: str, type_: str, data_json: str) -> None:
        self.frames.append((name, type_, data_json))

    def subscribers(self, name: str) -> int:
        return int(name in self.watched)


@dataclass
class Floor:
    client: Client
    db: Database
    surveys: SurveyService
    monitor: AlertMonitor
    feed: StatsFeed
    topics: Topics
    clock: Clock
    mail: Mailbox
    notified: list[tuple[str, str, dict[str, Any]]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def floor(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Floor]:
    async with migrated_database(request.param, tmp_path) as db:
        users = UserRepository(db)
        await users.ensure_user_token("admin1", "admin", "admin-token-0123456789")
        await users.ensure_user_token("sue", "supervisor", "supervisor-token-0123456789")
        await users.set_user_scope("sue", {"queues": ["care"]})
        clock = Clock()
        with mailbox() as mail:
            app, distributor = api_app(db, [_alerts, _surveys], core=ContactCenter(RULES), clock=clock)
            care = scope_of({"queues": ["care"]})
            topics = Topics(dashboard_topic(care))
            feed = StatsFeed(topics, clock, lambda: distributor.query.rules, distributor.query.agent_map,
                             ZoneInfo("UTC"))
            feed.scopes[care.key] = care
            notified: list[tuple[str, str, dict[str, Any]]] = []
            monitor = AlertMonitor(AlertRepository(db), feed, lambda: list(distributor.query.rules.queues),
                                   every=3600,  # the test evaluates when it wants
                                   notify=lambda kind, subject, data: notified.append((kind, subject, dict(data))),
                                   surveys=SurveyRepository(db))
            surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=mail.mailer(),
                                    link_base="http://cti.test", clock=clock, answered=monitor.survey_answered)
            app[STATS], app[ALERTS], app[SURVEYS] = feed, monitor, surveys
            await monitor.start(clock())
            client: Client = TestClient(TestServer(app))
            await client.start_server()
            try:
                await surveys.define("general", {"title": {"id": "Survei", "en": "Survey"}, "questions": QUESTIONS},
                                     by="admin1")
                yield Floor(client, db, surveys, monitor, feed, topics, clock, mail, notified)
            finally:
                await client.close()
                await surveys.close()
                await monitor.close()


async def customer(floor: Floor, name: str) -> str:
    record = await CustomerRepository(floor.db).create_customer(CustomerFields(
        name=name.title(), email=f"{name}@example.com", language="id", consent=Consent(email=True)))
    return record.customer_id


async def ivr_rating(floor: Floor, name: str, rating: int, *, queue: str = "care") -> SurveyRecord:
    """A caller of ``queue`` rates the call on the post-call IVR survey."""
    return await floor.surveys.record(customer_id=await customer(floor, name), questionnaire_id="general",
                                      answers={"satisfaction": rating}, complete=True, call_id=f"call-{name}",
                                      agent_id="ana", queue=queue)


async def mailed_rating(floor: Floor, name: str, rating: int) -> None:
    """A customer of queue care answers the survey mailed after their call, through its link's API."""
    who = await customer(floor, name)
    owed = await floor.surveys.interaction_ended(InteractionEnded(
        call_id=f"call-{name}", customer_id=who, channel="call", ended_at=floor.clock(), agent_id="ana",
        queue="care"))
    assert isinstance(owed, SurveyRecord)
    assert await floor.surveys.send_due() == 1
    token = (await floor.mail.survey_link(f"{name}@example.com")).split("#", 1)[1]
    response = await floor.client.post("/api/survey/answer", json={"token": token,
                                                                    "answers": {"satisfaction": rating}})
    assert (response.status, await response.json()) == (200, {"status": "answered"})


async def test_bad_survey_answers_raise_a_csat_alert_and_better_ones_clear_it(floor: Floor) -> None:
    client, monitor, clock = floor.client, floor.monitor, floor.clock
    response = await client.put("/api/alerts/thresholds/care", headers=SUPERVISOR, json={"thresholds": [
        {"metric": "csat", "raise_at": 3, "clear_at": 3.5}]})
    assert response.status == 200, await response.text()
    assert (await response.json())["thresholds"] == [
        {"queue": "care", "channel": "voice", "metric": "csat", "state": None, "raise_at": 3.0, "clear_at": 3.5}]
    # Four unhappy callers: too few answers to say anything yet; a sales caller's rating is not care's.
    for name, rating in (("dewi", 1), ("eko", 2), ("fitri", 1), ("gita", 2)):
        await ivr_rating(floor, name, rating)
    await ivr_rating(floor, "hadi", 1, queue="sales")
    assert await monitor.evaluate() == []
    # The fifth, answered through the mailed link: (1 + 2 + 1 + 2 + 2) / 5 = 1.6, under 3.
    clock.now = T0 + timedelta(minutes=2)
    await mailed_rating(floor, "intan", 2)
    [raised] = await monitor.evaluate()
    assert (raised.subject, raised.value, raised.raised_at, raised.cleared_at) == ("care", 1.6, clock.now, None)
    [(topic, kind, frame)] = [f for f in floor.topics.frames if f[1] == "alert"]
    assert (topic, kind) == ("dashboard:q=care;t=", "alert")
    assert {k: frame[k] for k in ("status", "queue", "channel", "metric", "subject", "value", "raise_at",
                                  "clear_at")} == {
        "status": "raised", "queue": "care", "channel": "voice", "metric": "csat", "subject": "care", "value": 1.6,
        "raise_at": 3.0, "clear_at": 3.5}
    opened = await (await client.get("/api/alerts", params={"open": "yes"}, headers=SUPERVISOR)).json()
    assert [(a["queue"], a["channel"], a["metric"], a["value"], a["cleared_at"]) for a in opened["alerts"]] == [
        ("care", "voice", "csat", 1.6, None)]

    # Happier callers: (8 + 5 x 5) / 10 = 3.3 is better but under the clearing point; the seventh 5 brings
    # (8 + 7 x 5) / 12 = 3.583, past 3.5: cleared.
    clock.now = T0 + timedelta(minutes=5)
    for n in range(5):
        await ivr_rating(floor, f"joko{n}", 5)
    assert await monitor.evaluate() == []
    await ivr_rating(floor, "kiki", 5)
    assert await monitor.evaluate() == []  # 38 / 11 = 3.455
    clock.now = T0 + timedelta(minutes=6)
    await mailed_rating(floor, "lina", 5)
    [cleared] = await monitor.evaluate()
    assert (round(cleared.value, 3), cleared.raised_at, cleared.cleared_at) == (
        3.583, T0 + timedelta(minutes=2), clock.now)
    history = await (await client.get("/api/alerts", headers=SUPERVISOR)).json()
    assert [(a["metric"], a["value"], a["cleared_value"], a["cleared_at"]) for a in history["alerts"]] == [
        ("csat", 1.6, 43 / 12, clock.now.isoformat())]  # stored as read; the frames round to 3 places
    assert [(kind, subject, data["value"]) for kind, subject, data in floor.notified] == [
        ("alert.raised", "alert:care:voice:csat@care", 1.6), ("alert.cleared", "alert:care:voice:csat@care", 3.583)]

    # A controller that starts again reads the last hour's ratings back: the same figure, from the database.
    clock.now = T0 + timedelta(minutes=30)
    again = AlertMonitor(AlertRepository(floor.db), floor.feed, lambda: ["care", "sales"], every=3600,
                         surveys=SurveyRepository(floor.db))
    await again.start(clock.now)
    try:
        assert again.satisfaction.count("care", "voice", clock.now) == 12
        assert again.satisfaction.mean("care", "voice", clock.now) == 43 / 12
        assert again.satisfaction.mean("sales", "voice", clock.now) is None  # one rating: no reading
    finally:
        await again.close()
    answered = await SurveyRepository(floor.db).answered_between(T0, T0 + timedelta(minutes=3))
    assert [s.answered_at for s in answered] == [T0] * 5 + [T0 + timedelta(minutes=2)]  # oldest answer first
    assert sorted((s.call_id, s.queue, s.rating) for s in answered) == [
        ("call-dewi", "care", 1), ("call-eko", "care", 2), ("call-fitri", "care", 1), ("call-gita", "care", 2),
        ("call-hadi", "sales", 1), ("call-intan", "care", 2)]
