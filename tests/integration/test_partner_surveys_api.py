"""A partner reads the survey answers of its own customers (``surveys.read``), on real SQLite and PostgreSQL, with
real answers: given on the IVR and through the e-mailed link (a real SMTP server, aiosmtpd). The partner sees
exactly its customers' answers (listed, or of its product line), never another partner's nor an erased
customer's; filters and pages them; a token without the grant gets 403; every read is audited."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.crm import Consent, CustomerFields
from cti.persistence import AuditRepository, CustomerRepository, Database, SurveyRepository, UserRepository
from cti.services import InteractionEnded, PartnerAccess, SurveyService
from cti.web import ACCOUNTS, AUDIT, PARTNERS, POLICY, _partners
from tests.api import api_app
from tests.mailbox import mailbox
from tests.support import migrated_database

Client = TestClient[web.Request, web.Application]
ADMIN = {"Authorization": "Bearer admin-token-0123456789"}
T0 = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def both(text: str) -> dict[str, str]:
    return {"id": f"{text} (id)", "en": text}


QUESTIONS: list[dict[str, Any]] = [
    {"key": "satisfaction", "kind": "rating", "text": both("How satisfied are you?"), "metric": "csat"},
    {"key": "solved", "kind": "yes_no", "text": both("Was your problem solved?"), "metric": "fcr"},
    {"key": "comment", "kind": "text", "text": both("Anything else?"), "required": False},
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Floor:
    client: Client
    db: Database
    ids: dict[str, str]
    """survey ids by name: rina1, sari, tono, rina2, wati (an erased customer's)"""


@pytest.fixture(params=["sqlite", "postgresql"])
async def floor(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Floor]:
    async with migrated_database(request.param, tmp_path) as db:
        await UserRepository(db).ensure_user_token("admin", "admin", "admin-token-0123456789")
        customers = CustomerRepository(db)
        for customer_id, name, segment in (("1001", "Rina", None), ("1002", "Sari", "fiber"),
                                           ("2001", "Tono", "mobile"), ("1003", "Wati", "fiber")):
            await customers.create_customer(CustomerFields(
                name=name, phones=(f"021555{customer_id}",), email=f"{name.lower()}@example.com", segment=segment,
                consent=Consent(email=True)), customer_id=customer_id)
        clock = Clock()
        with mailbox() as mail:
            app, _ = api_app(db, [_partners], clock=clock)
            surveys = SurveyService(SurveyRepository(db), customers, app[AUDIT], mailer=mail.mailer(),
                                    link_base="http://cti.test", clock=clock)
            app[PARTNERS] = PartnerAccess(app[ACCOUNTS], app[POLICY], customers, app[AUDIT], clock=clock,
                                          per_minute=100, surveys=SurveyRepository(db))
            await surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
            ids: dict[str, str] = {}

            async def on_ivr(name: str, customer_id: str, hours: int, answers: dict[str, Any], *,
                             complete: bool = True, interaction: str = "call") -> None:
                clock.now = T0 + timedelta(hours=hours)
                ids[name] = (await surveys.record(
                    customer_id=customer_id, questionnaire_id="general", answers=answers, complete=complete,
                    call_id=f"call-{name}", agent_id="ana", queue="care", interaction_channel=interaction)).survey_id

            # Rina's second answer comes through the e-mailed link, on the web (answered last, sent first: the
            # sending policy surveys a customer once in its period, the IVR's survey is asked regardless).
            owed = await surveys.interaction_ended(InteractionEnded(
                call_id="call-rina2", customer_id="1001", channel="call", ended_at=T0 - timedelta(hours=1),
                agent_id="ana", queue="care"))
            assert not isinstance(owed, str)
            assert await surveys.send_due() == 1
            token = (await mail.survey_link("rina@example.com")).split("#", 1)[1]
            await on_ivr("rina1", "1001", 1, {"satisfaction": 5, "solved": True})
            await on_ivr("sari", "1002", 2, {"satisfaction": 3}, complete=False, interaction="chat")
            await on_ivr("tono", "2001", 3, {"satisfaction": 1, "solved": False})
            await on_ivr("wati", "1003", 3, {"satisfaction": 4, "solved": True})
            clock.now = T0 + timedelta(hours=5)
            ids["rina2"] = (await surveys.answer(token, {"satisfaction": 4, "solved": True,
                                                         "comment": "Thank you, Ani"}, channel="web")).survey_id
            await customers.forget("1003")  # erased: her scores stay for the figures, no partner reads them
            client: Client = TestClient(TestServer(app))
            await client.start_server()
            try:
                yield Floor(client, db, ids)
            finally:
                await client.close()
                await surveys.close()


async def _partner(client: Client, name: str, operations: list[str], *, customers: list[str] | None = None,
                   segments: list[str] | None = None) -> dict[str, str]:
    response = await client.post("/api/partners", headers=ADMIN, json={
        "name": name, "operations": operations, "customers": customers or [], "segments": segments or []})
    assert response.status == 201, await response.text()
    return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def _read(client: Client, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = await client.get(f"/api/partner/surveys{query}", headers=headers)
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_a_partner_reads_exactly_its_own_customers_answers(floor: Floor) -> None:
    client, ids = floor.client, floor.ids
    acme = await _partner(client, "acme", ["surveys.read"], customers=["1001"], segments=["fiber"])
    globex = await _partner(client, "globex", ["surveys.read"], customers=["2001"])
    page = await _read(client, acme)
    assert page["next"] is None
    assert page["surveys"] == [
        {"survey_id": ids["rina1"], "customer_id": "1001", "call_id": "call-rina1", "interaction_channel": "call",
         "channel": "ivr", "status": "answered", "questionnaire_id": "general", "version": 1, "language": "id",
         "sent_at": (T0 + timedelta(hours=1)).isoformat(), "answered_at": (T0 + timedelta(hours=1)).isoformat(),
         "rating": 5, "resolved": True, "answers": {"satisfaction": 5, "solved": True}},
        {"survey_id": ids["sari"], "customer_id": "1002", "call_id": "call-sari", "interaction_channel": "chat",
         "channel": "ivr", "status": "partial", "questionnaire_id": "general", "version": 1, "language": "id",
         "sent_at": (T0 + timedelta(hours=2)).isoformat(), "answered_at": (T0 + timedelta(hours=2)).isoformat(),
         "rating": 3, "resolved": None, "answers": {"satisfaction": 3}},
        {"survey_id": ids["rina2"], "customer_id": "1001", "call_id": "call-rina2", "interaction_channel": "call",
         "channel": "web", "status": "answered", "questionnaire_id": "general", "version": 1, "language": "id",
         "sent_at": T0.isoformat(), "answered_at": (T0 + timedelta(hours=5)).isoformat(),
         "rating": 4, "resolved": True, "answers": {"satisfaction": 4, "solved": True, "comment": "Thank you, Ani"}},
    ]  # not Tono's (globex's), not Wati's (erased, though of acme's product line)
    theirs = await _read(client, globex)
    assert [(s["survey_id"], s["customer_id"], s["rating"]) for s in theirs["surveys"]] == [(ids["tono"], "2001", 1)]


async def test_filters_and_pages(floor: Floor) -> None:
    client, ids = floor.client, floor.ids
    acme = await _partner(client, "acme", ["surveys.read"], customers=["1001"], segments=["fiber"])

    async def read(query: str) -> list[str]:
        return [s["survey_id"] for s in (await _read(client, acme, query))["surveys"]]

    since, until = (T0 + timedelta(hours=2)).isoformat(), (T0 + timedelta(hours=5)).isoformat()
    assert await read(f"?since={since.replace('+', '%2B')}") == [ids["sari"], ids["rina2"]]
    assert await read(f"?until={until.replace('+', '%2B')}") == [ids["rina1"], ids["sari"]]  # until: exclusive
    assert await read("?channel=web") == [ids["rina2"]]
    assert await read("?channel=ivr&interaction_channel=call") == [ids["rina1"]]
    assert await read("?interaction_channel=chat") == [ids["sari"]]
    first = await _read(client, acme, "?limit=2")
    assert [s["survey_id"] for s in first["surveys"]] == [ids["rina1"], ids["sari"]]
    assert first["next"] is not None
    second = await _read(client, acme, f"?limit=2&after={first['next']}")
    assert ([s["survey_id"] for s in second["surveys"]], second["next"]) == ([ids["rina2"]], None)
    for bad in ("?channel=fax", "?interaction_channel=ivr", "?after=yesterday", "?limit=0", "?since=2026-12-07",
                f"?after=999999999999999999.{'a' * 32}"):  # past the year 9999
        response = await client.get(f"/api/partner/surveys{bad}", headers=acme)
        assert response.status == 400, bad


async def test_a_token_without_the_grant_is_refused_and_staff_never_read(floor: Floor) -> None:
    client = floor.client
    reader = await _partner(client, "reader", ["customers.read"], customers=["1001"])
    refused = await client.get("/api/partner/surveys", headers=reader)
    assert refused.status == 403
    assert (await refused.json())["error"]["code"] == "operation_not_granted"
    staff = await client.get("/api/partner/surveys", headers=ADMIN)
    assert staff.status == 403
    assert (await staff.json())["error"]["code"] == "role_forbidden"  # the partner API is for partners
    assert (await client.get("/api/partner/surveys")).status == 401


async def test_every_read_is_audited_by_customer(floor: Floor) -> None:
    client = floor.client
    acme = await _partner(client, "acme", ["surveys.read"], customers=["1001"], segments=["fiber"])
    reader = await _partner(client, "reader", ["customers.read"], customers=["1001"])
    await _read(client, acme)
    await _read(client, acme, "?channel=email")  # nothing read: only the request's own row
    assert (await client.get("/api/partner/surveys", headers=reader)).status == 403
    await client.app[AUDIT].flush()
    rows = await AuditRepository(floor.db).search(since=T0, limit=100)
    seen = sorted((r.actor, r.action, r.subject_type, r.subject_id, (r.detail or {}).get("status"),
                   (r.detail or {}).get("operation"), (r.detail or {}).get("surveys"))
                  for r in rows if r.actor in ("acme", "reader"))
    assert seen == sorted([
        ("acme", "view", "route", "/api/partner/surveys", 200, None, None),
        ("acme", "view", "customer", "1001", None, "surveys.read", 2),
        ("acme", "view", "customer", "1002", None, "surveys.read", 1),
        ("acme", "view", "route", "/api/partner/surveys", 200, None, None),
        ("reader", "denied", "route", "/api/partner/surveys", 403, None, None),
    ])
