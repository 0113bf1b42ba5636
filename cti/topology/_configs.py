"""The configuration files of the one-machine cluster, rendered from a :class:`ClusterPlan` (text only, no I/O).

Each Asterisk node gets exactly what ``cti asterisk install`` renders for one Asterisk, with the node's own
addresses, ports and RTP range, plus what a cluster adds: its directories under ``/mnt`` (where the node's own
folder is bound inside the shared root), the trunk endpoints to its peers, its homed agents' phones, and the
``from-cluster`` context that takes calls coming over the trunk.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cti.asterisk import AsteriskError, render_config
from cti.settings import load_settings
from cti.telephony import SHED_CAUSE
from cti.topology._plan import ClusterPlan, MediaNode

__all__ = ["NODE_MOUNT", "NODE_SUBDIRS", "REDIS_FAILOVER_WAIT_SECONDS", "Supervised", "controller_env", "front_env",
           "haproxy_config", "kamailio_config", "kamailio_dispatchers", "node_config", "postgres_args", "redis_config",
           "redis_start_script", "sentinel_config", "supervised_env", "supervisor_config", "supervisor_socket"]

NODE_MOUNT = "/mnt"
"""Where a node's own folder appears inside the Asterisk root (bound there in the node's mount namespace only)."""

_DIRECTORIES = {"/etc/asterisk": "etc", "/var/lib/asterisk": "lib", "/var/spool/asterisk": "spool",
                "/var/run/asterisk": "run", "/var/log/asterisk": "log", "/var/cache/asterisk": "cache"}
NODE_SUBDIRS = tuple(_DIRECTORIES.values())

_FROM_CLUSTER = """
[from-cluster]
; A call from a peer node over the inter-node trunk (docs/scaling.md#topology): either a phone homed on this
; node (the caller waits on the other node, the agent's leg crosses the trunk), or a caller handed over to this
; node's cti application.
exten => _1500XXX,1,Goto(from-pstn,${EXTEN},1)
exten => _X.,1,Dial(PJSIP/${EXTEN})
 same => n,Hangup()
"""


def node_config(plan: ClusterPlan, node: MediaNode, ari_password: str) -> dict[str, str]:
    """Asterisk's files for ``node`` (name -> text), to be installed as the node's ``etc``."""
    settings = load_settings(
        ari_password=ari_password,
        admin_token=secrets.token_urlsafe(32),  # required by Settings, unused by Asterisk's files
        ari_url=node.ari_url, ari_user=plan.ari_user, ari_app=plan.ari_app,
        sip_bind=node.sip_address,
        # The carrier's calls reach the nodes through Kamailio: its address is the "gateway" a node trusts.
        pstn_match=plan.kamailio_host,
        rtp_start=node.rtp_start, rtp_end=node.rtp_end,
        softphones="", webphones="", sim_agents=0, sim_agent_port_base=plan.sim_agent_port_base,
        asterisk_root=plan.asterisk_root,
    )
    files = render_config(settings)
    files["asterisk.conf"] = _system_name(_node_directories(files["asterisk.conf"]), node)
    files["extensions.conf"] += _FROM_CLUSTER
    files["pjsip_agents.conf"] += _homed_agents(plan, node) + _trunks(plan, node)
    return files


def _node_directories(text: str) -> str:
    """asterisk.conf with the node's own folders; the shared root's are left to the single Asterisk."""
    found: set[str] = set()

    def move(match: re.Match[str]) -> str:
        found.add(match.group(2))
        return f"{match.group(1)}{NODE_MOUNT}/{_DIRECTORIES[match.group(2)]}"

    pattern = "|".join(re.escape(path) for path in _DIRECTORIES)
    text = re.sub(rf"^(\s*ast\w+dir\s*=>\s*)({pattern})\s*$", move, text, flags=re.MULTILINE)
    # "(!)" makes the section a template, which Asterisk does not apply: the node's folders must be applied.
    text, marked = re.subn(r"^\[directories\]\(!\)", "[directories]", text, flags=re.MULTILINE)
    if found != set(_DIRECTORIES) or not marked:
        raise AsteriskError("asterisk.conf no longer has the [directories] a cluster node rewrites")
    return text


def _system_name(text: str, node: MediaNode) -> str:
    """The node's name in its channels' ids (``a-1765012345.12``): two nodes started in the same second would
    otherwise give their callers the same ids, and cti, driving both, keys legs by id."""
    text, found = re.subn(r"^\[options\]\n", f"[options]\nsystemname = {node.name}\n", text, count=1,
                          flags=re.MULTILINE)
    if not found:
        raise AsteriskError("asterisk.conf no longer has the [options] a cluster node names itself in")
    return text


def _homed_agents(plan: ClusterPlan, node: MediaNode) -> str:
    out = [f"\n; Simulated agents' phones homed on node {node.name} (from elsewhere: PJSIP/<ext>@{node.endpoint}).\n"]
    for ext in node.agents:
        out.append(f"[{ext}](sim-agent-endpoint)\naors = {ext}\ncallerid = Sim agent {ext} <{ext}>\n\n"
                   f"[{ext}](sim-agent-aor)\ncontact = sip:{ext}@127.0.0.1:{plan.sim_agent_port(ext)}\n\n")
    return "".join(out)


def _trunks(plan: ClusterPlan, node: MediaNode) -> str:
    """One endpoint per peer node, known by its address alone: the nodes' network must be private."""
    out = []
    for peer in plan.nodes:
        if peer is node:
            continue
        out.append(f"""
; The trunk to node {peer.name}. Media always through both nodes (direct_media = no): each records, snoops and
; bridges its own legs.
[{peer.endpoint}]
type = endpoint
transport = transport-udp
context = from-cluster
aors = {peer.endpoint}
disallow = all
allow = ulaw,alaw
direct_media = no
rtp_symmetric = yes
trust_id_inbound = yes
trust_id_outbound = yes
send_pai = yes
send_connected_line = no
dtmf_mode = rfc4733

[{peer.endpoint}]
type = aor
contact = sip:{peer.sip_address}
qualify_frequency = 5

[{peer.endpoint}]
type = identify
endpoint = {peer.endpoint}
match = {peer.sip_host}
""")
    return "".join(out)


def kamailio_dispatchers(plan: ClusterPlan) -> str:
    """dispatcher.list: set 1 holds every node."""
    lines = ["# set destination flags priority attributes\n"]
    lines += [f"1 sip:{node.sip_address} 0 0 node={node.name}\n" for node in plan.nodes]
    return "".join(lines)


KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
"""Debian's; ``ndb_redis`` comes in its own package, kamailio-redis-modules."""
EDGE_SHED_STREAM = "cti:edge-shed"
"""The Redis stream where Kamailio notes each caller it sheds (cti records them: ``CTI_EDGE_SHED_STREAM``)."""
OVERLOADED_EXTENSION = "cti-overloaded"
"""The request-URI user a shed caller is sent to a node with: its dialplan plays why, then congestion."""
_SHED_REASON = f"^Q[.]850;[ ]*cause={SHED_CAUSE}([^0-9]|$)"
"""A node's 503 for a caller cti turned away carries ``Reason: Q.850;cause=34`` (cti's :data:`SHED_CAUSE`, from
its ARI hang-up or its dialplan); Asterisk refusing a caller of itself sends cause 42 (its call limit) or no
``Reason`` (shutting down)."""


def kamailio_config(plan: ClusterPlan, redis_password: str) -> str:
    """A stateless-dialog proxy: an initial INVITE goes to the next live node (round robin); a node that does not
    answer in 2 s is marked down and the INVITE tried on the next, as is one a node answers with a ``503`` of its
    own; OPTIONS every second find it back. A ``503`` with cti's :data:`SHED_CAUSE` (cti turned the caller away)
    is not tried again: the one controller of every node decided.

    Kamailio stays in the signalling path (Record-Route) so the carrier sees one address, but keeps no dialog
    state: restarted, it still routes the in-dialog requests of calls set up before by their Route headers.

    It is also where overload is shed (issue 21): past ``edge_rate`` new INVITEs a second (pipelimit, tail drop
    per one-second interval; the rate is in the ``edge`` htable, changed at run time with ``kamcmd htable.seti edge
    rate N``), a caller never reaches a node's Stasis: up to ``edge_message_rate`` a second are sent to a node's
    ``cti-overloaded`` extension to hear why (early media, then 503), the others get a 503 from Kamailio itself.
    Each is noted in a Redis stream (through haproxy's port for the current master) for cti to record as rejected.
    """
    directory = plan.directory / "kamailio"
    xadd = f"XADD {EDGE_SHED_STREAM} MAXLEN ~ 100000 * told $var(told) at $TV(Sn) caller %s called %s callid %s"
    return f"""#!KAMAILIO
# Rendered by `cti cluster start` (cti/topology); edits are overwritten.
debug=2
log_stderror=yes
children=2
auto_aliases=no
listen=udp:{plan.kamailio_address}
disable_tcp=yes
dns=no
rev_dns=no
use_dns_cache=off
server_header="Server: cti-kamailio"
user_agent_header="User-Agent: cti-kamailio"

mpath="{KAMAILIO_MODULES}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "ctl.so"
loadmodule "dispatcher.so"
loadmodule "htable.so"
loadmodule "pipelimit.so"
loadmodule "ndb_redis.so"

# Call-ID -> node, for callers that ignore Record-Route (SIPp's plain scenarios send every request to us).
modparam("htable", "htable", "calls=>size=12;autoexpire=7200;")
# The edge's bounds, changeable at run time (kamcmd htable.seti edge rate N); 0: no bound.
modparam("htable", "htable", "edge=>size=2;")
modparam("pipelimit", "timer_interval", 1)
modparam("pipelimit", "load_fetch", 0)
modparam("ndb_redis", "server", "name=live;addr=127.0.0.1;port={plan.redis_master_port};pass={redis_password}")
modparam("ndb_redis", "init_without_redis", 1)
# A shed must stay cheap: a Redis that does not answer costs at most 200 ms, twice, then is skipped for 5 s.
modparam("ndb_redis", "connect_timeout", 200)
modparam("ndb_redis", "cmd_timeout", 200)
modparam("ndb_redis", "allowed_timeouts", 2)
modparam("ndb_redis", "disable_time", 5)
modparam("ctl", "binrpc", "unix:{directory}/ctl.sock")
# A node that has not answered an INVITE (not even 100 Trying) in 2 s is taken for dead.
modparam("tm", "fr_timer", 2000)
modparam("tm", "fr_inv_timer", 120000)
# Flag 2: keep the other nodes of a selection, so a failed INVITE is tried on the next (ds_next_dst).
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "list_file", "{directory}/dispatcher.list")
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@{plan.kamailio_address}")
modparam("dispatcher", "ds_ping_interval", 1)
modparam("dispatcher", "ds_probing_mode", 1)
# Down after two unanswered probes, up again after one answer.
modparam("dispatcher", "ds_probing_threshold", 2)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (!sanity_check()) {{
        exit;
    }}
    if (has_totag()) {{
        # In dialog: follow the Route set this proxy recorded.
        if (loose_route()) {{
            t_relay();
            exit;
        }}
        # No Route header: a caller that ignores Record-Route sends its in-dialog requests to this proxy by
        # the R-URI. They go to the node the call was set up on.
        if ($sht(calls=>$ci) != $null) {{
            $du = $sht(calls=>$ci);
            if (is_method("BYE")) {{
                $sht(calls=>$ci) = $null;
            }}
            t_relay();
            exit;
        }}
        if (is_method("ACK") && t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("CANCEL|ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("OPTIONS") && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    if ($sht(edge=>rate) > 0) {{
        pl_check("inbound", "TAILDROP", "$sht(edge=>rate)");
        if ($rc == -1) {{
            route(SHED);
            exit;
        }}
    }}
    record_route();
    # Algorithm 4: round robin over the live nodes of set 1.
    if (!ds_select_dst("1", "4")) {{
        xlog("L_WARN", "no media node for $ci\\n");
        sl_send_reply("503", "No media node available");
        exit;
    }}
    t_on_failure("NEXT_NODE");
    t_on_branch("REMEMBER_NODE");
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

event_route[htable:mod-init] {{
    $sht(edge=>rate) = {plan.edge_rate};
    $sht(edge=>message_rate) = {plan.edge_message_rate};
}}

route[SHED] {{
    # Over the edge's rate: the caller is told why by a node while the message's own rate allows, else gets a 503
    # here. Either way noted for cti (the caller's and the called number go as arguments, never in the command).
    $var(told) = 0;
    if ($sht(edge=>message_rate) > 0) {{
        pl_check("told", "TAILDROP", "$sht(edge=>message_rate)");
        if ($rc == 1) {{
            $var(told) = 1;
        }}
    }}
    if (!redis_cmd("live", "{xadd}", "$fU", "$rU", "$ci", "r")) {{
        xlog("L_WARN", "overload: a shed caller not noted (Redis): $ci\\n");
    }}
    if ($var(told) == 1) {{
        $rU = "{OVERLOADED_EXTENSION}";
        record_route();
        if (ds_select_dst("1", "4")) {{
            t_relay();
            exit;
        }}
    }}
    sl_send_reply("503", "Overloaded");
}}

branch_route[REMEMBER_NODE] {{
    $sht(calls=>$ci) = $du;
}}

failure_route[NEXT_NODE] {{
    if (t_is_canceled()) {{
        exit;
    }}
    # The node this branch went to (REMEMBER_NODE's note): $du here is still the first node chosen.
    $var(node) = $sht(calls=>$ci);
    if (t_branch_timeout() && !t_branch_replied()) {{
        xlog("L_WARN", "media node $var(node) did not answer: marked down\\n");
        ds_mark_dst("ip");
    }} else if (!t_check_status("503")) {{
        exit;
    }} else if ($T_rpl($hdr(Reason)) != $null && $T_rpl($hdr(Reason)) =~ "{_SHED_REASON}") {{
        # cti turned the caller away (its own admission control): the controller is one for every node, so the next
        # node would only ask it again, and the caller hear why twice. The node's 503 goes on (as a 500).
        exit;
    }}
    if (ds_next_dst()) {{
        xlog("L_INFO", "media node $var(node) answered $T_reply_code for $ci: trying $du\\n");
        t_on_failure("NEXT_NODE");
        t_on_branch("REMEMBER_NODE");
        t_relay();
    }} else {{
        xlog("L_WARN", "media node $var(node) answered $T_reply_code for $ci, no other live node to try\\n");
    }}
}}

# Kamailio's view of the nodes changes rarely and matters when it does: each change is in its log.
event_route[dispatcher:dst-down] {{
    # Probes run this on a message of dispatcher's own, whose R-URI is the node. The failover route's ds_mark_dst runs
    # it on the caller's INVITE, whose R-URI is the called number: the node is the branch's (REMEMBER_NODE's note).
    if ($rm == "INVITE") {{
        xlog("L_WARN", "media node $sht(calls=>$ci) down: it did not answer $ci, no new calls sent to it\\n");
    }} else {{
        xlog("L_WARN", "media node $ru down: probes unanswered, no new calls sent to it\\n");
    }}
}}

event_route[dispatcher:dst-up] {{
    xlog("L_WARN", "media node $ru up again: it answers probes\\n");
}}
"""


def redis_config(plan: ClusterPlan, port: int, password: str, replica_of: int | None) -> str:
    """A Redis of the pair, with the password asked of clients and given to the master (so a former master, turned
    replica by Sentinel, can follow the new one). Its writes are appended to a file (AOF, fsync'd every second): a
    Redis started again, by supervisord or ``start``, reloads what it held instead of coming back empty
    (docs/scaling.md#redis-restarted-safely); no snapshots besides. A replica's full sync starts at once (there is
    one replica: nothing to gain from waiting for others, Redis's default 5 s)."""
    secret = _redis_value(password)
    lines = [f"port {port}", "bind 127.0.0.1", "daemonize no", 'save ""', "appendonly yes", "appendfsync everysec",
             f"dir {plan.directory / 'redis' / str(port)}", f"requirepass {secret}", f"masterauth {secret}",
             "replica-serve-stale-data yes", "repl-diskless-sync-delay 0"]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {replica_of}")
    return "\n".join(lines) + "\n"


REDIS_FAILOVER_WAIT_SECONDS = 10
"""How long a Redis the Sentinels still name master waits, when started again, for them to promote the replica
(measured 1.6-2.4 s; Sentinel's failover-timeout is 10 s) before it starts as master from its own file."""


def redis_start_script(plan: ClusterPlan, port: int) -> str:
    """The shell script that starts the Redis of ``port`` (its file is ``$1``) in the role the Sentinels give it, so
    that a Redis started again never wipes the pair: asked first (``REDISCLI_AUTH`` in its environment), the first
    Sentinel that answers names the master. Another node: this one starts as its replica (and resyncs from it). This
    node: it was the master and died, and the Sentinels have not failed over yet; it waits (closed: so they do) up
    to :data:`REDIS_FAILOVER_WAIT_SECONDS` for them to promote the replica and then follows it; if they cannot (the
    replica down too, no quorum) it starts as master with the data its AOF holds. No Sentinel answers (the cluster
    starting): the role of its file."""
    sentinels = " ".join(str(sentinel) for sentinel in plan.sentinel_ports)
    return f"""conf=$1
named() {{
    for sentinel in {sentinels}; do
        found=$(timeout 2 redis-cli --no-auth-warning -h 127.0.0.1 -p "$sentinel" \
            SENTINEL get-master-addr-by-name {plan.master_name} 2>/dev/null | tr '\n' ' ')
        case "$found" in [0-9]*" "[0-9]*" ") echo "${{found% }}"; return;; esac
    done
}}
master=$(named)
if [ "${{master#* }}" = {port} ]; then
    echo "the Sentinels still name this Redis ({port}) master: up to {REDIS_FAILOVER_WAIT_SECONDS} s for a failover"
    end=$(($(date +%s) + {REDIS_FAILOVER_WAIT_SECONDS}))
    while [ "${{master#* }}" = {port} ] && [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.2
        master=$(named)
    done
fi
case "$master" in
    "") echo "no Sentinel answers: starting as configured"; exec redis-server "$conf";;
    *" {port}") echo "the Sentinels name this Redis master, no failover: starting as master from its AOF"
        exec redis-server "$conf" --replicaof no one;;
    *) echo "the Sentinels name $master master: starting as its replica"
        exec redis-server "$conf" --replicaof $master;;
esac
"""


def sentinel_config(plan: ClusterPlan, port: int, password: str) -> str:
    """One of three Sentinels: quorum 2; a master silent for 1 s is down and, two agreeing, replaced."""
    secret = _redis_value(password)
    name = plan.master_name
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", "daemonize no", f"dir {plan.directory / 'redis' / f'sentinel-{port}'}",
        f"requirepass {secret}", f"sentinel sentinel-pass {secret}",
        f"sentinel monitor {name} 127.0.0.1 {plan.redis_ports[0]} 2",
        f"sentinel auth-pass {name} {secret}",
        f"sentinel down-after-milliseconds {name} 1000",
        f"sentinel failover-timeout {name} 10000",
        f"sentinel parallel-syncs {name} 1",
    ]) + "\n"


def _redis_value(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", value):
        raise ValueError("the cluster's Redis password must be letters, digits, '-' and '_'")
    return value


def haproxy_config(plan: ClusterPlan, redis_password: str) -> str:
    """haproxy in front of cti's web front ends: a front end is in rotation while its ``/healthz`` answers 200;
    websockets (desktops, dashboards) go to the least busy one and may last a shift. And in front of whichever
    Redis is master now (its check asks each for its role), for Kamailio's notes of the callers it sheds."""
    servers = "\n".join(f"    server web{i} {host}:{port} check"
                        for i, (host, port) in enumerate(plan.web_backends, start=1))
    redis_servers = "\n".join(f"    server redis{i} 127.0.0.1:{port} check"
                              for i, port in enumerate(plan.redis_ports, start=1))
    return f"""# Rendered by `cti cluster start` (cti/topology); edits are overwritten.
global
    # No maxconn: haproxy derives it from the descriptors it may open (ulimit -n).
    stats socket {plan.directory / 'haproxy' / 'admin.sock'} mode 600 level admin

defaults
    mode http
    option forwardfor
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # A websocket once upgraded is a tunnel: an agent's desktop stays connected for the shift.
    timeout tunnel 12h
    timeout client-fin 5s

frontend web
    bind 127.0.0.1:{plan.web_port}
    default_backend cti_web

backend cti_web
    balance leastconn
    # A front end that died refuses connections before two checks have failed: the request (a page reconnecting)
    # goes to another one at once instead of failing.
    retries 2
    option redispatch 1
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}

frontend redis_master
    mode tcp
    bind 127.0.0.1:{plan.redis_master_port}
    default_backend redis_master

backend redis_master
    mode tcp
    timeout server 1h
    timeout client 1h
    option tcp-check
    tcp-check send AUTH\\ {redis_password}\\r\\n
    tcp-check expect string +OK
    tcp-check send info\\ replication\\r\\n
    tcp-check expect string role:master
    tcp-check send QUIT\\r\\n
    tcp-check expect string +OK
    default-server inter 1s fall 1 rise 1 on-marked-down shutdown-sessions
{redis_servers}
"""



def postgres_args(plan: ClusterPlan, data: Path) -> list[str]:
    """The arguments of the cluster's ``postgres`` (after the binary): its data folder, its port on loopback, no
    Unix socket (cti and the tools connect over TCP, with the password of ``secrets.json``)."""
    return ["-D", str(data), "-p", str(plan.postgres_port), "-c", "listen_addresses=127.0.0.1",
            "-c", "unix_socket_directories=", "-c", "max_connections=200"]


_SECRETS_OF_A_CONTROLLER = ("CTI_ADMIN_TOKEN", "CTI_ARI_PASSWORD", "CTI_DATABASE_URL")


def controller_env(plan: ClusterPlan, k: int, given: Mapping[str, str], shared: Mapping[str, str]) -> dict[str, str]:
    """The environment of controller ``k`` (1-based): what ``cti cluster start`` was given (any cti setting, such
    as ``CTI_LEASE_SECONDS`` or ``CTI_ROUTING_RULES``, applies to every controller), then the cluster's own
    settings over it (``shared``: what ``cluster.env`` holds), then the controller's own address. Every controller
    stands by for the lease and mirrors its frames for the front ends."""
    env = {key: value for key, value in given.items() if not key.startswith("CTI_CLUSTER_")}
    env |= shared
    url = plan.controller_url(k)
    env |= {"CTI_HTTP_HOST": "127.0.0.1", "CTI_HTTP_PORT": str(plan.controller_ports[k - 1]),
            "CTI_ADVERTISE_URL": url, "CTI_STANDBY": "true", "CTI_FRAME_STREAM": "true",
            "CTI_REDIS_PREFIX": plan.redis_prefix}
    return env


def front_env(plan: ClusterPlan, given: Mapping[str, str], shared: Mapping[str, str]) -> dict[str, str]:
    """The environment of a front end: as a controller's, but with no secret a front end does not need (it holds
    no credential and no database: docs/scaling.md#web-front-ends); its address goes on its command line."""
    env = {key: value for key, value in given.items()
           if not key.startswith("CTI_CLUSTER_") and key not in _SECRETS_OF_A_CONTROLLER}
    env |= {key: value for key, value in shared.items() if key not in _SECRETS_OF_A_CONTROLLER}
    env["CTI_REDIS_PREFIX"] = plan.redis_prefix
    return env


# -- supervisord: what keeps every part of the cluster running -------------------------------------------------------
SUPERVISOR_STOP_SECONDS = 10
"""How long a supervised part has to end after SIGTERM before its whole group gets SIGKILL (as ``stop``'s parts)."""
SUPERVISOR_START_SECONDS = 3
"""A process that dies sooner failed to start: it is tried again after 1, 2, 3... s, up to
:data:`SUPERVISOR_START_RETRIES` times, then left down (``FATAL``, in ``cti cluster status``). One that ran longer
is started again at once: a crash loop restarts at most once every few seconds."""
SUPERVISOR_START_RETRIES = 10


@dataclass(frozen=True, slots=True)
class Supervised:
    """A process supervisord keeps running."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    """Set over supervisord's own environment (which every supervised process inherits): only what differs."""
    stopsignal: str = "TERM"
    stopasgroup: bool = True
    """The stop signal to the whole process group; else to the program alone, which stops its own children
    (PostgreSQL's postmaster: SIGINT, its fast shutdown). SIGKILL goes to the whole group either way."""


def supervisor_socket(plan: ClusterPlan) -> Path:
    return plan.directory / "supervisor" / "supervisor.sock"


def supervisor_config(plan: ClusterPlan, programs: Sequence[Supervised], user: str | None = None) -> str:
    """supervisord's file: each program restarted whenever it ends (killed, crashed, or exited of itself), killed
    with its whole process group, logging into the cluster's log folder; driven over a Unix socket (0700) in the
    cluster's folder, no TCP port. The programs do not start with supervisord: ``cti cluster start`` starts them in
    its stages (the first controller installs a new database before the others). A program's environment is in the
    file (0600, as ``cluster.env``), never on its command line. ``user``: the one it runs as, when root (said so
    it does not warn of it)."""
    directory, log = plan.directory, plan.directory / "log"
    sock = supervisor_socket(plan)
    conf = _supervisor_value(str(directory / "supervisor" / "supervisord.conf"))
    out = [f"""; Rendered by `cti cluster start` (cti/topology); edits are overwritten. It holds the controllers'
; secrets: 0600, in the cluster's 0700 folder. See the programs: supervisorctl -c {conf} status
[unix_http_server]
file={_supervisor_value(str(sock))}
chmod=0700

[supervisord]
nodaemon=true
; Its log only in its file (its standard output, which `cti cluster start` sends to the same file, keeps a crash's).
silent=true
identifier=cti-cluster
logfile={_supervisor_value(str(log / 'supervisord.log'))}
logfile_maxbytes=10MB
logfile_backups=2
loglevel=info
pidfile={_supervisor_value(str(directory / 'supervisor' / 'supervisord.pid'))}
childlogdir={_supervisor_value(str(log))}
{f"user={_supervisor_value(user)}" if user else ""}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{_supervisor_value(str(sock))}
"""]
    for program in programs:
        if not re.fullmatch(r"[A-Za-z0-9_-]+", program.name):
            raise ValueError(f"a supervised program's name must be letters, digits, '-' and '_': {program.name!r}")
        env = ",".join(f'{key}="{_supervisor_env_value(key, value)}"' for key, value in program.env.items())
        out.append(f"""
[program:{program.name}]
command={_supervisor_value(shlex.join(program.argv))}
directory={_supervisor_value(str(directory))}
{f"environment={env}" if env else ";  environment: supervisord's own"}
autostart=false
autorestart=true
startsecs={SUPERVISOR_START_SECONDS}
startretries={SUPERVISOR_START_RETRIES}
stopsignal={program.stopsignal}
stopwaitsecs={SUPERVISOR_STOP_SECONDS}
stopasgroup={str(program.stopasgroup).lower()}
killasgroup=true
redirect_stderr=true
stdout_logfile={_supervisor_value(str(log / f'{program.name}.log'))}
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=2
""")
    return "".join(out)


def _supervisor_value(text: str) -> str:
    """A value in supervisord's file: '%' is its expansion's (``%(here)s``), a ';' or '#' after a space starts a
    comment, a line ends the value."""
    if "\n" in text or re.search(r"\s[;#]", text):
        raise ValueError(f"not usable in supervisord's file: {text!r}")
    return text.replace("%", "%%")


def _supervisor_env_value(key: str, value: str) -> str:
    """In double quotes, which supervisord strips and cannot escape."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) or '"' in value:
        raise ValueError(f"{key} cannot be set in supervisord's file (a '\"' in its value?)")
    return _supervisor_value(value)


def supervised_env(inherited: Mapping[str, str], env: Mapping[str, str], *, running: bool = False) -> dict[str, str]:
    """What a program's ``env`` sets over supervisord's ``inherited`` environment, which it cannot unset. A
    supervisord already ``running`` has the environment of the ``start`` that started it, which may hold what a
    later ``start``'s caller does not (another shell's variables): only a secret a front end must not have is
    refused then."""
    extra = set(inherited) - set(env)
    if running:
        extra &= set(_SECRETS_OF_A_CONTROLLER)
    if extra:
        raise ValueError(f"supervisord would pass on what the program must not have: {', '.join(sorted(extra))}")
    return {key: value for key, value in env.items() if inherited.get(key) != value}
