"""What a customer did on the portal, as the agent's screen pop says it, in Bahasa Indonesia and English."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.crm import (
    Consent,
    ContactRecord,
    CustomerRecord,
    CustomerView,
    WebAction,
    read_web_reason,
    web_action_line,
    web_activity,
    web_reason,
)
from cti.services import customer_frame

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def contact(reason: str | None, *, ago: timedelta, channel: str = "web", contact_id: int = 1) -> ContactRecord:
    return ContactRecord(contact_id=contact_id, customer_id="10000002", channel=channel, at=NOW - ago, reason=reason,
                         disposition="self_service", notes=None, agent_id=None, call_id=None, language="id",
                         script_answers=None, cross_sell_offered=(), cross_sell_accepted=(), follow_up_at=None,
                         follow_up_task=None)


def view_of(contacts: tuple[ContactRecord, ...]) -> CustomerView:
    siti = CustomerRecord(customer_id="10000002", name="Siti Rahayu", phones=("+6285730000002",), email=None,
                          address=None, city="Surabaya", region="surabaya", country="ID", language="id", segment=None,
                          value_tier="silver", lifetime_value_minor=0, consent=Consent(), forgotten_at=None,
                          created_at=NOW, updated_at=NOW)
    return CustomerView(customer=siti, owned=(), contacts=contacts, open_orders=(), open_cases=(), unpaid_invoices=())


def test_looking_up_an_order_is_said_with_its_number_and_how_long_ago_in_both_languages() -> None:
    looked = contact(web_reason("order_viewed", "7001"), ago=timedelta(minutes=10))
    assert web_action_line(looked, NOW, "en") == "looked up order 7001 on the web 10 minutes ago"
    assert web_action_line(looked, NOW, "id") == "melihat pesanan 7001 lewat web 10 menit lalu"


@pytest.mark.parametrize(("reason", "ago", "en", "id_"), [
    (web_reason("signed_in"), timedelta(seconds=20), "signed in on the web portal just now",
     "masuk ke portal web baru saja"),
    (web_reason("details_changed"), timedelta(minutes=1), "changed their contact details on the web 1 minute ago",
     "mengubah data kontaknya lewat web 1 menit lalu"),
    (web_reason("preferences_changed"), timedelta(hours=3),
     "changed their contact preferences on the web 3 hours ago", "mengubah preferensi kontaknya lewat web 3 jam lalu"),
    (web_reason("callback_requested", "ab12"), timedelta(hours=1), "asked for a callback on the web 1 hour ago",
     "meminta ditelepon balik lewat web 1 jam lalu"),
    (web_reason("callback_cancelled", "ab12"), timedelta(days=3),
     "cancelled their callback request on the web 3 days ago",
     "membatalkan permintaan telepon balik lewat web 3 hari lalu"),
])
def test_each_portal_action_has_its_line(reason: str, ago: timedelta, en: str, id_: str) -> None:
    done = contact(reason, ago=ago)
    assert (web_action_line(done, NOW, "en"), web_action_line(done, NOW, "id")) == (en, id_)


def test_other_contacts_are_no_portal_action() -> None:
    assert web_action_line(contact("order", ago=timedelta(hours=1)), NOW, "en") is None  # a web contact of before
    assert web_action_line(contact(web_reason("signed_in"), ago=timedelta(0), channel="call"), NOW, "en") is None
    assert read_web_reason("portal:teleported:1") is None and read_web_reason(None) is None
    assert read_web_reason("portal:order_viewed:7001") == WebAction("order_viewed", "7001")
    with pytest.raises(ValueError, match="unknown portal action"):
        web_reason("teleported")


def test_the_pop_lists_the_last_weeks_portal_actions_most_recent_first() -> None:
    contacts = [contact(web_reason("order_viewed", "7001"), ago=timedelta(minutes=10), contact_id=3),
                contact("billing", ago=timedelta(hours=2), channel="call", contact_id=2),
                contact(web_reason("signed_in"), ago=timedelta(days=8), contact_id=1)]
    assert web_activity(contacts, NOW) == [{
        "at": (NOW - timedelta(minutes=10)).isoformat(), "action": "order_viewed", "subject": "7001",
        "text": {"en": "looked up order 7001 on the web 10 minutes ago",
                 "id": "melihat pesanan 7001 lewat web 10 menit lalu"}}]
    frame = customer_frame(view_of(tuple(contacts)), NOW)
    assert [w["text"]["en"] for w in frame["web_activity"]] == ["looked up order 7001 on the web 10 minutes ago"]
    assert customer_frame(view_of(tuple(contacts)))["web_activity"] == []  # no time given: nothing relative to say
