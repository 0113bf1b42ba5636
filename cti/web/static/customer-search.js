// The desktop's customer search: find a customer by name, phone or customer number (GET /api/customers?q=) and
// open their record (GET /api/customers/{id}, the same record the screen pop shows). Kept apart from
// desktop.js, which only hosts it: the markup is desktop.html's #customer-search.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, has, onLanguageChange, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
const state = { results: null, record: null, status: null, dialed: null };

function label(kind, value) {
  return value && has(`${kind}.${value}`) ? t(`${kind}.${value}`) : value || "";
}

function items(list, render) {
  return list.length ? list.map((x) => el("li", {}, render(x))) : [el("li", { class: "muted" }, t("search.empty"))];
}

function renderStatus() {
  const status = state.status;
  $("search-status").textContent = !status ? ""
    : status.kind === "found" ? (status.count ? t("search.found", { count: status.count }) : t("search.none"))
    : status.kind === "busy" ? t("search.busy", { seconds: status.seconds })
    : status.kind === "short" ? t("search.short") : status.message;
}

function renderResults() {
  const results = state.results || [];
  $("search-results").replaceChildren(...results.map((c) => el("li", {},
    el("button", { type: "button", class: "quiet search-result", "data-customer-id": c.customer_id,
                   onclick: () => openCustomer(c.customer_id) },
      el("strong", {}, c.name), ` #${c.customer_id}`),
    el("span", { class: "muted" }, [c.phones.join(", "), c.city, label("tier", c.value_tier)].filter(Boolean).join(" · ")))));
}

function renderRecord() {
  const view = $("search-view");
  const c = state.record;
  view.hidden = !c;
  if (!c) { view.replaceChildren(); return; }
  const fact = (key, value) => [el("dt", {}, t(key)), el("dd", {}, value)];
  view.replaceChildren(
    el("h3", { id: "search-view-name", tabindex: "-1" }, c.name),
    el("dl", { class: "facts" },
      fact("search.number", `#${c.customer_id}`),
      fact("search.tier", label("tier", c.value_tier)),
      fact("search.phones", c.phones.join(", ")),
      fact("search.city", c.city || ""),
      fact("search.balance", fmt.money(c.balance_due))),
    consentRow(c, "phone_calls", "calls", "search-consent"),
    consentRow(c, "surveys", "surveys", "search-consent-surveys"),
    el("p", { id: "search-dial", class: "row" }, c.phones.map((phone, index) =>
      el("button", { type: "button", class: "secondary", "data-phone-index": String(index),
                     onclick: () => dial(c.customer_id, index) }, t("dial.call.to", { phone })))),
    el("p", { id: "dial-status", class: "muted", role: "status" }, dialText()),
    el("h4", {}, t("search.orders")),
    el("ul", { id: "search-view-orders" }, items(c.open_orders, (o) =>
      `${o.order_number}: ${[label("order", o.status), label("shipment", o.shipment_status)].filter(Boolean).join(", ")}`)),
    el("h4", {}, t("search.contacts")),
    el("ul", { id: "search-view-contacts" }, items(c.contacts, (k) =>
      `${fmt.date(k.at)} ${label("channel", k.channel)} ${label("disposition", k.disposition)}${k.notes ? `: ${k.notes}` : ""}`)),
    el("button", { type: "button", class: "secondary", id: "search-view-close",
                   onclick: () => { state.record = null; renderRecord(); $("search-q").focus(); } }, t("search.close")));
}

function failed(error) {
  if (error instanceof ApiError && error.status === 429) {
    state.status = { kind: "busy", seconds: Number(error.params.seconds) || 60 };
  } else {
    state.status = { kind: "error", message: errorText(error) };
  }
  renderStatus();
}

async function search(event) {
  event.preventDefault();
  const q = $("search-q").value.trim();
  state.record = null;
  state.dialed = null;
  renderRecord();
  if (q.replace(/\s/g, "").length < 2) {
    state.results = [];
    state.status = { kind: "short" };
  } else {
    try {
      const { customers } = await api(`/api/customers?q=${encodeURIComponent(q)}`);
      state.results = customers;
      state.status = { kind: "found", count: customers.length };
    } catch (error) {
      failed(error);
      return;
    }
  }
  renderResults();
  renderStatus();
}

async function openCustomer(customerId) {
  state.dialed = null;
  try {
    state.record = await api(`/api/customers/${encodeURIComponent(customerId)}`);
  } catch (error) {
    failed(error);
    return;
  }
  renderRecord();
  $("search-view-name").focus();
}

function dialText() {
  const dialed = state.dialed;
  return !dialed ? "" : dialed.error ? errorText(dialed.error) : t("dial.ringing");
}

// Click-to-dial (POST /api/calls): the agent's own phone rings first, then the customer's. A refusal (no consent,
// the do-not-call list, outside the customer's calling hours) says why; nothing is dialed then.
export async function dial(customerId, phoneIndex) {
  try {
    state.dialed = { call: await api("/api/calls", { method: "POST", body: { customer_id: customerId, phone_index: phoneIndex } }) };
  } catch (error) {
    state.dialed = { error };
  }
  if (document.getElementById("dial-status")) $("dial-status").textContent = dialText();
  return state.dialed;
}

// One consent of the record, what the customer said, and a button to record the opposite: `name` is the
// consent's (phone_calls: to be called; surveys: to be asked to rate their calls after the agent hangs up), `key`
// its texts' (consent.<key>.yes/no/record/withdraw), `id` the row's (its button is `<id>-toggle`).
function consentRow(c, name, key, id) {
  const agreed = Boolean(c.consent && c.consent[name]);
  return el("p", { id, class: "row" },
    el("span", {}, t(agreed ? `consent.${key}.yes` : `consent.${key}.no`)), " ",
    el("button", { type: "button", class: "quiet", id: `${id}-toggle`,
                   onclick: () => setConsent(c.customer_id, name, !agreed) },
      t(agreed ? `consent.${key}.withdraw` : `consent.${key}.record`)));
}

// The customer says yes (or no more) to one consent: PUT /api/customers/{id}/consent, then the record again.
async function setConsent(customerId, name, agreed) {
  try {
    const { consent } = await api(`/api/customers/${encodeURIComponent(customerId)}/consent`,
      { method: "PUT", body: { [name]: agreed } });
    if (state.record && state.record.customer_id === customerId) state.record = { ...state.record, consent };
  } catch (error) {
    failed(error);
    return;
  }
  renderRecord();
}

$("search-form").addEventListener("submit", search);
onLanguageChange(() => { renderStatus(); renderResults(); renderRecord(); });
