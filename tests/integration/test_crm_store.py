"""CustomerRepository (the CRM's store) on SQLite and PostgreSQL, over the seeded demo data (fixed customers of
cti.sim._crm_seed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from cti.crm import (
    CaseRecord,
    Consent,
    ContactRecord,
    CrmDataset,
    CrmInputError,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    InvoiceRecord,
    NewContact,
    OrderItem,
    OrderRecord,
    OwnedProduct,
    ProductRecord,
    check_keys,
    fold_name,
    hash_pin,
)
from cti.errors import InvalidInput
from cti.persistence import (
    CustomerRepository,
    Database,
    InteractionRepository,
    PortalRepository,
    StorageConflict,
    StorageError,
)
from cti.persistence._database import alembic_config
from cti.records import InteractionRecord, PortalCodeRecord, PortalSessionRecord
from cti.sim import BUDI_BIRTH_DATE, BUDI_PIN, JAMES_PIN
from tests.hostile import hostile_dataset
from tests.support import create_postgres_database

T = datetime(2025, 3, 14, 3, 0, tzinfo=UTC)  # the seed's "now": 10:00 in Jakarta
LATER = T + timedelta(hours=1)  # the store's clock
# Children first, for the foreign keys.
CRM_ORDER = ("portal_sessions", "portal_codes", "contacts", "cases", "invoices", "orders", "holdings", "promotions",
             "product_complements",
             "customer_phones", "customers", "products", "interactions")  # fmt: skip
CRM_TABLES = frozenset(CRM_ORDER) - {"interactions"}


def days(n: float) -> timedelta:
    return timedelta(days=n)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One migrated database per backend for the module: creating a PostgreSQL database and migrating it
    takes seconds, emptying and seeding its CRM tables a fraction of one."""
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


async def empty(database: Database) -> None:
    async with database.transaction("empty the CRM") as session:
        for table in CRM_ORDER:
            await session.execute(text(f"DELETE FROM {table}"))
        if database.backend == "postgresql":  # contact ids start at 1 again, as on a new database
            await session.execute(text("ALTER SEQUENCE contacts_contact_id_seq RESTART"))


@pytest.fixture
def db_url(migrated_url: str) -> str:
    return migrated_url


@pytest.fixture
def dataset() -> CrmDataset:
    return hostile_dataset(now=T, customers=14, seed=3)  # the demo's customers, one with markup in the name


@pytest.fixture
async def db(db_url: str, dataset: CrmDataset) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.start()
    try:
        await empty(database)
        assert await CustomerRepository(database).seed(dataset) == 14
        yield database
    finally:
        await database.close()


@pytest.fixture
def store(db: Database) -> CustomerRepository:
    return CustomerRepository(db, clock=lambda: LATER)


async def raw_rows(url: str, sql: str) -> Sequence[Any]:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).all()
    finally:
        await engine.dispose()


def product(sku: str, name_id: str, name_en: str, category: str, price: int) -> ProductRecord:
    return ProductRecord(sku=sku, name_id=name_id, name_en=name_en, category=category, price_minor=price * 100)


BUDI = CustomerRecord(
    customer_id="10000001", name="Budi Santoso", phones=("+6281210000001", "+622155501001"),
    email="budi.santoso@example.co.id", address="Jl. Jend. Sudirman Kav. 52-53", city="Jakarta", region="jakarta",
    country="ID", language="id", segment="professional", value_tier="gold", lifetime_value_minor=1_850_000_000,
    consent=Consent(marketing_calls=True, email=True, data_sharing=True, phone_calls=True, surveys=True),
    forgotten_at=None, created_at=T - days(1500), updated_at=T - days(1500),
)


def budi_contact(contact_id: int, **values: Any) -> ContactRecord:
    base: dict[str, Any] = {"customer_id": "10000001", "call_id": None, "script_answers": None,
                            "cross_sell_offered": (), "cross_sell_accepted": (), "follow_up_at": None,
                            "follow_up_task": None, "language": "id"}
    return ContactRecord(contact_id=contact_id, **(base | values))


# -- schema ----------------------------------------------------------------------------------------


async def test_the_migration_creates_and_drops_the_crm_tables(db_url: str) -> None:
    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    def migrate(connection: Connection, target: str) -> None:
        if target == "head":
            command.upgrade(alembic_config(connection), "head")
        else:
            command.downgrade(alembic_config(connection), target)

    engine = create_async_engine(db_url, poolclass=NullPool)
    try:
        found = []
        for target in ("0002", "head"):
            async with engine.begin() as connection:
                await connection.run_sync(migrate, target)
            async with engine.connect() as connection:
                found.append(await connection.run_sync(tables) & CRM_TABLES)
    finally:
        await engine.dispose()
    assert found == [set(), set(CRM_TABLES)]


# -- the screen pop's reads ------------------------------------------------------------------------


async def test_customer_view_of_the_jakarta_gold_customer(store: CustomerRepository) -> None:
    view = await store.customer_view("10000001")

    assert view == CustomerView(
        customer=BUDI,
        owned=(
            OwnedProduct(product("PLAN-L", "Paket Pascabayar 60 GB", "Postpaid plan 60 GB", "plan", 250_000),
                         T - days(900)),
            OwnedProduct(product("FIBER-100", "Internet Rumah 100 Mbps", "Home fibre 100 Mbps", "home", 500_000),
                         T - days(700)),
            OwnedProduct(product("PHONE-X1", "Ponsel Nusa X1", "Nusa X1 smartphone", "device", 3_499_000),
                         T - days(400)),
        ),
        contacts=(
            budi_contact(3, channel="call", at=T - days(3), reason="technical", disposition="follow_up",
                         notes="Internet rumah lambat di malam hari; tiket dibuka.", agent_id="a-102",
                         script_answers={"problem": "slow_evening", "router_restarted": "yes"},
                         cross_sell_offered=("ROUTER-MESH",), follow_up_at=T + days(2),
                         follow_up_task="Telepon balik setelah teknisi memeriksa jaringan."),
            budi_contact(2, channel="chat", at=T - days(12), reason="technical", disposition="resolved",
                         notes="Wi-Fi putus-putus; router di-restart dari jarak jauh.", agent_id="a-104"),
            budi_contact(1, channel="call", at=T - days(40), reason="billing", disposition="resolved",
                         notes="Menanyakan rincian tagihan bulan lalu; sudah dijelaskan.", agent_id="a-101"),
        ),
        open_orders=(),
        open_cases=(CaseRecord(case_id="CS-000001", customer_id="10000001",
                               subject="Internet rumah lambat di malam hari", status="pending", priority="normal",
                               opened_at=T - days(3)),),
        unpaid_invoices=(InvoiceRecord(invoice_number="INV-0000003", customer_id="10000001",
                                       amount_minor=75_000_000, paid_minor=0, issued_at=T - days(5),
                                       due_date=(T + days(9)).date()),),
    )
    assert view.balance_due_minor == 75_000_000
    assert view.language == "id"
    assert [c.contact_id for c in (await store.customer_view("10000001", contacts=1) or view).contacts] == [3]
    assert await store.customer_view("99999999") is None


async def test_open_order_and_self_service_reads(store: CustomerRepository) -> None:
    order = OrderRecord(
        order_number="50000002", customer_id="10000002", status="shipped",
        items=(OrderItem("PHONE-X1PRO", 1), OrderItem("BUDS-2", 1)), total_minor=889_800_000,
        placed_at=T - days(2), shipped_at=T - days(1), shipment_status="in_transit", carrier="JNE",
        tracking_number="JNE0100000002",
    )
    view = await store.customer_view("10000002")
    assert view is not None and view.open_orders == (order,)
    assert await store.order_status(" 50000002 ") == order
    assert await store.order_status("50000001") == replace(
        order, order_number="50000001", customer_id="10000001", status="delivered", items=(OrderItem("PHONE-X1"),),
        total_minor=349_900_000, placed_at=T - days(403), shipped_at=T - days(402), delivered_at=T - days(400),
        shipment_status="delivered", tracking_number="JNE0100000001",
    )
    assert await store.order_status("123") is None
    balances = {cid: await store.balance(cid) for cid in ("10000001", "10000002", "10000004", "10000005", "424242")}
    assert balances == {"10000001": 75_000_000, "10000002": 0, "10000004": 52_000_000,
                        "10000005": 30_000_000 + 50_000_000, "424242": None}


async def test_customer_by_phone_in_any_format(store: CustomerRepository) -> None:
    for number in ("0812-1000-0001", "+62 812 1000 0001", "6281210000001", "(021) 5550-1001", "021 55501001",
                   "0062 21 5550 1001", "+62 (0)21 5550 1001"):
        assert await store.customer_by_phone(number) == BUDI, number


async def test_customer_by_phone_foreign_unknown_and_garbage(store: CustomerRepository) -> None:
    james = await store.customer_by_phone("+61 412 345 004")
    assert james is not None and (james.customer_id, james.name, james.language) == ("10000004", "James Whitfield",
                                                                                     "en")
    assert await store.customer_by_phone("0061412345004") == james
    assert await store.customer_by_phone("0812-9999-9999") is None
    assert await store.customer_by_phone("anonymous") is None
    assert await store.customer_by_phone("") is None
    html = await store.customer("10000003")
    assert html is not None and html.name == "Dewi <script>alert(1)</script> Lestari"


async def test_search_by_name_number_and_phone_digits(store: CustomerRepository, dataset: CrmDataset) -> None:
    def ids(records: Sequence[CustomerRecord]) -> list[str]:
        return [r.customer_id for r in records]

    # A word of the name starts with "an": first the names that start with it, each rank by name.
    expected = sorted((not fold_name(c.fields.name).startswith("an"), c.fields.name, c.customer_id)
                      for c in dataset.customers if any(w.startswith("an") for w in fold_name(c.fields.name).split()))
    assert ids(await store.search_customers("  AN ")) == [cid for _, _, cid in expected]
    assert ids(await store.search_customers("an", limit=2)) == [cid for _, _, cid in expected[:2]]
    assert ids(await store.search_customers("<script>")) == ["10000003"]
    assert ids(await store.search_customers("10000004")) == ["10000004"]
    assert ids(await store.search_customers("0812 1000")) == ["10000001"]
    assert ids(await store.search_customers("(031) 555-0202")) == ["10000002"]
    assert ids(await store.search_customers("100%")) == []  # LIKE wildcards are plain characters
    assert await store.search_customers("   ") == []


# -- writes --------------------------------------------------------------------------------------


async def test_unknown_caller_gets_a_blank_record_to_fill_in(store: CustomerRepository) -> None:
    blank = await store.create_blank_customer("(022) 555-9876")
    assert blank == CustomerRecord(
        customer_id="10000109", name="", phones=("+62225559876",), email=None, address=None, city=None,
        region="bandung", country="ID", language="id", segment=None, value_tier=None, lifetime_value_minor=0,
        consent=Consent(), forgotten_at=None, created_at=LATER, updated_at=LATER,
    )
    assert await store.customer_by_phone("022 5559876") == blank

    filled = replace(blank.fields(), name="  Asep   Suryana ", email=" Asep@Example.COM ", city="Bandung",
                     phones=("0813-2200-0009", "022 5559876"), value_tier="Silver", language="en",
                     consent=Consent(email=True))
    updated = await store.update_customer(blank.customer_id, filled)
    assert updated == replace(blank, name="Asep Suryana", email="asep@example.com", city="Bandung",
                              phones=("+6281322000009", "+62225559876"), value_tier="silver", language="en",
                              consent=Consent(email=True))
    assert await store.customer(blank.customer_id) == updated

    mobile = await store.create_blank_customer("0813 9000 1234")
    assert (mobile.customer_id, mobile.phones, mobile.region, mobile.country) == (
        "10000110", ("+6281390001234",), None, "ID")
    nobody = await store.create_blank_customer("anonymous")
    assert (nobody.customer_id, nobody.phones) == ("10000111", ())


CONSENT_COLUMNS = ("SELECT consent_marketing_calls, consent_email, consent_data_sharing, consent_phone_calls, "
                   "consent_surveys FROM customers WHERE customer_id = ")


async def test_each_consent_is_stored_in_its_own_column_both_ways(store: CustomerRepository, db_url: str) -> None:
    rudi = await store.customer("10000005")  # the demo's customer who agreed to nothing
    assert rudi is not None and rudi.consent == Consent()

    surveys_only = await store.set_consent("10000005", Consent(surveys=True))
    assert surveys_only == replace(rudi, consent=Consent(surveys=True), updated_at=LATER)
    assert await store.customer("10000005") == surveys_only
    assert await raw_rows(db_url, CONSENT_COLUMNS + "'10000005'") == [(False, False, False, False, True)]

    calls_only = await store.update_customer("10000005", replace(rudi.fields(), consent=Consent(phone_calls=True)))
    assert calls_only.consent == Consent(phone_calls=True)
    assert await raw_rows(db_url, CONSENT_COLUMNS + "'10000005'") == [(False, False, False, True, False)]

    created = await store.create_customer(CustomerFields(name="Wayan Sudarma", phones=("0813-3700-0001",),
                                                         consent=Consent(email=True, surveys=True)))
    assert created.consent == Consent(email=True, surveys=True)
    assert await raw_rows(db_url, CONSENT_COLUMNS + f"'{created.customer_id}'") == [(False, True, False, False, True)]


async def test_a_blank_record_is_created_whole_or_not_at_all(store: CustomerRepository) -> None:
    filled = await store.create_blank_customer("(022) 555-9876", name=" Asep  Suryana ", email="Asep@Example.COM",
                                               language="en")
    assert (filled.name, filled.phones, filled.email, filled.region, filled.language, filled.created_at) == (
        "Asep Suryana", ("+62225559876",), "asep@example.com", "bandung", "en", LATER)
    # An invalid value is the caller's to fix (not a database failure), and leaves nothing behind.
    with pytest.raises(CrmInputError) as refused:
        await store.create_blank_customer("0813 9000 1234", name="Rina", email="rina@")
    assert isinstance(refused.value, InvalidInput) and not isinstance(refused.value, StorageError)
    assert [(p.field, p.reason) for p in refused.value.problems] == [("email", "not an email address: 'rina@'")]
    assert await store.customer_by_phone("0813 9000 1234") is None
    assert await store.search_customers("Rina") == []


async def test_writes_refuse_bad_input_and_taken_phones(store: CustomerRepository) -> None:
    with pytest.raises(StorageConflict, match=r"phone \+6281210000001 already belongs to customer 10000001"):
        await store.create_customer(CustomerFields(name="Copycat", phones=("0812-1000-0001",)))
    with pytest.raises(StorageConflict, match="10000002: the number is taken"):
        await store.create_customer(CustomerFields(name="Dup"), customer_id="10000002")
    with pytest.raises(CrmInputError) as refused:
        await store.create_customer(CustomerFields(name="x" * 201, phones=("12",), email="nope", value_tier="vip"))
    assert [(p.field, p.reason) for p in refused.value.problems] == [
        ("phone", "not a phone number: '12'"),
        ("email", "not an email address: 'nope'"),
        ("value_tier", "'vip' is not one of bronze, silver, gold, platinum"),
        ("name", "longer than 200 characters"),
    ]
    siti = await store.customer("10000002")
    assert siti is not None
    with pytest.raises(StorageConflict, match="already belongs to customer 10000001"):
        await store.update_customer("10000002", replace(siti.fields(), phones=(*siti.phones, "+6281210000001")))
    with pytest.raises(StorageError, match="no customer '77777777'"):
        await store.update_customer("77777777", siti.fields())
    assert await store.customer("10000002") == siti
    # A failed write leaves no half-made customer behind.
    assert [c.customer_id for c in await store.search_customers("copycat")] == []


async def test_add_contact_then_view_shows_it_first(store: CustomerRepository) -> None:
    contact = NewContact(
        customer_id="10000004", channel="call", at=T, reason="billing", disposition="sale", notes="Paid by card",
        agent_id="a-107", call_id="call-42", language="en", script_answers={"q1": "yes", "amount": 520000},
        cross_sell_offered=("PROT-DEV", "CHRG-65W"), cross_sell_accepted=("PROT-DEV",),
        follow_up_at=T + days(1), follow_up_task="Check the payment arrived",
    )
    stored = await store.add_contact(contact)
    assert stored == ContactRecord(
        contact_id=stored.contact_id, customer_id="10000004", channel="call", at=T, reason="billing",
        disposition="sale", notes="Paid by card", agent_id="a-107", call_id="call-42", language="en",
        script_answers={"q1": "yes", "amount": 520000}, cross_sell_offered=("PROT-DEV", "CHRG-65W"),
        cross_sell_accepted=("PROT-DEV",), follow_up_at=T + days(1), follow_up_task="Check the payment arrived",
    )
    view = await store.customer_view("10000004")
    assert view is not None and view.contacts[0] == stored and len(view.contacts) == 2
    with pytest.raises(CrmInputError, match="channel: 'fax' is not one of call, email, web, chat"):
        await store.add_contact(replace(contact, channel="fax"))
    with pytest.raises(CrmInputError, match="at: naive datetime refused"):
        await store.add_contact(replace(contact, at=datetime(2025, 3, 14, 10, 0)))
    with pytest.raises(StorageError, match="no customer '31337000'"):
        await store.add_contact(replace(contact, customer_id="31337000"))


# -- what cross-sell and marketing read ----------------------------------------------------------


async def test_catalog_complements_promotions_and_segment_holdings(
    store: CustomerRepository, dataset: CrmDataset
) -> None:
    catalog = await store.catalog()
    assert [p.sku for p in catalog] == sorted(p.sku for p in dataset.products)
    assert catalog[0] == product("BUDS-2", "Earbud Nirkabel Nusa Buds 2", "Nusa Buds 2 wireless earbuds",
                                 "accessory", 899_000)
    assert await store.complements() == sorted(dataset.complements, key=lambda c: (c.sku, c.complement_sku))

    def promotions(at: datetime, segment: str | None = None) -> Any:
        return [p.promotion_id for p in dataset.promotions if p.is_active(at)
                and (segment is None or p.segment in (None, segment))]

    for at, segment in ((T, None), (T, "family"), (T, "youth"), (T - days(45), None), (T + days(8), "business")):
        assert [p.promotion_id for p in await store.active_promotions(at, segment=segment)] == sorted(
            promotions(at, segment))
    assert [p.promotion_id for p in await store.active_promotions(T)] == [
        "PROMO-ACC-YOUTH", "PROMO-CHRG", "PROMO-FIBER-FAM"]

    segments = {c.customer_id: c for c in dataset.customers}
    for segment in ("family", "professional"):
        everyone = sorted((h.customer_id, h.sku) for h in dataset.holdings
                          if segments[h.customer_id].fields.segment == segment)
        consented = [(cid, sku) for cid, sku in everyone if segments[cid].fields.consent.data_sharing]
        assert [(h.customer_id, h.sku) for h in await store.segment_holdings(segment)] == consented
        assert [(h.customer_id, h.sku) for h in await store.segment_holdings(segment, consented_only=False)] == everyone
    assert ("10000004", "PLAN-XL") not in {(h.customer_id, h.sku) for h in await store.segment_holdings("professional")}


async def test_marketing_audience_respects_consent(store: CustomerRepository, dataset: CrmDataset) -> None:
    calls = [c.customer_id for c in dataset.customers if c.fields.consent.marketing_calls and c.fields.phones]
    emails = [c.customer_id for c in dataset.customers if c.fields.consent.email and c.fields.email]
    assert [c.customer_id for c in await store.marketing_audience("call")] == sorted(calls)
    assert [c.customer_id for c in await store.marketing_audience("email")] == sorted(emails)
    assert "10000005" not in calls + emails and "10000002" not in calls
    family = [c.customer_id for c in dataset.customers if c.customer_id in emails and c.fields.segment == "family"]
    assert [c.customer_id for c in await store.marketing_audience("email", segment="family")] == sorted(family)


# -- right to erasure ----------------------------------------------------------------------------


async def test_forget_anonymises_personal_data_and_keeps_aggregates(
    store: CustomerRepository, db: Database, db_url: str
) -> None:
    def call(call_id: str, number: str, routing: dict[str, Any] | None = None) -> InteractionRecord:
        return InteractionRecord(call_id=call_id, channel_id=f"ch-{call_id}", caller_number=number,
                                 caller_name="Budi Santoso", service_number="1500100", queue="care", arrived_at=T,
                                 routing=routing)

    await InteractionRepository(db).save(call("call-linked", "+6281299999999"))
    await InteractionRepository(db).save(call("call-by-number", "081210000001",
                                              {"decisions": [{"reason": "calling +6281210000001 back"}],
                                               "region": "jakarta"}))
    await InteractionRepository(db).save(call("call-other", "+6281377777777"))
    await store.add_contact(NewContact(customer_id="10000001", channel="call", at=T, call_id="call-linked",
                                       disposition="resolved", notes="Alamat baru: Jl. Rahasia 1",
                                       cross_sell_offered=("ROUTER-MESH",), cross_sell_accepted=("ROUTER-MESH",)))
    before = await store.customer_view("10000001")
    assert before is not None
    assert "10000001" in {h.customer_id for h in await store.segment_holdings("professional")}

    forgotten = await store.forget("10000001")

    assert forgotten.customer == replace(BUDI, name="", phones=(), email=None, address=None, city=None,
                                         consent=Consent(), forgotten_at=LATER, updated_at=LATER)
    assert await raw_rows(db_url, CONSENT_COLUMNS + "'10000001'") == [(False,) * 5]  # all agreed before
    with_notes = [c for c in before.contacts if c.notes or c.script_answers or c.follow_up_task]
    assert forgotten.erased == {"customer": 1, "phones": 2, "contacts": len(with_notes), "cases": 1, "orders": 1,
                                "interactions": 2, "dead_letters": 0}
    assert forgotten.call_ids == ("call-by-number", "call-linked")
    again = await store.forget("10000001")  # idempotent: nothing left to erase
    assert again.customer == forgotten.customer
    assert again.erased == dict.fromkeys(forgotten.erased, 0)
    after = await store.customer_view("10000001")
    assert after is not None
    assert after.owned == before.owned and after.unpaid_invoices == before.unpaid_invoices
    assert after.balance_due_minor == 75_000_000
    assert [(c.contact_id, c.channel, c.at, c.disposition, c.notes, c.script_answers, c.follow_up_task,
             c.cross_sell_accepted) for c in after.contacts] == [
        (c.contact_id, c.channel, c.at, c.disposition, None, None, None, c.cross_sell_accepted)
        for c in before.contacts]
    assert [c.subject for c in after.open_cases] == [""]
    order = await store.order_status("50000001")
    assert order is not None and (order.tracking_number, order.carrier, order.total_minor) == (None, "JNE",
                                                                                             349_900_000)
    assert await store.customer_by_phone("0812-1000-0001") is None
    assert await store.search_customers("Budi") == []
    assert "10000001" not in [c.customer_id for c in await store.marketing_audience("call")]
    assert "10000001" not in {h.customer_id for h in await store.segment_holdings("professional")}
    assert "10000001" in {h.customer_id for h in await store.segment_holdings("professional", consented_only=False)}
    with pytest.raises(StorageError, match="their data was erased"):
        await store.update_customer("10000001", BUDI.fields())

    rows = await raw_rows(db_url, "SELECT call_id, caller_number, caller_name FROM interactions ORDER BY call_id")
    assert [tuple(row) for row in rows] == [
        ("call-by-number", "anonymous", None),
        ("call-linked", "anonymous", None),
        ("call-other", "+6281377777777", "Budi Santoso"),
    ]
    scrubbed = await InteractionRepository(db).get("call-by-number")
    assert scrubbed is not None and scrubbed.routing == {"decisions": [{"reason": "calling anonymous back"}],
                                                         "region": "jakarta"}
    # The freed number can belong to someone else now.
    assert (await store.create_blank_customer("0812-1000-0001")).phones == ("+6281210000001",)
    with pytest.raises(StorageError, match="no customer '55555555'"):
        await store.forget("55555555")


# -- IVR verification ------------------------------------------------------------------------------


async def test_a_pin_is_stored_only_hashed_and_checked_with_the_date_of_birth(
    store: CustomerRepository, db_url: str
) -> None:
    budi = await store.credentials("10000001")
    assert budi is not None and budi.pin_hash is not None and budi.pin_hash.startswith("scrypt$16384$8$1$")
    assert (budi.birth_date, budi.forgotten) == (BUDI_BIRTH_DATE, False)
    assert "2468" not in repr(budi) and "1975" not in repr(budi)
    assert check_keys(budi, BUDI_PIN) == ("pin", True)
    assert check_keys(budi, "2469") == ("pin", False)
    assert check_keys(budi, "17081975") == ("dob", True)
    assert check_keys(budi, "18081975") == ("dob", False)
    assert check_keys(await store.credentials("10000003"), "17081975") == ("dob", False)  # no date of birth set
    assert await store.credentials("55555555") is None

    await store.set_credentials("10000003", pin_hash=hash_pin("9090"), birth_date=date(2001, 2, 3))
    dewi = await store.credentials("10000003")
    assert check_keys(dewi, "9090") == ("pin", True) and check_keys(dewi, "03022001") == ("dob", True)
    await store.set_credentials("10000003", clear=("pin",))  # the date of birth stays
    dewi = await store.credentials("10000003")
    assert dewi is not None and (dewi.pin_hash, dewi.birth_date) == (None, date(2001, 2, 3))
    assert check_keys(dewi, "9090") == ("pin", False)
    rows = await raw_rows(db_url, "SELECT customer_id, pin_hash FROM customers WHERE pin_hash IS NOT NULL")
    assert [row[0] for row in rows] == ["10000001", "10000004"]
    assert not any(pin in row[1] for row in rows for pin in (BUDI_PIN, JAMES_PIN))

    with pytest.raises(CrmInputError, match=r"pin_hash: not a hash made by cti\.crm\.hash_pin"):
        await store.set_credentials("10000003", pin_hash="1234")
    with pytest.raises(StorageError, match="no customer '55555555'"):
        await store.set_credentials("55555555", birth_date=date(2001, 2, 3))


async def test_forgetting_a_customer_erases_their_pin_and_date_of_birth(store: CustomerRepository) -> None:
    await store.forget("10000001")
    budi = await store.credentials("10000001")
    assert budi is not None and (budi.pin_hash, budi.birth_date, budi.forgotten) == (None, None, True)
    assert check_keys(budi, BUDI_PIN) == ("pin", False)
    with pytest.raises(StorageError, match="their data was erased"):
        await store.set_credentials("10000001", pin_hash=hash_pin("1111"))


async def test_the_portal_finds_customers_by_e_mail_and_keeps_codes_and_sessions_by_hash(
        store: CustomerRepository) -> None:
    found = await store.customer_by_email(" SITI.rahayu@example.COM ")
    assert found is not None and found.customer_id == "10000002"
    assert await store.customer_by_email("nobody@example.com") is None
    assert [o.order_number for o in await store.recent_orders("10000001")] == ["50000001"]  # delivered too
    portal = PortalRepository(store.db)
    code = PortalCodeRecord(address_hash="a" * 64, customer_id="10000002", code_hash="c" * 64, salt="s" * 32,
                            created_at=T, expires_at=T + timedelta(minutes=10))
    await portal.put_code(code)
    await portal.put_code(replace(code, code_hash="d" * 64))  # one live code per address
    await portal.count_attempt("a" * 64)
    assert await portal.code("a" * 64) == replace(code, code_hash="d" * 64, attempts=1)
    assert not await portal.spend_code("a" * 64, "c" * 64)
    assert await portal.spend_code("a" * 64, "d" * 64) and await portal.code("a" * 64) is None
    session = PortalSessionRecord(key="k" * 64, customer_id="10000002", created_at=T, last_seen_at=T,
                                  expires_at=T + timedelta(hours=12), csrf_hash="x" * 64)
    await portal.create_session(session)
    await portal.touch_session("k" * 64, T + timedelta(minutes=5))
    assert await portal.session("k" * 64) == replace(session, last_seen_at=T + timedelta(minutes=5))
    await portal.put_code(code)
    await store.forget("10000002")  # erasure ends both
    assert await portal.session("k" * 64) is None and await portal.code("a" * 64) is None
    assert await store.customer_by_email("siti.rahayu@example.com") is None
    await portal.create_session(replace(session, customer_id="10000001"))
    assert await portal.purge(now=T + timedelta(hours=12), idle_since=T) == 1
    assert not await portal.delete_session("k" * 64)
