"""CRM rows <-> plain records, and the small queries the customer repository and its bulk writes share."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Final, cast

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cti.crm import (
    CaseRecord,
    ComplementRecord,
    Consent,
    ContactRecord,
    CustomerFields,
    CustomerRecord,
    HoldingRecord,
    InvoiceRecord,
    NewContact,
    OrderItem,
    OrderRecord,
    ProductRecord,
    PromotionRecord,
    ShipmentStep,
    fold_name,
    phone_kind,
)
from cti.types import Language

from ._errors import StorageError
from ._tables import (
    CaseRow,
    ContactRow,
    CustomerPhoneRow,
    CustomerRow,
    HoldingRow,
    InvoiceRow,
    OrderRow,
    ProductComplementRow,
    ProductRow,
    PromotionRow,
    ShipmentStepRow,
)

__all__ = [
    "FIRST_CUSTOMER_ID",
    "apply_fields",
    "case_record",
    "case_row",
    "complement_record",
    "complement_row",
    "contact_record",
    "contact_row",
    "customer_records",
    "holding_record",
    "holding_row",
    "invoice_record",
    "invoice_row",
    "next_customer_id",
    "order_record",
    "order_row",
    "phone_row",
    "phone_rows",
    "product_record",
    "product_row",
    "promotion_record",
    "promotion_row",
    "shipment_step",
    "shipment_step_row",
]

FIRST_CUSTOMER_ID: Final = 10_000_001
_ALLOCATED_DIGITS: Final = 8


# -- customers -----------------------------------------------------------------------------------


def apply_fields(row: CustomerRow, fields: CustomerFields) -> None:
    """Copy the (cleaned) editable fields onto ``row``; phones are separate rows."""
    row.name = fields.name
    row.search_name = fold_name(fields.name)
    row.email = fields.email
    row.address = fields.address
    row.city = fields.city
    row.region = fields.region
    row.country = fields.country
    row.language = fields.language
    row.segment = fields.segment
    row.value_tier = fields.value_tier
    row.lifetime_value_minor = fields.lifetime_value_minor
    row.consent_marketing_calls = fields.consent.marketing_calls
    row.consent_email = fields.consent.email
    row.consent_data_sharing = fields.consent.data_sharing
    row.consent_phone_calls = fields.consent.phone_calls
    row.consent_surveys = fields.consent.surveys


def phone_row(customer_id: str, e164: str, position: int) -> CustomerPhoneRow:
    return CustomerPhoneRow(e164=e164, customer_id=customer_id, kind=phone_kind(e164), position=position)


def phone_rows(customer_id: str, phones: Sequence[str]) -> list[CustomerPhoneRow]:
    return [phone_row(customer_id, e164, position) for position, e164 in enumerate(phones)]


async def customer_records(session: AsyncSession, rows: Sequence[CustomerRow]) -> list[CustomerRecord]:
    """Records for ``rows``, in their order, with their phones read in one query."""
    if not rows:
        return []
    query = (
        select(CustomerPhoneRow.customer_id, CustomerPhoneRow.e164)
        .where(CustomerPhoneRow.customer_id.in_([row.customer_id for row in rows]))
        .order_by(CustomerPhoneRow.customer_id, CustomerPhoneRow.position, CustomerPhoneRow.e164)
    )
    phones: defaultdict[str, list[str]] = defaultdict(list)
    for customer_id, e164 in await session.execute(query):
        phones[customer_id].append(e164)
    return [_customer_record(row, tuple(phones[row.customer_id])) for row in rows]


def _customer_record(row: CustomerRow, phones: tuple[str, ...]) -> CustomerRecord:
    return CustomerRecord(
        customer_id=row.customer_id,
        name=row.name,
        phones=phones,
        email=row.email,
        address=row.address,
        city=row.city,
        region=row.region,
        country=row.country,
        language=cast(Language, row.language),
        segment=row.segment,
        value_tier=row.value_tier,
        lifetime_value_minor=row.lifetime_value_minor,
        consent=Consent(
            marketing_calls=row.consent_marketing_calls,
            email=row.consent_email,
            data_sharing=row.consent_data_sharing,
            phone_calls=row.consent_phone_calls,
            surveys=row.consent_surveys,
        ),
        forgotten_at=row.forgotten_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def next_customer_id(session: AsyncSession) -> str:
    """The customer number after the highest allocated one (eight digits, from 10000001)."""
    query = select(func.max(CustomerRow.customer_id)).where(func.length(CustomerRow.customer_id) == _ALLOCATED_DIGITS)
    highest = await session.scalar(query)
    following = FIRST_CUSTOMER_ID if highest is None or not highest.isdigit() else int(highest) + 1
    if following < FIRST_CUSTOMER_ID:
        following = FIRST_CUSTOMER_ID
    if len(str(following)) > _ALLOCATED_DIGITS:
        raise StorageError("cannot allocate a customer number: the eight-digit numbers are all taken")
    return str(following)


# -- catalog -------------------------------------------------------------------------------------


def product_record(row: ProductRow) -> ProductRecord:
    return ProductRecord(
        sku=row.sku,
        name_id=row.name_id,
        name_en=row.name_en,
        category=row.category,
        price_minor=row.price_minor,
        active=row.active,
    )


def product_row(record: ProductRecord) -> ProductRow:
    return ProductRow(
        sku=record.sku,
        name_id=record.name_id,
        name_en=record.name_en,
        category=record.category,
        price_minor=record.price_minor,
        active=record.active,
    )


def complement_record(row: ProductComplementRow) -> ComplementRecord:
    return ComplementRecord(row.sku, row.complement_sku, row.weight)


def complement_row(record: ComplementRecord) -> ProductComplementRow:
    return ProductComplementRow(sku=record.sku, complement_sku=record.complement_sku, weight=record.weight)


def holding_record(row: HoldingRow) -> HoldingRecord:
    return HoldingRecord(row.customer_id, row.sku, row.since)


def holding_row(record: HoldingRecord) -> HoldingRow:
    return HoldingRow(customer_id=record.customer_id, sku=record.sku, since=record.since)


def promotion_record(row: PromotionRow) -> PromotionRecord:
    return PromotionRecord(
        promotion_id=row.promotion_id,
        sku=row.sku,
        category=row.category,
        segment=row.segment,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        boost=row.boost,
        text_id=row.text_id,
        text_en=row.text_en,
    )


def promotion_row(record: PromotionRecord) -> PromotionRow:
    return PromotionRow(
        promotion_id=record.promotion_id,
        sku=record.sku,
        category=record.category,
        segment=record.segment,
        starts_at=record.starts_at,
        ends_at=record.ends_at,
        boost=record.boost,
        text_id=record.text_id,
        text_en=record.text_en,
    )


# -- orders, invoices, cases ---------------------------------------------------------------------


def order_record(row: OrderRow) -> OrderRecord:
    return OrderRecord(
        order_number=row.order_number,
        customer_id=row.customer_id,
        status=row.status,
        items=tuple(OrderItem(str(item["sku"]), int(item.get("quantity", 1))) for item in row.items),
        total_minor=row.total_minor,
        placed_at=row.placed_at,
        shipped_at=row.shipped_at,
        delivered_at=row.delivered_at,
        shipment_status=row.shipment_status,
        carrier=row.carrier,
        tracking_number=row.tracking_number,
    )


def order_row(record: OrderRecord) -> OrderRow:
    return OrderRow(
        order_number=record.order_number,
        customer_id=record.customer_id,
        status=record.status,
        items=[{"sku": item.sku, "quantity": item.quantity} for item in record.items],
        total_minor=record.total_minor,
        placed_at=record.placed_at,
        shipped_at=record.shipped_at,
        delivered_at=record.delivered_at,
        shipment_status=record.shipment_status,
        carrier=record.carrier,
        tracking_number=record.tracking_number,
    )


def shipment_step_row(step: ShipmentStep) -> ShipmentStepRow:
    return ShipmentStepRow(order_number=step.order_number, at=step.at, step=step.step, location=step.location)


def shipment_step(row: ShipmentStepRow) -> ShipmentStep:
    return ShipmentStep(order_number=row.order_number, at=row.at, step=row.step, location=row.location)


def invoice_record(row: InvoiceRow) -> InvoiceRecord:
    return InvoiceRecord(
        invoice_number=row.invoice_number,
        customer_id=row.customer_id,
        order_number=row.order_number,
        amount_minor=row.amount_minor,
        paid_minor=row.paid_minor,
        issued_at=row.issued_at,
        due_date=row.due_date,
        paid_at=row.paid_at,
    )


def invoice_row(record: InvoiceRecord) -> InvoiceRow:
    return InvoiceRow(
        invoice_number=record.invoice_number,
        customer_id=record.customer_id,
        order_number=record.order_number,
        amount_minor=record.amount_minor,
        paid_minor=record.paid_minor,
        issued_at=record.issued_at,
        due_date=record.due_date,
        paid_at=record.paid_at,
    )


def case_record(row: CaseRow) -> CaseRecord:
    return CaseRecord(
        case_id=row.case_id,
        customer_id=row.customer_id,
        subject=row.subject,
        status=row.status,
        priority=row.priority,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
    )


def case_row(record: CaseRecord) -> CaseRow:
    return CaseRow(
        case_id=record.case_id,
        customer_id=record.customer_id,
        subject=record.subject,
        status=record.status,
        priority=record.priority,
        opened_at=record.opened_at,
        closed_at=record.closed_at,
    )


# -- contacts ------------------------------------------------------------------------------------


def contact_row(contact: NewContact) -> ContactRow:
    return ContactRow(
        customer_id=contact.customer_id,
        channel=contact.channel,
        at=contact.at,
        reason=contact.reason,
        disposition=contact.disposition,
        notes=contact.notes,
        agent_id=contact.agent_id,
        call_id=contact.call_id,
        language=contact.language,
        script_answers=contact.script_answers,
        # An empty list and "nothing offered" are the same fact; NULL keeps the JSON column sparse.
        cross_sell_offered=list(contact.cross_sell_offered) or None,
        cross_sell_accepted=list(contact.cross_sell_accepted) or None,
        follow_up_at=contact.follow_up_at,
        follow_up_task=contact.follow_up_task,
        follow_up_queue=contact.follow_up_queue if contact.follow_up_task is not None else None,
        follow_up_reply=contact.follow_up_reply if contact.follow_up_task is not None else None,
    )


def contact_record(row: ContactRow) -> ContactRecord:
    return ContactRecord(
        contact_id=row.contact_id,
        customer_id=row.customer_id,
        channel=row.channel,
        at=row.at,
        reason=row.reason,
        disposition=row.disposition,
        notes=row.notes,
        agent_id=row.agent_id,
        call_id=row.call_id,
        language=cast(Language | None, row.language),
        script_answers=row.script_answers,
        cross_sell_offered=_strings(row.cross_sell_offered),
        cross_sell_accepted=_strings(row.cross_sell_accepted),
        follow_up_at=row.follow_up_at,
        follow_up_task=row.follow_up_task,
    )


def _strings(values: Iterable[Any] | None) -> tuple[str, ...]:
    return () if values is None else tuple(str(value) for value in values)
