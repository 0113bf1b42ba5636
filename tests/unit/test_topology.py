"""The one-machine cluster's plan and configuration files (cti/topology), without starting anything but the
configuration checkers of Kamailio and haproxy. The processes themselves: tests/e2e/test_cluster_topology.py."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cti.topology import ClusterPlan, PlanError, plan_from_env
from cti.topology._configs import (
    haproxy_config,
    kamailio_config,
    kamailio_dispatchers,
    node_config,
    redis_config,
    sentinel_config,
)
from tests.support import unavailable

SHARED_ASTERISK_UDP = {5060, *range(10000, 20001), *range(21001, 21051)}
"""The single Asterisk of the tests and the demo: SIP, RTP, the simulated agents' phones."""


def plan(**env: str) -> ClusterPlan:
    return plan_from_env({"CTI_CLUSTER_DIR": "/var/tmp/cti-cluster-x", **env})


def test_default_plan_stays_clear_of_the_single_asterisk_and_of_itself() -> None:
    p = plan()
    a, b = p.nodes
    assert (a.name, a.sip_address, a.ari_url, a.rtp_start, a.rtp_end) == \
        ("a", "127.0.3.1:5161", "http://127.0.0.1:8181", 24000, 25999)
    assert (b.name, b.sip_address, b.ari_url, b.rtp_start, b.rtp_end) == \
        ("b", "127.0.3.2:5162", "http://127.0.0.1:8182", 26000, 27999)
    assert a.agents == tuple(str(n) for n in range(7001, 7011))
    assert b.agents == tuple(str(n) for n in range(7011, 7021))
    assert p.kamailio_address == "127.0.3.10:5080"
    assert (p.redis_ports, p.sentinel_ports, p.web_port) == ((6391, 6392), (26391, 26392, 26393), 8480)
    assert p.web_backends == (("127.0.0.1", 8481), ("127.0.0.1", 8482))
    udp = [port for _, port in p.udp_ports()] + [port for node in p.nodes for port in range(node.rtp_start,
                                                                                            node.rtp_end + 1)]
    udp += [p.sim_agent_port(ext) for node in p.nodes for ext in node.agents]
    assert len(udp) == len(set(udp))
    assert not set(udp) & SHARED_ASTERISK_UDP
    assert max(udp) < 32768  # below the kernel's ephemeral ports, where SIPp's own come from
    tcp = [port for _, port in p.tcp_ports()]
    assert len(tcp) == len(set(tcp))
    assert not {8088, 6379} & set(tcp)


def test_offset_moves_every_port_but_not_the_addresses() -> None:
    p = plan(CTI_CLUSTER_PORT_OFFSET="500", CTI_CLUSTER_RTP_BASE="28000", CTI_CLUSTER_NODES="3",
             CTI_CLUSTER_AGENTS_PER_NODE="2", CTI_CLUSTER_WEB_BACKENDS="9001, 10.0.0.5:9002")
    assert [(n.name, n.sip_address, n.ari_port, n.rtp_start, n.agents) for n in p.nodes] == [
        ("a", "127.0.3.1:5661", 8681, 28000, ("7001", "7002")),
        ("b", "127.0.3.2:5662", 8682, 30000, ("7003", "7004")),
        ("c", "127.0.3.3:5663", 8683, 32000, ("7005", "7006")),
    ]
    assert (p.kamailio_address, p.redis_ports, p.web_port) == ("127.0.3.10:5580", (6891, 6892), 8980)
    assert p.web_backends == (("127.0.0.1", 9001), ("10.0.0.5", 9002))
    assert p.sim_agent_port("7003") == 22503


@pytest.mark.parametrize(("env", "message"), [
    ({"CTI_CLUSTER_NODES": "0"}, "CTI_CLUSTER_NODES must be between 1 and 9, not 0"),
    ({"CTI_CLUSTER_PORT_OFFSET": "ten"}, "CTI_CLUSTER_PORT_OFFSET must be a whole number, not 'ten'"),
    ({"CTI_CLUSTER_RTP_BASE": "24001"}, "CTI_CLUSTER_RTP_BASE must be even (RTP on even ports, RTCP on the next)"),
    ({"CTI_CLUSTER_WEB_BACKENDS": "web1"}, "CTI_CLUSTER_WEB_BACKENDS: 'web1' is not [host:]port"),
])
def test_unusable_settings_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(PlanError) as exc:
        plan(**env)
    assert str(exc.value) == message


def test_a_node_gets_cti_s_configuration_with_its_own_folders_addresses_trunks_and_phones() -> None:
    p = plan(CTI_CLUSTER_AGENTS_PER_NODE="1")
    files = node_config(p, p.nodes[0], "ari;secret")
    directories = files["asterisk.conf"].split("[options]")[0]
    assert "[directories]\n" in directories and "(!)" not in directories
    for line in ("astetcdir => /mnt/etc", "astvarlibdir => /mnt/lib", "astdbdir => /mnt/lib",
                 "astspooldir => /mnt/spool", "astrundir => /mnt/run", "astlogdir => /mnt/log",
                 "astcachedir => /mnt/cache", "astdatadir => /usr/share/asterisk"):
        assert line in directories
    assert "bindaddr = 127.0.0.1\nbindport = 8181\n" in files["http.conf"]
    assert "rtpstart = 24000\nrtpend = 25999\n" in files["rtp.conf"]
    assert "bind = 127.0.3.1:5161\n" in files["pjsip.conf"]
    assert "[pstn]\ntype = identify\nendpoint = pstn\nmatch = 127.0.3.10\n" in files["pjsip.conf"]
    assert "password = ari\\;secret\n" in files["ari.conf"]
    agents = files["pjsip_agents.conf"]
    assert "[7001](sim-agent-endpoint)\naors = 7001\n" in agents
    assert "[7001](sim-agent-aor)\ncontact = sip:7001@127.0.0.1:22001\n" in agents
    assert "[7002]" not in agents  # node B's phone: reached over the trunk
    assert "[node-b]\ntype = aor\ncontact = sip:127.0.3.2:5162\n" in agents
    assert "[node-b]\ntype = identify\nendpoint = node-b\nmatch = 127.0.3.2\n" in agents
    assert "context = from-cluster\naors = node-b\n" in agents
    assert agents.count("\ndirect_media = no\n") == 1
    assert "[node-a]" not in agents
    assert files["extensions.conf"].endswith(
        "[from-cluster]\n; A call from a peer node over the inter-node trunk (docs/scaling.md#topology): either a "
        "phone homed on this\n; node (the caller waits on the other node, the agent's leg crosses the trunk), or a "
        "caller handed over to this\n; node's cti application.\nexten => _1500XXX,1,Goto(from-pstn,${EXTEN},1)\n"
        "exten => _X.,1,Dial(PJSIP/${EXTEN})\n same => n,Hangup()\n")
    assert "Stasis(cti,inbound,${ARG1})" in files["extensions.conf"]


def test_kamailio_dispatches_to_every_node_and_probes_them() -> None:
    p = plan()
    assert kamailio_dispatchers(p) == ("# set destination flags priority attributes\n"
                                       "1 sip:127.0.3.1:5161 0 0 node=a\n1 sip:127.0.3.2:5162 0 0 node=b\n")
    cfg = kamailio_config(p, "pw")
    for line in ("listen=udp:127.0.3.10:5080", 'modparam("dispatcher", "flags", 2)',
                 'modparam("dispatcher", "ds_ping_interval", 1)', 'modparam("dispatcher", "ds_ping_reply_codes", '
                 '"class=2")', 'modparam("ctl", "binrpc", "unix:/var/tmp/cti-cluster-x/kamailio/ctl.sock")',
                 'ds_select_dst("1", "4")', "record_route();", "$sht(calls=>$ci) = $du;"):
        assert line in cfg
    # Overload is shed at the edge, by a rate kept in an htable (changeable at run time), noted in Redis.
    for line in ("$sht(edge=>rate) = 50;", "$sht(edge=>message_rate) = 2;",
                 'pl_check("inbound", "TAILDROP", "$sht(edge=>rate)");', '$rU = "cti-overloaded";',
                 'modparam("ndb_redis", "server", "name=live;addr=127.0.0.1;port=6390;pass=pw")',
                 'sl_send_reply("503", "Overloaded");'):
        assert line in cfg
    assert '"$fU", "$rU", "$ci", "r")' in cfg  # the caller's own values as arguments, never in the command
    assert "CTI_CLUSTER_EDGE_RATE" not in cfg and "$sht(edge=>rate) = 7;" in kamailio_config(
        plan(CTI_CLUSTER_EDGE_RATE="7"), "pw")


def test_redis_pair_and_sentinels() -> None:
    p = plan()
    replica = redis_config(p, 6392, "pw_1", replica_of=6391)
    assert "requirepass pw_1\nmasterauth pw_1\n" in replica and replica.endswith("replicaof 127.0.0.1 6391\n")
    assert "replicaof" not in redis_config(p, 6391, "pw_1", replica_of=None)
    sentinel = sentinel_config(p, 26391, "pw_1")
    assert "sentinel monitor cti 127.0.0.1 6391 2\nsentinel auth-pass cti pw_1\n" in sentinel
    assert "sentinel sentinel-pass pw_1\n" in sentinel
    with pytest.raises(ValueError, match="letters, digits"):
        redis_config(p, 6391, "pw 1\nslaveof x", replica_of=None)


def test_haproxy_checks_each_front_end_s_healthz() -> None:
    cfg = haproxy_config(plan(CTI_CLUSTER_WEB_BACKENDS="9001,9002,9003"), "pw")
    assert "bind 127.0.0.1:8480\n" in cfg
    assert "    option httpchk GET /healthz\n    http-check expect status 200\n" in cfg
    assert "    retries 2\n    option redispatch 1\n" in cfg  # a dead front end's requests go to another at once
    assert ("    server web1 127.0.0.1:9001 check\n    server web2 127.0.0.1:9002 check\n"
            "    server web3 127.0.0.1:9003 check\n") in cfg
    # And the current Redis master for Kamailio: each Redis asked for its role every second.
    assert "bind 127.0.0.1:6390\n" in cfg and "tcp-check send AUTH\\ pw\\r\\n" in cfg
    assert cfg.endswith("    server redis1 127.0.0.1:6391 check\n    server redis2 127.0.0.1:6392 check\n")


def test_kamailio_and_haproxy_accept_their_files(tmp_path: Path) -> None:
    for tool in ("kamailio", "haproxy"):
        if shutil.which(tool) is None:
            unavailable(f"{tool} is not installed (scripts/setup.sh installs it)")
    p = plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path)})
    (tmp_path / "kamailio").mkdir()
    (tmp_path / "kamailio" / "dispatcher.list").write_text(kamailio_dispatchers(p))
    (tmp_path / "kamailio.cfg").write_text(kamailio_config(p, "pw"))
    (tmp_path / "haproxy.cfg").write_text(haproxy_config(p, "pw"))
    kamailio = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert kamailio.returncode == 0, kamailio.stderr[-2000:]
    haproxy = subprocess.run(["haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True)
    assert haproxy.returncode == 0, haproxy.stderr[-2000:]


def test_status_and_stop_of_a_cluster_never_started_touch_nothing(tmp_path: Path) -> None:
    from cti.topology import Cluster

    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path / "none")}))
    assert cluster.status() == {"directory": str(tmp_path / "none"), "running": False, "processes": {
        "redis-6391": None, "redis-6392": None, "sentinel-26391": None, "sentinel-26392": None,
        "sentinel-26393": None, "node-a": None, "node-b": None, "kamailio": None, "haproxy": None}}
    cluster.stop()
    assert not (tmp_path / "none").exists()


def test_the_cluster_gives_cti_a_sentinel_url_that_follows_failovers(tmp_path: Path) -> None:
    from cti.redis_url import SentinelTarget, sentinel_target
    from cti.topology import Cluster

    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path), "CTI_CLUSTER_PORT_OFFSET": "10"}))
    password = cluster.secrets()["redis_password"]
    url = cluster.redis_url()
    assert sentinel_target(url) == SentinelTarget(
        (("127.0.0.1", 26401), ("127.0.0.1", 26402), ("127.0.0.1", 26403)), "cti", db=0, password=password,
        sentinel_password=password)  # the cluster's Sentinels ask Redis's password too (sentinel_config)
    assert cluster.description()["redis"]["url"] == url
