// Supervisor dashboard: live figures pushed over the websocket, charts of the day, the live calls with listen,
// whisper and barge, the live chats with a read-only watch (dashboard-chats.js), and tables of queues and agents.
// Frames (docs/metrics.md, "The dashboard feed"): a snapshot, then "live" changes (agents, queues' live picture)
// applied to it at once, "stats" (every figure, every 0.8 s) replacing the figures and the grid, and "series"
// adding a point to the day's charts. The live calls come in the same frames (the snapshot's "calls", and each
// "live" frame's changed rows and gone ids), kept by the server to the supervisor's scope, the caller's number
// masked. The supervisor's own monitors come from GET /api/monitors when the feed (re)starts, so a reload keeps them.
// Every filter applies to everything: the queue filter to the tiles, the charts, the queue table, the agents
// (those who serve the queue) and the calls; the team filter to the agents and the calls they hold; the window
// to the figures and the span of the charts. Times are in the center's time zone (i18n.js), states as durations.
import { api, ApiError, el, liveSocket } from "/ui/cti.js";
import { errorText, fmt, has, locale, onLanguageChange, t, timeZone } from "/ui/i18n.js";
import { startPage } from "/ui/shell.js";
import { matches, sortable, sortRows } from "/ui/datatable.js";
import { renderCsat, startCsat } from "/ui/dashboard-csat.js";
import { alertFrame, loadThresholds, refreshAlerts, renderAlerts, startThresholds, thresholdQueues } from "/ui/dashboard-alerts.js";
import { chatsChanged, relabelChats, startChats } from "/ui/dashboard-chats.js";

const $ = (id) => document.getElementById(id);
const SL_TARGET = 0.8;       // the service-level target: tiles and rows turn red below it, the chart draws it
const LONGEST_WAIT_MAX = 60; // ... or when a caller has waited longer than this (seconds)
const ADHERENCE_EVERY_MS = 20000; // adherence moves by the minute: a poll is enough, and costs the server little
const WORKING = new Set(["ready", "ringing", "on_call", "wrap_up"]); // adherent to scheduled work (cti/wfm/adherence.py)
const WINDOW_SECONDS = { last_15m: 15 * 60, last_60m: 60 * 60 };
const EXTENSION_KEY = "cti.supervisor.extension";
// Okabe–Ito: told apart with every common colour-vision deficiency; each at least 3:1 against the white chart.
const COLOURS = { waiting: "#0072B2", sl: "#009E73", target: "#D55E00", grid: "#e3e6ea", axis: "#1d2430" };

let latest = null;
let serverOffset = 0;     // the server's clock minus this browser's, from the frames' "at": durations run on it
let adherence = new Map(); // agent id -> that agent's row of /api/wfm/adherence
const monitors = new Map(); // monitor id -> this supervisor's monitor (GET /api/monitors, or started here)
let monitorsRefused = null; // the server's reason when it did not list them
const callRows = new Map(); // call id -> { tr, signature, waitCell, talkCell }: rows kept, so a focused button stays
let charts = null;
let renderQueued = false;
const sorts = {};

const serverNow = () => Date.now() + serverOffset;
const pct = (v) => fmt.percent(v, 1);
const secs = (v) => (v === null || v === undefined ? "–" : t("dash.seconds", { n: fmt.number(v, 0) }));
const set = (id, text) => { $(id).textContent = String(text); };
const label = (prefix, value) => (value && has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value || "");
// A not-ready reason: the console's common words (common.json), those of a phone's failure here, else the code.
const reasonText = (reason) => (has(`reason.${reason}`) ? t(`reason.${reason}`) : label("dash.reason", reason));
const clock = (value) => new Intl.DateTimeFormat(locale(), {
  hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZone: timeZone() }).format(value);

// The figures of the tiles: one queue's, everyone's, or (for a supervisor scoped to some queues) those of their
// queues together: the counters add up (a call counts in one queue), and the ratios are worked out from them as
// the server does (cti/stats/_metrics.py, Figures.of); occupancy is not additive (an agent serves several queues).
function figures(win, queue) {
  if (queue) return win.queues[queue] || null;
  if (win.overall) return win.overall;
  const qs = Object.values(win.queues);
  if (!qs.length) return null;
  const sum = (f) => qs.reduce((n, q) => n + f(q), 0);
  const tally = Object.fromEntries(Object.keys(qs[0].tally).map((k) => [k, sum((q) => q.tally[k])]));
  const ratio = (a, b) => (b ? a / b : null);
  const lost = tally.abandoned - tally.short_abandoned;
  return { waiting: sum((q) => q.waiting), longest_wait: Math.max(...qs.map((q) => q.longest_wait)),
           in_ivr: sum((q) => q.in_ivr), tally,
           service_level: ratio(tally.answered_within_sl, tally.answered),
           asa: ratio(tally.wait_us / 1e6, tally.answered), aht: ratio((tally.talk_us + tally.acw_us) / 1e6, tally.handled),
           abandon_rate: ratio(lost, tally.answered + lost), occupancy: null,
           agents: { ready: sum((q) => q.agents.ready), on_call: sum((q) => q.agents.on_call),
                     wrap_up: sum((q) => q.agents.wrap_up), not_ready: sum((q) => q.agents.not_ready) } };
}

// -- frames ------------------------------------------------------------------------------------------------
// One frame changes the state; the page renders once per animation frame, however many frames came in.
function apply(frame) {
  const data = frame.data;
  if (frame.type === "snapshot") {
    const first = latest === null;
    latest = data;
    if (first) refreshAdherence();
    refreshMonitors(); // a reload or a reconnect: the monitors as the server has them now
    refreshAlerts(); // ... and the alerts raised meanwhile
    chatsChanged(); // ... and the chats
  } else if (frame.type === "alert") {
    alertFrame(data); // before any snapshot too: the snapshot's refresh then reads the same from the server
    return;
  } else if (!latest) {
    return;
  } else if (frame.type === "stats") {
    latest = { ...latest, ...data };  // figures and grid replaced; the series and time zone stay
  } else if (frame.type === "live") {
    applyLive(data);
  } else if (frame.type === "series") {
    latest.series = [...latest.series, data.point].slice(-data.keep);
  } else {
    return;
  }
  if (data && data.at) serverOffset = Date.parse(data.at) - Date.now();
  queueRender();
}

// A "live" frame: agents' grid entries (replaced, or inserted in agent id order) and queues' live picture,
// the same in every window.
function applyLive(data) {
  latest.at = data.at;
  for (const entry of data.agents || []) {
    const i = latest.agents.findIndex((a) => a.agent_id >= entry.agent_id);
    if (i === -1) latest.agents.push(entry);
    else if (latest.agents[i].agent_id === entry.agent_id) latest.agents[i] = entry;
    else latest.agents.splice(i, 0, entry);
  }
  for (const win of Object.values(latest.windows)) {
    for (const [name, live] of Object.entries(data.queues || {})) if (win.queues[name]) Object.assign(win.queues[name], live);
    if (data.overall && win.overall) Object.assign(win.overall, data.overall);
  }
  if (data.calls || data.calls_gone) {
    const calls = new Map(latest.calls.map((c) => [c.call_id, c]));
    // A chat came, moved or went: "Chats now" reads its list again (the feed's rows carry no agent first name).
    if ((data.calls || []).some((c) => c.channel === "chat") || (data.calls_gone || []).some((id) => calls.get(id)
      && calls.get(id).channel === "chat")) chatsChanged();
    for (const call of data.calls || []) calls.set(call.call_id, call);
    for (const id of data.calls_gone || []) calls.delete(id);
    latest.calls = [...calls.values()].sort((a, b) => (a.arrived_at < b.arrived_at ? -1 : a.arrived_at > b.arrived_at ? 1
      : a.call_id < b.call_id ? -1 : 1));
    const gone = new Set(data.calls_gone || []);
    let dropped = false;
    for (const [id, monitor] of monitors) if (gone.has(monitor.call_id)) { monitors.delete(id); dropped = true; } // ended with the call
    if (dropped) renderMonitors();
  }
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

// -- polled: adherence; asked at each snapshot: one's monitors ---------------------------------------------
async function refreshAdherence() {
  try {
    const data = await api(`/api/wfm/adherence?timezone=${encodeURIComponent(timeZone())}`);
    adherence = new Map((data.agents || []).map((row) => [row.agent_id, row]));
  } catch {
    adherence = new Map(); // no schedule service or no right to it: the column stays empty
  }
  queueRender();
}

async function refreshMonitors() {
  try {
    const data = await api("/api/monitors");
    monitors.clear();
    for (const monitor of data.monitors) monitors.set(monitor.monitor_id, monitor);
    monitorsRefused = null;
  } catch (error) {
    monitorsRefused = error instanceof ApiError ? errorText(error) : t("dash.calls_unavailable");
  }
  renderMonitors();
}

// Out of adherence now: the schedule's activity (from the last poll) against the agent's state (pushed).
function outOfAdherence(row, state) {
  if (row.expected_now === "work") return !WORKING.has(state);
  if (row.expected_now === "break") return WORKING.has(state);
  return false;
}

// -- rendering ---------------------------------------------------------------------------------------------
function render() {
  if (!latest) return;
  const queue = $("queue").value;
  const team = $("team").value;
  const win = latest.windows[$("window").value];
  addOptions(win);
  $("updated").textContent = clock(new Date(latest.at));
  $("updated").setAttribute("datetime", latest.at);
  set("charts-scope", queue ? t("dash.scope.queue", { queue }) : t("dash.scope.all"));
  renderTiles(figures(win, queue));
  renderCharts(queue);
  renderQueues(win, queue);
  renderAgents(win, queue, team);
  renderCalls(queue, team);
  renderChannels();
}

// Today's figures per channel (voice calls, web chats), for a scope of every queue (others get none: a channel's
// figures would mix in queues outside the scope). Active: the live rows of that channel in conversation now.
function renderChannels() {
  const channels = latest.channels;
  $("channels-section").hidden = !channels;
  if (!channels) return;
  $("channels").replaceChildren(...Object.keys(channels).sort().reverse().map((name) => {
    const row = channels[name];
    const active = (latest.calls || []).filter((c) => (c.channel || "voice") === name && c.state === "connected").length;
    return el("tr", { "data-channel": name }, el("th", { scope: "row" }, label("dash.channel", name)),
      el("td", {}, fmt.number(row.waiting)), el("td", {}, fmt.number(active)), el("td", {}, secs(row.longest_wait)),
      el("td", {}, fmt.number(row.tally.offered)), el("td", {}, fmt.number(row.tally.answered)),
      el("td", {}, fmt.number(row.tally.abandoned)), el("td", {}, pct(row.service_level)));
  }));
}

function addOptions(win) {
  const known = new Set([...$("queue").options].map((o) => o.value));
  const fresh = Object.keys(win.queues).sort().filter((name) => !known.has(name));
  for (const name of fresh) $("queue").append(el("option", { value: name }, name));
  if (fresh.length) thresholdQueues([...$("queue").options].map((o) => o.value).filter(Boolean));
  const teams = new Set([...$("team").options].map((o) => o.value));
  for (const a of latest.agents) if (a.team && !teams.has(a.team)) { teams.add(a.team); $("team").append(el("option", { value: a.team }, a.team)); }
}

function renderTiles(f) {
  if (!f) return;
  set("waiting", fmt.number(f.waiting)); set("longest-wait", secs(f.longest_wait)); set("in-ivr", fmt.number(f.in_ivr));
  set("service-level", pct(f.service_level)); set("offered", fmt.number(f.tally.offered));
  set("answered", fmt.number(f.tally.answered)); set("abandoned", fmt.number(f.tally.abandoned));
  set("abandon-rate", pct(f.abandon_rate)); set("asa", secs(f.asa)); set("aht", secs(f.aht)); set("occupancy", pct(f.occupancy));
  set("agents-by-state", `${f.agents.ready} / ${f.agents.on_call} / ${f.agents.wrap_up} / ${f.agents.not_ready}`);
  $("tile-sl").classList.toggle("alert", f.service_level !== null && f.service_level < SL_TARGET);
  $("tile-longest").classList.toggle("alert", f.longest_wait > LONGEST_WAIT_MAX);
}

function renderQueues(win, queue) {
  const search = $("queue-search").value;
  const rows = Object.entries(win.queues).map(([name, q]) => ({ name, q }))
    .filter(({ name }) => (!queue || name === queue) && matches(search, name));
  const value = ({ name, q }, key) => ({ queue: name, waiting: q.waiting, longest: q.longest_wait, offered: q.tally.offered,
    answered: q.tally.answered, abandoned: q.tally.abandoned, sl: q.service_level, asa: q.asa, aht: q.aht })[key];
  $("queues").replaceChildren(...sortRows(rows, sorts.queues, value).map(({ name, q }) => el("tr", {
    "data-queue": name, class: q.service_level !== null && q.service_level < SL_TARGET ? "alert" : null },
  el("td", {}, name), el("td", { class: "num" }, fmt.number(q.waiting)),
  el("td", { class: "num" }, secs(q.longest_wait)), el("td", { class: "num" }, fmt.number(q.tally.offered)),
  el("td", { class: "num" }, fmt.number(q.tally.answered)), el("td", { class: "num" }, fmt.number(q.tally.abandoned)),
  el("td", { class: "num" }, pct(q.service_level)), el("td", { class: "num" }, secs(q.asa)),
  el("td", { class: "num" }, secs(q.aht)))));
}

// Whom an agent serves: the queues of their statistics row (today's knows every agent the feed knows).
function serves(win, agentId, queue) {
  const row = latest.windows.today.agents[agentId] || win.agents[agentId];
  return Boolean(row && row.queues.includes(queue));
}

function stateText(a) {
  const state = label("state", a.state);
  return a.reason ? `${state} (${reasonText(a.reason)})` : state;
}

function renderAgents(win, queue, team) {
  const search = $("agent-search").value;
  const now = serverNow();
  const rows = latest.agents
    .filter((a) => (!team || a.team === team) && (!queue || serves(win, a.agent_id, queue)))
    .map((a) => ({ a, stats: win.agents[a.agent_id] || {}, adh: adherence.get(a.agent_id),
                   inState: a.since ? Math.max(0, (now - Date.parse(a.since)) / 1000) : null }))
    .filter(({ a }) => matches(search, a.name, a.agent_id, a.team, stateText(a)));
  const value = ({ a, stats, adh, inState }, key) => ({ name: a.name || a.agent_id, team: a.team, state: stateText(a),
    since: inState, handled: stats.handled ?? 0, aht: stats.aht, adherence: adh ? adh.adherence : null })[key];
  $("agents").replaceChildren(...sortRows(rows, sorts.agents, value).map(({ a, stats, adh, inState }) => el("tr", { "data-agent": a.agent_id },
    el("td", {}, a.name || a.agent_id), el("td", {}, a.team || ""),
    el("td", { class: "state" }, stateText(a)),
    el("td", { class: "num since", title: a.since ? t("dash.since_title", { time: fmt.dateTime(a.since) }) : null },
      fmt.duration(inState)),
    el("td", { class: "num" }, fmt.number(stats.handled ?? 0)), el("td", { class: "num" }, secs(stats.aht)),
    el("td", { class: ["num", adh && outOfAdherence(adh, a.state) ? "alert" : ""].join(" ").trim(),
               title: adh ? t("dash.adherence_title", { activity: label("dash.activity", adh.expected_now) }) : null },
      adh ? pct(adh.adherence) : "–"))));
}

// -- live calls and monitoring -----------------------------------------------------------------------------
function callTimes(call, now) {
  const answered = call.answered_at ? Date.parse(call.answered_at) : null;
  const wait = Math.max(0, ((answered ?? now) - Date.parse(call.arrived_at)) / 1000);
  const talk = answered === null ? null : Math.max(0, (now - answered) / 1000);
  return { wait, talk };
}

function callerText(call) {
  // What the feed shows a supervisor of the caller: the name, and the number masked to its last digits.
  const number = call.caller_number || t("dash.caller_unknown");
  return call.caller_name ? `${call.caller_name} (${number})` : number;
}

function languageText(code) {
  if (!code) return "";
  try { return new Intl.DisplayNames([locale()], { type: "language" }).of(code) || code; } catch { return code; }
}

const agentText = (call) => call.agent_name || call.agent_id || "";

function renderCalls(queue, team) {
  const agents = new Map(latest.agents.map((a) => [a.agent_id, a]));
  const now = serverNow();
  const shown = latest.calls.filter((c) => (!queue || c.queue === queue)
    && (!team || (c.agent_id && agents.get(c.agent_id) && agents.get(c.agent_id).team === team)))
    .map((call) => ({ call, agent: agentText(call), ...callTimes(call, now) }));
  const value = ({ call, agent, wait, talk }, key) => ({ queue: call.queue, state: label("dash.call_state", call.state),
    caller: callerText(call), language: languageText(call.language), agent, arrived: call.arrived_at, wait, talk })[key];
  const rows = sortRows(shown, sorts.calls, value).map((item) => callRow(item));
  const tbody = $("calls");
  const same = rows.length === tbody.children.length && rows.every((tr, i) => tbody.children[i] === tr);
  if (!same) tbody.replaceChildren(...rows); // unchanged order: nodes kept, a focused button keeps its focus
  const kept = new Set(shown.map(({ call }) => call.call_id));
  for (const id of callRows.keys()) if (!kept.has(id)) callRows.delete(id);
  $("calls-empty").hidden = rows.length > 0;
}

function callRow({ call, agent, wait, talk }) {
  const signature = [call.state, call.queue, agent, callerText(call), call.language, call.arrived_at,
    call.answered_at].join("\u0000");
  let row = callRows.get(call.call_id);
  if (!row || row.signature !== signature) {
    const live = call.state === "connected";
    const button = (mode) => el("button", { type: "button", class: `monitor ${mode}`, "data-mode": mode,
      disabled: !live, title: live ? null : t("dash.monitor.only_connected"),
      onclick: () => startMonitor(call.call_id, mode) }, t(`dash.mode.${mode}`));
    const waitCell = el("td", { class: "num wait" });
    const talkCell = el("td", { class: "num talk" });
    const tr = el("tr", { "data-call": call.call_id, "data-state": call.state },
      el("td", {}, call.queue || ""), el("td", { class: "state" }, label("dash.call_state", call.state)),
      el("td", { class: "caller" }, callerText(call)), el("td", { class: "language" }, languageText(call.language)),
      el("td", { class: "agent" }, agent),
      el("td", {}, el("time", { datetime: call.arrived_at, title: fmt.dateTime(call.arrived_at) },
        clock(new Date(call.arrived_at)))),
      waitCell, talkCell,
      el("td", { class: "actions" }, button("listen"), button("whisper"), button("barge")));
    row = { tr, signature, waitCell, talkCell };
    callRows.set(call.call_id, row);
  }
  row.waitCell.textContent = fmt.duration(wait);
  row.talkCell.textContent = talk === null ? "–" : fmt.duration(talk);
  return row.tr;
}

function say(text, refused = false) {
  const status = $("monitor-status");
  status.textContent = text;
  status.classList.toggle("error", refused);
}

function refusal(error) {
  if (!(error instanceof ApiError)) return t("dash.monitor.failed", { message: errorText(error) });
  const key = { 403: "dash.monitor.refused_403", 404: "dash.monitor.refused_404", 409: "dash.monitor.refused_409",
                422: "dash.monitor.refused_422" }[error.status] || "dash.monitor.refused";
  return t(key, { message: errorText(error), status: error.status });
}

async function startMonitor(callId, mode) {
  const extension = $("my-extension").value.trim();
  if (!/^[0-9]{2,16}$/.test(extension)) {
    say(t("dash.monitor.need_extension"), true);
    $("my-extension").focus();
    return;
  }
  try { localStorage.setItem(EXTENSION_KEY, extension); } catch { /* private mode: typed again next time */ }
  say(t("dash.monitor.starting", { mode: t(`dash.mode.${mode}`), extension }));
  try {
    const monitor = await api(`/api/calls/${encodeURIComponent(callId)}/monitor`, { method: "POST", body: { mode, extension } });
    monitors.set(monitor.monitor_id, monitor);
    say(t("dash.monitor.started", { mode: t(`dash.mode.${monitor.mode}`), extension: monitor.extension }));
  } catch (error) {
    say(refusal(error), true);
  }
  renderMonitors();
}

async function stopMonitor(monitorId) {
  try {
    await api(`/api/monitors/${encodeURIComponent(monitorId)}`, { method: "DELETE" });
    say(t("dash.monitor.stopped"));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) { say(refusal(error), true); return; }
    say(t("dash.monitor.stopped")); // already over (the call ended)
  }
  monitors.delete(monitorId);
  renderMonitors();
}

function renderMonitors() {
  const calls = latest ? latest.calls : [];
  if (monitorsRefused) say(t("dash.monitors_refused", { message: monitorsRefused }), true);
  $("monitors").replaceChildren(...[...monitors.values()].map((m) => {
    const call = calls.find((c) => c.call_id === m.call_id);
    const agent = call ? agentText(call) : "";
    return el("li", { "data-monitor": m.monitor_id },
      t("dash.monitor.active", { mode: t(`dash.mode.${m.mode}`), agent, extension: m.extension }), " ",
      el("button", { type: "button", onclick: () => stopMonitor(m.monitor_id) }, t("dash.monitor.stop")));
  }));
}

// -- charts (uPlot, vendored: cti/web/static/vendor/README.md) ---------------------------------------------
// The series points are the day's figures, one a minute; the present (the figures shown now) is the last point.
function seriesValue(point, queue) {
  if (queue) {
    const q = point.queues[queue];
    return q ? [q.waiting, q.service_level] : [null, null];
  }
  if (latest.windows.today.overall) return [point.waiting, point.service_level];
  const qs = Object.values(point.queues); // a scoped supervisor: their queues' calls, no combined service level
  return [qs.reduce((n, q) => n + q.waiting, 0), null];
}

function chartData(queue) {
  const xs = [];
  const waiting = [];
  const sl = [];
  const add = (at, [w, s]) => {
    const x = Date.parse(at) / 1000;
    if (xs.length && x <= xs[xs.length - 1]) return;
    xs.push(x); waiting.push(w); sl.push(s === null || s === undefined ? null : s * 100);
  };
  for (const point of latest.series) add(point.at, seriesValue(point, queue));
  const now = figures(latest.windows.today, queue);
  if (now) add(latest.at, [now.waiting, now.service_level]);
  const span = WINDOW_SECONDS[$("window").value];
  const from = span && xs.length ? xs[xs.length - 1] - span : -Infinity;
  const keep = xs.map((x, i) => (x >= from ? i : -1)).filter((i) => i >= 0);
  const pick = (list) => keep.map((i) => list[i]);
  return { waiting: [pick(xs), pick(waiting)], sl: [pick(xs), pick(sl), keep.map(() => SL_TARGET * 100)] };
}

function timeAxis() {
  return { label: t("dash.chart.time_axis", { zone: timeZone() }), stroke: COLOURS.axis, grid: { stroke: COLOURS.grid },
           // Ticks less than a minute apart (the first minutes of a day's chart) carry seconds too.
           values: (u, splits, axis, space, step) => splits.map((v) => (step < 60 ? clock(v * 1000) : fmt.time(v * 1000))) };
}

function makeChart(target, { series, unit, range, value }) {
  const width = Math.max(280, target.clientWidth || 600);
  return new window.uPlot({
    width, height: 200,
    tzDate: (ts) => window.uPlot.tzDate(new Date(ts * 1000), timeZone()),
    // At least five minutes across, so the first minutes of a day do not draw ticks a second apart.
    scales: { x: { time: true, range: (u, min, max) => (min === null || max - min >= 300 ? [min, max] : [max - 300, max]) },
              y: { range } },
    axes: [timeAxis(), { label: unit, stroke: COLOURS.axis, grid: { stroke: COLOURS.grid }, values: (u, splits) => splits.map(value) }],
    series: [{ label: t("dash.chart.time"), value: (u, v) => (v === null || v === undefined ? "–" : fmt.dateTime(v * 1000)) },
             ...series],
    legend: { live: true },
  }, [[]].concat(series.map(() => [])), target);
}

function buildCharts(queue) {
  const suffix = queue ? ` (${queue})` : "";
  const count = (v) => (v === null || v === undefined ? "–" : fmt.number(v));
  const percent = (v) => (v === null || v === undefined ? "–" : fmt.percent(v / 100, 1));
  $("chart-waiting").replaceChildren();
  $("chart-sl").replaceChildren();
  return {
    key: `${queue}|${t("dash.chart.waiting")}`,
    waiting: makeChart($("chart-waiting"), {
      unit: t("dash.chart.unit_calls"), range: (u, min, max) => [0, Math.max(2, Math.ceil((max || 0) * 1.25))], value: count,
      series: [{ label: t("dash.chart.waiting") + suffix, stroke: COLOURS.waiting, width: 2, value: (u, v) => count(v) }] }),
    sl: makeChart($("chart-sl"), {
      unit: t("dash.chart.unit_percent"), range: () => [0, 100], value: (v) => fmt.percent(v / 100, 0),
      series: [{ label: t("dash.chart.service_level") + suffix, stroke: COLOURS.sl, width: 2, value: (u, v) => percent(v) },
               { label: t("dash.chart.target", { target: fmt.percent(SL_TARGET, 0) }), stroke: COLOURS.target, width: 2,
                 dash: [8, 5], points: { show: false }, value: (u, v) => percent(v) }] }),
  };
}

function renderCharts(queue) {
  if (!window.uPlot) return;
  if (!charts || charts.key !== `${queue}|${t("dash.chart.waiting")}`) {
    if (charts) { charts.waiting.destroy(); charts.sl.destroy(); }
    charts = buildCharts(queue);
  }
  const data = chartData(queue);
  for (const [chart, values] of [[charts.waiting, data.waiting], [charts.sl, data.sl]]) {
    chart.setData(values);
    // Not hovered: the legend shows the present's values (hovered, those under the pointer).
    if (chart.cursor.idx === null || chart.cursor.idx === undefined) chart.setLegend({ idx: values[0].length - 1 });
  }
}

function resizeCharts() {
  if (!charts) return;
  for (const [id, chart] of [["chart-waiting", charts.waiting], ["chart-sl", charts.sl]]) {
    chart.setSize({ width: Math.max(280, $(id).clientWidth), height: 200 });
  }
}

// -- start -------------------------------------------------------------------------------------------------
function linkText(status, detail = {}) {
  if (detail.state === "refused" || status.startsWith("refused")) {
    return t("link.refused", { why: detail.error ? errorText(detail.error) : (detail.why ?? status.replace(/^refused:?\s*/, "")) });
  }
  return label("link", detail.state || status);
}

const user = await startPage({ page: "dashboard", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  sorts.queues = sortable($("queues-table"), queueRender, { key: "queue", dir: "ascending" });
  sorts.agents = sortable($("agents-table"), queueRender, { key: "name", dir: "ascending" });
  sorts.calls = sortable($("calls-table"), queueRender, { key: "arrived", dir: "ascending" });
  try { $("my-extension").value = localStorage.getItem(EXTENSION_KEY) || ""; } catch { /* private mode */ }
  for (const id of ["window", "queue", "team"]) $(id).addEventListener("change", queueRender);
  startThresholds();
  loadThresholds();
  $("queue").addEventListener("change", renderCsat);
  startCsat();
  startChats({ serverNow });
  for (const id of ["queue-search", "agent-search"]) $(id).addEventListener("input", queueRender);
  onLanguageChange(() => {
    if (charts) { charts.waiting.destroy(); charts.sl.destroy(); charts = null; }
    callRows.clear();
    render();
    renderMonitors();
    renderAlerts();
    renderCsat();
    relabelChats();
  });
  new ResizeObserver(resizeCharts).observe($("chart-waiting"));
  let link = ["offline", {}];
  const showLink = () => set("link", linkText(...link));
  onLanguageChange(showLink);
  showLink();
  liveSocket("/ws/dashboard", apply, { onStatus: (status, detail = {}) => { link = [status, detail]; showLink(); } });
  setInterval(refreshAdherence, ADHERENCE_EVERY_MS);
  setInterval(queueRender, 1000); // durations in state, waiting and talking move every second
}
