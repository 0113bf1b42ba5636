"""Caller-number normalization and geography: every carrier format, the Indonesian plan, time zones, properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cti.geography import _AREA_CODES, Geography, locate, normalize_e164, timezone_for_region

UNKNOWN = Geography(None, None, None, None, "unknown")
JAKARTA = Geography("+62215550123", "ID", "jakarta", "21", "fixed")


@pytest.mark.parametrize(
    "number",
    [
        "0215550123",
        "+62 21 555 0123",
        "62215550123",
        "(021) 555-0123",
        "021.555.0123",
        "0062 21 5550123",
        "+62 (0)21 555 0123",
        "  +62-21-5550123\t",
    ],
)
def test_jakarta_fixed_line_in_every_notation(number: str) -> None:
    assert normalize_e164(number) == "+62215550123"
    assert locate(number) == JAKARTA


@pytest.mark.parametrize("number", ["0313456789", "+62 31 345 6789", "62313456789", "(031) 345-6789", "0062313456789"])
def test_surabaya_fixed_line_in_several_notations(number: str) -> None:
    assert locate(number) == Geography("+62313456789", "ID", "surabaya", "31", "fixed")


@pytest.mark.parametrize("number", ["081234567890", "+6281234567890", "0812-3456-7890", "6281234567890"])
def test_mobile_has_no_geography(number: str) -> None:
    assert locate(number) == Geography("+6281234567890", "ID", None, None, "mobile")


@pytest.mark.parametrize(
    ("number", "e164", "region", "area"),
    [
        ("0224201234", "+62224201234", "bandung", "22"),
        ("0248311234", "+62248311234", "semarang", "24"),
        ("0614511234", "+62614511234", "medan", "61"),
        ("0361234567", "+62361234567", "denpasar", "361"),
        ("0411 456789", "+62411456789", "makassar", "411"),
        ("0274 512345", "+62274512345", "yogyakarta", "274"),
        ("0711 351234", "+62711351234", "palembang", "711"),
        ("0251 8312345", "+622518312345", "bogor", "251"),
        ("0967 531234", "+62967531234", "jayapura", "967"),
        ("0778 461234", "+62778461234", "batam", "778"),
    ],
)
def test_indonesian_area_codes(number: str, e164: str, region: str, area: str) -> None:
    assert locate(number) == Geography(e164, "ID", region, area, "fixed")


def test_three_digit_code_wins_over_two_digit_lookalike() -> None:
    # Denpasar 0361 vs a Surabaya (031) number whose subscriber part starts with 61: "0316..." is still Surabaya.
    assert locate("0361 234567").region == "denpasar"
    assert locate("0361 234567").area_code == "361"
    assert locate("031 6123456").region == "surabaya"
    assert locate("031 6123456").area_code == "31"
    # Medan 061 vs Padang 0751 / Pekanbaru 0761: the trailing "61"/"51" must not match a 2-digit code.
    assert locate("0761 123456").region == "pekanbaru"
    assert locate("0751 123456").region == "padang"


def test_fixed_line_with_area_code_missing_from_table() -> None:
    assert locate("0299 123456") == Geography("+62299123456", "ID", None, None, "fixed")


def test_non_geographic_indonesian_ranges() -> None:
    assert locate("0800 1 234567") == Geography("+628001234567", "ID", None, None, "unknown")


@pytest.mark.parametrize(
    ("number", "geography"),
    [
        ("+6591234567", Geography("+6591234567", "SG", None, None, "foreign")),
        ("0065 9123 4567", Geography("+6591234567", "SG", None, None, "foreign")),
        ("+60312345678", Geography("+60312345678", "MY", None, None, "foreign")),
        ("+1 (415) 555-0123", Geography("+14155550123", "US", None, None, "foreign")),
        ("+14155550123", Geography("+14155550123", "US", None, None, "foreign")),
        ("+442071234567", Geography("+442071234567", "GB", None, None, "foreign")),
        ("+61291234567", Geography("+61291234567", "AU", None, None, "foreign")),
        ("+85221234567", Geography("+85221234567", "HK", None, None, "foreign")),
        ("+6737123456", Geography("+6737123456", "BN", None, None, "foreign")),
        ("+67077123456", Geography("+67077123456", "TL", None, None, "foreign")),
        ("+971501234567", Geography("+971501234567", "AE", None, None, "foreign")),
        ("+2112345678", Geography("+2112345678", None, None, None, "foreign")),
    ],
)
def test_foreign_numbers(number: str, geography: Geography) -> None:
    assert locate(number) == geography


@pytest.mark.parametrize(
    "number",
    [
        "anonymous",
        "Anonymous",
        "",
        "   ",
        "restricted",
        "unknown",
        "1500100",
        "14045",
        "112",
        "<script>",
        "+",
        "++62215550123",
        "0",
        "00",
        "+0215550123",
        "+62 21 555",
        "+1234567890123456",
        "6591234567",
        "81234567890",
        "021 555 0123 ext 5",
        "+62 00 21 5550123",
        "٠٢١٥٥٥٠١٢٣",  # Arabic-Indic digits
        "sip:0215550123@carrier",
    ],
)
def test_unusable_numbers(number: str) -> None:
    assert normalize_e164(number) is None
    assert locate(number) == UNKNOWN


def test_length_limits() -> None:
    assert normalize_e164("+123456789012345") == "+123456789012345"
    assert normalize_e164("+1234567890123456") is None
    assert normalize_e164("+6512345") is None
    assert normalize_e164("+65123456") == "+65123456"


def test_bare_country_code_needs_ten_digits() -> None:
    assert normalize_e164("6221555012") == "+6221555012"
    assert normalize_e164("622155501") is None


def test_default_country_changes_national_reading() -> None:
    assert normalize_e164("0312345678", default_country="MY") == "+60312345678"
    assert normalize_e164("6591234567", default_country="SG") == "+6591234567"
    assert normalize_e164("091234567", default_country="SG") is None  # Singapore has no trunk prefix
    assert locate("0312345678", default_country="MY").country == "MY"


def test_unsupported_default_country_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="XX"):
        normalize_e164("0215550123", default_country="XX")


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("jakarta", "Asia/Jakarta"),
        ("bandung", "Asia/Jakarta"),
        ("surabaya", "Asia/Jakarta"),
        ("medan", "Asia/Jakarta"),
        ("pontianak", "Asia/Jakarta"),
        ("denpasar", "Asia/Makassar"),
        ("makassar", "Asia/Makassar"),
        ("balikpapan", "Asia/Makassar"),
        ("kupang", "Asia/Makassar"),
        ("jayapura", "Asia/Jayapura"),
        ("ambon", "Asia/Jayapura"),
    ],
)
def test_timezone_for_region(region: str, zone: str) -> None:
    assert timezone_for_region(region) == zone


def test_timezone_for_unknown_region() -> None:
    with pytest.raises(KeyError):
        timezone_for_region("atlantis")


BRIEF_AREA_CODES = (
    "21 22 24 31 61 361 411 274 711 341 751 761 511 561 431 370 380 542 541 721 778 967 911 254 251 231 271 281"
)


@pytest.mark.parametrize("area", BRIEF_AREA_CODES.split())
def test_every_located_region_has_a_timezone(area: str) -> None:
    geography = locate(f"0{area}1234567")
    assert geography.area_code == area
    assert geography.region is not None
    assert timezone_for_region(geography.region).startswith("Asia/")


def test_area_code_table_is_prefix_free() -> None:
    # Longest-prefix matching is only safe if no code extends another (else "021 1..." could read as "211").
    codes = set(_AREA_CODES)
    assert not [(a, b) for a in codes for b in codes if a != b and b.startswith(a)]


DIALLED = st.from_regex(r"[+0-9 ()\-.]{0,20}", fullmatch=True)


@given(st.one_of(st.text(), DIALLED))
def test_never_raises_and_normalization_is_idempotent(number: str) -> None:
    e164 = normalize_e164(number)
    geography = locate(number)
    assert geography.e164 == e164
    if e164 is None:
        assert geography == UNKNOWN
    else:
        assert normalize_e164(e164) == e164
        assert locate(e164) == geography
        assert e164.startswith("+") and e164[1:].isascii() and e164[1:].isdigit()
        assert 8 <= len(e164) - 1 <= 15
        assert geography.kind != "unknown" or geography.country == "ID"
        assert (geography.region is None) == (geography.area_code is None)
