"""The post-call IVR survey on real calls: a known customer asks for it in the IVR (and is asked again on their
next call: remembered), or the agent offers it; the agent hangs up, the caller stays on the line and rates the
call by keypad or by voice (SIPp), and the answers reach the survey tables and the customer's survey profile; a
caller who hangs up halfway leaves a partial answer, one who hangs up at the (optional) comment a complete one, and
one who speaks a comment leaves its recording and, in English, its transcript."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.persistence import CustomerRepository, RecordingRepository, SurveyRepository
from cti.settings import Settings
from cti.sim import JAKARTA_GOLD, Press, Say, SippAgent, SippIvrCaller, Step, Wait, generate
from cti.surveys import SurveyRecord
from cti.web import POST_CALL_SURVEYS
from tests.e2e.conftest import Cti, start_phone
from tests.support import caller_speech, eventually

FLOWS = Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml"
RULES = {"queues": {"care": {"skills": {"care": 1}}}, "routes": [{"name": "care", "queue": "care"}]}
BUDI_PHONE = "02155501001"  # a phone of Budi (JAKARTA_GOLD) in the seeded CRM; he speaks Indonesian
QUESTIONNAIRE = {
    "title": {"id": "Setelah panggilan Anda", "en": "After your call"},
    "segment": {"channel": "call"},
    "questions": [
        {"key": "satisfaction", "kind": "rating", "metric": "csat",
         "text": {"id": "Seberapa puas Anda?", "en": "How satisfied are you?"}},
        {"key": "solved", "kind": "yes_no", "metric": "fcr",
         "text": {"id": "Apakah masalah Anda terselesaikan?", "en": "Was your problem solved?"}},
        {"key": "comment", "kind": "text", "required": False,
         "text": {"id": "Saran Anda", "en": "Your comments"}},
    ],
}


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path, "ivr_flows": FLOWS, "recording_dir": tmp_path / "recordings"}


async def prepare(cti: Cti, phones: dict[str, SippAgent], settings: Settings, *, language: str = "id") -> None:
    """Budi in the CRM (speaking ``language``), the questionnaire for calls, Ana ready at 7001."""
    customers = CustomerRepository(cti.db)
    await customers.seed(generate(now=datetime.now(UTC), customers=20))
    budi = await customers.customer(JAKARTA_GOLD)
    assert budi is not None
    await customers.update_customer(JAKARTA_GOLD, replace(budi.fields(), language=language))
    await cti.api("PUT", "/api/surveys/questionnaires/after-call", json=QUESTIONNAIRE)
    start_phone(phones, settings, "7001", ring_ms=200)
    await cti.create_agent("ana", skills={"care": 5})
    await cti.login("ana", "7001")


async def offered_then_hung_up(cti: Cti) -> str:
    """Once Ana talks to Budi she offers the survey and hangs up on the desktop: the caller stays for it."""
    call = await cti.first_call()
    await cti.answered(call.call_id, timeout=30)
    token = cti.agent_tokens["ana"]
    offer = await cti.api("POST", f"/api/calls/{call.call_id}/survey", token=token, expect=201)
    assert (offer["customer_id"], offer["questionnaire_id"]) == (JAKARTA_GOLD, "after-call")
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    return call.call_id


async def survey_of(cti: Cti, call_id: str, caller: SippIvrCaller, timeout: float = 15.0) -> SurveyRecord:
    """The stored survey of the call once the caller's line is down and the survey flow let go of it."""
    assert await asyncio.to_thread(caller.wait, 90) == 0, caller.errors()[-1500:]
    await eventually(lambda: cti.telephony.ivr is not None and not cti.telephony.ivr.calls,
                     message="the survey flow to finish")

    async def stored() -> SurveyRecord | None:
        return next((s for s in await SurveyRepository(cti.db).of_customer(JAKARTA_GOLD) if s.call_id == call_id),
                    None)

    return await eventually(stored, timeout=timeout, message="the survey row")


def call_then(then: list[Step]) -> list[Step]:
    """Budi (language known) presses 0 for an agent during the welcome, then stays on through the conversation
    (ended by the test as soon as Ana answers; the long wait leaves room for a slow machine: the survey's first
    prompt is long and its keys barge in), then does ``then``."""
    return [Wait(1500), Press("0"), Wait(16000), *then]


async def test_a_caller_who_hangs_up_after_the_rating_leaves_a_partial_answer(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
) -> None:
    await prepare(cti, phones, base_settings)
    caller = SippIvrCaller("1500200", call_then([Press("2"), Wait(1500)]), caller=BUDI_PHONE, duration_ms=100,
                           target=cti.settings.sip_bind)
    callers.append(caller)
    call_id = await offered_then_hung_up(cti)
    survey = await survey_of(cti, call_id, caller)
    assert (survey.status, survey.answers, survey.rating, survey.resolved) == (
        "partial", {"satisfaction": 2}, 2, None)


async def test_an_english_caller_rates_the_call_by_voice_and_leaves_a_spoken_comment(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, tmp_path: Path,
) -> None:
    await prepare(cti, phones, base_settings, language="en")
    # The rating and the resolution by voice, then, after the comment's prompt and tone, a sentence; the silence
    # after it ends the recording, and the flow thanks him and hangs up.
    caller = SippIvrCaller("1500200", call_then([
        Say(caller_speech("five", "en-us", tmp_path)), Wait(3500), Say(caller_speech("yes", "en-us", tmp_path)),
        Wait(9000), Say(caller_speech("the agent was very helpful thank you", "en-us", tmp_path))]),
        caller=BUDI_PHONE, duration_ms=20_000, target=cti.settings.sip_bind)
    callers.append(caller)
    call_id = await offered_then_hung_up(cti)
    survey = await survey_of(cti, call_id, caller, timeout=40)  # the transcript is seconds of CPU
    assert (survey.status, survey.language, survey.answers["satisfaction"], survey.answers["solved"]) == (
        "answered", "en", 5, True)
    assert "helpful" in str(survey.answers["comment"]), survey.answers
    recordings = RecordingRepository(cti.db, cti.settings.recording_dir)
    [comment] = [r for r in await recordings.for_call(call_id) if r.kind == "survey_comment"]
    assert (comment.recording_id, comment.agent_id) == (survey.comment_recording_id, None)
    assert comment.size > 8000 * 2 * 2  # seconds of 8 kHz 16-bit audio, not an empty file
    # Asterisk keeps no copy: cti's recordings directory is the one place retention and erasure look.
    assert not [line for line in (await cti.ari.request("GET", "/recordings/stored") or [])
                if str(line.get("name", "")).startswith("cti-ivr-")]


async def test_a_caller_who_asks_for_the_survey_in_the_ivr_is_asked_on_this_call_and_the_next(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
) -> None:
    await prepare(cti, phones, base_settings)
    token = cti.agent_tokens["ana"]
    post_call = cti.client.app[POST_CALL_SURVEYS]
    # Nine in the main menu asks for it (and is thanked), then zero for an agent; Ana does not offer it herself.
    first = SippIvrCaller("1500200", [Wait(1500), Press("9"), Wait(5000), Press("0"), Wait(16000), Press("5"),
                                      Wait(4000), Press("2")], caller=BUDI_PHONE, duration_ms=1500,
                          target=cti.settings.sip_bind)
    callers.append(first)
    call = await cti.first_call()
    await cti.answered(call.call_id, timeout=40)
    offer = await eventually(lambda: post_call.offered(call.call_id), message="the caller's own offer")
    assert offer.offered_by == "caller"
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    survey = await survey_of(cti, call.call_id, first)
    # He hung up at the comment's prompt: it is optional, so the survey is complete.
    assert (survey.status, survey.answers, survey.comment_recording_id) == (
        "answered", {"satisfaction": 5, "solved": False}, None)
    # Remembered: Budi's consent, so his next call is asked too, with no key pressed.
    budi = await CustomerRepository(cti.db).customer(JAKARTA_GOLD)
    assert budi is not None and budi.consent.surveys
    second = SippIvrCaller("1500200", call_then([Press("3"), Wait(4000), Press("1")]), caller=BUDI_PHONE,
                           duration_ms=1500, target=cti.settings.sip_bind)
    callers.append(second)
    first_id = call.call_id
    call = await eventually(lambda: next((c for c in cti.query.calls() if c.call_id != first_id), None),
                            timeout=30, message="the second call")
    await cti.answered(call.call_id, timeout=40)
    offer = await eventually(lambda: post_call.offered(call.call_id), message="the remembered offer")
    assert offer.offered_by == "consent"
    await cti.api("POST", f"/api/calls/{call.call_id}/hangup", token=token)
    survey = await survey_of(cti, call.call_id, second)
    assert (survey.status, survey.answer_channel, survey.channel, survey.agent_id, survey.queue) == (
        "answered", "ivr", "call", "ana", "care")
    assert (survey.answers, survey.rating, survey.resolved) == ({"satisfaction": 3, "solved": True}, 3, True)
    # The customer's profile (the agent's pop reads it) has both, the latest first.
    profile = await cti.api("GET", f"/api/customers/{JAKARTA_GOLD}/surveys", token=token)
    assert (profile["answered"], profile["latest_rating"], profile["latest_resolved"], profile["trend"]) == (
        2, 3, True, [5, 3]), profile
    assert cti.telephony.counters["post_call_surveys"] == 2

