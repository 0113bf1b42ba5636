"""The one-machine cluster's plan and configuration files (cti/topology), without starting anything but the
configuration checkers of Kamailio and haproxy. The processes themselves: tests/e2e/test_cluster_topology.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from cti.telephony import SHED_CAUSE
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
    assert (p.postgres_port, p.controller_ports, p.front_backends) == (
        5442, (8491, 8492), (("127.0.0.1", 8481), ("127.0.0.1", 8482)))
    assert p.controller_url(2) == "http://127.0.0.1:8492"
    udp = [port for _, port in p.udp_ports()] + [port for node in p.nodes for port in range(node.rtp_start,
                                                                                            node.rtp_end + 1)]
    udp += [p.sim_agent_port(ext) for node in p.nodes for ext in node.agents]
    assert len(udp) == len(set(udp))
    assert not set(udp) & SHARED_ASTERISK_UDP
    assert max(udp) < 32768  # below the kernel's ephemeral ports, where SIPp's own come from
    tcp = [port for _, port in p.tcp_ports()]
    assert len(tcp) == len(set(tcp))
    assert not {8088, 6379, 5432, 8080} & set(tcp)
    assert {8481, 8482, 5442, 8491, 8492} <= set(tcp)


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
    assert (p.postgres_port, p.controller_ports, p.fronts) == (5942, (8991, 8992), 2)


def test_counts_of_controllers_and_front_ends() -> None:
    p = plan(CTI_CLUSTER_CONTROLLERS="3", CTI_CLUSTER_FRONTS="1", CTI_CLUSTER_POSTGRES_PORT="6000")
    assert (p.controller_ports, p.front_backends, p.postgres_port) == ((8491, 8492, 8493), (("127.0.0.1", 8481),), 6000)
    # None of either: for tests and benchmarks that run their own cti on the cluster.
    none = plan(CTI_CLUSTER_CONTROLLERS="0", CTI_CLUSTER_FRONTS="0")
    assert (none.controller_ports, none.front_backends) == ((), ())
    assert 8481 not in [port for _, port in none.tcp_ports()]
    # A front end per backend unless told otherwise.
    assert plan(CTI_CLUSTER_WEB_BACKENDS="9001,9002,9003").fronts == 3


@pytest.mark.parametrize(("env", "message"), [
    ({"CTI_CLUSTER_NODES": "0"}, "CTI_CLUSTER_NODES must be between 1 and 9, not 0"),
    ({"CTI_CLUSTER_PORT_OFFSET": "ten"}, "CTI_CLUSTER_PORT_OFFSET must be a whole number, not 'ten'"),
    ({"CTI_CLUSTER_RTP_BASE": "24001"}, "CTI_CLUSTER_RTP_BASE must be even (RTP on even ports, RTCP on the next)"),
    ({"CTI_CLUSTER_WEB_BACKENDS": "web1"}, "CTI_CLUSTER_WEB_BACKENDS: 'web1' is not [host:]port"),
    ({"CTI_CLUSTER_CONTROLLERS": "10"}, "CTI_CLUSTER_CONTROLLERS must be between 0 and 9, not 10"),
    ({"CTI_CLUSTER_FRONTS": "3"}, "CTI_CLUSTER_FRONTS must be between 0 and 2, not 3"),
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


def test_a_caller_cti_turned_away_is_not_tried_on_the_next_node_a_failing_node_s_are() -> None:
    """A node's 503 moves the INVITE on unless it carries cti's shed cause (``Reason: Q.850;cause=34``, which real
    Asterisk 22 puts on the 503 of ``Hangup(34)`` and of ARI's ``DELETE /channels/{id}?reason_code=34``: the e2e
    test_cluster_calls shows both): that caller the one controller turned away, and another node would ask it
    again. Asterisk's own refusals (cause 42 at its call limit, no Reason while shutting down) and no answer within
    fr_timer still move the caller on."""
    cfg = kamailio_config(plan(), "pw")
    failure = cfg.split("failure_route[NEXT_NODE] {\n", 1)[1].split("\n}\n", 1)[0]
    decisive = [line.strip() for line in failure.splitlines() if line.strip() and not line.strip().startswith("#")]
    pattern = f"^Q[.]850;[ ]*cause={SHED_CAUSE}([^0-9]|$)"
    assert decisive == [
        "if (t_is_canceled()) {", "exit;", "}",
        "$var(node) = $sht(calls=>$ci);", "if (t_branch_timeout() && !t_branch_replied()) {",
        'xlog("L_WARN", "media node $var(node) did not answer: marked down\\n");', 'ds_mark_dst("ip");',
        '} else if (!t_check_status("503")) {', "exit;",
        f'}} else if ($T_rpl($hdr(Reason)) != $null && $T_rpl($hdr(Reason)) =~ "{pattern}") {{', "exit;", "}",
        "if (ds_next_dst()) {",
        'xlog("L_INFO", "media node $var(node) answered $T_reply_code for $ci: trying $du\\n");',
        't_on_failure("NEXT_NODE");', 't_on_branch("REMEMBER_NODE");', "t_relay();", "} else {",
        'xlog("L_WARN", "media node $var(node) answered $T_reply_code for $ci, no other live node to try\\n");',
        "}"]
    # The pattern (POSIX extended, as Python reads it too) on what a node's 503 may carry.
    assert SHED_CAUSE == 34
    for reason, cti_shed in (("Q.850;cause=34", True), ('Q.850;cause=34;text="Congestion"', True),
                             ("Q.850; cause=34", True), ("Q.850;cause=42", False), ("Q.850;cause=341", False),
                             ("SIP;cause=503", False), ("Q.850;cause=3", False), ("Q8850;cause=34", False)):
        assert (re.search(pattern, reason) is not None) is cti_shed, reason


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
    # A Redis started again reloads its data (docs/scaling.md#redis-restarted-safely).
    assert "appendonly yes\nappendfsync everysec\n" in replica and 'save ""' in replica


def test_a_redis_asks_the_sentinels_its_role_before_it_starts(tmp_path: Path) -> None:
    """The script's shell is valid; what it does with real Redis and Sentinels:
    tests/integration/test_cluster_redis_restart.py."""
    from cti.topology._configs import REDIS_FAILOVER_WAIT_SECONDS, redis_start_script

    script = redis_start_script(plan(CTI_CLUSTER_PORT_OFFSET="10"), 6401)
    assert "for sentinel in 26401 26402 26403; do" in script
    assert "get-master-addr-by-name cti" in script and f"+ {REDIS_FAILOVER_WAIT_SECONDS}))" in script
    assert 'exec redis-server "$conf" --replicaof $master' in script
    assert "pw" not in script.lower().replace("password", "")  # the password comes in REDISCLI_AUTH
    (tmp_path / "start.sh").write_text(script)
    checked = subprocess.run(["sh", "-n", str(tmp_path / "start.sh")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


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
        "sentinel-26393": None, "postgres": None, "node-a": None, "node-b": None, "kamailio": None, "haproxy": None,
        "supervisord": None, "cti-1": None, "cti-2": None, "front-1": None, "front-2": None}}
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


def test_the_cluster_s_cti_settings_come_from_its_secrets_and_reach_its_controllers_not_its_front_ends(
        tmp_path: Path) -> None:
    from cti.topology import Cluster
    from cti.topology._configs import controller_env, front_env

    # An older cluster's secrets: kept, the new ones added.
    (tmp_path / "secrets.json").write_text('{"ari_password": "ari-pw", "redis_password": "redispw"}')
    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path), "CTI_CLUSTER_PORT_OFFSET": "10"}))
    keys = cluster.secrets()
    assert (keys["ari_password"], keys["redis_password"]) == ("ari-pw", "redispw")
    assert len(keys["admin_token"]) >= 32 and len(keys["postgres_password"]) == 48
    assert cluster.secrets() == keys  # made once
    assert oct((tmp_path / "secrets.json").stat().st_mode & 0o777) == "0o600"
    shared = cluster.cti_env()
    assert shared["CTI_DATABASE_URL"] == f"postgresql+asyncpg://cti:{keys['postgres_password']}@127.0.0.1:5452/cti"
    assert shared["CTI_ASTERISK_NODES"] == "a=http://127.0.0.1:8191,b=http://127.0.0.1:8192"
    assert (shared["CTI_ADMIN_TOKEN"], shared["CTI_ARI_PASSWORD"]) == (keys["admin_token"], "ari-pw")
    assert (shared["CTI_REDIS_URL"], shared["CTI_FRAME_STREAM"]) == (cluster.redis_url(), "true")
    given = {"PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3", "CTI_CLUSTER_DIR": str(tmp_path),
             "CTI_DATABASE_URL": "sqlite+aiosqlite:///elsewhere.db", "CTI_HTTP_PORT": "8080"}
    second = controller_env(cluster.plan, 2, given, shared)
    # What the caller gave (a cti setting) applies; the cluster's own settings and the controller's address win.
    assert {key: second[key] for key in ("PATH", "CTI_LEASE_SECONDS", "CTI_DATABASE_URL", "CTI_HTTP_PORT",
                                         "CTI_HTTP_HOST", "CTI_ADVERTISE_URL", "CTI_STANDBY", "CTI_FRAME_STREAM",
                                         "CTI_REDIS_PREFIX")} == {
        "PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3", "CTI_DATABASE_URL": shared["CTI_DATABASE_URL"],
        "CTI_HTTP_PORT": "8502", "CTI_HTTP_HOST": "127.0.0.1", "CTI_ADVERTISE_URL": "http://127.0.0.1:8502",
        "CTI_STANDBY": "true", "CTI_FRAME_STREAM": "true", "CTI_REDIS_PREFIX": "cti"}
    assert not [key for key in second if key.startswith("CTI_CLUSTER_")]
    front = front_env(cluster.plan, given, shared)
    # A front end holds no credential and no database: only where Redis is.
    assert not {"CTI_ADMIN_TOKEN", "CTI_ARI_PASSWORD", "CTI_DATABASE_URL"} & set(front)
    assert (front["CTI_REDIS_URL"], front["CTI_REDIS_PREFIX"], front["CTI_LEASE_SECONDS"]) == (
        cluster.redis_url(), "cti", "3")
    description = cluster.description()
    assert description["cti"] == {
        "controllers": ["http://127.0.0.1:8501", "http://127.0.0.1:8502"],
        "fronts": ["http://127.0.0.1:8491", "http://127.0.0.1:8492"], "admin_token": keys["admin_token"],
        "redis_prefix": "cti", "recording_dir": str(tmp_path / "recordings")}
    assert description["postgres"]["url"] == shared["CTI_DATABASE_URL"]


def test_postgres_listens_on_loopback_only_on_its_own_port(tmp_path: Path) -> None:
    from cti.topology._configs import postgres_args

    assert postgres_args(plan(CTI_CLUSTER_PORT_OFFSET="3"), tmp_path / "data") == [
        "-D", str(tmp_path / "data"), "-p", "5445", "-c", "listen_addresses=127.0.0.1",
        "-c", "unix_socket_directories=", "-c", "max_connections=200"]


def _supervised_parts(tmp_path: Path, given: dict[str, str]) -> tuple[str, dict[str, str], dict[str, str]]:
    """supervisord's file as ``cti cluster start`` renders it (cti.topology.Cluster._programs), what supervisord
    inherits, and the cluster's own settings."""
    from cti.topology import Cluster
    from cti.topology._configs import Supervised, controller_env, front_env, supervised_env, supervisor_config

    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path), "CTI_CLUSTER_PORT_OFFSET": "10"}))
    p, shared = cluster.plan, cluster.cti_env()
    inherited = front_env(p, given, {})
    programs = [Supervised("cti-1", ["/venv/bin/python", "-m", "cti", "serve", "--standby"],
                           supervised_env(inherited, controller_env(p, 1, given, shared))),
                Supervised("front-1", ["/venv/bin/python", "-m", "cti", "front", "--host", "127.0.0.1", "--port",
                                       "8491"], supervised_env(inherited, front_env(p, given, shared)))]
    return supervisor_config(p, programs, user="root"), inherited, shared


def test_supervisord_restarts_the_controllers_and_front_ends_with_their_groups_and_no_secret_on_a_command_line(
        tmp_path: Path) -> None:
    import configparser

    given = {"PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3", "CTI_ADMIN_TOKEN": "the-caller-s",
             "CTI_CLUSTER_DIR": str(tmp_path), "CTI_ROUTING_RULES": 'a "quoted" # rule'}
    text, inherited, shared = _supervised_parts(tmp_path, given)
    # As supervisord reads it: ';' and '#' after a space start a comment.
    cfg = configparser.RawConfigParser(inline_comment_prefixes=(";", "#"), strict=False)
    cfg.read_string(text)
    assert cfg.sections() == ["unix_http_server", "supervisord", "rpcinterface:supervisor", "supervisorctl",
                              "program:cti-1", "program:front-1"]  # no inet_http_server: no TCP port
    sock = str(tmp_path / "supervisor" / "supervisor.sock")
    assert dict(cfg["unix_http_server"]) == {"file": sock, "chmod": "0700"}
    assert cfg["supervisorctl"]["serverurl"] == f"unix://{sock}"
    assert (cfg["supervisord"]["nodaemon"], cfg["supervisord"]["logfile"], cfg["supervisord"]["user"]) == (
        "true", str(tmp_path / "log" / "supervisord.log"), "root")
    for name in ("cti-1", "front-1"):
        section = cfg[f"program:{name}"]
        # Started by `cti cluster start` in its stages, then restarted whenever it ends; stopped with its group.
        assert {key: section[key] for key in ("autostart", "autorestart", "startsecs", "startretries", "stopsignal",
                                              "stopwaitsecs", "stopasgroup", "killasgroup", "redirect_stderr",
                                              "stdout_logfile", "directory")} == {
            "autostart": "false", "autorestart": "true", "startsecs": "3", "startretries": "10", "stopsignal": "TERM",
            "stopwaitsecs": "10", "stopasgroup": "true", "killasgroup": "true", "redirect_stderr": "true",
            "stdout_logfile": str(tmp_path / "log" / f"{name}.log"), "directory": str(tmp_path)}
    assert cfg["program:cti-1"]["command"] == "/venv/bin/python -m cti serve --standby"
    assert cfg["program:front-1"]["command"] == "/venv/bin/python -m cti front --host 127.0.0.1 --port 8491"
    # The controller's secrets are in its section's environment (the file is 0600), on no command line; a front
    # end gets none, neither from its section nor from supervisord's own environment (the caller's, less those).
    secrets = [shared["CTI_ADMIN_TOKEN"], shared["CTI_ARI_PASSWORD"], shared["CTI_DATABASE_URL"]]
    assert all(secret in cfg["program:cti-1"]["environment"] for secret in secrets)
    assert not [secret for secret in [*secrets, "the-caller-s"]
                for section in ("program:front-1", "supervisord") for value in cfg[section].values() if secret in value]
    assert not [secret for secret in secrets for line in text.splitlines() if line.startswith("command=")
                and secret in line]
    assert "CTI_ADMIN_TOKEN" not in inherited and inherited["CTI_ROUTING_RULES"] == 'a "quoted" # rule'
    assert shared["CTI_REDIS_URL"] in cfg["program:front-1"]["environment"]  # where the cluster's Redis is


def _read_back(conf: Path) -> dict[str, list]:
    """Each program's environment, command and stop settings as supervisord's own parser (Debian's supervisor, not
    in cti's virtualenv) reads them from ``conf``."""
    import json
    import sys

    probe = (
        "import json, sys\n"
        "from supervisor.options import ServerOptions\n"
        "options = ServerOptions()\n"
        "options.realize(args=['-c', sys.argv[1]])\n"
        "print(json.dumps({g.name: [p.environment, p.command, p.autorestart is not False, p.stopsignal, p.stopasgroup,"
        " p.killasgroup, p.stdout_logfile] for g in options.process_group_configs for p in g.process_configs}))\n")
    with open("/usr/bin/supervisord") as script:
        interpreter = script.readline().removeprefix("#!").strip() or sys.executable
    result = subprocess.run([interpreter, "-c", probe, str(conf)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    read: dict[str, list] = json.loads(result.stdout)
    return read


def test_supervisord_reads_back_each_program_s_environment_as_the_cluster_set_it(tmp_path: Path) -> None:
    """supervisord's own parser (Debian's supervisor, not in cti's virtualenv) on the rendered file."""
    if shutil.which("supervisord") is None:
        unavailable("supervisord is not installed (scripts/setup.sh installs it)")
    text, inherited, shared = _supervised_parts(tmp_path, {"PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3"})
    (tmp_path / "supervisord.conf").write_text(text)
    for sub in ("log", "supervisor"):
        (tmp_path / sub).mkdir()
    read = _read_back(tmp_path / "supervisord.conf")
    from cti.topology import Cluster
    from cti.topology._configs import controller_env, front_env

    p = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path), "CTI_CLUSTER_PORT_OFFSET": "10"})).plan
    given = {"PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3"}
    # What each gets: supervisord's own environment, then its section's.
    assert inherited | read["cti-1"][0] == controller_env(p, 1, given, shared)
    assert inherited | read["front-1"][0] == front_env(p, given, shared)
    assert read["cti-1"][1] == "/venv/bin/python -m cti serve --standby"


def test_supervised_env_refuses_what_supervisord_would_pass_on_to_a_program_that_must_not_have_it() -> None:
    from cti.topology._configs import supervised_env

    assert supervised_env({"PATH": "/bin"}, {"PATH": "/bin", "CTI_HTTP_PORT": "8491"}) == {"CTI_HTTP_PORT": "8491"}
    with pytest.raises(ValueError, match="CTI_ADMIN_TOKEN"):
        supervised_env({"PATH": "/bin", "CTI_ADMIN_TOKEN": "x"}, {"PATH": "/bin"})
    # A supervisord already running has an earlier start's environment: another shell's variables pass, a secret
    # still does not.
    assert supervised_env({"PATH": "/bin", "TERM": "xterm"}, {"PATH": "/bin", "CTI_LEASE_SECONDS": "3"},
                          running=True) == {"CTI_LEASE_SECONDS": "3"}
    with pytest.raises(ValueError, match="CTI_ARI_PASSWORD"):
        supervised_env({"CTI_ARI_PASSWORD": "x"}, {}, running=True)


def test_controllers_added_to_a_running_supervisord_get_their_settings_over_its_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The infrastructure's start started supervisord without a setting the controllers' start gives (a 3 s lease):
    their sections set it, over the environment supervisord actually has (read from /proc)."""
    from cti.topology import Cluster
    from cti.topology import _cluster as cluster_module

    monkeypatch.setattr(cluster_module, "_postgres_bin", lambda: Path("/usr/lib/postgresql/15/bin"))
    monkeypatch.setattr(Cluster, "_as_postgres", lambda self: ["unshare", "--"])
    monkeypatch.setattr(Cluster, "_supervisord_environ", lambda self: {"PATH": "/usr/bin", "HOME": "/root"})
    monkeypatch.setattr(cluster_module.os, "environ", {"PATH": "/usr/bin", "CTI_LEASE_SECONDS": "3"})
    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path)}))
    programs = {program.name: program for program in cluster._programs(cluster._components())}
    assert programs["cti-1"].env["CTI_LEASE_SECONDS"] == "3" and "PATH" not in programs["cti-1"].env
    assert programs["front-1"].env["CTI_LEASE_SECONDS"] == "3"
    assert programs["kamailio"].env == {} and set(programs["redis-6391"].env) == {"REDISCLI_AUTH"}


def test_stop_order_front_ends_standbys_the_leader_the_rest_front_to_back_then_supervisord() -> None:
    from cti.topology import Cluster
    from cti.topology._cluster import stop_order

    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": "/var/tmp/cti-cluster-x", "CTI_CLUSTER_CONTROLLERS": "3"}))
    parts = list(reversed(cluster.names()))
    assert stop_order(parts, "cti-2") == [
        "front-2", "front-1", "cti-3", "cti-1", "cti-2", "haproxy", "kamailio", "node-b", "node-a",
        "postgres", "sentinel-26393", "sentinel-26392", "sentinel-26391", "redis-6392", "redis-6391", "supervisord"]
    # No leader (none holds the lease): the controllers in turn; a part of another count (recorded) goes too.
    assert stop_order(["cti-9", *parts], None)[:7] == [
        "front-2", "front-1", "cti-9", "cti-3", "cti-2", "cti-1", "haproxy"]
    assert stop_order(["cti-9", *parts], None)[-1] == "supervisord"


def test_restarts_are_counted_from_the_running_supervisord_s_log_only() -> None:
    from cti.topology._supervisor import unexpected_exits

    log = ("2026-12-07 12:00:00,000 INFO supervisord started with pid 10\n"
           "2026-12-07 12:00:01,000 WARN exited: cti-1 (terminated by SIGKILL; not expected)\n"
           "2026-12-07 12:01:00,000 INFO supervisord started with pid 20\n"
           "2026-12-07 12:01:01,000 INFO spawned: 'front-1' with pid 21\n"
           "2026-12-07 12:01:05,000 WARN exited: front-1 (terminated by SIGKILL; not expected)\n"
           "2026-12-07 12:01:06,000 WARN exited: cti-2 (exit status 1; not expected)\n"
           "2026-12-07 12:01:07,000 WARN stopped: cti-2 (terminated by SIGTERM)\n"
           "2026-12-07 12:01:08,000 WARN exited: front-1 (terminated by SIGKILL; not expected)\n")
    assert unexpected_exits(log, 20) == {"front-1": 2, "cti-2": 1}
    assert unexpected_exits(log, 30) == {}


def test_supervisord_keeps_every_part_running_each_in_the_foreground_in_start_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file ``start`` renders from the cluster's own parts (Cluster._components, _programs), read back by
    supervisord's parser: every part but supervisord is a program, restarted whenever it ends, run in the
    foreground, ending with supervisord (setpriv's parent-death signal), logging where it did before; no secret on a
    command line."""
    import shlex
    import signal

    from cti.topology import Cluster
    from cti.topology import _cluster as cluster_module
    from cti.topology._configs import supervisor_config

    if shutil.which("supervisord") is None:
        unavailable("supervisord is not installed (scripts/setup.sh installs it)")
    monkeypatch.setattr(cluster_module, "_postgres_bin", lambda: Path("/usr/lib/postgresql/15/bin"))
    monkeypatch.setattr(Cluster, "_as_postgres", lambda self: ["unshare", "--user", "--map-user", "105",
                                                               "--map-group", "111", "--"])
    cluster = Cluster(plan_from_env({"CTI_CLUSTER_DIR": str(tmp_path), "CTI_CLUSTER_PORT_OFFSET": "10"}))
    parts = cluster._components()
    names = cluster.names()
    assert [part.name for part in parts] == names and names[0] == "supervisord"
    (tmp_path / "supervisord.conf").write_text(supervisor_config(cluster.plan, cluster._programs(parts), "root"))
    for sub in ("log", "supervisor"):
        (tmp_path / sub).mkdir()
    read = _read_back(tmp_path / "supervisord.conf")
    assert sorted(read) == sorted(names[1:])
    commands = {name: shlex.split(read[name][1]) for name in read}
    for name, (_env, _command, autorestart, stopsignal, stopasgroup, killasgroup, log) in read.items():
        assert commands[name][:4] == ["setpriv", "--pdeathsig", "TERM", "--"], name
        assert (autorestart, killasgroup, log) == (True, True, str(tmp_path / "log" / f"{name}.log")), name
        # The postmaster alone gets SIGINT (its fast shutdown) and stops its children; the others, their group.
        assert (stopsignal, stopasgroup) == ((signal.SIGINT, False) if name == "postgres" else
                                             (signal.SIGTERM, True)), name
    d = str(tmp_path)
    assert commands["redis-6401"][4:] == ["sh", f"{d}/redis/start-6401.sh", f"{d}/redis/6401.conf"]
    assert commands["sentinel-26402"][4:] == ["redis-sentinel", f"{d}/redis/sentinel-26402.conf"]
    assert commands["postgres"][4:10] == ["unshare", "--user", "--map-user", "105", "--map-group", "111"]
    assert commands["postgres"][11:14] == ["/usr/lib/postgresql/15/bin/postgres", "-D", f"{d}/postgres/data"]
    assert commands["node-a"][4:9] == ["unshare", "--mount", "--propagation", "private", "--"]
    assert "/usr/sbin/asterisk -f -n" in commands["node-a"][11]
    # Kamailio's children would outlive a killed main process: the PID namespace's end takes them.
    assert commands["kamailio"][4:13] == ["unshare", "--pid", "--fork", "--kill-child", "--", "kamailio", "-f",
                                          f"{d}/kamailio/kamailio.cfg", "-DD"]
    assert commands["haproxy"][4:] == ["haproxy", "-db", "-f", f"{d}/haproxy/haproxy.cfg"]
    keys = cluster.secrets()
    assert not [name for name, command in read.items() for secret in keys.values() if secret in command[1]]
    # The Redis password for the Sentinels' question is in the Redis programs' environment only (the file is 0600).
    assert read["redis-6401"][0]["REDISCLI_AUTH"] == keys["redis_password"]
    assert not [name for name in read if name.startswith(("sentinel-", "node-", "kamailio", "haproxy", "postgres"))
                and any(secret in value for secret in keys.values() for value in read[name][0].values())]
