"""The simulated phones themselves (cti.sim, SIPp): many at once, each answering on its port. A phone whose SIPp
exits at start leaves its calls unanswered, which a test sees only as a call that never connects."""

from __future__ import annotations

import shutil
import time

from cti.sim import SippAgent, phone_media_ip
from tests.support import unavailable

PHONES = 60  # more than SIPp's media-port search holds on one address: ten of sixty died when they shared one
BASE = 23000  # their SIP ports: clear of the tests' phones (21000 up) and clusters' (22000 up), below the ephemeral


def test_sixty_phones_started_together_all_keep_running() -> None:
    if shutil.which("sipp") is None:
        unavailable("sipp is not installed (Debian package sip-tester)")
    phones = [SippAgent(port, ring_ms=100) for port in range(BASE + 1, BASE + 1 + PHONES)]
    try:
        time.sleep(3)  # SIPp binds its ports, or gives up and exits, within its first moments
        dead = {phone.port: phone.output()[-300:] for phone in phones if not phone.running}
        assert dead == {}
        # Each on a media address of its own (cti.sim.phone_media_ip), so others' phones cannot take its ports.
        assert len({phone_media_ip(phone.port) for phone in phones}) == PHONES
    finally:
        for phone in phones:
            phone.stop()
