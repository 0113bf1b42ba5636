"""The configuration files of the one-machine cluster, rendered from a :class:`ClusterPlan` (text only, no I/O).

Each Asterisk node gets exactly what ``cti asterisk install`` renders for one Asterisk, with the node's own
addresses, ports and RTP range, as an instance of the shared root (:func:`cti.asterisk.instance_config`: its
directories under ``/mnt``, where the node's own folder is bound inside the root), plus what a cluster adds: the
trunk endpoints to its peers, its homed agents' phones, and the ``from-cluster`` context that takes calls coming
over the trunk.
"""

from __future__ import annotations

import re
import secrets

from cti.asterisk import instance_config, render_config
from cti.settings import load_settings
from cti.topology._plan import ClusterPlan, MediaNode

__all__ = ["haproxy_config", "kamailio_config", "kamailio_dispatchers", "node_config",
           "redis_config", "sentinel_config"]

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
    files = instance_config(render_config(settings), node.name)
    files["extensions.conf"] += _FROM_CLUSTER
    files["pjsip_agents.conf"] += _homed_agents(plan, node) + _trunks(plan, node)
    return files


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


def kamailio_config(plan: ClusterPlan) -> str:
    """A stateless-dialog proxy: an initial INVITE goes to the next live node (round robin); a node that does not
    answer in 2 s is marked down and the INVITE tried on the next; OPTIONS every second find it back.

    Kamailio stays in the signalling path (Record-Route) so the carrier sees one address, but keeps no dialog
    state: restarted, it still routes the in-dialog requests of calls set up before by their Route headers.
    """
    directory = plan.directory / "kamailio"
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

mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
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

# Call-ID -> node, for callers that ignore Record-Route (SIPp's plain scenarios send every request to us).
modparam("htable", "htable", "calls=>size=12;autoexpire=7200;")
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

branch_route[REMEMBER_NODE] {{
    $sht(calls=>$ci) = $du;
}}

failure_route[NEXT_NODE] {{
    if (t_is_canceled()) {{
        exit;
    }}
    if (t_branch_timeout() && !t_branch_replied()) {{
        xlog("L_WARN", "media node $du did not answer: marked down\\n");
        ds_mark_dst("ip");
    }} else if (!t_check_status("503")) {{
        exit;
    }}
    if (ds_next_dst()) {{
        t_on_failure("NEXT_NODE");
        t_on_branch("REMEMBER_NODE");
        t_relay();
    }}
}}
"""


def redis_config(plan: ClusterPlan, port: int, password: str, replica_of: int | None) -> str:
    """A Redis of the pair: in memory only (cti rewrites its live state), with the password asked of clients and
    given to the master (so a former master, turned replica by Sentinel, can follow the new one)."""
    secret = _redis_value(password)
    lines = [f"port {port}", "bind 127.0.0.1", "daemonize no", 'save ""', "appendonly no",
             f"dir {plan.directory / 'redis' / str(port)}", f"requirepass {secret}", f"masterauth {secret}",
             "replica-serve-stale-data yes"]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {replica_of}")
    return "\n".join(lines) + "\n"


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


def haproxy_config(plan: ClusterPlan) -> str:
    """haproxy in front of cti's web front ends: a front end is in rotation while its ``/healthz`` answers 200;
    websockets (desktops, dashboards) go to the least busy one and may last a shift."""
    servers = "\n".join(f"    server web{i} {host}:{port} check"
                        for i, (host, port) in enumerate(plan.web_backends, start=1))
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
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
{servers}
"""

