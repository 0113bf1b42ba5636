"""Webhook subscriptions (:class:`cti.records.WebhookSubscription`): where partners want events delivered.

The events themselves wait in the Redis outbox (:class:`cti.live.WebhookOutbox`), not here: see
docs/integration.md for why.
"""

from __future__ import annotations

import builtins
from dataclasses import replace

from sqlalchemy import select

from cti.records import WebhookSubscription

from ._base import utcnow
from ._database import Database
from ._tables import WebhookSubscriptionRow

__all__ = ["WebhookRepository"]


class WebhookRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, subscription: WebhookSubscription) -> WebhookSubscription:
        saved = replace(subscription, created_at=subscription.created_at or utcnow())
        async with self._db.transaction(f"save webhook subscription {subscription.subscription_id}") as session:
            session.add(WebhookSubscriptionRow(
                subscription_id=saved.subscription_id, url=saved.url, events=list(saved.events), secret=saved.secret,
                description=saved.description, active=saved.active, created_by=saved.created_by,
                created_at=saved.created_at))
        return saved

    async def get(self, subscription_id: str) -> WebhookSubscription | None:
        async with self._db.transaction(f"read webhook subscription {subscription_id}") as session:
            row = await session.get(WebhookSubscriptionRow, subscription_id)
            return None if row is None else _record(row)

    async def list(self) -> builtins.list[WebhookSubscription]:
        """Every subscription, oldest first."""
        query = select(WebhookSubscriptionRow).order_by(WebhookSubscriptionRow.created_at,
                                                        WebhookSubscriptionRow.subscription_id)
        async with self._db.transaction("list webhook subscriptions") as session:
            return [_record(row) for row in await session.scalars(query)]

    async def update(self, subscription: WebhookSubscription) -> bool:
        """Its URL, events, description and whether active (the secret stays); whether there was one."""
        async with self._db.transaction(f"save webhook subscription {subscription.subscription_id}") as session:
            row = await session.get(WebhookSubscriptionRow, subscription.subscription_id)
            if row is None:
                return False
            row.url, row.events = subscription.url, list(subscription.events)
            row.description, row.active = subscription.description, subscription.active
            return True

    async def delete(self, subscription_id: str) -> bool:
        async with self._db.transaction(f"delete webhook subscription {subscription_id}") as session:
            row = await session.get(WebhookSubscriptionRow, subscription_id)
            if row is None:
                return False
            await session.delete(row)
            return True


def _record(row: WebhookSubscriptionRow) -> WebhookSubscription:
    return WebhookSubscription(subscription_id=row.subscription_id, url=row.url, events=tuple(row.events),
                               secret=row.secret, description=row.description, active=row.active,
                               created_by=row.created_by, created_at=row.created_at)
