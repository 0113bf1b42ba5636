"""Round 13: a brand written with a dot inside ("by.u", "live.on") is another company's, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cti.cyberagent import CyberAgent, Session
from cti.cyberagent._elsewhere import dotted_names
from cti.faq import FaqEntry, FaqIndex, read_texts
from cti.sim._crm_seed_data import PRODUCTS
from cti.sim._demo_seed import starter_faq
from cti.types import Language

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
OWN = frozenset({"portal.example.co.id"})


@pytest.mark.parametrize(("lang", "message", "names"), [
    ("id", "kuota kartu lite.up sy tinggal brp", {"lite.up"}),
    ("en", "activating roaming on a go.xl number", {"go.xl"}),
    ("en", "can i buy it on shop.com", {"shop.com"}),
    ("id", "tagihan a.n. budi s.d. tgl 5", set()),  # initials
    ("id", "no.hp sy mau diganti", set()),  # a short form before the dot: "nomor hp"
    ("id", "udah bayar.tapi masih belum lunas", set()),  # words run together at a full stop
    ("en", "can you send the invoice.pdf again", set()),  # a file
    ("en", "the page www.portal.example.co.id is down", set()),  # the company's own address
    ("en", "i paid 1.5 million", set()),
])
def test_a_name_with_a_dot_inside_is_found_initials_files_and_ours_are_not(lang: Language, message: str,
                                                                           names: set[str]) -> None:
    assert dotted_names(message, lang, OWN) == names


@pytest.mark.parametrize(("lang", "message"), [
    ("id", "kuota lite.up sy tinggal brp, liatnya di aplikasi apa"),
    ("en", "how much data is left on my lite.up line, which app shows that"),
    ("id", "cara aktifin roaming di kartu go.xl"),
    ("en", "how do i turn on roaming for my go.xl sim"),
])
async def test_a_question_about_a_dotted_brand_is_handed_over(lang: Language, message: str) -> None:
    entries = [FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
               for entry_id, draft in starter_faq()]
    index = FaqIndex(entries)
    index.prepare()
    agent = CyberAgent(index, catalog=PRODUCTS)
    reply = await agent.respond(Session(lang=lang, customer_id="10000001"), message)
    assert (reply.action, reply.source) == ("handover", None)
    # The same question without the brand is the FAQ's or the agent's own, not a hand-over for the dot.
    assert not dotted_names(message.replace("lite.up", "").replace("go.xl", ""), lang)


async def test_the_companys_own_web_address_in_its_faq_is_not_another_company() -> None:
    entries = [FaqEntry(entry_id, "published", 1, draft.product_line, read_texts(draft.texts), "cti", T0, T0)
               for entry_id, draft in starter_faq()]
    index = FaqIndex(entries)
    index.prepare()
    agent = CyberAgent(index, catalog=PRODUCTS)
    assert not agent._dotted("is portal.example.co.id down", "en")
    assert not agent._dotted("portal.example.co.id ga bisa dibuka", "id")
    assert agent._dotted("kartu lite.up sy", "id")
