"""Plain values exchanged with the CRM's store (:class:`cti.persistence.CustomerRepository`).

Frozen dataclasses, never ORM objects. Every datetime is timezone-aware UTC; money is integer minor units
of :data:`CURRENCY` (``*_minor`` fields: Rp 150.000 is ``15_000_000``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final

from cti.types import Language

__all__ = [
    "CASE_PRIORITIES",
    "CASE_STATUSES",
    "CHANNELS",
    "CURRENCY",
    "ERASED_CALLER",
    "MINOR_PER_MAJOR",
    "OPEN_CASE_STATUSES",
    "OPEN_ORDER_STATUSES",
    "ORDER_STATUSES",
    "SHIPMENT_STATUSES",
    "SHIPMENT_STEPS",
    "VALUE_TIERS",
    "CaseRecord",
    "ComplementRecord",
    "Consent",
    "ContactRecord",
    "CrmDataset",
    "CustomerFields",
    "CustomerRecord",
    "CustomerView",
    "ForgottenCustomer",
    "HoldingRecord",
    "InvoiceRecord",
    "NewContact",
    "OrderDetail",
    "OrderItem",
    "OrderRecord",
    "OwnedProduct",
    "ProductRecord",
    "PromotionRecord",
    "SeedCustomer",
    "ShipmentStep",
]


CURRENCY: Final = "IDR"
MINOR_PER_MAJOR: Final = 100
"""ISO 4217 gives IDR two decimals (sen), although prices are quoted in whole rupiah."""

VALUE_TIERS: Final = ("bronze", "silver", "gold", "platinum")
"""Lowest first; the routing rules match on these names."""
CHANNELS: Final = ("call", "email", "web", "chat")
FOLLOW_UP_REPLIES: Final = ("email", "call")
"""How a follow-up task answers the customer (:attr:`NewContact.follow_up_reply`)."""
ORDER_STATUSES: Final = ("placed", "paid", "shipped", "delivered", "cancelled", "returned")
OPEN_ORDER_STATUSES: Final = ("placed", "paid", "shipped")
SHIPMENT_STATUSES: Final = ("pending", "in_transit", "out_for_delivery", "delivered", "failed_delivery", "returned")
SHIPMENT_STEPS: Final = ("packed", "picked_up", "in_transit", "at_hub", "out_for_delivery", "delivered",
                          "failed_delivery", "returned")
"""The steps a parcel's journey is told in (the carrier's scans), oldest first in a normal journey."""
CASE_STATUSES: Final = ("open", "pending", "resolved", "closed")
OPEN_CASE_STATUSES: Final = ("open", "pending")
CASE_PRIORITIES: Final = ("low", "normal", "high", "urgent")

ERASED_CALLER: Final = "anonymous"
"""What forgetting a customer writes over their caller numbers (Asterisk's own word for a withheld number, which
the rest of cti already treats as no number)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent:
    """What the customer agreed to; everything is refused until agreed (opt-in)."""

    marketing_calls: bool = False
    email: bool = False
    data_sharing: bool = False
    """Use of their data beyond serving them, e.g. in other customers' recommendations."""
    phone_calls: bool = False
    """Being called by us about their own business (click-to-dial, a scheduled callback); not marketing."""
    surveys: bool = False
    """Being asked to rate their call on the line once the agent hangs up (the post-call IVR survey)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerFields:
    """Everything an agent or an import may set on a customer. Phones in any format; the store normalises."""

    name: str = ""
    phones: tuple[str, ...] = ()
    """Primary first."""
    email: str | None = None
    address: str | None = None
    city: str | None = None
    region: str | None = None
    """A cti region as routing uses it ("jakarta", "denpasar", ...)."""
    country: str | None = None
    """ISO 3166-1 alpha-2."""
    language: Language = "id"
    segment: str | None = None
    value_tier: str | None = None
    lifetime_value_minor: int = 0
    consent: Consent = field(default_factory=Consent)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerRecord:
    customer_id: str
    """Digits only, so a caller can key it in the IVR."""
    name: str
    phones: tuple[str, ...]
    """E.164, primary first."""
    email: str | None
    address: str | None
    city: str | None
    region: str | None
    country: str | None
    language: Language
    segment: str | None
    value_tier: str | None
    lifetime_value_minor: int
    consent: Consent
    forgotten_at: datetime | None
    """Set once the customer's personal data was erased (see ``CustomerRepository.forget``)."""
    created_at: datetime
    updated_at: datetime

    def fields(self) -> CustomerFields:
        """The editable part, to change with :func:`dataclasses.replace` and pass to ``update_customer``."""
        return CustomerFields(
            name=self.name,
            phones=self.phones,
            email=self.email,
            address=self.address,
            city=self.city,
            region=self.region,
            country=self.country,
            language=self.language,
            segment=self.segment,
            value_tier=self.value_tier,
            lifetime_value_minor=self.lifetime_value_minor,
            consent=self.consent,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ProductRecord:
    sku: str
    name_id: str
    name_en: str
    category: str
    price_minor: int
    active: bool = True

    def name(self, language: Language) -> str:
        return self.name_en if language == "en" else self.name_id


@dataclass(frozen=True, slots=True)
class ComplementRecord:
    """Owning ``sku`` makes ``complement_sku`` a natural next purchase, with this weight (> 0)."""

    sku: str
    complement_sku: str
    weight: float


@dataclass(frozen=True, slots=True)
class HoldingRecord:
    customer_id: str
    sku: str
    since: datetime


@dataclass(frozen=True, slots=True)
class OwnedProduct:
    product: ProductRecord
    since: datetime


@dataclass(frozen=True, slots=True)
class OrderItem:
    sku: str
    quantity: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRecord:
    order_number: str
    """Digits only, so a caller can key it in the IVR."""
    customer_id: str
    status: str
    items: tuple[OrderItem, ...]
    total_minor: int
    placed_at: datetime
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    shipment_status: str | None = None
    carrier: str | None = None
    tracking_number: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_ORDER_STATUSES


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipmentStep:
    """One step of an order's shipment, as the carrier reported it: what happened, when, and where (a city or a
    hub's name, never the customer's address)."""

    order_number: str
    at: datetime
    step: str
    """One of :data:`SHIPMENT_STEPS`."""
    location: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceRecord:
    invoice_number: str
    customer_id: str
    order_number: str | None = None
    amount_minor: int
    paid_minor: int = 0
    issued_at: datetime
    due_date: date
    paid_at: datetime | None = None

    @property
    def due_minor(self) -> int:
        return self.amount_minor - self.paid_minor


@dataclass(frozen=True, slots=True, kw_only=True)
class NewContact:
    """One interaction to record: a call's wrap-up, an email, a chat."""

    customer_id: str
    channel: str
    at: datetime
    reason: str | None = None
    disposition: str | None = None
    notes: str | None = None
    agent_id: str | None = None
    call_id: str | None = None
    """The ``interactions.call_id`` of the call, for calls."""
    language: Language | None = None
    script_answers: dict[str, Any] | None = None
    cross_sell_offered: tuple[str, ...] = ()
    cross_sell_accepted: tuple[str, ...] = ()
    follow_up_at: datetime | None = None
    follow_up_task: str | None = None
    follow_up_queue: str | None = None
    """The queue whose agents see the follow-up task (a wrap-up's call's; where the rules put a customer's chat)."""
    follow_up_reply: str | None = None
    """How the task answers the customer: ``email`` (the answer is mailed), ``call``, or None (as the task says)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowUpTask:
    """A contact's follow-up as staff work it: open until someone completes it, taken by one agent meanwhile.

    ``task_id`` is the contact's id. ``notes`` are the contact's: the customer's own words for a message they left,
    the agent's notes for a wrap-up."""

    task_id: int
    customer_id: str
    customer_name: str
    channel: str
    created_at: datetime
    due_at: datetime
    task: str
    notes: str | None
    reason: str | None
    reply: str | None
    queue: str | None
    agent_id: str | None
    call_id: str | None
    language: Language | None
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    done_by: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRecord:
    contact_id: int
    customer_id: str
    channel: str
    at: datetime
    reason: str | None
    disposition: str | None
    notes: str | None
    agent_id: str | None
    call_id: str | None
    language: Language | None
    script_answers: dict[str, Any] | None
    cross_sell_offered: tuple[str, ...]
    cross_sell_accepted: tuple[str, ...]
    follow_up_at: datetime | None
    follow_up_task: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseRecord:
    case_id: str
    customer_id: str
    subject: str
    status: str
    priority: str
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PromotionRecord:
    """A boost for a product (``sku``) or a whole ``category``, for one segment or all (``None``)."""

    promotion_id: str
    sku: str | None
    category: str | None
    segment: str | None
    starts_at: datetime
    ends_at: datetime
    """Exclusive."""
    boost: float
    text_id: str
    text_en: str

    def text(self, language: Language) -> str:
        return self.text_en if language == "en" else self.text_id

    def is_active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderDetail:
    """One order as its customer tracks it: the order, its shipment's steps (oldest first), its invoices, and the
    products of its items (by sku)."""

    order: OrderRecord
    steps: tuple[ShipmentStep, ...]
    invoices: tuple[InvoiceRecord, ...]
    products: dict[str, ProductRecord]


@dataclass(frozen=True, slots=True, kw_only=True)
class CustomerView:
    """What the screen pop shows about a customer, read in one transaction."""

    customer: CustomerRecord
    owned: tuple[OwnedProduct, ...]
    """Ordered by ``since``, then sku."""
    contacts: tuple[ContactRecord, ...]
    """The most recent first."""
    open_orders: tuple[OrderRecord, ...]
    """The most recently placed first."""
    open_cases: tuple[CaseRecord, ...]
    """The most recently opened first."""
    unpaid_invoices: tuple[InvoiceRecord, ...]
    """Oldest due date first."""

    @property
    def balance_due_minor(self) -> int:
        return sum(invoice.due_minor for invoice in self.unpaid_invoices)

    @property
    def language(self) -> Language:
        return self.customer.language


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgottenCustomer:
    """What forgetting a customer did in the store: their record as it is now (anonymised), how many rows of
    each kind had personal fields erased this time, and what else must go where copies may be kept."""

    customer: CustomerRecord
    erased: dict[str, int]
    """Rows erased by kind: ``customer``, ``phones``, ``contacts``, ``cases``, ``orders``, ``interactions``
    (0 each when everything was erased already)."""
    call_ids: tuple[str, ...]
    """Their calls (ids only): caches and live state keyed by call are cleared of them too."""
    prompts: tuple[str, ...]
    """What the IVR told them (balances, orders), as it was recorded: the audio rendered from it is deleted.
    Content: handed to the prompt cache, never shown."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedCustomer:
    """A customer of a :class:`CrmDataset`, numbered and dated in advance."""

    customer_id: str
    fields: CustomerFields
    """Phones already in E.164."""
    created_at: datetime
    pin: str | None = field(default=None, repr=False)
    """In clear here (demo data); the store keeps only its hash."""
    birth_date: date | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrmDataset:
    """A whole CRM's worth of data, loaded at once into an empty CRM (the demo's and the tests' customers)."""

    customers: tuple[SeedCustomer, ...]
    products: tuple[ProductRecord, ...]
    complements: tuple[ComplementRecord, ...]
    holdings: tuple[HoldingRecord, ...]
    orders: tuple[OrderRecord, ...]
    invoices: tuple[InvoiceRecord, ...]
    contacts: tuple[NewContact, ...]
    cases: tuple[CaseRecord, ...]
    promotions: tuple[PromotionRecord, ...]
    shipment_steps: tuple[ShipmentStep, ...] = ()
