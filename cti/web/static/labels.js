// The supervisors' page that teaches the virtual assistant: the customers' questions it handed over or answered
// unsure (GET /api/cyberagent/questions, within the supervisor's scope), and for each a choice of what answers it:
// a published FAQ entry in the question's language, one of the assistant's intents, "needs a new FAQ entry" or
// "not for the assistant". A label takes effect at once; a labelled question can be undone. Nothing is built
// from data as HTML: the customers' words are text.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
let questions = [];
let intents = [];
let entries = [];       // the published FAQ entries
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
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("labels.network");
}

const entryQuestion = (entryId, lang) => {
  const entry = entries.find((e) => e.entry_id === entryId);
  const text = entry && (entry.texts[lang] || entry.texts.id || entry.texts.en);
  return text ? text.question : entryId;
};

function replyText(question) {
  const confidence = question.confidence === null ? "-" : question.confidence.toFixed(2);
  return question.reply === "unsure"
    ? t("labels.reply.unsure", { question: entryQuestion(question.answered, question.lang), confidence })
    : t("labels.reply.handed_over", { confidence });
}

function labelText(label, lang) {
  if (label.kind === "faq") return t("labels.kind.faq_entry", { question: entryQuestion(label.target, lang) });
  if (label.kind === "intent") return t(`labels.intent.${label.target}`);
  return t(`labels.kind.${label.kind}`);
}

function choices(question) {
  const faq = entries.filter((entry) => entry.texts[question.lang]).map((entry) =>
    el("option", { value: `faq:${entry.entry_id}` }, entry.texts[question.lang].question));
  return [
    el("option", { value: "" }, t("labels.choose")),
    el("optgroup", { label: t("labels.group.faq") }, ...faq),
    el("optgroup", { label: t("labels.group.intent") },
      ...intents.map((intent) => el("option", { value: `intent:${intent}` }, t(`labels.intent.${intent}`)))),
    el("optgroup", { label: t("labels.group.other") },
      el("option", { value: "new_faq:" }, t("labels.kind.new_faq")),
      el("option", { value: "ignore:" }, t("labels.kind.ignore"))),
  ];
}

function labelCell(question) {
  const name = t("labels.for", { question: question.text });
  if (question.label) {
    return el("td", { class: "label" },
      el("p", { class: "labelled" }, labelText(question.label, question.lang)),
      el("small", { class: "muted" }, t("labels.by", { name: question.label.labelled_by,
        at: fmt.dateTime(question.label.labelled_at) })), " ",
      el("button", { type: "button", class: "secondary", "aria-label": t("labels.undo.label", { question: question.text }),
        onclick: () => undo(question).catch(refuse) }, t("labels.undo")));
  }
  const select = el("select", { "aria-label": name }, ...choices(question));
  const form = el("form", {}, select,
    el("button", { type: "submit", "aria-label": t("labels.save.label", { question: question.text }) }, t("labels.save")));
  form.addEventListener("submit", (event) => { event.preventDefault(); save(question, select.value).catch(refuse); });
  return el("td", { class: "label" }, form);
}

function row(question) {
  return el("tr", { "data-question": `${question.call_id}#${question.seq}` },
    el("td", { class: "question", lang: question.lang }, question.text),
    el("td", {}, replyText(question)),
    el("td", {}, fmt.dateTime(question.at)),
    el("td", {}, question.queue || t("labels.no_queue")),
    labelCell(question));
}

function render() {
  $("questions").tBodies[0].replaceChildren(...questions.map(row));
  $("empty").hidden = questions.length > 0;
}

function renderMessages() {
  if (lastError) refuse(lastError);
  else if (lastNotice) notify(...lastNotice);
}

async function load() {
  const query = new URLSearchParams({ state: $("filter-state").value });
  if ($("filter-lang").value) query.set("lang", $("filter-lang").value);
  const [found, published] = await Promise.all([api(`/api/cyberagent/questions?${query}`),
    api("/api/faq?status=published")]);
  questions = found.questions;
  intents = found.intents;
  entries = published;
  render();
}

const path = (question) => `/api/cyberagent/questions/${encodeURIComponent(question.call_id)}/${question.seq}/label`;

async function save(question, choice) {
  if (!choice) { notify("labels.choose.first"); return; }
  const [kind, target] = choice.split(/:(.*)/s);
  await api(path(question), { method: "PUT", body: { kind, target: target || null } });
  await load();
  notify("labels.saved", { question: question.text });
}

async function undo(question) {
  await api(path(question), { method: "DELETE" });
  await load();
  notify("labels.undone", { question: question.text });
}

const user = await startPage({ page: "labels", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("labels-page").hidden = false;
  for (const id of ["filter-state", "filter-lang"]) $(id).addEventListener("change", () => load().catch(refuse));
  $("refresh").addEventListener("click", () => load().catch(refuse));
  onLanguageChange(() => { render(); renderMessages(); });
  try {
    await load();
  } catch (error) {
    refuse(error);
  }
}
