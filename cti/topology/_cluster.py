"""Start, stop and inspect the one-machine cluster: Asterisk media nodes, Kamailio, Redis with Sentinel, haproxy.

Every process is started in a session of its own (its process group is its pid), recorded in
``<dir>/run/<name>.pid`` with its start time (so a recycled pid is never taken for it), and stopped with its whole
group. Nothing outside ``<dir>`` is written, except that each Asterisk node runs in the shared root
(``CTI_ASTERISK_ROOT``) seen through a mount namespace of its own, where the node's folder is bound on ``/mnt``,
``/proc`` and ``/dev`` are mounted: the namespace, and its mounts, end with the node's process. The single Asterisk
of ``cti asterisk`` and the tests keeps the root's own folders, its lock and its mounts, untouched.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from cti.asterisk import AsteriskRoot
from cti.topology._configs import (
    EDGE_SHED_STREAM,
    KAMAILIO_MODULES,
    NODE_MOUNT,
    NODE_SUBDIRS,
    haproxy_config,
    kamailio_config,
    kamailio_dispatchers,
    node_config,
    redis_config,
    sentinel_config,
)
from cti.topology._plan import ClusterPlan, MediaNode

__all__ = ["Cluster", "ClusterError"]

_NODE_SCRIPT = (
    'set -e; mount --bind "$2" "$1' + NODE_MOUNT + '"; mount -t proc proc "$1/proc"; mount --bind /dev "$1/dev"; '
    'exec chroot "$1" /usr/sbin/asterisk -f -n -C ' + NODE_MOUNT + "/etc/asterisk.conf"
)
_TOOLS = {"kamailio": "kamailio", "redis-server": "redis-server", "redis-sentinel": "redis-sentinel",
          "haproxy": "haproxy", "unshare": "util-linux", "nsenter": "util-linux", "kamcmd": "kamailio"}


class ClusterError(Exception):
    """The cluster could not be started, stopped or inspected; the message says why."""


@dataclass(frozen=True, slots=True)
class _Component:
    name: str
    argv: list[str]
    ready: Callable[[], str | None]
    """None once the component serves; else what it is still waiting for."""


class Cluster:
    """The topology of one :class:`ClusterPlan`, all its state under ``plan.directory``."""

    def __init__(self, plan: ClusterPlan) -> None:
        self.plan = plan
        self.dir = plan.directory

    # -- secrets and the description consumers read -----------------------------------------------------------
    def secrets(self) -> dict[str, str]:
        """The ARI and Redis passwords of this cluster: made at the first start, then kept (0600)."""
        path = self.dir / "secrets.json"
        if path.exists():
            data: dict[str, str] = json.loads(path.read_text())
            return data
        data = {"ari_password": secrets.token_urlsafe(24), "redis_password": secrets.token_hex(24)}
        _write_private(path, json.dumps(data, indent=1) + "\n")
        return data

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
        }

    def redis_url(self) -> str:
        """``CTI_REDIS_URL`` for a cti of this cluster: the current master, found through the three Sentinels (which
        ask the same password as Redis), so cti follows a failover (cti.redis_url)."""
        password = self.secrets()["redis_password"]
        sentinels = ",".join(f"127.0.0.1:{port}" for port in self.plan.sentinel_ports)
        return f"redis+sentinel://:{password}@{sentinels}/{self.plan.master_name}/0?sentinel_password={password}"

    def _write_description(self) -> None:
        data = self.description()
        _write_private(self.dir / "cluster.json", json.dumps(data, indent=1) + "\n")
        redis_password = data["redis"]["password"]
        env = {
            "CTI_CLUSTER_DIR": str(self.dir),
            "CTI_CLUSTER_ARI_URLS": ",".join(f"{n['name']}={n['ari_url']}" for n in data["nodes"]),
            # A cti started with this file drives every node (docs/scaling.md#several-media-nodes).
            "CTI_ASTERISK_NODES": ",".join(f"{n['name']}={n['ari_url']}" for n in data["nodes"]),
            "CTI_ARI_USER": data["ari"]["user"],
            "CTI_ARI_PASSWORD": data["ari"]["password"],
            "CTI_ARI_APP": data["ari"]["app"],
            "CTI_CLUSTER_SIP": data["kamailio"]["sip"],
            # Callers Kamailio sheds past its edge rate: cti records them (docs/scaling.md#overload-at-the-edge).
            "CTI_EDGE_SHED_STREAM": data["kamailio"]["shed_stream"],
            "CTI_CLUSTER_SENTINELS": ",".join(data["redis"]["sentinels"]),
            "CTI_CLUSTER_SENTINEL_MASTER": data["redis"]["master_name"],
            "CTI_CLUSTER_REDIS_PASSWORD": redis_password,
            # cti follows the Sentinels' master; a tool without Sentinel asks one (CTI_CLUSTER_SENTINELS).
            "CTI_REDIS_URL": data["redis"]["url"],
            "CTI_CLUSTER_WEB_URL": data["web"]["url"],
            "CTI_CLUSTER_WEB_BACKENDS": ",".join(data["web"]["backends"]),
            "CTI_SIM_AGENT_PORT_BASE": str(data["sim_agent_port_base"]),
            "CTI_SOUNDS_DIR": data["sounds_dir"],
        }
        _write_private(self.dir / "cluster.env", "".join(f"{key}={value}\n" for key, value in env.items()))

    # -- the parts ---------------------------------------------------------------------------------------------
    def node_dir(self, node: MediaNode) -> Path:
        return self.plan.node_dir(node)

    def _components(self) -> list[_Component]:
        plan, keys = self.plan, self.secrets()
        parts = [_Component(f"redis-{port}", ["redis-server", str(self.dir / "redis" / f"{port}.conf")],
                            self._redis_ready(port)) for port in plan.redis_ports]
        parts += [_Component(f"sentinel-{port}", ["redis-sentinel", str(self.dir / "redis" / f"sentinel-{port}.conf")],
                             self._redis_ready(port)) for port in plan.sentinel_ports]
        parts += [_Component(f"node-{node.name}",
                             ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _NODE_SCRIPT,
                              "cti-node", str(plan.asterisk_root), str(self.node_dir(node))],
                             self._ari_ready(node, keys["ari_password"])) for node in plan.nodes]
        parts.append(_Component("kamailio", ["kamailio", "-f", str(self.dir / "kamailio" / "kamailio.cfg"), "-DD",
                                             "-E", "-m", "64", "-M", "8", "-Y", str(self.dir / "kamailio")],
                                self._kamailio_ready))
        parts.append(_Component("haproxy", ["haproxy", "-db", "-f", str(self.dir / "haproxy" / "haproxy.cfg")],
                                self._tcp_ready(plan.web_port)))
        return parts

    def names(self) -> list[str]:
        """The parts, in start order (without touching the folder: ``status`` of a cluster never started)."""
        plan = self.plan
        return ([f"redis-{port}" for port in plan.redis_ports] + [f"sentinel-{port}" for port in plan.sentinel_ports]
                + [f"node-{node.name}" for node in plan.nodes] + ["kamailio", "haproxy"])

    # -- start -------------------------------------------------------------------------------------------------
    def start(self, timeout: float = 60.0, say: Callable[[str], None] = lambda _: None) -> None:
        """Start whatever is not running; return once every part serves, the nodes are in Kamailio's rotation and
        the Sentinels know each other and the replica. Idempotent: a running part is left as it is (stop first to
        apply a changed configuration)."""
        self._check_tools()
        if not (self.plan.asterisk_root / "usr/sbin/asterisk").exists():
            raise ClusterError(f"no Asterisk root at {self.plan.asterisk_root}; run `cti asterisk build` first")
        for sub in ("run", "log", "redis", "kamailio", "haproxy"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o700)
        parts = self._components()
        assert [part.name for part in parts] == self.names()
        to_start = [part for part in parts if self.pid(part.name) is None]
        self._check_ports({part.name for part in to_start})
        # cti writes its prompts into the root's sounds folder (CTI_SOUNDS_DIR of cluster.env), which a root no
        # single Asterisk has run from yet has only as Debian's absolute links.
        AsteriskRoot(self.plan.asterisk_root).prepare_sounds()
        self._render({part.name for part in to_start})
        for part in to_start:
            say(f"starting {part.name}")
            self._spawn(part)
        deadline = time.monotonic() + timeout
        for part in parts:
            self._wait(part, deadline)
        self._wait_settled(deadline)
        self._write_description()

    def _check_tools(self) -> None:
        missing = sorted({package for tool, package in _TOOLS.items() if shutil.which(tool) is None})
        if not (KAMAILIO_MODULES / "ndb_redis.so").exists():
            missing.append("kamailio-redis-modules")
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
        busy = [f"{proto} {host}:{port} ({name})" for (proto, host, port), name in owner.items()
                if name in starting and not _port_free(proto, host, port)]
        if busy:
            raise ClusterError("ports in use by other processes: " + ", ".join(busy)
                               + " (choose others with CTI_CLUSTER_PORT_OFFSET)")

    def _render(self, starting: set[str]) -> None:
        plan, keys = self.plan, self.secrets()
        for port, replica_of in zip(plan.redis_ports, (None, plan.redis_ports[0]), strict=True):
            if f"redis-{port}" in starting:
                (self.dir / "redis" / str(port)).mkdir(parents=True, exist_ok=True)
                _write_private(self.dir / "redis" / f"{port}.conf",
                               redis_config(plan, port, keys["redis_password"], replica_of))
        for port in plan.sentinel_ports:
            if f"sentinel-{port}" in starting:  # Sentinel rewrites its file: a fresh one forgets an old failover
                (self.dir / "redis" / f"sentinel-{port}").mkdir(parents=True, exist_ok=True)
                _write_private(self.dir / "redis" / f"sentinel-{port}.conf",
                               sentinel_config(plan, port, keys["redis_password"]))
        for node in plan.nodes:
            if f"node-{node.name}" in starting:
                self._render_node(node, keys["ari_password"])
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

    def _spawn(self, part: _Component) -> None:
        with (self.dir / "log" / f"{part.name}.log").open("ab") as log:
            proc = subprocess.Popen(part.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    cwd=self.dir, start_new_session=True)
        _write_private(self._pidfile(part.name), f"{proc.pid} {_start_time(proc.pid)}\n")
        # Not waited for: the part outlives this command. Marked finished so the handle's end is quiet.
        proc.returncode = 0

    def _wait(self, part: _Component, deadline: float) -> None:
        reason = "not started"
        while time.monotonic() < deadline:
            if self.pid(part.name) is None:
                raise ClusterError(f"{part.name} exited during start-up; its log ends:\n{self.log_tail(part.name)}")
            reason = part.ready() or ""
            if not reason:
                return
            time.sleep(0.2)
        raise ClusterError(f"{part.name} not ready in time ({reason}); its log ends:\n{self.log_tail(part.name)}")

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

    # -- readiness and inspection ------------------------------------------------------------------------------
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
        if parts.get("kamailio"):
            report["dispatcher"] = self.dispatcher()
        if any(parts.get(f"sentinel-{port}") for port in self.plan.sentinel_ports):
            master = self.sentinel_master()
            report["redis_master"] = f"{master[0]}:{master[1]}" if master else None
        if parts.get("haproxy"):
            report["web_backends"] = self.web_backends()
        return report

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
        """Stop every part (front to back) with its whole process group; nothing of the cluster keeps running."""
        for name in reversed(self.names()):
            pid = self.pid(name)
            if pid is not None:
                say(f"stopping {name}")
                _stop_group(pid, timeout)
            self._pidfile(name).unlink(missing_ok=True)

    # -- process records ---------------------------------------------------------------------------------------
    def _pidfile(self, name: str) -> Path:
        return self.dir / "run" / f"{name}.pid"

    def pid(self, name: str) -> int | None:
        """The running process of part ``name``, or None (never a pid since given to someone else)."""
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


def _stop_group(pgrp: int, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgrp, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not _group_alive(pgrp):
                return
            time.sleep(0.05)
    if _group_alive(pgrp):
        raise ClusterError(f"process group {pgrp} survived SIGKILL")


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
