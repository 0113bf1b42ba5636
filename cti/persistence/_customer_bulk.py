"""Bulk writes of customers: the CSV import's writer, and the loader of a whole dataset (the demo's seed).

Each runs in one transaction. The import's matching, merging and precedence rules are the domain's
(:mod:`cti.crm._importer`); what is here is how the merged customers meet the rows already stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm import (
    CrmDataset,
    CsvCustomer,
    CustomerFields,
    ImportPlan,
    ImportReport,
    MergedCustomer,
    Rejection,
    apply_values,
    clean_customer,
    hash_pin,
)

from . import _customer_rows
from ._database import Database
from ._tables import CustomerPhoneRow, CustomerRow

__all__ = ["import_customers", "load_dataset"]


class _DryRun(Exception):
    def __init__(self, report: ImportReport) -> None:
        super().__init__("dry run")
        self.report = report


async def import_customers(db: Database, plan: ImportPlan, *, now: datetime, dry_run: bool) -> ImportReport:
    """Write ``plan`` in one transaction (rolled back for a dry run, after the same work) and report."""
    writer = _Writer(now)
    try:
        async with db.transaction("import customers") as session:
            await writer.run(session, plan.customers)
            report = plan.report(created=writer.created, updated=writer.updated, unchanged=writer.unchanged,
                                 refused=writer.rejected, dry_run=dry_run)
            if dry_run:
                raise _DryRun(report)  # leaves the transaction by an exception: rolled back
    except _DryRun as done:
        return done.report
    return report


async def load_dataset(db: Database, dataset: CrmDataset) -> int:
    """Write ``dataset`` unless the CRM holds customers already; the customers written."""
    async with db.transaction("seed the CRM") as session:
        if await session.scalar(select(func.count()).select_from(CustomerRow)):
            return 0
        for customer in dataset.customers:
            row = CustomerRow(
                customer_id=customer.customer_id, created_at=customer.created_at, updated_at=customer.created_at
            )
            _customer_rows.apply_fields(row, customer.fields)
            row.pin_hash = None if customer.pin is None else hash_pin(customer.pin)
            row.birth_date = customer.birth_date
            session.add(row)
        session.add_all(_customer_rows.product_row(product) for product in dataset.products)
        # Flushed table by table: without ORM relationships nothing orders the inserts by foreign key.
        await session.flush()
        for customer in dataset.customers:
            session.add_all(_customer_rows.phone_rows(customer.customer_id, customer.fields.phones))
        session.add_all(_customer_rows.complement_row(complement) for complement in dataset.complements)
        session.add_all(_customer_rows.holding_row(holding) for holding in dataset.holdings)
        session.add_all(_customer_rows.order_row(order) for order in dataset.orders)
        session.add_all(_customer_rows.promotion_row(promotion) for promotion in dataset.promotions)
        await session.flush()
        session.add_all(_customer_rows.invoice_row(invoice) for invoice in dataset.invoices)
        session.add_all(_customer_rows.contact_row(contact) for contact in dataset.contacts)
        session.add_all(_customer_rows.case_row(case) for case in dataset.cases)
        session.add_all(_customer_rows.shipment_step_row(step) for step in dataset.shipment_steps)
        await session.flush()
        return len(dataset.customers)


@dataclass(slots=True)
class _Writer:
    now: datetime
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    """Every row of each customer refused here."""
    reserved: set[str] = field(default_factory=set)
    """Customer numbers the file gives: never allocated to another row."""
    next_id: int | None = None

    async def run(self, session: AsyncSession, merged: Sequence[MergedCustomer]) -> None:
        phone_owner, email_owners, existing = await self._prefetch(session, merged)
        self.reserved = {m.values.customer_id for m in merged if m.values.customer_id is not None}
        for customer in merged:
            values = customer.values
            matches: dict[str, str] = {}
            if values.customer_id is not None and values.customer_id in existing:
                matches[values.customer_id] = "customer_id"
            for phone in values.phones:
                if phone in phone_owner:
                    matches.setdefault(phone_owner[phone], "phone")
            if values.email is not None:
                for owner in email_owners.get(values.email, ()):
                    matches.setdefault(owner, "email")
            if len(matches) > 1:
                column = next(iter(matches.values()))
                self._refuse(customer, column, f"matches several existing customers ({', '.join(sorted(matches))}):"
                                               " merge them by hand first")
            elif matches:
                await self._update(session, customer, next(iter(matches)))
            else:
                await self._create(session, values)

    async def _prefetch(
        self, session: AsyncSession, merged: Sequence[MergedCustomer]
    ) -> tuple[dict[str, str], dict[str, list[str]], set[str]]:
        phones = sorted({p for m in merged for p in m.values.phones})
        emails = sorted({m.values.email for m in merged if m.values.email is not None})
        numbers = sorted({m.values.customer_id for m in merged if m.values.customer_id is not None})
        phone_owner: dict[str, str] = {}
        email_owners: dict[str, list[str]] = {}
        existing: set[str] = set()
        # Chunked: SQLite allows at most 32766 bound parameters per statement.
        for chunk in _chunks(phones):
            query = select(CustomerPhoneRow.e164, CustomerPhoneRow.customer_id).where(CustomerPhoneRow.e164.in_(chunk))
            phone_owner.update({e164: owner for e164, owner in await session.execute(query)})
        for chunk in _chunks(emails):
            query = (
                select(func.lower(CustomerRow.email), CustomerRow.customer_id)
                .where(func.lower(CustomerRow.email).in_(chunk), CustomerRow.forgotten_at.is_(None))
                .order_by(CustomerRow.customer_id)
            )
            for email, owner in await session.execute(query):
                email_owners.setdefault(email, []).append(owner)
        for chunk in _chunks(numbers):
            existing.update(await session.scalars(
                select(CustomerRow.customer_id).where(CustomerRow.customer_id.in_(chunk))))
        return phone_owner, email_owners, existing

    def _refuse(self, customer: MergedCustomer, column: str, reason: str) -> None:
        self.rejected.extend(Rejection(row, column, reason) for row in customer.rows)

    async def _update(self, session: AsyncSession, customer: MergedCustomer, customer_id: str) -> None:
        row = await session.get(CustomerRow, customer_id)
        assert row is not None  # found by the prefetch, in this transaction
        if row.forgotten_at is not None:
            self._refuse(customer, "customer_id", f"customer {customer_id} was erased on request: their personal"
                                                  " data is not imported again")
            return
        current = (await _customer_rows.customer_records(session, [row]))[0]
        merged, problems = clean_customer(apply_values(current.fields(), customer.values))
        if problems:  # pragma: no cover - every value was checked when parsed
            self._refuse(customer, problems[0].field, problems[0].reason)
            return
        if merged == current.fields():
            self.unchanged.append(customer_id)
            return
        _customer_rows.apply_fields(row, merged)
        row.updated_at = self.now
        for position, e164 in enumerate(merged.phones):
            if e164 not in current.phones:
                session.add(_customer_rows.phone_row(customer_id, e164, position))
        await session.flush()
        self.updated.append(customer_id)

    async def _create(self, session: AsyncSession, values: CsvCustomer) -> None:
        if values.customer_id is not None:
            customer_id = values.customer_id
        else:
            if self.next_id is None:
                self.next_id = int(await _customer_rows.next_customer_id(session))
            while str(self.next_id) in self.reserved:
                self.next_id += 1
            customer_id = str(self.next_id)
            self.next_id += 1
        fields, _ = clean_customer(apply_values(CustomerFields(), values))
        row = CustomerRow(customer_id=customer_id, created_at=self.now, updated_at=self.now)
        _customer_rows.apply_fields(row, fields)
        session.add(row)
        await session.flush()
        session.add_all(_customer_rows.phone_rows(customer_id, fields.phones))
        await session.flush()
        self.created.append(customer_id)


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
