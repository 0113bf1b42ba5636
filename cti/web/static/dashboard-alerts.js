// Alerts on the supervisor dashboard: the alerts raised now in the supervisor's queues (GET /api/alerts?open=yes
// at every snapshot, then "alert" frames on the dashboard's socket), each announced once (role=alert, read out by
// screen readers) with a short tone, and the recent history; and the thresholds of a queue, set here
// (PUT /api/alerts/thresholds/{queue}). docs/supervisors.md, "Alerts".
import { api, ApiError, el } from "/ui/cti.js";
import { errorText, fmt, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
const active = new Map(); // alert id (or key, before the store answered) -> the alert as the server sent it
let recent = [];
const keyOf = (a) => `${a.queue}:${a.channel}:${a.metric}:${a.state || ""}@${a.subject}`;
const SHARES = new Set(["service_level", "abandon_rate"]);

export function figure(metric, value) {
  if (value === null || value === undefined) return "–";
  if (SHARES.has(metric)) return fmt.percent(value, 0);
  if (metric === "csat") return t("alert.rating", { n: fmt.number(value, 2) });
  if (metric === "waiting") return fmt.number(value, 0);
  return t("dash.seconds", { n: fmt.number(value, 0) });
}

// What a threshold watches, in words: an agent state's name, a CSAT's channel (the surveys after calls or chats).
function metricText(a) {
  return t(`alert.metric.${a.metric}`, { state: a.state ? t(`alert.state.${a.state}`) : "",
                                         channel: t(`alert.channel.${a.channel || "voice"}`) });
}

function describe(a) {
  const what = metricText(a);
  return t(a.metric === "agent_state_seconds" ? "alert.text_agent" : "alert.text",
           { queue: a.queue, what, value: figure(a.metric, a.value), limit: figure(a.metric, a.raise_at), agent: a.subject });
}

// A short tone: the cue a supervisor hears without looking. Browsers allow sound only after the page was used
// (a click); before that the tone is skipped and the visible alert remains.
function tone() {
  try {
    const audio = new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.1;
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.25);
    osc.onended = () => audio.close();
  } catch { /* no audio here */ }
}

export async function refreshAlerts() {
  try {
    const [open, history] = await Promise.all([api("/api/alerts?open=yes"), api("/api/alerts?limit=20")]);
    active.clear();
    for (const a of open.alerts) active.set(keyOf(a), a);
    recent = history.alerts;
    $("alerts-status").textContent = "";
  } catch (error) {
    $("alerts-status").textContent = error instanceof ApiError ? errorText(error) : String(error);
  }
  renderAlerts();
}

export function alertFrame(data) {
  const key = keyOf(data);
  if (data.status === "raised") {
    active.set(key, data);
    $("alert-banner").textContent = describe(data);
    tone();
  } else {
    active.delete(key);
    if (!active.size) $("alert-banner").textContent = "";
  }
  recent = [data, ...recent.filter((a) => a.alert_id === null || a.alert_id !== data.alert_id)].slice(0, 20);
  renderAlerts();
}

export function renderAlerts() {
  const list = $("alerts");
  list.replaceChildren(...[...active.values()].map((a) => el("li", { class: "alert-item", "data-metric": a.metric },
    describe(a))));
  $("alerts-empty").hidden = active.size > 0;
  $("alerts-section").classList.toggle("alerting", active.size > 0);
  $("alert-history").replaceChildren(...recent.map((a) => el("li", {},
    `${describe(a)} — ${a.cleared_at ? t("alert.cleared") : t("alert.raised")}`)));
}

// -- thresholds of one queue ---------------------------------------------------------------------------------
let thresholds = [];

export async function loadThresholds() {
  try {
    thresholds = (await api("/api/alerts/thresholds")).thresholds;
  } catch (error) {
    $("threshold-status").textContent = error instanceof ApiError ? errorText(error) : String(error);
    return;
  }
  renderThresholds();
}

function renderThresholds() {
  const queue = $("threshold-queue").value;
  $("thresholds").replaceChildren(...thresholds.filter((th) => th.queue === queue).map((th) => {
    const remove = el("button", { type: "button" }, t("alert.remove"));
    remove.addEventListener("click", () => save(queue, thresholds.filter((x) => x !== th && x.queue === queue)));
    return el("li", {}, `${metricText(th)}: `
      + `${t("alert.raise_at")} ${figure(th.metric, th.raise_at)}, ${t("alert.clear_at")} ${figure(th.metric, th.clear_at)} `, remove);
  }));
}

async function save(queue, list) {
  const body = { thresholds: list.map(({ metric, raise_at, clear_at, channel, state }) => ({ metric, raise_at, clear_at, channel, state })) };
  try {
    await api(`/api/alerts/thresholds/${encodeURIComponent(queue)}`, { method: "PUT", body });
    $("threshold-status").textContent = t("alert.saved");
    await loadThresholds();
  } catch (error) {
    $("threshold-status").textContent = error instanceof ApiError ? errorText(error) : String(error);
  }
}

export function startThresholds() {
  $("threshold-queue").addEventListener("change", renderThresholds);
  $("threshold-metric").addEventListener("change", () => {
    $("threshold-state-label").hidden = $("threshold-metric").value !== "agent_state_seconds";
    $("threshold-channel-label").hidden = $("threshold-metric").value !== "csat";
  });
  $("threshold-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const queue = $("threshold-queue").value;
    const metric = $("threshold-metric").value;
    // Shares are typed as percentages, as the tiles show them.
    const read = (id) => Number($(id).value) / (SHARES.has(metric) ? 100 : 1);
    // Only CSAT reads a channel of its own today (the surveys after chats); the other figures are the calls'.
    const added = { queue, metric, raise_at: read("threshold-raise"), clear_at: read("threshold-clear"),
                    channel: metric === "csat" ? $("threshold-channel").value : "voice",
                    state: metric === "agent_state_seconds" ? $("threshold-state").value : null };
    const kept = thresholds.filter((th) => th.queue === queue && !(th.metric === metric && th.channel === added.channel
      && (th.state || null) === added.state));
    save(queue, [...kept, added]);
  });
}

export function thresholdQueues(queues) {
  const select = $("threshold-queue");
  const chosen = select.value;
  select.replaceChildren(...queues.map((q) => el("option", { value: q }, q)));
  if (queues.includes(chosen)) select.value = chosen;
  renderThresholds();
}
