"""The demo's callers: who dials which service number, and what they key (or say) in the IVR."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from cti.sim import Press, Say
from cti.sim._demo_callers import BILLING, CARE, plan_caller

NUMBERS = [f"0812{n:08d}" for n in range(20)] + ["02155501001", "+61412345004"]
KNOWN = {number: "en" if n == 3 else "id" for n, number in enumerate(NUMBERS[:10])}  # customers: their language


def keys(plan_steps: tuple[object, ...]) -> str:
    return "".join(step.keys for step in plan_steps if isinstance(step, Press))


def test_plans_are_deterministic_for_a_seed() -> None:
    first = [plan_caller(random.Random(5), NUMBERS, KNOWN) for _ in range(3)]
    assert first == [plan_caller(random.Random(5), NUMBERS, KNOWN) for _ in range(3)]


def test_callers_key_a_language_then_a_choice_and_only_customers_ask_their_balance() -> None:
    rng = random.Random(1)
    plans = [plan_caller(rng, NUMBERS, KNOWN) for _ in range(2000)]
    paths = Counter(plan.path for plan in plans)
    assert set(paths) == {"agent", "technical", "sales", "balance"}  # no speech without recordings
    assert 0.3 < paths["agent"] / len(plans) < 0.5
    services = Counter(plan.service for plan in plans)
    assert set(services) == {CARE, BILLING} and services[CARE] > 2 * services[BILLING]
    languages = Counter(plan.language for plan in plans)
    assert 0.08 < languages["en"] / len(plans) < 0.25
    for plan in plans:
        pressed = keys(plan.steps)
        if plan.caller in KNOWN:  # the IVR knows a customer's language: no language menu
            assert plan.language == KNOWN[plan.caller]
        else:
            assert pressed[0] == ("1" if plan.language == "id" else "2")
            pressed = pressed[1:]
        first_choice = {"agent": "0", "technical": "4", "sales": "3", "balance": "2"}[plan.path]
        assert pressed[0] == first_choice, plan
        if plan.path == "balance":
            assert plan.caller in KNOWN and pressed == "22"  # balance, then "nothing else"
    patient = [plan.duration_ms for plan in plans if plan.path != "balance"]
    assert 0.1 < sum(d < 10_000 for d in patient) / len(patient) < 0.3  # about one in five gives up soon


def test_with_recordings_some_callers_speak(tmp_path: Path) -> None:
    utterances = {key: tmp_path / f"{key}.ulaw" for key in ("language_id", "language_en", "agent_id", "agent_en",
                                                              "open_id", "open_en", "yes_id", "yes_en")}
    rng = random.Random(2)
    spoken = [p for p in (plan_caller(rng, NUMBERS, KNOWN, utterances) for _ in range(500)) if p.path == "speech"]
    assert 40 < len(spoken) < 120
    for plan in spoken:
        said = [step.audio.name for step in plan.steps if isinstance(step, Say)]
        language = [] if plan.caller in KNOWN else [f"language_{plan.language}.ulaw"]
        asked = ([f"open_{plan.language}.ulaw", f"yes_{plan.language}.ulaw"] if plan.service == BILLING
                 else [f"agent_{plan.language}.ulaw"] * 2)
        assert said == language + asked
        assert not keys(plan.steps)
