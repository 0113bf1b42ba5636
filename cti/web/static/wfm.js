// Workforce management page: staffing calculator, forecast, schedule coverage and adherence.
import { api, el, requireToken, signOut, ApiError } from "/ui/cti.js";

const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const percent = (value, digits = 2) => (value === null || value === undefined ? "–" : `${(value * 100).toFixed(digits)} %`);
const hhmm = (iso) => iso.slice(11, 16);
const day = (iso) => iso.slice(0, 10);

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

function showError(id, error) {
  if (error instanceof ApiError && error.status === 401) { signOut(); location.reload(); return; }
  document.getElementById(id).textContent = error ? error.message : "";
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
    set("staff-model", r.model === "erlang_a" ? "Erlang A (impatient callers)" : "Erlang C");
    set("staff-traffic", `${r.traffic.toFixed(2)} Erlangs`);
    set("staff-agents", String(r.agents));
    set("staff-scheduled", String(r.scheduled_agents));
    set("staff-sl", percent(r.service_level));
    set("staff-pwait", r.wait_probability.toFixed(4));
    set("staff-asa", r.asa_seconds === null ? "unbounded" : `${r.asa_seconds.toFixed(2)} s`);
    set("staff-occupancy", percent(r.occupancy, 1));
    set("staff-abandon", r.abandon_rate === null ? "–" : percent(r.abandon_rate));
    set("staff-limits", r.limited_by.join(", ") || "–");
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
    timezone: ZONE, interval_minutes: Number(form.elements.interval_minutes.value),
    horizon_days: Number(form.elements.horizon_days.value), targets,
  };
  try {
    const r = await api("/api/wfm/forecast", { method: "POST", body });
    showError("forecast-error", null);
    document.getElementById("forecast-summary").textContent =
      `${r.history_calls} calls in the history; model ${r.model}, chosen by a ${r.holdout_days}-day holdout backtest.`;
    const backtest = document.getElementById("backtest");
    fill(backtest.tBodies[0], r.backtest.map((b) => el("tr", {},
      el("td", {}, b.model), el("td", { class: "num" }, percent(b.wape, 1)), el("td", { class: "num" }, percent(b.mape, 1)))));
    backtest.hidden = false;
    const table = document.getElementById("forecast-table");
    fill(table.tBodies[0], r.intervals.map((i) => el("tr", {},
      el("td", {}, `${day(i.start)} ${hhmm(i.start)}`), el("td", { class: "num" }, i.calls.toFixed(1)),
      el("td", { class: "num" }, i.aht_seconds === null ? "–" : i.aht_seconds.toFixed(0)),
      el("td", { class: "num" }, i.agents ?? "–"), el("td", { class: "num" }, i.scheduled_agents ?? "–"))));
    table.hidden = false;
  } catch (error) {
    showError("forecast-error", error);
  }
}

// -- schedules ------------------------------------------------------------------------------------------------
async function loadSchedules() {
  try {
    const r = await api(`/api/wfm/schedules?limit=50&timezone=${encodeURIComponent(ZONE)}`);
    showError("schedules-error", null);
    fill(document.querySelector("#schedules tbody"), r.schedules.map((s) => el("tr", {},
      el("td", {}, s.name), el("td", {}, `${day(s.start)} ${hhmm(s.start)}`), el("td", {}, `${day(s.end)} ${hhmm(s.end)}`),
      el("td", { class: "num" }, s.shift_count), el("td", {}, s.status), el("td", { class: "num" }, s.objective),
      el("td", {}, el("button", { type: "button", onclick: () => showSchedule(s.schedule_id) }, "Coverage")))));
  } catch (error) {
    showError("schedules-error", error);
  }
}

async function showSchedule(id) {
  try {
    const s = await api(`/api/wfm/schedules/${id}?timezone=${encodeURIComponent(ZONE)}`);
    const title = document.getElementById("coverage-title");
    title.textContent = `${s.name}: coverage per interval`;
    title.hidden = false;
    const coverage = document.getElementById("coverage");
    fill(coverage.tBodies[0], s.coverage.filter((c) => c.required || c.scheduled).map((c) => el("tr",
      { class: c.under ? "alert" : (c.over ? "" : "ok") },
      el("td", {}, `${day(c.start)} ${hhmm(c.start)}`), el("td", {}, c.skill),
      el("td", { class: "num" }, c.required), el("td", { class: "num" }, c.scheduled),
      el("td", { class: "num" }, c.under), el("td", { class: "num" }, c.over))));
    coverage.hidden = false;
    const shifts = document.getElementById("shifts");
    fill(shifts.tBodies[0], s.shifts.map((shift) => el("tr", {},
      el("td", {}, shift.agent_id), el("td", {}, `${day(shift.start)} ${hhmm(shift.start)}–${hhmm(shift.end)} (${shift.pattern})`),
      el("td", {}, shift.activities.map((a) => `${hhmm(a.start)}–${hhmm(a.end)} ${a.kind === "break" ? "break" : (a.skill || "work")}`).join(", ")))));
    shifts.hidden = false;
  } catch (error) {
    showError("schedules-error", error);
  }
}

// -- adherence ------------------------------------------------------------------------------------------------
async function loadAdherence() {
  try {
    const r = await api(`/api/wfm/adherence?timezone=${encodeURIComponent(ZONE)}`);
    showError("adherence-error", null);
    document.getElementById("adherence-summary").textContent = r.schedule
      ? `Schedule "${r.schedule.name}", as of ${hhmm(r.at)}.` : "No schedule covers today.";
    fill(document.querySelector("#adherence tbody"), r.agents.map((a) => el("tr",
      { class: a.in_adherence_now === false ? "alert" : (a.in_adherence_now ? "ok" : "") },
      el("td", {}, a.name || a.agent_id), el("td", {}, a.expected_now), el("td", {}, a.state_now),
      el("td", {}, a.in_adherence_now === null ? "off shift" : (a.in_adherence_now ? "in adherence" : "out of adherence")),
      el("td", { class: "num" }, percent(a.adherence, 1)), el("td", { class: "num" }, a.out_of_adherence_minutes),
      el("td", { class: "num" }, a.scheduled_minutes))));
  } catch (error) {
    showError("adherence-error", error);
  }
}

requireToken(() => {
  document.getElementById("staffing").addEventListener("submit", calculate);
  document.getElementById("forecast").addEventListener("submit", forecast);
  document.getElementById("adherence-refresh").addEventListener("click", loadAdherence);
  loadSchedules();
  loadAdherence();
  setInterval(loadAdherence, 30000);
});
