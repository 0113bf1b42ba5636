"""Normalising and checking customer and contact values, shared by the store and the CSV import. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Final

from cti.geography import locate, normalize_e164
from cti.types import LANGUAGES

from ._errors import Problem
from ._records import CHANNELS, FOLLOW_UP_REPLIES, VALUE_TIERS, CustomerFields, NewContact

__all__ = [
    "CONTACT_LENGTHS",
    "CUSTOMER_ID",
    "EMAIL",
    "MAX_LENGTHS",
    "clean_customer",
    "clean_email",
    "contact_problems",
    "customer_id_problems",
    "fields_for_caller",
    "normalize_phone",
    "phone_kind",
    "phone_variants",
]

# Deliberately loose: one "@", no spaces, a dot in the domain. Stricter patterns refuse real addresses.
EMAIL: Final = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
CUSTOMER_ID: Final = re.compile(r"[0-9]{4,16}")
"""Customer numbers are digits so that callers can key them in the IVR."""
_COUNTRY: Final = re.compile(r"[A-Z]{2}")

MAX_LENGTHS: Final = {
    "name": 200,
    "email": 254,
    "address": 300,
    "city": 64,
    "region": 64,
    "segment": 32,
}
CONTACT_LENGTHS: Final = {"reason": 64, "disposition": 32, "agent_id": 64, "call_id": 64, "follow_up_task": 500,
                         "follow_up_queue": 64}


def normalize_phone(number: str, *, default_country: str = "ID") -> str | None:
    """E.164 or ``None``: the routing geography's reading, so a number means the same everywhere in cti."""
    return normalize_e164(number, default_country=default_country)


def phone_kind(e164: str) -> str:
    return locate(e164).kind


def phone_variants(e164: str) -> tuple[str, ...]:
    """The shapes in which a carrier may have delivered ``e164`` as a caller number (for erasure)."""
    digits = e164.lstrip("+")
    variants = [e164, digits, "00" + digits]
    if digits.startswith("62"):
        variants.append("0" + digits[2:])
    return tuple(variants)


def clean_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def _blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value or None


def clean_customer(
    fields: CustomerFields, *, default_country: str = "ID"
) -> tuple[CustomerFields, tuple[Problem, ...]]:
    """``fields`` normalised (phones E.164 without duplicates, email lower case, blanks to ``None``) and what
    is wrong with them; the cleaned value is only meaningful when there are no problems."""
    problems: list[Problem] = []
    phones: list[str] = []
    for number in fields.phones:
        e164 = normalize_phone(number, default_country=default_country)
        if e164 is None:
            problems.append(Problem("phone", f"not a phone number: {number!r}"))
        elif e164 not in phones:
            phones.append(e164)
    email = clean_email(fields.email)
    if email is not None and EMAIL.fullmatch(email) is None:
        problems.append(Problem("email", f"not an email address: {email!r}"))
    country = _blank_to_none(fields.country)
    country = None if country is None else country.upper()
    if country is not None and _COUNTRY.fullmatch(country) is None:
        problems.append(Problem("country", f"not an ISO 3166 two-letter country code: {country!r}"))
    region = _blank_to_none(fields.region)
    segment = _blank_to_none(fields.segment)
    tier = _blank_to_none(fields.value_tier)
    tier = None if tier is None else tier.lower()
    if fields.language not in LANGUAGES:
        problems.append(Problem("language", f"{fields.language!r} is not one of {', '.join(LANGUAGES)}"))
    if tier is not None and tier not in VALUE_TIERS:
        problems.append(Problem("value_tier", f"{tier!r} is not one of {', '.join(VALUE_TIERS)}"))
    if fields.lifetime_value_minor < 0:
        problems.append(Problem("lifetime_value", "must not be negative"))
    cleaned = replace(
        fields,
        name=" ".join(fields.name.split()),
        phones=tuple(phones),
        email=email,
        address=_blank_to_none(fields.address),
        city=_blank_to_none(fields.city),
        region=None if region is None else region.lower(),
        country=country,
        segment=None if segment is None else segment.lower(),
        value_tier=tier,
    )
    problems.extend(_too_long(cleaned))
    return cleaned, tuple(problems)


def _too_long(fields: CustomerFields) -> Iterable[Problem]:
    # SQLite ignores VARCHAR lengths: refuse here what PostgreSQL would refuse.
    for name, limit in MAX_LENGTHS.items():
        value = getattr(fields, name)
        if isinstance(value, str) and len(value) > limit:
            yield Problem(name, f"longer than {limit} characters")


def customer_id_problems(customer_id: str | None) -> tuple[Problem, ...]:
    """What is wrong with a customer number someone chose (``None``: the store picks the next one)."""
    if customer_id is not None and CUSTOMER_ID.fullmatch(customer_id) is None:
        return (Problem("customer_id", f"not 4 to 16 digits: {customer_id!r}"),)
    return ()


def fields_for_caller(caller_number: str, *, default_country: str = "ID") -> CustomerFields:
    """The record an agent fills in for an unknown caller: their number, and the region and country the number
    tells (fixed lines only have a region); nothing for a number that is not one."""
    geography = locate(caller_number, default_country=default_country)
    if geography.e164 is None:
        return CustomerFields()
    return CustomerFields(phones=(geography.e164,), region=geography.region, country=geography.country)


def contact_problems(contact: NewContact) -> tuple[Problem, ...]:
    problems: list[Problem] = []
    if contact.channel not in CHANNELS:
        problems.append(Problem("channel", f"{contact.channel!r} is not one of {', '.join(CHANNELS)}"))
    if contact.follow_up_reply not in (None, *FOLLOW_UP_REPLIES):
        problems.append(Problem("follow_up_reply", f"{contact.follow_up_reply!r} is not one of "
                                                   f"{', '.join(FOLLOW_UP_REPLIES)}"))
    if contact.language is not None and contact.language not in LANGUAGES:
        problems.append(Problem("language", f"{contact.language!r} is not one of {', '.join(LANGUAGES)}"))
    for name in ("at", "follow_up_at"):
        if not _aware(getattr(contact, name)):
            problems.append(Problem(name, "naive datetime refused: use an aware UTC datetime"))
    # SQLite ignores VARCHAR lengths: refuse here what PostgreSQL would refuse.
    for name, limit in CONTACT_LENGTHS.items():
        value = getattr(contact, name)
        if value is not None and len(value) > limit:
            problems.append(Problem(name, f"longer than {limit} characters"))
    return tuple(problems)


def _aware(value: datetime | None) -> bool:
    return value is None or value.utcoffset() is not None
