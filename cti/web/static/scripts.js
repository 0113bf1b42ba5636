// The supervisors' call scripts page: the scripts (title, active and latest version), one script's versions (who
// saved each and when), the chosen version's definition in an editor (JSON, the body PUT /api/scripts/{id} takes),
// saving it as a new version (the server checks it whole and lists every problem when it refuses), and activating
// a version. Both changes are confirmed first, in the page's language. Nothing is built from data as HTML.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, language, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
let summaries = [];
let chosen = null;      // the script's id
let versions = [];      // of the chosen script, oldest first (as the API gives them)
let shown = null;       // the version whose definition is in the editor: {version, definition, ...}
let lastError = null;   // said again after a language switch
let lastNotice = null;  // [key, params]
let lastComplaint = null;  // the page's own refusal (the editor's text is not JSON): its key

// -- messages ---------------------------------------------------------------------------------------------------
function notify(key, params = {}) {
  lastNotice = key ? [key, params] : null;
  lastError = null;
  lastComplaint = null;
  $("notice").textContent = key ? t(key, params) : "";
  $("refusal").textContent = "";
}

function refuse(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)
      && handleApiError(error, "roles.staff")) return;
  lastNotice = null;
  lastError = error;
  lastComplaint = null;
  $("notice").textContent = "";
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("scripts.network");
}

function complain(key) {
  notify(null);
  lastComplaint = key;
  $("refusal").textContent = t(key);
}

// The server's problems, one line each, as it says them: where (steps.hello.text.en) and why.
function showProblems(details) {
  $("problems").replaceChildren(...(details || []).map((d) =>
    el("li", {}, el("code", {}, d.field), ": ", d.problem)));
}

// -- confirmation -----------------------------------------------------------------------------------------------
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

// -- views ------------------------------------------------------------------------------------------------------
const DASH = "–";
const titleOf = (summary) => (summary && summary.title && (summary.title[language()] || summary.title.id)) || (summary && summary.script_id) || "";
const summaryOf = (scriptId) => summaries.find((s) => s.script_id === scriptId);

function scriptRow(summary) {
  const name = titleOf(summary);
  return el("tr", { "aria-current": summary.script_id === chosen ? "true" : null, "data-script": summary.script_id },
    el("th", { scope: "row" }, name),
    el("td", {}, el("code", {}, summary.script_id)),
    el("td", {}, summary.active_version === null ? t("scripts.none_active") : String(summary.active_version)),
    el("td", {}, String(summary.latest_version)),
    el("td", { class: "actions" }, el("button", {
      type: "button", class: "secondary", "aria-label": t("scripts.open.label", { title: name }),
      onclick: () => choose(summary.script_id).catch(refuse),
    }, t("scripts.open"))));
}

function versionRow(version) {
  const summary = summaryOf(chosen);
  const title = titleOf(summary);
  return el("tr", { "aria-current": shown && shown.version === version.version ? "true" : null,
    "data-version": version.version },
  el("th", { scope: "row" }, String(version.version)),
  el("td", {}, version.author || DASH),
  el("td", {}, fmt.dateTime(version.created_at)),
  el("td", {}, version.active ? t("scripts.state.active") : t("scripts.state.inactive")),
  el("td", { class: "actions" },
    el("button", { type: "button", class: "secondary", "data-action": "show",
      "aria-label": t("scripts.show.label", { version: version.version }),
      onclick: () => showVersion(version.version).catch(refuse) }, t("scripts.show")),
    version.active ? null : el("button", { type: "button", "data-action": "activate",
      "aria-label": t("scripts.activate.label", { version: version.version, title }),
      onclick: () => activate(version.version).catch(refuse) }, t("scripts.activate"))));
}

function render() {
  $("scripts").tBodies[0].replaceChildren(...summaries.map(scriptRow));
  $("empty").hidden = summaries.length > 0;
  $("script").hidden = !chosen;
  if (!chosen) return;
  $("script-title").textContent = t("scripts.script.title", { title: titleOf(summaryOf(chosen)), id: chosen });
  $("versions").tBodies[0].replaceChildren(...[...versions].reverse().map(versionRow));
  $("editor-title").textContent = shown ? t("scripts.editor.title", { version: shown.version }) : "";
}

function renderMessages() {
  if (lastError) refuse(lastError);
  else if (lastComplaint) complain(lastComplaint);
  else if (lastNotice) notify(...lastNotice);
}

// -- loading ----------------------------------------------------------------------------------------------------
async function loadList() {
  summaries = await api("/api/scripts");
  summaries.sort((a, b) => a.script_id.localeCompare(b.script_id));
}

async function showVersion(number) {
  shown = await api(`/api/scripts/${encodeURIComponent(chosen)}?version=${number}`);
  $("definition").value = JSON.stringify(shown.definition, null, 2);
  showProblems([]);
  render();
}

async function loadVersions() {
  versions = await api(`/api/scripts/${encodeURIComponent(chosen)}/versions`);
}

async function choose(scriptId) {
  chosen = scriptId;
  await loadVersions();
  const active = versions.find((v) => v.active) || versions[versions.length - 1];
  if (active) await showVersion(active.version);
  else render();
  $("script-title").focus();
}

// -- changes ----------------------------------------------------------------------------------------------------
async function save() {
  showProblems([]);
  let definition;
  try {
    definition = JSON.parse($("definition").value);
  } catch {
    complain("scripts.badjson");
    return;
  }
  if (definition === null || typeof definition !== "object" || Array.isArray(definition)) {
    complain("scripts.notobject");
    return;
  }
  const next = versions.length ? Math.max(...versions.map((v) => v.version)) + 1 : 1;
  const title = titleOf(summaryOf(chosen));
  if (!await confirmWith(t("scripts.confirm.save.title", { version: next, title }),
    t("scripts.confirm.save.text", { version: next, title }), t("scripts.confirm.save.yes"))) return;
  try {
    const saved = await api(`/api/scripts/${encodeURIComponent(chosen)}`, { method: "PUT",
      body: { definition, activate: false } });
    await loadList();
    await loadVersions();
    await showVersion(saved.version);
    notify("scripts.saved", { version: saved.version });
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.details) showProblems(error.details);
    refuse(error);
  }
}

async function activate(number) {
  const title = titleOf(summaryOf(chosen));
  if (!await confirmWith(t("scripts.confirm.activate.title", { version: number, title }),
    t("scripts.confirm.activate.text", { version: number, title }), t("scripts.confirm.activate.yes"))) return;
  try {
    await api(`/api/scripts/${encodeURIComponent(chosen)}/activate`, { method: "POST", body: { version: number } });
    await loadList();
    await loadVersions();
    render();
    notify("scripts.activated", { version: number, title });
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.details) showProblems(error.details);
    refuse(error);
  }
}

const user = await startPage({ page: "scripts", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("scripts-page").hidden = false;
  $("save").addEventListener("click", () => save().catch(refuse));
  $("revert").addEventListener("click", () => {
    if (shown) $("definition").value = JSON.stringify(shown.definition, null, 2);
    showProblems([]);
    notify("scripts.reverted");
  });
  onLanguageChange(() => { render(); renderMessages(); });
  try {
    await loadList();
    render();
  } catch (error) {
    refuse(error);
  }
}
