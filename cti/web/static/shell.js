// The console's shell: one header on every page (product and company, navigation by role, the user's name, a
// language switch, sign-out), and what a page does when nobody is signed in (to the sign-in page) or the
// signed-in user's role is not the page's (it says so, instead of failing silently).
//
//   const user = await startPage({ page: "desktop", roles: ["agent"], rolesLabel: "roles.agents" });
//   if (!user) return;  // sent to sign-in, or refused: the page has said why
//
// The page's HTML holds an empty <header id="shell"></header> and a <main id="main">.
import { ApiError, api, currentUser, el, goToSignIn, signOut, token, userError } from "/ui/cti.js";
import { LANGUAGES, errorText, language, loadCatalogs, onLanguageChange, setLanguage, t } from "/ui/i18n.js";

// Pages each role works in, in the order of the navigation.
const NAV = {
  agent: [["desktop", "/ui/desktop.html"]],
  supervisor: [["dashboard", "/ui/dashboard.html"], ["reports", "/ui/reports.html"],
    ["callbacks", "/ui/callbacks.html"], ["wfm", "/ui/wfm.html"], ["scripts", "/ui/scripts.html"],
    ["faq", "/ui/faq.html"], ["labels", "/ui/labels.html"], ["surveys", "/ui/surveys.html"]],
  admin: [["home", "/ui/index.html"], ["dashboard", "/ui/dashboard.html"], ["reports", "/ui/reports.html"],
    ["callbacks", "/ui/callbacks.html"], ["wfm", "/ui/wfm.html"], ["scripts", "/ui/scripts.html"], ["faq", "/ui/faq.html"],
    ["labels", "/ui/labels.html"], ["surveys", "/ui/surveys.html"], ["users", "/ui/users.html"],
    ["routing", "/ui/routing.html"], ["webhooks", "/ui/webhooks.html"], ["settings", "/ui/settings.html"]],
};

// Where each role starts (the front page sends them there).
export const HOME = { agent: "/ui/desktop.html", supervisor: "/ui/dashboard.html", admin: "/ui/index.html" };

let shellUser = null;
let displayName = "";
let pageName = "";

export function displayNameOf(user) {
  return (user && (user.display_name || user.name)) || "";
}

// The desktop learns the agent's own name from its snapshot (until /api/me carries display_name).
export function setDisplayName(name) {
  if (!name) return;
  displayName = name;
  const node = document.getElementById("user-name");
  if (node) node.textContent = name;
}

async function signOutNow() {
  if (token()) {
    signOut();  // a token-only session: forget the token in this tab
  } else {
    try { await api("/api/session", { method: "DELETE" }); } catch { /* already signed out */ }
  }
  goToSignIn();
}

function renderHeader() {
  const header = document.getElementById("shell");
  if (!header) return;
  const user = shellUser;
  const here = location.pathname;
  const links = (user ? NAV[user.role] || [] : []).map(([key, href]) =>
    el("a", { href, "aria-current": href === here ? "page" : null }, t(`nav.${key}`)));
  const select = el("select", { id: "language", "aria-label": t("shell.language") },
    ...Object.entries(LANGUAGES).map(([code, name]) =>
      el("option", { value: code, lang: code, selected: code === language() }, name)));
  select.addEventListener("change", () => setLanguage(select.value));
  const company = user && user.company ? user.company : "";
  header.replaceChildren(
    el("a", { class: "skip", href: "#main" }, t("app.skip")),
    el("a", { class: "brand", href: "/ui/index.html" },
      el("img", { src: "/ui/favicon.svg", alt: "", width: 24, height: 24 }),
      el("span", {}, "cti"), company ? el("span", { class: "company", id: "company" }, company) : null),
    el("nav", { "aria-label": t("nav.label") }, ...links),
    el("div", { class: "spacer" }),
    user ? el("span", { class: "user", title: t("shell.user", { name: user.name }) },
      el("span", { id: "user-name" }, displayName || displayNameOf(user)),
      el("span", { class: "role", id: "user-role" }, t(`role.${user.role}`))) : null,
    el("label", { class: "language" }, el("span", { class: "visually-hidden" }, t("shell.language")), select),
    user ? el("button", { type: "button", id: "sign-out", class: "quiet", onclick: signOutNow }, t("shell.signout")) : null,
  );
}

// Replace the page's content with why it is not shown: the role, the user, and where to go instead.
export function showRefusal(message) {
  const main = document.getElementById("main") || document.body;
  for (const node of document.body.children) {  // the page's own bars (the desktop's state, ...) go too
    if (node !== main && node.id !== "shell" && node.tagName !== "SCRIPT") node.hidden = true;
  }
  const user = shellUser;
  const home = user ? HOME[user.role] : null;
  main.replaceChildren(el("section", { id: "refused", class: "refused", role: "alert" },
    el("h1", {}, t("refused.title")),
    el("p", { id: "refused-message" }, message),
    el("p", {},
      home && home !== location.pathname ? el("a", { class: "button", href: home }, t("refused.go")) : null, " ",
      el("button", { type: "button", class: "quiet", onclick: signOutNow }, t("refused.signin")))));
  document.title = t("refused.title");
}

export function refusalFor(user, rolesLabel) {
  return t("refused.role", { name: displayNameOf(user), role: t(`role.${user.role}`), roles: t(rolesLabel) });
}

// An API error anywhere on a page: 401 -> sign in again; 403 -> say who is signed in and what the page needs.
export function handleApiError(error, rolesLabel = "roles.staff") {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 401) { goToSignIn(); return true; }
  if (error.status === 403 && shellUser) { showRefusal(refusalFor(shellUser, rolesLabel)); return true; }
  return false;
}

export async function startPage({ page, roles = null, rolesLabel = "roles.staff", needsAgent = false } = {}) {
  pageName = page;
  token();  // adopt a #token= handed over in the address (and take it out of the address bar)
  const user = await currentUser();
  if (!user) {
    const error = userError();
    const status = error instanceof ApiError ? error.status : null;
    if (!error || status === 401) { goToSignIn(); return null; }
    await loadCatalogs([page]);
    renderHeader();
    if (status === 404) return { name: "", role: null, agent_id: null };  // a server without /api/me: token only
    showRefusal(t("refused.plain", { why: errorText(error) }));
    return null;
  }
  shellUser = user;
  await loadCatalogs([page]);
  renderHeader();
  onLanguageChange(renderHeader);
  if (roles && user.role && !roles.includes(user.role)) {
    showRefusal(refusalFor(user, rolesLabel));
    return null;
  }
  if (needsAgent && !user.agent_id) {
    showRefusal(t("refused.noagent", { name: displayNameOf(user), role: t(`role.${user.role}`) }));
    return null;
  }
  return user;
}

export function currentPage() { return pageName; }
