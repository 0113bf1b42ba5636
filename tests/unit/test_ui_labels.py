"""Codes the server sends that the pages show as words: every one it can produce has a label in both languages.

The codes come from the constants the server code uses (not from scanning it): the not-ready reasons
(``NotReadyReason``), the routing decision's parts (``WHY_CODES``, the strategies and the target values), and the
forecast and staffing models of the WFM core."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import get_args

import pytest

from cti.acd import STRATEGIES, WHY_CODES, NotReadyReason, Target
from cti.wfm import MODELS
from cti.wfm._staffing import Model

STATIC = Path(__file__).resolve().parents[2] / "cti" / "web" / "static"
LANGUAGES = ("id", "en")


def catalogue(language: str, page: str) -> dict[str, str]:
    texts: dict[str, str] = json.loads((STATIC / "i18n" / language / "common.json").read_text(encoding="utf-8"))
    texts.update(json.loads((STATIC / "i18n" / language / f"{page}.json").read_text(encoding="utf-8")))
    return texts


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_not_ready_reason_cti_gives_has_a_label(language: str) -> None:
    texts = catalogue(language, "common")
    assert [reason.value for reason in NotReadyReason if f"reason.{reason.value}" not in texts] == []


def test_the_desktop_offers_only_known_not_ready_reasons() -> None:
    page = (STATIC / "desktop.html").read_text(encoding="utf-8")
    select = re.search(r'<select id="reason">(.*?)</select>', page, re.S)
    assert select is not None
    offered = re.findall(r'<option value="([a-z0-9_]+)"', select.group(1))
    assert offered and set(offered) <= {reason.value for reason in NotReadyReason}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_part_of_a_routing_reason_has_a_sentence_on_the_desktop(language: str) -> None:
    texts = catalogue(language, "desktop")
    targets = {value for name in ("region", "language") for value in get_args(Target.model_fields[name].annotation)}
    wanted = ({f"routing.why.{code}" for code in WHY_CODES} | {"routing.why.min_level", "routing.why.team"}
              | {f"strategy.{name}" for name in STRATEGIES} | {f"routing.target.{value}" for value in targets})
    assert targets == {"caller", "any"}
    assert sorted(wanted - texts.keys()) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_model_the_wfm_core_can_name_has_a_label(language: str) -> None:
    texts = catalogue(language, "wfm")
    assert [name for name in MODELS if f"wfm.forecast_model.{name}" not in texts] == []
    assert [name for name in get_args(Model) if f"wfm.model.{name}" not in texts] == []
