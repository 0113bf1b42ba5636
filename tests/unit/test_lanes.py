"""The test workers' lanes (tests/lanes.py): ports no two lanes share, and the split of the files on an Asterisk."""

from __future__ import annotations

from pathlib import Path

import pytest

from cti.asterisk import AsteriskInstance, AsteriskRoot
from cti.settings import load_settings
from cti.topology import plan_from_env
from tests.lanes import ASTERISK_SECONDS, LANES, UNMEASURED_SECONDS, Lane, split_by_duration

ROOT = Path("/var/cache/cti/asterisk-root")
CLUSTER_OFFSETS = (500, 600)  # tests/e2e/test_cluster_topology.py's and test_cluster_calls.py's
SIM_AGENTS = 50  # tests/conftest.py's base_settings


def lane_ports(lane: Lane) -> set[tuple[str, str, int]]:
    """Every (protocol, address, port) a lane's tests listen on: its Asterisk, phones and gateway, and both cluster
    tests' parts."""
    settings = load_settings(ari_password="x" * 16, admin_token="Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA",
                             sim_agents=SIM_AGENTS, **lane.settings())
    host, port = settings.sip_bind.rsplit(":", 1)
    gateway_host, gateway_port = settings.pstn_gateway.rsplit(":", 1)
    ports = {("udp", host, int(port)), ("udp", gateway_host, int(gateway_port)),
             ("tcp", "127.0.0.1", settings.ari_http_bind[1])}
    ports |= {("udp", "*", rtp) for rtp in range(settings.rtp_start, settings.rtp_end + 1)}
    ports |= {("udp", "127.0.0.1", settings.sim_agent_port(ext)) for ext in settings.sim_agent_extensions()}
    for offset in CLUSTER_OFFSETS:
        ports |= cluster_ports(lane.cluster_env(offset))
    return ports


def cluster_ports(env: dict[str, str]) -> set[tuple[str, str, int]]:
    plan = plan_from_env({"CTI_CLUSTER_AGENTS_PER_NODE": "2", **env})
    ports = {("udp", host, port) for host, port in plan.udp_ports()}
    ports |= {("tcp", host, port) for host, port in plan.tcp_ports()}
    ports |= {("udp", "*", rtp) for node in plan.nodes for rtp in range(node.rtp_start, node.rtp_end + 1)}
    ports |= {("udp", "127.0.0.1", plan.sim_agent_port(ext)) for node in plan.nodes for ext in node.agents}
    return ports


def clash(a: set[tuple[str, str, int]], b: set[tuple[str, str, int]]) -> set[tuple[str, int]]:
    """The ports both use on one address (RTP binds every address: "*")."""
    hosts: dict[tuple[str, int], set[str]] = {}
    for proto, host, port in b:
        hosts.setdefault((proto, port), set()).add(host)
    return {(proto, port) for proto, host, port in a
            if (proto, port) in hosts and (host == "*" or bool({host, "*"} & hosts[(proto, port)]))}


def test_no_two_lanes_share_a_port_nor_one_of_a_developer_s_cluster_and_all_stay_below_the_ephemeral_ones() -> None:
    lanes = {n: lane_ports(Lane(n)) for n in range(LANES + 1)}
    developer = cluster_ports({})
    for n, ports in lanes.items():
        assert max(port for _, _, port in ports) < 32768
        assert not clash(ports, developer), n
        for m in range(n + 1, LANES + 1):
            assert not clash(ports, lanes[m]), (n, m)
        # Within a lane, the two cluster tests run one after the other: only their RTP range is shared.
        first, second = (cluster_ports(Lane(n).cluster_env(offset)) for offset in CLUSTER_OFFSETS)
        rtp = {("udp", port) for proto, host, port in first if host == "*"}
        assert clash(first, second) == rtp and len(rtp) == 800


def test_lane_zero_is_the_root_s_own_asterisk_on_cti_s_defaults() -> None:
    defaults = load_settings(ari_password="x" * 16, admin_token="Vq3xL8pZ2mK7wN4tR9yB6cF1hJ5dS0gA")
    lane = Lane.of_worker(None)
    assert lane == Lane(0)
    assert {name: getattr(defaults, name) for name in lane.settings()} == lane.settings()
    asterisk = lane.asterisk(ROOT)
    assert type(asterisk) is AsteriskRoot and asterisk.sounds_dir == ROOT / "usr/share/asterisk/sounds"


def test_a_worker_s_lane_is_an_instance_of_the_root_with_folders_and_a_lock_of_its_own() -> None:
    assert [Lane.of_worker(worker).number for worker in ("gw0", "gw1")] == [1, 2]
    with pytest.raises(ValueError, match="there are 2 test lanes"):
        Lane.of_worker("gw2")
    asterisk = Lane(2).asterisk(ROOT)
    assert isinstance(asterisk, AsteriskInstance)
    home = Path("/var/cache/cti/asterisk-lanes/lane-2")
    assert (asterisk.path, asterisk.home, asterisk.name) == (ROOT, home, "lane2")
    assert asterisk.lock_file == home.with_name("lane-2.lock") and asterisk.sounds_dir == home / "sounds"
    assert Lane(1).settings() == {"sip_bind": "127.0.0.1:5310", "pstn_gateway": "127.0.0.1:5315",
                                  "ari_url": "http://127.0.0.1:8310", "rtp_start": 30400, "rtp_end": 31199,
                                  "sim_agent_port_base": 21100}


def test_files_are_split_whole_longest_first_to_the_lighter_group() -> None:
    files = ["tests/e2e/test_b.py", "tests/e2e/test_ivr.py", "tests/e2e/test_a.py", "tests/e2e/test_demo.py",
             "tests/e2e/test_post_call_survey.py"]
    assert split_by_duration(files, 2) == {
        "tests/e2e/test_ivr.py": 0, "tests/e2e/test_post_call_survey.py": 1, "tests/e2e/test_demo.py": 1,
        "tests/e2e/test_a.py": 0, "tests/e2e/test_b.py": 0}  # 145 + 5 + 5 (unmeasured) against 135 + 40
    assert UNMEASURED_SECONDS == 5 and "tests/e2e/test_a.py" not in ASTERISK_SECONDS
    assert split_by_duration(files, 1) == dict.fromkeys(files, 0)


def test_the_measured_files_split_within_ten_seconds_of_each_other() -> None:
    split = split_by_duration(list(ASTERISK_SECONDS), 2)
    load = [sum(ASTERISK_SECONDS[f] for f, group in split.items() if group == g) for g in (0, 1)]
    assert abs(load[0] - load[1]) < 10, load
