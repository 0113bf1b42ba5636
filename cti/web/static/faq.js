// The supervisors' FAQ page: the entries (filtered by status, product line and language), an editor for a new
// entry or a new version of one (both languages side by side), publishing, unpublishing, archiving and deleting
// (confirmed), and the public search tried as customers will see it. Answers are shown as text; only what the
// server marks as a link (an https address) becomes one. Nothing is built from data as HTML.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, language, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
const LANGS = ["id", "en"];
const PRODUCTS = ["plan", "addon", "device", "home", "accessory"];
let entries = [];
let editing = null;     // the entry being edited, or {} for a new one, or null
let results = null;     // the last search's hits
let lastError = null;
let lastNotice = null;

function notify(key, params = {}) {
  lastNotice = key ? [key, params] : null;
  lastError = null;
  $("notice").textContent = key ? t(key, params) : "";
  $("refusal").textContent = "";
}

function refuse(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)
      && handleApiError(error, "roles.staff")) return;
  lastNotice = null;
  lastError = error;
  $("notice").textContent = "";
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("faq.network");
}

function showProblems(details) {
  $("problems").replaceChildren(...(details || []).map((d) =>
    el("li", {}, el("code", {}, d.field), ": ", d.code ? t(`error.${d.code}`) : d.problem)));
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
    $("confirm-no").focus();
  });
}

// -- views ------------------------------------------------------------------------------------------------------
const questionOf = (entry) => {
  const text = entry.texts[language()] || entry.texts.id || entry.texts.en;
  return text ? text.question : entry.entry_id;
};
const productName = (line) => (line ? t(`faq.product.${line}`) : t("faq.product.none"));

function action(key, entry, onclick, cls = "secondary") {
  return el("button", { type: "button", class: cls, "data-action": key,
    "aria-label": t(`faq.${key}.label`, { question: questionOf(entry) }), onclick: () => onclick(entry).catch(refuse) },
  t(`faq.${key}`));
}

function entryRow(entry) {
  return el("tr", { "data-entry": entry.entry_id, "aria-current": editing && editing.entry_id === entry.entry_id ? "true" : null },
    el("th", { scope: "row" }, questionOf(entry), " ", el("code", { class: "muted" }, entry.entry_id)),
    el("td", {}, productName(entry.product_line)),
    el("td", { class: "status" }, t(`faq.status.${entry.status}`)),
    el("td", {}, String(entry.version)),
    el("td", {}, `${entry.helpful} / ${entry.not_helpful}`),
    el("td", { class: "actions" },
      action("edit", entry, edit),
      entry.status === "published" ? action("unpublish", entry, (e) => setStatus(e, "draft"))
        : action("publish", entry, (e) => setStatus(e, "published"), ""),
      entry.status === "archived" ? null : action("archive", entry, (e) => setStatus(e, "archived")),
      action("delete", entry, remove, "danger")));
}

function answerNode(parts) {
  return el("p", {}, ...parts.map((part) => (part.kind === "link"
    ? el("a", { href: part.text, rel: "noopener noreferrer", target: "_blank" }, part.text) : part.text)));
}

function render() {
  $("entries").tBodies[0].replaceChildren(...entries.map(entryRow));
  $("empty").hidden = entries.length > 0;
  $("editor").hidden = editing === null;
  if (editing !== null) {
    $("editor-title").textContent = editing.entry_id
      ? t("faq.editor.edit", { id: editing.entry_id, version: editing.version + 1 }) : t("faq.editor.new");
    $("entry-id-label").hidden = Boolean(editing.entry_id);
    $("save").textContent = editing.entry_id ? t("faq.editor.save") : t("faq.editor.create");
  }
  if (results !== null) {
    $("search-summary").textContent = t("faq.search.found", { count: results.length });
    $("results").replaceChildren(...results.map((hit) => el("li", { "data-entry": hit.entry_id },
      el("h3", {}, hit.question), answerNode(hit.answer_parts),
      el("small", { class: "muted" }, t("faq.search.score", { score: hit.score.toFixed(2), product: productName(hit.product_line) })))));
  }
}

function renderMessages() {
  if (lastError) refuse(lastError);
  else if (lastNotice) notify(...lastNotice);
}

// -- loading ----------------------------------------------------------------------------------------------------
async function loadList() {
  const query = new URLSearchParams();
  for (const [name, id] of [["status", "filter-status"], ["product", "filter-product"], ["lang", "filter-lang"]]) {
    if ($(id).value) query.set(name, $(id).value);
  }
  entries = await api(`/api/faq${query.size ? `?${query}` : ""}`);
  render();
}

function fill(entry) {
  editing = entry;
  $("entry-id").value = "";
  $("product").value = entry.product_line || "";
  for (const lang of LANGS) {
    const text = (entry.texts || {})[lang] || { question: "", answer: "", keywords: [] };
    $(`question-${lang}`).value = text.question;
    $(`answer-${lang}`).value = text.answer;
    $(`keywords-${lang}`).value = (text.keywords || []).join("\n");
  }
  showProblems([]);
  render();
  $("editor-title").focus();
}

async function edit(entry) {
  fill(await api(`/api/faq/${encodeURIComponent(entry.entry_id)}`));
}

// -- changes ----------------------------------------------------------------------------------------------------
function draft() {
  const texts = {};
  for (const lang of LANGS) {
    const question = $(`question-${lang}`).value.trim();
    const answer = $(`answer-${lang}`).value.trim();
    const keywords = $(`keywords-${lang}`).value.split("\n").map((k) => k.trim()).filter(Boolean);
    if (question || answer || keywords.length) texts[lang] = { question, answer, keywords };
  }
  return { texts, product_line: $("product").value || null };
}

async function save() {
  showProblems([]);
  const body = draft();
  try {
    let saved;
    if (editing.entry_id) {
      saved = await api(`/api/faq/${encodeURIComponent(editing.entry_id)}`, { method: "PUT", body });
      notify("faq.saved", { id: saved.entry_id, version: saved.version });
    } else {
      const entryId = $("entry-id").value.trim();
      saved = await api("/api/faq", { method: "POST", body: { ...body, entry_id: entryId || null } });
      notify("faq.created", { id: saved.entry_id });
    }
    editing = null;
    await loadList();
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && error.details) showProblems(error.details);
    refuse(error);
  }
}

async function setStatus(entry, status) {
  const changed = await api(`/api/faq/${encodeURIComponent(entry.entry_id)}/status`, { method: "POST", body: { status } });
  await loadList();
  notify(`faq.now.${changed.status}`, { question: questionOf(changed) });
}

async function remove(entry) {
  const question = questionOf(entry);
  if (!await confirmWith(t("faq.confirm.delete.title"), t("faq.confirm.delete.text", { question }),
    t("faq.confirm.delete.yes"))) return;
  await api(`/api/faq/${encodeURIComponent(entry.entry_id)}`, { method: "DELETE" });
  if (editing && editing.entry_id === entry.entry_id) editing = null;
  await loadList();
  notify("faq.deleted", { question });
}

async function search() {
  const query = new URLSearchParams({ q: $("q").value, lang: $("search-lang").value });
  results = await api(`/api/faq/search?${query}`);
  render();
}

const user = await startPage({ page: "faq", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("faq-page").hidden = false;
  for (const select of document.querySelectorAll("select.products")) {
    select.append(...PRODUCTS.map((line) => el("option", { value: line, "data-i18n": `faq.product.${line}` },
      t(`faq.product.${line}`))));
  }
  $("search-lang").value = language();
  for (const id of ["filter-status", "filter-product", "filter-lang"]) {
    $(id).addEventListener("change", () => loadList().catch(refuse));
  }
  $("new").addEventListener("click", () => fill({}));
  $("cancel").addEventListener("click", () => { editing = null; showProblems([]); render(); $("new").focus(); });
  $("editor-form").addEventListener("submit", (event) => { event.preventDefault(); save().catch(refuse); });
  $("search-form").addEventListener("submit", (event) => { event.preventDefault(); search().catch(refuse); });
  onLanguageChange(() => { render(); renderMessages(); });
  try {
    await loadList();
  } catch (error) {
    refuse(error);
  }
}
