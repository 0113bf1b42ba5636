// Workforce management page: staffing calculator, forecast, schedule coverage and adherence.
// Every label in the user's language; times in the center's time zone (not the browser's), numbers with the
// language's separators.
import { api, el } from "/ui/cti.js";
import { errorText, fmt, has, onLanguageChange, t, timeZone } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const zone = () => timeZone();
const percent = (value, digits = 2) => fmt.percent(value, digits);
const label = (prefix, code) => (code === null || code === undefined ? "–" : (has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : String(code)));
const count = (value) => (value === null || value === undefined ? "–" : (typeof value === "number" ? fmt.number(value) : String(value)));

// Form fields as numbers; empty ones are left out so the server's defaults (or "no target") apply.
function numbers(form, names, percents = []) {
  const out = {};
  for (const name of names) {
    const raw = form.elements[name].value.trim();
    if (raw === "") continue;
    out[name] = percents.includes(name) ? Number(raw) / 100 : Number(raw);
  }
  return out;
}

const shownErrors = new Map();  // element id -> the error it shows, said again after a language switch

function showError(id, error) {
  if (error && handleApiError(error, "roles.staff")) return;
  shownErrors.set(id, error);
  document.getElementById(id).textContent = error ? errorText(error) : "";
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// -- staffing -------------------------------------------------------------------------------------------------
async function calculate(event) {
  event.preventDefault();
  const form = event.target;
  const body = numbers(form, ["calls", "interval_minutes", "aht_seconds", "service_level", "answer_within_seconds",
    "asa_seconds", "shrinkage", "max_occupancy", "patience_seconds", "max_abandon"],
  ["service_level", "shrinkage", "max_occupancy", "max_abandon"]);
  if (!("service_level" in body)) body.service_level = null;
  try {
    const r = await api("/api/wfm/staffing", { method: "POST", body });
    showError("staffing-error", null);
    const set = (id, text) => { document.getElementById(id).textContent = text; };
    set("staff-model", label("wfm.model", r.model));
    set("staff-traffic", t("wfm.erlangs", { n: fmt.number(r.traffic, 2) }));
    set("staff-agents", fmt.number(r.agents));
    set("staff-scheduled", fmt.number(r.scheduled_agents));
    set("staff-sl", percent(r.service_level));
    set("staff-pwait", fmt.number(r.wait_probability, 4));
    set("staff-asa", r.asa_seconds === null ? t("wfm.unbounded") : t("wfm.seconds", { n: fmt.number(r.asa_seconds, 2) }));
    set("staff-occupancy", percent(r.occupancy, 1));
    set("staff-abandon", r.abandon_rate === null ? "–" : percent(r.abandon_rate));
    set("staff-limits", r.limited_by.map((code) => label("wfm.limit", code)).join(", ") || "–");
    document.getElementById("staffing-result").hidden = false;
  } catch (error) {
    document.getElementById("staffing-result").hidden = true;
    showError("staffing-error", error);
  }
}

// -- forecast -------------------------------------------------------------------------------------------------
async function forecast(event) {
  event.preventDefault();
  const form = event.target;
  const targets = numbers(form, ["service_level", "answer_within_seconds", "shrinkage"], ["service_level", "shrinkage"]);
  const body = {
    queue: form.elements.queue.value.trim(), start: form.elements.start.value, end: form.elements.end.value,
    timezone: zone(), interval_minutes: Number(form.elements.interval_minutes.value),
    horizon_days: Number(form.elements.horizon_days.value), targets,
  };
  try {
    const r = await api("/api/wfm/forecast", { method: "POST", body });
    showError("forecast-error", null);
    document.getElementById("forecast-summary").textContent =
      t("wfm.summary", { calls: fmt.number(r.history_calls), model: label("wfm.forecast_model", r.model), days: r.holdout_days });
    const backtest = document.getElementById("backtest");
    fill(backtest.tBodies[0], r.backtest.map((b) => el("tr", {},
      el("td", {}, label("wfm.forecast_model", b.model)), el("td", { class: "num" }, percent(b.wape, 1)), el("td", { class: "num" }, percent(b.mape, 1)))));
    backtest.hidden = false;
    const table = document.getElementById("forecast-table");
    fill(table.tBodies[0], r.intervals.map((i) => el("tr", {},
      el("td", {}, fmt.dateTime(i.start)), el("td", { class: "num" }, fmt.number(i.calls, 1)),
      el("td", { class: "num" }, i.aht_seconds === null ? "–" : fmt.number(i.aht_seconds)),
      el("td", { class: "num" }, count(i.agents)), el("td", { class: "num" }, count(i.scheduled_agents)))));
    table.hidden = false;
  } catch (error) {
    showError("forecast-error", error);
  }
}

// -- schedules ------------------------------------------------------------------------------------------------
async function loadSchedules() {
  try {
    const r = await api(`/api/wfm/schedules?limit=50&timezone=${encodeURIComponent(zone())}`);
    showError("schedules-error", null);
    fill(document.querySelector("#schedules tbody"), r.schedules.map((s) => el("tr", {},
      el("td", {}, s.name), el("td", {}, fmt.dateTime(s.start)), el("td", {}, fmt.dateTime(s.end)),
      el("td", { class: "num" }, count(s.shift_count)), el("td", {}, label("wfm.status", s.status)),
      el("td", { class: "num" }, count(s.objective)),
      el("td", {}, el("button", { type: "button", class: "secondary", onclick: () => showSchedule(s.schedule_id) }, t("wfm.coverage"))))));
  } catch (error) {
    showError("schedules-error", error);
  }
}

async function showSchedule(id) {
  try {
    const s = await api(`/api/wfm/schedules/${id}?timezone=${encodeURIComponent(zone())}`);
    shown = id;
    const title = document.getElementById("coverage-title");
    title.textContent = t("wfm.coverage.title", { name: s.name });
    title.hidden = false;
    const coverage = document.getElementById("coverage");
    fill(coverage.tBodies[0], s.coverage.filter((c) => c.required || c.scheduled).map((c) => el("tr",
      { class: c.under ? "alert" : (c.over ? "" : "ok") },
      el("td", {}, fmt.dateTime(c.start)), el("td", {}, c.skill),
      el("td", { class: "num" }, count(c.required)), el("td", { class: "num" }, count(c.scheduled)),
      el("td", { class: "num" }, count(c.under)), el("td", { class: "num" }, count(c.over)))));
    coverage.hidden = false;
    const shifts = document.getElementById("shifts");
    fill(shifts.tBodies[0], s.shifts.map((shift) => el("tr", {},
      el("td", {}, shift.agent_id), el("td", {}, `${fmt.dateTime(shift.start)}–${fmt.time(shift.end)} (${shift.pattern})`),
      el("td", {}, shift.activities.map((a) => `${fmt.time(a.start)}–${fmt.time(a.end)} ${a.kind === "break" ? t("wfm.break") : (a.skill || t("wfm.work"))}`).join(", ")))));
    shifts.hidden = false;
  } catch (error) {
    showError("schedules-error", error);
  }
}

// -- adherence ------------------------------------------------------------------------------------------------
async function loadAdherence() {
  try {
    const r = await api(`/api/wfm/adherence?timezone=${encodeURIComponent(zone())}`);
    showError("adherence-error", null);
    document.getElementById("adherence-summary").textContent = r.schedule
      ? t("wfm.adherence.schedule", { name: r.schedule.name, time: fmt.time(r.at) }) : t("wfm.adherence.none");
    fill(document.querySelector("#adherence tbody"), r.agents.map((a) => el("tr",
      { class: a.in_adherence_now === false ? "alert" : (a.in_adherence_now ? "ok" : "") },
      el("td", {}, a.name || a.agent_id), el("td", {}, label("wfm.expected", a.expected_now)), el("td", {}, label("state", a.state_now)),
      el("td", {}, a.in_adherence_now === null ? t("wfm.offshift") : (a.in_adherence_now ? t("wfm.inadherence") : t("wfm.outadherence"))),
      el("td", { class: "num" }, percent(a.adherence, 1)), el("td", { class: "num" }, count(a.out_of_adherence_minutes)),
      el("td", { class: "num" }, count(a.scheduled_minutes)))));
  } catch (error) {
    showError("adherence-error", error);
  }
}

let shown = null;  // the schedule whose coverage is open

// The forms answer at once (no native submission before the page is ready); their work waits for sign-in.
const ready = startPage({ page: "wfm", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
const whenReady = (fn) => (event) => {
  event.preventDefault();
  ready.then((user) => { if (user) fn(event); });
};
document.getElementById("staffing").addEventListener("submit", whenReady(calculate));
document.getElementById("forecast").addEventListener("submit", whenReady(forecast));
document.getElementById("adherence-refresh").addEventListener("click", whenReady(loadAdherence));

const user = await ready;
if (user) {
  onLanguageChange(() => {  // texts from data: asked again in the new language
    for (const [id, error] of shownErrors) document.getElementById(id).textContent = error ? errorText(error) : "";
    loadSchedules();
    loadAdherence();
    if (shown !== null) showSchedule(shown);
    if (!document.getElementById("staffing-result").hidden) document.getElementById("staffing").requestSubmit();
    if (!document.getElementById("forecast-table").hidden) document.getElementById("forecast").requestSubmit();
  });
  loadSchedules();
  loadAdherence();
  setInterval(loadAdherence, 30000);
}
