// Both languages of the console: message catalogues, the user's language, and formats in the center's time zone.
//
// Contract (pages and the shell build on it; keep it stable):
//   await loadCatalogs(["common", "desktop"], {anonymous, language})
//       Picks the language — the signed-in user's (GET /api/me "language") when known, else `language` (a page's
//       ?lang=, then remembered), else the one remembered in localStorage ("cti.language"), else the browser's
//       (navigator.languages), else "id" — and loads the JSON
//       catalogues /ui/i18n/<lang>/<page>.json (flat {"key": "text"} objects; cti/web/static/i18n/<lang>/). The
//       time zone is the user's center's (GET /api/me "timezone"), else "Asia/Jakarta". Sets <html lang>.
//       anonymous: a page for nobody signed in yet (sign-in): /api/me is not asked, here or in setLanguage.
//   t(key, params)        the text for key, with {name} placeholders filled from params; a key missing from the
//                         catalogues comes back visibly marked, "⟦key⟧", never silently blank.
//   has(key)              whether the catalogues know key (for optional, data-driven labels).
//   language()            "id" or "en"; timeZone(): the IANA zone every date and time is shown in.
//   setLanguage(lang)     remembers it (PATCH /api/me when signed in with a session that supports it; localStorage
//                         always), reloads the catalogues, translates the page and calls every onLanguageChange(fn).
//   onLanguageChange(fn)  fn() runs after each switch: the page re-renders its dynamic texts.
//   errorText(error)      an API error (ApiError, or a websocket's {code, message} error frame) in the user's
//                         language: t("error.<code>", params) when the catalogues know the code, else a sentence for
//                         its status ("error.status.<status>"); never the server's English in Indonesian. In
//                         English the server's message is preferred to a kind's generic code (invalid_input says
//                         less than "max_abandon needs patience_seconds") and is the last resort. Codes: docs/api.md.
//   translatePage(root)   static HTML: an element with a data-i18n attribute gets the text of the key it names;
//                         data-i18n-placeholder, data-i18n-title and data-i18n-aria-label set those attributes.
//                         loadCatalogs and setLanguage call it.
//   fmt.dateTime(v), fmt.date(v), fmt.time(v)   an ISO string, Date or epoch ms in the center's time zone; a bare
//                         "YYYY-MM-DD" is a calendar day and never shifts; null/undefined/invalid give "–".
//   fmt.duration(seconds) "02:31", "1:02:31".
//   fmt.money(n)          "Rp 1.250.000" in both languages (IDR, no decimals).
//   fmt.number(n, digits) and fmt.percent(ratio, digits): the language's separators ("1.234,5" / "1,234.5").
// The catalogues must hold the same keys in both languages, and every literal key a page passes to t() or names
// in a data-i18n attribute under cti/web/static must exist: tests/unit/test_ui_catalogs.py fails otherwise. Keys
// built from data (state.<state>, disposition.<code>) are checked there against the states and dispositions.
import { currentUser, api } from "/ui/cti.js";

export const LANGUAGES = { id: "Bahasa Indonesia", en: "English" };
export const DEFAULT_LANGUAGE = "id";
export const DEFAULT_TIME_ZONE = "Asia/Jakarta";
const STORAGE_KEY = "cti.language";
const LOCALES = { id: "id-ID", en: "en-GB" };  // en-GB: day before month, 24-hour clock, as the center reads dates

let current = DEFAULT_LANGUAGE;
let zone = DEFAULT_TIME_ZONE;
let messages = {};
let pages = [];
let anonymousPage = false;
const listeners = [];

function supported(lang) {
  const base = String(lang || "").toLowerCase().split("-")[0];
  return Object.hasOwn(LANGUAGES, base) ? base : null;
}

function remember(lang) {
  try { localStorage.setItem(STORAGE_KEY, lang); } catch { /* private mode: the choice lasts this page */ }
}

function remembered() {
  try { return supported(localStorage.getItem(STORAGE_KEY)); } catch { return null; }
}

function fromBrowser() {
  for (const lang of navigator.languages || [navigator.language]) {
    const found = supported(lang);
    if (found) return found;
  }
  return null;
}

async function fetchCatalog(lang, page) {
  const response = await fetch(`/ui/i18n/${lang}/${page}.json`, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`no catalogue ${lang}/${page} (${response.status})`);
  return response.json();
}

async function load(lang, names) {
  const loaded = await Promise.all(names.map((name) => fetchCatalog(lang, name)));
  messages = Object.assign({}, ...loaded);
  current = lang;
  document.documentElement.lang = lang;
}

export async function loadCatalogs(names, { anonymous = false, language: asked = null } = {}) {
  pages = [...new Set(["common", ...names])];
  anonymousPage = anonymous;
  const user = anonymous ? null : await currentUser();
  if (user && user.timezone) zone = user.timezone;
  const chosen = supported(asked);
  if (chosen) remember(chosen);
  const lang = supported(user && user.language) || chosen || remembered() || fromBrowser() || DEFAULT_LANGUAGE;
  await load(lang, pages);
  translatePage();
}

export function language() { return current; }
export function timeZone() { return zone; }
// The center's day today (in timeZone()), as date inputs want it: YYYY-MM-DD. Not toISOString(): that
// is the UTC day, the day before in Jakarta until 07:00.
export function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date());
}
export function locale() { return LOCALES[current]; }
export function has(key) { return Object.hasOwn(messages, key); }

export function t(key, params = {}) {
  if (!Object.hasOwn(messages, key)) return `⟦${key}⟧`;
  return messages[key].replace(/\{(\w+)\}/g, (whole, name) =>
    (Object.hasOwn(params, name) && params[name] !== null && params[name] !== undefined ? String(params[name]) : whole));
}

export function onLanguageChange(fn) { listeners.push(fn); }

// The codes of a kind or a status, not of one error, and a socket's end (its reason: "user disabled", "token
// rotated"): the server's English message says more than their sentence.
const GENERIC_CODES = new Set(["bad_request", "unauthorized", "forbidden", "not_found", "conflict", "invalid_input",
  "invalid_body", "unavailable", "internal", "session_revoked"]);

export function errorText(error) {
  const code = error && error.code;
  if (current === "en" && error && error.message && (!code || GENERIC_CODES.has(code))) return String(error.message);
  if (code && has(`error.${code}`)) return t(`error.${code}`, (error && error.params) || {});
  const status = error && error.status;
  if (current === "en" && error && error.message) return String(error.message);
  if (status && has(`error.status.${status}`)) return t(`error.status.${status}`);
  if (status) return t(status >= 500 ? "error.status.500" : "error.status.400");
  return t("error.unknown");
}

export async function setLanguage(lang) {
  const chosen = supported(lang);
  if (!chosen) throw new Error(`unsupported language ${lang}`);
  remember(chosen);
  const user = anonymousPage ? null : await currentUser();
  if (user && "language" in user) {  // a server that keeps each user's language
    try {
      await api("/api/me", { method: "PATCH", body: { language: chosen } });
      user.language = chosen;
    } catch { /* a server without per-user languages: this browser remembers it */ }
  }
  await load(chosen, pages);
  translatePage();
  for (const fn of listeners) fn(chosen);
}

const ATTRIBUTES = { "data-i18n-placeholder": "placeholder", "data-i18n-title": "title", "data-i18n-aria-label": "aria-label" };

export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const [source, target] of Object.entries(ATTRIBUTES)) {
    for (const node of root.querySelectorAll(`[${source}]`)) node.setAttribute(target, t(node.getAttribute(source)));
  }
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = title.textContent;
}

// -- formats --------------------------------------------------------------------------------------------------
const DASH = "–";
const DAY_ONLY = /^\d{4}-\d{2}-\d{2}$/;

function instant(value) {
  if (value === null || value === undefined || value === "") return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function dateFormat(value, options) {
  const calendarDay = typeof value === "string" && DAY_ONLY.test(value);
  const date = instant(calendarDay ? `${value}T00:00:00Z` : value);
  if (!date) return DASH;
  return new Intl.DateTimeFormat(locale(), { ...options, timeZone: calendarDay ? "UTC" : zone }).format(date);
}

const two = (n) => String(n).padStart(2, "0");

export const fmt = {
  dateTime: (value) => dateFormat(value, { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
  date: (value) => dateFormat(value, { day: "numeric", month: "short", year: "numeric" }),
  time: (value) => dateFormat(value, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" }),
  duration(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return DASH;
    const total = Math.max(0, Math.floor(Number(seconds)));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    return h ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
  },
  money(amount) {
    if (amount === null || amount === undefined || amount === "" || Number.isNaN(Number(amount))) return DASH;
    const value = Math.round(Number(amount));
    const digits = new Intl.NumberFormat("id-ID", { maximumFractionDigits: 0 }).format(Math.abs(value));
    return `${value < 0 ? "-" : ""}Rp ${digits}`;
  },
  number(value, digits = 0) {
    if (value === null || value === undefined || Number.isNaN(Number(value))) return DASH;
    return new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(value));
  },
  percent(ratio, digits = 1) {
    if (ratio === null || ratio === undefined || Number.isNaN(Number(ratio))) return DASH;
    return new Intl.NumberFormat(locale(), { style: "percent", minimumFractionDigits: digits, maximumFractionDigits: digits }).format(Number(ratio));
  },
};
