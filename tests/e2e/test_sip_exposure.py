"""Who may place a call through the real Asterisk: the simulated agents' endpoints (no credentials) take no
request from anywhere but loopback, where their SIPp phones are; the PSTN gateway's address still reaches the
service numbers."""

from __future__ import annotations

import asyncio

from cti.persistence import InteractionRepository
from cti.sim import SippCaller
from tests.e2e.conftest import Cti


async def test_a_caller_off_loopback_cannot_pass_for_a_simulated_agent(cti: Cti, callers: list[SippCaller]) -> None:
    # 127.0.0.3 is not the gateway (127.0.0.2), so Asterisk identifies the request by its user, 7001: an
    # endpoint without credentials, whose context may dial the service numbers. Its ACL (127.0.0.1 alone)
    # turns it away.
    impostor = SippCaller("1500100", caller="7001", host="127.0.0.3", duration_ms=1000, target=cti.settings.sip_bind)
    callers.append(impostor)
    assert await asyncio.to_thread(impostor.wait, 20) != 0
    # Asterisk answers a request the endpoint's ACL refuses as a failed authentication, telling nothing more.
    assert "SIP/2.0 401 Unauthorized" in impostor.errors(), impostor.errors()[-2000:]
    assert cti.telephony.counters["calls_arrived"] == 0

    caller = SippCaller("1500100", caller="0215550777", duration_ms=1000,
                        target=cti.settings.sip_bind)  # from the gateway: served
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.caller_number, record.outcome) == ("0215550777", "abandoned")
