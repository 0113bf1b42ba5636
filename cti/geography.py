"""Caller-number normalization and geography lookup for geographic routing.

Carriers send caller numbers in every shape ("(021) 555-0123", "0062 21 5550123", "62215550123", "anonymous").
:func:`normalize_e164` turns them into E.164 ("+62215550123") or ``None``; :func:`locate` adds what the ACD routes
on: country, and for Indonesian fixed lines the area code, a cti region and (via :func:`timezone_for_region`) the
region's time zone. Pure: no I/O, no clock.

Reading rules, after dropping spaces, dashes, dots and parentheses:

* ``+CC...`` and ``00CC...`` are international.
* ``0...`` is national with trunk prefix 0 in ``default_country`` (for "ID": ``0215550123`` -> ``+62215550123``).
* Bare digits are international only if they start with ``default_country``'s calling code and have at least 10
  digits ("62215550123"). Indonesian subscriber numbers dialled without an area code have at most 8 digits, so this
  cannot swallow a local number; anything else bare (service numbers like "1500100", "14045") is rejected.
* The result must have 8 to 15 digits (E.164 allows 15; shorter ones are service or truncated numbers).
* "+62 (0)21 ..." is common in print, so a single 0 right after +62 is dropped; Indonesian national numbers never
  start with 0.

Only the Indonesian numbering plan is analysed: a +62 number is "fixed" or "mobile" (or "unknown" for non-geographic
ranges such as 0800 toll-free), everything else is "foreign". ``default_country`` only changes how national-format
input is read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["Geography", "Kind", "locate", "normalize_e164", "timezone_for_region"]

Kind = Literal["fixed", "mobile", "foreign", "unknown"]


@dataclass(frozen=True, slots=True)
class Geography:
    """Where a caller number is from. ``e164`` is None when the number is unusable."""

    e164: str | None
    country: str | None
    region: str | None
    area_code: str | None
    kind: Kind


_UNKNOWN = Geography(None, None, None, None, "unknown")

_MIN_DIGITS = 8
_MAX_DIGITS = 15
_MIN_BARE_INTERNATIONAL = 10

_WIB = "Asia/Jakarta"
_WITA = "Asia/Makassar"
_WIT = "Asia/Jayapura"

# Indonesian fixed-line area code -> (cti region, IANA zone). The plan is prefix-free (no 3-digit code starts with a
# 2-digit one), which is what makes longest-prefix matching safe. 21 also serves Depok, Tangerang and Bekasi, and
# parts of Bogor regency; Bogor city has its own 251.
_AREA_CODES: dict[str, tuple[str, str]] = {
    # Java and Banten (WIB)
    "21": ("jakarta", _WIB),
    "22": ("bandung", _WIB),
    "24": ("semarang", _WIB),
    "31": ("surabaya", _WIB),
    "231": ("cirebon", _WIB),
    "251": ("bogor", _WIB),
    "254": ("serang", _WIB),
    "265": ("tasikmalaya", _WIB),
    "266": ("sukabumi", _WIB),
    "267": ("karawang", _WIB),
    "271": ("surakarta", _WIB),
    "274": ("yogyakarta", _WIB),
    "281": ("purwokerto", _WIB),
    "283": ("tegal", _WIB),
    "285": ("pekalongan", _WIB),
    "291": ("kudus", _WIB),
    "293": ("magelang", _WIB),
    "298": ("salatiga", _WIB),
    "321": ("mojokerto", _WIB),
    "331": ("jember", _WIB),
    "333": ("banyuwangi", _WIB),
    "335": ("probolinggo", _WIB),
    "341": ("malang", _WIB),
    "342": ("blitar", _WIB),
    "351": ("madiun", _WIB),
    "354": ("kediri", _WIB),
    # Sumatra and Riau Islands (WIB)
    "61": ("medan", _WIB),
    "622": ("pematangsiantar", _WIB),
    "631": ("sibolga", _WIB),
    "645": ("lhokseumawe", _WIB),
    "651": ("banda_aceh", _WIB),
    "711": ("palembang", _WIB),
    "717": ("pangkal_pinang", _WIB),
    "721": ("bandar_lampung", _WIB),
    "736": ("bengkulu", _WIB),
    "741": ("jambi", _WIB),
    "751": ("padang", _WIB),
    "752": ("bukittinggi", _WIB),
    "761": ("pekanbaru", _WIB),
    "765": ("dumai", _WIB),
    "771": ("tanjung_pinang", _WIB),
    "778": ("batam", _WIB),
    # West and Central Kalimantan (WIB)
    "536": ("palangkaraya", _WIB),
    "561": ("pontianak", _WIB),
    "562": ("singkawang", _WIB),
    # South, East and North Kalimantan (WITA)
    "511": ("banjarmasin", _WITA),
    "541": ("samarinda", _WITA),
    "542": ("balikpapan", _WITA),
    "551": ("tarakan", _WITA),
    # Bali, NTB, NTT (WITA)
    "361": ("denpasar", _WITA),
    "362": ("singaraja", _WITA),
    "370": ("mataram", _WITA),
    "374": ("bima", _WITA),
    "380": ("kupang", _WITA),
    # Sulawesi (WITA)
    "401": ("kendari", _WITA),
    "411": ("makassar", _WITA),
    "421": ("parepare", _WITA),
    "426": ("mamuju", _WITA),
    "431": ("manado", _WITA),
    "435": ("gorontalo", _WITA),
    "451": ("palu", _WITA),
    # Maluku and Papua (WIT)
    "901": ("timika", _WIT),
    "911": ("ambon", _WIT),
    "921": ("ternate", _WIT),
    "951": ("sorong", _WIT),
    "967": ("jayapura", _WIT),
    "971": ("merauke", _WIT),
    "981": ("biak", _WIT),
    "986": ("manokwari", _WIT),
}

_REGION_TIMEZONES: dict[str, str] = {region: tz for region, tz in _AREA_CODES.values()}

# Country calling code -> ISO 3166-1 alpha-2. ITU codes are prefix-free, so longest-prefix finds the only match.
# +1 is the whole NANP; the ACD treats it as "US".
_COUNTRY_BY_CODE: dict[str, str] = {
    "1": "US",
    "7": "RU",
    "20": "EG",
    "27": "ZA",
    "31": "NL",
    "33": "FR",
    "34": "ES",
    "44": "GB",
    "49": "DE",
    "60": "MY",
    "61": "AU",
    "62": "ID",
    "63": "PH",
    "64": "NZ",
    "65": "SG",
    "66": "TH",
    "81": "JP",
    "82": "KR",
    "84": "VN",
    "86": "CN",
    "90": "TR",
    "91": "IN",
    "92": "PK",
    "95": "MM",
    "670": "TL",
    "673": "BN",
    "852": "HK",
    "853": "MO",
    "855": "KH",
    "856": "LA",
    "880": "BD",
    "886": "TW",
    "965": "KW",
    "966": "SA",
    "968": "OM",
    "971": "AE",
    "973": "BH",
    "974": "QA",
}
_CODE_BY_COUNTRY: dict[str, str] = {country: code for code, country in _COUNTRY_BY_CODE.items()}

# Countries where national numbers are dialled with a leading trunk 0 that E.164 drops. Others either have no trunk
# prefix (SG, HK, ...), use another one (US 1, RU 8), or keep the 0 in the number, so a leading 0 is not read there.
_TRUNK_ZERO = frozenset(
    {"ID", "EG", "ZA", "NL", "FR", "GB", "DE", "MY", "AU", "PH", "NZ", "TH", "JP", "KR", "VN", "CN", "TR", "IN",
     "PK", "MM", "KH", "LA", "BD", "TW", "SA", "AE"}
)  # fmt: skip

_SEPARATORS = re.compile(r"[\s\-.()]")
_DIALLED = re.compile(r"\+?[0-9]+")  # ASCII digits only: str.isdigit() would accept "²" and other scripts' digits


def normalize_e164(number: str, *, default_country: str = "ID") -> str | None:
    """``number`` as E.164 ("+62215550123"), or None if it is anonymous, a service number or garbage.

    Raises ValueError for a ``default_country`` this module has no calling code for (a configuration error).
    """
    national_code = _CODE_BY_COUNTRY.get(default_country)
    if national_code is None:
        raise ValueError(f"unsupported default country: {default_country!r}")
    dialled = _SEPARATORS.sub("", number)
    if _DIALLED.fullmatch(dialled) is None:
        return None
    if dialled.startswith("+"):
        return _finish(dialled[1:])
    if dialled.startswith("00"):
        return _finish(dialled[2:])
    if dialled.startswith("0"):
        return _finish(national_code + dialled[1:]) if default_country in _TRUNK_ZERO else None
    if dialled.startswith(national_code) and len(dialled) >= _MIN_BARE_INTERNATIONAL:
        return _finish(dialled)
    return None


def _finish(digits: str) -> str | None:
    """Validate international digits (no "+") and return them as E.164; a fixed point for its own output."""
    if digits.startswith("0"):  # no country code starts with 0
        return None
    if digits.startswith("620"):
        digits = "62" + digits[3:]
        if digits.startswith("620"):
            return None
    if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
        return None
    return "+" + digits


def locate(number: str, *, default_country: str = "ID") -> Geography:
    """Country, line kind and (for Indonesian fixed lines) area code and region of a caller number."""
    e164 = normalize_e164(number, default_country=default_country)
    if e164 is None:
        return _UNKNOWN
    digits = e164[1:]
    if digits.startswith("62"):
        return _locate_indonesian(e164, digits[2:])
    return Geography(e164, _longest_prefix(digits, _COUNTRY_BY_CODE), None, None, "foreign")


def _locate_indonesian(e164: str, national: str) -> Geography:
    if national.startswith("8"):
        # 08xx is mobile except 080x: 0800 toll-free, 0804 universal access, 0809 premium -- not a caller's location.
        if national.startswith("80"):
            return Geography(e164, "ID", None, None, "unknown")
        return Geography(e164, "ID", None, None, "mobile")
    if national.startswith("1"):  # service and special numbers, not geographic
        return Geography(e164, "ID", None, None, "unknown")
    # Every other leading digit (2-7, 9) is a geographic area; one missing from our table is still a fixed line.
    for length in (3, 2):
        area = national[:length]
        if area in _AREA_CODES:
            return Geography(e164, "ID", _AREA_CODES[area][0], area, "fixed")
    return Geography(e164, "ID", None, None, "fixed")


def _longest_prefix(digits: str, table: dict[str, str]) -> str | None:
    for length in (3, 2, 1):
        found = table.get(digits[:length])
        if found is not None:
            return found
    return None


def timezone_for_region(region: str) -> str:
    """IANA time zone of a cti region ("denpasar" -> "Asia/Makassar"); KeyError for an unknown region."""
    return _REGION_TIMEZONES[region]
