"""The administrators' users page in a real Chromium against the whole app (create_app) with no Asterisk: an admin
creates an agent's user on the page and sees its token once, sets a password there, the agent signs in with it and
lands on the desktop; disabled, the agent's sign-in is refused. The page speaks Indonesian and English, says the
server's refusals, and gives the focus back after each dialog."""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.async_api import Page, expect

from tests.fullapp import Cti
from tests.support import browser_page

STATIC = Path(__file__).resolve().parents[2] / "cti" / "web" / "static"


def _catalogue(lang: str) -> dict[str, str]:
    return {**json.loads((STATIC / "i18n" / lang / "common.json").read_text(encoding="utf-8")),
            **json.loads((STATIC / "i18n" / lang / "users.json").read_text(encoding="utf-8"))}


# The page's English texts that differ from their Indonesian ones (and have no placeholders to fill).
ENGLISH_ONLY = {text for key, text in _catalogue("en").items() if text != _catalogue("id")[key] and "{" not in text}


def users_url(cti: Cti) -> str:
    return f"{cti.client.make_url('/ui/users.html')}#token={cti.settings.admin_token.get_secret_value()}"


async def sign_in(page: Page, cti: Cti, name: str, password: str) -> None:
    await page.goto(f"{cti.client.make_url('/ui/signin.html')}?lang=en")
    await page.get_by_label("User name").fill(name)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def test_an_admin_creates_an_agent_user_sets_a_password_and_disables_them(cti: Cti, tmp_path: Path) -> None:
    await cti.create_agent("dewi", "Dewi Lestari")
    async with browser_page() as admin, browser_page() as agent:
        await admin.goto(users_url(cti))
        # The admin's language is Indonesian (every user's until they choose): the page's labels are.
        await expect(admin.get_by_role("heading", name="Pengguna", exact=True)).to_be_visible()
        await expect(admin.get_by_role("button", name="Buat pengguna")).to_be_visible()
        await expect(admin.get_by_role("columnheader", name="Token berlaku sampai")).to_be_visible()
        await expect(admin.locator("html")).to_have_attribute("lang", "id")
        await expect(admin.get_by_role("row", name="admin")).to_contain_text("administrator")
        texts = await admin.evaluate("""() => [...document.querySelectorAll('body *')]
            .flatMap(e => [e.children.length ? '' : e.textContent.trim(),
                           ...['aria-label', 'placeholder', 'title'].map(a => e.getAttribute(a) || '')])""")
        assert not ENGLISH_ONLY & set(texts), "English on the Indonesian page"
        await admin.screenshot(path=str(tmp_path / "users-id.png"), full_page=True)  # kept for review
        await admin.locator("#language").select_option("en")
        await expect(admin.get_by_role("heading", name="Users", exact=True)).to_be_visible()

        # Create an agent's user: the token is shown once, in the marked box, and works.
        await admin.get_by_label("User name").fill("dewi.l")
        await admin.get_by_label("Role").first.select_option("agent")
        await admin.get_by_label("Agent id").fill("dewi")
        await admin.get_by_role("button", name="Create user").click()
        box = admin.locator("#token-box")
        await expect(box).to_be_visible()
        await expect(box.get_by_role("heading")).to_have_text("New token for dewi.l")
        await expect(box.get_by_role("heading")).to_be_focused()
        await expect(box).to_contain_text("This token is shown only once.")
        token = await admin.locator("#token-value").input_value()
        assert len(token) >= 20
        assert (await cti.api("GET", "/api/me", token=token))["name"] == "dewi.l"
        held = await admin.evaluate("""(token) => [
            [...document.querySelectorAll('input, textarea')].filter(i => i.value.includes(token)).length,
            document.body.innerText.includes(token)]""", token)
        assert held == [1, False]  # in the token's field only
        await admin.screenshot(path=str(tmp_path / "users-en-token.png"), full_page=True)
        await box.get_by_role("button", name="I have stored it").click()
        await expect(box).to_be_hidden()
        assert token not in await admin.content()
        assert await admin.locator("#token-value").input_value() == ""
        row = admin.get_by_role("row", name="dewi.l")
        await expect(row).to_contain_text("agent")
        await expect(row).to_contain_text("enabled")

        # A password: too short is said in the dialog; a suggestion is made in the browser; the focus comes back.
        await admin.get_by_role("button", name="Set or reset the password of dewi.l").click()
        dialog = admin.locator("#password-dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_label("New password").fill("short")
        await dialog.get_by_role("button", name="Set password").click()
        await expect(dialog.get_by_role("alert")).to_have_text("The password needs at least 10 characters.")
        await dialog.get_by_role("button", name="Suggest a password").click()
        password = await dialog.get_by_label("New password").input_value()
        assert len(password) == 16 and password != "short"
        await dialog.get_by_role("button", name="Set password").click()
        await expect(dialog).to_be_hidden()
        await expect(admin.locator("#notice")).to_have_text(
            "Password of dewi.l set; their open sessions have ended.")
        await expect(admin.get_by_role("button", name="Set or reset the password of dewi.l")).to_be_focused()

        # The agent signs in with it and lands on their desktop; the users page is not for them.
        await sign_in(agent, cti, "dewi.l", password)
        await agent.wait_for_url("**/ui/desktop.html")
        await expect(agent.locator("#user-name")).to_have_text("Dewi Lestari")
        await agent.goto(str(cti.client.make_url("/ui/users.html")))
        await expect(agent.locator("#refused")).to_be_visible()  # in the agent's language, saying whom it is for
        await expect(agent.locator("#users-page")).to_be_hidden()

        # A refusal of the server is said in the dialog: an admin cannot disable themself.
        await admin.get_by_role("button", name="Disable admin").click()
        confirm = admin.locator("#confirm-dialog")
        await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
        await confirm.get_by_role("button", name="Disable", exact=True).click()
        await expect(confirm.get_by_role("alert")).to_have_text(
            "Refused (409): You cannot disable your own user; another administrator can.")  # error.self_disable
        await admin.keyboard.press("Escape")
        await expect(confirm).to_be_hidden()
        await expect(admin.get_by_role("button", name="Disable admin")).to_be_focused()

        # Disabled after a confirmation: the row says so, and the agent's sign-in is refused.
        await admin.get_by_role("button", name="Disable dewi.l").click()
        await expect(confirm.get_by_role("heading")).to_have_text("Disable dewi.l?")
        await confirm.get_by_role("button", name="Disable", exact=True).click()
        await expect(confirm).to_be_hidden()
        await expect(row).to_contain_text("disabled")
        await expect(admin.get_by_role("button", name="Enable dewi.l")).to_be_focused()
        await sign_in(agent, cti, "dewi.l", password)
        await expect(agent.get_by_role("alert")).to_have_text("Wrong user name or password.")

        # Filter and sort: the state filter leaves the disabled user; the name column sorts both ways.
        await admin.get_by_label("State").select_option("disabled")
        await expect(admin.locator("#users tbody tr")).to_have_count(1)
        await admin.get_by_label("State").select_option("")
        await admin.get_by_role("button", name="Name", exact=True).click()
        await expect(admin.locator("#users th[data-sort=name]")).to_have_attribute("aria-sort", "descending")
        names = await admin.locator("#users tbody th").all_inner_texts()
        assert names[0].startswith("dewi.l") and names[-1].startswith("admin")

        # A new token is shown once too; deleting takes the user away.
        await admin.get_by_role("button", name="Give dewi.l a new token").click()
        await confirm.get_by_role("button", name="Make a new token").click()
        await expect(box.get_by_role("heading")).to_have_text("New token for dewi.l")
        rotated = await admin.locator("#token-value").input_value()
        assert rotated and rotated != token
        await box.get_by_role("button", name="I have stored it").click()
        await expect(admin.get_by_role("button", name="Give dewi.l a new token")).to_be_focused()
        await admin.get_by_role("button", name="Delete dewi.l").click()
        await confirm.get_by_role("button", name="Delete", exact=True).click()
        await expect(row).to_have_count(0)
        await expect(admin.locator("#list-title")).to_be_focused()
        assert "dewi.l" not in [u["name"] for u in (await cti.api("GET", "/api/users"))["users"]]

        # A supervisor: no agent field; the copy button; their queues and teams, shown in the list and kept.
        await admin.get_by_label("User name").fill("sue")
        await admin.get_by_label("Role").first.select_option("supervisor")
        await expect(admin.get_by_label("Agent id")).to_be_hidden()
        await admin.get_by_role("button", name="Create user").click()
        await box.get_by_role("button", name="Copy").click()
        await expect(admin.locator("#token-copied")).to_have_text(re.compile(r"^(Copied|Could not copy)"))
        await box.get_by_role("button", name="I have stored it").click()
        await expect(admin.get_by_label("User name")).to_be_focused()
        sue = admin.get_by_role("row", name="sue")
        await expect(sue).to_contain_text("everything")
        await admin.get_by_role("button", name="Scope of sue: queues and teams").click()
        scope = admin.locator("#scope-dialog")
        await scope.get_by_label("Queues").fill("sales, billing")
        await scope.get_by_label("Teams").fill("jakarta")
        await scope.get_by_role("button", name="Save scope").click()
        await expect(sue).to_contain_text("queues: sales, billing · teams: jakarta")
        await expect(admin.get_by_role("button", name="Scope of sue: queues and teams")).to_be_focused()
        listed = {u["name"]: u["scope"] for u in (await cti.api("GET", "/api/users"))["users"]}
        assert listed["sue"] == {"queues": ["sales", "billing"], "teams": ["jakarta"]}
        # Back to everything (empty lists would mean nothing): the scope is cleared, not emptied.
        await admin.get_by_role("button", name="Scope of sue: queues and teams").click()
        await scope.get_by_role("button", name="See everything").click()
        await expect(admin.locator("#notice")).to_have_text("sue sees every queue and team again.")
        await expect(sue).to_contain_text("everything")
        listed = {u["name"]: u["scope"] for u in (await cti.api("GET", "/api/users"))["users"]}
        assert listed["sue"] is None
        await admin.screenshot(path=str(tmp_path / "users-en.png"), full_page=True)
        await admin.set_viewport_size({"width": 768, "height": 1024})  # a tablet: the table scrolls, not the page
        assert await admin.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await admin.screenshot(path=str(tmp_path / "users-en-tablet.png"), full_page=True)
