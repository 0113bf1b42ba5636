"""A resync finds callers in cti's app that no record holds (they arrived in the instant a previous controller
died, or were in its IVR): each starts again as a new arrival, out of the bridges and audio taps it was left in;
callers known, under way, or not in the app as inbound callers are left alone. On a stand-in for ARI; the
takeover itself is tests/e2e/test_standby_takeover.py."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from cti.acd import ContactCenter, WorkItem
from cti.ari import Bridge, Channel
from cti.services import CommandBus, Distributor
from cti.telephony import AdmissionControl, Monitors, Telephony, VoiceActions

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


class Ari:
    app = "cti"

    def __init__(self) -> None:
        self.requests: list[tuple[str, ...]] = []

    def may_act(self) -> bool:
        return True

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.requests.append(("hangup", channel_id))

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.requests.append(("destroy", bridge_id))

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        self.requests.append(("remove", bridge_id, channel_id))


def inbound(channel_id: str, *, app: str = "Stasis", data: str = "cti,inbound,1500100") -> Channel:
    return Channel(channel_id, f"PJSIP/pstn-{channel_id}", "Up", caller_number="0215550123",
                   dialplan_app=app, dialplan_app_data=data)


async def test_callers_in_the_app_with_no_record_arrive_again_out_of_what_they_were_left_in() -> None:
    ari = Ari()
    distributor = Distributor(ContactCenter(), lambda: NOW, CommandBus({}))
    actions = VoiceActions(cast(Any, ari), distributor.query, Monitors(cast(Any, ari), ring_timeout=30), Counter(),
                           ring_timeout=15, callback_ring_timeout=30)
    telephony = Telephony(cast(Any, ari), "http://127.0.0.1:1", "cti", "secret", "cti", distributor=distributor,
                          actions=actions, monitors=actions.monitors, admission=AdmissionControl(),
                          journal=cast(Any, None), counters=Counter(), record_ended=lambda item: None)
    arrived: list[tuple[str, tuple[str, ...]]] = []

    async def arrive(channel: Channel, args: Sequence[str]) -> None:
        arrived.append((channel.id, tuple(args)))

    telephony._arrive = arrive  # type: ignore[method-assign]
    distributor.arrive(WorkItem("c1", "known", "0215550123", "1500100", "general", NOW))
    telephony._arriving.add("under-way")
    channels = [
        inbound("known"),  # routed: the distributor has it
        inbound("under-way"),  # its StasisStart is being handled right now
        inbound("lost-ringing"), inbound("lost-in-ivr"), inbound("lost-held", data="cti,inbound,1500200"),
        inbound("not-inbound", data="cti,agent,c9"),  # one of our legs: the resync's other rules judge those
        inbound("other-app", data="monitoring,inbound,1500100"),
        inbound("in-dialplan", app="Queue", data="native"),
        Channel("lost-in-ivr-ivr-snoop"), Channel("lost-in-ivr-ivr-media"), Channel("known-ivr-media"),
    ]
    bridges = [Bridge("cti-ivr-lost-in-ivr-0f3a9c21", channels=("lost-in-ivr-ivr-snoop", "lost-in-ivr-ivr-media")),
               Bridge("cti-hold-general", channels=("lost-held", "known")),
               Bridge("cti-ivr-known-77aa01bc", channels=())]
    await telephony._restart_orphans(channels, bridges, {"known"})
    assert arrived == [("lost-ringing", ("inbound", "1500100")), ("lost-in-ivr", ("inbound", "1500100")),
                       ("lost-held", ("inbound", "1500200"))]
    assert sorted(ari.requests) == [("destroy", "cti-ivr-lost-in-ivr-0f3a9c21"), ("hangup", "lost-in-ivr-ivr-media"),
                                    ("hangup", "lost-in-ivr-ivr-snoop"), ("remove", "cti-hold-general", "lost-held")]
    assert telephony.counters["arrivals_restarted"] == 3
