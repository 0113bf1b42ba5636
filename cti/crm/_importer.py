"""Customer import from CSV: normalise, validate, merge duplicates; the store then writes them. Pure.

Three steps: :func:`parse_customers_csv` (one :class:`CsvCustomer` per valid row, a :class:`Rejection` per
problem of the others), :func:`merge_rows` (rows sharing a phone, an email or a customer number become one
customer) — together :func:`plan_import` — and the store's ``import_customers``
(:class:`cti.persistence.CustomerRepository`), which matches each merged customer against the database and
creates (:func:`apply_values` over blank fields), updates (over the stored ones) or leaves it, in one
transaction, and reports with :meth:`ImportPlan.report`. The columns and the precedence rules are documented in
docs/crm.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Final, cast

from cti.types import Language

from ._errors import CsvFormatError, Problem
from ._records import MINOR_PER_MAJOR, CustomerFields
from ._validate import CUSTOMER_ID, clean_customer, clean_email

__all__ = [
    "COLUMNS",
    "CsvCustomer",
    "ImportPlan",
    "ImportReport",
    "MergedCustomer",
    "Rejection",
    "apply_values",
    "merge_rows",
    "parse_customers_csv",
    "plan_import",
]

COLUMNS: Final = (
    "customer_id",
    "name",
    "phone",
    "email",
    "address",
    "city",
    "region",
    "country",
    "language",
    "segment",
    "value_tier",
    "lifetime_value",
    "consent_marketing_calls",
    "consent_email",
    "consent_data_sharing",
    "consent_phone_calls",
    "consent_surveys",
)
PHONE_SEPARATOR: Final = ";"
_YES: Final = frozenset({"yes", "y", "true", "1", "ya"})
_NO: Final = frozenset({"no", "n", "false", "0", "tidak"})
_AMOUNT: Final = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_CONSENTS: Final = ("consent_marketing_calls", "consent_email", "consent_data_sharing", "consent_phone_calls",
                    "consent_surveys")
# Scalar fields a CSV row may set; a blank cell sets nothing.
_SCALARS: Final = ("name", "email", "address", "city", "region", "country", "language", "segment", "value_tier",
                   "lifetime_value_minor")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused row: ``row`` numbered as a spreadsheet shows it (the header is row 1)."""

    row: int
    column: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CsvCustomer:
    """One valid row, normalised. ``None`` (and an empty ``phones``) means the cell was blank: keep what is known."""

    row: int
    customer_id: str | None = None
    name: str | None = None
    phones: tuple[str, ...] = ()
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None
    language: Language | None = None
    segment: str | None = None
    value_tier: str | None = None
    lifetime_value_minor: int | None = None
    consent_marketing_calls: bool | None = None
    consent_email: bool | None = None
    consent_data_sharing: bool | None = None
    consent_phone_calls: bool | None = None
    consent_surveys: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MergedCustomer:
    """The rows of the file that are one customer, and what they say together."""

    rows: tuple[int, ...]
    values: CsvCustomer
    """``values.row`` is the first of ``rows``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    rows: int
    """Data rows read (blank lines aside)."""
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    merged_rows: int = 0
    """Rows folded into an earlier row of the file (same phone, email or customer number)."""
    rejected: tuple[Rejection, ...] = ()
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "created": list(self.created),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "merged_rows": self.merged_rows,
            "rejected": [{"row": r.row, "column": r.column, "reason": r.reason} for r in self.rejected],
            "dry_run": self.dry_run,
        }

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged, {self.merged_rows} merged into an earlier row, "
            f"{len({r.row for r in self.rejected})} rejected" + (" (dry run: nothing written)" if self.dry_run else "")
        )


# -- parsing -------------------------------------------------------------------------------------


def parse_customers_csv(text: str) -> tuple[int, tuple[CsvCustomer, ...], tuple[Rejection, ...]]:
    """Data rows read, the valid rows and the rejections. Raises :class:`CsvFormatError` for a file that is not
    a customers CSV (no header, unknown or duplicate columns, no ``name`` column, unreadable CSV)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise CsvFormatError("the file is empty: its first row must name the columns")
        columns = _columns(header)
        rows = 0
        valid: list[CsvCustomer] = []
        rejected: list[Rejection] = []
        for index, cells in enumerate(reader):
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            number = index + 2
            if len(cells) > len(columns):
                rejected.append(Rejection(number, "row", f"{len(cells)} cells, but the header names {len(columns)}"))
                continue
            # Spreadsheets drop trailing empty cells: a short row is a row with blanks at the end.
            values = dict(zip(columns, [*cells, *[""] * (len(columns) - len(cells))], strict=True))
            customer, problems = _parse_row(number, values)
            if customer is None:
                rejected.extend(Rejection(number, p.field, p.reason) for p in problems)
            else:
                valid.append(customer)
    except csv.Error as exc:
        raise CsvFormatError(f"not a readable CSV file at line {reader.line_num}: {exc}") from exc
    return rows, tuple(valid), tuple(rejected)


def _columns(header: Sequence[str]) -> tuple[str, ...]:
    columns = tuple(cell.strip().lower() for cell in header)
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise CsvFormatError(f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are {', '.join(COLUMNS)}")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise CsvFormatError(f"column(s) named twice: {', '.join(duplicated)}")
    if "name" not in columns:
        raise CsvFormatError("no 'name' column: every customer needs a name")
    return columns


def _parse_row(row: int, values: dict[str, str]) -> tuple[CsvCustomer | None, list[Problem]]:
    cell = {column: values.get(column, "").strip() for column in COLUMNS}
    problems: list[Problem] = []
    if not cell["name"]:
        problems.append(Problem("name", "required"))
    customer_id = cell["customer_id"] or None
    if customer_id is not None and CUSTOMER_ID.fullmatch(customer_id) is None:
        problems.append(Problem("customer_id", f"not 4 to 16 digits: {customer_id!r}"))
    language = cell["language"].lower() or None
    lifetime: int | None = None
    if cell["lifetime_value"]:
        if _AMOUNT.fullmatch(cell["lifetime_value"]) is None:
            problems.append(Problem("lifetime_value", f"not an amount in rupiah like 1500000 or 1500000.50: "
                                                      f"{cell['lifetime_value']!r}"))
        else:
            lifetime = int(Decimal(cell["lifetime_value"]) * MINOR_PER_MAJOR)
    consents: dict[str, bool | None] = {}
    for column in _CONSENTS:
        consents[column] = _yes_no(cell[column])
        if cell[column] and consents[column] is None:
            problems.append(Problem(column, f"not yes or no: {cell[column]!r}"))
    phones = tuple(p.strip() for p in cell["phone"].split(PHONE_SEPARATOR) if p.strip())
    email = clean_email(cell["email"])
    if not phones and email is None and customer_id is None:
        problems.append(Problem("phone", "a phone, an email or a customer_id is needed to recognise the customer"))
    # The store's own checks, on the values as they would be stored.
    fields, found = clean_customer(CustomerFields(
        name=cell["name"], phones=phones, email=email, address=cell["address"], city=cell["city"],
        region=cell["region"], country=cell["country"], language=cast(Language, language or "id"),
        segment=cell["segment"], value_tier=cell["value_tier"], lifetime_value_minor=lifetime or 0,
    ))
    problems.extend(found)
    if problems:
        return None, problems
    return CsvCustomer(
        row=row, customer_id=customer_id, name=fields.name, phones=fields.phones, email=fields.email,
        address=fields.address, city=fields.city, region=fields.region, country=fields.country,
        language=fields.language if language else None, segment=fields.segment, value_tier=fields.value_tier,
        lifetime_value_minor=lifetime, **consents,
    ), []


def _yes_no(text: str) -> bool | None:
    word = text.lower()
    return True if word in _YES else False if word in _NO else None


_COLUMN_RANK: Final = {column: index for index, column in enumerate(COLUMNS)}


def _report_order(rejection: Rejection) -> tuple[int, int]:
    # By row, then in the file's column order; sorted() is stable, so one column's problems keep their order.
    return rejection.row, _COLUMN_RANK.get(rejection.column, -1)


# -- merging duplicate rows ----------------------------------------------------------------------


@dataclass(slots=True)
class _Group:
    rows: list[CsvCustomer]
    keys: set[str] = field(default_factory=set)
    customer_id: str | None = None


def _keys(customer: CsvCustomer) -> set[str]:
    keys = {f"phone {p}" for p in customer.phones}
    if customer.email is not None:
        keys.add(f"email {customer.email}")
    if customer.customer_id is not None:
        keys.add(f"customer_id {customer.customer_id}")
    return keys


def merge_rows(customers: Sequence[CsvCustomer]) -> tuple[tuple[MergedCustomer, ...], tuple[Rejection, ...]]:
    """Fold rows that share a phone, an email or a customer number (directly or through other rows) into one
    customer each; a row that would join two different customer numbers is rejected instead."""
    groups: list[_Group | None] = []
    owner: dict[str, int] = {}
    rejected: list[Rejection] = []
    for customer in customers:
        keys = _keys(customer)
        touched = sorted({owner[key] for key in keys if key in owner})
        numbers = {g.customer_id for i in touched if (g := groups[i]) is not None and g.customer_id is not None}
        if customer.customer_id is not None:
            numbers.add(customer.customer_id)
        if len(numbers) > 1:
            first = min(r.row for i in touched if (g := groups[i]) is not None for r in g.rows)
            rejected.append(Rejection(customer.row, "customer_id",
                                      f"shares a phone or email with row {first} but the customer numbers differ "
                                      f"({', '.join(sorted(numbers))})"))
            continue
        target = touched[0] if touched else len(groups)
        if not touched:
            groups.append(_Group(rows=[]))
        group = groups[target]
        assert group is not None
        for other in touched[1:]:
            merged = groups[other]
            assert merged is not None
            group.rows.extend(merged.rows)
            group.keys |= merged.keys
            groups[other] = None
        group.rows.append(customer)
        group.keys |= keys
        group.customer_id = next(iter(numbers), None)
        for key in group.keys:
            owner[key] = target
    result = [_fold(sorted(g.rows, key=lambda c: c.row)) for g in groups if g is not None]
    return tuple(sorted(result, key=lambda m: m.rows[0])), tuple(rejected)


def _fold(rows: Sequence[CsvCustomer]) -> MergedCustomer:
    """Later rows win for each non-blank value; phones add up; an explicit "no" to a consent wins."""
    values: dict[str, Any] = {"row": rows[0].row}
    phones: list[str] = []
    for row in rows:
        for name in (*_SCALARS, "customer_id"):
            if getattr(row, name) is not None:
                values[name] = getattr(row, name)
        phones.extend(p for p in row.phones if p not in phones)
        for name in _CONSENTS:
            given = getattr(row, name)
            if given is not None:
                values[name] = given and values.get(name, True)
    return MergedCustomer(rows=tuple(r.row for r in rows), values=CsvCustomer(phones=tuple(phones), **values))


def apply_values(base: CustomerFields, values: CsvCustomer) -> CustomerFields:
    """``values`` over ``base``: given values replace, blanks keep, new phones are added after the known ones."""
    changes: dict[str, Any] = {name: getattr(values, name) for name in _SCALARS if getattr(values, name) is not None}
    changes["phones"] = (*base.phones, *(p for p in values.phones if p not in base.phones))
    consent = base.consent
    if values.consent_marketing_calls is not None:
        consent = replace(consent, marketing_calls=values.consent_marketing_calls)
    if values.consent_email is not None:
        consent = replace(consent, email=values.consent_email)
    if values.consent_data_sharing is not None:
        consent = replace(consent, data_sharing=values.consent_data_sharing)
    if values.consent_phone_calls is not None:
        consent = replace(consent, phone_calls=values.consent_phone_calls)
    if values.consent_surveys is not None:
        consent = replace(consent, surveys=values.consent_surveys)
    return replace(base, consent=consent, **changes)


# -- the plan and its report ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportPlan:
    """What a file asks for, before the database is consulted."""

    rows: int
    """Data rows read (blank lines aside)."""
    customers: tuple[MergedCustomer, ...]
    """One per customer the file names, in the order of their first row."""
    rejected: tuple[Rejection, ...]
    """Rows refused while parsing or merging."""

    def report(self, *, created: Sequence[str], updated: Sequence[str], unchanged: Sequence[str],
               refused: Sequence[Rejection], dry_run: bool) -> ImportReport:
        """The report once the store has written: ``refused`` are the rejections of whole customers the store
        would not take (every row of each)."""
        refused_rows = {rejection.row for rejection in refused}
        return ImportReport(
            rows=self.rows,
            created=tuple(created),
            updated=tuple(updated),
            unchanged=tuple(unchanged),
            merged_rows=sum(len(m.rows) - 1 for m in self.customers if m.rows[0] not in refused_rows),
            rejected=tuple(sorted((*self.rejected, *refused), key=_report_order)),
            dry_run=dry_run,
        )


def plan_import(text: str) -> ImportPlan:
    """Parse and merge a customers CSV. Raises :class:`CsvFormatError` for a file that is not one."""
    rows, parsed, rejected = parse_customers_csv(text)
    merged, conflicts = merge_rows(parsed)
    return ImportPlan(rows=rows, customers=merged, rejected=(*rejected, *conflicts))
