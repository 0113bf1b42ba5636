"""What the supervisor and an agent see of ``cti demo`` while its callers flow, in a real Chromium, signed in on the
sign-in page with the demo's passwords. Run by tests/e2e/test_demo.py during its demo (one demo run for the
suite); the screenshots go where tests/pages/test_console_pages.py keeps its own."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from playwright.async_api import Page, expect

from cti.settings import Settings
from cti.sim._demo import AGENT_NAMES, DEMO_USERS, DemoUser, demo_password
from cti.types import masked
from tests.accessibility import axe_violations
from tests.pages.test_console_pages import SCREENS, catalogue, english_only
from tests.support import Pending, browser_page, eventually

SUPERVISOR, AGENT = DEMO_USERS[1], DEMO_USERS[2]
NAMES = {f"agent{n + 1}": name for n, name in enumerate(AGENT_NAMES)}
ID, EN = catalogue("id"), catalogue("en")
TIME = re.compile(r"^\d\d:\d\d(:\d\d)?$")  # a duration on a timer: 02:31, 1:02:31
CLOCKS = {"id": re.compile(r"^\d\d\.\d\d\.\d\d$"), "en": re.compile(r"^\d\d:\d\d:\d\d$")}  # a moment: 11.50.03

# The pages load and open their socket while the demo's callers, speech and agents keep both cores busy (and, in
# CI, the other test worker): 5 s was seen to pass by, on a page whose snapshot is served from memory.
LINK_MS = 20_000


def labels(texts: dict[str, str], prefix: str) -> dict[str, str]:
    """Code -> label of a catalogue's ``prefix.<code>`` entries (the states, the call states, ...)."""
    return {key.removeprefix(prefix): text for key, text in texts.items() if key.startswith(prefix)}


@dataclass
class Admin:
    """The API as the administrator: what the server holds, to compare the pages with."""

    http: aiohttp.ClientSession
    base: str
    token: str

    async def get(self, path: str) -> tuple[int, Any]:
        async with self.http.get(f"{self.base}{path}", headers={"Authorization": f"Bearer {self.token}"}) as response:
            return response.status, await response.json()


async def sign_in(page: Page, base: str, settings: Settings, user: DemoUser, to: str) -> None:
    """As a person does: the sign-in page (in Indonesian, where users start), the demo's password, then ``to``."""
    await page.goto(f"{base}/ui/signin.html?lang=id&next=/ui/{to}.html")
    await page.get_by_label("Nama pengguna").fill(user.name)
    await page.get_by_label("Kata sandi").fill(demo_password(settings, user))
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url(f"**/ui/{to}.html")
    await expect(page.locator("html")).to_have_attribute("lang", "id")


_CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")
# What a desktop shows in the caller's language (the agent speaks it to them), the CRM's own words, and the IVR
# flow's node names (names of the configuration, like queues'): not the page's language.
_NOT_THE_PAGE_S = "#script, #script-title, #crosssell, #accepted, #contacts, #ivr-path"
_TEXTS = """(skip) => [...document.querySelectorAll("body *:not(script):not(style)")]
    .filter(e => e.children.length === 0 && e.offsetParent !== null && !e.closest(skip))
    .map(e => e.textContent.trim()).filter(Boolean)"""


async def no_english_left(page: Page) -> None:
    """In Indonesian, nothing of the English catalogues, and no code (``no_marketing_consent``, ``longest_idle``)
    where words belong, in what the page says itself."""
    texts: list[str] = await page.evaluate(_TEXTS, _NOT_THE_PAGE_S)
    assert [t for t in english_only() if any(t in text for text in texts)] == [], texts
    assert [text for text in texts if _CODE.search(text)] == [], texts


# -- the dashboard ----------------------------------------------------------------------------------------------
def _number(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # Indonesian grouping


TILES: dict[str, Callable[[dict[str, Any]], str]] = {
    "offered": lambda f: _number(f["tally"]["offered"]),
    "answered": lambda f: _number(f["tally"]["answered"]),
    "abandoned": lambda f: _number(f["tally"]["abandoned"]),
    "waiting": lambda f: _number(f["waiting"]),
    "in-ivr": lambda f: _number(f["in_ivr"]),
    "agents-by-state": lambda f: " / ".join(str(f["agents"][s]) for s in ("ready", "on_call", "wrap_up", "not_ready")),
}
_TILE_AND_API = """async (id) => {
    const text = () => document.getElementById(id).textContent;
    const before = text();
    const stats = await (await fetch('/api/stats')).json();
    return [before, stats.windows.today.overall, text()];
}"""


async def _tile_agrees(page: Page, tile: str) -> bool:
    """The tile shows the server's figure: read before and after the page asks the API (as this supervisor), and
    unchanged meanwhile; a figure that moved in between is read again."""
    before, overall, after = await page.evaluate(_TILE_AND_API, tile)
    return bool(before == after == TILES[tile](overall))


_CALL_ROWS = """rows => rows.map(tr => ({
    id: tr.dataset.call, state: tr.dataset.state, queue: tr.cells[0].textContent,
    stateText: tr.querySelector('.state').textContent, caller: tr.querySelector('.caller').textContent,
    agent: tr.querySelector('.agent').textContent, arrived: tr.querySelector('time').textContent,
    buttons: [...tr.querySelectorAll('button')].map(b => [b.dataset.mode, b.textContent, b.disabled])}))"""
_AGENT_ROWS = """rows => rows.map(tr => [tr.dataset.agent, tr.cells[0].textContent, tr.cells[2].textContent,
                                         tr.cells[3].textContent])"""


def _state_text(text: str, states: dict[str, str], reasons: dict[str, str]) -> bool:
    """A state as the dashboard says it: its label, with a not-ready reason's label in brackets."""
    return text in states.values() or any(text == f"{states['not_ready']} ({reason})" for reason in reasons.values())


async def check_tables(page: Page, agents: int, language: str) -> list[dict[str, Any]]:
    """The agents and the live calls as the page shows them at one moment (each table read at once), in
    ``language``; the calls."""
    texts = ID if language == "id" else EN
    states, reasons = labels(texts, "state."), {**labels(texts, "dash.reason."), **labels(texts, "reason.")}
    call_states, modes = labels(texts, "dash.call_state."), labels(texts, "dash.mode.")
    # Every demo agent by name, never by id, each with a state in the page's language; those on simulated phones
    # logged in, with the time in their state.
    rows = await page.locator("#agents tr").evaluate_all(_AGENT_ROWS)
    assert {r[0]: r[1] for r in rows} == NAMES, rows
    assert all(_state_text(r[2], states, reasons) for r in rows), rows
    working = [r for r in rows if r[0] in list(NAMES)[:agents]]
    assert len(working) == agents and all(r[2] != states["logged_out"] for r in working), working
    assert all(TIME.match(r[3]) for r in working), working
    # The live calls: queue, state, caller, the agent's name; listen, whisper and barge, live on connected calls.
    calls: list[dict[str, Any]] = await page.locator("#calls tr").evaluate_all(_CALL_ROWS)
    assert calls, "no live calls shown"
    for call in calls:
        assert call["stateText"] == call_states[call["state"]], call
        assert call["agent"] in (*list(NAMES.values())[:agents], ""), call
        assert (call["agent"] != "") == (call["state"] in ("ringing", "connected")), call
        assert call["queue"] in ("care", "billing") and CLOCKS[language].match(call["arrived"]), call
        # The caller: their number, with a name only where the network gave one (never the number twice).
        named = re.fullmatch(r"(.+) \((.+)\)", call["caller"])
        assert call["caller"] and (named is None or named[1] != named[2]), call
        assert call["buttons"] == [[m, modes[m], call["state"] != "connected"] for m in ("listen", "whisper", "barge")]
    return calls


async def _a_connected_call_as_the_server_has_it(page: Page, admin: Admin) -> bool:
    """A connected call on the page shows the server's queue, agent and caller; False when none shown is still
    connected on the server (calls end all the time): the caller asks again."""
    calls = await page.locator('#calls tr[data-state="connected"]').evaluate_all(_CALL_ROWS)
    for call in calls:
        status, live = await admin.get(f"/api/calls/{call['id']}")
        if status == 200 and live["state"] == "connected":
            number = masked(live["caller_number"])  # the dashboard never shows a whole number
            caller = f"{live['caller_name']} ({number})" if live["caller_name"] else number
            assert (call["queue"], call["agent"], call["caller"]) == (
                live["queue"], NAMES[live["agent_id"]], caller), (call, live)
            return True
    return False


async def watch_dashboard(base: str, settings: Settings, admin: Admin, *, agents: int) -> None:
    """The demo's supervisor on the dashboard while callers flow: figures, charts, agents and calls."""
    async with browser_page(locale="id-ID", timezone_id="UTC") as page:
        await sign_in(page, base, settings, SUPERVISOR, "dashboard")
        await expect(page.locator("#link")).to_have_text(ID["link.connected"], timeout=LINK_MS)
        # The tiles agree with the API at the same moment (once callers have been offered to the queues).
        await expect(page.locator("#offered")).not_to_have_text(re.compile(r"^(0|-)$"), timeout=20000)
        for tile in TILES:
            await eventually(lambda tile=tile: _tile_agrees(page, tile), timeout=20,
                             message=f"the {tile} tile to show the server's figure")
        # The charts have drawn: uPlot's canvas with both axes, the legend in Indonesian, ink on the canvas.
        for chart, series in (("#chart-waiting", ["dash.chart.waiting"]),
                              ("#chart-sl", ["dash.chart.service_level", "dash.chart.target"])):
            await expect(page.locator(f"{chart} canvas")).to_have_count(1)
            await expect(page.locator(f"{chart} .u-axis")).to_have_count(2)
            legend = [ID["dash.chart.time"], *(ID[key].replace("{target}", "80%") for key in series)]
            await expect(page.locator(f"{chart} .u-legend .u-series .u-label")).to_have_text(legend)
            inked = await page.locator(f"{chart} canvas").evaluate(
                "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.filter((v, i) => i % 4 === 3 && v)"
                ".length")
            assert inked > 500, f"{chart}: the canvas is blank"
        # Live calls with someone talking (so with their monitoring buttons on).
        await expect(page.locator('#calls tr[data-state="connected"]').first).to_be_visible(timeout=20000)
        await check_tables(page, agents, "id")
        await eventually(lambda: _a_connected_call_as_the_server_has_it(page, admin), timeout=20,
                         message="a connected call shown as the server has it")
        await no_english_left(page)
        assert await axe_violations(page) == []
        SCREENS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENS / "demo-dashboard-id.png"), full_page=True)
        # The same live page in English, on the header's switch.
        await page.select_option("#language", "en")
        # The switch asks the server (PATCH /api/me, then the catalogues): seconds on a machine this loaded.
        await expect(page.locator("html")).to_have_attribute("lang", "en", timeout=20_000)
        await expect(page.locator("#link")).to_have_text(EN["link.connected"], timeout=LINK_MS)
        await check_tables(page, agents, "en")
        await page.screenshot(path=str(SCREENS / "demo-dashboard-en.png"), full_page=True)


# -- the agent desktop ------------------------------------------------------------------------------------------
# What the desk shows, recorded at every change of the page (a state can last a moment only: ready, until the
# next waiting caller is offered), from when it is installed.
_RECORD = """() => {
    const $ = (id) => document.getElementById(id);
    const seen = window.ctiDesk = [];
    let last = "";
    const record = () => {
        const now = {state: $("agent-state").dataset.state, reason: $("agent-reason").textContent,
                     customer: $("customer-name").textContent, pop: !$("pop").hidden, wrapup: !$("wrapup").hidden,
                     noCall: !$("no-call").hidden, call: $("call-state").textContent, notes: $("notes").value};
        const key = JSON.stringify(now);
        if (key !== last) { last = key; seen.push(now); }
    };
    record();
    new MutationObserver(record).observe(document.body,
        {subtree: true, childList: true, characterData: true, attributes: true});
}"""


@dataclass(frozen=True)
class Shown:
    """A call's pop as the desk showed it."""

    call_id: str
    customer: str
    customer_id: str


async def _pop_of_present_call(page: Page, admin: Admin) -> Shown:
    """The pop on the desk is the agent's present call's, as the server has it: its caller's number, and who the
    customer is (checked against the stored interaction after the demo)."""

    async def agreed() -> Shown | Pending:
        status, agent = await admin.get(f"/api/agents/{AGENT.agent_id}")
        status, call = await admin.get(f"/api/calls/{agent['call_id']}") if agent["call_id"] else (404, None)
        if status != 200 or call["state"] != "connected":
            return Pending(f"the agent {agent['state']}, its call {call['state'] if status == 200 else None}")
        shown = await page.evaluate("""() => ["customer-name", "customer-id", "caller-number", "call-state",
            "routing-reason"].map(id => document.getElementById(id).textContent)""")
        if not shown[3]:
            return Pending(f"call {call['call_id']} connected, the desk shows no call yet: {shown}")
        name, customer_id, caller, call_state, why = shown
        assert call_state == ID["callstate.connected"], shown
        # Why routing chose this agent, in words: the route, then the strategy of the decision the server recorded.
        strategy = next(d["strategy"] for d in reversed(call["decisions"]) if d["kind"] == "offered")
        offered = ID["routing.why.offered"].split("{strategy}")[0] + ID[f"strategy.{strategy}"]
        assert offered in why and "_" not in why, (why, call["decisions"])
        number = call["caller_number"]
        if customer_id:  # the customer's name from the CRM, and the number they call from
            assert caller == f"{name} ({number})" and re.fullmatch(r"#\d+", customer_id), shown
        else:  # a number the CRM does not know: the neutral pop, with the form to create the record
            assert caller == (f"{call['caller_name']} ({number})" if call["caller_name"] else number), (shown, call)
            assert name == ID["desktop.unknown"] and await page.locator("#unknown").is_visible(), shown
        return Shown(call["call_id"], name, customer_id.removeprefix("#"))

    # An agent of four, with callers at 1.5 a second: on two loaded cores it once spent 20 s ringing and wrapping up
    # without a connected call; the demo runs for minutes.
    return await eventually(agreed, timeout=60, message="the pop of the agent's present call")


async def _break_is_pending(admin: Admin) -> bool:
    """The agent asked for a break: after the call (or now, had the call just ended)."""
    _, agent = await admin.get(f"/api/agents/{AGENT.agent_id}")
    return agent["pending"] == {"state": "not_ready", "reason": "break"} or (
        agent["state"], agent["reason"]) == ("not_ready", "break")


_DESK = """() => ({state: document.getElementById("agent-state").dataset.state,
                   call: document.getElementById("call-state").textContent,
                   wrapup: !document.getElementById("wrapup").hidden,
                   transfer: !document.getElementById("transfer").hidden})"""


async def _desk_shows_the_present(page: Page, admin: Admin, call: Shown) -> bool:
    """The desk shows the call as the server has it now: live (its state, the transfer form, no wrap-up) or, once it
    ended, its wrap-up. False when the server's state moved while the desk was read, or the desk has not yet heard
    of the end (it may only lag behind the server, never run ahead)."""
    _, before = await admin.get(f"/api/agents/{AGENT.agent_id}")
    shown = await page.evaluate(_DESK)
    _, after = await admin.get(f"/api/agents/{AGENT.agent_id}")
    if (before["state"], before["call_id"]) != (after["state"], after["call_id"]):
        return False
    if after["state"] == "on_call":
        assert after["call_id"] == call.call_id, after
        assert shown == {"state": "on_call", "call": ID["callstate.connected"], "wrapup": False, "transfer": True}
        return True
    assert (after["state"], after["reason"], after["call_id"]) == ("not_ready", "break", None), after
    return bool(shown == {"state": "not_ready", "call": ID["callstate.ended"], "wrapup": True, "transfer": False})


async def _desk_is_empty(page: Page) -> None:
    await expect(page.locator("#pop")).to_be_hidden()
    await expect(page.locator("#wrapup")).to_be_hidden()
    await expect(page.locator("#no-call")).to_be_visible()
    await expect(page.locator("#call-info")).to_be_hidden()
    assert await page.text_content("#customer-name") == ""
    assert await page.locator("#products li, #contacts li, #crosssell li, #script .step").count() == 0
    assert await page.input_value("#notes") == ""


async def watch_desktop(base: str, settings: Settings, admin: Admin) -> tuple[Shown, Shown]:
    """The demo's agent1 (Siti Rahma, whose phone is the first simulated one) on the desktop while callers flow:
    the pop of a call, a reload during it, a break asked for meanwhile, the wrap-up, an empty desk, ready again
    and the next caller's pop with nothing of the last. The two calls' pops, as shown."""
    async with browser_page(locale="id-ID", timezone_id="UTC") as page:
        await sign_in(page, base, settings, AGENT, "desktop")
        await expect(page.locator("#link")).to_have_text(ID["link.connected"], timeout=LINK_MS)
        await expect(page.locator("#user-name")).to_have_text(NAMES[AGENT.agent_id or ""])
        await expect(page.locator("#extension")).to_have_value(settings.sim_agent_extensions()[0])
        await expect(page.locator("#agent-state")).to_have_text(re.compile("|".join(labels(ID, "state.").values())))
        await expect(page.locator("#state-timer")).to_have_text(TIME)
        # A call, answered on the simulated phone: the pop of its caller, the state and the call's timer.
        await expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call", timeout=30000)
        first = await _pop_of_present_call(page, admin)
        # A break after this call, asked for during it; the call goes on meanwhile, and no next call comes.
        await page.select_option("#reason", "break")
        await page.click("#not-ready")
        await eventually(lambda: _break_is_pending(admin), message="the break to be asked for")
        # A reload during the call restores the present: this call's pop, live, no wrap-up form (unless the phone
        # hung up meanwhile: then its wrap-up).
        await page.reload()
        await expect(page.locator("#link")).to_have_text(ID["link.connected"], timeout=LINK_MS)
        await expect(page.locator("#customer-name")).to_have_text(first.customer)
        await eventually(lambda: _desk_shows_the_present(page, admin, first), message="the present after a reload")
        # The caller is gone: the wrap-up form under the same pop; no call rings during the break.
        await expect(page.locator("#wrapup")).to_be_visible(timeout=20000)
        await expect(page.locator("#customer-name")).to_have_text(first.customer)
        await expect(page.locator("#call-state")).to_have_text(ID["callstate.ended"])
        await expect(page.locator("#agent-state")).to_have_text(ID["state.not_ready"])
        await expect(page.locator("#agent-reason")).to_have_text(ID["reason.break"])
        await expect(page.locator("#acw-timer")).to_have_text(TIME)
        await expect(page.locator("#transfer")).to_be_hidden()
        await no_english_left(page)
        SCREENS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENS / "demo-desktop-wrapup-id.png"), full_page=True)
        await page.select_option("#disposition", "resolved")
        await page.fill("#notes", "Sudah dijelaskan")
        await page.click("#save-wrapup")
        await expect(page.locator("#wrapup-saved")).to_have_text(ID["desktop.saved"])
        # Saved: nothing left of the call, and still on the break.
        await _desk_is_empty(page)
        await expect(page.locator("#agent-state")).to_have_text(ID["state.not_ready"])
        await expect(page.locator("#agent-reason")).to_have_text(ID["reason.break"])
        _, agent = await admin.get(f"/api/agents/{AGENT.agent_id}")
        assert (agent["state"], agent["reason"], agent["call_id"]) == ("not_ready", "break", None), agent
        # Back: ready, an empty desk (for a moment: callers wait), then the next caller's pop, only theirs.
        await page.evaluate(_RECORD)
        await page.click("#ready")
        await expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call", timeout=30000)
        second = await _pop_of_present_call(page, admin)
        assert second.call_id != first.call_id
        seen: list[dict[str, Any]] = await page.evaluate("window.ctiDesk")
        empty = {"pop": False, "wrapup": False, "noCall": True, "customer": "", "call": "", "notes": ""}
        ready = next(i for i, s in enumerate(seen) if s["state"] == "ready")
        assert seen[ready] == {"state": "ready", "reason": "", **empty}, seen
        # From then on the desk shows the next calls only (one may ring and be gone): never a wrap-up form or notes
        # left, never the end of a call on an empty desk.
        assert all(not s["wrapup"] and not s["notes"] for s in seen[ready:]), seen
        assert not [s for s in seen[ready:] if s["call"] == ID["callstate.ended"] and not s["pop"]], seen
        await expect(page.locator("#wrapup-saved")).to_be_hidden()
        await expect(page.locator("#wrapup")).to_be_hidden()
        assert await page.input_value("#notes") == ""
        await no_english_left(page)
        await page.screenshot(path=str(SCREENS / "demo-desktop-call-id.png"), full_page=True)
        await page.select_option("#language", "en")
        # In English now, whatever the state by then: the demo's caller may have hung up meanwhile (on a slow
        # machine the checks above outlast a short call), and the label must follow the state either way.
        english = labels(EN, "state.")
        await page.wait_for_function(
            "labels => { const el = document.querySelector('#agent-state');"
            " return el !== null && el.textContent.trim() === labels[el.dataset.state]; }", arg=english,
            timeout=20_000)
        await page.screenshot(path=str(SCREENS / "demo-desktop-call-en.png"), full_page=True)
    return first, second
