"""CRM: customers, catalog, holdings, orders, invoices, contacts and cases.

Revision ID: 0003
Revises: 0002

Hand-written and independent of the models, like 0001. Money is integer minor units (IDR sen) in BIGINT
columns; datetimes are ``DateTime(timezone=True)`` as everywhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


def _at(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("city", sa.String(64), nullable=True),
        sa.Column("region", sa.String(64), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("language", sa.String(2), server_default=sa.text("'id'"), nullable=False),
        sa.Column("segment", sa.String(32), nullable=True),
        sa.Column("value_tier", sa.String(16), nullable=True),
        sa.Column("lifetime_value_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("consent_marketing_calls", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("consent_email", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("consent_data_sharing", sa.Boolean(), server_default=sa.false(), nullable=False),
        _at("forgotten_at", nullable=True),
        _at("created_at"),
        _at("updated_at"),
        sa.CheckConstraint(_one_of("language", ("id", "en")), name="ck_customers_language"),
        sa.CheckConstraint(
            _one_of("value_tier", ("bronze", "silver", "gold", "platinum")), name="ck_customers_value_tier"
        ),
        sa.CheckConstraint("lifetime_value_minor >= 0", name="ck_customers_lifetime_value"),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
    )
    op.create_index("ix_customers_email", "customers", ["email"])
    op.create_index("ix_customers_segment", "customers", ["segment"])

    op.create_table(
        "customer_phones",
        sa.Column("e164", sa.String(16), nullable=False),
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint(_one_of("kind", ("mobile", "fixed", "foreign", "unknown")), name="ck_customer_phones_kind"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name="fk_customer_phones_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("e164", name="pk_customer_phones"),
    )
    op.create_index("ix_customer_phones_customer_id", "customer_phones", ["customer_id"])

    op.create_table(
        "products",
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("name_id", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.CheckConstraint("price_minor >= 0", name="ck_products_price"),
        sa.PrimaryKeyConstraint("sku", name="pk_products"),
    )
    op.create_index("ix_products_category", "products", ["category"])

    op.create_table(
        "product_complements",
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("complement_sku", sa.String(32), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.CheckConstraint("sku <> complement_sku", name="ck_product_complements_not_itself"),
        sa.CheckConstraint("weight > 0", name="ck_product_complements_weight"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_product_complements_sku_products"),
        sa.ForeignKeyConstraint(
            ["complement_sku"], ["products.sku"], name="fk_product_complements_complement_sku_products"
        ),
        sa.PrimaryKeyConstraint("sku", "complement_sku", name="pk_product_complements"),
    )

    op.create_table(
        "holdings",
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        _at("since"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.customer_id"], name="fk_holdings_customer_id_customers"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_holdings_sku_products"),
        sa.PrimaryKeyConstraint("customer_id", "sku", name="pk_holdings"),
    )
    op.create_index("ix_holdings_sku", "holdings", ["sku"])

    op.create_table(
        "orders",
        sa.Column("order_number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        _at("placed_at"),
        _at("shipped_at", nullable=True),
        _at("delivered_at", nullable=True),
        sa.Column("shipment_status", sa.String(24), nullable=True),
        sa.Column("carrier", sa.String(32), nullable=True),
        sa.Column("tracking_number", sa.String(64), nullable=True),
        sa.CheckConstraint(
            _one_of("status", ("placed", "paid", "shipped", "delivered", "cancelled", "returned")),
            name="ck_orders_status",
        ),
        sa.CheckConstraint(
            _one_of(
                "shipment_status",
                ("pending", "in_transit", "out_for_delivery", "delivered", "failed_delivery", "returned"),
            ),
            name="ck_orders_shipment_status",
        ),
        sa.CheckConstraint("total_minor >= 0", name="ck_orders_total"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.customer_id"], name="fk_orders_customer_id_customers"),
        sa.PrimaryKeyConstraint("order_number", name="pk_orders"),
    )
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"])

    op.create_table(
        "invoices",
        sa.Column("invoice_number", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("order_number", sa.String(32), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("paid_minor", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        _at("issued_at"),
        sa.Column("due_date", sa.Date(), nullable=False),
        _at("paid_at", nullable=True),
        sa.CheckConstraint("amount_minor >= 0", name="ck_invoices_amount"),
        sa.CheckConstraint("paid_minor >= 0 AND paid_minor <= amount_minor", name="ck_invoices_paid"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name="fk_invoices_customer_id_customers"
        ),
        sa.ForeignKeyConstraint(["order_number"], ["orders.order_number"], name="fk_invoices_order_number_orders"),
        sa.PrimaryKeyConstraint("invoice_number", name="pk_invoices"),
    )
    op.create_index("ix_invoices_customer_id", "invoices", ["customer_id"])

    op.create_table(
        "contacts",
        sa.Column("contact_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        _at("at"),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("disposition", sa.String(32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("agent_id", sa.String(64), nullable=True),
        sa.Column("call_id", sa.String(64), nullable=True),
        sa.Column("language", sa.String(2), nullable=True),
        sa.Column("script_answers", sa.JSON(), nullable=True),
        sa.Column("cross_sell_offered", sa.JSON(), nullable=True),
        sa.Column("cross_sell_accepted", sa.JSON(), nullable=True),
        _at("follow_up_at", nullable=True),
        sa.Column("follow_up_task", sa.String(500), nullable=True),
        sa.CheckConstraint(_one_of("channel", ("call", "email", "web", "chat")), name="ck_contacts_channel"),
        sa.CheckConstraint(_one_of("language", ("id", "en")), name="ck_contacts_language"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.customer_id"], name="fk_contacts_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("contact_id", name="pk_contacts"),
    )
    op.create_index("ix_contacts_customer_id_at", "contacts", ["customer_id", "at"])
    op.create_index("ix_contacts_call_id", "contacts", ["call_id"])

    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.String(8), nullable=False),
        _at("opened_at"),
        _at("closed_at", nullable=True),
        sa.CheckConstraint(_one_of("status", ("open", "pending", "resolved", "closed")), name="ck_cases_status"),
        sa.CheckConstraint(_one_of("priority", ("low", "normal", "high", "urgent")), name="ck_cases_priority"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.customer_id"], name="fk_cases_customer_id_customers"),
        sa.PrimaryKeyConstraint("case_id", name="pk_cases"),
    )
    op.create_index("ix_cases_customer_id", "cases", ["customer_id"])

    op.create_table(
        "promotions",
        sa.Column("promotion_id", sa.String(32), nullable=False),
        sa.Column("sku", sa.String(32), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("segment", sa.String(32), nullable=True),
        _at("starts_at"),
        _at("ends_at"),
        sa.Column("boost", sa.Float(), nullable=False),
        sa.Column("text_id", sa.String(500), nullable=False),
        sa.Column("text_en", sa.String(500), nullable=False),
        sa.CheckConstraint("sku IS NOT NULL OR category IS NOT NULL", name="ck_promotions_target"),
        sa.CheckConstraint("ends_at > starts_at", name="ck_promotions_period"),
        sa.CheckConstraint("boost > 0", name="ck_promotions_boost"),
        sa.ForeignKeyConstraint(["sku"], ["products.sku"], name="fk_promotions_sku_products"),
        sa.PrimaryKeyConstraint("promotion_id", name="pk_promotions"),
    )


def downgrade() -> None:
    for table in (
        "promotions",
        "cases",
        "contacts",
        "invoices",
        "orders",
        "holdings",
        "product_complements",
        "products",
        "customer_phones",
        "customers",
    ):
        op.drop_table(table)
