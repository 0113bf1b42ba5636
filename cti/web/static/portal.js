// The customer portal: sign in with a one-time code (an e-mail address or a phone number of the CRM, then the
// 6-digit code sent there), then the customer's own self-service, one panel at a time, chosen by the address's
// fragment so that the back button and a reload keep the place: #summary (contacts, bills and due dates, latest
// orders), #orders, #order/<number> (one order: items, the shipment's steps, its invoices), #callback (ask to be
// called back now or at a time; the requests and their status, cancel a waiting one), #details (e-mail, phone,
// language, consents) and #history (calls, chats, portal actions, with outcomes). The session is an HttpOnly
// cookie the page never sees; changes send the cti_portal_csrf cookie's value as X-CSRF-Token. Nobody is a staff
// user here: the language is the one chosen on this page (remembered in this browser), else the browser's, else
// Bahasa Indonesia. Texts come from the catalogues (common and portal) and are set with textContent only; times are
// shown, and typed, in Jakarta time (WIB) as the rest of cti shows them.
import { ApiError } from "/ui/cti.js";
import { errorText, fmt, has, language, loadCatalogs, onLanguageChange, setLanguage, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
const PANELS = ["summary", "orders", "order", "callback", "details", "history"];
// The consents the customer sets here (GET/PATCH /api/portal/preferences), each a checkbox `pref-<name>`.
const CONSENTS = ["phone_calls", "email", "marketing_calls", "data_sharing", "surveys"];
let address = "";
let shown = null;  // {me, account}: what the summary shows, rendered again when the language changes
const data = { orders: null, order: null, callbacks: null, preferences: null, history: null };

function csrf() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "cti_portal_csrf") return decodeURIComponent(value.join("="));
  }
  return null;
}

async function call(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = csrf();
  if (method !== "GET" && token) headers["X-CSRF-Token"] = token;
  const response = await fetch(path, { method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body) });
  let answer = {};
  try { answer = await response.json(); } catch { /* no body */ }
  if (!response.ok) {
    const error = answer.error || {};
    throw new ApiError(response.status, error.message || response.statusText, error.code || null, error.params || {});
  }
  return answer;
}

// The customer's words for an error: the portal's own sentence for a code when it has one (the console's speak to
// agents about "the customer"), else the console's.
function say(error) {
  const code = error && error.code;
  if (code && has(`portal.error.${code}`)) return t(`portal.error.${code}`, error.params || {});
  return errorText(error);
}

function notice(message) { $("notice").textContent = message || ""; }

function markLanguage() {
  for (const lang of ["id", "en"]) $(`lang-${lang}`).setAttribute("aria-pressed", String(lang === language()));
}

function item(...parts) {
  const li = document.createElement("li");
  li.append(...parts);
  return li;
}

function span(text, className) {
  const s = document.createElement("span");
  if (className) s.className = className;
  s.textContent = text;
  return s;
}

function label(prefix, code) {
  if (!code) return "";
  return has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : code;
}

// -- signing in --------------------------------------------------------------------------------------------------
function showSignIn() {
  shown = null;
  for (const key of Object.keys(data)) data[key] = null;
  $("account").hidden = true;
  $("signin").hidden = false;
  $("address-form").hidden = false;
  $("code-form").hidden = true;
}

async function sendCode(event) {
  event.preventDefault();
  notice("");
  address = $("address").value.trim();
  if (!address) { notice(t("portal.signin.missing_address")); $("address").focus(); return; }
  $("send-code").disabled = true;
  try {
    await call("/api/portal/code", { method: "POST", body: { address, language: language() } });
    $("address-form").hidden = true;
    $("code-form").hidden = false;
    $("code").value = "";
    $("code").focus();
  } catch (error) {
    notice(say(error));
  } finally {
    $("send-code").disabled = false;
  }
}

async function submitCode(event) {
  event.preventDefault();
  notice("");
  const code = $("code").value.trim();
  if (!/^[0-9]{6}$/.test(code)) { notice(t("portal.signin.code_format")); $("code").focus(); return; }
  $("submit-code").disabled = true;
  try {
    const me = await call("/api/portal/session", { method: "POST", body: { address, code } });
    await showAccount(me);
  } catch (error) {
    notice(say(error));
    $("code").select();
  } finally {
    $("submit-code").disabled = false;
  }
}

async function signOut() {
  notice("");
  try {
    await call("/api/portal/session", { method: "DELETE" });
  } catch (error) {
    notice(say(error));
    return;
  }
  history.replaceState(null, "", location.pathname);
  showSignIn();
  $("address").focus();
}

// A call that finds the session over (idle, signed out elsewhere): back to signing in, saying why.
async function guarded(work) {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      showSignIn();
      notice(say(error));
      return undefined;
    }
    notice(say(error));
    return undefined;
  }
}

// -- the summary -------------------------------------------------------------------------------------------------
function orderItem(order) {
  const link = document.createElement("a");
  link.href = `#order/${order.order_number}`;
  link.textContent = t("portal.order.number", { number: order.order_number });
  link.setAttribute("aria-label", t("portal.order.track", { number: order.order_number }));
  const status = span(t(`portal.order.status.${order.status}`), "status");
  status.dataset.status = order.status;
  const shipment = order.shipment_status ? span(label("portal.shipment", order.shipment_status), "muted") : "";
  return item(link, status, span(t("portal.order.placed", { date: fmt.date(order.placed_at) }), "muted"),
    span(fmt.money(order.total)), shipment);
}

function invoiceItem(invoice) {
  const li = item(span(t("portal.invoice.number", { number: invoice.invoice_number })),
    span(label("portal.invoice.state", invoice.state), "status"),
    span(t("portal.invoice.amount", { amount: fmt.money(invoice.amount) })),
    span(invoice.state === "paid" ? t("portal.invoice.paid_on", { date: fmt.date(invoice.paid_at) })
      : t("portal.invoice.due_by", { amount: fmt.money(invoice.due), date: fmt.date(invoice.due_date) }), "muted"));
  li.dataset.state = invoice.state;
  return li;
}

function renderSummary() {
  if (!shown) return;
  const { me, account } = shown;
  $("greeting").textContent = t("portal.account.greeting", { name: me.name });
  $("customer-id").textContent = me.customer_id;
  $("customer-email").textContent = me.email || t("portal.account.none");
  $("customer-phones").replaceChildren(...(me.phones.length ? me.phones : [t("portal.account.none")]).map((text) => span(text)));
  $("balance").textContent = Number(account.balance_due) > 0
    ? t("portal.account.balance_due", { amount: fmt.money(account.balance_due), invoices: account.unpaid_invoices })
    : t("portal.account.nothing_due");
  $("next-due").hidden = !account.next_due_date;
  $("next-due").textContent = account.next_due_date ? t("portal.account.next_due", { date: fmt.date(account.next_due_date) }) : "";
  $("invoices").replaceChildren(...(account.invoices || []).map(invoiceItem));
  $("orders").replaceChildren(...account.orders.map(orderItem));
  $("no-orders").hidden = account.orders.length > 0;
}

async function showAccount(me) {
  const account = await call("/api/portal/account");
  shown = { me, account };
  $("signin").hidden = true;
  $("account").hidden = false;
  renderSummary();
  await route();
}

// -- orders ------------------------------------------------------------------------------------------------------
function renderOrders() {
  if (!data.orders) return;
  $("all-orders").replaceChildren(...data.orders.map(orderItem));
  $("no-all-orders").hidden = data.orders.length > 0;
}

function renderOrder() {
  const order = data.order;
  if (!order) return;
  $("order-heading").textContent = t("portal.order.number", { number: order.order_number });
  $("order-status").textContent = [t(`portal.order.status.${order.status}`),
    label("portal.shipment", order.shipment_status)].filter(Boolean).join(" · ");
  $("order-placed").textContent = fmt.dateTime(order.placed_at);
  $("order-total").textContent = fmt.money(order.total);
  $("order-carrier").textContent = order.carrier
    ? [order.carrier, order.tracking_number].filter(Boolean).join(" ") : t("portal.account.none");
  $("order-items").replaceChildren(...order.items.map((i) =>
    item(t("portal.order.item", { quantity: i.quantity, name: i.name ? (i.name[language()] || i.name.id) : i.sku }))));
  $("order-steps").replaceChildren(...order.steps.map((s) => {
    const li = item(span(label("portal.step", s.step), "step"), span(fmt.dateTime(s.at), "muted"),
      span(s.location || "", "muted"));
    li.dataset.step = s.step;
    return li;
  }));
  $("no-steps").hidden = order.steps.length > 0;
  $("order-invoices").replaceChildren(...order.invoices.map(invoiceItem));
}

// -- callbacks ---------------------------------------------------------------------------------------------------
function renderCallbackForm() {
  if (!shown) return;
  const select = $("callback-phone");
  const chosen = select.value;
  select.replaceChildren(...shown.me.phones.map((phone, index) => {
    const option = document.createElement("option");
    option.value = String(index);
    option.textContent = phone;
    return option;
  }));
  if (chosen) select.value = chosen;
  $("callback-help").textContent = t("portal.callback.help");
}

function renderCallbacks() {
  if (!data.callbacks) return;
  $("callbacks").replaceChildren(...data.callbacks.map((c) => {
    const status = span(t(`portal.callback.status.${c.status}`), "status");
    status.dataset.status = c.status;
    const li = item(span(t("portal.callback.due", { when: fmt.dateTime(c.due_at) })), status,
      span(c.phone || "", "muted"));
    if (c.can_cancel) {
      const cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "quiet";
      cancel.textContent = t("portal.callback.cancel");
      cancel.setAttribute("aria-label", t("portal.callback.cancel_at", { when: fmt.dateTime(c.due_at) }));
      cancel.addEventListener("click", () => cancelCallback(c.callback_id));
      li.append(cancel);
    }
    return li;
  }));
  $("no-callbacks").hidden = data.callbacks.length > 0;
}

async function loadCallbacks() {
  const answer = await guarded(() => call("/api/portal/callbacks"));
  if (answer) { data.callbacks = answer.callbacks; renderCallbacks(); }
}

function chosenTime() {
  const when = document.querySelector('input[name="when"]:checked').value;
  if (when === "asap") return { at: null };
  const day = $("callback-date").value;
  const clock = $("callback-clock").value;
  if (!day || !clock) return { missing: true };
  return { at: `${day}T${clock}:00+07:00` };  // typed in Jakarta time, as the page shows times
}

async function requestCallback(event) {
  event.preventDefault();
  notice("");
  $("callback-done").textContent = "";
  const time = chosenTime();
  if (time.missing) { notice(t("portal.callback.missing_time")); $("callback-date").focus(); return; }
  const topic = $("callback-topic").value.trim();
  $("callback-submit").disabled = true;
  try {
    const body = { at: time.at, phone_index: Number($("callback-phone").value || 0) };
    if (topic) body.topic = topic;
    const made = await guarded(() => call("/api/portal/callbacks", { method: "POST", body }));
    if (made) {
      $("callback-done").textContent = t("portal.callback.done", { when: fmt.dateTime(made.due_at) });
      $("callback-topic").value = "";
      await loadCallbacks();
    }
  } finally {
    $("callback-submit").disabled = false;
  }
}

async function cancelCallback(callbackId) {
  notice("");
  const done = await guarded(() => call(`/api/portal/callbacks/${encodeURIComponent(callbackId)}`, { method: "DELETE" }));
  if (done) {
    $("callback-done").textContent = t("portal.callback.cancelled");
    await loadCallbacks();
  }
}

// -- details and preferences -------------------------------------------------------------------------------------
function renderPreferences() {
  const prefs = data.preferences;
  if (!prefs) return;
  $("pref-language").value = prefs.language;
  for (const name of CONSENTS) $(`pref-${name}`).checked = prefs.consent[name];
}

async function changeDetails(event) {
  event.preventDefault();
  notice("");
  $("details-done").textContent = "";
  const body = {};
  const email = $("new-email").value.trim();
  const phone = $("new-phone").value.trim();
  if (email) body.email = email;
  if (phone) body.phone = phone;
  if (!email && !phone) { notice(t("portal.details.nothing")); $("new-email").focus(); return; }
  $("details-submit").disabled = true;
  try {
    const me = await guarded(() => call("/api/portal/details", { method: "PATCH", body }));
    if (me) {
      shown.me = me;
      renderSummary();
      renderCallbackForm();
      $("new-email").value = "";
      $("new-phone").value = "";
      $("details-done").textContent = t("portal.details.saved");
    }
  } finally {
    $("details-submit").disabled = false;
  }
}

async function changePreferences(event) {
  event.preventDefault();
  notice("");
  $("details-done").textContent = "";
  const body = { language: $("pref-language").value };
  for (const name of CONSENTS) body[name] = $(`pref-${name}`).checked;
  $("preferences-submit").disabled = true;
  try {
    const prefs = await guarded(() => call("/api/portal/preferences", { method: "PATCH", body }));
    if (prefs) {
      data.preferences = prefs;
      renderPreferences();
      $("details-done").textContent = t("portal.preferences.saved");
    }
  } finally {
    $("preferences-submit").disabled = false;
  }
}

// -- history -----------------------------------------------------------------------------------------------------
function renderHistory() {
  if (!data.history) return;
  $("history").replaceChildren(...data.history.map((c) => {
    const what = c.action ? t(`portal.action.${c.action}`, { subject: c.subject || "" }) : label("portal.reason", c.reason);
    const outcome = c.outcome && c.outcome !== "self_service" ? label("disposition", c.outcome) : "";
    const li = item(span(fmt.dateTime(c.at), "muted"), span(label("channel", c.channel), "status"), span(what),
      outcome ? span(outcome, "muted") : "");
    li.dataset.channel = c.channel;
    return li;
  }));
  $("no-history").hidden = data.history.length > 0;
}

// -- panels ------------------------------------------------------------------------------------------------------
function panelOf(hash) {
  const [name, arg] = hash.replace(/^#/, "").split("/");
  if (name === "order" && /^[0-9]{1,32}$/.test(arg || "")) return { name, arg };
  return { name: PANELS.includes(name) && name !== "order" ? name : "summary", arg: null };
}

async function route() {
  if (!shown) return;
  notice("");
  const { name, arg } = panelOf(location.hash);
  for (const panel of PANELS) $(`panel-${panel}`).hidden = panel !== name;
  for (const link of document.querySelectorAll("#tabs a")) {
    const current = link.dataset.panel === name || (name === "order" && link.dataset.panel === "orders");
    if (current) link.setAttribute("aria-current", "page"); else link.removeAttribute("aria-current");
  }
  if (name === "orders") {
    const answer = await guarded(() => call("/api/portal/orders"));
    if (answer) { data.orders = answer.orders; renderOrders(); }
  } else if (name === "order") {
    data.order = null;
    $("order-heading").textContent = t("portal.order.number", { number: arg });
    const answer = await guarded(() => call(`/api/portal/orders/${arg}`));
    if (answer) { data.order = answer; renderOrder(); }
  } else if (name === "callback") {
    renderCallbackForm();
    await loadCallbacks();
  } else if (name === "details") {
    const answer = await guarded(() => call("/api/portal/preferences"));
    if (answer) { data.preferences = answer; renderPreferences(); }
  } else if (name === "history") {
    const answer = await guarded(() => call("/api/portal/history"));
    if (answer) { data.history = answer.contacts; renderHistory(); }
  } else {
    const account = await guarded(() => call("/api/portal/account"));
    if (account && shown) { shown.account = account; renderSummary(); }
  }
}

function renderAll() {
  markLanguage();
  renderSummary();
  renderOrders();
  renderOrder();
  renderCallbackForm();
  renderCallbacks();
  renderHistory();
}

async function start() {
  await loadCatalogs(["portal"], { anonymous: true });
  markLanguage();
  onLanguageChange(renderAll);
  for (const lang of ["id", "en"]) $(`lang-${lang}`).addEventListener("click", () => setLanguage(lang));
  $("address-form").addEventListener("submit", sendCode);
  $("code-form").addEventListener("submit", submitCode);
  $("other-address").addEventListener("click", () => { showSignIn(); $("address").focus(); });
  $("sign-out").addEventListener("click", signOut);
  $("callback-form").addEventListener("submit", requestCallback);
  for (const radio of document.querySelectorAll('input[name="when"]')) {
    radio.addEventListener("change", () => { $("callback-time").hidden = radio.value === "asap" && radio.checked; });
  }
  $("details-form").addEventListener("submit", changeDetails);
  $("preferences-form").addEventListener("submit", changePreferences);
  window.addEventListener("hashchange", route);
  try {
    await showAccount(await call("/api/portal/me"));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) notice(say(error));
    showSignIn();
  }
}

start();
