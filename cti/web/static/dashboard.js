// Supervisor dashboard: live figures pushed over the websocket, tiles that turn red past their thresholds.
// Frames (docs/metrics.md, "The dashboard feed"): a snapshot, then "live" changes (agents, queues' live
// picture) applied to it at once, "stats" (every figure, every 0.8 s) replacing the figures and the grid,
// and "series" adding a point to the day's charts.
import { api, el, liveSocket, requireToken } from "/ui/cti.js";

const $ = (id) => document.getElementById(id);
const SL_TARGET = 0.8;       // tiles turn red below this service level
const LONGEST_WAIT_MAX = 60; // ... or when a caller has waited longer than this (seconds)
const ADHERENCE_EVERY_MS = 20000; // adherence moves by the minute: a poll is enough, and costs the server little
const WORKING = new Set(["ready", "ringing", "on_call", "wrap_up"]); // adherent to scheduled work (cti/wfm/adherence.py)
let latest = null;
let adherence = new Map(); // agent id -> that agent's row of /api/wfm/adherence
let renderQueued = false;

const pct = (v) => (v === null || v === undefined ? "-" : `${(v * 100).toFixed(1)} %`);
const secs = (v) => (v === null || v === undefined ? "-" : `${Math.round(v)} s`);
const set = (id, text) => { $(id).textContent = String(text); };

function figures(win) {
  const queue = $("queue").value;
  if (queue) return win.queues[queue] || null;
  if (win.overall) return win.overall;
  // A scoped supervisor has no overall figures: add up their queues.
  const qs = Object.values(win.queues);
  if (!qs.length) return null;
  const sum = (f) => qs.reduce((n, q) => n + f(q), 0);
  return { waiting: sum((q) => q.waiting), longest_wait: Math.max(...qs.map((q) => q.longest_wait)),
           in_ivr: sum((q) => q.in_ivr), tally: { offered: sum((q) => q.tally.offered),
           answered: sum((q) => q.tally.answered), abandoned: sum((q) => q.tally.abandoned) },
           service_level: null, asa: null, aht: null, abandon_rate: null, occupancy: null,
           agents: { ready: sum((q) => q.agents.ready), on_call: sum((q) => q.agents.on_call),
                     wrap_up: sum((q) => q.agents.wrap_up), not_ready: sum((q) => q.agents.not_ready) } };
}

// One frame changes the state; the page renders once per animation frame, however many frames came in.
function apply(frame) {
  const data = frame.data;
  if (frame.type === "snapshot") {
    const first = latest === null;
    latest = data;
    if (first) refreshAdherence();
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
  if (!renderQueued) {
    renderQueued = true;
    requestAnimationFrame(() => { renderQueued = false; render(); });
  }
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
}

async function refreshAdherence() {
  try {
    const zone = encodeURIComponent((latest && latest.timezone) || "UTC");
    const data = await api(`/api/wfm/adherence?timezone=${zone}`);
    adherence = new Map((data.agents || []).map((row) => [row.agent_id, row]));
  } catch {
    adherence = new Map(); // no schedule service or no right to it: the column stays empty
  }
  render();
}

// Out of adherence now: the schedule's activity (from the last poll) against the agent's state (pushed).
function outOfAdherence(row, state) {
  if (row.expected_now === "work") return !WORKING.has(state);
  if (row.expected_now === "break") return WORKING.has(state);
  return false;
}

function render() {
  if (!latest) return;
  const win = latest.windows[$("window").value];
  const f = figures(win);
  set("updated", latest.at.slice(11, 19));
  if (f) {
    set("waiting", f.waiting); set("longest-wait", secs(f.longest_wait)); set("in-ivr", f.in_ivr);
    set("service-level", pct(f.service_level)); set("offered", f.tally.offered); set("answered", f.tally.answered);
    set("abandoned", f.tally.abandoned); set("abandon-rate", pct(f.abandon_rate)); set("asa", secs(f.asa));
    set("aht", secs(f.aht)); set("occupancy", pct(f.occupancy));
    set("agents-by-state", `${f.agents.ready} / ${f.agents.on_call} / ${f.agents.wrap_up} / ${f.agents.not_ready}`);
    $("tile-sl").classList.toggle("alert", f.service_level !== null && f.service_level < SL_TARGET);
    $("tile-longest").classList.toggle("alert", f.longest_wait > LONGEST_WAIT_MAX);
  }
  const queues = Object.entries(win.queues).sort(([a], [b]) => a.localeCompare(b));
  const known = new Set([...$("queue").options].map((o) => o.value));
  for (const [name] of queues) if (!known.has(name)) $("queue").append(el("option", { value: name }, name));
  $("queues").replaceChildren(...queues.map(([name, q]) => el("tr", { "data-queue": name, class: q.service_level !== null && q.service_level < SL_TARGET ? "alert" : null },
    el("td", {}, name), el("td", {}, q.waiting), el("td", {}, secs(q.longest_wait)), el("td", {}, q.tally.offered),
    el("td", {}, q.tally.answered), el("td", {}, q.tally.abandoned), el("td", {}, pct(q.service_level)),
    el("td", {}, secs(q.asa)), el("td", {}, secs(q.aht)))));
  const teams = new Set([...$("team").options].map((o) => o.value));
  for (const a of latest.agents) if (a.team && !teams.has(a.team)) { teams.add(a.team); $("team").append(el("option", { value: a.team }, a.team)); }
  const team = $("team").value;
  $("agents").replaceChildren(...latest.agents.filter((a) => !team || a.team === team).map((a) => {
    const stats = win.agents[a.agent_id] || {};
    const adh = adherence.get(a.agent_id);
    return el("tr", { "data-agent": a.agent_id }, el("td", {}, a.name || a.agent_id), el("td", {}, a.team || ""),
      el("td", { class: "state" }, a.reason ? `${a.state} (${a.reason})` : a.state), el("td", {}, (a.since || "").slice(11, 19)),
      el("td", {}, stats.handled ?? 0), el("td", {}, secs(stats.aht)),
      el("td", { class: adh && outOfAdherence(adh, a.state) ? "alert" : null,
                 title: adh ? `scheduled now: ${adh.expected_now}` : null }, adh ? pct(adh.adherence) : "-"));
  }));
  chart("chart-waiting", latest.series.map((p) => p.waiting), null);
  chart("chart-sl", latest.series.map((p) => p.service_level), 1);
}

function chart(id, values, max) {
  const points = values.map((v, i) => [i, v]).filter(([, v]) => v !== null && v !== undefined);
  const top = max || Math.max(1, ...points.map(([, v]) => v));
  const width = Math.max(1, values.length - 1);
  $(id).querySelector("polyline").setAttribute("points",
    points.map(([i, v]) => `${(i / width) * 600},${120 - (v / top) * 110}`).join(" "));
}

requireToken(() => {
  for (const id of ["window", "queue", "team"]) $(id).addEventListener("change", render);
  liveSocket("/ws/dashboard", apply, { onStatus: (status) => set("link", status) });
  setInterval(refreshAdherence, ADHERENCE_EVERY_MS);
});
