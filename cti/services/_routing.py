"""The routing rules in force: reloading them from their file while calls go on, and an admin's edit of that file.

An edit is the file's YAML text, not the rules as data: the file is what operators keep (in version control, with
comments saying why a route exists), and rewriting it from the parsed rules would drop the comments and reorder
it. The text is checked by the same code a reload uses; only rules that hold are written (atomically: a temporary
file renamed over the old one, which is kept as ``<file>.bak``) and put in force.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cti.acd import Rules, parse_rules_text
from cti.errors import Conflict, Unavailable
from cti.records import UserRecord
from cti.services._audit import AuditTrail
from cti.services._distributor import Distributor

__all__ = ["NoRulesFile", "RoutingRules", "RulesFile", "RulesFileUnusable", "StaleRules"]


class NoRulesFile(Conflict):
    def __init__(self) -> None:
        super().__init__("the routing rules come from the settings (CTI_QUEUES, CTI_DEFAULT_QUEUE), not from a file, "
                         "so they cannot be edited here; name a rules file with CTI_ROUTING_RULES and restart "
                         "(docs/routing.md)")


class StaleRules(Conflict):
    def __init__(self) -> None:
        super().__init__("the rules file has changed since it was read; read it again and redo the edit")


class RulesFileUnusable(Unavailable):
    """The rules file cannot be read or written (gone, not UTF-8, a directory cti may not write to)."""

    @property
    def public_message(self) -> str:
        return "the routing rules file cannot be read or written; the server's log says why"


@dataclass(frozen=True, slots=True)
class RulesFile:
    """The rules file's text as read, and its version (a digest: an edit names the version it started from)."""

    path: Path
    text: str
    in_force: bool
    """Whether the file holds the rules in force (it may have been edited on disk and not reloaded yet)."""

    @property
    def version(self) -> str:
        return version_of(self.text)


def version_of(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class RoutingRules:
    def __init__(self, distributor: Distributor, source: Callable[[], Rules], *, path: Path | None = None,
                 audit: AuditTrail | None = None) -> None:
        self._distributor = distributor
        self._source = source
        self._path = path
        self._audit = audit

    @property
    def current(self) -> Rules:
        return self._distributor.query.rules

    @property
    def path(self) -> Path | None:
        """The rules file; None when the rules come from the settings (one queue per service number)."""
        return self._path

    def reload(self) -> Rules:
        """Read the rules again (``RulesError`` if they do not hold: the running rules stay); the next decision
        uses them, and calls of queues that are gone move to the default queue."""
        rules = self._source()
        self._distributor.set_rules(rules)
        return rules

    def read(self) -> RulesFile:
        """The rules file as it is on disk (:class:`NoRulesFile` when there is none)."""
        path = self._file()
        text = _read(path)
        try:
            in_force = parse_rules_text(text).model_dump() == self.current.model_dump()
        except ValueError:  # RulesError: a file that does not hold is not what runs
            in_force = False
        return RulesFile(path, text, in_force)

    def check(self, text: str) -> Rules:
        """The rules ``text`` holds, or ``RulesError`` listing every problem by field; nothing changes."""
        self._file()
        return parse_rules_text(text)

    def save(self, actor: UserRecord, text: str, *, source: str, version: str | None = None) -> Rules:
        """Check ``text``, write it as the rules file and put it in force; audited. Refused without a change
        when the rules do not hold (``RulesError``) or when ``version`` is not the file's now (:class:`StaleRules`).

        Synchronous on purpose: no other request runs between the check, the write and the switch."""
        path = self._file()
        rules = parse_rules_text(text)
        before = _read(path)
        if version is not None and version != version_of(before):
            raise StaleRules()
        try:
            _write_atomically(path, text, backup=before)
        except OSError as exc:
            raise RulesFileUnusable(f"cannot write the routing rules {path}: {exc}") from exc
        self._distributor.set_rules(rules)
        if self._audit is not None:
            self._audit.record_soon(actor, "change", "routing_rules", path.name, source=source,
                                    detail={"from": version_of(before), "to": version_of(text),
                                            "queues": len(rules.queues), "routes": len(rules.routes)})
        return rules

    def _file(self) -> Path:
        if self._path is None:
            raise NoRulesFile()
        return self._path


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesFileUnusable(f"cannot read the routing rules {path}: {exc}") from exc


def _write_atomically(path: Path, text: str, *, backup: str) -> None:
    """``path`` holds ``text`` or its old content, never a part; the old content stays in ``<path>.bak``.

    Both through a temporary file in the same directory, renamed (atomic on one file system)."""
    for target, content in ((path.with_name(path.name + ".bak"), backup), (path, text)):
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            if target == path and path.exists():
                os.chmod(temporary, path.stat().st_mode & 0o777)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
