"""Callers in their own words on real calls: the support line's open question, heard through Asterisk's audio tap by
PocketSphinx with the support steering model's n-gram model, routes a sentence to its queue, confirms a middling one,
and hands a caller it cannot understand twice to the keypad menu."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cti.settings import Settings
from cti.sim import Press, Say, SippAgent, SippIvrCaller, Wait
from tests.e2e.conftest import Cti, start_phone
from tests.e2e.test_ivr import FLOWS, served, talked_then_dropped
from tests.support import caller_speech

RULES = {
    "queues": {"sales": {"skills": {"sales": 1}}, "care": {"skills": {"care": 1}}},
    "routes": [{"name": "sales", "when": {"problem_type": "sales"}, "queue": "sales"},
               {"name": "care", "queue": "care"}],
}
VOICES = {"id": "id", "en": "en-us"}
LANGUAGE_KEY = {"id": "1", "en": "2"}
NONSENSE = ("kucing saya suka makan ikan", "sepatu merah itu mahal sekali")
# The callers' scripts run on fixed times, so each answer is said in the middle of the window in which cti listens
# for it, not at its start: a window opens once cti has decided and asked (a second or two; several on a loaded
# machine) and closes 5 s after the question's prompt ends (8-10 s long for the open question, 5 s for a
# confirmation). Said before the window, an answer is lost, as a real caller's answer to a question not yet asked.
AFTER_THE_KEY_MS = 5000  # the language key -> the welcome -> the open question
AFTER_AN_ANSWER_MS = 5500  # an answer -> cti decides -> the next question


@pytest.fixture
def cti_settings_overrides(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "routing.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return {"routing_rules": path, "ivr_flows": FLOWS}


async def agent_ready(cti: Cti, phones: dict[str, SippAgent], settings: Settings) -> None:
    start_phone(phones, settings, "7001", ring_ms=200)
    await cti.create_agent("sam", skills={"sales": 5, "care": 5})
    await cti.login("sam", "7001")


def at_the_question(path: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """What happened at the open question: (event, intent, value) after entering it."""
    return [(p["event"], p.get("intent"), p.get("value")) for p in path if p["node"] == "ask" and p["event"] != "enter"]


# Sentences the recognizer routes at once on this line (no noise, espeak-ng's voices): in other words than the menu's.
@pytest.mark.parametrize(("language", "sentence", "intent", "queue"), [
    ("id", "saya mau bicara dengan operator", "agent", "care"),
])
async def test_a_caller_says_what_they_need_and_reaches_the_right_queue(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, tmp_path: Path,
    language: str, sentence: str, intent: str, queue: str,
) -> None:
    await agent_ready(cti, phones, base_settings)
    said = caller_speech(sentence, VOICES[language], tmp_path)
    caller = SippIvrCaller("1500200", [Wait(1000), Press(LANGUAGE_KEY[language]), Wait(AFTER_THE_KEY_MS), Say(said),
                                       Wait(8000)],
                           caller="0215550431", duration_ms=120_000)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert record.ivr is not None, record
    heard = at_the_question(record.ivr["path"])
    assert heard[0][:2] == ("speech", intent), record.ivr["path"]
    assert [p["node"] for p in record.ivr["path"]][-1] == "agent"
    assert (record.queue, record.agent_id) == (queue, "sam")
    assert record.routing is not None and record.routing["language"] == language


async def test_an_english_caller_confirms_what_was_understood_and_gets_through(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, tmp_path: Path,
) -> None:
    """Heard word for word, but not sure enough to route at once (most callers are asked): "You would like to speak
    to an agent, is that right?" — "yes"."""
    await agent_ready(cti, phones, base_settings)
    said = caller_speech("I want to talk to an agent", "en-us", tmp_path)
    yes = caller_speech("yes", "en-us", tmp_path)
    caller = SippIvrCaller("1500200", [Wait(1000), Press("2"), Wait(AFTER_THE_KEY_MS), Say(said),
                                       Wait(AFTER_AN_ANSWER_MS), Say(yes), Wait(8000)],
                           caller="0215550432", duration_ms=120_000)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert record.ivr is not None, record
    heard = at_the_question(record.ivr["path"])
    assert heard[:2] == [("unsure", "agent", "i want to talk to an agent"), ("speech", "yes", "yes")], heard
    assert (record.queue, record.agent_id) == ("care", "sam")
    assert record.routing is not None and record.routing["language"] == "en"


async def test_a_caller_not_understood_twice_is_offered_the_keypad(
    cti: Cti, phones: dict[str, SippAgent], callers: list[Any], base_settings: Settings, tmp_path: Path,
) -> None:
    await agent_ready(cti, phones, base_settings)
    steps = [Wait(1000), Press("1"), Wait(AFTER_THE_KEY_MS)]
    for nonsense in NONSENSE:  # the question is asked again after the first; the keypad menu follows the second
        steps += [Say(caller_speech(nonsense, "id", tmp_path)), Wait(AFTER_AN_ANSWER_MS)]
    caller = SippIvrCaller("1500200", [*steps, Press("0"), Wait(8000)], caller="0215550433", duration_ms=120_000)
    callers.append(caller)
    await talked_then_dropped(cti)
    record = (await served(cti, caller))[0]
    assert record.ivr is not None, record
    path = record.ivr["path"]
    assert [event for event, _, _ in at_the_question(path)] == ["no_match", "no_match", "failed"], path
    assert [(p["node"], p["event"], p.get("value")) for p in path if p["node"] == "main"] == [
        ("main", "enter", None), ("main", "dtmf", "0")]
    assert (record.queue, record.agent_id) == ("care", "sam")
