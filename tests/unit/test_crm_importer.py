"""The pure half of the customer CSV import: parsing, validation and merging of duplicate rows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.crm import CsvCustomer, CsvFormatError, MergedCustomer, Rejection, merge_rows, parse_customers_csv


def test_header_is_case_and_space_insensitive_and_a_bom_is_ignored() -> None:
    rows, valid, rejected = parse_customers_csv(
        "\ufeff Name ,PHONE,Consent_Email,consent_data_sharing, Consent_Surveys\r\nSari Halim,0812 3456 7890,YA,0,"
        "y\r\nSlamet,(0274) 555-123\r\n")
    assert (rows, rejected) == (2, ())
    assert valid == (
        CsvCustomer(row=2, name="Sari Halim", phones=("+6281234567890",), consent_email=True,
                    consent_data_sharing=False, consent_surveys=True),
        CsvCustomer(row=3, name="Slamet", phones=("+62274555123",)),  # a short row: the rest is blank
    )


@pytest.mark.parametrize(("text", "reason"), [
    ("", "the file is empty: its first row must name the columns"),
    (" , \nA,B\n", "the file is empty: its first row must name the columns"),
    ("name,phone,shoe_size\n", "unknown column(s) 'shoe_size'; the columns are customer_id, name, phone, email,"
                               " address, city, region, country, language, segment, value_tier, lifetime_value,"
                               " consent_marketing_calls, consent_email, consent_data_sharing,"
                               " consent_phone_calls, consent_surveys"),
    ("name,phone,Phone\n", "column(s) named twice: phone"),
    ("phone,email\n", "no 'name' column: every customer needs a name"),
    ('name,phone\n"A"x,1\n', "not a readable CSV file at line 2: ',' expected after '\"'"),
    ('name,phone\nA,1\n"Ani,0812\n', "not a readable CSV file at line 3: unexpected end of data"),
])
def test_files_that_are_not_customer_csvs(text: str, reason: str) -> None:
    with pytest.raises(CsvFormatError) as refused:
        parse_customers_csv(text)
    assert str(refused.value) == f"cannot import customers: file: {reason}"


def test_every_consent_is_yes_no_or_blank() -> None:
    rows, valid, rejected = parse_customers_csv(
        "name,phone,consent_phone_calls,consent_surveys\nAni,0812-5555-0001,ya,tidak\nBudi,0812-5555-0002,,"
        "maybe\nCici,0812-5555-0003,,\n")
    assert (rows, rejected) == (3, (Rejection(3, "consent_surveys", "not yes or no: 'maybe'"),))
    assert valid == (
        CsvCustomer(row=2, name="Ani", phones=("+6281255550001",), consent_phone_calls=True, consent_surveys=False),
        CsvCustomer(row=4, name="Cici", phones=("+6281255550003",)),
    )


def test_rows_numbered_as_a_spreadsheet_shows_them_even_across_quoted_newlines() -> None:
    rows, valid, rejected = parse_customers_csv(
        'name,address,phone\n"Putu Ayu","Jl. Bisma 3\nUbud",0812-1\n\nKetut,,0361 555 123\n')
    assert rows == 2
    assert rejected == (Rejection(2, "phone", "not a phone number: '0812-1'"),)
    assert [(c.row, c.name) for c in valid] == [(4, "Ketut")]


def merged(*rows: CsvCustomer) -> tuple[tuple[MergedCustomer, ...], tuple[Rejection, ...]]:
    return merge_rows(rows)


def test_rows_linked_through_other_rows_become_one_customer_with_documented_precedence() -> None:
    result, rejected = merged(
        CsvCustomer(row=2, name="Rina", phones=("+6281370000001",), city="Bandung", consent_email=True,
                    consent_marketing_calls=True, consent_surveys=True),
        CsvCustomer(row=3, name="Rina K.", email="rina@example.com", value_tier="gold", consent_surveys=False),
        CsvCustomer(row=4, name="Budi", phones=("+6281370000009",)),
        CsvCustomer(row=5, name="Rina Kusuma", phones=("+62225550101", "+6281370000001"), email="rina@example.com",
                    consent_marketing_calls=False),
        CsvCustomer(row=6, name="Rina", city=None, consent_marketing_calls=True, email="rina@example.com",
                    consent_surveys=True),
    )
    assert rejected == ()
    assert result == (
        MergedCustomer(rows=(2, 3, 5, 6), values=CsvCustomer(
            row=2, name="Rina", phones=("+6281370000001", "+62225550101"), email="rina@example.com", city="Bandung",
            value_tier="gold", consent_email=True, consent_marketing_calls=False,
            consent_surveys=False)),  # one "no" is enough
        MergedCustomer(rows=(4,), values=CsvCustomer(row=4, name="Budi", phones=("+6281370000009",))),
    )


def test_a_row_joining_two_customer_numbers_is_rejected() -> None:
    result, rejected = merged(
        CsvCustomer(row=2, customer_id="20000001", name="A", phones=("+6281311110001",)),
        CsvCustomer(row=3, customer_id="20000002", name="B", email="b@example.com"),
        CsvCustomer(row=4, name="A or B?", phones=("+6281311110001",), email="b@example.com"),
        CsvCustomer(row=5, customer_id="20000002", name="B again", phones=("+6281311110001",)),
        CsvCustomer(row=6, customer_id="20000001", name="A again"),
    )
    assert rejected == (
        Rejection(4, "customer_id", "shares a phone or email with row 2 but the customer numbers differ "
                                    "(20000001, 20000002)"),
        Rejection(5, "customer_id", "shares a phone or email with row 2 but the customer numbers differ "
                                    "(20000001, 20000002)"),
    )
    assert [(m.rows, m.values.customer_id, m.values.name) for m in result] == [
        ((2, 6), "20000001", "A again"), ((3,), "20000002", "B")]


KEYS = st.sampled_from(["+6281300000001", "+6281300000002", "+6281300000003", "+6281300000004"])
EMAILS = st.sampled_from([None, "a@example.com", "b@example.com"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.lists(KEYS, max_size=2, unique=True), EMAILS), max_size=12))
def test_merging_partitions_the_rows_by_shared_phone_or_email(rows: list[tuple[list[str], str | None]]) -> None:
    customers = [CsvCustomer(row=n + 2, name=f"n{n}", phones=tuple(p), email=e) for n, (p, e) in enumerate(rows)]
    result, rejected = merge_rows(customers)
    assert rejected == ()  # no customer numbers: nothing can conflict
    assert sorted(r for m in result for r in m.rows) == [c.row for c in customers]
    keys = [{*m.values.phones, m.values.email} - {None} for m in result]
    for i, mine in enumerate(keys):  # no two customers share a phone or an email
        assert all(not (mine & theirs) for theirs in keys[i + 1:])
    for m in result:
        members = [c for c in customers if c.row in m.rows]
        assert m.values.phones == tuple(dict.fromkeys(p for c in members for p in c.phones))
        assert m.values.name == members[-1].name and m.rows == tuple(sorted(m.rows))
