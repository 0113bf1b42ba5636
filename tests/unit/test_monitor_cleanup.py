"""A monitor stopped while it is being connected leaves nothing behind: what the connection made after the stop's
clean-up (a snoop, a bridge) is taken down too. Asterisk's side is covered by the e2e supervision tests; this
moment (a stop between two ARI requests) cannot be caused there on purpose."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from cti.ari import AriClient, AriHTTPError
from cti.telephony._monitor import Monitor, MonitorMode, Monitors


class SlowAri:
    """Records what exists in 'Asterisk'; each request lets others run before it is done."""

    def __init__(self) -> None:
        self.channels: set[str] = set()
        self.bridges: set[str] = set()
        self.gate = asyncio.Event()

    async def originate(self, endpoint: str, **kwargs: Any) -> None:
        self.channels.add(kwargs["channel_id"])

    async def snoop(self, channel_id: str, **kwargs: Any) -> None:
        await self.gate.wait()  # the stop arrives while the snoop is being made
        self.channels.add(kwargs["snoop_id"])

    async def create_bridge(self, kind: str, **kwargs: Any) -> None:
        self.bridges.add(kwargs["bridge_id"])

    async def add_channel(self, bridge_id: str, channels: object) -> None:
        return None

    async def hangup(self, channel_id: str) -> None:
        self.channels.discard(channel_id)

    async def destroy_bridge(self, bridge_id: str) -> None:
        self.bridges.discard(bridge_id)


@pytest.mark.parametrize("mode", [MonitorMode.LISTEN, MonitorMode.WHISPER])
async def test_a_monitor_stopped_while_connecting_leaves_no_snoop_or_bridge(mode: MonitorMode) -> None:
    ari = SlowAri()
    monitors = Monitors(cast(AriClient, ari))
    monitor = await monitors.start("c1", "c1-agent", "cti-c1", mode=mode, extension="7100", supervisor="sue")
    connecting = asyncio.create_task(monitors.answered(monitor.monitor_id))
    await asyncio.sleep(0)
    assert await monitors.stop(monitor.monitor_id)
    ari.gate.set()
    await connecting
    assert (ari.channels, ari.bridges, monitors.active) == (set(), set(), {})


async def test_a_previous_controller_s_monitor_bridges_are_leftovers_and_their_numbers_stay_taken() -> None:
    # After a takeover the new controller tracks no monitor: the old one's bridge would leak, and the call's next
    # monitor would be made again under its id (which Asterisk refuses while it keeps the id taken).
    call = "0123456789abcdef0123456789abcdef"
    ari = SlowAri()
    monitors = Monitors(cast(AriClient, ari))
    mine = await monitors.start("c2", "c2-agent", "cti-call-c2", mode=MonitorMode.LISTEN, extension="7100",
                                supervisor="sue")
    stale = monitors.leftovers([f"cti-mon-{call}-2", mine.bridge_id, "cti-hold-general", f"cti-call-{call}"],
                               [f"{call}-s3", f"{call}-a1", "c2-s1"])
    assert stale == [f"cti-mon-{call}-2"]
    again = await monitors.start(call, f"{call}-a1", f"cti-call-{call}", mode=MonitorMode.WHISPER,
                                 extension="7100", supervisor="sue")
    assert (again.monitor_id, again.snoop_id, again.bridge_id) == (f"{call}-s4", f"{call}-p4", f"cti-mon-{call}-4")


class StasisAri(SlowAri):
    """As Asterisk: the snoop's POST is answered before the snoop is in Stasis, and a bridge refuses a channel
    not in Stasis yet (422)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate.set()
        self.in_stasis: set[str] = set()
        self.bridged: list[str] = []

    async def originate(self, endpoint: str, **kwargs: Any) -> None:
        await super().originate(endpoint, **kwargs)
        self.in_stasis.add(kwargs["channel_id"])  # the supervisor's leg enters as it answers

    async def add_channel(self, bridge_id: str, channels: object) -> None:
        legs = list(channels) if isinstance(channels, list) else [str(channels)]
        if not set(legs) <= self.in_stasis:
            raise AriHTTPError(422, "POST", f"/bridges/{bridge_id}/addChannel", "Channel not in Stasis application")
        self.bridged += legs


async def _answered(ari: StasisAri) -> tuple[Monitors, Monitor, asyncio.Task[None]]:
    """A listen monitor whose supervisor has answered, connecting: its snoop made, not yet in Stasis."""
    monitors = Monitors(cast(AriClient, ari))
    monitor = await monitors.start("c1", "c1-agent", "cti-c1", mode=MonitorMode.LISTEN, extension="7100",
                                   supervisor="sue")
    connecting = asyncio.create_task(monitors.answered(monitor.monitor_id))
    for _ in range(5):
        await asyncio.sleep(0)
    return monitors, monitor, connecting


async def test_the_monitor_s_bridge_waits_for_its_snoop_to_enter_stasis() -> None:
    ari = StasisAri()
    monitors, monitor, connecting = await _answered(ari)
    assert monitor.snoop_id in ari.channels and ari.bridged == []  # made, not in Stasis: not bridged yet
    ari.in_stasis.add(monitor.snoop_id)
    await monitors.snoop_entered(monitor.snoop_id)
    await connecting
    assert ari.bridged == [monitor.monitor_id, monitor.snoop_id]
    assert monitors.active[monitor.monitor_id].answered


async def test_a_snoop_entering_after_its_monitor_stopped_is_hung_up() -> None:
    ari = StasisAri()
    monitors, monitor, connecting = await _answered(ari)
    assert await monitors.stop(monitor.monitor_id)  # the call ended: the bridge waits for the snoop no more
    await connecting
    ari.channels.add(monitor.snoop_id)  # a snoop the stop's hang-up did not find yet enters Stasis after all
    await monitors.snoop_entered(monitor.snoop_id)
    assert (ari.channels, ari.bridges, ari.bridged, monitors.active) == (set(), set(), [], {})
