// The administrators' users page: every user in a sortable, filterable table; create a user (the token is
// shown once, in the one box on the page that may hold a token), set or reset a password (with a suggestion made
// in this browser), disable or enable, a supervisor's queues and teams, a new token, delete. Every refusal of the
// server is said in an alert region; nothing is built from data as HTML (el() and textContent only).
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const MIN_PASSWORD = 10;  // the server's rule (cti.services.MIN_PASSWORD); it refuses shorter ones too
const SUGGESTED_LENGTH = 16;
// No look-alikes (0/O, 1/l/I) in a password that is read out or typed from a note.
const ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!";
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

const $ = (id) => document.getElementById(id);
let users = [];
let me = null;
let sort = { key: "name", dir: 1 };

// -- messages ---------------------------------------------------------------------------------------------------
function notify(text) {
  const node = $("notice");
  node.textContent = text;
}

function refusalText(error) {
  if (!(error instanceof ApiError)) return t("users.refused.network", { message: errorText(error) });
  const known = { 400: "invalid", 403: "forbidden", 404: "notfound", 409: "conflict", 422: "invalid", 429: "busy" };
  const kind = known[error.status] || "other";
  return t(`users.refused.${kind}`, { status: error.status, message: errorText(error) });
}

// A refusal goes to the given alert region (a dialog's, or the page's); 401 sends the admin to sign in again.
function refuse(error, region = $("refusal")) {
  if (error instanceof ApiError && error.status === 401 && handleApiError(error, "roles.admins")) return;
  region.textContent = refusalText(error);
}

function clearRefusal() {
  $("refusal").textContent = "";
}

// -- the list ---------------------------------------------------------------------------------------------------
function scopeText(user) {
  if (user.role !== "supervisor") return "";
  if (!user.scope) return t("users.scope.everything");
  const queues = user.scope.queues || [];
  const teams = user.scope.teams || [];
  if (!queues.length && !teams.length) return t("users.scope.nothing");
  const parts = [];
  if (queues.length) parts.push(t("users.scope.queuesof", { list: queues.join(", ") }));
  if (teams.length) parts.push(t("users.scope.teamsof", { list: teams.join(", ") }));
  return parts.join(" · ");
}

function expiryText(user) {
  if (!user.token_expires_at) return t("users.expires.never");
  const when = fmt.dateTime(user.token_expires_at);
  return new Date(user.token_expires_at) <= new Date() ? t("users.expires.past", { when }) : when;
}

const SORT_VALUE = {
  name: (u) => u.name.toLowerCase(),
  role: (u) => t(`role.${u.role}`),
  agent_id: (u) => u.agent_id || "",
  state: (u) => (u.disabled ? 1 : 0),
  scope: (u) => scopeText(u),
  token_expires_at: (u) => u.token_expires_at || "9999",
};

function visibleUsers() {
  const text = $("filter-text").value.trim().toLowerCase();
  const role = $("filter-role").value;
  const state = $("filter-state").value;
  const value = SORT_VALUE[sort.key];
  return users
    .filter((u) => !role || u.role === role)
    .filter((u) => !state || (state === "disabled") === u.disabled)
    .filter((u) => !text || [u.name, u.agent_id || "", scopeText(u)].some((s) => s.toLowerCase().includes(text)))
    .sort((a, b) => {
      const x = value(a);
      const y = value(b);
      const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
      return sort.dir * (order || a.name.localeCompare(b.name));
    });
}

function actionButton(action, user, label, extra = {}) {
  return el("button", { type: "button", class: "secondary", "data-action": action, "data-user": user.name,
    "aria-label": t(`users.action.${action}.label`, { name: user.name }), ...extra }, label);
}

function row(user) {
  const self = me && me.name === user.name;
  return el("tr", { "data-user": user.name },
    el("th", { scope: "row" }, user.name, self ? el("span", { class: "muted" }, ` (${t("users.you")})`) : null),
    el("td", {}, t(`role.${user.role}`)),
    el("td", {}, user.agent_id || "–"),
    el("td", {}, el("span", { class: `badge ${user.disabled ? "disabled" : "enabled"}` },
      t(user.disabled ? "users.state.disabled" : "users.state.enabled"))),
    el("td", {}, scopeText(user) || "–"),
    el("td", {}, expiryText(user)),
    el("td", {}, el("div", { class: "actions" },
      actionButton("password", user, t("users.action.password")),
      user.disabled ? actionButton("enable", user, t("users.action.enable"))
        : actionButton("disable", user, t("users.action.disable")),
      user.role === "supervisor" ? actionButton("scope", user, t("users.action.scope")) : null,
      actionButton("rotate", user, t("users.action.rotate")),
      actionButton("delete", user, t("users.action.delete")))));
}

function render() {
  const shown = visibleUsers();
  $("users").tBodies[0].replaceChildren(...shown.map(row));
  for (const th of document.querySelectorAll("#users th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort === sort.key ? (sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  $("count").textContent = t("users.count", { shown: shown.length, total: users.length });
}

async function load() {
  const [list, agents] = await Promise.all([
    api("/api/users"),
    api("/api/agents").catch(() => ({ agents: [] })),  // only the agent ids' suggestions
  ]);
  users = list.users;
  $("agent-ids").replaceChildren(...agents.agents.map((a) => el("option", { value: a.agent_id }, a.name || a.agent_id)));
  render();
}

// Focus after the table was drawn again: the same button of the same user, else the list's heading.
function focusAction(action, name) {
  const button = [...document.querySelectorAll("#users button[data-action]")]
    .find((b) => b.dataset.action === action && b.dataset.user === name);
  const fallback = [...document.querySelectorAll("#users button[data-action]")].find((b) => b.dataset.user === name);
  (button || fallback || $("list-title")).focus();
}

// -- the one place a token is shown ------------------------------------------------------------------------------
let tokenReturn = null;
let tokenName = "";

function showToken(name, token, returnTo) {
  tokenReturn = returnTo;
  tokenName = name;
  $("token-title").textContent = t("users.token.title", { name });
  $("token-value").value = token;
  $("token-copied").textContent = "";
  $("token-box").hidden = false;
  $("token-title").focus();
}

function hideToken() {
  $("token-value").value = "";  // gone from the page: it cannot be shown again
  $("token-box").hidden = true;
  const back = tokenReturn;
  tokenReturn = null;
  if (back) back();
}

async function copyToken() {
  const input = $("token-value");
  input.select();
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    copied = document.execCommand && document.execCommand("copy");  // plain http: the selection instead
  }
  $("token-copied").textContent = t(copied ? "users.token.copied" : "users.token.copyfailed");
}

// One request of a form at a time: a second press while the first is on its way does nothing.
let pending = false;
function begin() {
  if (pending) return false;
  pending = true;
  return true;
}
function end() { pending = false; }

// -- dialogs ----------------------------------------------------------------------------------------------------
// A dialog is modal (Escape closes it); when it closes, focus goes where afterClose says (the button that opened
// it, found again in the redrawn table).
function openDialog(dialog, afterClose) {
  for (const region of dialog.querySelectorAll("[role=alert], [role=status]")) region.textContent = "";
  dialog.addEventListener("close", () => afterClose(), { once: true });
  dialog.showModal();
}

export function suggestPassword(length = SUGGESTED_LENGTH) {
  // Uniform over the alphabet: bytes at or above the largest multiple of its length are drawn again.
  const limit = 256 - (256 % ALPHABET.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += ALPHABET[byte % ALPHABET.length];
    }
  }
  return out;
}

function askPassword(user) {
  const dialog = $("password-dialog");
  $("password-title").textContent = t("users.password.title", { name: user.name });
  $("password-hint").textContent = t("users.password.hint", { min: MIN_PASSWORD, name: user.name });
  $("password-value").value = "";
  $("password-value").type = "password";
  $("password-show").checked = false;
  openDialog(dialog, () => focusAction("password", user.name));
  dialog.dataset.user = user.name;
  $("password-value").focus();
}

async function savePassword(event) {
  event.preventDefault();
  const dialog = $("password-dialog");
  const name = dialog.dataset.user;
  const password = $("password-value").value;
  if (password.length < MIN_PASSWORD) {
    $("password-error").textContent = t("users.password.short", { min: MIN_PASSWORD });
    $("password-value").focus();
    return;
  }
  if (!begin()) return;
  try {
    await api(`/api/users/${encodeURIComponent(name)}/password`, { method: "PUT", body: { password } });
  } catch (error) {
    refuse(error, $("password-error"));
    return;
  } finally {
    end();
  }
  $("password-value").value = "";
  clearRefusal();
  notify(t("users.password.done", { name }));
  dialog.close();
}

function askScope(user) {
  const dialog = $("scope-dialog");
  $("scope-title").textContent = t("users.scope.title", { name: user.name });
  $("scope-queues").value = ((user.scope && user.scope.queues) || []).join(", ");
  $("scope-teams").value = ((user.scope && user.scope.teams) || []).join(", ");
  dialog.dataset.user = user.name;
  openDialog(dialog, () => focusAction("scope", user.name));
  $("scope-queues").focus();
}

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);

async function saveScope(event) {
  event.preventDefault();
  const body = { queues: list($("scope-queues").value), teams: list($("scope-teams").value) };
  await changeScope({ method: "PUT", body }, "users.scope.done");
}

// No scope at all (every queue and team), which empty lists cannot say: they mean none.
async function clearScope() {
  await changeScope({ method: "DELETE" }, "users.scope.cleared");
}

async function changeScope(request, done) {
  const dialog = $("scope-dialog");
  const name = dialog.dataset.user;
  if (!begin()) return;
  try {
    await api(`/api/users/${encodeURIComponent(name)}/scope`, request);
  } catch (error) {
    refuse(error, $("scope-error"));
    return;
  } finally {
    end();
  }
  await load().catch((error) => refuse(error));
  clearRefusal();
  notify(t(done, { name }));
  dialog.close();
}

// What each confirmed action asks the server, and what the page says and does once it is done.
const CONFIRMED = {
  disable: { danger: true, call: (n) => api(`/api/users/${n}/disable`, { method: "POST" }) },
  enable: { danger: false, call: (n) => api(`/api/users/${n}/enable`, { method: "POST" }) },
  rotate: { danger: true, call: (n) => api(`/api/users/${n}/token`, { method: "POST" }) },
  delete: { danger: true, call: (n) => api(`/api/users/${n}`, { method: "DELETE" }) },
};

let confirming = null;

function askConfirm(action, user) {
  const dialog = $("confirm-dialog");
  confirming = { action, name: user.name, done: false, token: null };
  $("confirm-title").textContent = t(`users.confirm.${action}.title`, { name: user.name });
  $("confirm-text").textContent = t(`users.confirm.${action}.text`, { name: user.name });
  const yes = $("confirm-yes");
  yes.textContent = t(`users.confirm.${action}.yes`);
  yes.className = CONFIRMED[action].danger ? "danger" : "";
  openDialog(dialog, () => {
    const { done, token, name } = confirming;
    confirming = null;
    if (done && token) showToken(name, token, () => focusAction(action, name));
    else if (done && action === "delete") $("list-title").focus();
    else focusAction(action === "disable" && done ? "enable" : action === "enable" && done ? "disable" : action, name);
  });
  $("confirm-dialog").querySelector("button.cancel").focus();  // the safe choice has the focus
}

async function confirmed(event) {
  event.preventDefault();
  const current = confirming;
  if (!current || current.busy) return;
  const { action, name } = current;
  let answer;
  current.busy = true;
  try {
    answer = await CONFIRMED[action].call(encodeURIComponent(name));
  } catch (error) {
    refuse(error, $("confirm-error"));
    return;
  } finally {
    current.busy = false;
  }
  clearRefusal();
  notify(t(`users.confirm.${action}.done`, { name }));
  await load().catch((error) => refuse(error));  // done on the server whatever the list says
  const token = action === "rotate" ? answer.token : null;
  if (confirming === current) {
    Object.assign(current, { done: true, token });
    $("confirm-dialog").close();
  } else if (token) {
    showToken(name, token, () => focusAction(action, name));  // the dialog was closed meanwhile: still shown once
  }
}

// -- creating a user --------------------------------------------------------------------------------------------
function roleChanged() {
  const agent = $("create-role").value === "agent";
  $("create-agent-label").hidden = !agent;
  $("create-agent").required = agent;
  if (!agent) $("create-agent").value = "";
}

async function create(event) {
  event.preventDefault();
  clearRefusal();
  notify("");
  const name = $("create-name").value.trim();
  const role = $("create-role").value;
  const agentId = $("create-agent").value.trim();
  const invalid = (key, field) => {
    $("refusal").textContent = t(key);
    field.setAttribute("aria-invalid", "true");
    field.focus();
  };
  $("create-name").removeAttribute("aria-invalid");
  $("create-agent").removeAttribute("aria-invalid");
  if (!NAME_PATTERN.test(name)) return invalid("users.create.badname", $("create-name"));
  if (role === "agent" && !NAME_PATTERN.test(agentId)) return invalid("users.create.needagent", $("create-agent"));
  let answer;
  if (!begin()) return;
  try {
    answer = await api("/api/users", { method: "POST",
      body: { name, role, agent_id: role === "agent" ? agentId : null } });
  } catch (error) {
    refuse(error);
    return;
  } finally {
    end();
  }
  $("create").reset();
  roleChanged();
  notify(t("users.create.done", { name: answer.user.name }));
  await load().catch(refuse);
  showToken(answer.user.name, answer.token, () => $("create-name").focus());
}

// -- wiring -----------------------------------------------------------------------------------------------------
function onTableClick(event) {
  const button = event.target.closest("button");
  if (!button) return;
  const th = button.closest("th[data-sort]");
  if (th) {
    sort = { key: th.dataset.sort, dir: sort.key === th.dataset.sort ? -sort.dir : 1 };
    render();
    th.querySelector("button").focus();
    return;
  }
  const user = users.find((u) => u.name === button.dataset.user);
  if (!user) return;
  notify("");
  if (button.dataset.action === "password") askPassword(user);
  else if (button.dataset.action === "scope") askScope(user);
  else askConfirm(button.dataset.action, user);
}

const user = await startPage({ page: "users", roles: ["admin"], rolesLabel: "roles.admins" });
if (user) {
  me = user;
  $("users-page").hidden = false;
  $("create").addEventListener("submit", create);
  $("create-role").addEventListener("change", roleChanged);
  for (const id of ["filter-text", "filter-role", "filter-state"]) $(id).addEventListener("input", render);
  $("users").addEventListener("click", onTableClick);
  $("token-copy").addEventListener("click", copyToken);
  $("token-done").addEventListener("click", hideToken);
  $("password-form").addEventListener("submit", savePassword);
  $("password-suggest").addEventListener("click", () => {
    $("password-value").value = suggestPassword();
    $("password-value").type = "text";  // a suggestion is to be read and passed on
    $("password-show").checked = true;
    $("password-error").textContent = "";
    $("password-note").textContent = t("users.password.suggested");
    $("password-value").focus();
    $("password-value").select();
  });
  $("password-show").addEventListener("change", () => {
    $("password-value").type = $("password-show").checked ? "text" : "password";
  });
  $("scope-form").addEventListener("submit", saveScope);
  $("scope-everything").addEventListener("click", clearScope);
  $("confirm-form").addEventListener("submit", confirmed);
  for (const button of document.querySelectorAll("dialog button.cancel")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  onLanguageChange(() => {
    render();
    if (!$("token-box").hidden) $("token-title").textContent = t("users.token.title", { name: tokenName });
  });
  roleChanged();
  try {
    await load();
  } catch (error) {
    if (!handleApiError(error, "roles.admins")) refuse(error);
  }
}
