"""Numbers, money, dates, times and references read out in Indonesian and English."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from cti.ivr._speak import (
    MAX_NUMBER,
    cardinal,
    date,
    decimal_number,
    digits,
    money,
    ordinal,
    parse_money,
    say_money,
    time_of_day,
)

_ID = {"nol": 0, "satu": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5, "enam": 6, "tujuh": 7, "delapan": 8,
       "sembilan": 9}
_ID_SCALES = {"ribu": 10**3, "juta": 10**6, "miliar": 10**9, "triliun": 10**12}
_EN = {w: n for n, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                                   "fourteen fifteen sixteen seventeen eighteen nineteen".split())}
_EN_TENS = {w: 10 * n for n, w in enumerate("_ _ twenty thirty forty fifty sixty seventy eighty ninety".split())}
_EN_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def _parse_id(text: str) -> int:
    """An independent reader of Indonesian number words (the inverse of cardinal)."""
    words = text.replace("sepuluh", "satu puluh").replace("sebelas", "satu belas").replace("seratus", "satu ratus")
    words = words.replace("seribu", "satu ribu")
    total = group = current = 0
    for word in words.split():
        if word in _ID:
            current = _ID[word]
        elif word == "belas":
            group += 10 + current
            current = 0
        elif word == "puluh":
            group += 10 * current
            current = 0
        elif word == "ratus":
            group += 100 * current
            current = 0
        elif word in _ID_SCALES:
            total += (group + current) * _ID_SCALES[word]
            group = current = 0
        else:
            raise AssertionError(f"unexpected word {word!r} in {text!r}")
    return total + group + current


def _parse_en(text: str) -> int:
    total = group = 0
    for word in text.split():
        if word == "hundred":
            group *= 100
        elif word in _EN_SCALES:
            total += group * _EN_SCALES[word]
            group = 0
        else:
            tens, _, unit = word.partition("-")
            group += _EN_TENS.get(tens, _EN.get(tens, -10**18)) + (_EN[unit] if unit else 0)
    return total + group


@pytest.mark.parametrize(("n", "indonesian", "english"), [
    (0, "nol", "zero"),
    (1, "satu", "one"),
    (10, "sepuluh", "ten"),
    (11, "sebelas", "eleven"),
    (12, "dua belas", "twelve"),
    (19, "sembilan belas", "nineteen"),
    (20, "dua puluh", "twenty"),
    (21, "dua puluh satu", "twenty-one"),
    (100, "seratus", "one hundred"),
    (101, "seratus satu", "one hundred one"),
    (110, "seratus sepuluh", "one hundred ten"),
    (111, "seratus sebelas", "one hundred eleven"),
    (999, "sembilan ratus sembilan puluh sembilan", "nine hundred ninety-nine"),
    (1000, "seribu", "one thousand"),
    (1001, "seribu satu", "one thousand one"),
    (1100, "seribu seratus", "one thousand one hundred"),
    (2000, "dua ribu", "two thousand"),
    (11000, "sebelas ribu", "eleven thousand"),
    (100000, "seratus ribu", "one hundred thousand"),
    (101000, "seratus satu ribu", "one hundred one thousand"),
    (1000000, "satu juta", "one million"),
    (1250000, "satu juta dua ratus lima puluh ribu", "one million two hundred fifty thousand"),
    (2026, "dua ribu dua puluh enam", "two thousand twenty-six"),
    (1000000001, "satu miliar satu", "one billion one"),
    (3000000000000, "tiga triliun", "three trillion"),
    (-15, "minus lima belas", "minus fifteen"),
])
def test_cardinal(n: int, indonesian: str, english: str) -> None:
    assert cardinal(n, "id") == indonesian
    assert cardinal(n, "en") == english


def test_cardinal_limit() -> None:
    with pytest.raises(ValueError, match="too large"):
        cardinal(10**15, "id")


@given(st.integers(min_value=0, max_value=MAX_NUMBER))
@example(1_300_194_101_000)  # "... seratus satu ribu": 101 thousand, found by a random run
def test_cardinal_round_trips(n: int) -> None:
    indonesian = cardinal(n, "id")
    assert _parse_id(indonesian) == n
    assert _parse_en(cardinal(n, "en")) == n
    words = indonesian.split()
    # "se-" forms replace "satu" before puluh, belas and ratus, and before ribu when one thousand is meant
    # ("seribu", but "dua puluh satu ribu", "seratus satu ribu"); juta and beyond keep "satu".
    for n_word, (before, after) in enumerate(itertools.pairwise(words)):
        assert not (before == "satu" and after in ("puluh", "belas", "ratus"))
        if before == "satu" and after == "ribu":
            assert n_word > 0 and words[n_word - 1] in ("puluh", "ratus", "seratus")
    assert "sejuta" not in words and "  " not in indonesian


@given(st.integers(min_value=1, max_value=10**6))
def test_ordinal_shapes(n: int) -> None:
    assert ordinal(n, "en").endswith(("first", "second", "third", "th"))
    assert ordinal(n, "id") == ("pertama" if n == 1 else "ke" + cardinal(n, "id"))


@pytest.mark.parametrize(("n", "english"), [(1, "first"), (2, "second"), (3, "third"), (4, "fourth"),
                                             (5, "fifth"), (8, "eighth"), (9, "ninth"), (12, "twelfth"),
                                             (20, "twentieth"), (22, "twenty-second"), (31, "thirty-first"),
                                             (100, "one hundredth")])
def test_ordinal_english(n: int, english: str) -> None:
    assert ordinal(n, "en") == english


def test_ordinal_indonesian() -> None:
    assert [ordinal(n, "id") for n in (1, 2, 10, 21)] == ["pertama", "kedua", "kesepuluh", "kedua puluh satu"]


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("Rp 1.250.000", Decimal("1250000"), "IDR"),
    ("Rp1.250.000,50", Decimal("1250000.50"), "IDR"),
    ("IDR 1,250,000", Decimal("1250000"), "IDR"),
    ("Rp 1,500", Decimal("1500"), "IDR"),
    ("Rp. 15.000", Decimal("15000"), "IDR"),
    ("15000 rupiah", Decimal("15000"), "IDR"),
    ("-Rp 5.000", Decimal("-5000"), "IDR"),
    ("$12.50", Decimal("12.50"), "USD"),
    ("USD 1,250.00", Decimal("1250.00"), "USD"),
    ("US$ 3", Decimal("3"), "USD"),
])
def test_parse_money(text: str, amount: Decimal, currency: str) -> None:
    assert parse_money(text) == (amount, currency)


@pytest.mark.parametrize("text", ["", "1.250.000", "Rp", "Rp 1.2.3", "Rp 12,345,6", "EUR 5", "Rp 1.000."])
def test_parse_money_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text)


@pytest.mark.parametrize(("text", "indonesian", "english"), [
    ("Rp 1.250.000", "satu juta dua ratus lima puluh ribu rupiah",
     "one million two hundred fifty thousand rupiah"),
    ("Rp 1.000", "seribu rupiah", "one thousand rupiah"),
    ("Rp 100", "seratus rupiah", "one hundred rupiah"),
    ("Rp 11.000", "sebelas ribu rupiah", "eleven thousand rupiah"),
    ("Rp 0", "nol rupiah", "zero rupiah"),
    ("Rp1.250.000,50", "satu juta dua ratus lima puluh ribu rupiah lima puluh sen",
     "one million two hundred fifty thousand rupiah and fifty sen"),
    ("$12.50", "dua belas dolar lima puluh sen", "twelve dollars and fifty cents"),
    ("$1.01", "satu dolar satu sen", "one dollar and one cent"),
    ("$0.99", "sembilan puluh sembilan sen", "ninety-nine cents"),
    ("$1", "satu dolar", "one dollar"),
    ("-$2", "minus dua dolar", "minus two dollars"),
])
def test_say_money(text: str, indonesian: str, english: str) -> None:
    assert say_money(text, "id") == indonesian
    assert say_money(text, "en") == english


@given(st.integers(min_value=0, max_value=10**12))
def test_rupiah_is_the_number_then_rupiah(n: int) -> None:
    assert money(n, "IDR", "id") == f"{cardinal(n, 'id')} rupiah"
    formatted = f"Rp {n:,}".replace(",", ".")
    assert parse_money(formatted) == (Decimal(n), "IDR")


def test_money_rounds_to_cents() -> None:
    assert money(Decimal("2.005"), "USD", "en") == "two dollars"  # banker's rounding of a half cent
    assert money("2.006", "USD", "en") == "two dollars and one cent"


def test_decimal_number() -> None:
    assert decimal_number("3.14", "id") == "tiga koma satu empat"
    assert decimal_number(Decimal("-0.5"), "en") == "minus zero point five"
    assert decimal_number(7, "en") == "seven"
    with pytest.raises(ValueError):
        decimal_number("abc", "en")


def test_dates() -> None:
    day = dt.date(2026, 11, 22)
    assert date(day, "id") == "dua puluh dua November dua ribu dua puluh enam"
    assert date(day, "en") == "November twenty-second, twenty twenty-six"
    assert date(day, "id", weekday=True) == "Minggu, dua puluh dua November dua ribu dua puluh enam"
    assert date(dt.date(2001, 3, 1), "en", weekday=True) == "Thursday, March first, two thousand one"
    assert date(dt.date(1999, 12, 31), "en") == "December thirty-first, nineteen ninety-nine"
    assert date(dt.date(1905, 1, 2), "en") == "January second, nineteen oh five"
    assert date(dt.date(1900, 8, 17), "id") == "tujuh belas Agustus seribu sembilan ratus"
    assert date(dt.date(1900, 8, 17), "en") == "August seventeenth, nineteen hundred"


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(2999, 12, 31)))
def test_indonesian_date_parts(day: dt.date) -> None:
    words = date(day, "id").split()
    month_at = next(i for i, w in enumerate(words) if w[0].isupper())
    assert _parse_id(" ".join(words[:month_at])) == day.day
    assert _parse_id(" ".join(words[month_at + 1:])) == day.year


@pytest.mark.parametrize(("moment", "indonesian", "english"), [
    (dt.time(14, 30), "pukul empat belas lewat tiga puluh menit", "two thirty p.m."),
    (dt.time(9, 5), "pukul sembilan lewat lima menit", "nine oh five a.m."),
    (dt.time(8, 0), "pukul delapan", "eight a.m."),
    (dt.time(0, 0), "pukul nol", "twelve midnight"),
    (dt.time(12, 0), "pukul dua belas", "twelve noon"),
    (dt.time(12, 15), "pukul dua belas lewat lima belas menit", "twelve fifteen p.m."),
    (dt.time(23, 59), "pukul dua puluh tiga lewat lima puluh sembilan menit", "eleven fifty-nine p.m."),
])
def test_times(moment: dt.time, indonesian: str, english: str) -> None:
    assert time_of_day(moment, "id") == indonesian
    assert time_of_day(moment, "en") == english


def test_time_zones() -> None:
    assert time_of_day(dt.time(10, 0), "id", zone="WIB") == "pukul sepuluh waktu Indonesia barat"
    assert time_of_day(dt.time(10, 0), "en", zone="wita") == "ten a.m. Central Indonesia Time"
    with pytest.raises(ValueError, match="unknown zone"):
        time_of_day(dt.time(10, 0), "en", zone="UTC")


def test_digits() -> None:
    assert digits("ORD-2026/0042", "en") == "oh ar dee, two zero two six, zero zero four two"
    assert digits("ORD-2026/0042", "id") == "o er de, dua nol dua enam, nol nol empat dua"
    assert digits(" 0812 3456 ", "id") == "nol delapan satu dua, tiga empat lima enam"
    assert digits("w1", "en") == "double you one"
    with pytest.raises(ValueError):
        digits("--", "en")


@given(st.text(alphabet="0123456789", min_size=1, max_size=30))
def test_digits_one_word_per_digit(number: str) -> None:
    assert [_ID[w] for w in digits(number, "id").split()] == [int(c) for c in number]
    assert [_EN[w] for w in digits(number, "en").split()] == [int(c) for c in number]
