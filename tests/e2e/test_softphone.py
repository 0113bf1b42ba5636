"""Agent softphones register with their own credentials and receive the calls offered to them."""

from __future__ import annotations

import asyncio

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller, free_udp_port, register
from tests.e2e.conftest import Cti
from tests.support import eventually


async def test_registered_softphone_receives_offered_call(
    cti: Cti, phones: dict[str, SippAgent], callers: list[SippCaller], base_settings: Settings
) -> None:
    password = base_settings.softphone_accounts()["1001"]
    code, errors = await asyncio.to_thread(register, "1001", "not-the-password", free_udp_port())
    # The authenticated attempt (CSeq 2) is challenged again instead of accepted.
    assert code != 0 and "CSeq: 2 REGISTER" in errors and "WWW-Authenticate: Digest" in errors, errors

    port = free_udp_port()
    code, errors = await asyncio.to_thread(register, "1001", password, port)
    assert code == 0, errors
    # The softphone takes calls on the socket it registered from, on another address than the PSTN gateway:
    # nothing but its registration tells Asterisk where it is.
    phones["1001"] = SippAgent(port, ring_ms=100, host="127.0.0.2")
    contacts = await asyncio.to_thread(cti_cli, cti, "pjsip show contacts")
    assert f"1001/sip:1001@127.0.0.2:{port}" in contacts

    await cti.create_agent("soft", "Softphone agent")
    await cti.login("soft", "1001")
    caller = SippCaller("1500100", caller="0215551001", duration_ms=2500)
    callers.append(caller)
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.agent_id, record.agent_extension, record.outcome) == ("soft", "1001", "answered")

    phones.pop("1001").stop()
    code, errors = await asyncio.to_thread(register, "1001", password, port, expires=0)  # unregister
    assert code == 0, errors
    await eventually(lambda: f"127.0.0.2:{port}" not in cti_cli(cti, "pjsip show contacts"),
                     message="the contact to be removed")


def cti_cli(cti: Cti, command: str) -> str:
    from cti.asterisk import AsteriskRoot

    return AsteriskRoot(cti.settings.asterisk_root).cli(command)
