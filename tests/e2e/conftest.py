"""An in-process cti wired to the worker's Asterisk (its lane: tests/lanes.py) and Redis, a fresh database, and SIPp
phones."""

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
from tests.fullapp import Cti, ShiftedClock, bounded, serve
from tests.support import eventually

__all__ = ["Cti", "ShiftedClock", "serve"]  # the e2e tests import the harness from here


@pytest.fixture
async def cti(asterisk: AsteriskRoot, base_settings: Settings, database_url: str,
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
        await harness.settled()
    finally:
        ari = AriClient(settings.ari_url, settings.ari_user, settings.ari_password.get_secret_value(), "leakcheck")
        await bounded(harness.client.close(), "cti's shutdown")
        await ari.start()
        try:
            channels = await ari.list_channels()
            bridges = await ari.list_bridges()
            for channel in channels:  # leave a clean Asterisk for the next test whatever happened here
                with contextlib.suppress(AriNotFound):  # gone with another (a monitor's snoop with its call)
                    await ari.hangup(channel.id)
            for bridge in bridges:
                with contextlib.suppress(AriNotFound):
                    await ari.destroy_bridge(bridge.id)
        finally:
            await ari.close()
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
def phones(base_settings: Settings) -> Iterator[dict[str, SippAgent]]:
    """Start SIPp agent phones by extension: ``phones_start(ext, ...)`` via the returned dict's helper."""
    started: dict[str, SippAgent] = {}
    yield started
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
