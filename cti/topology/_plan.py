"""Which part of the one-machine cluster listens where: pure data, from the environment.

Every address is on loopback. Each Asterisk node and Kamailio get a loopback address of their own (127.0.3.x)
as they would get a machine of their own: a node tells Kamailio, its peer nodes and the agents' phones (127.0.0.1)
apart by the address a request comes from, as PJSIP's ``identify`` does in production. Ports stay clear of the
single Asterisk cti uses by default (5060, 8088, RTP 10000-20000, simulated agents from 21000) and of the
kernel's ephemeral range (32768 and up, where SIPp's own ports come from).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cti.settings import DEFAULT_ASTERISK_ROOT

__all__ = ["ClusterPlan", "MediaNode", "PlanError", "plan_from_env"]

DEFAULT_DIRECTORY = Path("/var/tmp/cti-cluster")
NETWORK = "127.0.3"
"""Loopback addresses of the lab's machines: node k at .k, Kamailio at .10."""
RTP_PORTS_PER_NODE = 2000
"""Two ports (RTP, RTCP) per leg and two legs per connected call: 500 calls a node."""


class PlanError(ValueError):
    """A CTI_CLUSTER_* setting is not usable; the message names it."""


@dataclass(frozen=True, slots=True)
class MediaNode:
    """One Asterisk media node."""

    name: str
    sip_host: str
    sip_port: int
    ari_port: int
    rtp_start: int
    rtp_end: int
    agents: tuple[str, ...]
    """Extensions of the simulated agents' phones homed on this node (their calls from elsewhere cross the trunk)."""

    @property
    def endpoint(self) -> str:
        """The PJSIP endpoint the other nodes reach this one by (``PJSIP/<ext>@node-a``)."""
        return f"node-{self.name}"

    @property
    def sip_address(self) -> str:
        return f"{self.sip_host}:{self.sip_port}"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.ari_port}"


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    directory: Path
    asterisk_root: Path
    nodes: tuple[MediaNode, ...]
    kamailio_host: str
    kamailio_port: int
    redis_ports: tuple[int, int]
    """The master's and the replica's, as started (Sentinel may swap their roles later)."""
    sentinel_ports: tuple[int, int, int]
    web_port: int
    web_backends: tuple[tuple[str, int], ...]
    sim_agent_port_base: int
    postgres_port: int = 5442
    """The cluster's own PostgreSQL, cti's store in the cluster."""
    controller_ports: tuple[int, ...] = (8491, 8492)
    """One ``cti serve --standby`` per port (HTTP; a standby serves nothing until it leads)."""
    fronts: int = 2
    """``cti front`` processes, on the first ``fronts`` of ``web_backends``."""
    redis_master_port: int = 6390
    """haproxy's port in front of whichever Redis is master now (for Kamailio, which cannot ask Sentinels that
    require a password)."""
    edge_rate: int = 50
    """INVITEs a second Kamailio lets into the nodes (0: no bound); the rest are shed at the edge."""
    edge_message_rate: int = 2
    """Shed callers a second sent to a node to hear why (early media, then 503); the others get a 503 at once."""
    master_name: str = "cti"
    ari_user: str = "cti"
    ari_app: str = "cti"
    redis_prefix: str = "cti"
    """The cluster's controllers' keys (the lease is ``<prefix>:leader``)."""
    database: str = "cti"
    database_user: str = "cti"

    @property
    def kamailio_address(self) -> str:
        return f"{self.kamailio_host}:{self.kamailio_port}"

    def node(self, name: str) -> MediaNode:
        for node in self.nodes:
            if node.name == name:
                return node
        raise PlanError(f"no media node {name!r} (nodes: {', '.join(n.name for n in self.nodes)})")

    @property
    def front_backends(self) -> tuple[tuple[str, int], ...]:
        """Where the cluster's own front ends listen: the first of haproxy's backends."""
        return self.web_backends[:self.fronts]

    def controller_url(self, k: int) -> str:
        """Controller ``k``'s HTTP address (1-based)."""
        return f"http://127.0.0.1:{self.controller_ports[k - 1]}"

    def node_dir(self, node: MediaNode) -> Path:
        return self.directory / f"node-{node.name}"

    def sim_agent_port(self, extension: str) -> int:
        """Where the simulated phone of ``extension`` listens (as ``Settings.sim_agent_port``)."""
        return self.sim_agent_port_base + int(extension) - 7000

    def tcp_ports(self) -> list[tuple[str, int]]:
        """Every TCP port the topology listens on, to refuse a start over someone else's."""
        ports = [("127.0.0.1", node.ari_port) for node in self.nodes]
        ports += [("127.0.0.1", port) for port in (*self.redis_ports, *self.sentinel_ports, self.web_port,
                                                   self.redis_master_port, self.postgres_port,
                                                   *self.controller_ports)]
        return ports + list(self.front_backends)

    def udp_ports(self) -> list[tuple[str, int]]:
        return [(node.sip_host, node.sip_port) for node in self.nodes] + [(self.kamailio_host, self.kamailio_port)]


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PlanError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise PlanError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _backends(env: Mapping[str, str], offset: int) -> tuple[tuple[str, int], ...]:
    raw = env.get("CTI_CLUSTER_WEB_BACKENDS", "").strip()
    if not raw:
        return (("127.0.0.1", 8481 + offset), ("127.0.0.1", 8482 + offset))
    backends: list[tuple[str, int]] = []
    for item in raw.split(","):
        host, _, port = item.strip().rpartition(":")
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise PlanError(f"CTI_CLUSTER_WEB_BACKENDS: {item.strip()!r} is not [host:]port")
        backends.append((host or "127.0.0.1", int(port)))
    return tuple(backends)


def plan_from_env(env: Mapping[str, str]) -> ClusterPlan:
    """The plan the ``CTI_CLUSTER_*`` variables describe (docs/scaling.md#topology lists them)."""
    offset = _int(env, "CTI_CLUSTER_PORT_OFFSET", 0, 0, 1000)
    count = _int(env, "CTI_CLUSTER_NODES", 2, 1, 9)
    per_node = _int(env, "CTI_CLUSTER_AGENTS_PER_NODE", 10, 0, 99)
    rtp_base = _int(env, "CTI_CLUSTER_RTP_BASE", 24000, 1024, 65535 - 9 * RTP_PORTS_PER_NODE)
    if rtp_base % 2:
        raise PlanError("CTI_CLUSTER_RTP_BASE must be even (RTP on even ports, RTCP on the next)")
    nodes = []
    for k in range(1, count + 1):
        start = rtp_base + (k - 1) * RTP_PORTS_PER_NODE
        agents = tuple(str(7000 + (k - 1) * per_node + i) for i in range(1, per_node + 1))
        nodes.append(MediaNode(name=string.ascii_lowercase[k - 1], sip_host=f"{NETWORK}.{k}",
                               sip_port=5160 + k + offset, ari_port=8180 + k + offset, rtp_start=start,
                               rtp_end=start + RTP_PORTS_PER_NODE - 1, agents=agents))
    backends = _backends(env, offset)
    controllers = _int(env, "CTI_CLUSTER_CONTROLLERS", 2, 0, 9)
    fronts = _int(env, "CTI_CLUSTER_FRONTS", len(backends), 0, len(backends))
    return ClusterPlan(
        directory=Path(env.get("CTI_CLUSTER_DIR") or DEFAULT_DIRECTORY),
        asterisk_root=Path(env.get("CTI_ASTERISK_ROOT") or DEFAULT_ASTERISK_ROOT),
        nodes=tuple(nodes),
        kamailio_host=f"{NETWORK}.10",
        kamailio_port=_int(env, "CTI_CLUSTER_SIP_PORT", 5080 + offset, 1024, 65535),
        redis_ports=(6391 + offset, 6392 + offset),
        sentinel_ports=(26391 + offset, 26392 + offset, 26393 + offset),
        web_port=_int(env, "CTI_CLUSTER_WEB_PORT", 8480 + offset, 1024, 65535),
        web_backends=backends,
        sim_agent_port_base=22000 + offset,
        postgres_port=_int(env, "CTI_CLUSTER_POSTGRES_PORT", 5442 + offset, 1024, 65535),
        controller_ports=tuple(8490 + k + offset for k in range(1, controllers + 1)),
        fronts=fronts,
        redis_master_port=6390 + offset,
        # Measured: one controller sustains 50 calls/s on this two-core machine (docs/benchmarks.md#overload).
        edge_rate=_int(env, "CTI_CLUSTER_EDGE_RATE", 50, 0, 100_000),
        edge_message_rate=_int(env, "CTI_CLUSTER_EDGE_MESSAGE_RATE", 2, 0, 10_000),
    )
