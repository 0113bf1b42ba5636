"""The CRM as the call path uses it: who is calling (routing attributes) and IVR self-service answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from cti.controller.identity import IdentifyFn, Identity
from cti.crm.records import MINOR_PER_MAJOR, InvoiceRecord
from cti.ivr.flow_events import LookupResult
from cti.persistence import CustomerRepository

__all__ = ["CrmSelfService", "crm_identify"]


def crm_identify(store: CustomerRepository) -> IdentifyFn:
    async def identify(number: str) -> Identity | None:
        customer = await store.customer_by_phone(number)
        if customer is None or customer.forgotten_at is not None:
            return None
        attributes: dict[str, str] = {"language": customer.language}
        if customer.value_tier:
            attributes["value_tier"] = customer.value_tier
        if customer.region:
            attributes["region"] = customer.region
        return Identity(customer.customer_id, customer.language, attributes)

    return identify


def _major(minor: int) -> Decimal:
    return Decimal(minor) / MINOR_PER_MAJOR


class CrmSelfService:
    """Answers the IVR's ``order_status`` and ``balance`` lookups with the fields the flows may say."""

    def __init__(self, store: CustomerRepository) -> None:
        self.store = store

    async def lookup(self, kind: str, key: str) -> LookupResult:
        if kind == "order_status":
            return await self._order(key)
        if kind == "balance":
            return await self._balance(key)
        return LookupResult(kind, False, error=f"unknown lookup {kind!r}")

    async def _order(self, number: str) -> LookupResult:
        order = await self.store.order_status(number)
        if order is None:
            return LookupResult("order_status", False, {"order_number": number})
        data: dict[str, Any] = {
            "order_number": order.order_number, "status": order.status,
            "shipment_status": order.shipment_status or "pending", "carrier": order.carrier or "",
            "placed_on": order.placed_at.date(), "total": _major(order.total_minor),
            "items": sum(item.quantity for item in order.items),
        }
        if order.shipped_at is not None:
            data["shipped_on"] = order.shipped_at.date()
        if order.delivered_at is not None:
            data["delivered_on"] = order.delivered_at.date()
        return LookupResult("order_status", True, data)

    async def _balance(self, customer_number: str) -> LookupResult:
        view = await self.store.customer_view(customer_number, contacts=0)
        if view is None or view.customer.forgotten_at is not None:
            return LookupResult("balance", False, {"customer_number": customer_number})
        unpaid: tuple[InvoiceRecord, ...] = view.unpaid_invoices
        data: dict[str, Any] = {"customer_number": customer_number, "balance": _major(view.balance_due_minor),
                                "open_invoices": len(unpaid)}
        if unpaid:
            data["due_amount"] = _major(unpaid[0].due_minor)
            data["due_date"] = unpaid[0].due_date
        return LookupResult("balance", True, data)
