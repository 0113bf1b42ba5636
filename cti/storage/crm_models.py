"""ORM tables of the CRM (customers, products, holdings, orders, invoices, contacts, cases).

Registered on the shared :class:`~cti.storage.models.Base` so one Alembic history owns every table.
"""

from __future__ import annotations

__all__: list[str] = []
