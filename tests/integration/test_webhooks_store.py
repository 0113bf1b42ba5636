"""Webhook subscriptions and partner users on real SQLite and PostgreSQL databases (migration 0024)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cti.persistence import Database, DeadLetterRepository, UserRepository, WebhookRepository
from cti.records import WebhookSubscription
from tests.support import migrated_database

T0 = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def test_a_subscription_is_kept_changed_and_deleted(db: Database) -> None:
    store = WebhookRepository(db)
    first = await store.add(WebhookSubscription(
        subscription_id="00000000000000a1", url="https://partner.example/hooks", events=("call.*", "customer.changed"),
        secret="whsec_one", description="CRM sync", created_by="admin", created_at=T0))
    await store.add(WebhookSubscription(subscription_id="00000000000000b2", url="https://other.example/h",
                                        events=("*",), secret="whsec_two", created_by="admin", created_at=T0))
    assert await store.get("00000000000000a1") == first
    changed = replace(first, url="https://partner.example/v2", events=("call.ended",), active=False,
                      secret="ignored")
    assert await store.update(changed)
    again = await store.get("00000000000000a1")
    assert again == replace(changed, secret="whsec_one")  # the secret never changes
    assert [s.subscription_id for s in await store.list()] == ["00000000000000a1", "00000000000000b2"]
    assert await store.delete("00000000000000b2")
    assert not await store.delete("00000000000000b2")
    assert not await store.update(replace(first, subscription_id="00000000000000ff"))
    assert [s.subscription_id for s in await store.list()] == ["00000000000000a1"]


async def test_a_partner_is_a_user_and_a_webhook_event_a_dead_letter(db: Database) -> None:
    users = UserRepository(db)
    partner, token = await users.create_user("acme", "partner")
    assert partner.role == "partner"
    assert (await users.user_for_token(token)) == partner
    letters = DeadLetterRepository(db)
    letter_id = await letters.add("webhook", "00000000000000a1/call:c1",
                                  {"subscription_id": "00000000000000a1", "subject": "call:c1",
                                   "event": {"id": "e1", "type": "call.ended"}},
                                  "8 attempts: the receiver answered 500")
    [letter] = await letters.list(kind="webhook")
    assert (letter.letter_id, letter.key, letter.payload["event"]["id"]) == (letter_id, "00000000000000a1/call:c1",
                                                                            "e1")
