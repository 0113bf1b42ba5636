"""CRM data: customers, catalog, holdings, orders, invoices, contacts, cases and promotions.

What the screen pop, cross-sell, call scripts and IVR self-service read. :class:`CrmStore` over a started
:class:`cti.storage.Database`; plain records in and out; every failure a :class:`~cti.storage.StorageError`::

    store = CrmStore(db)
    customer = await store.customer_by_phone("0812-1000-0001")
    view = await store.customer_view(customer.customer_id) if customer else None

Demo and test data: :mod:`cti.crm.seed`; CSV import: :mod:`cti.crm.importer`; docs/crm.md.
"""

from .errors import CrmInputError, CsvFormatError, Problem
from .importer import COLUMNS, ImportReport, Rejection, import_customers
from .records import (
    CASE_PRIORITIES,
    CASE_STATUSES,
    CHANNELS,
    CURRENCY,
    MINOR_PER_MAJOR,
    OPEN_CASE_STATUSES,
    OPEN_ORDER_STATUSES,
    ORDER_STATUSES,
    SHIPMENT_STATUSES,
    VALUE_TIERS,
    CaseRecord,
    ComplementRecord,
    Consent,
    ContactRecord,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    HoldingRecord,
    InvoiceRecord,
    NewContact,
    OrderItem,
    OrderRecord,
    OwnedProduct,
    ProductRecord,
    PromotionRecord,
)
from .store import ERASED_CALLER, CrmStore

__all__ = [
    "CASE_PRIORITIES",
    "CASE_STATUSES",
    "CHANNELS",
    "COLUMNS",
    "CURRENCY",
    "ERASED_CALLER",
    "MINOR_PER_MAJOR",
    "OPEN_CASE_STATUSES",
    "OPEN_ORDER_STATUSES",
    "ORDER_STATUSES",
    "SHIPMENT_STATUSES",
    "VALUE_TIERS",
    "CaseRecord",
    "ComplementRecord",
    "Consent",
    "ContactRecord",
    "CrmInputError",
    "CrmStore",
    "CsvFormatError",
    "CustomerFields",
    "CustomerRecord",
    "CustomerView",
    "HoldingRecord",
    "ImportReport",
    "InvoiceRecord",
    "NewContact",
    "OrderItem",
    "OrderRecord",
    "OwnedProduct",
    "Problem",
    "ProductRecord",
    "PromotionRecord",
    "Rejection",
    "import_customers",
]
