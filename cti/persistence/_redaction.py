"""Removing the personal fields of an interaction, for a customer's erasure and for the retention purge alike.

What goes: the caller's number and name, the agent's notes, script answers and follow-up, the IVR's attributes
(keyed customer and order numbers among them), the values of its path (keyed digits, recognised speech) and the
prompts the caller heard (spoken balances), the transfer notes agents left for each other, and the caller's
number wherever a routing reason quotes it. What stays is what statistics, reports and the WFM forecast read:
times, queue, agent, outcome, end reason, offers, the routing attributes and decisions, the IVR's flow, outcome
and the nodes and events of its path, disposition and the cross-sell outcome.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from cti.crm import ERASED_CALLER, normalize_phone, phone_variants

from ._tables import InteractionRow

__all__ = ["SEALED_ON_SAVE", "call_numbers", "prompts_of", "redact", "scrub"]

SEALED_ON_SAVE: Final = frozenset({"caller_number", "caller_name", "routing", "ivr"})
"""What a late snapshot of the call (the journal's save) would bring back: kept as redacted instead."""

_IVR_KEPT: Final = ("flow", "outcome", "reason", "language")
_PATH_KEPT: Final = ("node", "event", "intent", "confidence")
_MIN_NUMBER: Final = 4  # shorter strings would be scrubbed out of unrelated text


def call_numbers(caller_number: str, default_country: str) -> set[str]:
    """The shapes a caller number may be quoted in (routing reasons): as delivered, without its '+', and every
    shape of its E.164 form (a national "0812..." is quoted "+62812..." by a callback's reason)."""
    if caller_number == ERASED_CALLER or len(caller_number.lstrip("+")) < _MIN_NUMBER:
        return set()
    e164 = normalize_phone(caller_number, default_country=default_country)
    return {caller_number, caller_number.lstrip("+"), *(phone_variants(e164) if e164 else ())}


def prompts_of(ivr: Any) -> list[str]:
    """The prompt texts an interaction's IVR record says the caller heard."""
    prompts = ivr.get("prompts") if isinstance(ivr, dict) else None
    return [p for p in prompts if isinstance(p, str)] if isinstance(prompts, list) else []


def redact(row: InteractionRow, numbers: Collection[str], now: datetime, *, default_country: str) -> None:
    """Remove ``row``'s personal fields; ``numbers`` are the caller numbers to scrub out of its routing record
    (besides the row's own, read in ``default_country`` when national)."""
    needles = set(numbers) | call_numbers(row.caller_number, default_country)
    row.caller_number = ERASED_CALLER
    row.caller_name = None
    row.notes = None
    row.script_answers = None
    row.follow_up = None
    if row.ivr is not None:
        row.ivr = _scrub_ivr(row.ivr)
    if row.routing is not None:
        row.routing = _scrub_routing(row.routing, sorted(needles))
    row.redacted_at = now


def scrub(value: Any, needles: Sequence[str]) -> Any:
    """``value`` with every occurrence of ``needles`` in its strings replaced, at any depth."""
    if isinstance(value, str):
        # Longest first, so "+62812..." goes before its own suffix "62812..." can leave a stray "+".
        for needle in sorted(needles, key=len, reverse=True):
            value = value.replace(needle, ERASED_CALLER)
        return value
    if isinstance(value, dict):
        return {key: scrub(item, needles) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, needles) for item in value]
    return value


def _scrub_ivr(ivr: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {name: ivr[name] for name in _IVR_KEPT if name in ivr}
    path: Iterable[Any] = ivr.get("path") or ()
    kept["path"] = [{name: entry[name] for name in _PATH_KEPT if name in entry}
                    for entry in path if isinstance(entry, dict)]
    return kept


def _scrub_routing(routing: dict[str, Any], needles: Sequence[str]) -> dict[str, Any]:
    # Decision reasons may quote the number ("calling +62812... back"); transfer notes are an agent's free text.
    scrubbed: dict[str, Any] = scrub(routing, needles)
    decisions = scrubbed.get("decisions")
    if isinstance(decisions, list):
        scrubbed["decisions"] = [{k: v for k, v in d.items() if k != "note"} if isinstance(d, dict) else d
                                 for d in decisions]
    return scrubbed
