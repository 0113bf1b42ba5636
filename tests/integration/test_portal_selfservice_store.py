"""The portal self-service's store code on SQLite and PostgreSQL: an order with its shipment steps (seeded by the
demo, added by a carrier's scan), found only through its own customer; a customer's invoices; the callbacks a
customer asked for on the portal, apart from those agents scheduled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cti.acd import CallbackStatus, ScheduledCallback
from cti.crm import CrmInputError, ShipmentStep
from cti.persistence import CallbackRepository, CustomerRepository, Database, OrderRepository, StorageError
from cti.sim import generate
from tests.support import create_postgres_database

T = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    drop = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('portal')}/cti.db"
    else:
        url, drop = asyncio.run(create_postgres_database())  # fails, never skips, when CI is set
    try:
        yield url
    finally:
        if drop is not None:
            asyncio.run(drop())


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    await database.upgrade()
    try:
        await CustomerRepository(database).seed(generate(now=T, customers=14, seed=3))
        yield database
    finally:
        await database.close()


async def test_an_order_comes_with_its_steps_invoices_and_products_only_through_its_customer(db: Database) -> None:
    orders = OrderRepository(db)
    detail = await orders.order_detail("10000002", "50000002")
    assert detail is not None
    assert [(s.at, s.step, s.location) for s in detail.steps] == [
        (T - timedelta(hours=27), "packed", "Cikarang"), (T - timedelta(hours=24), "picked_up", "Cikarang"),
        (T - timedelta(hours=19), "in_transit", "Jakarta"), (T - timedelta(hours=6), "at_hub", "Surabaya")]
    assert [i.invoice_number for i in detail.invoices] == ["INV-0000004"]
    assert sorted(detail.products) == ["BUDS-2", "PHONE-X1PRO"]
    assert await orders.order_detail("10000001", "50000002") is None  # Siti's order, asked for by Budi
    assert await orders.order_detail("10000002", "59999999") is None

    await orders.add_shipment_step(ShipmentStep(order_number="50000002", at=T + timedelta(hours=1),
                                                step="out_for_delivery", location="Surabaya"))
    again = await orders.order_detail("10000002", "50000002")
    assert again is not None and [s.step for s in again.steps][-2:] == ["at_hub", "out_for_delivery"]
    with pytest.raises(CrmInputError) as bad:
        await orders.add_shipment_step(ShipmentStep(order_number="50000002", at=T.replace(tzinfo=None),
                                                    step="teleported", location="x" * 65))
    assert [p.field for p in bad.value.problems] == ["step", "at", "location"]
    with pytest.raises(StorageError):
        await orders.add_shipment_step(ShipmentStep(order_number="59999999", at=T, step="packed"))

    delivered = await orders.order_detail("10000001", "50000001")
    assert delivered is not None and [s.step for s in delivered.steps] == [
        "packed", "picked_up", "in_transit", "at_hub", "out_for_delivery", "delivered"]


async def test_a_customers_invoices_come_newest_first(db: Database) -> None:
    invoices = await OrderRepository(db).invoices("10000001")
    assert [(i.invoice_number, i.due_date, i.due_minor) for i in invoices] == [
        ("INV-0000003", date(2026, 3, 11), 75_000_000), ("INV-0000002", date(2026, 2, 9), 0),
        ("INV-0000001", date(2025, 2, 6), 0)]
    assert len(await OrderRepository(db).invoices("10000001", limit=1)) == 1


async def test_the_callbacks_a_customer_asked_for_are_theirs_alone(db: Database) -> None:
    store = CallbackRepository(db)

    def callback(n: int, customer_id: str, created_by: str) -> ScheduledCallback:
        return ScheduledCallback(callback_id=f"{n:032x}", customer_id=customer_id, queue="general",
                                 due_at=T + timedelta(hours=n), reason="r", agent_id=None, created_by=created_by,
                                 created_at=T + timedelta(minutes=n))

    for n, customer_id, by in ((1, "10000002", "customer:10000002"), (2, "10000002", "agent-ana"),
                               (3, "10000001", "customer:10000001"), (4, "10000002", "customer:10000002")):
        await store.save(callback(n, customer_id, by))
    await store.save(replace(callback(1, "10000002", "customer:10000002"), status=CallbackStatus.CANCELLED))
    found = await store.of_customer("10000002", created_by="customer:10000002")
    assert [(c.callback_id[-1], c.status) for c in found] == [("4", CallbackStatus.SCHEDULED),
                                                              ("1", CallbackStatus.CANCELLED)]
    assert [c.callback_id[-1] for c in await store.of_customer("10000002", created_by="customer:10000002",
                                                                 limit=1)] == ["4"]
