"""A call ends when Asterisk says it did (its events' ``timestamp``), not when the controller got round to the
event: parsed ARI frames through the telephony adapter to the distributor, on a stand-in for ARI."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from cti.acd import Channel, ContactCenter, Hangup, Outcome, WorkChanged, WorkItem, WorkState
from cti.ari import parse_event
from cti.services import CommandBus, Distributor
from cti.telephony import AdmissionControl, Monitors, Telephony, VoiceActions
from tests.unit.fakes import Recorder

# The distributor's clock is shifted (as in the tests of calendars): only the delay carries over.
SHIFTED = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
WALL = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Ari:
    def may_act(self) -> bool:
        return True

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        pass

    async def destroy_bridge(self, bridge_id: str) -> None:
        pass


class Picture:
    last_sight = None

    def note_sight(self, at: datetime) -> None:
        pass

    async def rewrite(self) -> None:
        pass

    async def flush(self) -> None:
        pass


class Clocks:
    """The distributor's clock and the wall clock, moved on together."""

    def __init__(self) -> None:
        self.elapsed = timedelta(0)

    def shifted(self) -> datetime:
        return SHIFTED + self.elapsed

    def wall(self) -> datetime:
        return WALL + self.elapsed


def setup() -> tuple[Telephony, Recorder, Clocks]:
    clocks = Clocks()
    recorder = Recorder()
    distributor = Distributor(ContactCenter(), clocks.shifted,
                              CommandBus({WorkChanged: [recorder], (Hangup, Channel.VOICE): [recorder]}))
    distributor.register_agent("ana", "Ana")
    distributor.login("ana", "7001", ready=True)
    ari: Any = Ari()
    actions = VoiceActions(ari, distributor.query, Monitors(ari, ring_timeout=30), Counter(), ring_timeout=15,
                           callback_ring_timeout=30)
    telephony = Telephony(ari, "http://127.0.0.1:1", "cti", "secret", "cti", distributor=distributor,
                          actions=actions, monitors=actions.monitors, admission=AdmissionControl(),
                          journal=Picture(), counters=Counter(), record_ended=lambda item: None, wall=clocks.wall)
    distributor.arrive(WorkItem("c1", "chan-c1", "0215550123", "1500100", "", clocks.shifted()))
    clocks.elapsed += timedelta(seconds=4)
    distributor.offer_answered("c1-a1")  # answered at +4 s
    recorder.commands.clear()
    return telephony, recorder, clocks


def frame(kind: str, channel_id: str, stamp: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "timestamp": stamp, "application": "cti", **extra,
            "channel": {"id": channel_id, "name": f"PJSIP/{channel_id}", "state": "Up",
                        "caller": {"name": "", "number": "0215550123"}, "connected": {"name": "", "number": ""},
                        "accountcode": "", "creationtime": "2026-06-01T19:00:00.000+0700", "language": "en",
                        "dialplan": {"context": "from-pstn", "exten": "1500100", "priority": 1}}}


def ended(recorder: Recorder) -> WorkItem:
    changes: list[WorkChanged] = recorder.of(WorkChanged)
    [item] = [c.item for c in changes if c.item.state is WorkState.ENDED]
    return item


async def test_a_caller_hang_up_handled_five_seconds_late_ends_the_call_when_asterisk_stamped_it() -> None:
    telephony, recorder, clocks = setup()
    clocks.elapsed += timedelta(seconds=19)  # the event is handled at +23 s; Asterisk stamped it at +18 s
    await telephony._on_event(parse_event(frame("StasisEnd", "chan-c1", "2026-06-01T19:00:18.250+0700")))
    item = ended(recorder)
    assert (item.outcome, item.ended_at, item.talk_seconds) == (
        Outcome.ANSWERED, SHIFTED + timedelta(seconds=18.25), 14.25)


async def test_an_agent_leg_destroyed_ends_the_call_at_its_stamp() -> None:
    telephony, recorder, clocks = setup()
    clocks.elapsed += timedelta(seconds=10)
    await telephony._on_event(parse_event(frame("ChannelDestroyed", "c1-a1", "2026-06-01T12:00:12.000Z",
                                                cause=16, cause_txt="Normal Clearing")))
    item = ended(recorder)
    assert (item.ended_at, item.talk_seconds) == (SHIFTED + timedelta(seconds=12), 8.0)


async def test_without_a_usable_stamp_the_call_ends_when_handled() -> None:
    for stamp in ("", "yesterday", "2026-06-01T12:00:12"):  # none, not a time, no zone
        telephony, recorder, clocks = setup()
        clocks.elapsed += timedelta(seconds=10)
        await telephony._on_event(parse_event(frame("StasisEnd", "chan-c1", stamp)))
        assert ended(recorder).ended_at == SHIFTED + timedelta(seconds=14), stamp


async def test_a_stamp_ahead_of_the_controllers_clock_ends_the_call_now() -> None:
    telephony, recorder, clocks = setup()
    clocks.elapsed += timedelta(seconds=10)
    await telephony._on_event(parse_event(frame("StasisEnd", "chan-c1", "2026-06-01T12:00:30.000+0000")))
    assert ended(recorder).ended_at == SHIFTED + timedelta(seconds=14)


async def test_a_caller_hanging_up_in_the_ivr_ends_when_asterisk_stamped_it() -> None:
    """The IVR's own calls (served or abandoned there) are recorded by the adapter: the same rule."""
    import time
    from types import SimpleNamespace

    from cti.ivr import Finished

    rows: list[WorkItem] = []
    telephony, _, clocks = setup()
    clocks.elapsed += timedelta(seconds=10)  # now: +14 s
    telephony._record_ended = rows.append  # type: ignore[method-assign]
    started = time.monotonic() - 30  # in the IVR for 30 s
    finished = Finished("abandoned_in_ivr", "caller_hangup", "support", "id", {}, (), False)
    for gone_at, expected in ((SHIFTED + timedelta(seconds=9), SHIFTED + timedelta(seconds=9)),  # 5 s before now
                              (None, SHIFTED + timedelta(seconds=14)),  # no stamp: when handled
                              (SHIFTED + timedelta(seconds=40), SHIFTED + timedelta(seconds=14))):  # ahead: now
        call: Any = SimpleNamespace(channel_id="chan-ivr", caller_number="0215550123", caller_name=None,
                                    service_number="1500200", started=started, customer_id=None, played=[],
                                    attributes={}, gone_at=gone_at)
        await telephony.ivr_end(call, finished)
        assert rows[-1].ended_at == expected and rows[-1].outcome is Outcome.ABANDONED
