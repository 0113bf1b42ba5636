// The customer's satisfaction survey, opened from the link in their mail: /ui/survey.html#<token>. The token stays
// in the fragment, which browsers never send to a server, and goes to the API in request bodies only. The page
// asks the server which questionnaire the link names (in the customer's language from the CRM, switchable here),
// shows its questions (ratings 1-5, choices and yes/no as radio groups, free text), sends the answers once and
// thanks the customer. Questions left out are fine: the answer is then kept as partial.
import { ApiError } from "/ui/cti.js";
import { errorText, has, language, loadCatalogs, onLanguageChange, setLanguage, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.hash.slice(1));
let questionnaire = null;
const chosen = {};  // question key -> the answer given so far (kept when the language changes)

async function call(path, body) {
  const response = await fetch(path, { method: "POST", credentials: "omit",
    headers: { Accept: "application/json", "Content-Type": "application/json" }, body: JSON.stringify(body) });
  let answer = {};
  try { answer = await response.json(); } catch { /* no body */ }
  if (!response.ok) {
    const error = answer.error || {};
    throw new ApiError(response.status, error.message || response.statusText, error.code || null, error.params || {});
  }
  return answer;
}

function say(error) {
  const code = error && error.code;
  if (code && has(`survey.error.${code}`)) return t(`survey.error.${code}`);
  if (error && error.status === 404) return t("survey.error.survey_not_found");
  return errorText(error);
}

function notice(message) { $("notice").textContent = message || ""; }

function markLanguage() {
  for (const lang of ["id", "en"]) $(`lang-${lang}`).setAttribute("aria-pressed", String(lang === language()));
}

function text(texts) { return texts[language()] || texts.id; }

function optionsOf(question) {
  if (question.kind === "rating") {
    return [1, 2, 3, 4, 5].map((n) => ({ value: String(n), label: `${n} – ${t(`survey.rating.${n}`)}` }));
  }
  if (question.kind === "yes_no") {
    return [{ value: "yes", label: t("survey.yes") }, { value: "no", label: t("survey.no") }];
  }
  return question.choices.map((c) => ({ value: c.value, label: text(c.label) }));
}

function shown(question, value) {
  if (value === undefined || value === null) return "";
  if (question.kind === "yes_no") return value ? "yes" : "no";
  return String(value);
}

function field(question, index) {
  const title = text(question.text) + (question.required ? " *" : "");
  if (question.kind === "text") {
    const label = document.createElement("label");
    label.className = "text-question";
    label.htmlFor = `q-${index}`;
    const caption = document.createElement("span");
    caption.textContent = title;
    const area = document.createElement("textarea");
    area.id = `q-${index}`;
    area.maxLength = 1000;
    area.value = chosen[question.key] || "";
    area.addEventListener("input", () => { chosen[question.key] = area.value; });
    label.append(caption, area);
    return label;
  }
  const set = document.createElement("fieldset");
  const legend = document.createElement("legend");
  legend.textContent = title;
  const options = document.createElement("div");
  options.className = "options";
  for (const option of optionsOf(question)) {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = `q-${index}`;
    input.value = option.value;
    input.checked = shown(question, chosen[question.key]) === option.value;
    input.addEventListener("change", () => {
      chosen[question.key] = question.kind === "rating" ? Number(option.value)
        : question.kind === "yes_no" ? option.value === "yes" : option.value;
    });
    const caption = document.createElement("span");
    caption.textContent = option.label;
    label.append(input, caption);
    options.append(label);
  }
  set.append(legend, options);
  return set;
}

function render() {
  markLanguage();
  if (!questionnaire) return;
  $("survey-title").textContent = text(questionnaire.title);
  $("fields").replaceChildren(...questionnaire.questions.map(field));
}

async function send(event) {
  event.preventDefault();
  notice("");
  const answers = {};
  for (const question of questionnaire.questions) {
    const value = chosen[question.key];
    if (value !== undefined && value !== "") answers[question.key] = value;
  }
  $("send").disabled = true;
  try {
    await call("/api/survey/answer", { token, answers });
    $("questions").hidden = true;
    $("thanks").hidden = false;
    $("thanks-heading").focus();
  } catch (error) {
    notice(say(error));
    $("send").disabled = false;
  }
}

async function start() {
  window.addEventListener("hashchange", () => location.reload());  // another link: another survey
  let opened = null;
  let failure = null;
  try {
    opened = token ? await call("/api/survey/open", { token }) : null;
  } catch (error) {
    failure = error;
  }
  await loadCatalogs(["survey"], { anonymous: true, language: opened ? opened.language : null });
  onLanguageChange(render);
  for (const lang of ["id", "en"]) $(`lang-${lang}`).addEventListener("click", () => setLanguage(lang));
  markLanguage();
  if (!opened) {
    notice(failure ? say(failure) : t("survey.error.survey_not_found"));
    return;
  }
  questionnaire = opened.questionnaire;
  $("survey-form").addEventListener("submit", send);
  $("questions").hidden = false;
  render();
}

start();
