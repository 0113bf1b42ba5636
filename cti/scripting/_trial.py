"""A script rendered before it is saved: every text of it, in each language, with representative data.

Saving runs :func:`trial_render` (``ScriptLibrary.save``), so a script whose templates would run past their
budget (:class:`~cti.scripting.RenderLimits`) is refused with :class:`~cti.scripting.RenderBudgetExceeded`
before any call gets it, and one that cannot be rendered at all with :class:`~cti.scripting.ScriptError`.
Every text of the script shares one budget per language and data set: more than any one path renders, so
a script that passes renders within its budget on every path with data like these. Data unlike these (a
very long name in a loop) can still exceed it in a pop, which then shows that the script could not be shown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Final

from cti.scripting._budget import RenderBudget, RenderLimits
from cti.scripting._definition import Script
from cti.scripting._errors import Problem, RenderBudgetExceeded, RenderError, ScriptError
from cti.scripting._runner import UNKNOWN_CALLER
from cti.scripting._template import render
from cti.types import LANGUAGES, Language

__all__ = ["TRIAL_DATA", "trial_render"]

_COMMON: Final[Mapping[str, object]] = {
    "agent": {"name": "Andi Wijaya"},
    "company": {"name": "Nusantara Net"},
}
TRIAL_DATA: Final[Mapping[str, Mapping[str, object]]] = {
    "a known customer": {
        **_COMMON,
        "customer": {"name": "Siti Rahayu", "salutation": "Ibu", "customer_id": "10000001", "value_tier": "gold",
                     "segment": "residential", "region": "Jawa Barat", "language": "id"},
        "call": {"reason": "billing", "service_number": "1500100", "caller_number": "0215550123",
                 "order_number": "ORD-20260115-0042", "order_eta": "2 hari kerja", "outage_eta": "pukul 17.00"},
        "billing": {"balance_due": Decimal("1250000"), "due_date": "2026-01-15", "overdue_days": 12,
                    "grace_days": 14},
        "offer": {"sku": "INET-100", "name": "Internet Rumah 100 Mbps", "category": "internet",
                  "price": Decimal("450000"), "score": 0.82,
                  "reason": "Melengkapi Internet Rumah 50 Mbps yang Anda miliki",
                  "reasons": ["Melengkapi Internet Rumah 50 Mbps yang Anda miliki",
                              "Dimiliki 42% pelanggan segmen Anda"], "promotion_id": "PROMO-7"},
        "promotion": {"text": "Diskon 20% tiga bulan pertama", "ends_on": "2026-02-28"},
    },
    "an unknown caller": {
        **_COMMON,
        "customer": None,
        "call": {"reason": None, "service_number": "1500100", "caller_number": "anonymous", "order_number": None},
        "billing": {"balance_due": Decimal(0), "due_date": None, "overdue_days": 0},
        "offer": None,
        "promotion": None,
    },
}
"""What a pop passes to a script (see docs/scripting.md), for a customer the CRM knows and for a stranger."""


def _texts(script: Script, language: Language) -> Iterator[tuple[str, str]]:
    """Every template of the script in one language, with where it is."""
    yield "title." + language, script.title[language]
    for step in script.steps:
        where = f"steps.{step.id}"
        yield f"{where}.text.{language}", step.text[language]
        if step.hint is not None:
            yield f"{where}.hint.{language}", step.hint[language]
        if step.question is not None:
            if step.question.prompt is not None:
                yield f"{where}.question.prompt.{language}", step.question.prompt[language]
            for choice in step.question.choices:
                yield f"{where}.question.choices.{choice.value}.label.{language}", choice.label[language]


def trial_render(script: Script, limits: RenderLimits | None = None, *,
                 clock: Callable[[], float] | None = None) -> None:
    """Render every text of ``script`` with each of :data:`TRIAL_DATA` in each language, within ``limits``.

    Raises :class:`RenderBudgetExceeded` (saying where, with which data, and which limit) at the first text
    that passes a limit, else :class:`ScriptError` listing every text that fails to render. ``clock`` (seconds,
    monotonic) enables the time limit.
    """
    problems: list[Problem] = []
    for case, data in TRIAL_DATA.items():
        for language in LANGUAGES:
            budget = RenderBudget(limits, clock=clock)
            for where, text in _texts(script, language):
                try:
                    render(text, data, budget, absent=UNKNOWN_CALLER[language])
                except RenderBudgetExceeded as exc:
                    raise exc.at(script_id=script.id, where=where, case=f"with {case}") from exc
                except RenderError as exc:
                    problems.append(Problem(where, f"cannot be rendered with {case}: {exc}"))
    if problems:
        raise ScriptError(list(dict.fromkeys(problems)), script_id=script.id)
