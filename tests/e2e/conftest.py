"""An in-process cti wired to the session's Asterisk and Redis, a fresh database, and SIPp phones."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import Any

import pytest

from cti.ari import AriClient, AriNotFound
from cti.asterisk import AsteriskRoot
from cti.bootstrap import create_app
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller
from tests.fullapp import (
    Cti,
    ShiftedClock,
    bounded,
    no_leftover_tasks,  # noqa: F401  (an autouse fixture: imported to be in force here)
    serve,
)
from tests.support import Pending, eventually

__all__ = ["Cti", "ShiftedClock", "serve"]  # the e2e tests import the harness from here


@pytest.fixture
async def cti(request: pytest.FixtureRequest, asterisk: AsteriskRoot, base_settings: Settings, database_url: str,
              cti_settings_overrides: dict[str, Any], cti_clock: Callable[[], datetime] | None) -> AsyncIterator[Cti]:
    settings = base_settings.model_copy(update={
        "database_url": database_url,
        "redis_prefix": f"cti-test-{uuid.uuid4().hex[:8]}",
        **cti_settings_overrides,
    })
    client = await serve(create_app(settings, connect_timeout=15, clock=cti_clock))
    harness = Cti(settings, client, clock=cti_clock)
    try:
        yield harness
        if not request.node.stash.get(_FAILED, False):
            # After a failure the phones are stopped first, without their BYEs, so its calls would not end: the
            # clean-up below hangs them up instead of a second error hiding the first.
            await harness.settled()
    finally:
        ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
        await bounded(harness.client.close(), "cti's shutdown")
        await ari.start()
        try:
            channels = await ari.list_channels()
            bridges = await ari.list_bridges()
            for channel in channels:  # leave a clean Asterisk for the next test whatever happened here
                with contextlib.suppress(AriNotFound):  # gone with another (a monitor's snoop with its agent's leg)
                    await ari.hangup(channel.id)
            for bridge in bridges:
                with contextlib.suppress(AriNotFound):
                    await ari.destroy_bridge(bridge.id)
        finally:
            await ari.close()
    if not request.node.stash.get(_FAILED, False):
        assert channels == [], f"channels leaked in Asterisk: {[c.name for c in channels]}"
        assert bridges == [], f"bridges leaked in Asterisk: {[b.id for b in bridges]}"


async def clean_asterisk(settings: Settings) -> None:
    """Hang up every channel and destroy every bridge: for a test whose callers were killed, not hung up, and whose
    cti leaves held callers for a next controller (as ``cti demo`` does: in real use Asterisk stops with it)."""
    ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
    await ari.start()
    try:
        for channel in await ari.list_channels():
            with contextlib.suppress(AriNotFound):  # gone with another: an IVR caller's snoop goes with them
                await ari.hangup(channel.id)
        for bridge in await ari.list_bridges():
            with contextlib.suppress(AriNotFound):
                await ari.destroy_bridge(bridge.id)
    finally:
        await ari.close()


@pytest.fixture
def phones(request: pytest.FixtureRequest, base_settings: Settings) -> Iterator[dict[str, SippAgent]]:
    """Start SIPp agent phones by extension: ``phones_start(ext, ...)`` via the returned dict's helper."""
    started: dict[str, SippAgent] = {}
    yield started
    if request.node.stash.get(_FAILED, False):
        # A phone that never answered: was its SIPp still running, and what did it see that it did not expect?
        for extension, phone in started.items():
            state = "running" if phone.running else f"exited with {phone.proc.poll() if phone.proc else None}"
            print(f"--- SIPp phone {extension} ({state}): unexpected messages and errors (tail) ---\n"
                  f"{phone.errors()[-3000:]}\n{phone.output()[-1500:]}\n{phone.messages()[-3000:]}")
    for phone in started.values():
        phone.stop()


async def bridge_members(cti: Cti, bridge_id: str) -> set[str]:
    """The channels ARI lists in a bridge now (none if the bridge is gone)."""
    try:
        return set((await cti.ari.get_bridge(bridge_id)).channels)
    except AriNotFound:
        return set()


async def until_bridge(cti: Cti, bridge_id: str, holds: Callable[[set[str]], bool], message: str) -> None:
    """Wait until the bridge's members satisfy ``holds``."""
    async def check() -> bool:
        return holds(await bridge_members(cti, bridge_id))

    await eventually(check, message=message)


async def monitor_connected(cti: Cti, monitor_id: str, phone: SippAgent, *, barge: bool = False) -> bool | Pending:
    """Is the supervisor's leg ``monitor_id`` answered, marked so by cti and in its bridge: the call's own for a
    barge, else the monitor's, with the snoop on the agent's leg? If not, everything that tells where it stopped:
    cti's monitor, the call's channels and bridges in Asterisk, and the supervisor's phone (running or not, and what
    SIP it saw if it traces)."""
    monitor = cti.telephony.monitors.active.get(monitor_id)
    call_id, n = monitor_id.rsplit("-s", 1)
    channels = {c.id: c.state for c in await cti.ari.list_channels() if c.id.startswith(call_id)}
    bridges = {b.id: set(b.channels) for b in await cti.ari.list_bridges() if call_id in b.id}
    wanted, legs = ((f"cti-call-{call_id}", {monitor_id}) if barge
                    else (f"cti-mon-{call_id}-{n}", {monitor_id, f"{call_id}-p{n}"}))
    if (monitor is not None and monitor.answered and channels.get(monitor_id) == "Up"
            and legs <= bridges.get(wanted, set())):
        return True
    seen = phone.messages()
    sip = [line for line in seen.splitlines() if line.startswith(("INVITE ", "SIP/2.0 ", "ACK ", "BYE ", "CANCEL "))]
    return Pending(f"monitor {monitor!r}; channels of the call {channels}; its bridges {bridges}; the supervisor's "
                   f"phone {'running' if phone.running else 'exited'}, its SIP {sip[-12:] if seen else '(not traced)'}"
                   f"{'' if phone.running else chr(10) + phone.output()[-1000:]}")


def start_phone(phones: dict[str, SippAgent], settings: Settings, extension: str, **kwargs: Any) -> SippAgent:
    phone = SippAgent(settings.sim_agent_port(extension), **kwargs)
    phones[extension] = phone
    return phone


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed  # for the fixtures' teardown: what to tell about a failure
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def callers(request: pytest.FixtureRequest) -> Iterator[list[SippCaller]]:
    started: list[SippCaller] = []
    yield started
    if request.node.stash.get(_FAILED, False):
        # What the callers' SIPp saw that it did not expect (a BYE, a re-INVITE, an error response) tells whether a
        # call that ended too early was ended by the caller's side or by Asterisk's; pytest shows it with the failure.
        for n, caller in enumerate(started):
            print(f"--- SIPp caller {n}: unexpected messages and errors (tail) ---\n{caller.errors()[-3000:]}")
    for caller in started:
        caller.stop()
