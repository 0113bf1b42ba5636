"""A caller turned away under overload hears why when the dialplan has the message's prompts, and gets the
congestion alone when it has not: the telephony adapter on a stand-in for ARI (the real path: e2e test_admission)."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from cti.acd import ContactCenter, WorkItem
from cti.ari import AriHTTPError
from cti.services import CommandBus, Distributor
from cti.speech import TtsError
from cti.telephony import SHED_CAUSE, AdmissionControl, Monitors, Telephony, VoiceActions

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class Ari:
    def may_act(self) -> bool:
        return True

    def __init__(self, *, refuse_continue: bool = False) -> None:
        self.requests: list[tuple[str, ...]] = []
        self.refuse_continue = refuse_continue

    async def hangup_with_cause(self, channel_id: str, cause: int) -> None:
        self.requests.append(("hangup", channel_id, f"cause {cause}"))

    async def continue_in_dialplan(self, channel_id: str, context: str, extension: str = "s",
                                   priority: int = 1) -> None:
        if self.refuse_continue:
            raise AriHTTPError(404, "POST", f"/channels/{channel_id}/continue", "Channel not found")
        self.requests.append(("continue", channel_id, context, extension, str(priority)))

    async def set_global(self, name: str, value: str) -> None:
        self.requests.append(("global", name, value))


class Prompts:
    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail
        self.texts: list[tuple[str, str]] = []

    async def media(self, text: str, language: str) -> str:
        if self.fail:
            raise TtsError("espeak-ng is not installed")
        self.texts.append((text, language))
        return f"sound:cti/{language}-{len(self.texts)}"


def telephony(ari: Any, prompts: Any) -> tuple[Telephony, list[WorkItem]]:
    distributor = Distributor(ContactCenter(), lambda: NOW, CommandBus({}))
    actions = VoiceActions(ari, distributor.query, Monitors(ari, ring_timeout=30), Counter(), ring_timeout=15,
                           callback_ring_timeout=30, prompts=prompts)
    recorded: list[WorkItem] = []
    return Telephony(ari, "http://127.0.0.1:1", "cti", "secret", "cti", distributor=distributor, actions=actions,
                     monitors=actions.monitors, admission=AdmissionControl(), journal=cast(Any, None),
                     counters=Counter(), record_ended=recorded.append), recorded


def arrival() -> WorkItem:
    return WorkItem("c1", "chan-c1", "0215550123", "1500100", "", NOW)


async def test_a_shed_caller_is_handed_to_the_dialplan_s_message_once_its_prompts_are_named() -> None:
    ari, prompts = Ari(), Prompts()
    adapter, recorded = telephony(ari, prompts)
    await adapter._arm_overload_message()
    assert [language for _, language in prompts.texts] == ["id", "en"]
    assert prompts.texts[0][0].startswith("Mohon maaf, saluran kami sedang penuh")
    assert ari.requests == [("global", "CTI_OVERLOADED_ID", "cti/id-1"), ("global", "CTI_OVERLOADED_EN", "cti/en-2")]
    ari.requests.clear()
    await adapter._shed(arrival(), "rate")
    assert ari.requests == [("continue", "chan-c1", "cti-overloaded", "s", "1")]
    assert [(r.outcome.value if r.outcome else None, r.end_reason.value if r.end_reason else None)
            for r in recorded] == [("rejected", "overload")]
    assert adapter.counters["calls_shed"] == adapter.counters["calls_shed_with_message"] == 1


async def test_without_the_prompts_or_when_the_dialplan_refuses_the_caller_gets_congestion_alone() -> None:
    ari = Ari()
    adapter, recorded = telephony(ari, Prompts(fail=True))
    await adapter._arm_overload_message()  # the TTS failed: nothing named
    await adapter._shed(arrival(), "setups")
    assert ari.requests == [("hangup", "chan-c1", "cause 34")]

    ari = Ari(refuse_continue=True)
    adapter, recorded = telephony(ari, Prompts())
    await adapter._arm_overload_message()
    ari.requests.clear()
    await adapter._shed(arrival(), "setups")
    assert ari.requests == [("hangup", "chan-c1", "cause 34")]
    assert len(recorded) == 1 and adapter.counters["calls_shed_with_message"] == 0


async def test_callers_shed_by_the_hundred_make_one_log_line_per_period(caplog: pytest.LogCaptureFixture) -> None:
    adapter, recorded = telephony(Ari(), Prompts())
    with caplog.at_level(logging.WARNING, logger="cti.telephony"):
        for n in range(200):
            await adapter._shed(WorkItem(f"c{n}", f"chan-c{n}", "0215550123", "1500100", "", NOW), "rate")
    lines = [r.getMessage() for r in caplog.records if "turning away" in r.getMessage()]
    assert len(recorded) == 200 and len(lines) == 1
    assert lines[0].startswith("overload (rate): turning away callers (1 since the last such line")
    assert "0215550123" not in lines[0]  # the number masked


async def test_a_flood_of_shed_callers_gets_the_message_a_few_a_second_and_congestion_beyond(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [1000.0]
    monkeypatch.setattr("cti.telephony._telephony.time.monotonic", lambda: clock[0])
    ari = Ari()
    adapter, recorded = telephony(ari, Prompts())
    await adapter._arm_overload_message()
    ari.requests.clear()
    for n in range(10):
        await adapter._shed(WorkItem(f"c{n}", f"chan-c{n}", "0215550123", "1500100", "", NOW), "setups")
    clock[0] += 1.0
    await adapter._shed(WorkItem("late", "chan-late", "0215550123", "1500100", "", NOW), "setups")
    told = [r[1] for r in ari.requests if r[0] == "continue"]
    assert told == ["chan-c0", "chan-c1", "chan-late"]
    assert [r[1] for r in ari.requests if r[0] == "hangup"] == [f"chan-c{n}" for n in range(2, 10)]
    assert len(recorded) == 11 and adapter.counters["calls_shed_with_message"] == 3


def test_the_dialplan_s_message_ends_with_the_cause_cti_sheds_with() -> None:
    """The cluster's Kamailio tells a caller cti turned away from a failing node by this cause (docs/scaling.md):
    the dialplan's ``cti-overloaded`` and cti's own hang-up must give the same."""
    text = (Path(__file__).resolve().parents[2] / "dialplans" / "extensions.conf").read_text()
    context = text.split("\n[cti-overloaded]\n", 1)[1].split("\n[", 1)[0]
    hangups = [line.split("Hangup(", 1)[1].split(")")[0] for line in context.splitlines() if "Hangup(" in line]
    assert hangups == [str(SHED_CAUSE)]
