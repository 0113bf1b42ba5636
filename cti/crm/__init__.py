"""CRM data: customers, catalog, holdings, orders, invoices, contacts, cases and promotions.

What the screen pop, cross-sell, call scripts and IVR self-service read. This package is the domain part and
does no I/O: the records (``_records``), the checks and normalisation of customer and contact values
(``_validate``), the customers CSV's parsing and merging (``_importer``) and the errors; everything is imported
from ``cti.crm`` itself. The store is
:class:`cti.persistence.CustomerRepository`, plain records in and out::

    customers = CustomerRepository(db)
    customer = await customers.customer_by_phone("0812-1000-0001")
    view = await customers.customer_view(customer.customer_id) if customer else None

Demo and test data: :mod:`cti.sim._crm_seed`; docs/crm.md.
"""

from ._errors import CrmInputError, CsvFormatError
from ._importer import (
    COLUMNS,
    CsvCustomer,
    ImportPlan,
    ImportReport,
    MergedCustomer,
    Rejection,
    apply_values,
    merge_rows,
    parse_customers_csv,
    plan_import,
)
from ._records import (
    CASE_PRIORITIES,
    CASE_STATUSES,
    CHANNELS,
    CURRENCY,
    ERASED_CALLER,
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
    CrmDataset,
    CustomerFields,
    CustomerRecord,
    CustomerView,
    ForgottenCustomer,
    HoldingRecord,
    InvoiceRecord,
    NewContact,
    OrderItem,
    OrderRecord,
    OwnedProduct,
    ProductRecord,
    PromotionRecord,
    SeedCustomer,
)
from ._validate import (
    CUSTOMER_ID,
    clean_customer,
    clean_email,
    contact_problems,
    customer_id_problems,
    fields_for_caller,
    normalize_phone,
    phone_kind,
    phone_variants,
)

__all__ = [
    "CASE_PRIORITIES",
    "CASE_STATUSES",
    "CHANNELS",
    "COLUMNS",
    "CURRENCY",
    "CUSTOMER_ID",
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
    "CrmDataset",
    "CrmInputError",
    "CsvCustomer",
    "CsvFormatError",
    "CustomerFields",
    "CustomerRecord",
    "CustomerView",
    "ForgottenCustomer",
    "HoldingRecord",
    "ImportPlan",
    "ImportReport",
    "InvoiceRecord",
    "MergedCustomer",
    "NewContact",
    "OrderItem",
    "OrderRecord",
    "OwnedProduct",
    "ProductRecord",
    "PromotionRecord",
    "Rejection",
    "SeedCustomer",
    "apply_values",
    "clean_customer",
    "clean_email",
    "contact_problems",
    "customer_id_problems",
    "fields_for_caller",
    "merge_rows",
    "normalize_phone",
    "parse_customers_csv",
    "phone_kind",
    "phone_variants",
    "plan_import",
]
