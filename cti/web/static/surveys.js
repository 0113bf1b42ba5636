// The supervisors' surveys page: the survey figures (CSAT, NPS-style, FCR, response rate) of a range of days per
// agent, team, queue, channel, day or segment, as GET /api/reports/surveys gives them for the supervisor's scope;
// and the questionnaires, each edited as JSON (its title, segment and questions in both languages) and saved as a
// new version, with every problem the server finds listed by field. Nothing is built from data as HTML.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t, timeZone, today } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
const TEMPLATE = {
  title: { id: "Survei layanan", en: "Service survey" },
  segment: { value_tier: null, product_line: null, channel: null },
  questions: [
    { key: "satisfaction", kind: "rating", metric: "csat",
      text: { id: "Seberapa puas Anda dengan layanan kami?", en: "How satisfied are you with our service?" } },
    { key: "solved", kind: "yes_no", metric: "fcr",
      text: { id: "Apakah masalah Anda selesai?", en: "Was your problem solved?" } },
    { key: "comment", kind: "text", required: false, text: { id: "Ada saran?", en: "Anything else?" } },
  ],
  active: true,
};
let questionnaires = [];
let report = null;
let lastError = null;

function notify(key) {
  lastError = null;
  $("notice").textContent = key ? t(key) : "";
  $("refusal").textContent = "";
}

function refuse(error) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)
      && handleApiError(error, "roles.staff")) return;
  lastError = error;
  $("notice").textContent = "";
  $("refusal").textContent = error instanceof ApiError ? errorText(error) : t("surveys.network");
  showProblems(error instanceof ApiError ? error.details : null);
}

function showProblems(details) {
  $("problems").replaceChildren(...(details || []).map((d) => el("li", {}, el("code", {}, d.field), ": ", d.problem)));
}

const ratio = (value) => (value === null || value === undefined ? "–" : fmt.percent(value));
const score = (value) => (value === null || value === undefined ? "–" : fmt.number(value, 1));

function figureCells(row) {
  return [row.sent, row.answered, ratio(row.response_rate), ratio(row.csat), score(row.nps), ratio(row.fcr)]
    .map((value) => el("td", { class: "number" }, String(value)));
}

function renderReport() {
  if (!report) return;
  $("key-col").textContent = t(`surveys.by.${report.by}`);
  $("figures").tBodies[0].replaceChildren(...report.rows.map((row) =>
    el("tr", {}, el("th", { scope: "row" }, row.key), ...figureCells(row))));
  $("figures").tFoot.replaceChildren(el("tr", {}, el("th", { scope: "row" }, t("surveys.report.total")),
    ...figureCells(report.total)));
  $("figures").hidden = report.rows.length === 0;
  $("no-figures").hidden = report.rows.length > 0;
}

async function showReport() {
  // The days are the center's, as the page shows them (the same zone as the dates it proposes).
  const query = new URLSearchParams({ from: $("from").value, to: $("to").value, by: $("by").value, tz: timeZone() });
  report = await api(`/api/reports/surveys?${query}`);
  notify(null);
  renderReport();
}

function segmentText(segment) {
  const parts = [segment.value_tier, segment.product_line, segment.channel].filter(Boolean);
  return parts.length ? parts.join(" / ") : t("surveys.segment.any");
}

function renderList() {
  $("questionnaires").tBodies[0].replaceChildren(...questionnaires.map((q) => {
    const edit = el("button", { type: "button", class: "secondary" }, t("surveys.edit"));
    edit.setAttribute("aria-label", t("surveys.edit_one", { id: q.questionnaire_id }));
    edit.addEventListener("click", () => openEditor(q));
    return el("tr", {}, el("td", {}, q.questionnaire_id), el("td", {}, q.title.en === q.title.id ? q.title.id
      : `${q.title.id} / ${q.title.en}`), el("td", {}, segmentText(q.segment)), el("td", {}, String(q.version)),
    el("td", {}, String(q.questions.length)), el("td", {}, edit));
  }));
  $("empty").hidden = questionnaires.length > 0;
}

async function loadList() {
  questionnaires = (await api("/api/surveys/questionnaires")).questionnaires;
  renderList();
}

function openEditor(q) {
  const { questionnaire_id: id, version, ...definition } = q || { questionnaire_id: "", version: 0, ...TEMPLATE };
  $("qid").value = id;
  $("qid").readOnly = Boolean(q);
  $("definition").value = JSON.stringify(definition, null, 2);
  showProblems(null);
  $("editor").hidden = false;
  $("editor-title").focus();
}

async function save() {
  let definition;
  try {
    definition = JSON.parse($("definition").value);
  } catch {
    $("refusal").textContent = t("surveys.editor.not_json");
    return;
  }
  const saved = await api(`/api/surveys/questionnaires/${encodeURIComponent($("qid").value)}`,
    { method: "PUT", body: definition });
  $("editor").hidden = true;
  showProblems(null);
  await loadList();
  $("notice").textContent = t("surveys.saved", { id: saved.questionnaire_id, version: saved.version });
}

const user = await startPage({ page: "surveys", roles: ["supervisor", "admin"], rolesLabel: "roles.staff" });
if (user) {
  $("surveys-page").hidden = false;
  $("from").value = today();
  $("to").value = today();
  $("report-form").addEventListener("submit", (event) => { event.preventDefault(); showReport().catch(refuse); });
  $("new").addEventListener("click", () => openEditor(null));
  $("cancel").addEventListener("click", () => { $("editor").hidden = true; $("new").focus(); });
  $("editor-form").addEventListener("submit", (event) => { event.preventDefault(); save().catch(refuse); });
  onLanguageChange(() => { renderList(); renderReport(); if (lastError) refuse(lastError); });
  try {
    await loadList();
  } catch (error) {
    refuse(error);
  }
}
