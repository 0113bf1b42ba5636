"""Who calls the demo, and what they do in its bilingual IVR.

Every demo caller dials a service number that has an IVR flow (cti/ivr/flows/default.yaml) and goes through it as
people do: picks a language (mostly Indonesian; a customer calling from their own phone is not asked, the IVR
knows theirs from the CRM), then asks for an agent (on the support line in a sentence, as it asks "how can we help
you?"), reports a technical problem, asks about buying, or checks their balance and hangs up satisfied
(self-service: a customer calling from one of their own phones is verified by the number). Keys are SIP INFO DTMF;
with espeak-ng and sox on the machine some callers say their choices instead. :func:`plan_caller` is pure (a seeded
``random.Random`` in, a plan out).
"""

from __future__ import annotations

import random
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cti.types import Language

from ._sipp import Press, Say, Step, Wait

__all__ = ["BILLING", "CARE", "CallerPlan", "Utterances", "plan_caller", "render_utterances"]

CARE: Final = "1500100"
BILLING: Final = "1500200"
# What a caller says to the IVR, by key: (text, espeak-ng voice).
_SPOKEN: Final = {
    "language_id": ("Indonesia", "id"), "language_en": ("English", "en-us"),
    "agent_id": ("bicara dengan agen", "id"), "agent_en": ("agent", "en-us"),
    # The support line asks in the caller's own words; an unsure answer is confirmed with a yes.
    "open_id": ("saya mau bicara dengan operator", "id"), "open_en": ("I want to talk to an agent", "en-us"),
    "yes_id": ("ya", "id"), "yes_en": ("yes", "en-us"),
}
_PATHS: Final = (("agent", 35), ("technical", 20), ("sales", 15), ("balance", 15), ("speech", 15))

Utterances = Mapping[str, Path]
"""Raw 8 kHz mu-law recordings of :data:`_SPOKEN`, by key."""


@dataclass(frozen=True, slots=True)
class CallerPlan:
    service: str
    caller: str
    path: str
    """What they do in the IVR: ``agent``, ``technical``, ``sales``, ``balance`` or ``speech``."""
    language: str
    steps: tuple[Step, ...]
    duration_ms: int
    """How long they stay after the IVR: waiting for an agent and talking (or giving up)."""


def plan_caller(rng: random.Random, numbers: Sequence[str], known: Mapping[str, Language],
                utterances: Utterances | None = None) -> CallerPlan:
    """One caller from ``numbers`` (``known``: those of CRM customers, with the customer's language), and what
    they will do."""
    caller = rng.choice(numbers)
    service = BILLING if rng.random() < 0.25 else CARE
    customer = caller in known
    language = known[caller] if customer else "en" if rng.random() < 0.15 else "id"
    paths = [(p, w) for p, w in _PATHS if (p != "balance" or customer) and (p != "speech" or utterances)]
    path = rng.choices([p for p, _ in paths], weights=[w for _, w in paths])[0]
    # Most are patient (up to 40 s with an agent or waiting for one); about one in five gives up within seconds.
    duration = rng.randint(20_000, 40_000) if rng.random() > 0.2 else rng.randint(2000, 6000)
    # A customer's language is known: the IVR goes straight to its welcome and main menu.
    steps: list[Step] = [Wait(rng.randint(1000, 1800))]
    if not customer:
        steps += [Press("1" if language == "id" else "2"), Wait(1500)]
    if path == "agent":
        steps.append(Press("0"))
    elif path == "technical":
        steps.append(Press("4"))
        if service == BILLING:  # the support flow asks which product
            steps += [Wait(1500), Press(rng.choice("123"))]
    elif path == "sales":
        steps.append(Press("3"))
        if service == CARE:  # the sales flow asks which product
            steps += [Wait(1500), Press(rng.choice("123"))]
    elif path == "balance":
        # Verified by the number; the balance is read out, then "anything else?": 2, no thank you.
        steps += [Press("2"), Wait(9000), Press("2")]
        duration = 1500
    else:
        assert utterances is not None
        steps = [Wait(1500)] if customer else [Wait(1500), Say(utterances[f"language_{language}"]), Wait(4500)]
        if service == BILLING:  # "how can we help you?": a sentence, then yes to "an agent, is that right?"
            steps += [Say(utterances[f"open_{language}"]), Wait(2500), Say(utterances[f"yes_{language}"]), Wait(2000)]
        else:
            # Said twice: a no-match reprompts, as it would for a person; once heard, the second falls on music.
            steps += [Say(utterances[f"agent_{language}"]), Wait(5000), Say(utterances[f"agent_{language}"]),
                      Wait(2000)]
    return CallerPlan(service, caller, path, language, tuple(steps), duration)


def render_utterances(directory: Path) -> dict[str, Path] | None:
    """Record what speaking callers say (espeak-ng, then the telephone line's 8 kHz mu-law through sox); None
    when either tool is missing: the demo's callers then use the keypad only."""
    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        return None
    out: dict[str, Path] = {}
    for key, (text, voice) in _SPOKEN.items():
        wav, ulaw = directory / f"{key}.wav", directory / f"{key}.ulaw"
        try:
            subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(wav), text], check=True,
                           capture_output=True, timeout=30)
            subprocess.run(["sox", "-R", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(ulaw), "pad", "0.2",
                            "0.3"],
                           check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None
        out[key] = ulaw
    return out
