"""Orders as their customer tracks them on the portal: one order with its shipment's steps, invoices and products,
and a customer's invoices. Every read names the customer: an order is found only among its own customer's (a
portal cannot reach another customer's order by its number)."""

from __future__ import annotations

from sqlalchemy import select

from cti.crm import SHIPMENT_STEPS as STEPS
from cti.crm import CrmInputError, InvoiceRecord, OrderDetail, ShipmentStep
from cti.errors import Problem

from . import _customer_rows
from ._database import Database
from ._errors import StorageError
from ._sql import check_limit
from ._tables import InvoiceRow, OrderRow, ProductRow, ShipmentStepRow

__all__ = ["OrderRepository"]


class OrderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def order_detail(self, customer_id: str, order_number: str) -> OrderDetail | None:
        """Order ``order_number`` if it is ``customer_id``'s (None otherwise, alike for a missing one), with its
        shipment's steps (oldest first), its invoices (oldest first) and its items' products."""
        async with self._db.transaction(f"read order {order_number!r} of customer {customer_id!r}") as session:
            row = await session.get(OrderRow, order_number)
            if row is None or row.customer_id != customer_id:
                return None
            order = _customer_rows.order_record(row)
            steps = await session.scalars(select(ShipmentStepRow).where(ShipmentStepRow.order_number == order_number)
                                          .order_by(ShipmentStepRow.at, ShipmentStepRow.step_id))
            invoices = await session.scalars(select(InvoiceRow).where(InvoiceRow.order_number == order_number)
                                             .order_by(InvoiceRow.issued_at, InvoiceRow.invoice_number))
            skus = sorted({item.sku for item in order.items})
            products = await session.scalars(select(ProductRow).where(ProductRow.sku.in_(skus)))
            return OrderDetail(order=order, steps=tuple(_customer_rows.shipment_step(s) for s in steps),
                               invoices=tuple(_customer_rows.invoice_record(i) for i in invoices),
                               products={p.sku: _customer_rows.product_record(p) for p in products})

    async def invoices(self, customer_id: str, *, limit: int = 20) -> list[InvoiceRecord]:
        """The customer's invoices, paid or not, the most recently issued first."""
        check_limit(limit)
        query = (select(InvoiceRow).where(InvoiceRow.customer_id == customer_id)
                 .order_by(InvoiceRow.issued_at.desc(), InvoiceRow.invoice_number.desc()).limit(limit))
        async with self._db.transaction(f"read the invoices of customer {customer_id!r}") as session:
            return [_customer_rows.invoice_record(row) for row in await session.scalars(query)]

    async def add_shipment_step(self, step: ShipmentStep) -> None:
        """A carrier's scan of an order's parcel. :class:`cti.crm.CrmInputError` for an unknown step or a naive
        time; :class:`StorageError` for no such order."""
        problems = []
        if step.step not in STEPS:
            problems.append(Problem("step", f"{step.step!r} is not one of {', '.join(STEPS)}"))
        if step.at.utcoffset() is None:
            problems.append(Problem("at", "naive datetime refused: use an aware UTC datetime"))
        if step.location is not None and len(step.location) > 64:
            problems.append(Problem("location", "at most 64 characters"))
        if problems:
            raise CrmInputError(f"record a shipment step of order {step.order_number}", problems)
        async with self._db.transaction(f"record a shipment step of order {step.order_number}") as session:
            if await session.get(OrderRow, step.order_number) is None:
                raise StorageError(f"no order {step.order_number!r}")
            session.add(_customer_rows.shipment_step_row(step))
