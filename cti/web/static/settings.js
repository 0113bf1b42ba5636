// The administrators' settings page: every setting in force (GET /api/settings, secrets left out by the server),
// grouped by what it is about, each with its label in the page's language, its CTI_ environment variable, its value
// and whether it is the default. Read-only: settings take a restart to change. The code's descriptions are in
// English, so they are shown in English only. Nothing is built from data as HTML (el() and textContent only).
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, has, language, onLanguageChange, t } from "/ui/i18n.js";
import { handleApiError, startPage } from "/ui/shell.js";

const $ = (id) => document.getElementById(id);
const GROUPS = ["telephony", "web", "storage", "routing", "ivr", "callbacks", "outbound", "scripts", "locale", "retention",
  "portal", "partners", "other"];
let settings = [];

// A disposition code by its name as agents see it (common.json); its code beside it in English only, as the codes
// are English words that an Indonesian page does not show (the code is what CTI_DISPOSITIONS lists).
function disposition(code) {
  if (!has(`disposition.${code}`)) return el("li", {}, el("code", {}, code));
  return el("li", { title: code }, t(`disposition.${code}`), language() === "en" ? [" ", el("code", {}, code)] : null);
}

function valueOf(entry) {
  if (entry.secret) return el("span", { class: "badge secret" }, t("settings.secret"));
  const value = entry.value;
  if (value === null || value === "") return el("span", { class: "muted" }, t("settings.none"));
  if (value === true || value === false) return t(value ? "settings.yes" : "settings.no");
  if (entry.name === "dispositions") return el("ul", {}, ...value.map(disposition));
  if (Array.isArray(value)) {
    return value.length ? el("ul", {}, ...value.map((item) => el("li", {}, el("code", {}, String(item)))))
      : el("span", { class: "muted" }, t("settings.empty"));
  }
  if (typeof value === "object") {
    const pairs = Object.entries(value);
    return pairs.length ? el("ul", {}, ...pairs.map(([k, v]) => el("li", {}, el("code", {}, k), " → ", el("code", {}, String(v)))))
      : el("span", { class: "muted" }, t("settings.empty"));
  }
  return el("code", {}, String(value));
}

function row(entry) {
  const label = has(`settings.name.${entry.name}`) ? t(`settings.name.${entry.name}`) : entry.name;
  const english = language() === "en" && entry.description;
  return el("tr", { id: `setting-${entry.name}` },
    el("th", { scope: "row", class: "setting-name" }, label,
      el("span", { class: "muted" }, el("code", {}, entry.env)),
      english ? el("span", { class: "muted description" }, entry.description) : null),
    el("td", {}, valueOf(entry)),
    el("td", {}, el("span", { class: entry.default ? "badge default" : "badge set" },
      t(entry.default ? "settings.default" : "settings.set"))));
}

function render() {
  const sections = GROUPS.map((group) => {
    const entries = settings.filter((s) => s.group === group);
    if (!entries.length) return null;
    const heading = `group-${group}`;
    return el("section", { "aria-labelledby": heading, id: `settings-${group}` },
      el("h2", { id: heading }, t(`settings.group.${group}`)),
      el("div", { class: "scroll" }, el("table", {},
        el("caption", { class: "visually-hidden" }, t("settings.caption", { group: t(`settings.group.${group}`) })),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col" }, t("settings.col.setting")),
          el("th", { scope: "col" }, t("settings.col.value")),
          el("th", { scope: "col" }, t("settings.col.source")))),
        el("tbody", {}, ...entries.map(row)))));
  });
  $("groups").replaceChildren(...sections.filter(Boolean));
  $("count").textContent = t("settings.count", { n: settings.length, set: settings.filter((s) => !s.default).length });
}

const user = await startPage({ page: "settings", roles: ["admin"], rolesLabel: "roles.admins" });
if (user) {
  $("settings-page").hidden = false;
  onLanguageChange(render);
  try {
    settings = (await api("/api/settings")).settings;
    render();
  } catch (error) {
    if (!handleApiError(error, "roles.admins")) {
      $("refusal").textContent = error instanceof ApiError
        ? t("settings.refused", { status: error.status, message: errorText(error) })
        : t("settings.refused", { status: "–", message: String(error && error.message) });
    }
  }
}
