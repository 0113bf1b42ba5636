// Interval reports: a date range, per queue and per agent, in the center's time zone, from GET /api/reports/queues
// and /api/reports/agents (the server keeps them to the supervisor's scope; docs/metrics.md, "Reports"). The CSV
// export is the API's own (format=csv: RFC 4180, the documented columns), downloaded from the page with the same
// filters, so what is saved is exactly what the server computed.
import { api, ApiError, el, token } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t, timeZone, today } from "/ui/i18n.js";
import { recordingPlayers } from "/ui/recording.js";
import { startPage } from "/ui/shell.js";
import { matches, sortable, sortRows } from "/ui/datatable.js";

const $ = (id) => document.getElementById(id);
let report = null;     // { queues: rows, agents: rows, outbound: rows }
let names = new Map(); // agent id -> name, from GET /api/agents (the agents this supervisor may see)
const sorts = {};

const pct = (v) => fmt.percent(v, 1);
const secs = (v) => (v === null || v === undefined ? "–" : t("rep.seconds", { n: fmt.number(v, 0) }));
const hours = (v) => fmt.duration(v);

function query(format) {
  const params = new URLSearchParams({ from: $("from").value, to: $("to").value, interval: $("interval").value,
                                       tz: timeZone(), format });
  if ($("queue").value) params.set("queue", $("queue").value);
  if ($("empty").checked) params.set("empty", "yes");
  return params.toString();
}

function say(text, error = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", error);
}

function problem(error) {
  if (error instanceof ApiError) return t("rep.refused", { status: error.status, message: errorText(error) });
  return t("rep.failed", { message: errorText(error) });
}

async function load() {
  if ($("from").value > $("to").value) {
    say(t("rep.bad_range"), true);
    return;
  }
  say(t("rep.loading"));
  const q = query("json");
  try {
    const [queues, agents, outbound] = await Promise.all([api(`/api/reports/queues?${q}`),
      api(`/api/reports/agents?${q}`), api(`/api/reports/outbound?${q}`)]);
    report = { queues: queues.rows, agents: agents.rows, outbound: outbound.rows };
    say(t("rep.loaded", { queues: fmt.number(report.queues.length), agents: fmt.number(report.agents.length) }));
  } catch (error) {
    report = null;
    say(problem(error), true);
  }
  render();
}

// An interval as the center reads it: its day and its local start–end.
function interval(row) {
  return `${fmt.date(row.start)} ${fmt.time(row.start)}–${fmt.time(row.end)}`;
}

function render() {
  const rows = report || { queues: [], agents: [], outbound: [] };
  renderQueues(rows.queues);
  renderAgents(rows.agents);
  renderOutbound(rows.outbound);
}

// Agents' calls out and callbacks' ends, apart from the customers' calls above (docs/metrics.md).
function renderOutbound(all) {
  const search = $("queue-search").value;
  const rows = all.filter((r) => matches(search, r.queue, interval(r)));
  const num = (v) => el("td", { class: "num" }, fmt.number(v));
  $("outbound").replaceChildren(...sortRows(rows, sorts.outbound, (r, key) => r[key]).map((r) =>
    el("tr", { "data-queue": r.queue, "data-start": r.start },
      el("td", {}, el("time", { datetime: r.start }, interval(r))), el("td", {}, r.queue), num(r.dialed),
      num(r.answered), num(r.failed), el("td", { class: "num" }, hours(r.talk_seconds)),
      num(r.callbacks_completed), num(r.callbacks_failed))));
}

function renderQueues(all) {
  const search = $("queue-search").value;
  const rows = all.filter((r) => matches(search, r.queue, interval(r)));
  const value = (r, key) => (key === "start" ? r.start : r[key]);
  const num = (v) => el("td", { class: "num" }, fmt.number(v));
  $("queues").replaceChildren(...sortRows(rows, sorts.queues, value).map((r) => el("tr", { "data-queue": r.queue, "data-start": r.start },
    el("td", {}, el("time", { datetime: r.start }, interval(r))), el("td", {}, r.queue), num(r.offered), num(r.answered),
    num(r.abandoned), num(r.short_abandoned), el("td", { class: "num" }, pct(r.service_level)),
    el("td", { class: "num" }, pct(r.service_level_2)), el("td", { class: "num" }, secs(r.asa)),
    el("td", { class: "num" }, secs(r.aht)), el("td", { class: "num" }, pct(r.abandon_rate)))));
  // Totals of the rows shown: the counters add up; the ratios come from the added counters (docs/metrics.md).
  const sum = (key) => rows.reduce((n, r) => n + (r[key] || 0), 0);
  const ratio = (a, b) => (b ? a / b : null);
  const answered = sum("answered");
  const handled = sum("handled");
  const outcomes = sum("completed") + sum("abandoned");
  const lost = sum("abandoned") - sum("short_abandoned");
  $("queues-total").replaceChildren(rows.length ? el("tr", { id: "queues-total-row" },
    el("td", {}, t("rep.total")), el("td", {}, ""), el("td", { class: "num" }, fmt.number(sum("offered"))),
    el("td", { class: "num" }, fmt.number(answered)), el("td", { class: "num" }, fmt.number(sum("abandoned"))),
    el("td", { class: "num" }, fmt.number(sum("short_abandoned"))),
    el("td", { class: "num" }, pct(ratio(sum("answered_within_sl"), answered))),
    el("td", { class: "num" }, pct(ratio(sum("completed_within_sl") + sum("abandoned_within_sl"), outcomes))),
    el("td", { class: "num" }, secs(ratio(sum("wait_us") / 1e6, answered))),
    el("td", { class: "num" }, secs(ratio((sum("talk_us") + sum("acw_us")) / 1e6, handled))),
    el("td", { class: "num" }, pct(ratio(lost, answered + lost)))) : "");
}

function renderAgents(all) {
  const search = $("agent-search").value;
  const name = (r) => names.get(r.agent_id) || r.agent_id;
  const rows = all.filter((r) => matches(search, name(r), r.agent_id, interval(r)));
  const value = (r, key) => (key === "agent" ? name(r) : r[key]);
  const time = (v) => el("td", { class: "num" }, hours(v));
  $("agents").replaceChildren(...sortRows(rows, sorts.agents, value).map((r) => el("tr", { "data-agent": r.agent_id, "data-start": r.start },
    el("td", {}, el("time", { datetime: r.start }, interval(r))), el("td", { title: r.agent_id }, name(r)),
    el("td", { class: "num" }, fmt.number(r.handled)), time(r.talk_seconds), time(r.acw_seconds),
    el("td", { class: "num" }, secs(r.aht)), time(r.ready_seconds), time(r.not_ready_seconds),
    time(r.logged_in_seconds), el("td", { class: "num" }, pct(r.occupancy)))));
}

// The API's CSV, fetched with this page's credentials and saved under a name that says what it holds.
async function download(kind) {
  say(t("rep.downloading"));
  try {
    const headers = token() ? { Authorization: `Bearer ${token()}` } : {};
    const response = await fetch(`/api/reports/${kind}?${query("csv")}`, { headers, credentials: "same-origin" });
    if (!response.ok) {
      let body = {};
      try { body = (await response.json()).error || {}; } catch { /* not JSON */ }
      throw new ApiError(response.status, body.message || response.statusText, body.code || null, body.params);
    }
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: `${kind}-${$("from").value}-${$("to").value}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say(t("rep.downloaded"));
  } catch (error) {
    say(problem(error), true);
  }
}

async function loadChoices() {
  try {
    const { queues } = await api("/api/queues");
    for (const q of queues) $("queue").append(el("option", { value: q.queue }, q.queue));
  } catch { /* the report still works over every queue of the scope */ }
  try {
    const { agents } = await api("/api/agents");
    names = new Map(agents.map((a) => [a.agent_id, a.name || a.agent_id]));
  } catch { /* ids instead of names */ }
}

const user = await startPage({ page: "reports", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("zone").textContent = timeZone();
  $("from").value = $("to").value = today();
  sorts.queues = sortable($("queues-table"), render, { key: "start", dir: "ascending" });
  sorts.agents = sortable($("agents-table"), render, { key: "start", dir: "ascending" });
  sorts.outbound = sortable($("outbound-table"), render, { key: "start", dir: "ascending" });
  $("range").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  for (const id of ["queue-search", "agent-search"]) $(id).addEventListener("input", render);
  $("csv-queues").addEventListener("click", () => download("queues"));
  $("csv-agents").addEventListener("click", () => download("agents"));
  $("csv-outbound").addEventListener("click", () => download("outbound"));
  $("recordings-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const shown = await recordingPlayers($("recordings-list"), $("recordings-call").value.trim(),
      (message) => { $("recordings-status").textContent = message; });
    $("recordings-status").textContent = shown ? "" : t("recording.none");
  });
  onLanguageChange(render);
  await loadChoices();
  await load();
}
