"""May we call this customer now: allowed numbers, do-not-call, consent, and calling hours in each of Indonesia's
three time zones, at each edge."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from cti.acd import (
    CallingHours,
    Contact,
    ContactPolicy,
    ContactRefusal,
    ContactRules,
    local_time,
    next_calling_time,
    zone_of,
)
from cti.settings import DEFAULT_CALLBACK_NUMBERS

HOURS = CallingHours.parse("08:00-20:00")
POLICY = ContactPolicy(ContactRules(numbers=DEFAULT_CALLBACK_NUMBERS, hours=HOURS, default_zone="WIB"))


def utc(hour: int, minute: int = 0, day: int = 7) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


def ok(number: str = "+62215550123", region: str | None = "jakarta", **changes: bool) -> Contact:
    return Contact(number=number, consent=changes.get("consent", True),
                   do_not_call=changes.get("do_not_call", False), region=region)


def test_the_hours_parse_and_refuse_nonsense() -> None:
    assert (HOURS.start, HOURS.end) == (time(8), time(20))
    assert str(CallingHours.parse("00:00-24:00")) == "00:00-24:00"
    for bad in ("8-20", "20:00-08:00", "08:00-08:00", "08:00-24:30", "25:00-26:00"):
        with pytest.raises(ValueError):
            CallingHours.parse(bad)


@pytest.mark.parametrize(("region", "number", "zone"), [
    ("jakarta", None, "WIB"), ("medan", None, "WIB"), ("pontianak", None, "WIB"),
    ("denpasar", None, "WITA"), ("makassar", None, "WITA"), ("balikpapan", None, "WITA"),
    ("jayapura", None, "WIT"), ("ambon", None, "WIT"),
    (None, "+62361222333", "WITA"),  # no region: a Denpasar fixed line's area code tells
    (None, "+62967123456", "WIT"),
    ("atlantis", "+6281234567890", "WIB"),  # an unknown region and a mobile: the default
    (None, None, "WIB"),
])
def test_the_zone_comes_from_the_region_then_the_area_code_then_the_default(
        region: str | None, number: str | None, zone: str) -> None:
    assert zone_of(region, number, "WIB") == zone


def test_an_unknown_zone_uses_the_services_default() -> None:
    assert zone_of(None, "+6281234567890", "WITA") == "WITA"
    with pytest.raises(ValueError):
        ContactPolicy(ContactRules(numbers=(), hours=HOURS, default_zone="CET"))


# 08:00 local is 01:00 UTC in WIB, 00:00 UTC in WITA, 23:00 UTC the day before in WIT; 20:00 local is 13:00,
# 12:00 and 11:00 UTC.
@pytest.mark.parametrize(("region", "opens", "closes"), [
    ("jakarta", utc(1), utc(13)),
    ("denpasar", utc(0), utc(12)),
    ("jayapura", utc(23, day=6), utc(11)),
])
def test_calling_hours_in_each_zone_at_each_edge(region: str, opens: datetime, closes: datetime) -> None:
    second = timedelta(seconds=1)
    assert POLICY.decide(ok(region=region), opens).allowed  # 08:00:00 local: open
    assert POLICY.decide(ok(region=region), closes - second).allowed  # 19:59:59: still open
    early = POLICY.decide(ok(region=region), opens - second)  # 07:59:59: not yet
    assert early.refusal is ContactRefusal.OUTSIDE_HOURS
    assert early.next_allowed == opens
    late = POLICY.decide(ok(region=region), closes)  # 20:00:00: closed until tomorrow's 08:00
    assert late.refusal is ContactRefusal.OUTSIDE_HOURS
    assert late.next_allowed == opens + timedelta(days=1)
    assert late.local.hour == 20 and late.zone == zone_of(region, None, "WIB")


def test_the_same_moment_is_open_in_one_zone_and_closed_in_another() -> None:
    moment = utc(23, 30, day=6)  # 06:30 WIB, 07:30 WITA, 08:30 WIT
    assert POLICY.decide(ok(region="jayapura"), moment).allowed
    assert not POLICY.decide(ok(region="denpasar"), moment).allowed
    assert local_time(moment, "WIT").strftime("%H:%M") == "08:30"


def test_next_calling_time_is_now_inside_the_hours() -> None:
    assert next_calling_time(utc(5), "WIB", HOURS) == utc(5)


def test_refusals_in_order_number_do_not_call_consent_hours() -> None:
    night = utc(16)  # 23:00 WIB
    foreign = POLICY.decide(ok("+6591234567", do_not_call=True, consent=False), night)
    assert foreign.refusal is ContactRefusal.NUMBER_NOT_ALLOWED
    assert POLICY.decide(ok("0809123456"), utc(5)).refusal is ContactRefusal.NUMBER_NOT_ALLOWED  # premium
    assert POLICY.decide(ok("anonymous"), utc(5)).refusal is ContactRefusal.NUMBER_NOT_ALLOWED
    assert POLICY.decide(ok(do_not_call=True, consent=False), night).refusal is ContactRefusal.DO_NOT_CALL
    assert POLICY.decide(ok(consent=False), night).refusal is ContactRefusal.NO_CONSENT
    assert POLICY.decide(ok(), night).refusal is ContactRefusal.OUTSIDE_HOURS
    decision = POLICY.decide(ok("021-555-0123"), utc(5))
    assert decision.allowed and decision.e164 == "+62215550123"


def test_allowed_numbers_match_the_national_form_as_callbacks_do() -> None:
    assert POLICY.allows_number("+62215550123") and POLICY.allows_number("0215550123")
    assert not POLICY.allows_number("+6591234567")
    national_only = ContactPolicy(ContactRules(numbers=(r"021[0-9]+",), hours=HOURS))
    assert national_only.allows_number("+62215550123")
    assert not national_only.allows_number("+62315550123")
