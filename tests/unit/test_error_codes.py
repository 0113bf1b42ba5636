"""Every error code the server can answer has a sentence in both languages of the console (``error.<code>`` in
common.json): a page never has to fall back to the server's English message in Indonesian."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cti.acd
import cti.crm
import cti.live
import cti.persistence
import cti.services
import cti.telephony
import cti.web
from cti.errors import CtiError
from cti.web._errors import CODE_OF_STATUS

ROOT = Path(cti.web.__file__).parent.parent
STATIC = ROOT / "web" / "static" / "i18n"
# A code named where an error is raised: code="...", coded(..., "..."), FrameError("...", "...").
_NAMED = re.compile(r'\bcode="([a-z_]+)"|coded\(web\.[^;]*?,\s*"([a-z_]+)"|FrameError\([^\n]*?,\s*"([a-z_]+)"\)', re.S)
_MODULES = (cti.acd, cti.crm, cti.live, cti.persistence, cti.services, cti.telephony)


def catalogue(language: str) -> dict[str, str]:
    return json.loads((STATIC / language / "common.json").read_text(encoding="utf-8"))


def kinds(root: type[CtiError]) -> set[type[CtiError]]:
    found = {root}
    for sub in root.__subclasses__():
        found |= kinds(sub)
    return found


def codes() -> set[str]:
    assert _MODULES  # imported for their exception classes
    named = {code for kind in kinds(CtiError) for code in [kind.code]}
    named |= set(CODE_OF_STATUS.values()) | {"bad_json", "invalid_body", "session_revoked", "bad_frame"}
    for path in ROOT.rglob("*.py"):
        for match in _NAMED.finditer(path.read_text(encoding="utf-8")):
            named.add(next(group for group in match.groups() if group))
    return named


def test_the_scan_finds_the_codes_raised_in_the_services_and_the_web_layer() -> None:
    assert {"wrong_credentials", "throttled", "agent_not_ready", "unknown_disposition", "weak_password",
            "customer_not_found", "user_exists", "agent_not_found", "script_broken", "role_forbidden"} <= codes()


def test_every_error_code_has_a_sentence_in_both_languages() -> None:
    for language in ("id", "en"):
        texts = catalogue(language)
        assert sorted(code for code in codes() if f"error.{code}" not in texts) == [], language
