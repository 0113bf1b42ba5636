// The administrators' webhooks page (docs/integration.md): subscribe a partner's URL to events (the signing secret
// is shown once, as the server hands it out once), the subscriptions with their delivery metrics, and the dead
// letters, each replayed with one button. Nothing is built from data as HTML (el() and textContent only).
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
const DASH = "–";
let subscriptions = [];
let letters = [];
let lastNotice = null;  // [key, params]
let lastError = null;

function notify(key, params = {}) {
  lastNotice = key ? [key, params] : null;
  lastError = null;
  $("notice").textContent = key ? t(key, params) : "";
  $("refusal").textContent = "";
}

function refuse(error) {
  if (handleApiError(error, "roles.admins")) return;
  lastNotice = null;
  lastError = error;
  $("notice").textContent = "";
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("wh.network");
}

function subscriptionRow(s) {
  const m = s.metrics || {};
  const p99 = m.latency_p99_seconds;
  return el("tr", { "data-subscription": s.subscription_id },
    el("th", { scope: "row" }, el("code", {}, s.url), s.description ? el("span", { class: "muted" }, ` ${s.description}`) : null),
    el("td", {}, s.events.join(", ")),
    el("td", {}, t(s.active ? "wh.state.active" : "wh.state.paused")),
    el("td", { class: "delivered" }, String(m.delivered ?? DASH)),
    el("td", {}, String(m.failures ?? DASH)),
    el("td", {}, String(m.dead_letters ?? DASH)),
    el("td", {}, m.backlog === null || m.backlog === undefined ? DASH : String(m.backlog)),
    el("td", {}, p99 === null || p99 === undefined ? DASH : t("wh.ms", { ms: Math.round(p99 * 1000) })));
}

function letterRow(letter) {
  const event = letter.event || {};
  return el("tr", { "data-letter": letter.letter_id },
    el("th", { scope: "row" }, el("code", {}, event.type || DASH)),
    el("td", {}, letter.subject || DASH),
    el("td", {}, el("time", { datetime: letter.at }, fmt.dateTime(letter.at))),
    el("td", {}, letter.error),
    el("td", { class: "actions" }, el("button", {
      type: "button", class: "secondary", "data-action": "replay",
      "aria-label": t("wh.replay.label", { event: event.type || "", subject: letter.subject || "" }),
      onclick: () => replay(letter).catch(refuse) }, t("wh.replay"))));
}

function render() {
  $("subscriptions").tBodies[0].replaceChildren(...subscriptions.map(subscriptionRow));
  $("empty").hidden = subscriptions.length > 0;
  $("letters").tBodies[0].replaceChildren(...letters.map(letterRow));
  $("letters-empty").hidden = letters.length > 0;
}

async function refresh() {
  const [subs, dead] = await Promise.all([api("/api/webhooks"), api("/api/webhooks/dead-letters")]);
  subscriptions = subs.subscriptions;
  letters = dead.dead_letters;
  render();
}

async function create(event) {
  event.preventDefault();
  const events = $("create-events").value.split(",").map((name) => name.trim()).filter(Boolean);
  const created = await api("/api/webhooks", { method: "POST", body: {
    url: $("create-url").value.trim(), events, description: $("create-description").value.trim() } });
  $("secret").textContent = created.secret;
  $("secret-box").hidden = false;
  $("create-url").value = "";
  $("create-description").value = "";
  await refresh();
  notify("wh.created", { url: created.url });
}

async function replay(letter) {
  await api(`/api/webhooks/dead-letters/${letter.letter_id}/replay`, { method: "POST" });
  await refresh();
  notify("wh.replayed", { event: (letter.event || {}).type || "", subject: letter.subject || "" });
}

const user = await startPage({ page: "webhooks", roles: ["admin"], rolesLabel: "roles.admins" });
if (user) {
  $("webhooks-page").hidden = false;
  $("create-form").addEventListener("submit", (event) => create(event).catch(refuse));
  $("refresh").addEventListener("click", () => refresh().then(() => notify("wh.refreshed")).catch(refuse));
  onLanguageChange(() => {
    render();
    if (lastError) refuse(lastError);
    else if (lastNotice) notify(...lastNotice);
  });
  try {
    await refresh();
  } catch (error) {
    refuse(error);
  }
}
