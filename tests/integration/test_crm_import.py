"""Customer CSV import (cti.crm._importer, CustomerRepository.import_customers and ``cti crm``) on SQLite and
PostgreSQL, over the seeded demo data."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from cti.cli import main
from cti.crm import Consent, CsvFormatError, CustomerRecord, ImportReport, Rejection
from cti.persistence import CustomerRepository, Database
from cti.sim import generate
from tests.support import create_postgres_database

T = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)
IMPORTED = T + timedelta(days=1)
CRM_ORDER = ("contacts", "cases", "invoices", "orders", "holdings", "promotions", "product_complements",
             "customer_phones", "customers", "products")  # fmt: skip
FIRST_FREE = 10_000_109  # after the seed's 6 fixed and 8 generated customers (10000101-10000108)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend for the module; each test empties and seeds its CRM tables."""
    drop = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('crm')}/cti.db"
    else:
        url, drop = asyncio.run(create_postgres_database())  # fails, never skips, when CI is set
    try:
        asyncio.run(upgrade(url))
        yield url
    finally:
        if drop is not None:
            asyncio.run(drop())


async def upgrade(url: str) -> None:
    async with Database(url) as database:
        await database.upgrade()


@pytest.fixture
async def db(migrated_url: str) -> AsyncIterator[Database]:
    database = Database(migrated_url)
    await database.start()
    try:
        async with database.transaction("empty the CRM") as session:
            for table in CRM_ORDER:
                await session.execute(text(f"DELETE FROM {table}"))
        assert await CustomerRepository(database).seed(generate(now=T, customers=14, seed=3)) == 14
        yield database
    finally:
        await database.close()


async def run(db: Database, csv: str, *, dry_run: bool = False) -> ImportReport:
    return await CustomerRepository(db, clock=lambda: IMPORTED).import_customers(csv, dry_run=dry_run)


def customer(customer_id: str, name: str, phones: tuple[str, ...], **values: Any) -> CustomerRecord:
    """A customer as the import creates it: what the file did not say is blank or refused."""
    blank = CustomerRecord(
        customer_id=customer_id, name=name, phones=phones, email=None, address=None, city=None, region=None,
        country=None, language="id", segment=None, value_tier=None, lifetime_value_minor=0, consent=Consent(),
        forgotten_at=None, created_at=IMPORTED, updated_at=IMPORTED,
    )
    return replace(blank, **values)


BAD_CSV = """\
customer_id,name,phone,email,language,value_tier,lifetime_value,consent_marketing_calls,consent_email
,Ani Wulandari,0812-5555-0001,Ani@Example.com,id,Silver,1500000.50,ya,tidak
,,0812-5555-0002,,,,,,
,Bad Everything,12345;0812-5555-0003,not-an-email,fr,diamond,1.500.000,maybe,
X12,Bad Number,,,,,,,
,Nobody,,,,,,,
,Too,Many,cells,x,x,x,x,x,x,x

,Oliver Smith,+44 7700 900123,,EN,,,,
"""


async def test_bad_rows_are_rejected_with_a_report_and_good_rows_imported(db: Database) -> None:
    report = await run(db, BAD_CSV)

    assert report == ImportReport(
        rows=7,
        created=(str(FIRST_FREE), str(FIRST_FREE + 1)),
        rejected=(
            Rejection(3, "name", "required"),
            Rejection(4, "phone", "not a phone number: '12345'"),
            Rejection(4, "email", "not an email address: 'not-an-email'"),
            Rejection(4, "language", "'fr' is not one of id, en"),
            Rejection(4, "value_tier", "'diamond' is not one of bronze, silver, gold, platinum"),
            Rejection(4, "lifetime_value", "not an amount in rupiah like 1500000 or 1500000.50: '1.500.000'"),
            Rejection(4, "consent_marketing_calls", "not yes or no: 'maybe'"),
            Rejection(5, "customer_id", "not 4 to 16 digits: 'X12'"),
            Rejection(6, "phone", "a phone, an email or a customer_id is needed to recognise the customer"),
            Rejection(7, "row", "11 cells, but the header names 9"),
        ),
    )
    store = CustomerRepository(db)
    assert await store.customer(str(FIRST_FREE)) == customer(
        str(FIRST_FREE), "Ani Wulandari", ("+6281255550001",), email="ani@example.com", value_tier="silver",
        lifetime_value_minor=150_000_050, consent=Consent(marketing_calls=True, email=False),
    )
    assert await store.customer(str(FIRST_FREE + 1)) == customer(
        str(FIRST_FREE + 1), "Oliver Smith", ("+447700900123",), language="en")
    assert await store.customer_by_phone("0812-5555-0003") is None
    with pytest.raises(CsvFormatError, match="unknown column"):
        await run(db, "name,phone,shoe_size\nA,0812-5555-0009,42\n")


MERGE_CSV = """\
name,phone,email,city,value_tier,consent_marketing_calls,consent_email,consent_surveys
Rina Kusuma,0813-7000-0001,,Bandung,silver,yes,yes,ya
Rina K.,,rina@example.com,,,,,
Rina Kusuma,+62 813 7000 0001;(022) 555-0101,RINA@example.com,,gold,no,,
Joko Widodo,0813-7000-0002,,Solo,,,,1
Joko W,6281370000002,,,,,,0
"""


async def test_duplicates_merge_and_reimport_changes_nothing(db: Database) -> None:
    rina, joko = str(FIRST_FREE), str(FIRST_FREE + 1)
    expected = ImportReport(rows=5, created=(rina, joko), merged_rows=3)

    assert await run(db, MERGE_CSV, dry_run=True) == replace(expected, dry_run=True)
    store = CustomerRepository(db)
    assert await store.customer(rina) is None  # the dry run wrote nothing

    assert await run(db, MERGE_CSV) == expected
    imported = [await store.customer(rina), await store.customer(joko)]
    assert imported == [
        customer(rina, "Rina Kusuma", ("+6281370000001", "+62225550101"), email="rina@example.com", city="Bandung",
                 value_tier="gold", consent=Consent(marketing_calls=False, email=True, surveys=True)),
        customer(joko, "Joko W", ("+6281370000002",), city="Solo"),
    ]

    again = await CustomerRepository(db, clock=lambda: IMPORTED + timedelta(hours=5)).import_customers(MERGE_CSV)
    assert again == ImportReport(rows=5, unchanged=(rina, joko), merged_rows=3)
    assert [await store.customer(rina), await store.customer(joko)] == imported  # updated_at untouched too


MATCH_CSV = """\
customer_id,name,phone,email,segment,consent_marketing_calls,consent_surveys
,Budi Santoso,0812-1000-0001;0878-1234-5678,,,no,no
10000002,Siti Rahayu-Putri,,,family,,
,Imposter,0857-3000-0002,budi.santoso@example.co.id,,,
10000005,Rudi Hartono Siregar,,,,,
10000006,Andi Nurhaliza,0821-9000-0006,,,,
"""


async def test_rows_matching_existing_customers_update_them(db: Database) -> None:
    store = CustomerRepository(db, clock=lambda: T)
    budi, siti = await store.customer("10000001"), await store.customer("10000002")
    assert budi is not None and siti is not None
    await store.forget("10000006")

    report = await run(db, MATCH_CSV)

    assert report == ImportReport(
        rows=5,
        updated=("10000001", "10000002"),
        unchanged=("10000005",),
        rejected=(
            Rejection(4, "phone", "matches several existing customers (10000001, 10000002): merge them by hand first"),
            Rejection(6, "customer_id", "customer 10000006 was erased on request: their personal data is not"
                                        " imported again"),
        ),
    )
    assert (budi.consent.surveys, siti.consent.surveys) == (True, True)  # the demo's: both agreed
    assert await store.customer("10000001") == replace(
        budi, phones=(*budi.phones, "+6287812345678"),
        consent=Consent(marketing_calls=False, email=True, data_sharing=True, phone_calls=True, surveys=False),
        updated_at=IMPORTED)
    # A blank cell keeps what is known: Siti still agrees to surveys.
    assert await store.customer("10000002") == replace(siti, name="Siti Rahayu-Putri", updated_at=IMPORTED)
    forgotten = await store.customer("10000006")
    assert forgotten is not None and (forgotten.name, forgotten.phones) == ("", ())


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/cli.db"


def test_cli_seed_and_import(tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = ["--database-url", sqlite_url]
    assert main(["crm", "seed", "--customers", "8", *url]) == 0
    assert main(["crm", "seed", *url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "seeded 8 customers", "the CRM already holds customers: nothing seeded"]

    good = tmp_path / "good.csv"
    good.write_bytes("\ufeffname,phone\nWayan Sudarsana,0361 555 777\n".encode())
    assert main(["crm", "import", str(good), "--dry-run", *url]) == 0
    assert main(["crm", "import", str(good), *url]) == 0
    assert main(["crm", "import", str(good), "--json", *url]) == 0
    out = capsys.readouterr().out.splitlines()
    created = "1 rows: 1 created, 0 updated, 0 unchanged, 0 merged into an earlier row, 0 rejected"
    assert out[:2] == [f"{created} (dry run: nothing written)", created]
    assert json.loads(out[2]) == {"rows": 1, "created": [], "updated": [], "unchanged": ["10000103"],
                                  "merged_rows": 0, "rejected": [], "dry_run": False}

    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nNo Phone,nope\n", encoding="utf-8")
    assert main(["crm", "import", str(bad), *url]) == 3
    assert capsys.readouterr().out.splitlines() == [
        "1 rows: 0 created, 0 updated, 0 unchanged, 0 merged into an earlier row, 1 rejected",
        "row 2, email: not an email address: 'nope'",
    ]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,phone\nJos\xe9,0812-5555-0001\n".encode("latin-1"))
    assert main(["crm", "import", str(latin), *url]) == 1
    assert main(["crm", "import", str(tmp_path / "missing.csv"), *url]) == 1
    headless = tmp_path / "headless.csv"
    headless.write_text("phone\n0812\n", encoding="utf-8")
    assert main(["crm", "import", str(headless), *url]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"cti: {latin} is not UTF-8 text (byte 14)",
        f"cti: cannot read {tmp_path / 'missing.csv'}: No such file or directory",
        f"cti: {headless}: cannot import customers: file: no 'name' column: every customer needs a name",
    ]
