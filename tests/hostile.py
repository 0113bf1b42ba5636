"""Hostile data for the tests only: the demo's CRM with markup where people's names and notes go.

The demo's data is clean (people see it); the tests that check that names and notes are shown as text, searched
and stored as given seed this instead: customer 10000003 named ``Dewi <script>alert(1)</script> Lestari`` and a
contact note with tags, quotes and an ampersand.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Final

from cti.crm import CrmDataset
from cti.sim import BANDUNG_YOUTH, generate

__all__ = ["HTML_NAME", "HTML_NOTES", "HTML_PERSON", "hostile", "hostile_dataset"]

HTML_NAME: Final = BANDUNG_YOUTH
"""The customer whose name holds markup."""
HTML_PERSON: Final = "Dewi <script>alert(1)</script> Lestari"
HTML_NOTES: Final = 'Tanya harga <b>casing</b> & "earbud"'


def hostile(dataset: CrmDataset) -> CrmDataset:
    """``dataset`` with markup in customer 10000003's name and in the notes of their contacts."""
    customers = tuple(
        replace(c, fields=replace(c.fields, name=HTML_PERSON)) if c.customer_id == HTML_NAME else c
        for c in dataset.customers)
    contacts = tuple(replace(c, notes=HTML_NOTES) if c.customer_id == HTML_NAME and c.notes else c
                     for c in dataset.contacts)
    return replace(dataset, customers=customers, contacts=contacts)


def hostile_dataset(*, now: datetime, customers: int = 200, seed: int = 1) -> CrmDataset:
    """:func:`cti.sim.generate`, made hostile."""
    return hostile(generate(now=now, customers=customers, seed=seed))
