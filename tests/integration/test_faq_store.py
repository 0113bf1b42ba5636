"""The FAQ store (FaqRepository) on real SQLite and PostgreSQL databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cti.faq import FaqText
from cti.persistence import Database, FaqRepository, StorageConflict
from tests.support import migrated_database

T0 = datetime(2026, 12, 6, 2, 30, tzinfo=UTC)
TEXTS = {"id": FaqText("Kapan jatuh tempo?", "Tanggal 20.", ("batas bayar",)),
         "en": FaqText("When is it due?", "On the 20th.")}


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with migrated_database(request.param, tmp_path) as database:
        yield database


async def test_an_entry_keeps_every_version_with_its_author_and_time(db: Database) -> None:
    store = FaqRepository(db)
    created = await store.create("due", TEXTS, product_line=None, author="sue", now=T0)
    assert (created.version, created.status, created.author, created.texts) == (1, "draft", "sue", TEXTS)
    with pytest.raises(StorageConflict):
        await store.create("due", TEXTS, product_line=None, author="sue", now=T0)
    edited = await store.edit("due", {"en": FaqText("When is my bill due?", "On the 20th.")}, product_line="plan",
                              author="admin", now=T0 + timedelta(hours=1))
    assert edited is not None
    assert (edited.version, edited.product_line, edited.author, list(edited.texts)) == (2, "plan", "admin", ["en"])
    assert edited.created_at == T0 and edited.updated_at == T0 + timedelta(hours=1)
    versions = await store.versions("due")
    assert [(v.version, v.author, v.created_at, v.product_line) for v in versions] == [
        (1, "sue", T0, None), (2, "admin", T0 + timedelta(hours=1), "plan")]
    assert versions[0].texts == TEXTS
    assert await store.edit("nothing", TEXTS, product_line=None, author="sue") is None


async def test_status_filters_and_feedback_counted_on_published_entries_only(db: Database) -> None:
    store = FaqRepository(db)
    await store.create("a", TEXTS, product_line="home", author="sue", now=T0)
    await store.create("b", TEXTS, product_line=None, author="sue", status="published", now=T0)
    assert [e.entry_id for e in await store.entries()] == ["a", "b"]
    assert [e.entry_id for e in await store.entries(status="published")] == ["b"]
    assert [e.entry_id for e in await store.entries(product_line="home")] == ["a"]
    assert await store.count_feedback("a", helpful=True) is False  # a draft
    assert await store.count_feedback("b", helpful=True) is True
    assert await store.count_feedback("b", helpful=False) is True
    assert await store.count_feedback("b", helpful=True) is True
    b = await store.get("b")
    assert b is not None and (b.helpful, b.not_helpful) == (2, 1)
    archived = await store.set_status("b", "archived", now=T0 + timedelta(days=1))
    assert archived is not None and archived.status == "archived" and archived.updated_at == T0 + timedelta(days=1)
    assert await store.set_status("nothing", "published") is None
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await store.get("a") is None and await store.versions("a") == []
