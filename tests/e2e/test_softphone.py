"""Agent softphones register with their own credentials and receive the calls offered to them: a SIPp phone,
and a real baresip configured as docs/softphones.md says, both on this machine (127.0.0.1)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from cti.persistence import InteractionRepository
from cti.settings import Settings
from cti.sim import SippAgent, SippCaller, free_udp_port, register
from tests.e2e.conftest import Cti, until_bridge
from tests.support import eventually, unavailable

SOFTPHONES_DOC = Path(__file__).resolve().parents[2] / "docs/softphones.md"


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
    # The softphone takes calls on the socket it registered from, on this machine (127.0.0.1, which is not the
    # PSTN gateway's address): nothing but its registration tells Asterisk where it is.
    phones["1001"] = SippAgent(port, ring_ms=100, host="127.0.0.1")
    contacts = await asyncio.to_thread(cti_cli, cti, "pjsip show contacts")
    assert f"1001/sip:1001@127.0.0.1:{port}" in contacts

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
    await eventually(lambda: f"127.0.0.1:{port}" not in cti_cli(cti, "pjsip show contacts"),
                     message="the contact to be removed")


def cti_cli(cti: Cti, command: str) -> str:
    from cti.asterisk import AsteriskRoot

    return AsteriskRoot(cti.settings.asterisk_root).cli(command)


def documented_baresip(password: str, port: int) -> dict[str, str]:
    """The baresip files of docs/softphones.md, with the password, the phone's port and (no sound card here) the
    audio devices changed: the phone hears the caller and plays it back (aubridge), and nothing else."""
    blocks = re.findall(r"```text\n(.*?)```", SOFTPHONES_DOC.read_text(), re.DOTALL)
    [config] = [b for b in blocks if b.startswith("# baresip config")]
    [accounts] = [b for b in blocks if b.startswith("<sip:1001@")]
    config = re.sub(r"(?m)^sip_listen\s+127\.0\.0\.1:5062$", f"sip_listen 127.0.0.1:{port}", config)
    for device in ("audio_player", "audio_source", "audio_alert"):
        config = re.sub(rf"(?m)^{device}\s+alsa,default$", f"{device} aubridge,cti", config)
    assert config.count(f"127.0.0.1:{port}") == 1 and config.count("aubridge,cti") == 3, config
    assert "SOFTPHONE_PASSWORD" in accounts
    return {"config": config, "accounts": accounts.replace("SOFTPHONE_PASSWORD", password)}


def start_baresip(folder: Path, log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("wb") as log:
        # stdin stays open (a pipe never written): the console module reads it.
        return subprocess.Popen(["baresip", "-f", str(folder)], stdin=subprocess.PIPE, stdout=log,
                                stderr=subprocess.STDOUT, cwd=folder, start_new_session=True)


@pytest.fixture
def baresip(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    if shutil.which("baresip") is None:
        unavailable("baresip is not installed (Debian package baresip-core; scripts/setup.sh installs it)")
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def test_the_documented_baresip_registers_from_this_machine_and_takes_a_bridged_call(
    cti: Cti, callers: list[SippCaller], base_settings: Settings, tmp_path: Path,
    baresip: list[subprocess.Popen[bytes]],
) -> None:
    port = free_udp_port()
    folder = tmp_path / "phone"
    folder.mkdir()
    for name, text in documented_baresip(base_settings.softphone_accounts()["1001"], port).items():
        (folder / name).write_text(text)
    baresip.append(start_baresip(folder, tmp_path / "baresip.log"))

    def output() -> str:
        return (tmp_path / "baresip.log").read_text(errors="replace")

    # Once in a full CI run baresip had not registered after 15 s (not reproduced alone): give it 30 s, and say
    # what it printed if it still has not, so the cause is in the report.
    try:
        await eventually(lambda: "200 OK" in output(), timeout=30, message="baresip to register")
    except pytest.fail.Exception:
        pytest.fail(f"baresip did not register in 30 s; it said:\n{output()[-3000:]}")
    contacts = await asyncio.to_thread(cti_cli, cti, "pjsip show contacts")
    # baresip puts a token of its own in the contact's user part: 1001/sip:1001-xyz@127.0.0.1:<port>.
    assert re.search(rf"1001/sip:\S*@127\.0\.0\.1:{port}\b", contacts), (contacts, output()[-2000:])

    await cti.create_agent("bare", "Baresip agent")
    await cti.login("bare", "1001")
    caller = SippCaller("1500100", caller="0215551002", duration_ms=4000)
    callers.append(caller)
    call = await cti.first_call()
    await cti.answered(call.call_id)  # baresip answered by itself
    # Answered is the agent's pick-up; the caller's and the agent's legs join the call's bridge just after.
    await until_bridge(cti, f"cti-call-{call.call_id}", lambda members: len(members) == 2,
                       f"caller and agent bridged in Asterisk; baresip said:\n{output()[-2000:]}")
    assert await asyncio.to_thread(caller.wait, 20) == 0
    await cti.settled()
    [record] = await InteractionRepository(cti.db).list()
    assert (record.agent_id, record.agent_extension, record.outcome) == ("bare", "1001", "answered")
    assert record.answered_at is not None and (record.talk_seconds or 0) > 2
