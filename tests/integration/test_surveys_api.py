"""Surveys by e-mail and on the web, on real SQLite and PostgreSQL with a real SMTP server (aiosmtpd): a supervisor
defines and versions questionnaires; interactions end and the sending policy owes surveys (not without e-mail
consent, not twice in the period); the sender mails the link (a failed send is kept and retried); the customer
opens and answers it through the API once (a second use, an expired link and a forged token are refused); a partial
answer is kept as partial, from the web and from the IVR; a spoken comment from the IVR is a recording of the call
and, in English, the free-text answer (the real recognizer); the answers reach the customer's profile (and a stated
language their CRM record) and the survey report, JSON and CSV, with exact values. The page: tests/pages."""

from __future__ import annotations

import logging
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from cti.acd import Outcome, WorkChanged, WorkItem, WorkState
from cti.crm import Consent, CustomerFields
from cti.messaging import SmtpMailer
from cti.persistence import CustomerRepository, Database, RecordingRepository, SurveyRepository, UserRepository
from cti.services import Distributor, InteractionEnded, PostCallSurveys, SurveyOffer, SurveyService
from cti.speech.asr import PocketSphinxTranscriber
from cti.surveys import SkipReason, SurveyRecord
from cti.types import Language
from cti.web import AUDIT, SURVEYS, _surveys
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import caller_speech, create_postgres_database

Client = TestClient[web.Request, web.Application]
TOKENS = {"agent": "agent-token-0123456789", "supervisor": "supervisor-token-0123456789",
          "admin": "admin-token-0123456789"}
T0 = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[role]}"}


def both(text: str) -> dict[str, str]:
    return {"id": f"{text} (id)", "en": text}


QUESTIONS: list[dict[str, Any]] = [
    {"key": "satisfaction", "kind": "rating", "text": both("How satisfied are you?"), "metric": "csat"},
    {"key": "solved", "kind": "yes_no", "text": both("Was your problem solved?"), "metric": "fcr"},
    {"key": "language", "kind": "choice", "text": both("Your language"), "required": False,
     "preference": "language", "choices": [{"value": "id", "label": both("Indonesian")},
                                           {"value": "en", "label": both("English")}]},
    {"key": "comment", "kind": "text", "text": both("Anything else?"), "required": False},
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Switch:
    """The survey mailer: a real SMTP client, pointed at the test's server or at a port nobody listens on."""

    def __init__(self, mailer: SmtpMailer) -> None:
        self.to = mailer

    async def send_survey(self, to: str, link: str, *, language: Language, title: str, days: int) -> None:
        await self.to.send_survey(to, link, language=language, title=title, days=days)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Floor:
    client: Client
    surveys: SurveyService
    customers: CustomerRepository
    mail: Mailbox
    switch: Switch
    clock: Clock
    store: SurveyRepository
    distributor: Distributor
    events: list[tuple[str, str, dict[str, Any]]]
    """What the service told partners' webhooks (``notify``)."""
    db: Database


@pytest.fixture(params=["sqlite", "postgresql"])
async def floor(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Floor]:
    if request.param == "sqlite":
        url, drop = f"sqlite+aiosqlite:///{tmp_path}/cti.db", None
    else:
        url, drop = await create_postgres_database()  # fails, never skips, when CI is set
    db = Database(url)
    await db.upgrade()
    users = UserRepository(db)
    for role, token in TOKENS.items():
        await users.ensure_user_token(f"{role}1", role, token)
    await users.set_user_scope("supervisor1", {"queues": ["care"], "teams": []})
    clock = Clock()
    with mailbox() as mail:
        app, distributor = api_app(db, [_surveys], clock=clock)
        switch = Switch(mail.mailer())
        events: list[tuple[str, str, dict[str, Any]]] = []
        surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=switch,
                                link_base="http://cti.test", clock=clock,
                                notify=lambda kind, subject, data: events.append((kind, subject, dict(data))))
        app[SURVEYS] = surveys
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        try:
            yield Floor(client, surveys, CustomerRepository(db), mail, switch, clock, SurveyRepository(db),
                        distributor, events, db)
        finally:
            await client.close()
            await surveys.close()
            await db.close()
            if drop is not None:
                await drop()


async def customer(floor: Floor, name: str, *, consent: bool = True, tier: str = "gold") -> str:
    record = await floor.customers.create_customer(CustomerFields(
        name=name.title(), email=f"{name}@example.com", language="id", value_tier=tier, segment="internet",
        consent=Consent(email=consent)))
    return record.customer_id


async def ended(floor: Floor, customer_id: str, call_id: str, *, agent: str = "ana",
                queue: str = "care") -> SurveyRecord | SkipReason:
    return await floor.surveys.interaction_ended(InteractionEnded(
        call_id=call_id, customer_id=customer_id, channel="call", ended_at=floor.clock(), agent_id=agent,
        team="north" if agent == "ana" else "south", queue=queue))


def token_of(link: str) -> str:
    return link.split("#", 1)[1]


async def test_questionnaires_are_defined_versioned_and_checked(floor: Floor) -> None:
    client = floor.client
    body = {"title": both("After your call"), "questions": QUESTIONS}
    first = await client.put("/api/surveys/questionnaires/care", json=body, headers=auth("supervisor"))
    assert first.status == 200, await first.text()
    assert (await first.json())["version"] == 1
    second = await client.put("/api/surveys/questionnaires/care", json={**body, "segment": {"channel": "call"}},
                              headers=auth("admin"))
    assert ((await second.json())["version"], (await second.json())["segment"]["channel"]) == (2, "call")
    listed = await (await client.get("/api/surveys/questionnaires", headers=auth("supervisor"))).json()
    assert [(q["questionnaire_id"], q["version"]) for q in listed["questionnaires"]] == [("care", 2)]
    assert (await client.get("/api/surveys/questionnaires", headers=auth("agent"))).status == 403
    assert (await client.get("/api/surveys/questionnaires")).status == 401
    assert (await client.get("/api/surveys/questionnaires/none", headers=auth("admin"))).status == 404
    bad = await client.put("/api/surveys/questionnaires/care", headers=auth("admin"), json={
        **body, "questions": [{"key": "x", "kind": "rating", "text": {"id": "Nilai"}, "metric": "fcr"}]})
    assert bad.status == 422
    error = (await bad.json())["error"]
    assert error["code"] == "invalid_questionnaire"
    garbage = await client.put("/api/surveys/questionnaires/care", data=b"{nope", headers=auth("admin"))
    assert garbage.status == 400
    assert (await floor.surveys.questionnaire("care")).version == 2  # nothing saved by the refusals


async def test_a_survey_mailed_after_a_call_is_answered_once_through_its_link(
        floor: Floor, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    client, surveys = floor.client, floor.surveys
    await client.put("/api/surveys/questionnaires/general", headers=auth("admin"),
                     json={"title": both("Your contact"), "questions": QUESTIONS})
    await client.put("/api/surveys/questionnaires/gold-call", headers=auth("admin"),
                     json={"title": both("Gold care"), "segment": {"value_tier": "gold", "channel": "call"},
                           "questions": QUESTIONS})
    dewi, budi = await customer(floor, "dewi"), await customer(floor, "budi", consent=False)
    eko, fitri, gita = (await customer(floor, "eko", tier="silver"), await customer(floor, "fitri"),
                        await customer(floor, "gita"))
    owed = await ended(floor, dewi, "c1")
    assert isinstance(owed, SurveyRecord)
    assert (owed.status, owed.questionnaire_id, owed.version, owed.segment) == ("pending", "gold-call", 1,
                                                                                "gold/internet/call")
    assert await ended(floor, budi, "c2") is SkipReason.NO_CONSENT
    assert await ended(floor, dewi, "c3") is SkipReason.TOO_SOON  # once per 30 days
    silver = await ended(floor, eko, "c4", agent="bob", queue="sales")
    assert isinstance(silver, SurveyRecord) and silver.questionnaire_id == "general"
    for who, call_id in ((fitri, "c5"), (gita, "c6")):
        assert isinstance(await ended(floor, who, call_id), SurveyRecord)

    # The mail server is away for Eko's survey: kept pending, tried again later, never lost.
    floor.switch.to = SmtpMailer("127.0.0.1", closed_port(), security="none", sender="cti@cti.test", timeout=2)
    assert await surveys.send_due() == 0
    unsent = await floor.store.survey(silver.survey_id)
    assert unsent is not None
    assert (unsent.status, unsent.attempts, unsent.send_after) == ("pending", 1, T0 + timedelta(minutes=1))
    floor.switch.to = floor.mail.mailer()
    floor.clock.now = T0 + timedelta(minutes=1)
    assert await surveys.send_due() == 4
    assert await surveys.send_due() == 0
    assert floor.mail.to("budi@example.com") == []
    mail = floor.mail.to("dewi@example.com")[0]
    assert mail["Subject"] == "Bagaimana layanan kami? Gold care (id)"
    link = await floor.mail.survey_link("dewi@example.com")
    assert link.startswith("http://cti.test/ui/survey.html#")
    token = token_of(link)

    opened = await client.post("/api/survey/open", json={"token": token})
    assert opened.status == 200
    data = await opened.json()
    assert (data["language"], data["questionnaire"]["questionnaire_id"]) == ("id", "gold-call")
    forged = await client.post("/api/survey/open", json={"token": token[:-4] + "AAAA"})
    assert (forged.status, (await forged.json())["error"]["code"]) == (404, "survey_not_found")
    wrong = await client.post("/api/survey/answer", json={"token": token, "answers": {"satisfaction": 9}})
    assert (wrong.status, (await wrong.json())["error"]["code"]) == (422, "invalid_answer")
    empty = await client.post("/api/survey/answer", json={"token": token, "answers": {"solved": None}})
    assert (empty.status, (await empty.json())["error"]["code"]) == (422, "invalid_answer")  # the link still works
    answered = await client.post("/api/survey/answer", json={"token": token, "answers": {
        "satisfaction": 4, "solved": True, "language": "en", "comment": "Cepat dan ramah"}})
    assert (answered.status, await answered.json()) == (200, {"status": "answered"})
    again = await client.post("/api/survey/answer", json={"token": token, "answers": {"satisfaction": 1}})
    assert (again.status, (await again.json())["error"]["code"]) == (409, "survey_answered")
    assert (await client.post("/api/survey/open", json={"token": token})).status == 409
    # Partners subscribed to survey.answered are told, once.
    assert floor.events == [("survey.answered", f"survey:{owed.survey_id}", {
        "survey_id": owed.survey_id, "customer_id": dewi, "call_id": "c1", "status": "answered", "channel": "web",
        "rating": 4, "resolved": True, "questionnaire_id": "gold-call", "version": 1})]

    # Fitri stops halfway: her answer is kept, as partial.
    fitri_token = token_of(await floor.mail.survey_link("fitri@example.com"))
    partial = await client.post("/api/survey/answer", json={"token": fitri_token, "answers": {"comment": "Lama"}})
    assert await partial.json() == {"status": "partial"}
    # So does a caller on the post-call IVR survey (no link).
    hadi = await customer(floor, "hadi", consent=False)
    assert (await surveys.questionnaire_for(dewi)).questionnaire_id == "gold-call"  # type: ignore[union-attr]
    assert (await surveys.questionnaire_for(None, channel="chat")).questionnaire_id == "general"  # type: ignore[union-attr]
    ivr = await surveys.record(customer_id=hadi, questionnaire_id="general", answers={"satisfaction": 5},
                               complete=False, call_id="c7", agent_id="ana", queue="care")
    assert (ivr.status, ivr.answer_channel, ivr.rating) == ("partial", "ivr", 5)
    silent = await surveys.record(customer_id=hadi, questionnaire_id="general", answers={}, complete=False,
                                  call_id="c8", agent_id="bob", queue="sales")
    assert (silent.status, silent.answered) == ("sent", False)  # offered, hung up at once: counts as unanswered

    # The profile: latest scores, the trend, the preference stated, which became the CRM's language.
    profile = await client.get(f"/api/customers/{dewi}/surveys", headers=auth("admin"))
    assert await profile.json() == {
        "customer_id": dewi, "answered": 1, "latest_rating": 4, "latest_resolved": True,
        "latest_at": (T0 + timedelta(minutes=1)).isoformat(), "trend": [4], "average": 4.0, "direction": "flat",
        "preferences": {"language": "en"}, "comment": "Cepat dan ramah"}
    assert (await floor.customers.customer(dewi)).language == "en"  # type: ignore[union-attr]
    assert (await client.get(f"/api/customers/{dewi}/surveys", headers=auth("agent"))).status == 404

    # The report: admin per agent; the supervisor of 'care' does not see Bob's survey of 'sales'.
    report = await client.get("/api/reports/surveys?from=2026-12-06&by=agent", headers=auth("admin"))
    assert report.status == 200
    rows = {r["key"]: r for r in (await report.json())["rows"]}
    assert rows["ana"] == {"key": "ana", "sent": 4, "answered": 3, "rated": 2, "satisfied": 2, "promoters": 1,
                           "detractors": 0, "resolution_answers": 1, "resolved": 1, "csat": 1.0, "nps": 50.0,
                           "fcr": 1.0, "response_rate": 0.75}
    assert (rows["bob"]["sent"], rows["bob"]["answered"], rows["bob"]["csat"], rows["bob"]["response_rate"]) == (
        2, 0, None, 0.0)
    mine = await (await client.get("/api/reports/surveys?from=2026-12-06&by=queue",
                                    headers=auth("supervisor"))).json()
    assert [r["key"] for r in mine["rows"]] == ["care"] and mine["total"]["sent"] == 4
    csv = await client.get("/api/reports/surveys?from=2026-12-06&by=segment&format=csv", headers=auth("admin"))
    assert (await csv.text()).splitlines() == [
        "by,key,sent,answered,response_rate,rated,csat,nps,resolution_answers,fcr",
        "segment,gold/internet/call,5,3,0.6000,2,1.0000,50.0,1,1.0000",
        "segment,silver/internet/call,1,0,0.0000,0,,,0,",
    ]
    bad = await client.get("/api/reports/surveys?from=2026-12-06&by=colour", headers=auth("admin"))
    assert bad.status == 400

    # Gita waits too long: her link has expired.
    floor.clock.now = T0 + timedelta(days=8)
    gita_token = token_of(await floor.mail.survey_link("gita@example.com"))
    late = await client.post("/api/survey/answer", json={"token": gita_token, "answers": {"satisfaction": 5}})
    assert (late.status, (await late.json())["error"]["code"]) == (409, "survey_expired")
    for secret in (token, fitri_token, gita_token):
        assert secret not in caplog.text


async def test_erasure_drops_a_customers_answers_and_keeps_the_scores(floor: Floor) -> None:
    await floor.surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
    dewi = await customer(floor, "dewi")
    said = await floor.surveys.record(customer_id=dewi, questionnaire_id="general", complete=True,
                                      answers={"satisfaction": 2, "solved": False, "comment": "Saya Dewi, 0812..."})
    assert await floor.store.forget(dewi) == 1
    kept = await floor.store.survey(said.survey_id)
    assert kept is not None and (kept.answers, kept.rating, kept.resolved, kept.status) == ({}, 2, False, "answered")


async def test_retention_clears_old_answers_once_and_keeps_the_scores(floor: Floor) -> None:
    await floor.surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
    old = await floor.surveys.record(customer_id=await customer(floor, "dewi"), questionnaire_id="general",
                                     complete=True, answers={"satisfaction": 4, "solved": True, "comment": "Oke"})
    floor.clock.now = T0 + timedelta(days=40)
    new = await floor.surveys.record(customer_id=await customer(floor, "eko"), questionnaire_id="general",
                                     complete=False, answers={"satisfaction": 1})
    owed = await ended(floor, await customer(floor, "fitri"), "c9")  # pending: nothing to clear
    assert isinstance(owed, SurveyRecord)
    assert await floor.store.purge_answers(T0 + timedelta(days=30)) == 1
    assert await floor.store.purge_answers(T0 + timedelta(days=30)) == 0
    purged, kept = await floor.store.survey(old.survey_id), await floor.store.survey(new.survey_id)
    assert purged is not None and (purged.answers, purged.rating, purged.resolved) == ({}, 4, True)
    assert kept is not None and kept.answers == {"satisfaction": 1}


async def test_a_call_answered_by_an_agent_owes_its_customer_a_survey_through_the_handler_table(
        floor: Floor) -> None:
    await floor.surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
    dewi, eko = await customer(floor, "dewi"), await customer(floor, "eko")

    def item(call_id: str, customer_id: str, outcome: Outcome) -> WorkChanged:
        return WorkChanged(WorkItem(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="+62215550123",
                                    service_number="1500100", queue="care", arrived_at=T0, state=WorkState.ENDED,
                                    agent_id="ana", answered_at=T0, ended_at=T0 + timedelta(minutes=3),
                                    outcome=outcome, customer_id=customer_id))

    floor.surveys.work_changed(item("c1", dewi, Outcome.ANSWERED), floor.distributor)
    floor.surveys.work_changed(item("c2", eko, Outcome.ABANDONED), floor.distributor)  # never served: no survey
    await floor.surveys.drain()
    [owed] = await floor.store.due(T0 + timedelta(minutes=3))
    assert (owed.customer_id, owed.call_id, owed.agent_id, owed.queue, owed.channel, owed.status) == (
        dewi, "c1", "ana", "care", "call", "pending")
    assert await floor.store.last_created(eko) is None


async def test_a_survey_owed_is_not_mailed_once_the_customer_withdrew_e_mail_consent(floor: Floor) -> None:
    await floor.surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
    dewi = await customer(floor, "dewi")
    owed = await ended(floor, dewi, "c1")
    assert isinstance(owed, SurveyRecord)
    record = await floor.customers.customer(dewi)
    assert record is not None
    await floor.customers.update_customer(dewi, replace(record.fields(), consent=Consent(email=False)))
    assert await floor.surveys.send_due() == 0
    kept = await floor.store.survey(owed.survey_id)
    assert kept is not None and (kept.status, kept.last_error, kept.sent_at) == ("failed", "no e-mail consent now",
                                                                                 None)
    assert floor.mail.to("dewi@example.com") == []


async def test_guessing_survey_tokens_is_throttled_per_client(floor: Floor) -> None:
    for n in range(30):
        forged = await floor.client.post("/api/survey/open", json={"token": f"guess-{n:04d}-0123456789abcdefghij"})
        assert forged.status == 404
    refused = await floor.client.post("/api/survey/answer", json={"token": "x" * 43, "answers": {}})
    assert (refused.status, (await refused.json())["error"]["code"]) == (429, "throttled")
    assert refused.headers["Retry-After"] == "900"


async def test_without_a_mail_server_no_survey_is_owed(floor: Floor) -> None:
    await floor.surveys.define("general", {"title": both("Your contact"), "questions": QUESTIONS}, by="sue")
    quiet = SurveyService(floor.store, floor.customers, floor.client.app[AUDIT], mailer=None, link_base="http://x",
                          clock=floor.clock)
    assert await quiet.interaction_ended(InteractionEnded(
        call_id="c1", customer_id=await customer(floor, "dewi"), channel="call", ended_at=T0)) is \
        SkipReason.NO_MAIL_SERVER


@pytest.fixture(scope="module")
def transcriber() -> PocketSphinxTranscriber:
    return PocketSphinxTranscriber()  # one model for the module: it takes seconds to load


def spoken_wav(text: str, voice: str, folder: Path) -> bytes:
    """What Asterisk records of a caller saying ``text``: telephone mu-law, stored as 8 kHz 16-bit WAV."""
    ulaw = caller_speech(text, voice, folder)
    wav = folder / f"{voice}.wav"
    subprocess.run(["sox", "-R", "-t", "ul", "-r", "8000", "-c", "1", str(ulaw), "-b", "16", "-e", "signed", str(wav)],
                   check=True)
    return wav.read_bytes()


async def test_a_spoken_comment_is_a_recording_of_the_call_and_in_english_the_free_text_answer(
        floor: Floor, tmp_path: Path, transcriber: PocketSphinxTranscriber) -> None:
    await floor.client.put("/api/surveys/questionnaires/general", headers=auth("admin"),
                           json={"title": both("Your contact"), "questions": QUESTIONS})
    recordings = RecordingRepository(floor.db, tmp_path / "recordings")
    post_call = PostCallSurveys(floor.surveys, cast(Any, None), floor.client.app[AUDIT], available=True,
                                recordings=recordings, transcriber=transcriber, clock=floor.clock)
    dewi = await customer(floor, "dewi")

    def offer(call_id: str, language: str) -> SurveyOffer:
        return SurveyOffer(call_id=call_id, channel_id=f"leg-{call_id}", caller_number="02155501001",
                           service_number="1500200", customer_id=dewi, questionnaire_id="general",
                           language=language, agent_id="ana", queue="care", offered_by="ana")

    english = spoken_wav("the agent was very helpful thank you", "en-us", tmp_path)
    survey = await post_call.answered(offer("k1", "en"), {"satisfaction": "4", "solved": "yes", "language": "en"},
                                      complete=True, comment=english)
    assert (survey.status, survey.answers) == ("answered", {"satisfaction": 4, "solved": True,
                                                            "comment": "it was really helpful thank you"})
    [kept] = await recordings.for_call("k1")
    assert (kept.recording_id, kept.kind, kept.agent_id, kept.format) == (
        survey.comment_recording_id, "survey_comment", None, "wav")
    assert recordings.file(kept).read_bytes() == english
    stored = await floor.store.survey(survey.survey_id)
    assert stored is not None and stored.comment_recording_id == kept.recording_id
    # Indonesian has no dictation model: the comment is kept as audio alone, the survey answered all the same.
    indonesian = spoken_wav("agennya sangat membantu terima kasih", "id", tmp_path)
    survey = await post_call.answered(offer("k2", "id"), {"satisfaction": "5", "solved": "no", "language": "id"},
                                      complete=True, comment=indonesian)
    assert (survey.status, survey.answers) == ("answered", {"satisfaction": 5, "solved": False})
    [kept] = await recordings.for_call("k2")
    assert (kept.kind, kept.recording_id) == ("survey_comment", survey.comment_recording_id)
