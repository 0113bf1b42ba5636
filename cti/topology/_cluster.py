"""Start, stop and inspect the one-machine cluster: Asterisk media nodes, Kamailio, Redis with Sentinel, PostgreSQL,
standby cti controllers, cti web front ends, haproxy.

supervisord is started first, in a session of its own (its process group is its pid), recorded in
``<dir>/run/supervisord.pid`` with its start time (so a recycled pid is never taken for it); every other part is one
of its programs, which it starts (in ``start``'s stages), starts again whenever it ends, and stops with its process
group: their pids are supervisord's answer. A cluster started before they were supervised has pid files for them:
those are still read and stopped. Nothing outside ``<dir>`` is written,
except that each Asterisk node runs in the shared root (``CTI_ASTERISK_ROOT``) seen through a mount namespace of its
own, where the node's folder is bound on ``/mnt``, ``/proc`` and ``/dev`` are mounted: the namespace, and its
mounts, end with the node's process. The single Asterisk of ``cti asterisk`` and the tests keeps the root's own
folders, its lock and its mounts, untouched (the root's sounds folder gets cti's prompts, as from any cti:
``CTI_SOUNDS_DIR``). PostgreSQL, which refuses to run as root, runs in a user namespace as the ``postgres`` user
(root outside): its data stays in ``<dir>/postgres``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

import cti
from cti.asterisk import AsteriskRoot
from cti.topology._configs import (
    EDGE_SHED_STREAM,
    KAMAILIO_MODULES,
    NODE_MOUNT,
    NODE_SUBDIRS,
    SUPERVISOR_STOP_SECONDS,
    Supervised,
    controller_env,
    front_env,
    haproxy_config,
    kamailio_config,
    kamailio_dispatchers,
    node_config,
    postgres_args,
    redis_config,
    redis_start_script,
    sentinel_config,
    supervised_env,
    supervisor_config,
    supervisor_socket,
)
from cti.topology._plan import ClusterPlan, MediaNode
from cti.topology._supervisor import RUNNING_STATES, ProcessInfo, Supervisor, SupervisorError, unexpected_exits

__all__ = ["Cluster", "ClusterError"]

_NODE_SCRIPT = (
    'set -e; mount --bind "$2" "$1' + NODE_MOUNT + '"; mount -t proc proc "$1/proc"; mount --bind /dev "$1/dev"; '
    'exec chroot "$1" /usr/sbin/asterisk -f -n -C ' + NODE_MOUNT + "/etc/asterisk.conf"
)
_TOOLS = {"kamailio": "kamailio", "redis-server": "redis-server", "redis-sentinel": "redis-sentinel",
          "redis-cli": "redis-tools",
          "haproxy": "haproxy", "unshare": "util-linux", "nsenter": "util-linux", "kamcmd": "kamailio",
          "supervisord": "supervisor", "setpriv": "util-linux"}
_WITH_SUPERVISORD = ["setpriv", "--pdeathsig", "TERM", "--"]
"""A supervised process ends (as ``stop`` ends it) if supervisord is killed: none is left running unsupervised, out
of ``stop``'s sight and on the ports the next ``start`` needs (setpriv execs it: its pid is supervisord's child's)."""
_CTI_PARTS = ("cti-", "front-")
"""The cluster's cti processes, whose environment is the whole of what they get (the other parts add their own
settings to supervisord's)."""
_POSTGRES_BINARIES = Path("/usr/lib/postgresql")
"""Debian's PostgreSQL: ``<version>/bin/{initdb,postgres,pg_isready,psql,createdb}``."""
_SECRETS: dict[str, Callable[[], str]] = {
    "ari_password": lambda: secrets.token_urlsafe(24), "redis_password": lambda: secrets.token_hex(24),
    "postgres_password": lambda: secrets.token_hex(24), "admin_token": lambda: secrets.token_urlsafe(32)}
"""Made at the first start (a key missing from an older ``secrets.json`` is added), then kept."""


class ClusterError(Exception):
    """The cluster could not be started, stopped or inspected; the message says why."""


@dataclass(frozen=True, slots=True)
class _Component:
    name: str
    argv: list[str]
    ready: Callable[[], str | None]
    """None once the component serves; else what it is still waiting for."""
    stage: int = 0
    """Started once every part of the earlier stages serves: 0 the infrastructure and PostgreSQL, 1 the first
    controller (which installs the admin and the shipped scripts in a new database), 2 the other controllers and
    the front ends."""
    env: Mapping[str, str] | None = None
    """supervisord's own; a cti process's whole environment; a part of the infrastructure's own settings only
    (over supervisord's, which it inherits), or None."""
    supervised: bool = True
    """Started and kept running by supervisord (all but supervisord itself, which is spawned)."""
    stopsignal: str = "TERM"
    stopasgroup: bool = True


def stop_order(parts: list[str], leader: str | None) -> list[str]:
    """The front ends first (no new request reaches a controller), the standing-by controllers, the leader (which
    releases the lease last: none of them takes over on the way out), then the rest in the given order (front to
    back), supervisord last (it stops each of them, one by one, before)."""
    fronts = [name for name in parts if name.startswith("front-")]
    standbys = [name for name in parts if name.startswith("cti-") and name != leader]
    order = fronts + standbys + ([leader] if leader in parts else [])
    order += [name for name in parts if name not in order and name != "supervisord"]
    return order + [name for name in parts if name == "supervisord"]


class Cluster:
    """The topology of one :class:`ClusterPlan`, all its state under ``plan.directory``."""

    def __init__(self, plan: ClusterPlan) -> None:
        self.plan = plan
        self.dir = plan.directory

    # -- secrets and the description consumers read -----------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        """The ARI, Redis and PostgreSQL passwords and the admin token of the cluster's cti: made at the first start,
        then kept (0600)."""
        path = self.dir / "secrets.json"
        data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        missing = {key: make() for key, make in _SECRETS.items() if key not in data}
        if missing:
            data |= missing
            _write_private(path, json.dumps(data, indent=1) + "\n")
        return data

    def database_url(self) -> str:
        """``CTI_DATABASE_URL`` of the cluster's cti: its own PostgreSQL."""
        plan = self.plan
        return (f"postgresql+asyncpg://{plan.database_user}:{self.secrets()['postgres_password']}"
                f"@127.0.0.1:{plan.postgres_port}/{plan.database}")

    def description(self) -> dict[str, Any]:
        """What cti (and tests, benchmarks) need to use the cluster; also written as ``cluster.json``."""
        plan, keys = self.plan, self.secrets()
        return {
            "directory": str(self.dir),
            "ari": {"user": plan.ari_user, "password": keys["ari_password"], "app": plan.ari_app},
            "nodes": [{
                "name": node.name, "ari_url": node.ari_url, "sip": node.sip_address, "endpoint": node.endpoint,
                "rtp": [node.rtp_start, node.rtp_end], "agents": list(node.agents),
                "spool_dir": str(self.node_dir(node) / "spool"),
                "recording_dir": str(self.node_dir(node) / "spool" / "recording"),
                "log_dir": str(self.node_dir(node) / "log"),
            } for node in plan.nodes],
            "sounds_dir": str(plan.asterisk_root / "usr/share/asterisk/sounds"),
            "sim_agent_port_base": plan.sim_agent_port_base,
            "kamailio": {"sip": plan.kamailio_address, "edge_rate": plan.edge_rate,
                         "edge_message_rate": plan.edge_message_rate, "shed_stream": EDGE_SHED_STREAM},
            "redis": {"master_name": plan.master_name, "password": keys["redis_password"],
                      "sentinels": [f"127.0.0.1:{port}" for port in plan.sentinel_ports],
                      "servers": [f"127.0.0.1:{port}" for port in plan.redis_ports],
                      "url": self.redis_url()},
            "web": {"url": f"http://127.0.0.1:{plan.web_port}",
                    "backends": [f"{host}:{port}" for host, port in plan.web_backends]},
            "postgres": {"port": plan.postgres_port, "database": plan.database, "user": plan.database_user,
                         "password": keys["postgres_password"], "url": self.database_url()},
            "cti": {"controllers": [plan.controller_url(k) for k in range(1, len(plan.controller_ports) + 1)],
                    "fronts": [f"http://{host}:{port}" for host, port in plan.front_backends],
                    "admin_token": keys["admin_token"], "redis_prefix": plan.redis_prefix,
                    "recording_dir": str(self.dir / "recordings")},
        }

    def redis_url(self) -> str:
        """``CTI_REDIS_URL`` for a cti of this cluster: the current master, found through the three Sentinels (which
        ask the same password as Redis), so cti follows a failover (cti.redis_url)."""
        password = self.secrets()["redis_password"]
        sentinels = ",".join(f"127.0.0.1:{port}" for port in self.plan.sentinel_ports)
        return f"redis+sentinel://:{password}@{sentinels}/{self.plan.master_name}/0?sentinel_password={password}"

    def cti_env(self) -> dict[str, str]:
        """The settings every cti of the cluster shares (its controllers', and a tool's such as ``cti users``):
        both nodes, the cluster's Redis through the Sentinels, its PostgreSQL, the admin token; in ``cluster.env``."""
        plan, keys = self.plan, self.secrets()
        nodes = ",".join(f"{node.name}={node.ari_url}" for node in plan.nodes)
        return {
            # A cti started with this file drives every node (docs/scaling.md#several-media-nodes).
            "CTI_ASTERISK_NODES": nodes,
            "CTI_ARI_URL": plan.nodes[0].ari_url,
            "CTI_ARI_USER": plan.ari_user,
            "CTI_ARI_PASSWORD": keys["ari_password"],
            "CTI_ARI_APP": plan.ari_app,
            # Callers Kamailio sheds past its edge rate: cti records them (docs/scaling.md#overload-at-the-edge).
            "CTI_EDGE_SHED_STREAM": EDGE_SHED_STREAM,
            # cti follows the Sentinels' master; a tool without Sentinel asks one (CTI_CLUSTER_SENTINELS).
            "CTI_REDIS_URL": self.redis_url(),
            "CTI_DATABASE_URL": self.database_url(),
            "CTI_ADMIN_TOKEN": keys["admin_token"],
            # The front ends relay the leader's frames (docs/scaling.md#web-front-ends).
            "CTI_FRAME_STREAM": "true",
            "CTI_SIM_AGENT_PORT_BASE": str(plan.sim_agent_port_base),
            "CTI_SOUNDS_DIR": str(plan.asterisk_root / "usr/share/asterisk/sounds"),
            "CTI_RECORDING_DIR": str(self.dir / "recordings"),
        }

    def _write_description(self) -> None:
        data = self.description()
        _write_private(self.dir / "cluster.json", json.dumps(data, indent=1) + "\n")
        redis_password = data["redis"]["password"]
        env = self.cti_env() | {
            "CTI_CLUSTER_DIR": str(self.dir),
            "CTI_CLUSTER_ARI_URLS": ",".join(f"{n['name']}={n['ari_url']}" for n in data["nodes"]),
            "CTI_CLUSTER_SIP": data["kamailio"]["sip"],
            "CTI_CLUSTER_SENTINELS": ",".join(data["redis"]["sentinels"]),
            "CTI_CLUSTER_SENTINEL_MASTER": data["redis"]["master_name"],
            "CTI_CLUSTER_REDIS_PASSWORD": redis_password,
            "CTI_CLUSTER_WEB_URL": data["web"]["url"],
            "CTI_CLUSTER_WEB_BACKENDS": ",".join(data["web"]["backends"]),
            "CTI_CLUSTER_CONTROLLER_URLS": ",".join(data["cti"]["controllers"]),
        }
        _write_private(self.dir / "cluster.env", "".join(f"{key}={value}\n" for key, value in env.items()))

    # -- the parts ---------------------------------------------------------------------------------------------
    def node_dir(self, node: MediaNode) -> Path:
        return self.plan.node_dir(node)

    def _components(self) -> list[_Component]:
        plan, keys = self.plan, self.secrets()
        given = dict(os.environ)
        # The controllers and front ends run this checkout's cti, whatever folder they start in.
        source = str(Path(cti.__file__).resolve().parents[1])
        given["PYTHONPATH"] = os.pathsep.join(filter(None, [source, given.get("PYTHONPATH", "")]))
        # What every supervised part inherits: the caller's environment, without a secret a front end must not hold;
        # the cluster's settings are in each program's section.
        inherited = front_env(plan, given, {})
        parts = [_Component("supervisord", ["supervisord", "-n", "-c", str(self._supervisor_conf())],
                            self._supervisor().ready, env=inherited, supervised=False)]
        # Each Redis asks the Sentinels which role to start in (REDISCLI_AUTH: never on a command line).
        parts += [_Component(f"redis-{port}", [*_WITH_SUPERVISORD, "sh", str(self.dir / "redis" / f"start-{port}.sh"),
                                               str(self.dir / "redis" / f"{port}.conf")],
                             self._redis_ready(port), env={"REDISCLI_AUTH": keys["redis_password"]})
                  for port in plan.redis_ports]
        parts += [_Component(f"sentinel-{port}", [*_WITH_SUPERVISORD, "redis-sentinel",
                                                  str(self.dir / "redis" / f"sentinel-{port}.conf")],
                             self._redis_ready(port)) for port in plan.sentinel_ports]
        # The postmaster stops its own children (SIGINT: a fast shutdown); they end on their own if it is killed.
        parts.append(_Component("postgres", [*_WITH_SUPERVISORD, *self._as_postgres(),
                                             str(_postgres_bin() / "postgres"),
                                             *postgres_args(plan, self.dir / "postgres" / "data")],
                                self._postgres_ready, stopsignal="INT", stopasgroup=False))
        parts += [_Component(f"node-{node.name}",
                             [*_WITH_SUPERVISORD, "unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                              _NODE_SCRIPT, "cti-node", str(plan.asterisk_root), str(self.node_dir(node))],
                             self._ari_ready(node, keys["ari_password"])) for node in plan.nodes]
        # In a PID namespace of its own: Kamailio's children outlive a killed main process (holding its port, so the
        # next one could not start); the kernel ends them all with the namespace's first process.
        parts.append(_Component("kamailio", [*_WITH_SUPERVISORD, "unshare", "--pid", "--fork", "--kill-child", "--",
                                             "kamailio", "-f", str(self.dir / "kamailio" / "kamailio.cfg"), "-DD",
                                             "-E", "-m", "64", "-M", "8", "-Y", str(self.dir / "kamailio")],
                                self._kamailio_ready))
        parts.append(_Component("haproxy", [*_WITH_SUPERVISORD, "haproxy", "-db", "-f",
                                            str(self.dir / "haproxy" / "haproxy.cfg")],
                                self._tcp_ready(plan.web_port)))
        shared = self.cti_env()
        parts += [_Component(f"cti-{k}", [*_WITH_SUPERVISORD, sys.executable, "-m", "cti", "serve", "--standby"],
                             self._controller_ready(f"cti-{k}"), stage=1 if k == 1 else 2,
                             env=controller_env(plan, k, given, shared))
                  for k in range(1, len(plan.controller_ports) + 1)]
        parts += [_Component(f"front-{k}", [*_WITH_SUPERVISORD, sys.executable, "-m", "cti", "front", "--host", host,
                                            "--port", str(port)],
                             self._http_ready(f"http://{host}:{port}/healthz", any_status=True), stage=2,
                             env=front_env(plan, given, shared))
                  for k, (host, port) in enumerate(plan.front_backends, start=1)]
        return parts

    def _supervisor_conf(self) -> Path:
        return self.dir / "supervisor" / "supervisord.conf"

    def _supervisor(self) -> Supervisor:
        return Supervisor(supervisor_socket(self.plan))

    def _programs(self, parts: list[_Component]) -> list[Supervised]:
        """Each program's section: its environment over supervisord's own, the one supervisord runs with if it does
        (an earlier ``start``'s: the infrastructure's, before the controllers are added with settings of their
        own, such as ``CTI_LEASE_SECONDS``), else the one it is about to be started with. A part of the
        infrastructure sets nothing but its own (a Redis's ``REDISCLI_AUTH``)."""
        running = self._supervisord_environ()
        spawned = next((part.env for part in parts if part.name == "supervisord"), None)
        inherited: Mapping[str, str] = running if running is not None else spawned or {}
        return [Supervised(part.name, part.argv,
                           supervised_env(inherited, part.env or {}, running=running is not None)
                           if part.name.startswith(_CTI_PARTS) else dict(part.env or {}),
                           stopsignal=part.stopsignal, stopasgroup=part.stopasgroup)
                for part in parts if part.supervised]

    def _supervisord_environ(self) -> dict[str, str] | None:
        """The environment of the running supervisord (which every program inherits), or None if it does not run."""
        pid = self._recorded_pid("supervisord")
        if pid is None:
            return None
        try:
            raw = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return None
        return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if b"=" in item)

    def names(self) -> list[str]:
        """The parts, in start order (without touching the folder: ``status`` of a cluster never started)."""
        plan = self.plan
        return (["supervisord"] + [f"redis-{port}" for port in plan.redis_ports]
                + [f"sentinel-{port}" for port in plan.sentinel_ports]
                + ["postgres"] + [f"node-{node.name}" for node in plan.nodes] + ["kamailio", "haproxy"]
                + [f"cti-{k}" for k in range(1, len(plan.controller_ports) + 1)]
                + [f"front-{k}" for k in range(1, plan.fronts + 1)])

    def recorded(self) -> list[str]:
        """Parts with a pid file, or supervisord's programs, that this plan does not have (started with other
        ``CTI_CLUSTER_*`` counts)."""
        planned = set(self.names())
        found = {path.stem for path in (self.dir / "run").glob("*.pid")} | set(self._supervisor().processes())
        return sorted(found - planned)

    # -- start -------------------------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, say: Callable[[str], None] = lambda _: None) -> None:
        """Start whatever is not running; return once every part serves, the nodes are in Kamailio's rotation, the
        Sentinels know each other and the replica, one controller leads and haproxy has the front ends in rotation.
        Idempotent: a running part is left as it is (stop first to apply a changed configuration)."""
        self._check_tools()
        if not (self.plan.asterisk_root / "usr/sbin/asterisk").exists():
            raise ClusterError(f"no Asterisk root at {self.plan.asterisk_root}; run `cti asterisk build` first")
        for sub in ("run", "log", "redis", "kamailio", "haproxy", "postgres", "recordings", "supervisor"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        parts = self._components()
        assert [part.name for part in parts] == self.names()
        to_start = [part for part in parts if self.pid(part.name) is None]
        self._check_ports({part.name for part in to_start})
        # cti writes its prompts into the root's sounds folder (CTI_SOUNDS_DIR of cluster.env), which a root no
        # single Asterisk has run from yet has only as Debian's absolute links.
        AsteriskRoot(self.plan.asterisk_root).prepare_sounds()
        self._render({part.name for part in to_start}, parts)
        deadline = time.monotonic() + timeout
        for stage in (0, 1, 2):
            for part in to_start:
                if part.stage == stage:
                    say(f"starting {part.name}")
                    if part.supervised:
                        with _supervisor_errors():
                            self._supervisor().start(part.name)
                    else:
                        self._spawn(part)
                    if part.name == "supervisord":
                        self._wait(part, deadline)  # before it is asked to start anything
                    elif part.name.startswith("redis-"):
                        # Serving before the Sentinels start: a Redis asks them its role, and fresh Sentinels would
                        # name the first one master while they know no replica to fail over to.
                        self._wait(part, deadline)
            for part in parts:
                if part.stage == stage:
                    self._wait(part, deadline)
            if stage == 0:
                self._wait_settled(deadline)
                self._prepare_database()
        self._wait_web(deadline)
        self._write_description()

    def _check_tools(self) -> None:
        missing = sorted({package for tool, package in _TOOLS.items() if shutil.which(tool) is None})
        if not (KAMAILIO_MODULES / "ndb_redis.so").exists():
            missing.append("kamailio-redis-modules")
        try:
            _postgres_bin()
            pwd.getpwnam("postgres")
        except (ClusterError, KeyError):
            missing.append("postgresql")
        if missing:
            raise ClusterError(f"missing Debian packages: {' '.join(missing)} (scripts/cluster installs them)")

    def _check_ports(self, starting: set[str]) -> None:
        plan = self.plan
        owner: dict[tuple[str, str, int], str] = {}
        for node in plan.nodes:
            owner[("tcp", "127.0.0.1", node.ari_port)] = f"node-{node.name}"
            owner[("udp", node.sip_host, node.sip_port)] = f"node-{node.name}"
        for port in plan.redis_ports:
            owner[("tcp", "127.0.0.1", port)] = f"redis-{port}"
        for port in plan.sentinel_ports:
            owner[("tcp", "127.0.0.1", port)] = f"sentinel-{port}"
        owner[("udp", plan.kamailio_host, plan.kamailio_port)] = "kamailio"
        owner[("tcp", "127.0.0.1", plan.web_port)] = "haproxy"
        owner[("tcp", "127.0.0.1", plan.postgres_port)] = "postgres"
        for k, port in enumerate(plan.controller_ports, start=1):
            owner[("tcp", "127.0.0.1", port)] = f"cti-{k}"
        for k, (host, port) in enumerate(plan.front_backends, start=1):
            owner[("tcp", host, port)] = f"front-{k}"
        busy = [f"{proto} {host}:{port} ({name})" for (proto, host, port), name in owner.items()
                if name in starting and not _port_free(proto, host, port)]
        if busy:
            raise ClusterError("ports in use by other processes: " + ", ".join(busy)
                               + " (choose others with CTI_CLUSTER_PORT_OFFSET)")

    def _render(self, starting: set[str], parts: list[_Component]) -> None:
        plan, keys = self.plan, self.secrets()
        try:
            user = "root" if os.geteuid() == 0 else None
            _write_private(self._supervisor_conf(), supervisor_config(plan, self._programs(parts), user))
        except ValueError as exc:
            raise ClusterError(str(exc)) from exc
        if "supervisord" not in starting:
            # Programs of a larger count are taken in; those running are left as they are.
            with _supervisor_errors():
                self._supervisor().update()
        for port, replica_of in zip(plan.redis_ports, (None, plan.redis_ports[0]), strict=True):
            _write_private(self.dir / "redis" / f"start-{port}.sh", redis_start_script(plan, port))
            if f"redis-{port}" in starting:
                (self.dir / "redis" / str(port)).mkdir(parents=True, exist_ok=True)
                _write_private(self.dir / "redis" / f"{port}.conf",
                               redis_config(plan, port, keys["redis_password"], replica_of))
        # Sentinel rewrites its file with what it learns (the master now, the other Sentinels, the replicas): a
        # Sentinel started again keeps it (supervisord never renders). Rendered anew only when every Sentinel starts
        # (the pair starts anew from its files' roles too), or a file is missing.
        fresh = all(f"sentinel-{port}" in starting for port in plan.sentinel_ports)
        for port in plan.sentinel_ports:
            conf = self.dir / "redis" / f"sentinel-{port}.conf"
            if f"sentinel-{port}" in starting and (fresh or not conf.exists()):
                (self.dir / "redis" / f"sentinel-{port}").mkdir(parents=True, exist_ok=True)
                _write_private(conf,
                               sentinel_config(plan, port, keys["redis_password"]))
        for node in plan.nodes:
            if f"node-{node.name}" in starting:
                self._render_node(node, keys["ari_password"])
        if "postgres" in starting:
            self._initdb(keys["postgres_password"])
        _write_private(self.dir / "kamailio" / "kamailio.cfg", kamailio_config(plan, keys["redis_password"]))
        _write_private(self.dir / "kamailio" / "dispatcher.list", kamailio_dispatchers(plan))
        _write_private(self.dir / "haproxy" / "haproxy.cfg", haproxy_config(plan, keys["redis_password"]))
        if "kamailio" in starting:
            result = subprocess.run(["kamailio", "-c", "-f", str(self.dir / "kamailio" / "kamailio.cfg")],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise ClusterError(f"kamailio.cfg does not load:\n{_tail(result.stdout + result.stderr)}")
        if "haproxy" in starting:
            result = subprocess.run(["haproxy", "-c", "-q", "-f", str(self.dir / "haproxy" / "haproxy.cfg")],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise ClusterError(f"haproxy.cfg does not load:\n{_tail(result.stdout + result.stderr)}")

    def _render_node(self, node: MediaNode, ari_password: str) -> None:
        home = self.node_dir(node)
        shutil.rmtree(home / "etc", ignore_errors=True)
        for sub in NODE_SUBDIRS:
            (home / sub).mkdir(parents=True, exist_ok=True)
        (home / "spool" / "recording").mkdir(exist_ok=True)
        (home / "etc").chmod(0o700)
        for name, text in node_config(self.plan, node, ari_password).items():
            _write_private(home / "etc" / name, text)

    # -- PostgreSQL ----------------------------------------------------------------------------------------------
    def _as_postgres(self) -> list[str]:
        """PostgreSQL refuses to run as root: it runs in a user namespace of its own as the ``postgres`` user, which
        is root outside, so its data stays in the cluster's folder (0700, root's) and is removed with it."""
        user = pwd.getpwnam("postgres")
        return ["unshare", "--user", "--map-user", str(user.pw_uid), "--map-group", str(user.pw_gid), "--"]

    def _initdb(self, password: str) -> None:
        """The data folder, made once: superuser ``cti`` with the password of ``secrets.json``, asked of every
        connection (scram-sha-256)."""
        home = self.dir / "postgres"
        if (home / "data" / "PG_VERSION").exists():
            return
        shutil.rmtree(home / "data", ignore_errors=True)
        pwfile = home / "password"
        _write_private(pwfile, password + "\n")
        try:
            result = subprocess.run([*self._as_postgres(), str(_postgres_bin() / "initdb"), "-D", str(home / "data"),
                                     "-U", self.plan.database_user, "--auth=scram-sha-256", f"--pwfile={pwfile}",
                                     "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                                    capture_output=True, text=True, stdin=subprocess.DEVNULL)
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed:\n{_tail(result.stdout + result.stderr)}")

    def _postgres_ready(self) -> str | None:
        result = subprocess.run([str(_postgres_bin() / "pg_isready"), "-q", "-h", "127.0.0.1", "-p",
                                 str(self.plan.postgres_port)], capture_output=True, text=True, timeout=10)
        return None if result.returncode == 0 else f"pg_isready: {result.returncode}"

    def _psql(self, *args: str, database: str = "postgres") -> subprocess.CompletedProcess[str]:
        plan = self.plan
        env = {**os.environ, "PGPASSWORD": self.secrets()["postgres_password"]}  # never on a command line
        return subprocess.run([str(_postgres_bin() / args[0]), "-h", "127.0.0.1", "-p", str(plan.postgres_port),
                               "-U", plan.database_user, *args[1:], database], env=env, capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)

    def _prepare_database(self) -> None:
        """cti's database in the cluster's PostgreSQL, created once, migrated to the newest schema as ``cti db
        upgrade`` does (before any controller starts: two would migrate a new database at once)."""
        from cti.persistence import Database, StorageError

        found = self._psql("psql", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.plan.database}'")
        if found.returncode != 0:
            raise ClusterError(f"psql: {found.stderr.strip()}")
        if found.stdout.strip() != "1":
            created = self._psql("createdb", database=self.plan.database)
            if created.returncode != 0:
                raise ClusterError(f"createdb: {created.stderr.strip()}")

        async def upgrade() -> None:
            db = Database(self.database_url())
            try:
                await db.upgrade()
            finally:
                await db.close()

        try:
            asyncio.run(upgrade())
        except StorageError as exc:
            raise ClusterError(str(exc)) from exc

    def _spawn(self, part: _Component) -> None:
        with (self.dir / "log" / f"{part.name}.log").open("ab") as log:
            proc = subprocess.Popen(part.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.dir, start_new_session=True, env=part.env)
        _write_private(self._pidfile(part.name), f"{proc.pid} {_start_time(proc.pid)}\n")
        # Not waited for: the part outlives this command. Marked finished so the handle's end is quiet.
        proc.returncode = 0

    def _wait(self, part: _Component, deadline: float) -> None:
        reason = "not started"
        while time.monotonic() < deadline:
            if self.pid(part.name) is None and not self._restarting(part):
                raise ClusterError(f"{part.name} exited during start-up; its log ends:\n{self.log_tail(part.name)}")
            reason = part.ready() or ""
            if not reason:
                return
            time.sleep(0.2)
        raise ClusterError(f"{part.name} not ready in time ({reason}); its log ends:\n{self.log_tail(part.name)}")

    def _restarting(self, part: _Component) -> bool:
        """A supervised part that failed to start and that supervisord tries again."""
        info = self._supervisor().processes().get(part.name) if part.supervised else None
        return info is not None and info.state in RUNNING_STATES

    def _wait_settled(self, deadline: float) -> None:
        """Each node in Kamailio's rotation; each Sentinel knows the other two and the replica (else a failover
        could not be agreed)."""
        reason = ""
        while time.monotonic() < deadline:
            states = self.dispatcher()
            reason = ", ".join(f"node {name} {state}" for name, state in states.items() if state != "active")
            if not reason:
                for port in self.plan.sentinel_ports:
                    master: dict[str, Any] = self._sentinel(port).sentinel_master(self.plan.master_name)  # type: ignore[assignment]
                    if master.get("num-other-sentinels") != 2 or master.get("num-slaves") != 1:
                        reason = (f"sentinel {port} knows {master.get('num-other-sentinels')} other sentinels and "
                                  f"{master.get('num-slaves')} replicas")
                        break
            if not reason:
                return
            time.sleep(0.3)
        raise ClusterError(f"the cluster did not settle in time: {reason}")

    def _wait_web(self, deadline: float) -> None:
        """One controller leads (its ``/healthz`` 200) and haproxy has each front end in rotation (a front end's
        ``/healthz`` is 200 once it reads the stream and a leader advertises itself)."""
        plan = self.plan
        reason = ""
        while time.monotonic() < deadline:
            reason = ""
            if plan.controller_ports:
                leader = self.leader()
                if leader is None:
                    reason = "no controller leads yet"
                else:
                    k = int(leader.removeprefix("cti-"))
                    if k <= len(plan.controller_ports):  # else one of an earlier start's larger count
                        reason = self._http_ready(f"{plan.controller_url(k)}/healthz")() or ""
            if not reason and plan.fronts:
                states = self.web_backends()
                reason = ", ".join(f"haproxy: web{k} {states.get(f'web{k}', 'unknown')}"
                                   for k in range(1, plan.fronts + 1) if states.get(f"web{k}") != "UP")
            if not reason:
                return
            time.sleep(0.3)
        logs = "".join(f"\n{name}'s log ends:\n{self.log_tail(name, 8)}" for name in self.names()
                       if name.startswith(("cti-", "front-")))
        raise ClusterError(f"the cluster's cti did not come up in time: {reason}{logs}")

    # -- readiness and inspection ------------------------------------------------------------------------------
    def _controller_ready(self, name: str) -> Callable[[], str | None]:
        """Once its database is open and it waits for the lease (a standby serves nothing, not even ``/healthz``,
        until it leads; the leader said so too before it took the lease): its log names it standing by."""
        def ready() -> str | None:
            pid = self.pid(name)
            if pid is not None and re.search(rf"standing by as \S+:{pid}:[0-9a-f]+ ", self.log_tail(name, 200)):
                return None
            # A controller that has run for long may have logged much since: if it leads, it is up.
            return None if pid is not None and self.leader() == name else "not standing by for the lease yet"
        return ready

    def _http_ready(self, url: str, *, any_status: bool = False) -> Callable[[], str | None]:
        def ready() -> str | None:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return None
            except urllib.error.HTTPError as exc:
                return None if any_status else f"{url}: {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                return f"{url}: {exc}"
        return ready

    def leader(self) -> str | None:
        """The controller holding the lease (``cti-k``), from the lease's holder (``host:pid:random``) in the
        Sentinels' master; None if none does, or it is not one of this cluster's controllers."""
        master = self.sentinel_master()
        if master is None:
            return None
        client = redis.Redis(host=master[0], port=master[1], password=self.secrets()["redis_password"],
                             socket_timeout=2, socket_connect_timeout=2, decode_responses=True)
        try:
            held = client.get(f"{self.plan.redis_prefix}:leader")
        except redis.RedisError:
            return None
        finally:
            client.close()
        if not isinstance(held, str):
            return None
        parts = held.split(" ")[0].split(":")
        pid = int(parts[-2]) if len(parts) >= 3 and parts[-2].isdigit() else None
        controllers = [name for name in (*self.names(), *self.recorded()) if name.startswith("cti-")]
        return next((name for name in controllers if pid is not None and self.pid(name) == pid), None)

    def _redis_ready(self, port: int) -> Callable[[], str | None]:
        def ready() -> str | None:
            try:
                self._redis(port).ping()
            except redis.RedisError as exc:
                return f"redis on {port}: {exc}"
            return None
        return ready

    def _redis(self, port: int) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=port, password=self.secrets()["redis_password"],
                           socket_timeout=2, socket_connect_timeout=2, decode_responses=True)

    def _sentinel(self, port: int) -> redis.Redis:
        return self._redis(port)

    def _ari_ready(self, node: MediaNode, password: str) -> Callable[[], str | None]:
        def ready() -> str | None:
            credentials = base64.b64encode(f"{self.plan.ari_user}:{password}".encode()).decode()
            request = urllib.request.Request(f"{node.ari_url}/ari/asterisk/info",
                                             headers={"Authorization": f"Basic {credentials}"})
            try:
                with urllib.request.urlopen(request, timeout=2):
                    return None
            except urllib.error.HTTPError as exc:
                return f"ARI answered {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                return f"ARI: {exc}"
        return ready

    def _kamailio_ready(self) -> str | None:
        result = self._kamcmd("dispatcher.list")
        return None if result.returncode == 0 else f"kamcmd: {result.stderr.strip() or result.stdout.strip()}"

    def _tcp_ready(self, port: int) -> Callable[[], str | None]:
        def ready() -> str | None:
            with socket.socket() as sock:
                sock.settimeout(1)
                return None if sock.connect_ex(("127.0.0.1", port)) == 0 else f"nothing on {port} yet"
        return ready

    def _kamcmd(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kamcmd", "-s", f"unix:{self.dir / 'kamailio' / 'ctl.sock'}", *command],
                              capture_output=True, text=True, timeout=10)

    def set_edge_rate(self, rate: int, message_rate: int | None = None) -> None:
        """Change the edge's bounds in the running Kamailio (INVITEs a second let in, 0: no bound; shed callers a
        second told why), until it restarts (then ``CTI_CLUSTER_EDGE_RATE`` and ``..._MESSAGE_RATE`` again)."""
        for key, value in (("rate", rate), ("message_rate", message_rate)):
            if value is None:
                continue
            if value < 0:
                raise ClusterError(f"the edge's {key.replace('_', ' ')} must be 0 or more, not {value}")
            result = self._kamcmd("htable.seti", "edge", key, str(value))
            if result.returncode != 0:
                raise ClusterError(f"kamcmd htable.seti edge {key}: {result.stderr.strip() or result.stdout.strip()}")

    def edge_rate(self) -> dict[str, int]:
        """The edge's bounds in the running Kamailio now."""
        found = {}
        for key in ("rate", "message_rate"):
            result = self._kamcmd("htable.get", "edge", key)
            match = re.search(r"value:\s*(-?\d+)", result.stdout)
            if result.returncode != 0 or match is None:
                raise ClusterError(f"kamcmd htable.get edge {key}: {result.stderr.strip() or result.stdout.strip()}")
            found[key] = int(match.group(1))
        return found

    def dispatcher(self) -> dict[str, str]:
        """Kamailio's view of each node: ``active``, ``failing`` (a probe unanswered: still chosen), ``down`` (not
        chosen; probed every second to come back) or ``disabled``."""
        result = self._kamcmd("dispatcher.list")
        if result.returncode != 0:
            return {node.name: "unknown" for node in self.plan.nodes}
        flags = dict(re.findall(r"URI:\s*sip:(\S+)\s+FLAGS:\s*(\S+)", result.stdout))
        states = {}
        for node in self.plan.nodes:
            flag = flags.get(node.sip_address, "")
            states[node.name] = {"A": "active", "T": "failing", "I": "down", "D": "disabled"}.get(flag[:1], "unknown")
        return states

    def sentinel_master(self) -> tuple[str, int] | None:
        """Where the Sentinels say the master is (the first that answers)."""
        for port in self.plan.sentinel_ports:
            with contextlib.suppress(redis.RedisError):
                address = self._sentinel(port).sentinel_get_master_addr_by_name(self.plan.master_name)
                if isinstance(address, tuple):
                    return str(address[0]), int(address[1])
        return None

    def web_backends(self) -> dict[str, str]:
        """haproxy's view of each web front end (``UP``, ``DOWN``, ...)."""
        try:
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(2)
                sock.connect(str(self.dir / "haproxy" / "admin.sock"))
                sock.sendall(b"show stat\n")
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
        except OSError:
            return {}
        rows = csv.reader(io.StringIO(data.decode(errors="replace").lstrip("# ")))
        header = next(rows, [])
        if "status" not in header:
            return {}
        name, status = header.index("svname"), header.index("status")
        return {row[name]: row[status] for row in rows
                if len(row) > status and row[0] == "cti_web" and row[name] not in ("FRONTEND", "BACKEND")}

    def status(self) -> dict[str, Any]:
        parts = {name: self.pid(name) for name in self.names()}
        report: dict[str, Any] = {"directory": str(self.dir), "processes": parts,
                                  "running": all(pid is not None for pid in parts.values())}
        others = {name: self.pid(name) for name in self.recorded()}
        if others:
            report["other_processes"] = others  # started with other counts of controllers, front ends or nodes
        if parts.get("kamailio"):
            report["dispatcher"] = self.dispatcher()
        if any(parts.get(f"sentinel-{port}") for port in self.plan.sentinel_ports):
            master = self.sentinel_master()
            report["redis_master"] = f"{master[0]}:{master[1]}" if master else None
        if parts.get("haproxy"):
            report["web_backends"] = self.web_backends()
        if any(parts.get(f"cti-{k}") for k in range(1, len(self.plan.controller_ports) + 1)):
            report["leader"] = self.leader()
        if programs := self._supervisor().processes():
            report["supervised"] = self.supervised(programs)
        return report

    def supervised(self, programs: Mapping[str, ProcessInfo] | None = None) -> dict[str, dict[str, Any]]:
        """Each part supervisord keeps running: its state (``RUNNING``, ``BACKOFF``: failed to start and tried
        again, ``FATAL``: given up, ...), and how many times it ended on its own and was started again since
        supervisord started."""
        programs = self._supervisor().processes() if programs is None else programs
        pid = self.pid("supervisord")
        try:
            log = (self.dir / "log" / "supervisord.log").read_text(errors="replace") if pid else ""
        except OSError:
            log = ""
        restarts = unexpected_exits(log, pid) if pid else {}
        return {name: {"state": info.state, "pid": info.pid, "restarts": restarts.get(name, 0)}
                for name, info in sorted(programs.items())}

    def cli(self, node: MediaNode, command: str) -> str:
        """One Asterisk CLI command on ``node``, through its control socket (inside its mount namespace)."""
        pid = self.pid(f"node-{node.name}")
        if pid is None:
            raise ClusterError(f"node {node.name} is not running")
        result = subprocess.run(["nsenter", "--target", str(pid), "--mount", "--root", "--wd",
                                 "/usr/sbin/asterisk", "-C", f"{NODE_MOUNT}/etc/asterisk.conf", "-rx", command],
                                capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise ClusterError(f"asterisk -rx {command!r} on node {node.name}: {result.stderr.strip()}")
        return result.stdout

    # -- stop --------------------------------------------------------------------------------------------------
    def stop(self, timeout: float = 10.0, say: Callable[[str], None] = lambda _: None) -> None:
        """Stop every part (front to back, :func:`stop_order`) with its whole process group, parts this plan does not
        count included; nothing of the cluster keeps running. The supervised parts are stopped by supervisord (which
        would start them again), then supervisord; PostgreSQL is asked for a fast shutdown."""
        parts = [*self.recorded(), *reversed(self.names())]
        leader = self.leader() if any(name.startswith("cti-") and self.pid(name) for name in parts) else None
        supervisor = self._supervisor()
        programs = supervisor.processes()
        for name in stop_order(parts, leader):
            # supervisord stops its program for good (it would start it again); a part started before it was
            # supervised has a pid file.
            if name in programs and programs[name].state not in ("STOPPED", "EXITED", "FATAL"):
                say(f"stopping {name}")
                with _supervisor_errors():
                    supervisor.stop(name, SUPERVISOR_STOP_SECONDS)
            pid = self._recorded_pid(name)
            if pid is not None:
                say(f"stopping {name}")
                _stop_group(pid, timeout, first=signal.SIGINT if name == "postgres" else None)
            self._pidfile(name).unlink(missing_ok=True)

    # -- process records ---------------------------------------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.dir / "run" / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        """The running process of part ``name``, or None (never a pid since given to someone else): a supervised
        part's is supervisord's answer (it may be a newer process than the one ``start`` started)."""
        if name != "supervisord":
            info = self._supervisor().processes().get(name)
            if info is not None and info.pid is not None:
                return info.pid
        # Or a part started before it was supervised (its pid file), which supervisord knows only as stopped.
        return self._recorded_pid(name)

    def _recorded_pid(self, name: str) -> int | None:
        """The pid in ``name``'s pid file if that process still runs (supervisord's; a part of a cluster started
        before the infrastructure was supervised)."""
        try:
            pid_text, started = self._pidfile(name).read_text().split()
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        stat = _stat(pid)
        if stat is None or stat.state in "ZX" or str(stat.start_time) != started:
            return None
        return pid

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            return _tail((self.dir / "log" / f"{name}.log").read_text(errors="replace"), lines)
        except OSError:
            return "(no log)"


# -- processes ---------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _supervisor_errors() -> Iterator[None]:
    try:
        yield
    except SupervisorError as exc:
        raise ClusterError(str(exc)) from exc


@dataclass(frozen=True, slots=True)
class _Stat:
    state: str
    pgrp: int
    start_time: int


def _stat(pid: int) -> _Stat | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the command name may hold spaces and parentheses
    return _Stat(state=fields[0], pgrp=int(fields[2]), start_time=int(fields[19]))


def _start_time(pid: int) -> int:
    stat = _stat(pid)
    return stat.start_time if stat is not None else 0


def _pids() -> Iterator[int]:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            yield int(entry)


def _group_alive(pgrp: int) -> bool:
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None and stat.pgrp == pgrp and stat.state not in "ZX":
            return True
    return False


def _stop_group(pgrp: int, timeout: float, first: signal.Signals | None = None) -> None:
    """``first`` to the group's leader alone (PostgreSQL's postmaster stops its own children), then SIGTERM and
    SIGKILL to the whole group for whatever is left."""
    steps = [(first, timeout)] if first is not None else []
    for sig, wait in (*steps, (signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            if sig is first:
                os.kill(pgrp, sig)
            else:
                os.killpg(pgrp, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(pgrp):
                return
            time.sleep(0.05)
    if _group_alive(pgrp):
        raise ClusterError(f"process group {pgrp} survived SIGKILL")


def _postgres_bin() -> Path:
    """The newest of Debian's PostgreSQL versions installed."""
    found = sorted((path for path in _POSTGRES_BINARIES.glob("*/bin") if (path / "postgres").exists()
                    and path.parent.name.isdigit()), key=lambda path: int(path.parent.name))
    if not found:
        raise ClusterError(f"no PostgreSQL under {_POSTGRES_BINARIES} (Debian package postgresql)")
    return found[-1]


def _port_free(proto: str, host: str, port: int) -> bool:
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        if proto == "tcp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _write_private(path: Path, text: str) -> None:
    """Created 0600 (several files hold passwords), replaced whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    tmp.replace(path)


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])
