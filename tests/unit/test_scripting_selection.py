"""Script selection by the five factors, and the default script set cti ships."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from cti.scripting import (
    DEFAULT_SCRIPTS,
    Factors,
    NoScript,
    Script,
    advance,
    billing_state,
    load_script_file,
    parse_script,
    render_path,
    render_step,
    select_script,
)

DEFAULTS = load_script_file()


def chosen(**factors: Any) -> str:
    return select_script(DEFAULTS, Factors(**factors)).id


def test_the_default_set_loads_with_its_scripts() -> None:
    assert DEFAULT_SCRIPTS.name == "default.yaml"
    assert [(s.id, s.priority, s.catch_all) for s in DEFAULTS] == [
        ("general", 0, True), ("vip", 10, False), ("technical", 20, False), ("order_status", 20, False),
        ("billing", 20, False), ("billing_due", 5, False), ("sales", 3, False), ("promotion", 2, False)]


@pytest.mark.parametrize(("factors", "script_id"), [
    ({}, "general"),
    # contact reason
    ({"reason": "technical"}, "technical"),
    ({"reason": "internet_down"}, "technical"),
    ({"reason": "order_status"}, "order_status"),
    ({"reason": "billing"}, "billing"),
    ({"reason": "complaint"}, "general"),
    # customer value
    ({"value_tier": "platinum"}, "vip"),
    ({"value_tier": "gold"}, "vip"),
    ({"value_tier": "silver"}, "general"),
    # cross-sell opportunity
    ({"cross_sell": True}, "sales"),
    # active promotion
    ({"promotion": True}, "promotion"),
    # billing due
    ({"billing": "due"}, "billing_due"),
    ({"billing": "overdue"}, "billing_due"),
    # several at once: the priorities decide
    ({"reason": "technical", "value_tier": "gold", "billing": "overdue", "cross_sell": True}, "technical"),
    ({"value_tier": "gold", "billing": "overdue"}, "vip"),
    ({"billing": "due", "cross_sell": True, "promotion": True}, "billing_due"),
    ({"cross_sell": True, "promotion": True}, "sales"),
])
def test_selection_by_each_factor(factors: dict[str, Any], script_id: str) -> None:
    assert chosen(**factors) == script_id


def bare(script_id: str, priority: int = 0, **when: Any) -> Script:
    return parse_script({"id": script_id, "title": {"id": script_id, "en": script_id}, "priority": priority,
                         "when": when, "steps": [{"id": "s", "text": {"id": "x", "en": "x"}}]})


def test_priority_then_specificity_then_id() -> None:
    scripts = [bare("b-any"), bare("a-gold", value_tier="gold"), bare("c-gold-due", value_tier="gold", billing="due"),
               bare("d-urgent", priority=50, billing=["due", "overdue"]), bare("e-gold", value_tier=["gold", "x"])]
    assert select_script(scripts, Factors(value_tier="gold")).id == "a-gold"  # ties with e-gold: smaller id
    assert select_script(scripts, Factors(value_tier="gold", billing="due")).id == "d-urgent"
    assert select_script(scripts[:3], Factors(value_tier="gold", billing="due")).id == "c-gold-due"
    assert select_script(scripts, Factors(value_tier="silver")).id == "b-any"
    assert select_script(list(reversed(scripts)), Factors(value_tier="gold")).id == "a-gold"


def test_boolean_conditions_match_both_ways() -> None:
    scripts = [bare("no-offer", cross_sell=False, promotion=False), bare("any")]
    assert select_script(scripts, Factors()).id == "no-offer"
    assert select_script(scripts, Factors(cross_sell=True)).id == "any"


def test_no_match_and_no_catch_all() -> None:
    with pytest.raises(NoScript, match="no script matches"):
        select_script([bare("gold", value_tier="gold")], Factors())


@pytest.mark.parametrize(("balance", "due", "state"), [
    (Decimal(0), date(2026, 5, 1), "none"),
    (Decimal(-5), None, "none"),
    (Decimal("0.01"), None, "due"),
    (Decimal(150_000), date(2026, 5, 20), "due"),
    (Decimal(150_000), date(2026, 5, 18), "due"),
    (Decimal(150_000), date(2026, 5, 17), "overdue"),
])
def test_billing_state(balance: Decimal, due: date | None, state: str) -> None:
    assert billing_state(balance, due, today=date(2026, 5, 18)) == state


# -- the default scripts in use ------------------------------------------------------------------------------

DATA: dict[str, object] = {
    "agent": {"name": "Rina"},
    "company": {"name": "Nusantara Net"},
    "customer": {"name": "Budi Santoso", "salutation": "Bapak", "value_tier": "gold", "region": "Jawa Barat"},
    "call": {"reason": "technical", "outage_eta": "pukul 18.00", "order_number": "ORD-2211", "order_eta": "besok"},
    "billing": {"balance_due": Decimal(385_000), "due_date": "20 Mei 2026", "grace_days": 14},
    "offer": {"name": "Mesh WiFi Extender", "price": Decimal(45_000),
              "reason": "Melengkapi Internet Rumah 50 Mbps yang Anda miliki"},
    "promotion": {"text": "Gratis 1 bulan Paket Streaming", "ends_on": "31 Mei 2026"},
}


def test_every_default_text_renders_in_both_languages_without_placeholders() -> None:
    for script in DEFAULTS:
        for step in script.steps:
            for language in ("id", "en"):
                rendered = render_step(script, step.id, language, DATA)
                texts = [rendered.text, rendered.hint or ""]
                if rendered.question is not None:
                    texts += [rendered.question.prompt or "", *(c.label for c in rendered.question.choices)]
                for text in texts:
                    assert not re.search(r"\[[a-z?]+\.", text), (script.id, step.id, language, text)
                    assert "{{" not in text and "{%" not in text


def test_a_gold_customer_with_internet_down_is_triaged() -> None:
    script = select_script(DEFAULTS, Factors(reason="internet_down", value_tier="gold", cross_sell=True))
    answers = {"identity": "yes", "outage": "no", "power": "yes", "los": "no", "resolved": "yes", "cross_sell": "later"}
    progress = advance(script, Factors(reason="internet_down", value_tier="gold", cross_sell=True), answers)
    assert progress.record() == {
        "script_id": "technical",
        "path": ["greeting_vip", "identity", "outage", "power", "los", "restart", "resolved", "resolved_ok",
                 "cross_sell", "closing"],
        "answers": {"identity": True, "outage": False, "power": True, "los": False, "resolved": True,
                    "cross_sell": "later"},
        "complete": True,
    }
    steps = render_path(script, progress, "id", DATA)
    assert steps[0].text == (
        "Selamat datang kembali di Nusantara Net, Bapak Budi Santoso. Terima kasih atas kepercayaan Anda sebagai "
        "pelanggan Gold. Saya Rina, dengan senang hati membantu Anda.")
    assert steps[8].hint == (
        "Alasan penawaran: Melengkapi Internet Rumah 50 Mbps yang Anda miliki. Jika pelanggan menolak, jangan "
        "ditawarkan ulang.")


def test_a_red_los_light_opens_a_ticket() -> None:
    script = next(s for s in DEFAULTS if s.id == "technical")
    progress = advance(script, Factors(reason="technical"), {"identity": True, "outage": False, "power": True,
                                                              "los": True, "ticket_days": "2"})
    assert progress.path == ("greeting", "identity", "outage", "power", "los", "ticket_days", "ticket_created",
                             "closing")
    assert progress.answers["ticket_days"] == 2 and progress.complete


def test_an_overdue_customer_hears_the_reminder_right_after_identity() -> None:
    factors = Factors(billing="overdue", cross_sell=True, promotion=True)
    script = select_script(DEFAULTS, factors)
    progress = advance(script, factors, {"identity": "yes", "billing_overdue": "yes", "need": "ganti paket"})
    assert progress.path == ("greeting", "identity", "billing_overdue", "need", "cross_sell")
    assert progress.current == "cross_sell"
    step = render_step(script, "billing_overdue", "en", DATA)
    assert step.text == (
        "Please note that your bill of Rp 385.000 was due on 20 Mei 2026 and is now overdue. To avoid any "
        "interruption of your service, please pay it as soon as possible. Would you like us to send you a "
        "payment link now?")


def test_identity_not_verified_goes_straight_to_closing() -> None:
    script = select_script(DEFAULTS, Factors(reason="order_status"))
    progress = advance(script, Factors(reason="order_status"), {"identity": "no"})
    assert progress.path == ("greeting", "identity", "identity_failed", "closing")
    assert progress.complete


def test_order_status_branches() -> None:
    script = select_script(DEFAULTS, Factors(reason="order_status"))
    base = {"identity": True, "order_number": "ORD-2211"}
    assert advance(script, Factors(), {**base, "order_state": "delayed"}).path[-3:] == (
        "order_state", "order_delayed", "closing")
    delivered = advance(script, Factors(), {**base, "order_state": "delivered", "order_delivered": "no"})
    assert delivered.path[-3:] == ("order_delivered", "delivery_claim", "closing")
    transit = advance(script, Factors(promotion=True), {**base, "order_state": "in_transit"})
    assert transit.path[-4:] == ("order_state", "order_in_transit", "promotion", "closing")  # no cross-sell
    assert render_step(script, "order_in_transit", "id", DATA).text == (
        "Pesanan Anda sedang dalam pengiriman dan diperkirakan tiba besok. Nomor resi sudah kami kirim melalui SMS "
        "sehingga Anda dapat melacaknya.")


def test_an_unknown_caller_is_greeted_in_neutral_words() -> None:
    # No "[customer.name]" (nor "[?.name]") read out to a stranger: the account holder, in the call's language.
    script = select_script(DEFAULTS, Factors())
    step = render_step(script, "greeting", "en", {"agent": {"name": "Rina"}, "customer": None})
    assert step.text == ("Thank you for calling our customer service, this is Rina speaking. Am I speaking with "
                         "the account holder?")
    step = render_step(script, "greeting", "id", {"agent": {"name": "Rina"}, "customer": None})
    assert step.text == ("Terima kasih telah menghubungi layanan pelanggan kami, dengan Rina. Apakah saya berbicara "
                         "dengan Bapak/Ibu pemilik akun?")
    identity = render_step(script, "identity", "en", {"customer": None}).text
    assert "[" not in identity and "the account holder" in identity
