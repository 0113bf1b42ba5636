"""The cluster's supervisord, asked over its Unix socket (its XML-RPC interface, with the standard library's client:
the Debian package's Python is not cti's)."""

from __future__ import annotations

import http.client
import re
import socket
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ProcessInfo", "Supervisor", "SupervisorError", "unexpected_exits"]

RUNNING_STATES = frozenset({"STARTING", "RUNNING", "BACKOFF"})
"""A program supervisord is (re)starting or running: ``start`` leaves it to supervisord."""


class SupervisorError(Exception):
    """supervisord refused a request (its fault's text), or does not answer."""


@dataclass(frozen=True, slots=True)
class ProcessInfo:
    name: str
    state: str
    """supervisord's: ``STOPPED``, ``STARTING``, ``RUNNING``, ``BACKOFF`` (failed to start, tried again soon),
    ``STOPPING``, ``EXITED``, ``FATAL`` (given up), ``UNKNOWN``."""
    pid: int | None
    started: int
    """When its current (or last) process started, in seconds since the epoch; 0 if never."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self._path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__()
        self._path, self._timeout = path, timeout

    def make_connection(self, host: Any) -> http.client.HTTPConnection:
        # Kept where the base class keeps its own, so that close() closes it.
        kept = self._connection[1]
        if kept is None or self._connection[0] != host:
            kept = _UnixConnection(self._path, self._timeout)
            self._connection = (host, kept)
        return kept


class Supervisor:
    """One supervisord, by its socket. Each call opens a connection of its own (a command's few calls)."""

    def __init__(self, sock: Path, timeout: float = 5.0) -> None:
        self.sock = sock
        self.timeout = timeout

    def _call(self, method: str, *args: Any, timeout: float | None = None) -> Any:
        transport = _UnixTransport(self.sock, timeout or self.timeout)
        proxy = xmlrpc.client.ServerProxy("http://localhost", transport=transport)
        try:
            return getattr(proxy.supervisor, method)(*args)
        except xmlrpc.client.Fault as exc:
            raise SupervisorError(f"supervisord: {method}: {exc.faultString}") from exc
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
            raise SupervisorError(f"supervisord does not answer on {self.sock}: {exc}") from exc
        finally:
            proxy("close")()

    def ready(self) -> str | None:
        """None once it serves its programs; else why not."""
        if not self.sock.exists():
            return "no socket yet"
        try:
            state = self._call("getState")
        except SupervisorError as exc:
            return str(exc)
        return None if state.get("statename") == "RUNNING" else f"supervisord {state.get('statename')}"

    def processes(self) -> dict[str, ProcessInfo]:
        """Every program supervisord has; empty if it does not answer (not running)."""
        if not self.sock.exists():
            return {}
        try:
            found = self._call("getAllProcessInfo")
        except SupervisorError:
            return {}
        return {info["name"]: ProcessInfo(name=info["name"], state=info["statename"], pid=info["pid"] or None,
                                          started=info["start"]) for info in found}

    def start(self, name: str) -> None:
        """Without waiting: ``cti cluster start`` waits for the part to serve, as for the others."""
        try:
            self._call("startProcess", name, False)
        except SupervisorError as exc:
            if "ALREADY_STARTED" not in str(exc):
                raise

    def stop(self, name: str, timeout: float) -> None:
        """Waits until the program's whole group has ended (SIGTERM, then SIGKILL after its ``stopwaitsecs``)."""
        try:
            self._call("stopProcess", name, True, timeout=timeout + 10)
        except SupervisorError as exc:
            if "NOT_RUNNING" not in str(exc):
                raise

    def update(self) -> list[str]:
        """Read its file again (``supervisorctl update``): programs added are taken in, a program not running whose
        section changed is replaced; a running one is left as it is. The names of the programs taken in."""
        added, changed, _removed = self._call("reloadConfig")[0]
        running = {name for name, info in self.processes().items() if info.state in RUNNING_STATES}
        for name in changed:
            if name not in running:
                self._call("removeProcessGroup", name)
                added.append(name)
        for name in added:
            self._call("addProcessGroup", name)
        return list(added)


def unexpected_exits(log: str, pid: int) -> dict[str, int]:
    """How many times each program ended on its own (killed, crashed, exited) and was started again, by the
    supervisord of ``pid``, from its log (``stop``'s are expected)."""
    started = log.rfind(f"supervisord started with pid {pid}\n")
    if started < 0:
        return {}
    counts: dict[str, int] = {}
    for name in re.findall(r"exited: (\S+) \(.*; not expected\)", log[started:]):
        counts[name] = counts.get(name, 0) + 1
    return counts
