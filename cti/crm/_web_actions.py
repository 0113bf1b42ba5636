"""What a customer did on the web portal, as a contact in their history, and how an agent's screen pop says it.

Each portal action is a contact of channel ``web``, disposition ``self_service``, whose ``reason`` names the action
and its subject in a fixed form, ``portal:<action>[:<subject>]`` (``portal:order_viewed:50000002``), so that the
pop can say it in the agent's language ("looked up order 50000002 on the web 10 minutes ago", "melihat pesanan
50000002 lewat web 10 menit lalu") and the portal can list it in the customer's. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cti.types import Language

from ._records import ContactRecord

__all__ = ["RECENT_WEB", "WEB_ACTIONS", "WEB_DISPOSITION", "WebAction", "read_web_reason", "web_action_line",
           "web_activity", "web_reason"]

WEB_ACTIONS: Final = ("signed_in", "order_viewed", "details_changed", "preferences_changed", "callback_requested",
                      "callback_cancelled")
WEB_DISPOSITION: Final = "self_service"
RECENT_WEB: Final = timedelta(days=7)
"""How far back the pop tells what the customer did on the web."""
_PREFIX: Final = "portal:"

_WHAT: Final[dict[Language, dict[str, str]]] = {
    "en": {"signed_in": "signed in on the web portal", "order_viewed": "looked up order {subject} on the web",
           "details_changed": "changed their contact details on the web",
           "preferences_changed": "changed their contact preferences on the web",
           "callback_requested": "asked for a callback on the web",
           "callback_cancelled": "cancelled their callback request on the web"},
    "id": {"signed_in": "masuk ke portal web", "order_viewed": "melihat pesanan {subject} lewat web",
           "details_changed": "mengubah data kontaknya lewat web",
           "preferences_changed": "mengubah preferensi kontaknya lewat web",
           "callback_requested": "meminta ditelepon balik lewat web",
           "callback_cancelled": "membatalkan permintaan telepon balik lewat web"},
}


@dataclass(frozen=True, slots=True)
class WebAction:
    action: str
    """One of :data:`WEB_ACTIONS`."""
    subject: str | None = None
    """What it was about: an order number, a callback's id."""


def web_reason(action: str, subject: str | None = None) -> str:
    """The contact's reason for ``action`` (ValueError for an action not in :data:`WEB_ACTIONS`)."""
    if action not in WEB_ACTIONS:
        raise ValueError(f"unknown portal action {action!r}")
    return f"{_PREFIX}{action}" if subject is None else f"{_PREFIX}{action}:{subject}"


def read_web_reason(reason: str | None) -> WebAction | None:
    """The portal action a contact's reason names; None for any other reason."""
    if reason is None or not reason.startswith(_PREFIX):
        return None
    action, _, subject = reason[len(_PREFIX):].partition(":")
    return WebAction(action, subject or None) if action in WEB_ACTIONS else None


def _ago(elapsed: timedelta, language: Language) -> str:
    minutes = max(0, int(elapsed.total_seconds() // 60))
    if minutes < 1:
        return "just now" if language == "en" else "baru saja"
    if minutes < 60:
        count, en, id_ = minutes, "minute", "menit"
    elif minutes < 48 * 60:
        count, en, id_ = minutes // 60, "hour", "jam"
    else:
        count, en, id_ = minutes // (24 * 60), "day", "hari"
    if language == "en":
        return f"{count} {en}{'' if count == 1 else 's'} ago"
    return f"{count} {id_} lalu"


def web_action_line(contact: ContactRecord, now: datetime, language: Language) -> str | None:
    """The pop's line for a portal action ("looked up order 7001 on the web 10 minutes ago"); None for a contact
    that is not one."""
    found = read_web_reason(contact.reason) if contact.channel == "web" else None
    if found is None:
        return None
    what = _WHAT[language][found.action].format(subject=found.subject or "")
    return f"{what} {_ago(now - contact.at, language)}"


def web_activity(contacts: Iterable[ContactRecord], now: datetime) -> list[dict[str, object]]:
    """The portal actions among ``contacts`` of the last :data:`RECENT_WEB`, in both languages (the desktop shows
    the agent's), in the order given (the most recent first)."""
    shown: list[dict[str, object]] = []
    for contact in contacts:
        if now - contact.at > RECENT_WEB:
            continue
        en, id_ = web_action_line(contact, now, "en"), web_action_line(contact, now, "id")
        if en is None or id_ is None:
            continue
        found = read_web_reason(contact.reason)
        assert found is not None
        shown.append({"at": contact.at.isoformat(), "action": found.action, "subject": found.subject,
                      "text": {"en": en, "id": id_}})
    return shown
