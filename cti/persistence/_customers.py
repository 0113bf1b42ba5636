"""The CRM's store: what the screen pop, cross-sell, scripts and IVR self-service read and write.

Plain records in and out (:mod:`cti.crm`); each method is one transaction of one query or a few. Values are
checked by the domain's rules (:func:`cti.crm.clean_customer` and friends) before any database sees them, and
refused with :class:`cti.crm.CrmInputError`; every other failure is a :class:`StorageError`
(:class:`StorageConflict` for a phone or customer number that already belongs to another record).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final, Literal

from sqlalchemy import Text, and_, case, cast, delete, func, literal, null, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm import (
    OPEN_CASE_STATUSES,
    OPEN_ORDER_STATUSES,
    QUERY_LENGTH,
    ComplementRecord,
    Consent,
    ContactRecord,
    CrmDataset,
    CrmInputError,
    CustomerCredentials,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    ForgottenCustomer,
    HoldingRecord,
    ImportReport,
    NewContact,
    OrderRecord,
    OwnedProduct,
    ProductRecord,
    PromotionRecord,
    clean_customer,
    contact_problems,
    customer_id_problems,
    fields_for_caller,
    normalize_phone,
    phone_variants,
    plan_import,
    read_query,
)
from cti.errors import Problem
from cti.records import Reach
from cti.types import Language, utc_now

from . import _customer_bulk, _customer_rows
from ._chat import redact_chats
from ._database import Database
from ._errors import StorageConflict, StorageError
from ._redaction import prompts_of, redact
from ._sql import check, check_limit
from ._tables import (
    METADATA,
    CaseRow,
    ContactRow,
    CustomerPhoneRow,
    CustomerRow,
    DeadLetterRow,
    HoldingRow,
    InteractionRow,
    InvoiceRow,
    OrderRow,
    PortalCodeRow,
    PortalSessionRow,
    ProductComplementRow,
    ProductRow,
    PromotionRow,
    ScheduledCallbackRow,
)

__all__ = ["CustomerRepository"]

_ID_ATTEMPTS: Final = 5
_CONTACTS: Final = METADATA.tables["contacts"]


class CustomerRepository:
    """``clock`` stamps ``created_at``/``updated_at``/``forgotten_at`` (injected so tests can pin it)."""

    def __init__(
        self, db: Database, *, clock: Callable[[], datetime] = utc_now, default_country: str = "ID"
    ) -> None:
        self._db = db
        self._clock = clock
        self._country = default_country

    @property
    def db(self) -> Database:
        return self._db

    # -- customers -----------------------------------------------------------------------------

    async def customer(self, customer_id: str) -> CustomerRecord | None:
        async with self._db.transaction(f"read customer {customer_id!r}") as session:
            row = await session.get(CustomerRow, customer_id)
            return None if row is None else (await _customer_rows.customer_records(session, [row]))[0]

    async def customer_by_phone(self, number: str) -> CustomerRecord | None:
        """The customer owning ``number`` in any format ("0812-3456-7890", "+62 812..."), or ``None``."""
        e164 = normalize_phone(number, default_country=self._country)
        if e164 is None:
            return None
        query = select(CustomerRow).join(CustomerPhoneRow, CustomerPhoneRow.customer_id == CustomerRow.customer_id)
        async with self._db.transaction(f"look up customer by phone {e164}") as session:
            row = await session.scalar(query.where(CustomerPhoneRow.e164 == e164))
            return None if row is None else (await _customer_rows.customer_records(session, [row]))[0]

    async def customer_by_email(self, email: str) -> CustomerRecord | None:
        """The customer (not forgotten) whose e-mail is ``email``, compared without case; None if none is, or if
        several share it (an address that names no one person signs nobody in)."""
        address = email.strip().lower()
        if not address or "@" not in address:
            return None
        query = select(CustomerRow).where(func.lower(CustomerRow.email) == address,
                                          CustomerRow.forgotten_at.is_(None)).limit(2)
        async with self._db.transaction("look up a customer by e-mail") as session:
            rows = list(await session.scalars(query))
            return None if len(rows) != 1 else (await _customer_rows.customer_records(session, rows))[0]

    async def customer_view(self, customer_id: str, *, contacts: int = 5) -> CustomerView | None:
        """Profile, products owned, the last ``contacts`` contacts, open orders and cases, unpaid invoices."""
        if contacts < 0:
            raise StorageError(f"contacts must not be negative, not {contacts}")
        async with self._db.transaction(f"read the view of customer {customer_id!r}") as session:
            row = await session.get(CustomerRow, customer_id)
            if row is None:
                return None
            customer = (await _customer_rows.customer_records(session, [row]))[0]
            owned = await session.execute(
                select(HoldingRow, ProductRow)
                .join(ProductRow, ProductRow.sku == HoldingRow.sku)
                .where(HoldingRow.customer_id == customer_id)
                .order_by(HoldingRow.since, HoldingRow.sku)
            )
            recent = await session.scalars(
                select(ContactRow)
                .where(ContactRow.customer_id == customer_id)
                .order_by(ContactRow.at.desc(), ContactRow.contact_id.desc())
                .limit(contacts)
            )
            orders = await session.scalars(
                select(OrderRow)
                .where(OrderRow.customer_id == customer_id, OrderRow.status.in_(OPEN_ORDER_STATUSES))
                .order_by(OrderRow.placed_at.desc(), OrderRow.order_number.desc())
            )
            cases = await session.scalars(
                select(CaseRow)
                .where(CaseRow.customer_id == customer_id, CaseRow.status.in_(OPEN_CASE_STATUSES))
                .order_by(CaseRow.opened_at.desc(), CaseRow.case_id.desc())
            )
            invoices = await session.scalars(
                select(InvoiceRow)
                .where(InvoiceRow.customer_id == customer_id, InvoiceRow.paid_minor < InvoiceRow.amount_minor)
                .order_by(InvoiceRow.due_date, InvoiceRow.invoice_number)
            )
            return CustomerView(
                customer=customer,
                owned=tuple(OwnedProduct(_customer_rows.product_record(p), h.since) for h, p in owned),
                contacts=tuple(_customer_rows.contact_record(c) for c in recent) if contacts else (),
                open_orders=tuple(_customer_rows.order_record(o) for o in orders),
                open_cases=tuple(_customer_rows.case_record(c) for c in cases),
                unpaid_invoices=tuple(_customer_rows.invoice_record(i) for i in invoices),
            )

    async def search_customers(self, query: str, *, limit: int = 20, within: Reach | None = None,
                               also: Collection[str] = ()) -> list[CustomerRecord]:
        """Customers matching ``query`` (:func:`cti.crm.read_query`), most relevant first: the customer number,
        then the phone number the query normalises to, the name itself, names starting with it, then the rest
        (every word of the query starts a word of the name, in any case and without accents, or the query's
        digits are part of a phone); within each rank by name, then number. With ``within``, only customers of
        an interaction in that reach or named in ``also`` (live calls). Forgotten customers are never found;
        too short a query finds nobody."""
        check_limit(limit)
        read = read_query(query[:QUERY_LENGTH * 2], default_country=self._country)
        if read is None or read.empty:
            return []
        phone = select(CustomerPhoneRow.customer_id)
        ranks: list[tuple[Any, int]] = []
        matches: list[Any] = []
        if read.customer_id is not None:
            ranks.append((CustomerRow.customer_id == read.customer_id, 0))
            matches.append(CustomerRow.customer_id == read.customer_id)
        if read.e164 is not None:
            exact = CustomerRow.customer_id.in_(phone.where(CustomerPhoneRow.e164 == read.e164))
            ranks.append((exact, 1))
            matches.append(exact)
        if read.digits is not None:
            matches.append(CustomerRow.customer_id.in_(
                phone.where(CustomerPhoneRow.e164.contains(read.digits, autoescape=True))))
        if read.words:
            folded = " ".join(read.words)
            ranks += [(CustomerRow.search_name == folded, 2),
                      (CustomerRow.search_name.startswith(folded, autoescape=True), 3)]
            matches.append(and_(*(or_(CustomerRow.search_name.startswith(word, autoescape=True),
                                      CustomerRow.search_name.contains(" " + word, autoescape=True))
                                  for word in read.words)))
        rank = case(*ranks, else_=4) if ranks else literal(4)
        conditions: list[Any] = [or_(*matches), CustomerRow.forgotten_at.is_(None)]
        if within is not None:
            served = select(InteractionRow.customer_id).where(
                InteractionRow.customer_id.is_not(None),
                or_(InteractionRow.queue.in_(list(within.queues)), InteractionRow.agent_id.in_(list(within.agents))))
            conditions.append(or_(CustomerRow.customer_id.in_(served), CustomerRow.customer_id.in_(list(also))))
        # Code point order on both backends: PostgreSQL's default collation depends on the server's locale.
        by_name = CustomerRow.name.collate("C" if self._db.backend == "postgresql" else "BINARY")
        statement = select(CustomerRow).where(*conditions).order_by(rank, by_name, CustomerRow.customer_id)
        async with self._db.transaction(f"search customers ({read.kind})") as session:
            rows = list(await session.scalars(statement.limit(limit)))
            return await _customer_rows.customer_records(session, rows)

    async def create_customer(self, fields: CustomerFields, *, customer_id: str | None = None) -> CustomerRecord:
        """A new customer, numbered ``customer_id`` or the next free eight-digit number.

        Raises :class:`CrmInputError` for invalid fields (before anything is written) and
        :class:`StorageConflict` when a phone already belongs to someone else or the number is taken.
        """
        clean = self._clean(fields, "create customer")
        problems = customer_id_problems(customer_id)
        if problems:
            raise CrmInputError("create customer", problems)
        for attempt in range(1, _ID_ATTEMPTS + 1):
            try:
                async with self._db.transaction("create customer") as session:
                    await _refuse_taken_phones(session, clean.phones, owner=None)
                    if customer_id is not None and await session.get(CustomerRow, customer_id) is not None:
                        raise StorageConflict(f"cannot create customer {customer_id}: the number is taken")
                    number = customer_id or await _customer_rows.next_customer_id(session)
                    await self._insert_customer(session, number, clean)
                    return (await _customer_rows.customer_records(session, [await _get(session, number)]))[0]
            except StorageError as exc:
                # Two writers may have picked the same next number: the loser takes the one after.
                if customer_id is None and isinstance(exc.__cause__, IntegrityError) and attempt < _ID_ATTEMPTS:
                    continue
                raise
        raise AssertionError("unreachable")  # the last attempt returns or raises

    async def create_blank_customer(self, caller_number: str | None, *, name: str = "", email: str | None = None,
                                    language: Language = "id") -> CustomerRecord:
        """The record an agent fills in for an unknown caller: their number, and the region and country the
        number tells (fixed lines only have a region), with the name, email and language already known.

        Everything is checked before anything is written, and the customer is created whole, in one
        transaction: a refused value leaves no half-made record behind.
        """
        fields = CustomerFields()
        if caller_number:
            fields = fields_for_caller(caller_number, default_country=self._country)
        return await self.create_customer(replace(fields, name=name, email=email, language=language))

    async def set_consent(self, customer_id: str, consent: Consent) -> CustomerRecord:
        """Replace the customer's consents (and nothing else). :class:`StorageError` for no such customer or an
        erased one."""
        async with self._db.transaction(f"set the consents of customer {customer_id}") as session:
            row = await _get(session, customer_id)
            if row.forgotten_at is not None:
                raise StorageError(f"cannot update customer {customer_id}: their data was erased")
            row.consent_marketing_calls, row.consent_email = consent.marketing_calls, consent.email
            row.consent_data_sharing, row.consent_phone_calls = consent.data_sharing, consent.phone_calls
            row.consent_surveys = consent.surveys
            row.updated_at = self._clock()
            await session.flush()
            return (await _customer_rows.customer_records(session, [row]))[0]

    async def update_customer(self, customer_id: str, fields: CustomerFields) -> CustomerRecord:
        """Replace the customer's editable fields and phone list with ``fields`` (see ``CustomerRecord.fields``)."""
        clean = self._clean(fields, f"update customer {customer_id}")
        async with self._db.transaction(f"update customer {customer_id}") as session:
            row = await _get(session, customer_id)
            if row.forgotten_at is not None:
                raise StorageError(f"cannot update customer {customer_id}: their data was erased")
            await _refuse_taken_phones(session, clean.phones, owner=customer_id)
            _customer_rows.apply_fields(row, clean)
            row.updated_at = self._clock()
            await _replace_phones(session, customer_id, clean.phones)
            await session.flush()
            return (await _customer_rows.customer_records(session, [row]))[0]

    async def forget(self, customer_id: str) -> ForgottenCustomer:
        """Right to erasure: anonymise the customer's personal data and keep the aggregates.

        Erased: name, email, address, city, phones, PIN and date of birth, consents (all refused), contact notes,
        script answers and follow-up tasks, case subjects, parcel tracking numbers, and the personal fields of their
        calls in ``interactions`` (see :mod:`._redaction`): the calls linked to them by customer number, by a contact's
        ``call_id`` or by one of their numbers, and the calls in which the IVR was told their customer number or
        one of their order numbers (keyed, not verified, never linked). Kept: the customer number, region,
        country, language, segment, tier, lifetime value, holdings, orders, invoices, and each contact's
        channel, time, reason, disposition, agent and cross-sell outcome.

        Their scheduled callbacks, portal sign-in codes and portal sessions are deleted.

        Idempotent: forgetting again erases what was written since (a late wrap-up is refused its notes, see
        :meth:`add_contact`) and reports zero of everything else. :class:`StorageError` for no such customer.
        """
        async with self._db.transaction(f"forget customer {customer_id}") as session:
            row = await _get(session, customer_id)
            erased, call_ids, prompts = await _erase(session, row, self._clock(), self._country)
            # Their scheduled callbacks go (their reasons are notes about them): nobody calls an erased customer.
            await session.execute(delete(ScheduledCallbackRow).where(ScheduledCallbackRow.customer_id == customer_id))
            # Their portal sign-in codes and sessions end: an erased customer is signed in nowhere.
            await session.execute(delete(PortalCodeRow).where(PortalCodeRow.customer_id == customer_id))
            await session.execute(delete(PortalSessionRow).where(PortalSessionRow.customer_id == customer_id))
            await session.flush()
            return ForgottenCustomer(customer=(await _customer_rows.customer_records(session, [row]))[0],
                                     erased=erased, call_ids=call_ids, prompts=prompts)

    async def purge_contacts(self, before: datetime) -> int:
        """Retention: remove the notes, script answers and follow-up tasks of contacts made before ``before``;
        each contact's channel, time, reason, disposition, agent and cross-sell outcome stay. Returns how many
        contacts had any."""
        check(_CONTACTS, {"at": before})
        has_answers = ContactRow.script_answers.is_not(None) & (cast(ContactRow.script_answers, Text) != "null")
        statement = (
            update(ContactRow)
            .where(ContactRow.at < before,
                   or_(ContactRow.notes.is_not(None), ContactRow.follow_up_task.is_not(None), has_answers))
            .values(notes=None, script_answers=null(), follow_up_task=None)
        )
        async with self._db.transaction("purge old contacts' notes") as session:
            return _rowcount(await session.execute(statement))

    async def marketing_audience(
        self, channel: Literal["call", "email"], *, segment: str | None = None, limit: int = 1000
    ) -> list[CustomerRecord]:
        """Customers who agreed to marketing on ``channel`` and can be reached on it, by number."""
        check_limit(limit)
        query = select(CustomerRow).where(CustomerRow.forgotten_at.is_(None))
        if channel == "call":
            reachable = select(CustomerPhoneRow.customer_id)
            query = query.where(CustomerRow.consent_marketing_calls.is_(True), CustomerRow.customer_id.in_(reachable))
        else:
            query = query.where(CustomerRow.consent_email.is_(True), CustomerRow.email.is_not(None))
        if segment is not None:
            query = query.where(CustomerRow.segment == segment)
        query = query.order_by(CustomerRow.customer_id).limit(limit)
        async with self._db.transaction(f"list the {channel} marketing audience") as session:
            return await _customer_rows.customer_records(session, list(await session.scalars(query)))

    # -- contacts ------------------------------------------------------------------------------

    async def add_contact(self, contact: NewContact) -> ContactRecord:
        """Record an interaction (a call's wrap-up, an email, a chat) on the customer's history.

        A forgotten customer's contact is recorded without its notes, script answers and follow-up task: a
        wrap-up saved after the erasure of the customer it was about must not bring their data back."""
        problems = contact_problems(contact)
        if problems:
            raise CrmInputError(f"record a contact of customer {contact.customer_id}", problems)
        async with self._db.transaction(f"record a contact of customer {contact.customer_id}") as session:
            customer = await _get(session, contact.customer_id)
            if customer.forgotten_at is not None:
                contact = replace(contact, notes=None, script_answers=None, follow_up_at=None, follow_up_task=None)
            row = _customer_rows.contact_row(contact)
            session.add(row)
            await session.flush()
            return _customer_rows.contact_record(row)

    # -- self-service --------------------------------------------------------------------------

    async def order_status(self, order_number: str) -> OrderRecord | None:
        async with self._db.transaction(f"read order {order_number!r}") as session:
            row = await session.get(OrderRow, order_number.strip())
            return None if row is None else _customer_rows.order_record(row)

    async def recent_orders(self, customer_id: str, *, limit: int = 5) -> list[OrderRecord]:
        """The customer's latest orders, whatever their status, the most recently placed first."""
        check_limit(limit)
        query = (select(OrderRow).where(OrderRow.customer_id == customer_id)
                 .order_by(OrderRow.placed_at.desc(), OrderRow.order_number.desc()).limit(limit))
        async with self._db.transaction(f"read the latest orders of customer {customer_id!r}") as session:
            return [_customer_rows.order_record(row) for row in await session.scalars(query)]

    async def balance(self, customer_id: str) -> int | None:
        """What the customer owes (unpaid invoice amounts, minor units), or ``None`` for no such customer."""
        owed = func.coalesce(func.sum(InvoiceRow.amount_minor - InvoiceRow.paid_minor), 0)
        query = select(owed).where(InvoiceRow.customer_id == customer_id,
                                   InvoiceRow.paid_minor < InvoiceRow.amount_minor)
        async with self._db.transaction(f"read the balance of customer {customer_id!r}") as session:
            if await session.get(CustomerRow, customer_id) is None:
                return None
            return int(await session.scalar(query) or 0)

    # -- IVR verification ----------------------------------------------------------------------

    async def credentials(self, customer_id: str) -> CustomerCredentials | None:
        """What a caller claiming to be ``customer_id`` is checked against in the IVR; ``None``: no such customer."""
        async with self._db.transaction("read a customer's verification data") as session:
            row = await session.get(CustomerRow, customer_id)
            if row is None:
                return None
            return CustomerCredentials(customer_id=row.customer_id, pin_hash=row.pin_hash, birth_date=row.birth_date,
                                       forgotten=row.forgotten_at is not None)

    async def set_credentials(self, customer_id: str, *, pin_hash: str | None = None, birth_date: date | None = None,
                              clear: Collection[Literal["pin", "birth_date"]] = ()) -> CustomerCredentials:
        """Set the PIN's hash (:func:`cti.crm.hash_pin`, never a clear PIN) and the date of birth when given, remove
        those named in ``clear``, leave the others. Raises :class:`StorageError` for no such customer or an erased
        one."""
        if pin_hash is not None and not pin_hash.startswith("scrypt$"):
            # A clear PIN must never reach the table.
            raise CrmInputError(f"set the PIN of customer {customer_id}",
                                [Problem("pin_hash", "not a hash made by cti.crm.hash_pin")])
        async with self._db.transaction(f"set the verification data of customer {customer_id}") as session:
            row = await _get(session, customer_id)
            if row.forgotten_at is not None:
                raise StorageError(f"cannot set the verification data of customer {customer_id}: their data was "
                                   "erased")
            if pin_hash is not None or "pin" in clear:
                row.pin_hash = pin_hash
            if birth_date is not None or "birth_date" in clear:
                row.birth_date = birth_date
            row.updated_at = self._clock()
            await session.flush()
            return CustomerCredentials(customer_id=row.customer_id, pin_hash=row.pin_hash, birth_date=row.birth_date)

    # -- catalog and marketing -----------------------------------------------------------------

    async def catalog(self, *, include_inactive: bool = False) -> list[ProductRecord]:
        query = select(ProductRow).order_by(ProductRow.sku)
        if not include_inactive:
            query = query.where(ProductRow.active.is_(True))
        async with self._db.transaction("read the catalog") as session:
            return [_customer_rows.product_record(row) for row in await session.scalars(query)]

    async def complements(self) -> list[ComplementRecord]:
        query = select(ProductComplementRow).order_by(ProductComplementRow.sku, ProductComplementRow.complement_sku)
        async with self._db.transaction("read product complements") as session:
            return [_customer_rows.complement_record(row) for row in await session.scalars(query)]

    async def segment_holdings(self, segment: str, *, consented_only: bool = True) -> list[HoldingRecord]:
        """What the customers of ``segment`` own, for co-occurrence. By default only customers who agreed to
        data sharing count: their purchases then shape what other customers are offered."""
        query = select(HoldingRow).join(CustomerRow, CustomerRow.customer_id == HoldingRow.customer_id)
        query = query.where(CustomerRow.segment == segment)
        if consented_only:
            query = query.where(CustomerRow.consent_data_sharing.is_(True))
        query = query.order_by(HoldingRow.customer_id, HoldingRow.sku)
        async with self._db.transaction(f"read holdings of segment {segment!r}") as session:
            return [_customer_rows.holding_record(row) for row in await session.scalars(query)]

    async def active_promotions(self, at: datetime, *, segment: str | None = None) -> list[PromotionRecord]:
        """Promotions running at ``at``; with ``segment``, only those for that segment or for everyone."""
        if at.utcoffset() is None:
            raise StorageError(f"naive datetime {at.isoformat()} refused: use an aware UTC datetime")
        query = select(PromotionRow).where(PromotionRow.starts_at <= at, PromotionRow.ends_at > at)
        if segment is not None:
            query = query.where(or_(PromotionRow.segment.is_(None), PromotionRow.segment == segment))
        query = query.order_by(PromotionRow.promotion_id)
        async with self._db.transaction("read active promotions") as session:
            return [_customer_rows.promotion_record(row) for row in await session.scalars(query)]

    # -- bulk ------------------------------------------------------------------------------------

    async def import_customers(self, text: str, *, dry_run: bool = False) -> ImportReport:
        """Import a customers CSV (:mod:`cti.crm._importer`, docs/crm.md): each customer of the file is matched
        against the database and created, updated or left, in one transaction. Idempotent. With ``dry_run`` the
        same work is done and the same report returned, then rolled back. Raises :class:`cti.crm.CsvFormatError`
        for a file that is not a customers CSV, and :class:`StorageError`."""
        return await _customer_bulk.import_customers(self._db, plan_import(text), now=self._clock(), dry_run=dry_run)

    async def seed(self, dataset: CrmDataset) -> int:
        """Write ``dataset`` in one transaction; returns the customers written, 0 (and writes nothing) when the
        CRM already holds customers, so that seeding twice is harmless."""
        return await _customer_bulk.load_dataset(self._db, dataset)

    # -- internals -----------------------------------------------------------------------------

    def _clean(self, fields: CustomerFields, action: str) -> CustomerFields:
        clean, problems = clean_customer(fields, default_country=self._country)
        if problems:
            raise CrmInputError(action, problems)
        return clean

    async def _insert_customer(self, session: AsyncSession, customer_id: str, fields: CustomerFields) -> None:
        now = self._clock()
        row = CustomerRow(customer_id=customer_id, created_at=now, updated_at=now, forgotten_at=None)
        _customer_rows.apply_fields(row, fields)
        session.add(row)
        # Flushed apart: without ORM relationships the phones' foreign key needs the customer row first.
        await session.flush()
        session.add_all(_customer_rows.phone_rows(customer_id, fields.phones))
        await session.flush()


async def _get(session: AsyncSession, customer_id: str) -> CustomerRow:
    row = await session.get(CustomerRow, customer_id)
    if row is None:
        raise StorageError(f"no customer {customer_id!r}")
    return row


async def _refuse_taken_phones(session: AsyncSession, phones: Sequence[str], *, owner: str | None) -> None:
    if not phones:
        return
    query = select(CustomerPhoneRow.e164, CustomerPhoneRow.customer_id).where(CustomerPhoneRow.e164.in_(phones))
    for e164, customer_id in await session.execute(query):
        if customer_id != owner:
            raise StorageConflict(f"phone {e164} already belongs to customer {customer_id}")


async def _replace_phones(session: AsyncSession, customer_id: str, phones: Sequence[str]) -> None:
    query = select(CustomerPhoneRow).where(CustomerPhoneRow.customer_id == customer_id)
    existing = {row.e164: row for row in await session.scalars(query)}
    for e164, row in existing.items():
        if e164 not in phones:
            await session.delete(row)
    for position, e164 in enumerate(phones):
        if e164 in existing:
            existing[e164].position = position
        else:
            session.add(_customer_rows.phone_row(customer_id, e164, position))


async def _erase(session: AsyncSession, row: CustomerRow, now: datetime,
                 country: str) -> tuple[dict[str, int], tuple[str, ...], tuple[str, ...]]:
    """Erase; returns the rows erased by kind, the customer's call ids and the prompts the IVR told them."""
    customer_id = row.customer_id
    erased = dict.fromkeys(("customer", "phones", "contacts", "cases", "orders", "interactions", "dead_letters"), 0)
    phones = list(await session.scalars(
        select(CustomerPhoneRow.e164).where(CustomerPhoneRow.customer_id == customer_id)))
    contacts = list(await session.scalars(select(ContactRow).where(ContactRow.customer_id == customer_id)))
    orders = list(await session.scalars(select(OrderRow.order_number).where(OrderRow.customer_id == customer_id)))
    if row.forgotten_at is None:
        row.name = row.search_name = ""
        row.email = row.address = row.city = None
        row.pin_hash = None
        row.birth_date = None
        row.consent_marketing_calls = row.consent_email = row.consent_data_sharing = row.consent_phone_calls = False
        row.consent_surveys = False
        row.forgotten_at = row.updated_at = now
        erased["customer"] = 1
    erased["phones"] = _rowcount(await session.execute(
        delete(CustomerPhoneRow).where(CustomerPhoneRow.customer_id == customer_id)))
    for contact in contacts:
        if contact.notes is not None or contact.script_answers is not None or contact.follow_up_task is not None:
            contact.notes = contact.script_answers = contact.follow_up_task = None
            erased["contacts"] += 1
    erased["cases"] = _rowcount(await session.execute(
        update(CaseRow).where(CaseRow.customer_id == customer_id, CaseRow.subject != "").values(subject="")))
    erased["orders"] = _rowcount(await session.execute(
        update(OrderRow).where(OrderRow.customer_id == customer_id, OrderRow.tracking_number.is_not(None))
        .values(tracking_number=None)))
    numbers = sorted({variant for e164 in phones for variant in phone_variants(e164)})
    call_ids = sorted({c.call_id for c in contacts if c.call_id})
    # What the IVR recorded is JSON; its text names a keyed number in quotes, on both backends.
    heard = cast(InteractionRow.ivr, Text)
    links: list[Any] = [InteractionRow.customer_id == customer_id,
                        *(heard.contains(json.dumps(key), autoescape=True) for key in [customer_id, *orders])]
    if call_ids:
        links.append(InteractionRow.call_id.in_(call_ids))
    if numbers:
        links.append(InteractionRow.caller_number.in_(numbers))
    prompts: list[str] = []
    calls: set[str] = set(call_ids)
    for call in await session.scalars(select(InteractionRow).where(or_(*links))):
        calls.add(call.call_id)
        if call.redacted_at is None:
            prompts.extend(prompts_of(call.ivr))
            redact(call, numbers, now, default_country=country)
            erased["interactions"] += 1
    await redact_chats(session, calls)  # what they said in chats
    # Copies of their calls' rows the database once refused (set aside by the journal): deleted outright.
    for letter in await session.scalars(select(DeadLetterRow).where(DeadLetterRow.kind == "interaction")):
        payload = letter.payload or {}
        if letter.record_key in calls or payload.get("customer_id") == customer_id or \
                payload.get("caller_number") in numbers:
            await session.delete(letter)
            erased["dead_letters"] += 1
    return erased, tuple(sorted(calls)), tuple(dict.fromkeys(prompts))


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
