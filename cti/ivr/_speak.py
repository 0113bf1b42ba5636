"""Numbers, money, dates, times and reference numbers as words, in Indonesian and English, for TTS prompts.

Pure: values in, text out. Indonesian follows the standard reading (KBBI): *se-* for one of ten, hundred and
thousand (sepuluh, sebelas, seratus, seribu) but *satu* before juta, miliar and triliun; English is American
style without "and" ("one hundred one"), years in pairs ("twenty twenty-six"). Order and customer numbers are read
digit by digit, letters by name, separators as a short pause (a comma).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, cast

from cti.types import Language

__all__ = [
    "Currency",
    "SpeakVerbalizer",
    "cardinal",
    "date",
    "decimal_number",
    "digits",
    "money",
    "ordinal",
    "parse_money",
    "say_money",
    "time_of_day",
]

Currency = Literal["IDR", "USD"]

MAX_NUMBER = 10**15 - 1

_ID_UNITS = ("nol", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan")
_ID_SCALES = ((10**12, "triliun"), (10**9, "miliar"), (10**6, "juta"), (10**3, "ribu"))

_EN_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
             "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_EN_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                     "nine": "ninth", "twelve": "twelfth"}

_ID_MONTHS = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus", "September", "Oktober",
              "November", "Desember")
_EN_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")

_ID_LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz",
                       ("a", "be", "ce", "de", "e", "ef", "ge", "ha", "i", "je", "ka", "el", "em", "en", "o", "pe",
                        "ki", "er", "es", "te", "u", "ve", "we", "eks", "ye", "zet"), strict=True))
_EN_LETTERS = dict(zip("abcdefghijklmnopqrstuvwxyz",
                       ("ay", "bee", "see", "dee", "ee", "ef", "jee", "aitch", "eye", "jay", "kay", "el", "em", "en",
                        "oh", "pee", "cue", "ar", "ess", "tee", "you", "vee", "double you", "ex", "why", "zee"),
                       strict=True))

_ZONES = {
    "WIB": ("waktu Indonesia barat", "Western Indonesia Time"),
    "WITA": ("waktu Indonesia tengah", "Central Indonesia Time"),
    "WIT": ("waktu Indonesia timur", "Eastern Indonesia Time"),
}


def _id_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds == 1:
        words.append("seratus")
    elif hundreds:
        words += [_ID_UNITS[hundreds], "ratus"]
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words += [_ID_UNITS[rest - 10], "belas"]
    elif rest >= 20:
        tens, units = divmod(rest, 10)
        words += [_ID_UNITS[tens], "puluh"] + ([_ID_UNITS[units]] if units else [])
    elif rest:
        words.append(_ID_UNITS[rest])
    return words


def _en_below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_UNITS[hundreds], "hundred"]
    if rest >= 20:
        tens, units = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_UNITS[units]}" if units else ""))
    elif rest:
        words.append(_EN_UNITS[rest])
    return words


def cardinal(n: int, language: Language) -> str:
    """A whole number in words (|n| < 10^15): ``1250000`` -> "satu juta dua ratus lima puluh ribu"."""
    if abs(n) > MAX_NUMBER:
        raise ValueError(f"{n} is too large to read out (limit {MAX_NUMBER})")
    if n < 0:
        return "minus " + cardinal(-n, language)
    if n == 0:
        return "nol" if language == "id" else "zero"
    words: list[str] = []
    scales = _ID_SCALES if language == "id" else _EN_SCALES
    below = _id_below_thousand if language == "id" else _en_below_thousand
    for size, name in scales:
        count, n = divmod(n, size)
        if count == 1 and name == "ribu":
            words.append("seribu")
        elif count:
            words += [*below(count), name]
    words += below(n)
    return " ".join(words)


def ordinal(n: int, language: Language) -> str:
    """An ordinal (n >= 1): "pertama", "kedua puluh satu"; "first", "twenty-second"."""
    if n < 1:
        raise ValueError(f"no ordinal for {n}")
    if language == "id":
        return "pertama" if n == 1 else "ke" + cardinal(n, "id")
    words = cardinal(n, "en")
    head, sep, last = words.rpartition(" ")
    stem, hyphen, unit = last.rpartition("-")
    if unit in _EN_ORDINAL_WORDS:
        unit = _EN_ORDINAL_WORDS[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    return f"{head}{sep}{stem}{hyphen}{unit}"


def decimal_number(value: Decimal | int | str, language: Language) -> str:
    """A decimal number, fraction digit by digit: "tiga koma satu empat", "three point one four"."""
    number = _decimal(value)
    sign = "minus " if number < 0 else ""
    text = format(abs(number), "f")
    whole, _, fraction = text.partition(".")
    words = cardinal(int(whole), language)
    if fraction:
        point = "koma" if language == "id" else "point"
        words += f" {point} " + " ".join(_digit(int(d), language) for d in fraction)
    return sign + words


def _decimal(value: Decimal | int | str) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return number


def _digit(d: int, language: Language) -> str:
    return _ID_UNITS[d] if language == "id" else _EN_UNITS[d]


def money(amount: Decimal | int | str, currency: Currency, language: Language) -> str:
    """An amount of rupiah or US dollars, rounded to cents: "dua belas dolar lima puluh sen"."""
    number = _decimal(amount).quantize(Decimal("0.01"))
    sign = "minus " if number < 0 else ""
    cents_total = int(abs(number) * 100)
    whole, cents = divmod(cents_total, 100)
    if language == "id":
        unit, minor = ("rupiah", "sen") if currency == "IDR" else ("dolar", "sen")
        main = f"{cardinal(whole, 'id')} {unit}"
        if not cents:
            return sign + main
        return sign + (f"{main} {cardinal(cents, 'id')} {minor}" if whole else f"{cardinal(cents, 'id')} {minor}")
    if currency == "IDR":
        main = f"{cardinal(whole, 'en')} rupiah"
        minor_words = f"{cardinal(cents, 'en')} sen"
    else:
        main = f"{cardinal(whole, 'en')} {'dollar' if whole == 1 else 'dollars'}"
        minor_words = f"{cardinal(cents, 'en')} {'cent' if cents == 1 else 'cents'}"
    if not cents:
        return sign + main
    return sign + (f"{main} and {minor_words}" if whole else minor_words)


_MONEY = re.compile(r"^\s*(?P<neg>-)?\s*(?P<cur>rp\.?|idr|us\$|usd|\$)\s*(?P<neg2>-)?\s*(?P<num>[0-9][0-9.,]*)\s*"
                    r"(?P<cur2>idr|usd|rupiah|dollars?)?\s*$", re.IGNORECASE)
_SUFFIX_ONLY = re.compile(r"^\s*(?P<neg>-)?\s*(?P<num>[0-9][0-9.,]*)\s*(?P<cur>idr|usd|rupiah|dollars?)\s*$",
                          re.IGNORECASE)


def parse_money(text: str) -> tuple[Decimal, Currency]:
    """Parse "Rp 1.250.000", "Rp1.250.000,50", "IDR 1,250,000", "$12.50", "USD 1,250.00", "15000 rupiah".

    Either convention is accepted: with both separators the last one is the decimal separator; a lone separator
    followed by exactly three digits (or repeated) groups thousands, otherwise it is the decimal separator. So
    "Rp 1.250.000", "IDR 1,250,000" and "Rp 1,500" are whole rupiah, "$12.50" and "Rp 12,50" have cents.
    """
    match = _MONEY.match(text) or _SUFFIX_ONLY.match(text)
    if match is None:
        raise ValueError(f"not an amount of money: {text!r}")
    cur = match.group("cur").lower().rstrip(".")
    currency: Currency = "IDR" if cur in ("rp", "idr", "rupiah") else "USD"
    suffix = (match.groupdict().get("cur2") or "").lower()
    if suffix:
        currency = "IDR" if suffix in ("idr", "rupiah") else "USD"
    negative = bool(match.group("neg") or match.groupdict().get("neg2"))
    value = _parse_amount(match.group("num"))
    return (-value if negative else value), currency


def _parse_amount(num: str) -> Decimal:
    if "." in num and "," in num:
        decimal_sep = "." if num.rfind(".") > num.rfind(",") else ","
    elif "." in num or "," in num:
        sep = "." if "." in num else ","
        groups = num.split(sep)
        thousands = len(groups) > 2 or (1 <= len(groups[0]) <= 3 and len(groups[1]) == 3)
        decimal_sep = ("," if sep == "." else ".") if thousands else sep
    else:
        decimal_sep = "."
    thousands_sep = "," if decimal_sep == "." else "."
    whole, _, fraction = num.partition(decimal_sep)
    groups = whole.split(thousands_sep)
    if thousands_sep in whole and (not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:])):
        raise ValueError(f"bad digit grouping in {num!r}")
    if decimal_sep in fraction or thousands_sep in fraction or (not fraction and num.endswith(decimal_sep)):
        raise ValueError(f"bad amount {num!r}")
    return Decimal("".join(groups) + ("." + fraction if fraction else ""))


def say_money(text: str, language: Language) -> str:
    """:func:`parse_money` then :func:`money`: "Rp 1.250.000" -> "satu juta dua ratus lima puluh ribu rupiah"."""
    amount, currency = parse_money(text)
    return money(amount, currency, language)


def _year_en(year: int) -> str:
    if 2000 <= year <= 2009 or year < 1000 or year % 1000 == 0:
        return cardinal(year, "en")
    high, low = divmod(year, 100)
    if low == 0:
        return f"{cardinal(high, 'en')} hundred"
    return f"{cardinal(high, 'en')} {'oh ' if low < 10 else ''}{cardinal(low, 'en')}"


def date(day: dt.date, language: Language, *, weekday: bool = False) -> str:
    """"dua puluh dua November dua ribu dua puluh enam"; "November twenty-second, twenty twenty-six"."""
    if language == "id":
        names = ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu")
        text = f"{cardinal(day.day, 'id')} {_ID_MONTHS[day.month - 1]} {cardinal(day.year, 'id')}"
        return f"{names[day.weekday()]}, {text}" if weekday else text
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    text = f"{_EN_MONTHS[day.month - 1]} {ordinal(day.day, 'en')}, {_year_en(day.year)}"
    return f"{names[day.weekday()]}, {text}" if weekday else text


def time_of_day(moment: dt.time, language: Language, *, zone: str | None = None) -> str:
    """Indonesian 24-hour ("pukul empat belas lewat tiga puluh menit"), English 12-hour ("two thirty p.m.").

    ``zone`` is WIB, WITA or WIT, read out in full.
    """
    hour, minute = moment.hour, moment.minute
    if zone is not None and zone.upper() not in _ZONES:
        raise ValueError(f"unknown zone {zone!r} (WIB, WITA or WIT)")
    zone_words = _ZONES[zone.upper()][0 if language == "id" else 1] if zone else ""
    if language == "id":
        text = f"pukul {cardinal(hour, 'id')}"
        if minute:
            text += f" lewat {cardinal(minute, 'id')} menit"
    else:
        if minute == 0 and hour in (0, 12):
            text = "twelve midnight" if hour == 0 else "twelve noon"
        else:
            twelve = hour % 12 or 12
            text = cardinal(twelve, "en")
            if minute:
                text += f" {'oh ' if minute < 10 else ''}{cardinal(minute, 'en')}"
            text += " a.m." if hour < 12 else " p.m."
    return f"{text} {zone_words}" if zone_words else text


def digits(reference: str, language: Language) -> str:
    """A reference read one character at a time: "ORD-0042" -> "oh ar dee, zero zero four two".

    Letters are read by name, digits one by one, and each run of other characters (dash, slash, space) becomes a
    comma, which the synthesizer reads as a short pause.
    """
    letters = _ID_LETTERS if language == "id" else _EN_LETTERS
    groups: list[list[str]] = [[]]
    for ch in reference.strip().lower():
        if ch.isdigit() and ch.isascii():
            groups[-1].append(_digit(int(ch), language))
        elif ch in letters:
            groups[-1].append(letters[ch])
        elif groups[-1]:
            groups.append([])
    words = [" ".join(group) for group in groups if group]
    if not words:
        raise ValueError(f"nothing to read in {reference!r}")
    return ", ".join(words)


class SpeakVerbalizer:
    """The :class:`~cti.ivr._template.Verbalizer` the IVR's answers are said with: numbers, money, dates and digit
    strings in words, in Indonesian or English."""

    def digits(self, value: str, language: str) -> str:
        return digits(value, _language(language))

    def number(self, value: int | Decimal, language: str) -> str:
        return decimal_number(value, _language(language))

    def money(self, amount: Decimal, currency: str, language: str) -> str:
        if currency not in ("IDR", "USD"):
            raise ValueError(f"cannot say {currency} amounts")
        return money(amount, cast(Currency, currency), _language(language))

    def date(self, value: dt.date, language: str) -> str:
        return date(value, _language(language))


def _language(value: str) -> Language:
    return "en" if value == "en" else "id"
