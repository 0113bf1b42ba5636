"""cti's copies of customers another CRM keeps (docs/crm.md, "Another CRM as the source").

A record an external system hands over (:class:`cti.crm.ExternalCustomer`) becomes an ordinary row of
``customers``, keyed by ``external_ref`` (that system's id), so everything cti does with its own customers
(contacts, history, consent, callbacks, surveys, erasure) works with these unchanged. Each mirror is one
transaction; it writes only when the external record changed what cti has.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm import CrmInputError, CustomerFields, CustomerRecord, ExternalCustomer, clean_customer, mirrored_fields
from cti.types import utc_now

from . import _customer_rows
from ._customers import _replace_phones as replace_phones
from ._database import Database
from ._tables import CustomerPhoneRow, CustomerRow

__all__ = ["CustomerMirror"]

log = logging.getLogger("cti.persistence")


class CustomerMirror:
    """``clock`` stamps ``created_at``/``updated_at``; ``default_country`` reads national phone numbers."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utc_now,
                 default_country: str = "ID") -> None:
        self._db = db
        self._clock = clock
        self._country = default_country

    async def mirror(self, external: ExternalCustomer) -> CustomerRecord:
        """cti's copy of ``external``, created or brought up to date: found by its ``external_ref``; else the
        customer of cti's own who has one of its phones (and no external record yet) becomes its copy, keeping
        their history and consent; else a new customer. An erased copy is returned as it is: an erased customer
        is never copied back. Phones another customer of cti's has stay theirs (left off this copy).

        :class:`cti.crm.CrmInputError` when the record's values are refused (as an agent's would be)."""
        async with self._db.transaction("mirror a customer of the external CRM",
                                        conflict="another copy of the customer was made meanwhile") as session:
            row = await session.scalar(select(CustomerRow).where(CustomerRow.external_ref == external.ref))
            if row is not None and row.forgotten_at is not None:
                return await self._record(session, row)
            clean = self._clean(mirrored_fields(None, external))
            owners: dict[str, str] = {}
            if clean.phones:
                owners = {e164: owner for e164, owner in await session.execute(
                    select(CustomerPhoneRow.e164, CustomerPhoneRow.customer_id)
                    .where(CustomerPhoneRow.e164.in_(clean.phones)))}
            if row is None:
                row = await self._adoptable(session, [owners[p] for p in clean.phones if p in owners])
            current = None if row is None else (await self._record(session, row)).fields()
            clean = self._clean(mirrored_fields(current, external))
            mine = None if row is None else row.customer_id
            taken = [p for p in clean.phones if owners.get(p, mine) != mine]
            if taken:
                log.info("%d phone(s) of external customer %s belong to another customer; left off the copy",
                         len(taken), external.ref)
                clean = replace(clean, phones=tuple(p for p in clean.phones if p not in taken))
            now = self._clock()
            if row is None:
                row = CustomerRow(customer_id=await _customer_rows.next_customer_id(session), created_at=now,
                                  updated_at=now, forgotten_at=None, external_ref=external.ref)
                _customer_rows.apply_fields(row, clean)
                session.add(row)
                await session.flush()  # the phones' foreign key needs the customer row first
                session.add_all(_customer_rows.phone_rows(row.customer_id, clean.phones))
                await session.flush()
                return await self._record(session, row)
            if current == clean and row.external_ref == external.ref:
                return await self._record(session, row)  # nothing changed: nothing written
            _customer_rows.apply_fields(row, clean)
            row.external_ref, row.updated_at = external.ref, now
            await replace_phones(session, row.customer_id, clean.phones)
            await session.flush()
            return await self._record(session, row)

    async def external_ref(self, customer_id: str) -> str | None:
        """The external system's id of cti's customer ``customer_id``, if the row is a copy."""
        async with self._db.transaction("read a customer's external reference") as session:
            ref: str | None = await session.scalar(select(CustomerRow.external_ref)
                                                   .where(CustomerRow.customer_id == customer_id))
            return ref

    def _clean(self, fields: CustomerFields) -> CustomerFields:
        clean, problems = clean_customer(fields, default_country=self._country)
        if problems:
            raise CrmInputError("mirror a customer of the external CRM", problems)
        return clean

    async def _adoptable(self, session: AsyncSession, owners: list[str]) -> CustomerRow | None:
        for customer_id in owners:
            row = await session.get(CustomerRow, customer_id)
            if row is not None and row.external_ref is None and row.forgotten_at is None:
                return row
        return None

    @staticmethod
    async def _record(session: AsyncSession, row: CustomerRow) -> CustomerRecord:
        return (await _customer_rows.customer_records(session, [row]))[0]
