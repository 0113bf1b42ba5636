// The supervisors' callbacks page: the scheduled callbacks of the supervisor's scope (an admin's: all) from
// GET /api/callbacks — whom (name and number masked by the server), queue, due time in the center's zone, status,
// every attempt's outcome, who scheduled it — filtered by status, refreshed on demand and every 30 s; cancelling
// one still waiting (confirmed first). And the do-not-call list: add a number with a reason, remove one.
// Nothing is built from data as HTML.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, has, onLanguageChange, t, timeZone } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
const DASH = "–";
const REFRESH_MS = 30000;
let callbacks = [];
let entries = [];
let lastNotice = null;  // [key, params]
let lastError = null;

function notify(key, params = {}) {
  lastNotice = key ? [key, params] : null;
  lastError = null;
  $("notice").textContent = key ? t(key, params) : "";
  $("refusal").textContent = "";
}

function refuse(error) {
  if (handleApiError(error, "roles.staff")) return;
  lastNotice = null;
  lastError = error;
  $("notice").textContent = "";
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("cb.network");
}

function confirmWith(title, text, yes) {
  const dialog = $("confirm-dialog");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yes;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
    $("confirm-no").focus();  // the safe choice has the focus
  });
}

const label = (prefix, value) => (has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value);

function customerText(callback) {
  const number = callback.customer_number || t("cb.number_unknown");
  return callback.customer_name ? `${callback.customer_name} (${number})` : number;
}

function attemptsCell(callback) {
  if (!callback.attempts.length) return el("td", {}, DASH);
  return el("td", {}, el("ol", { class: "attempts" }, ...callback.attempts.map((a) =>
    el("li", {}, el("time", { datetime: a.at }, fmt.dateTime(a.at)), " ", label("cb.outcome", a.outcome),
      a.agent_id ? ` (${a.agent_id})` : ""))));
}

function callbackRow(callback) {
  const who = customerText(callback);
  const waiting = callback.status === "scheduled";
  return el("tr", { "data-callback": callback.callback_id, "data-status": callback.status },
    el("th", { scope: "row" }, who),
    el("td", {}, callback.queue),
    el("td", {}, el("time", { datetime: callback.due_at }, fmt.dateTime(callback.due_at))),
    el("td", { class: "status" }, label("cb.status", callback.status)),
    attemptsCell(callback),
    el("td", {}, callback.created_by || DASH),
    el("td", { class: "actions" }, waiting ? el("button", {
      type: "button", class: "secondary", "data-action": "cancel",
      "aria-label": t("cb.cancel.label", { customer: who, due: fmt.dateTime(callback.due_at) }),
      onclick: () => cancel(callback).catch(refuse) }, t("cb.cancel")) : null));
}

function entryRow(entry) {
  return el("tr", { "data-entry": entry.entry_id },
    el("th", { scope: "row" }, entry.number),
    el("td", {}, entry.reason || DASH),
    el("td", {}, entry.added_by || DASH),
    el("td", {}, fmt.dateTime(entry.added_at)),
    el("td", { class: "actions" }, el("button", {
      type: "button", class: "secondary", "data-action": "remove",
      "aria-label": t("cb.dnc.remove.label", { number: entry.number }),
      onclick: () => removeEntry(entry).catch(refuse) }, t("cb.dnc.remove"))));
}

function render() {
  $("zone").textContent = timeZone();
  $("callbacks").tBodies[0].replaceChildren(...callbacks.map(callbackRow));
  $("empty").hidden = callbacks.length > 0;
  $("dnc").tBodies[0].replaceChildren(...entries.map(entryRow));
  $("dnc-empty").hidden = entries.length > 0;
}

async function loadCallbacks() {
  const status = $("status").value;
  const data = await api(`/api/callbacks?limit=500${status ? `&status=${encodeURIComponent(status)}` : ""}`);
  callbacks = data.callbacks;
}

async function loadEntries() {
  entries = (await api("/api/do-not-call")).entries;
}

async function refresh() {
  await Promise.all([loadCallbacks(), loadEntries()]);
  render();
}

async function cancel(callback) {
  const customer = customerText(callback);
  const due = fmt.dateTime(callback.due_at);
  if (!await confirmWith(t("cb.confirm.cancel.title"), t("cb.confirm.cancel.text", { customer, due }),
    t("cb.confirm.cancel.yes"))) return;
  await api(`/api/callbacks/${encodeURIComponent(callback.callback_id)}`, { method: "DELETE" });
  await loadCallbacks();
  render();
  notify("cb.cancelled", { customer, due });
}

async function addEntry(event) {
  event.preventDefault();
  const number = $("dnc-number").value.trim();
  const reason = $("dnc-reason").value.trim();
  const entry = await api("/api/do-not-call", { method: "POST", body: { number, reason } });
  $("dnc-number").value = "";
  $("dnc-reason").value = "";
  await loadEntries();
  render();
  notify("cb.dnc.added", { number: entry.number });
}

async function removeEntry(entry) {
  if (!await confirmWith(t("cb.confirm.remove.title"), t("cb.confirm.remove.text", { number: entry.number }),
    t("cb.confirm.remove.yes"))) return;
  await api(`/api/do-not-call/${entry.entry_id}`, { method: "DELETE" });
  await loadEntries();
  render();
  notify("cb.dnc.removed", { number: entry.number });
}

const user = await startPage({ page: "callbacks", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("callbacks-page").hidden = false;
  $("status").addEventListener("change", () => loadCallbacks().then(render).catch(refuse));
  $("refresh").addEventListener("click", () => refresh().then(() => notify("cb.refreshed")).catch(refuse));
  $("dnc-form").addEventListener("submit", (event) => addEntry(event).catch(refuse));
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
  setInterval(() => { if (!document.hidden) refresh().catch(refuse); }, REFRESH_MS);
}
