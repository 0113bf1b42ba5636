"""Each test worker's telephony: a lane with an Asterisk of its own and ports no other lane uses.

Plain pytest runs in lane 0: the root's own Asterisk on cti's default ports, with the root's lock, as the demo and
the benchmarks use it. Under pytest-xdist (``-n 2``, as scripts/test runs) worker ``gwN`` takes lane N+1: an
instance of the same root (:class:`cti.asterisk.AsteriskInstance`, the way the cluster runs its media nodes) whose
folders and lock are under ``/var/cache/cti/asterisk-lanes/``, on the lane's ports; its cti renders the prompts into
the instance's own sounds folder. Two sessions on one machine queue for a lane on its lock, as they do for the root.

Everything a test says about "the" Asterisk comes from the settings the lane gives ``base_settings``
(tests/conftest.py): where callers call (``sip_bind``), ARI, the RTP range, the simulated agents' phones, the PSTN
gateway a test's SIPp customer answers on; and from :meth:`Lane.cluster_env` for the cluster tests' own Asterisks,
Kamailio and Redis. The ports, all UDP on 127.0.0.1 but ARI (TCP):

| lane | SIP | PSTN gateway | ARI | RTP | phones 7001.. | cluster tests (offset, RTP) |
|---|---|---|---|---|---|---|
| 0 | 5060 | 5070 | 8088 | 10000-20000 | 21001.. | +0, 28000-28799 |
| 1 | 5310 | 5315 | 8310 | 30400-31199 | 21101.. | +10, 28800-29599 |
| 2 | 5320 | 5325 | 8320 | 31200-31999 | 21201.. | +20, 29600-30399 |

Clear of a developer's cluster (``cti cluster``: 5080, 5161.., 8181.., RTP 24000-27999, phones 22001..) and of the
kernel's ephemeral ports (32768 and up), where SIPp's and the browsers' own ports come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cti.asterisk import AsteriskInstance, AsteriskRoot

LANES = 2
"""Lanes for xdist workers: the machines have two cores, and the RTP ranges above are cut for two."""
_INSTANCE_RTP_BASE = 30400
_INSTANCE_RTP_PORTS = 800  # 400 legs: the busiest test holds about 80 (test_kill_restart's 50 callers, 30 phones)
_CLUSTER_RTP_BASE = 28000
_CLUSTER_RTP_PORTS = 400  # a node's; the cluster tests make a few calls at a time


@dataclass(frozen=True)
class Lane:
    number: int

    @classmethod
    def of_worker(cls, worker: str | None) -> Lane:
        """The lane of xdist's worker ``gwN`` (``PYTEST_XDIST_WORKER``); lane 0 without xdist."""
        if not worker:
            return cls(0)
        number = int(worker.removeprefix("gw")) + 1
        if number > LANES:
            raise ValueError(f"worker {worker}: there are {LANES} test lanes (tests/lanes.py), run at most -n {LANES}")
        return cls(number)

    def settings(self) -> dict[str, Any]:
        """What ``base_settings`` takes from the lane."""
        if self.number == 0:
            return {"sip_bind": "127.0.0.1:5060", "pstn_gateway": "127.0.0.1:5070", "ari_url": "http://127.0.0.1:8088",
                    "rtp_start": 10000, "rtp_end": 20000, "sim_agent_port_base": 21000}
        step = 10 * self.number
        rtp_start = _INSTANCE_RTP_BASE + (self.number - 1) * _INSTANCE_RTP_PORTS
        return {"sip_bind": f"127.0.0.1:{5300 + step}", "pstn_gateway": f"127.0.0.1:{5305 + step}",
                "ari_url": f"http://127.0.0.1:{8300 + step}", "rtp_start": rtp_start,
                "rtp_end": rtp_start + _INSTANCE_RTP_PORTS - 1, "sim_agent_port_base": 21000 + 100 * self.number}

    def asterisk(self, root: Path) -> AsteriskRoot:
        """The lane's Asterisk from ``root`` (not started)."""
        if self.number == 0:
            return AsteriskRoot(root)
        return AsteriskInstance(root, root.parent / "asterisk-lanes" / f"lane-{self.number}", f"lane{self.number}")

    def cluster_env(self, port_offset: int) -> dict[str, str]:
        """The ``CTI_CLUSTER_*`` ports of a cluster test at ``port_offset`` (each such module has its own) in this
        lane: offset again by the lane, with an RTP range of the lane's."""
        return {"CTI_CLUSTER_PORT_OFFSET": str(port_offset + 10 * self.number),
                "CTI_CLUSTER_RTP_BASE": str(_CLUSTER_RTP_BASE + 2 * _CLUSTER_RTP_PORTS * self.number),
                "CTI_CLUSTER_RTP_PORTS": str(_CLUSTER_RTP_PORTS)}


ASTERISK_SECONDS = {
    "tests/e2e/test_ivr.py": 145, "tests/e2e/test_post_call_survey.py": 135, "tests/e2e/test_standby_takeover.py": 70,
    "tests/e2e/test_desktop.py": 62, "tests/e2e/test_routing.py": 55, "tests/e2e/test_call_steering.py": 54,
    "tests/e2e/test_call_path.py": 48, "tests/e2e/test_consult.py": 43, "tests/e2e/test_demo.py": 40,
    "tests/e2e/test_authorization.py": 37, "tests/integration/test_fuzz_api.py": 35,
    "tests/e2e/test_kill_restart.py": 35, "tests/e2e/test_admission.py": 32, "tests/e2e/test_call_controls.py": 30,
    "tests/e2e/test_erasure.py": 26, "tests/e2e/test_dashboard.py": 25, "tests/e2e/test_supervision.py": 24,
    "tests/e2e/test_scheduled_callbacks.py": 22, "tests/e2e/test_cluster_calls.py": 20,
    "tests/e2e/test_orphan_callers.py": 19, "tests/e2e/test_recording.py": 19, "tests/e2e/test_caller_id.py": 18,
    "tests/e2e/test_admission_ivr.py": 18, "tests/e2e/test_cluster_topology.py": 14, "tests/e2e/test_resilience.py": 13,
    "tests/e2e/test_customer_routing.py": 11, "tests/e2e/test_softphone.py": 11, "tests/e2e/test_webphone.py": 10,
    "tests/e2e/test_outbound.py": 10, "tests/e2e/test_alerts.py": 8, "tests/e2e/test_redis_outage.py": 7,
    "tests/e2e/test_portal_callback.py": 7, "tests/e2e/test_routing_page.py": 6, "tests/e2e/test_chat_with_calls.py": 5,
    "tests/e2e/test_sip_exposure.py": 5, "tests/e2e/test_api.py": 3,
}
"""Seconds each file on an Asterisk takes in a worker of a full run (scripts/test: two workers, each on its own
Asterisk, on two cores), to split them evenly; a file not listed counts as :data:`UNMEASURED_SECONDS`. Refresh it
from a run's ``--junitxml`` (each test's time, setup and teardown included) when files grow."""
UNMEASURED_SECONDS = 5


def split_by_duration(files: list[str], groups: int) -> dict[str, int]:
    """Each file to one of ``groups`` groups, the longest first, each to the group with the least so far (the
    greedy rule, within 4/3 of the best split); ties go to the lower group, so the split is the same every run."""
    load = [0] * groups
    group_of: dict[str, int] = {}
    for file in sorted(files, key=lambda f: (-ASTERISK_SECONDS.get(f, UNMEASURED_SECONDS), f)):
        group = load.index(min(load))
        group_of[file] = group
        load[group] += ASTERISK_SECONDS.get(file, UNMEASURED_SECONDS)
    return group_of
