"""The customer's survey page in a real Chromium: a survey is e-mailed after a call through a real SMTP server
(aiosmtpd); the customer opens the link from the mail on a phone, switches to Bahasa Indonesia, answers (a rating,
yes/no, a choice and a comment), sees the thank-you, and the answers are in the store; the same link opened again
says it was answered, and a forged one that it is not valid. The API's refusals: tests/integration/
test_surveys_api.py."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Route, expect

from cti.crm import Consent, CustomerFields
from cti.persistence import CustomerRepository, Database, SurveyRepository, UserRepository
from cti.services import InteractionEnded, SurveyService
from cti.web import AUDIT, SURVEYS, _service, _signin, _surveys, _ui
from cti.web._ui import PAGE_POLICY
from tests.accessibility import axe_violations
from tests.api import api_app
from tests.mailbox import Mailbox, mailbox
from tests.support import browser_page

HERE = Path(__file__).parent
EMAIL = "dewi@example.com"
BASE = "http://cti.test"


def both(id_: str, en: str) -> dict[str, str]:
    return {"id": id_, "en": en}


QUESTIONNAIRE = {
    "title": both("Survei layanan", "Service survey"),
    "questions": [
        {"key": "satisfaction", "kind": "rating", "metric": "csat",
         "text": both("Seberapa puas Anda?", "How satisfied are you?")},
        {"key": "solved", "kind": "yes_no", "metric": "fcr",
         "text": both("Apakah masalah Anda selesai?", "Was your problem solved?")},
        {"key": "time", "kind": "choice", "preference": "contact_time", "required": False,
         "text": both("Kapan kami sebaiknya menghubungi Anda?", "When should we contact you?"),
         "choices": [{"value": "morning", "label": both("Pagi", "Morning")},
                     {"value": "evening", "label": both("Malam", "Evening")}]},
        {"key": "comment", "kind": "text", "required": False,
         "text": both("Ada saran lain?", "Anything else?")},
    ],
}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[TestServer, Mailbox, SurveyService, Database]]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    with mailbox() as mail:
        app, _ = api_app(db, [_service, _surveys, _ui])
        surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=mail.mailer(),
                                link_base=BASE)
        app[SURVEYS] = surveys
        server = TestServer(app)
        await server.start_server()
        try:
            yield server, mail, surveys, db
        finally:
            await server.close()
            await surveys.close()
            await db.close()


async def test_a_customer_answers_the_mailed_survey_in_bahasa_indonesia(
        served: tuple[TestServer, Mailbox, SurveyService, Database]) -> None:
    server, mail, surveys, db = served
    customer = await CustomerRepository(db).create_customer(CustomerFields(
        name="Dewi Lestari", email=EMAIL, language="en", value_tier="gold", consent=Consent(email=True)))
    await surveys.define("care", QUESTIONNAIRE, by="sue")
    await surveys.interaction_ended(InteractionEnded(call_id="c1", customer_id=customer.customer_id, channel="call",
                                                     ended_at=datetime.now(UTC), agent_id="ana", queue="care"))
    assert await surveys.send_due() == 1
    link = (await mail.survey_link(EMAIL)).replace(BASE, str(server.make_url("")).rstrip("/"))

    async with browser_page(locale="en-GB") as page:
        await page.set_viewport_size({"width": 360, "height": 740})  # a phone
        await page.goto(link)
        await expect(page.get_by_role("heading", name="Service survey")).to_be_visible()  # the CRM's language
        assert await axe_violations(page) == []
        await page.get_by_role("button", name="Bahasa Indonesia").click()
        await expect(page.get_by_role("heading", name="Survei layanan")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "id")
        rating = page.get_by_role("group", name="Seberapa puas Anda? *")
        await rating.get_by_label("4 \u2013 puas").check()  # the page writes an en dash
        await page.get_by_role("group", name="Apakah masalah Anda selesai? *").get_by_label("Ya").check()
        await page.get_by_role("group", name="Kapan kami sebaiknya menghubungi Anda?").get_by_label("Malam").check()
        await page.get_by_label("Ada saran lain?").fill("Petugasnya ramah")
        assert await axe_violations(page) == []
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
        await page.get_by_role("button", name="Kirim jawaban").click()
        await expect(page.get_by_role("heading", name="Terima kasih!")).to_be_visible()
        await expect(page.get_by_role("heading", name="Terima kasih!")).to_be_focused()

        await page.reload()
        await expect(page.get_by_role("alert")).to_have_text("Survei ini sudah dijawab. Terima kasih!")
        await page.goto(link[: link.index("#")] + "#forged-token-0123456789abcdef")
        await expect(page.get_by_role("alert")).to_have_text(
            "Tautan survei ini tidak berlaku. Silakan pakai tautan dari e-mail Anda.")

    [answered] = await SurveyRepository(db).of_customer(customer.customer_id)
    assert (answered.status, answered.answer_channel, answered.rating, answered.resolved) == ("answered", "web", 4,
                                                                                             True)
    assert answered.answers == {"satisfaction": 4, "solved": True, "time": "evening", "comment": "Petugasnya ramah"}
    profile = await surveys.profile(customer.customer_id)
    assert profile.preferences == {"contact_time": "evening"} and profile.comment == "Petugasnya ramah"


SUPERVISOR = "survey-page-supervisor-0123456789ab"


async def test_a_supervisor_defines_a_questionnaire_and_reads_the_figures(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("sri", "supervisor", SUPERVISOR)
    app, _ = api_app(db, [_signin, _surveys, _ui])
    surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=None, link_base=BASE)
    app[SURVEYS] = surveys
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await surveys.define("general", QUESTIONNAIRE, by="sri")
        for name, rating, solved in (("Ani", 5, True), ("Budi", 2, False)):
            who = await CustomerRepository(db).create_customer(CustomerFields(name=name, value_tier="gold"))
            await surveys.record(customer_id=who.customer_id, questionnaire_id="general", complete=True,
                                 answers={"satisfaction": rating, "solved": solved}, agent_id="ana", queue="care")
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {SUPERVISOR}"}) as http:
            async with http.patch(f"{base}/api/me", json={"language": "en"}) as response:
                assert response.status == 200
        async with browser_page(locale="en-GB", timezone_id="UTC") as page:
            await page.goto(f"{base}/ui/surveys.html#token={SUPERVISOR}")
            await expect(page.locator("header nav a[aria-current=page]")).to_have_text("Surveys")
            rows = page.locator("#questionnaires tbody tr")
            await expect(rows).to_have_count(1)
            await expect(rows.first).to_contain_text("general")

            await page.get_by_role("button", name="New questionnaire").click()
            await page.get_by_label("Questionnaire id").fill("gold-chat")
            await page.get_by_label("Definition (JSON)").fill(json.dumps({
                "title": {"id": "Obrolan"}, "segment": {"value_tier": "gold", "channel": "chat"},
                "questions": QUESTIONNAIRE["questions"]}))
            await page.get_by_role("button", name="Save").click()
            await expect(page.get_by_role("alert")).to_have_text("The questionnaire is not valid.")
            await expect(page.locator("#problems li")).to_have_text(
                ["title.en: a printable text of 1 to 300 characters"])
            await page.get_by_label("Definition (JSON)").fill(json.dumps({
                "title": {"id": "Obrolan", "en": "Chat"}, "segment": {"value_tier": "gold", "channel": "chat"},
                "questions": QUESTIONNAIRE["questions"]}))
            await page.get_by_role("button", name="Save").click()
            await expect(page.get_by_role("status")).to_have_text("Questionnaire gold-chat saved as version 1.")
            await expect(rows).to_have_count(2)
            await expect(rows.nth(1)).to_contain_text("gold / chat")  # by id
            assert await axe_violations(page) == []

            await page.get_by_label("Per").select_option("agent")
            await page.get_by_role("button", name="Show").click()
            body = page.locator("#figures tbody tr")
            await expect(body).to_have_count(1)
            await expect(body.first.locator("th, td")).to_have_text(
                ["ana", "2", "2", "100.0%", "50.0%", "0.0", "50.0%"])
            assert await axe_violations(page) == []
    finally:
        await server.close()
        await db.close()


async def test_the_dashboards_csat_tile_shows_todays_figures_of_the_queue_chosen(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/cti.db")
    await db.upgrade()
    await UserRepository(db).ensure_user_token("sri", "supervisor", SUPERVISOR)
    app, _ = api_app(db, [_signin, _surveys, _ui])
    surveys = SurveyService(SurveyRepository(db), CustomerRepository(db), app[AUDIT], mailer=None, link_base=BASE)
    app[SURVEYS] = surveys

    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        await surveys.define("general", QUESTIONNAIRE, by="sri")
        for name, queue, rating in (("Ani", "care", 5), ("Budi", "care", 4), ("Citra", "care", 1),
                                    ("Dodi", "sales", 2)):
            who = await CustomerRepository(db).create_customer(CustomerFields(name=name))
            await surveys.record(customer_id=who.customer_id, questionnaire_id="general", complete=True,
                                 answers={"satisfaction": rating, "solved": True}, agent_id="ana", queue=queue)
        async with browser_page(locale="en-GB", timezone_id="Asia/Jakarta") as page:
            # The harness page comes from the test, as if from the server (its API is the real one, behind auth).
            async def harness(route: Route) -> None:
                name = route.request.url.rsplit("/", 1)[1].split("#")[0]
                await route.fulfill(body=(HERE / name).read_bytes(), headers={
                    "Content-Type": "text/html" if name.endswith(".html") else "text/javascript",
                    "Content-Security-Policy": PAGE_POLICY})

            await page.route("**/test/csat*", harness)
            await page.goto(f"http://127.0.0.1:{server.port}/test/csat.html#token={SUPERVISOR}")
            tile = page.locator("#csat")
            await expect(tile).to_have_text("50%")  # 2 of 4 rated 4 or 5
            await expect(page.locator("#tile-csat")).to_have_attribute(  # the supervisor's language: Indonesian
                "title", "Gaya NPS -25, selesai di kontak pertama 100%, tingkat respons 100% (4 dinilai)")
            await page.select_option("#queue", "care")
            await expect(tile).to_have_text("67%")
            await page.select_option("#queue", "sales")
            await expect(tile).to_have_text("0%")
    finally:
        await server.close()
        await db.close()
