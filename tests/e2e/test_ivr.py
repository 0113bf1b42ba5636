"""The bilingual IVR on real calls: keypad and speech, routing with what it learnt, callers verified before
self-service, which is heard back."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.async_api import expect

from cti.asterisk import AsteriskRoot
from cti.ivr import load_flows_file, position_text
from cti.persistence import CustomerRepository, InteractionRepository
from cti.settings import Settings
from cti.sim import (
    BUDI_PIN,
    JAKARTA_GOLD,
    SURABAYA_OPEN_ORDER,
    Press,
    Say,
    SippAgent,
    SippIvrCaller,
    Step,
    Wait,
    generate,
)
from cti.speech import PromptRenderer
from cti.telephony import call_bridge_id
from tests.e2e.conftest import Cti, start_phone
from tests.support import browser_page, caller_speech, eventually

FLOWS = Path(__file__).resolve().parents[2] / "cti/ivr/flows/default.yaml"
RULES = {
    "queues": {"sales": {"skills": {"sales": 1}}, "care": {"skills": {"care": 1}, "announce_seconds": 2}},
    "routes": [{"name": "sales", "when": {"problem_type": "sales"}, "queue": "sales"},
               {"name": "care", "queue": "care"}],
}


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path, "ivr_flows": FLOWS}


async def talked_then_dropped(cti: Cti) -> None:
    """Once an agent talks to the caller the test is done with the call: it drops the line (and whatever the
    caller's script had left), rather than wait out a fixed duration."""
    call = await eventually(lambda: next(iter(cti.query.calls()), None), timeout=40, message="the call queued")
    await cti.answered(call.call_id)

    async def talking() -> bool:  # answered is the agent's pick-up; a drop before the bridge is a failed call
        bridge = next((b for b in await cti.ari.list_bridges() if b.id == call_bridge_id(call.call_id)), None)
        return bridge is not None and len(bridge.channels) == 2

    await eventually(talking, message="the caller and the agent bridged")
    await cti.ari.hangup(call.channel_id)


async def served(cti: Cti, caller: SippIvrCaller, timeout: float = 60) -> list[Any]:
    """The caller's interaction rows once the call is over, in the IVR and in routing."""
    assert await asyncio.to_thread(caller.wait, timeout) == 0, caller.errors()[-1500:]
    # A call that ends in the IVR never reaches the core: wait for the IVR to let go of it, then its row.
    await eventually(lambda: cti.telephony.ivr is not None and not cti.telephony.ivr.calls,
                     message="the IVR to finish")
    await cti.settled()
    return await eventually(lambda: InteractionRepository(cti.db).list(limit=5), message="the interaction row")


async def test_keypad_caller_chooses_english_and_sales_and_reaches_the_sales_team(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, asterisk: AsteriskRoot,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("sam", skills={"sales": 5})
    await cti.login("sam", "7001")
    caller = SippIvrCaller("1500100", [Wait(1200), Press("2"), Wait(1500), Press("3"), Wait(1500), Press("1")],
                           caller="0215550401", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(caller)
    await talked_then_dropped(cti)
    records = await served(cti, caller)
    record = records[0]
    assert (record.queue, record.agent_id, record.outcome) == ("sales", "sam", "answered")
    assert record.routing is not None
    assert (record.routing["language"], record.routing["product"], record.routing["problem_type"]) == (
        "en", "internet", "sales")
    assert record.ivr is not None and record.ivr["outcome"] == "transferred"
    assert [(p["node"], p["event"], p.get("value")) for p in record.ivr["path"] if p["event"] == "dtmf"] == [
        ("language", "dtmf", "2"), ("main", "dtmf", "3"), ("sales", "dtmf", "1")]
    assert "Please hold while we connect you to our sales team." in record.ivr["prompts"]
    # Prompts were rendered once per language into Asterisk's sounds folders.
    sounds = asterisk.sounds_dir
    assert list((sounds / "en/cti").glob("*.wav")) and list((sounds / "id/cti").glob("*.wav"))


BUDI_PHONE = "02155501001"  # one of Budi's (10000001) phones in the seeded CRM; he owes Rp 750.000
BALANCE_HEARD = "Tagihan Anda tujuh ratus lima puluh ribu rupiah"


async def seed(cti: Cti) -> None:
    await CustomerRepository(cti.db).seed(generate(now=datetime.now(UTC), customers=20))


def claim_budi(then: list[Step]) -> list[Step]:
    """An Indonesian caller from a number that is no customer's asks for the balance and keys Budi's customer
    number (eight keys end the entry), then does ``then`` at the PIN question."""
    return [Wait(1000), Press("1"), Wait(1500), Press("2"), Wait(1200), Press(JAKARTA_GOLD), Wait(1000), *then]


async def test_a_caller_from_the_customer_s_phone_is_verified_by_it_and_hears_the_balance(
    cti: Cti, callers: list[Any],
) -> None:
    await seed(cti)
    # Budi's language is known: no language question; "2" skips the welcome and asks for the balance.
    caller = SippIvrCaller("1500200", [Wait(1500), Press("2"), Wait(9000), Press("2")], caller=BUDI_PHONE,
                           duration_ms=15000, target=cti.settings.sip_bind)
    callers.append(caller)
    record = (await served(cti, caller))[0]
    assert (record.outcome, record.end_reason, record.agent_id) == ("self_service", "ivr_completed", None)
    assert record.ivr is not None and record.ivr["language"] == "id"
    assert record.ivr["verification"] == {"verified": True, "method": "caller_id", "customer_id": JAKARTA_GOLD,
                                          "claimed": None, "failures": 0, "locked": False}
    assert ("verify_balance", "verified", "caller_id") in [(p["node"], p["event"], p.get("value"))
                                                           for p in record.ivr["path"]]
    assert any(p["node"] == "balance_lookup" and p["event"] == "found" for p in record.ivr["path"]), record.ivr
    heard = " | ".join(record.ivr["prompts"])
    assert BALANCE_HEARD in heard, heard
    assert "nomor pelanggan" not in heard  # never asked who they are
    assert "Terima kasih telah menghubungi kami. Sampai jumpa." in heard
    assert record.customer_id == JAKARTA_GOLD


async def test_a_caller_from_another_number_who_keys_the_right_pin_is_served(
    cti: Cti, callers: list[Any],
) -> None:
    await seed(cti)
    caller = SippIvrCaller("1500200", claim_budi([Press(f"{BUDI_PIN}#"), Wait(9000), Press("2")]),
                           caller="0215550402", duration_ms=15000, target=cti.settings.sip_bind)
    callers.append(caller)
    record = (await served(cti, caller))[0]
    assert (record.outcome, record.end_reason, record.agent_id) == ("self_service", "ivr_completed", None)
    assert record.ivr is not None
    assert record.ivr["verification"] == {"verified": True, "method": "pin", "customer_id": JAKARTA_GOLD,
                                          "claimed": None, "failures": 0, "locked": False}
    events = [(p["event"], p.get("value")) for p in record.ivr["path"] if p["node"] == "verify_balance"]
    assert events == [("enter", None), ("claimed", JAKARTA_GOLD), ("keyed", "<4 keys>"), ("verified", "pin")]
    assert BUDI_PIN not in json.dumps(record.ivr)  # the PIN is in no record
    heard = " | ".join(record.ivr["prompts"])
    assert BALANCE_HEARD in heard, heard
    assert record.customer_id == JAKARTA_GOLD
    assert cti.telephony.counters["ivr_verified"] == 1


async def test_a_caller_who_keys_another_customer_s_number_and_wrong_pins_hears_nothing_of_theirs(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=200)
    token = await cti.create_agent("ana", skills={"care": 5})
    await cti.api("PATCH", "/api/me", token=token, json={"language": "en"})  # the page's texts below are English
    async with browser_page() as page:
        await page.goto(f"{cti.client.make_url('/ui/desktop.html')}#token={token}")
        await page.fill("#extension", "7001")
        await page.click("#login")
        await expect(page.locator("#agent-state")).to_have_text("ready")
        await expect(page.locator("#link")).to_have_text("connected")
        # A wrong PIN, a wrong date of birth, a wrong PIN: self-service ends for the call.
        caller = SippIvrCaller("1500200", claim_budi([Press("1111#"), Wait(1500), Press("17081976"), Wait(1500),
                                                      Press("2222#")]),
                               caller="0215550407", duration_ms=120_000,
                               target=cti.settings.sip_bind)  # the test drops the line
        callers.append(caller)
        # The caller reaches an agent, whose pop shows them as not verified, Budi's number only as a claim, and
        # nothing of his record.
        await expect(page.locator("#caller-verified")).to_have_text(
            f"not verified — claimed customer #{JAKARTA_GOLD}, not verified", timeout=40000)
        await expect(page.locator("#customer-name")).to_have_text("Unknown caller")
        assert await page.text_content("#customer-balance") == ""
        await talked_then_dropped(cti)
        record = (await served(cti, caller))[0]
    assert (record.queue, record.agent_id, record.outcome) == ("care", "ana", "answered")
    assert record.customer_id is None  # the keyed number never became the call's customer
    assert record.ivr is not None and record.ivr["outcome"] == "transferred"
    assert record.ivr["verification"] == {"verified": False, "method": "none", "customer_id": None,
                                          "claimed": JAKARTA_GOLD, "failures": 3, "locked": True}
    events = [(p["event"], p.get("value")) for p in record.ivr["path"] if p["node"] == "verify_balance"]
    assert events == [("enter", None), ("claimed", JAKARTA_GOLD), ("keyed", "<4 keys>"), ("verify_failed", "pin"),
                      ("keyed", "<8 keys>"), ("verify_failed", "dob"), ("keyed", "<4 keys>"),
                      ("verify_failed", "pin"), ("verify_locked", "3")]
    assert not any(p["node"] == "balance_lookup" for p in record.ivr["path"])
    heard = " | ".join(record.ivr["prompts"])
    assert "Tagihan" not in heard and "rupiah" not in heard, heard
    assert "Maaf, data yang Anda masukkan tidak sesuai." in heard
    assert "Maaf, identitas Anda tidak dapat kami pastikan. Agen kami akan membantu Anda." in heard
    assert record.routing is not None and record.routing["problem_type"] == "billing"
    assert cti.telephony.counters["ivr_verification_failed"] == 1
    assert "cti_ivr_verification_failed_total 1" in await cti.api("GET", "/metrics")
    view = await CustomerRepository(cti.db).customer_view(JAKARTA_GOLD)
    assert view is not None and all(c.call_id != record.call_id for c in view.contacts)


async def test_invalid_order_number_is_retried_then_the_caller_reaches_an_agent(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
) -> None:
    await seed(cti)
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("ana", skills={"care": 5})
    await cti.login("ana", "7001")
    # From Siti's phone: verified by it, and her language is known (no language question).
    steps = [Wait(1500), Press("1"), Wait(1500)]
    for _ in range(3):  # three garbage entries: letters-free but too short and with a star
        steps += [Press("12*#"), Wait(2500)]
    caller = SippIvrCaller("1500200", steps, caller="0315550202", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert (record.queue, record.agent_id, record.outcome) == ("care", "ana", "answered")
    assert record.routing is not None and record.routing["problem_type"] == "order_status"
    assert record.ivr is not None and record.ivr["verification"]["method"] == "caller_id"
    assert [p["event"] for p in record.ivr["path"] if p["node"] == "ask_order"].count("invalid") == 3
    assert record.customer_id == SURABAYA_OPEN_ORDER


async def test_a_technical_problem_reaches_the_queue_with_the_priority_the_ivr_gives_it(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("ana", skills={"care": 5})
    await cti.login("ana", "7001")
    # English, "technical problem", "internet": the support flow's to_support node transfers with priority 5.
    caller = SippIvrCaller("1500200", [Wait(1000), Press("2"), Wait(1500), Press("4"), Wait(1500), Press("1")],
                           caller="0215550406", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert (record.queue, record.agent_id, record.outcome) == ("care", "ana", "answered")
    assert record.routing is not None
    assert (record.routing["problem_type"], record.routing["product"], record.routing["priority"]) == (
        "technical", "internet", 5)
    queued = record.routing["decisions"][0]
    assert queued["kind"] == "queued" and queued["reason"] == (
        "route 'care' matched; priority 0; the IVR raised the priority to 5")


async def test_caller_hanging_up_mid_prompt_is_recorded_and_leaves_nothing(cti: Cti, callers: list[Any]) -> None:
    caller = SippIvrCaller("1500100", [Wait(800)], caller="0215550404", duration_ms=10, target=cti.settings.sip_bind)
    callers.append(caller)
    record = (await served(cti, caller))[0]
    assert (record.outcome, record.end_reason) == ("abandoned", "caller_hangup")
    assert record.ivr is not None and record.ivr["outcome"] == "abandoned_in_ivr"
    assert cti.telephony.ivr is not None and not cti.telephony.ivr.calls


@pytest.mark.parametrize(("language", "voice", "menu", "intent", "queue"), [
    ("en", "en-us", "agent", "agent", "care"),
    ("id", "id", "bicara dengan agen", "agent", "care"),
])
async def test_spoken_choices_reach_the_right_queue(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, tmp_path: Path,
    language: str, voice: str, menu: str, intent: str, queue: str,
) -> None:
    start_phone(phones, base_settings, "7001", ring_ms=200)
    await cti.create_agent("sam", skills={"sales": 5, "care": 5})
    await cti.login("sam", "7001")
    flows = load_flows_file(FLOWS)
    language_word = "English" if language == "en" else "Indonesia"
    # The sales line: its menu comes first (the support line asks in the caller's own words: test_call_steering.py).
    caller = SippIvrCaller("1500100", [
        Wait(1500), Say(caller_speech(language_word, voice, tmp_path)), Wait(4500),
        # Said twice: a no-match reprompts, as it would for a person (speech is not certain); once heard,
        # the second saying falls on the queue's music and is ignored.
        Say(caller_speech(menu, voice, tmp_path)), Wait(5000), Say(caller_speech(menu, voice, tmp_path)), Wait(3000)],
        caller="0215550405", duration_ms=120_000, target=cti.settings.sip_bind)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert record.ivr is not None, record
    spoken = [p for p in record.ivr["path"] if p["event"] == "speech"]
    intents = [p.get("intent") for p in spoken]
    assert intents[0] == f"language_{language}" and intent in intents[1:], record.ivr["path"]
    assert (record.queue, record.agent_id) == (queue, "sam")
    assert record.routing is not None and record.routing["language"] == language
    assert flows.settings.min_confidence <= min(p["confidence"] for p in spoken)
    assert await eventually(lambda: cti.telephony.ivr is not None and cti.telephony.ivr.stats["speech_results"] >= 2)


async def test_a_waiting_indonesian_caller_hears_position_and_wait_in_indonesian(
    cti: Cti, callers: list[Any], base_settings: Settings, asterisk: AsteriskRoot,
) -> None:
    caller = SippIvrCaller("1500200", [Wait(1000), Press("1"), Wait(1500), Press("0")],
                           caller="0215550406", duration_ms=120_000,
                           target=cti.settings.sip_bind)  # the test drops the line
    callers.append(caller)
    call = await cti.first_call()  # in the care queue, nobody to take it
    assert call.routing.language == "id"
    expected = position_text(1, cti.query.estimated_wait(call.queue, 1), "id")
    await eventually(lambda: cti.telephony.counters["announcements"] >= 1, message="an announcement")
    await cti.ari.hangup(call.channel_id)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    assert expected.startswith("Anda berada di urutan berikutnya.")
    sounds = asterisk.sounds_dir
    assert PromptRenderer(sounds).cached(expected, "id") is not None  # rendered in Indonesian and played
