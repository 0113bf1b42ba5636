"""Another Asterisk from the same root, with folders of its own: a cluster's media node, a test worker's Asterisk.

The root's own folders (``/etc/asterisk``, ``/var/lib/asterisk``, its lock and its mounts) belong to the single
Asterisk of :class:`AsteriskRoot`. Another Asterisk runs in a mount namespace of its own (``unshare``), where its
home folder is bound on ``/mnt`` inside the root and its ``asterisk.conf`` points its directories there: its
configuration, database, spool, control socket and logs are its own; the binaries, modules and sounds are shared.
Its settings give it its own SIP, ARI and RTP ports. The namespace, and its mounts, end with its process, even after
``kill -9``.
"""

from __future__ import annotations

import re
from pathlib import Path

from cti.asterisk._provision import (
    ASTERISK_BINARY,
    CONF_DIRS,
    PROMPT_LANGUAGES,
    ROOT_SOUNDS,
    AsteriskError,
    AsteriskRoot,
)
from cti.settings import Settings

__all__ = ["INSTANCE_MOUNT", "INSTANCE_SUBDIRS", "AsteriskInstance", "instance_cli_command", "instance_command",
           "instance_config"]

INSTANCE_MOUNT = "/mnt"
"""Where an instance's home appears inside the root (bound there in the instance's mount namespace only)."""

_DIRECTORIES = {"/etc/asterisk": "etc", "/var/lib/asterisk": "lib", "/var/spool/asterisk": "spool",
                "/var/run/asterisk": "run", "/var/log/asterisk": "log", "/var/cache/asterisk": "cache"}
INSTANCE_SUBDIRS = tuple(_DIRECTORIES.values())

# $1 the root, $2 the instance's home. A home with prompts of its own (sounds/<language>/cti) has them bound over
# the root's, so that cti's ``sound:cti/...`` plays the ones its own cti renders (and sweeps at start).
_SCRIPT = (
    f'set -e; mount --bind "$2" "$1{INSTANCE_MOUNT}"; '
    'for own in "$2"/sounds/*/cti; do [ -d "$own" ] || continue; language=${own%/cti}; '
    f'mount --bind "$own" "$1/{ROOT_SOUNDS}/${{language##*/}}/cti"; done; '
    'mount -t proc proc "$1/proc"; mount --bind /dev "$1/dev"; '
    f'exec chroot "$1" {ASTERISK_BINARY} -f -n -C {INSTANCE_MOUNT}/etc/asterisk.conf'
)


def instance_command(root: Path, home: Path) -> list[str]:
    """The command that runs the instance of ``home`` in the foreground; its pid becomes Asterisk's own."""
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", _SCRIPT, "cti-asterisk", str(root),
            str(home)]


def instance_cli_command(pid: int, command: str) -> list[str]:
    """One CLI command to the instance running as ``pid``, through its control socket (inside its namespace)."""
    return ["nsenter", "--target", str(pid), "--mount", "--root", "--wd", ASTERISK_BINARY, "-C",
            f"{INSTANCE_MOUNT}/etc/asterisk.conf", "-rx", command]


def instance_config(files: dict[str, str], name: str) -> dict[str, str]:
    """``files`` (:func:`render_config`'s) for an instance: ``asterisk.conf`` with its own folders and its name."""
    return {**files, "asterisk.conf": _system_name(_own_directories(files["asterisk.conf"]), name)}


def _own_directories(text: str) -> str:
    """asterisk.conf with the instance's own folders; the root's are left to the single Asterisk."""
    found: set[str] = set()

    def move(match: re.Match[str]) -> str:
        found.add(match.group(2))
        return f"{match.group(1)}{INSTANCE_MOUNT}/{_DIRECTORIES[match.group(2)]}"

    pattern = "|".join(re.escape(path) for path in _DIRECTORIES)
    text = re.sub(rf"^(\s*ast\w+dir\s*=>\s*)({pattern})\s*$", move, text, flags=re.MULTILINE)
    # "(!)" makes the section a template, which Asterisk does not apply: the instance's folders must be applied.
    text, marked = re.subn(r"^\[directories\]\(!\)", "[directories]", text, flags=re.MULTILINE)
    if found != set(_DIRECTORIES) or not marked:
        raise AsteriskError("asterisk.conf no longer has the [directories] an instance rewrites")
    return text


def _system_name(text: str, name: str) -> str:
    """The instance's name in its channels' ids (``a-1765012345.12``): two instances started in the same second
    would otherwise give their callers the same ids, and a cti driving both keys legs by id."""
    text, found = re.subn(r"^\[options\]\n", f"[options]\nsystemname = {name}\n", text, count=1, flags=re.MULTILINE)
    if not found:
        raise AsteriskError("asterisk.conf no longer has the [options] an instance names itself in")
    return text


class AsteriskInstance(AsteriskRoot):
    """An Asterisk of the root at ``root`` whose folders are ``home``'s, with a lock of its own beside ``home``:
    several run side by side (one per test worker), each on the ports its settings give it. Its prompts are its
    own too (``sounds_dir``, under ``home``): a cti of its own renders them and sweeps them at start.
    """

    def __init__(self, root: Path, home: Path, name: str) -> None:
        super().__init__(root)
        self.home = home
        self.name = name

    @property
    def lock_file(self) -> Path:
        return self.home.with_name(self.home.name + ".lock")

    def install_config(self, settings: Settings, conf_dirs: tuple[Path, ...] = CONF_DIRS) -> None:
        self.acquire()
        self.home.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        super().install_config(settings, conf_dirs)

    @property
    def etc_dir(self) -> Path:
        return self.home / "etc"

    def _config_files(self, settings: Settings, conf_dirs: tuple[Path, ...]) -> dict[str, str]:
        return instance_config(super()._config_files(settings, conf_dirs), self.name)

    def _state_dirs(self) -> list[Path]:
        return ([self.home / sub for sub in INSTANCE_SUBDIRS] + [self.home / "spool" / "recording"]
                + [self.sounds_dir / language / "cti" for language in PROMPT_LANGUAGES])

    @property
    def sounds_dir(self) -> Path:
        return self.home / "sounds"

    @property
    def pidfile(self) -> Path:
        # Not run/asterisk.pid: Asterisk rewrites that one with its pid alone, and this one keeps the start time.
        return self.home / "asterisk.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "log" / "console.log"

    def _command(self) -> list[str]:
        return instance_command(self.path, self.home)

    def _cli_command(self, command: str) -> list[str]:
        pid = self.pid()
        if pid is None:
            raise AsteriskError(f"the Asterisk of {self.home} is not running")
        return instance_cli_command(pid, command)

    def _mount(self) -> None:
        """Nothing: the instance's command mounts what it needs in its own namespace."""

    def _unmount(self) -> None:
        """Nothing: the instance's mounts end with its namespace."""
