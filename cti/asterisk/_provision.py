"""Build and run Asterisk from Debian sid in a chroot, configured from ``asterisk-conf/`` and ``dialplans/``.

Debian stable carries no Asterisk; sid does (22.x). The root is built once with debootstrap into a cache
directory outside the repository and reused. Asterisk runs as root inside it: this sandbox gives root no
DAC override, so the installer owns every Asterisk directory by root instead of running as ``asterisk``.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from cti.settings import Settings

__all__ = ["AsteriskError", "AsteriskRoot", "conf_value", "debian_mirror", "render_config"]

REPO_ROOT = Path(__file__).resolve().parents[2]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONF_DIRS = (REPO_ROOT / "asterisk-conf", REPO_ROOT / "dialplans")
PACKAGES = ("asterisk", "asterisk-moh-opsound-wav", "asterisk-core-sounds-en-wav")
# The spool's recording folder too: ARI's recordings fail ("No such file or directory") without it.
STATE_DIRS = ("etc/asterisk", "var/lib/asterisk", "var/spool/asterisk", "var/spool/asterisk/recording",
              "var/log/asterisk", "var/run/asterisk", "var/cache/asterisk", "usr/share/asterisk")
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))


class AsteriskError(Exception):
    """Asterisk could not be built, configured, started or stopped; the message says why."""


def debian_mirror(sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The Debian archive this machine's apt already uses (``CTI_DEBIAN_MIRROR`` overrides it)."""
    override = os.environ.get("CTI_DEBIAN_MIRROR")
    if override:
        return override
    for uri in _apt_uris(sources):
        path = uri.rstrip("/")
        if path.endswith("/debian") and "security" not in path:
            return uri
    raise AsteriskError(
        "no Debian mirror found in the apt sources; set CTI_DEBIAN_MIRROR to a Debian archive URL"
    )


def _apt_uris(sources: tuple[Path, ...]) -> Iterator[str]:
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files.extend(sorted(p for p in source.iterdir() if p.suffix in (".list", ".sources")))
        elif source.is_file():
            files.append(source)
    for file in files:
        for line in file.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("URIs:"):
                yield from line.split()[1:]
            elif line.startswith(("deb ", "deb\t")):
                # One-line format: deb [option=value ...] URI suite components
                rest = re.sub(r"^\s*\[[^\]]*\]", "", line[3:])
                words = rest.split()
                if words:
                    yield words[0]


class AsteriskRoot:
    """One Debian sid root holding Asterisk, and the Asterisk process running in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Kept so the child is reaped by us when it stops (and Python doesn't warn it outlived its handle).
        self._process: subprocess.Popen[bytes] | None = None
        self._lock_fd: int | None = None

    # -- exclusive use ----------------------------------------------------------------------------------
    def acquire(self, timeout: float = 1200.0) -> None:
        """Take the root for this process: one Asterisk serves one test session or benchmark at a time.

        Released by :meth:`stop` or when the process exits (it is an flock), so a crash frees it.
        """
        if self._lock_fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise AsteriskError(f"{self.path} is in use by another process for over {timeout:.0f} s") from None
                time.sleep(0.5)
        self._lock_fd = fd

    def release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- build ------------------------------------------------------------------------------------------
    @property
    def built(self) -> bool:
        return (self.path / "usr/sbin/asterisk").exists()

    def build(self, mirror: str | None = None) -> bool:
        """debootstrap the root unless it already exists; returns whether it built one."""
        if self.built:
            return False
        if shutil.which("debootstrap") is None:
            raise AsteriskError("debootstrap is not installed (apt-get install debootstrap)")
        staging = self.path.with_name(self.path.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.parent.mkdir(parents=True, exist_ok=True)
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", "sid",
               str(staging), mirror or debian_mirror()]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise AsteriskError(f"debootstrap failed ({result.returncode}):\n{tail}")
        # Rename last so an interrupted build never looks finished.
        staging.rename(self.path)
        return True

    # -- configure --------------------------------------------------------------------------------------
    def install_config(self, settings: Settings, conf_dirs: tuple[Path, ...] = CONF_DIRS) -> None:
        """Replace the root's /etc/asterisk with our configuration, rendered from ``settings``."""
        if not self.built:
            raise AsteriskError(f"no Asterisk root at {self.path}; run `cti asterisk build` first")
        self.acquire()
        etc = self.path / "etc/asterisk"
        shutil.rmtree(etc, ignore_errors=True)
        etc.mkdir(parents=True)
        etc.chmod(0o700)
        for name, text in render_config(settings, conf_dirs).items():
            _write_private(etc / name, text)
        for rel in STATE_DIRS:
            directory = self.path / rel
            directory.mkdir(parents=True, exist_ok=True)
            _chown_tree(directory)
        # Asterisk looks its own host name up at start; answer from /etc/hosts, not the network.
        hostname = socket.gethostname()
        (self.path / "etc/hosts").write_text(f"127.0.0.1 localhost {hostname}\n::1 localhost\n")
        (self.path / "etc/resolv.conf").write_text("# no resolver: Asterisk must not look names up\n")
        self.prepare_sounds()

    @property
    def sounds_dir(self) -> Path:
        """Asterisk's sounds folder seen from outside the root: cti installs its prompts under
        ``<lang>/cti/`` there and plays them as ``sound:cti/<name>`` in the channel's language."""
        return self.path / "usr/share/asterisk/sounds"

    def prepare_sounds(self) -> None:
        """Make the sounds folder writable from outside the root (cti's prompts go under ``<lang>/cti/``): every
        Asterisk started from this root needs it, a test's one or a cluster's nodes. Idempotent."""
        # Debian points sounds/en at /etc/alternatives with absolute links, which resolve only inside the
        # chroot; relative links make the same folders reachable from outside, where cti writes prompts.
        for link in self.sounds_dir.iterdir():
            if not link.is_symlink():
                continue
            target = Path(os.readlink(link))
            for _ in range(8):  # follow the chain as the chroot would see it
                if not target.is_absolute():
                    break
                inside = self.path / target.relative_to("/")
                if not inside.is_symlink():
                    if inside.is_dir():
                        link.unlink()
                        link.symlink_to(os.path.relpath(inside, link.parent))
                    break
                target = Path(os.readlink(inside))
        for language in ("en", "id"):
            (self.sounds_dir / language / "cti").mkdir(parents=True, exist_ok=True)
        # A recording's tone (the survey's comment) is looked up in the channel's language: Indonesian callers
        # hear the English one (Debian ships no other).
        for beep in (self.sounds_dir / "en").glob("beep.*"):
            target = self.sounds_dir / "id" / beep.name
            if not target.exists() and not target.is_symlink():
                target.symlink_to(os.path.relpath(beep.resolve(), target.parent))

    # -- run --------------------------------------------------------------------------------------------
    @property
    def pidfile(self) -> Path:
        return self.path / "var/run/asterisk/asterisk.pid"

    @property
    def log_file(self) -> Path:
        return self.path / "var/log/asterisk/console.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, settings: Settings, timeout: float = 60.0) -> int:
        """Start Asterisk (unless running) and wait until ARI answers with our credentials."""
        self.acquire()
        pid = self.pid()
        if pid is None:
            self._mount()
            self.pidfile.parent.mkdir(parents=True, exist_ok=True)
            log = self.log_file.open("ab")
            # -f: stay in the foreground of our child so the pid we record is Asterisk's own.
            proc = subprocess.Popen(
                ["chroot", str(self.path), "/usr/sbin/asterisk", "-f", "-n"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
            log.close()
            self._process = proc
            pid = proc.pid
            self.pidfile.write_text(f"{pid}\n")
        self.wait_for_ari(settings, timeout, pid)
        return pid

    def wait_for_ari(self, settings: Settings, timeout: float, pid: int | None = None) -> None:
        deadline = time.monotonic() + timeout
        url = f"{settings.ari_url}/ari/asterisk/info"
        credentials = f"{settings.ari_user}:{settings.ari_password.get_secret_value()}"
        headers = {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}
        last_error = "no answer"
        while time.monotonic() < deadline:
            if pid is not None and not _alive(pid):
                raise AsteriskError(f"Asterisk exited during start-up; last log lines:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=2):
                    return
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    raise AsteriskError(
                        "ARI refused our credentials: is another Asterisk with other settings on "
                        f"{settings.ari_url}?") from exc
                last_error = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError) as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise AsteriskError(
            f"ARI did not answer at {url} within {timeout:.0f} s ({last_error}); log:\n{self.log_tail()}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        self.acquire()
        pid = self.pid()
        if pid is not None:
            self.cli("core stop now", check=False)
            if not _wait_gone(pid, timeout / 2):
                _signal(pid, signal.SIGTERM)
                if not _wait_gone(pid, timeout / 2):
                    _signal(pid, signal.SIGKILL)
                    _wait_gone(pid, 5)
        if self._process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(5)
            self._process = None
        self.pidfile.unlink(missing_ok=True)
        self._unmount()
        self.release()

    def cli(self, command: str, check: bool = True) -> str:
        """Run one Asterisk CLI command through the remote console."""
        result = subprocess.run(
            ["chroot", str(self.path), "/usr/sbin/asterisk", "-rx", command],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=30,
        )
        if check and result.returncode != 0:
            raise AsteriskError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
        return result.stdout

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _mount(self) -> None:
        mounted = _mountpoints()
        for target, args in (("proc", ["-t", "proc", "proc"]), ("dev", ["--bind", "/dev"])):
            point = self.path / target
            if str(point) not in mounted:
                point.mkdir(exist_ok=True)
                result = subprocess.run(["mount", *args, str(point)], capture_output=True, text=True)
                if result.returncode != 0:
                    raise AsteriskError(f"cannot mount {point}: {result.stderr.strip()}")

    def _unmount(self) -> None:
        mounted = _mountpoints()
        for target in ("dev", "proc"):
            point = self.path / target
            if str(point) in mounted:
                subprocess.run(["umount", "-l", str(point)], capture_output=True)


def render_config(settings: Settings, conf_dirs: tuple[Path, ...] = CONF_DIRS) -> dict[str, str]:
    """Asterisk's configuration files (name -> text) for ``settings``: the templates of ``conf_dirs`` with
    their placeholders filled, and the agents' endpoints (``pjsip_agents.conf``)."""
    values = _placeholders(settings)
    files: dict[str, str] = {}
    for conf_dir in conf_dirs:
        if not conf_dir.is_dir():
            raise AsteriskError(f"configuration directory {conf_dir} is missing")
        for src in sorted(conf_dir.glob("*.conf")):
            files[src.name] = _render(src.read_text(), values, src.name)
    files["pjsip_agents.conf"] = render_agent_endpoints(settings)
    return files


def render_agent_endpoints(settings: Settings) -> str:
    """PJSIP sections for agent phones: registering softphones, browser phones (WebRTC) and, only when the
    settings ask for them (the demo, tests and benchmarks), SIPp-backed simulated agents."""
    out = ["; Generated by `cti asterisk install` from cti settings. Do not edit.\n"]
    for ext, password in sorted(settings.softphone_accounts().items()):
        out.append(
            f"[{ext}](agent-endpoint)\nauth = {ext}\naors = {ext}\ncallerid = Agent {ext} <{ext}>\n\n"
            f"[{ext}](agent-auth)\nusername = {ext}\npassword = {conf_value(password, f'password of {ext}')}\n\n"
            f"[{ext}](agent-aor)\n\n"
        )
    taken = set(settings.softphone_accounts()) | set(settings.sim_agent_extensions())
    for agent, ext in sorted(settings.webphone_extensions().items(), key=lambda item: item[1]):
        if ext in taken:
            raise AsteriskError(f"extension {ext} of {agent}'s browser phone is also a softphone or simulated agent")
        out.append(
            f"[{ext}](webrtc-agent-endpoint)\nauth = {ext}\naors = {ext}\ncallerid = Agent {ext} <{ext}>\n\n"
            f"[{ext}](agent-auth)\nusername = {ext}\n"
            f"password = {conf_value(settings.webphone_password(ext), f'password of {ext}')}\n\n"
            f"[{ext}](agent-aor)\n\n"
        )
    for ext in settings.sim_agent_extensions():
        port = settings.sim_agent_port(ext)
        out.append(
            f"[{ext}](sim-agent-endpoint)\naors = {ext}\ncallerid = Sim agent {ext} <{ext}>\n\n"
            f"[{ext}](sim-agent-aor)\ncontact = sip:{ext}@127.0.0.1:{port}\n\n"
        )
    return "".join(out)


def conf_value(value: str, what: str) -> str:
    """``value`` as one option value of an Asterisk configuration file, where it cannot add a line.

    A line break (or any control character) is refused: escaping cannot make it part of a value. ``;`` starts
    a comment unless escaped as ``\\;``, which Asterisk reads back as ``;``. Surrounding spaces are refused:
    Asterisk trims them, so the value would silently change. The error names ``what``, never the value (it
    may be a password).
    """
    if _CONTROL.search(value) or value != value.strip():
        raise AsteriskError(f"the {what} holds a line break, a control character or surrounding spaces, "
                            "which Asterisk's configuration cannot carry")
    return value.replace(";", "\\;")


def _write_private(path: Path, text: str) -> None:
    """Write a configuration file only its owner (Asterisk runs as root in the root) can read: several hold
    passwords (ari.conf, pjsip_agents.conf). Created 0600, never readable in between."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)  # whatever the umask
        out.write(text)


def _placeholders(settings: Settings) -> dict[str, str]:
    host, port = settings.ari_http_bind
    return {
        "HTTP_BIND": host,
        "HTTP_PORT": str(port),
        "ARI_USER": settings.ari_user,
        "ARI_PASSWORD": settings.ari_password.get_secret_value(),
        "ARI_ORIGINS": f"http://{settings.http_host}:{settings.http_port}",
        "SIP_BIND": settings.sip_bind,
        "PSTN_MATCH": settings.pstn_match,
        "PSTN_TRUST_ID": "yes" if settings.pstn_trust_id else "no",
        "PSTN_GATEWAY": settings.pstn_gateway,
        "RTP_START": str(settings.rtp_start),
        "RTP_END": str(settings.rtp_end),
    }


def _render(text: str, values: dict[str, str], name: str) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise AsteriskError(f"{name}: unknown placeholder @@{key}@@")
        return conf_value(values[key], f"value of @@{key}@@ in {name}")

    return re.sub(r"@@([A-Z_]+)@@", substitute, text)


def _chown_tree(top: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(top):
        for name in (dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)):
            try:
                os.lchown(name, 0, 0)
            except FileNotFoundError:
                pass


def _mountpoints() -> set[str]:
    try:
        return {line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()}
    except OSError:
        return set()


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
