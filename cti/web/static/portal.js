// The customer portal: sign in with a one-time code (an e-mail address or a phone number of the CRM, then the
// 6-digit code sent there), then "your account": name, contacts (masked), balance and latest orders. The session is
// an HttpOnly cookie the page never sees; changes send the cti_portal_csrf cookie's value as X-CSRF-Token. Nobody
// is a staff user here: the language is the one chosen on this page (remembered in this browser), else the
// browser's, else Bahasa Indonesia. Texts come from the catalogues (common and portal) and are set with textContent
// only. Later parts of the portal (order tracking, FAQ, callbacks, chat) add their sections to #account.
import { ApiError } from "/ui/cti.js";
import { errorText, fmt, language, loadCatalogs, onLanguageChange, setLanguage, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
let address = "";
let shown = null;  // the customer and account last shown, rendered again when the language changes

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
  let data = {};
  try { data = await response.json(); } catch { /* no body */ }
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(response.status, error.message || response.statusText, error.code || null, error.params || {});
  }
  return data;
}

function notice(message) { $("notice").textContent = message || ""; }

function markLanguage() {
  for (const lang of ["id", "en"]) $(`lang-${lang}`).setAttribute("aria-pressed", String(lang === language()));
}

function showSignIn() {
  shown = null;
  $("account").hidden = true;
  $("signin").hidden = false;
  $("address-form").hidden = false;
  $("code-form").hidden = true;
}

function orderItem(order) {
  const li = document.createElement("li");
  const number = document.createElement("span");
  number.textContent = t("portal.order.number", { number: order.order_number });
  const status = document.createElement("span");
  status.className = "status";
  status.dataset.status = order.status;
  status.textContent = t(`portal.order.status.${order.status}`);
  const placed = document.createElement("span");
  placed.className = "muted";
  placed.textContent = t("portal.order.placed", { date: fmt.date(order.placed_at) });
  const total = document.createElement("span");
  total.textContent = fmt.money(order.total);
  li.append(number, status, placed, total);
  return li;
}

function renderAccount() {
  if (!shown) return;
  const { me, account } = shown;
  $("greeting").textContent = t("portal.account.greeting", { name: me.name });
  $("customer-id").textContent = me.customer_id;
  $("customer-email").textContent = me.email || t("portal.account.none");
  $("customer-phones").replaceChildren(...(me.phones.length ? me.phones : [t("portal.account.none")]).map((text) => {
    const line = document.createElement("span");
    line.textContent = text;
    return line;
  }));
  $("balance").textContent = Number(account.balance_due) > 0
    ? t("portal.account.balance_due", { amount: fmt.money(account.balance_due), invoices: account.unpaid_invoices })
    : t("portal.account.nothing_due");
  $("orders").replaceChildren(...account.orders.map(orderItem));
  $("no-orders").hidden = account.orders.length > 0;
}

async function showAccount(me) {
  const account = await call("/api/portal/account");
  shown = { me, account };
  $("signin").hidden = true;
  $("account").hidden = false;
  renderAccount();
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
    notice(errorText(error));
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
    notice(errorText(error));
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
    notice(errorText(error));
    return;
  }
  showSignIn();
  $("address").focus();
}

async function start() {
  await loadCatalogs(["portal"], { anonymous: true });
  markLanguage();
  onLanguageChange(() => { markLanguage(); renderAccount(); });
  for (const lang of ["id", "en"]) $(`lang-${lang}`).addEventListener("click", () => setLanguage(lang));
  $("address-form").addEventListener("submit", sendCode);
  $("code-form").addEventListener("submit", submitCode);
  $("other-address").addEventListener("click", () => { showSignIn(); $("address").focus(); });
  $("sign-out").addEventListener("click", signOut);
  try {
    await showAccount(await call("/api/portal/me"));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) notice(errorText(error));
    showSignIn();
  }
}

start();
