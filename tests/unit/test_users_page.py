"""The users page (cti/web/static/users.js): the labels it builds from its actions exist in both languages, and
it builds no HTML from strings, runs no inline script and makes password suggestions from crypto only."""

from __future__ import annotations

import re

from tests.unit.test_ui_catalogs import LANGUAGES, STATIC, all_keys

PAGE = (STATIC / "users.js").read_text(encoding="utf-8")
HTML = (STATIC / "users.html").read_text(encoding="utf-8")


def test_every_label_built_from_an_action_or_a_refusal_exists_in_both_languages() -> None:
    confirmed = re.findall(r"^  (\w+): \{ danger", PAGE, re.MULTILINE)
    buttons = set(re.findall(r'actionButton\("(\w+)"', PAGE))
    refusals = set(re.findall(r'\d{3}: "(\w+)"', PAGE)) | {"other", "network"}
    assert set(confirmed) == {"disable", "enable", "rotate", "delete"}
    assert buttons == {*confirmed, "password", "scope"}
    needed = {f"users.confirm.{a}.{part}" for a in confirmed for part in ("title", "text", "yes", "done")}
    needed |= {f"users.action.{a}{part}" for a in buttons for part in ("", ".label")}
    needed |= {f"users.refused.{kind}" for kind in refusals}
    needed |= {f"role.{role}" for role in ("agent", "supervisor", "admin")}
    for lang in LANGUAGES:
        assert not sorted(needed - set(all_keys(lang))), lang


def test_no_html_from_strings_no_inline_script_and_random_from_crypto() -> None:
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function", PAGE)
    assert re.findall(r"<script[^>]*>", HTML) == ['<script type="module" src="/ui/users.js">']
    assert not re.search(r"<[^>]*\son[a-z]+\s*=", HTML), "an inline event handler (the CSP forbids it)"
    assert "crypto.getRandomValues" in PAGE and "Math.random" not in PAGE
