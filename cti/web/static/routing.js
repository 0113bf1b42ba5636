// The administrators' routing rules page: the rules in force in tables (queues, escalation steps, routes), and
// the rules file's editor: its YAML text as it is on disk (comments kept), checked by the server (every problem by
// field) and saved (written, kept as .bak, put in force) — or, when the rules come from the settings, why they
// cannot be edited here. Nothing is built from data as HTML (el() and textContent only).
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, has, locale, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
let rules = null;
let file = null;        // {path, text, version, in_force}; null when the rules come from the settings
let fromSettings = false;

// -- messages ---------------------------------------------------------------------------------------------------
function notify(text) {
  $("notice").textContent = text;
  if (text) $("refusal").textContent = "";
}

function refusalText(error) {
  if (!(error instanceof ApiError)) return t("routing.refused.network", { message: String(error && error.message) });
  const known = { 403: "forbidden", 409: "conflict", 422: "invalid", 429: "busy" };
  return t(`routing.refused.${known[error.status] || "other"}`, { status: error.status, message: errorText(error) });
}

function refuse(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)
      && handleApiError(error, "roles.admins")) return;
  $("notice").textContent = "";
  $("refusal").textContent = refusalText(error);
}

// The server's problems, one line each: where (a field such as queues.care.skills, or a line of the YAML) and why.
function showProblems(details) {
  $("problems").replaceChildren(...(details || []).map((d) =>
    el("li", {}, el("code", {}, d.field), ": ", d.problem)));
}

// -- the rules in force -----------------------------------------------------------------------------------------
const DASH = "–";
const num = (value) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(value);
const seconds = (value) => (value === null || value === undefined ? DASH : t("routing.seconds", { n: num(value) }));
const strategyName = (name) => (has(`routing.strategy.${name}`) ? t(`routing.strategy.${name}`) : name);
const attributeName = (name) => (has(`routing.attr.${name}`) ? t(`routing.attr.${name}`) : name);

function overflowText(overflow) {
  if (!overflow) return DASH;
  if (overflow.action === "queue") return t("routing.overflow.queue", { queue: overflow.queue });
  return t("routing.overflow.message", { message: overflow.message });
}

function list(items) {
  return items.length ? el("ul", {}, ...items.map((item) => el("li", {}, ...[item].flat()))) : DASH;
}

function queueRow(queue) {
  const skills = Object.entries(queue.skills).map(([skill, level]) => t("routing.skill", { skill, level }));
  const limits = [];
  if (queue.max_waiting !== null) limits.push(t("routing.limit.waiting", { n: queue.max_waiting }));
  if (queue.max_wait_seconds !== null) limits.push(t("routing.limit.wait", { s: num(queue.max_wait_seconds) }));
  if (queue.balance_sites) limits.push(t("routing.balance_sites"));
  const waiting = [];
  if (queue.announce_seconds) waiting.push(t("routing.announce", { s: num(queue.announce_seconds) }));
  if (queue.callback_key) waiting.push([t("routing.callback"), " ", el("kbd", {}, queue.callback_key)]);
  return el("tr", {},
    el("th", { scope: "row" }, queue.name),
    el("td", {}, list(skills)),
    el("td", {}, strategyName(queue.strategy)),
    el("td", {}, queue.calendar || t("routing.always_open")),
    el("td", {}, seconds(queue.wrap_up_seconds)),
    el("td", {}, list(limits)),
    el("td", {}, overflowText(queue.overflow)),
    el("td", {}, queue.calendar ? overflowText(queue.after_hours) : DASH),
    el("td", {}, list(waiting)));
}

function stepRows(queue) {
  return queue.targets.map((target, index) => el("tr", {},
    el("th", { scope: "row" }, queue.name),
    el("td", {}, String(index + 1)),
    el("td", {}, target.timeout === null ? t("routing.until_taken") : seconds(target.timeout)),
    el("td", {}, t(`routing.region.${target.region}`)),
    el("td", {}, t(`routing.language.${target.language}`)),
    el("td", {}, target.min_level === null ? DASH : String(target.min_level)),
    el("td", {}, target.team || t("routing.any_team")),
    el("td", {}, target.overflow || DASH)));
}

function routeRow(route, index) {
  const conditions = Object.entries(route.when).map(([name, values]) =>
    [el("span", {}, attributeName(name)), ": ", el("code", {}, values.join(", "))]);
  return el("tr", {},
    el("td", {}, String(index + 1)),
    el("th", { scope: "row" }, route.name),
    el("td", {}, conditions.length ? list(conditions) : t("routing.every_call")),
    el("td", {}, route.queue),
    el("td", {}, String(route.priority)));
}

function renderRules() {
  if (!rules) return;
  const queues = Object.values(rules.queues);
  $("default-queue").textContent = rules.default_queue;
  $("default-region").textContent = rules.default_region || DASH;
  $("queues").tBodies[0].replaceChildren(...queues.map(queueRow));
  $("steps").tBodies[0].replaceChildren(...queues.flatMap(stepRows));
  $("routes").tBodies[0].replaceChildren(...rules.routes.map(routeRow));
  const calendars = Object.keys(rules.calendars);
  $("calendars").textContent = calendars.length ? t("routing.calendars", { list: calendars.join(", ") }) : "";
}

function renderSource() {
  if (fromSettings) {
    $("source").textContent = t("routing.source.settings");
    $("drift").textContent = "";
    $("editor").hidden = true;
    $("reload").hidden = true;
    return;
  }
  $("source").replaceChildren(t("routing.source.file"), " ", el("code", { id: "rules-path" }, file.path));
  $("drift").textContent = file.in_force ? "" : t("routing.drift");
  $("editor").hidden = false;
  $("reload").hidden = false;
}

async function load({ keepText = false } = {}) {
  rules = await api("/api/routing");
  try {
    file = await api("/api/routing/file");
    fromSettings = false;
    if (!keepText) $("rules-text").value = file.text;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 409)) throw error;
    file = null;
    fromSettings = true;
  }
  renderSource();
  renderRules();
}

// -- the editor -------------------------------------------------------------------------------------------------
async function check() {
  showProblems([]);
  try {
    const checked = await api("/api/routing/check", { method: "POST", body: { text: $("rules-text").value } });
    notify(t("routing.checked", { queues: Object.keys(checked.queues).length, routes: checked.routes.length }));
  } catch (error) {
    failed(error);
  }
}

async function save() {
  showProblems([]);
  try {
    const saved = await api("/api/routing", { method: "PUT",
      body: { text: $("rules-text").value, version: file.version } });
    await load();
    notify(t("routing.saved", { queues: Object.keys(saved.queues).length, routes: saved.routes.length }));
  } catch (error) {
    failed(error);
  }
}

async function reload() {
  showProblems([]);
  try {
    await api("/api/routing/reload", { method: "POST" });
    await load();
    notify(t("routing.reloaded"));
  } catch (error) {
    failed(error);
  }
}

function failed(error) {
  if (error instanceof ApiError && error.status === 422 && error.details) {
    $("notice").textContent = "";
    $("refusal").textContent = t("routing.invalid", { n: error.details.length });
    showProblems(error.details);
    return;
  }
  refuse(error);
}

const user = await startPage({ page: "routing", roles: ["admin"], rolesLabel: "roles.admins" });
if (user) {
  $("routing-page").hidden = false;
  $("check").addEventListener("click", check);
  $("save").addEventListener("click", save);
  $("reload").addEventListener("click", reload);
  $("revert").addEventListener("click", () => {
    if (file) $("rules-text").value = file.text;
    showProblems([]);
    notify(t("routing.reverted"));
  });
  onLanguageChange(() => { renderSource(); renderRules(); });
  try {
    await load();
  } catch (error) {
    if (!handleApiError(error, "roles.admins")) refuse(error);
  }
}
