"""May we call this customer now? The one decision every outbound call asks (click-to-dial, scheduled callbacks).

An outbound call dials a customer at our expense and in their day, so it is refused when:

1. the number is not one cti may dial (the toll-fraud guard the keep-my-place callback uses: patterns, whole
   number; tried on the E.164 form and on the national form with its trunk 0);
2. the number is on the do-not-call list (the caller looks it up; the list holds E.164 numbers);
3. the customer has not agreed to be called (their record's consent for phone contact);
4. it is outside the calling hours *in the customer's own time zone*: WIB (UTC+7), WITA (UTC+8) or WIT (UTC+9),
   from their region (:func:`cti.geography.timezone_for_region`), else from a fixed line's area code, else the
   service's default zone. Indonesia keeps no daylight saving time, so a zone is a fixed offset.

Pure: the time comes with each question; nothing is read or remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum

from cti.geography import locate, normalize_e164, timezone_for_region

__all__ = ["ZONE_OFFSETS", "CallingHours", "Contact", "ContactDecision", "ContactPolicy", "ContactRefusal",
           "ContactRules", "local_time", "next_calling_time", "zone_of"]

ZONE_OFFSETS: dict[str, int] = {"WIB": 7, "WITA": 8, "WIT": 9}
"""Indonesia's three time zones, hours east of UTC."""
_ZONE_BY_IANA = {"Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
_HOURS = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")


class ContactRefusal(StrEnum):
    """Why a customer may not be called now; each is an error ``code`` of the API."""

    NUMBER_NOT_ALLOWED = "number_not_allowed"
    DO_NOT_CALL = "number_do_not_call"
    NO_CONSENT = "no_contact_consent"
    OUTSIDE_HOURS = "outside_calling_hours"


@dataclass(frozen=True, slots=True)
class CallingHours:
    """The part of each local day in which customers may be called: from ``start`` up to (not including)
    ``end``; ``end`` 24:00 is midnight. ``start`` must come before ``end`` (no hours across midnight)."""

    start: time
    end: time | None  # None: midnight at the day's end (24:00)

    @classmethod
    def parse(cls, text: str) -> CallingHours:
        """``"08:00-20:00"``; ValueError for anything else, or an empty or reversed span."""
        found = _HOURS.fullmatch(text.strip())
        if found is None:
            raise ValueError(f"calling hours {text!r} are not HH:MM-HH:MM")
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        if h2 == 24 and m2 != 0:
            raise ValueError(f"calling hours {text!r}: 24:00 is the latest end")
        start, end = time(h1, m1), None if h2 == 24 else time(h2, m2)
        if end is not None and end <= start:
            raise ValueError(f"calling hours {text!r}: the end must come after the start")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end is None else f'{self.end:%H:%M}'}"


@dataclass(frozen=True, slots=True)
class ContactRules:
    numbers: tuple[str, ...]
    """Regular expressions; a number must match one of them whole (as the callbacks' ``callback_numbers``)."""
    hours: CallingHours
    default_zone: str = "WIB"
    """For a customer whose zone nothing tells."""
    country: str = "ID"
    """How a national number is read (as the CRM reads it)."""


@dataclass(frozen=True, slots=True)
class Contact:
    """What the decision needs to know of the customer and the number to dial."""

    number: str
    consent: bool
    do_not_call: bool
    region: str | None = None


@dataclass(frozen=True, slots=True)
class ContactDecision:
    refusal: ContactRefusal | None
    e164: str | None
    zone: str
    local: datetime
    """The customer's wall-clock time now."""
    next_allowed: datetime | None
    """For a refusal over the hours: the next moment (UTC) the customer may be called."""

    @property
    def allowed(self) -> bool:
        return self.refusal is None


def zone_of(region: str | None, number: str | None, default: str, *, country: str = "ID") -> str:
    """WIB, WITA or WIT: from the customer's region, else from the number's area code, else ``default``."""
    for candidate in (region, locate(number, default_country=country).region if number else None):
        if candidate:
            try:
                zone = _ZONE_BY_IANA.get(timezone_for_region(candidate.lower()))
            except KeyError:
                continue
            if zone is not None:
                return zone
    return default


def local_time(now: datetime, zone: str) -> datetime:
    """``now`` (aware) on the wall clocks of ``zone``; KeyError for a zone that is not WIB, WITA or WIT."""
    return now.astimezone(timezone(timedelta(hours=ZONE_OFFSETS[zone]), zone))


def next_calling_time(now: datetime, zone: str, hours: CallingHours) -> datetime:
    """``now`` if it is within the hours in ``zone``, else the next start of the hours there (in UTC)."""
    local = local_time(now, zone)
    if hours.contains(local.time()):
        return now
    start = local.replace(hour=hours.start.hour, minute=hours.start.minute, second=0, microsecond=0)
    if local.time() >= hours.start:  # after the end today: tomorrow's start
        start += timedelta(days=1)
    return start.astimezone(now.tzinfo)


class ContactPolicy:
    def __init__(self, rules: ContactRules) -> None:
        if rules.default_zone not in ZONE_OFFSETS:
            raise ValueError(f"unknown time zone {rules.default_zone!r}: one of {', '.join(ZONE_OFFSETS)}")
        self.rules = rules
        self._patterns = tuple(re.compile(pattern) for pattern in rules.numbers)

    def e164(self, number: str) -> str | None:
        return normalize_e164(number, default_country=self.rules.country)

    def allows_number(self, number: str) -> bool:
        """Whether the number is one cti may dial, as the callback guard reads it: E.164 or national form."""
        e164 = self.e164(number)
        if e164 is None:
            return False
        forms = {e164}
        if e164.startswith("+62"):
            forms.add("0" + e164[3:])
        return any(p.fullmatch(f) for p in self._patterns for f in forms)

    def decide(self, contact: Contact, now: datetime) -> ContactDecision:
        """Whether ``contact`` may be called at ``now`` (aware), and if not the first reason, in the order of the
        module's list."""
        e164 = self.e164(contact.number)
        zone = zone_of(contact.region, e164, self.rules.default_zone, country=self.rules.country)
        local = local_time(now, zone)
        refusal: ContactRefusal | None = None
        next_allowed = None
        if e164 is None or not self.allows_number(e164):
            refusal = ContactRefusal.NUMBER_NOT_ALLOWED
        elif contact.do_not_call:
            refusal = ContactRefusal.DO_NOT_CALL
        elif not contact.consent:
            refusal = ContactRefusal.NO_CONSENT
        elif not self.rules.hours.contains(local.time()):
            refusal = ContactRefusal.OUTSIDE_HOURS
            next_allowed = next_calling_time(now, zone, self.rules.hours)
        return ContactDecision(refusal, e164, zone, local, next_allowed)
