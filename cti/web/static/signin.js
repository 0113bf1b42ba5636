// The sign-in page: a user name and password traded for a session cookie (POST /api/session), then on to the page
// the user came from (?next=, a path under /ui/ on this server only) or the front page. Texts come from the
// catalogues (common and signin, i18n.js) and are set with textContent only. Nobody is signed in here, so the
// language is ?lang= (id or en; the links switch it, and it is remembered in this browser for the next visit),
// else the one remembered, else the browser's, else Bahasa Indonesia.
import { ApiError } from "/ui/cti.js";
import { errorText, language, loadCatalogs, t } from "/ui/i18n.js";

const params = new URLSearchParams(location.search);

// Where to go once signed in: a page of this server under /ui/, never another site ("//evil", "https://...").
export function destination(next) {
  if (!next || !next.startsWith("/ui/") || next.startsWith("//")) return "/";
  try {
    const url = new URL(next, location.origin);
    return url.origin === location.origin && url.pathname.startsWith("/ui/") ? url.pathname + url.search + url.hash : "/";
  } catch {
    return "/";
  }
}

const $ = (id) => document.getElementById(id);

function show(message) {
  $("refusal").textContent = message;
}

function render() {
  const lang = language();
  for (const other of ["id", "en"]) {
    const link = $(`lang-${other}`);
    const kept = new URLSearchParams(location.search);
    kept.set("lang", other);
    link.href = `?${kept}`;
    if (other === lang) link.setAttribute("aria-current", "true");
    else link.removeAttribute("aria-current");
  }
  const reason = params.get("reason");
  if (reason === "expired") show(t("signin.expired"));
  else if (reason === "signed-out") show(t("signin.signed_out"));
}

let waitUntil = 0;

// Throttled: say so once (the alert is read out), then count down on the button until trying again is allowed.
function holdFor(seconds) {
  waitUntil = Date.now() + seconds * 1000;
  const button = $("submit");
  button.disabled = true;
  show(t("error.throttled", { seconds }));
  const tick = () => {
    const left = Math.ceil((waitUntil - Date.now()) / 1000);
    if (left <= 0) {
      button.disabled = false;
      button.textContent = t("signin.submit");
      return;
    }
    button.textContent = t("signin.countdown", { seconds: left });
    setTimeout(tick, 1000);
  };
  tick();
}

async function refusalOf(response) {
  let body = {};
  try {
    body = (await response.json()).error || {};
  } catch {
    // not JSON: the status says enough
  }
  return new ApiError(response.status, body.message || response.statusText, body.code || null, body.params);
}

async function signIn(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  const password = $("password").value;
  if (!name || !password) {
    show(t("signin.missing"));
    (name ? $("password") : $("name")).focus();
    return;
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t("signin.working");
  show("");
  let response;
  try {
    response = await fetch("/api/session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name, password }),
      credentials: "same-origin",
    });
  } catch {
    show(t("signin.unreachable"));
    button.disabled = false;
    button.textContent = t("signin.submit");
    return;
  }
  if (response.ok) {
    location.assign(destination(params.get("next")));
    return;
  }
  button.disabled = false;
  button.textContent = t("signin.submit");
  $("password").value = "";
  $("password").focus();
  if (response.status === 429) {
    holdFor(Number(response.headers.get("Retry-After")) || 60);
    return;
  }
  const error = await refusalOf(response);
  if (response.status === 401) {
    show(t("error.wrong_credentials"));
    return;
  }
  show(t("signin.refused", { why: errorText(error) }));
}

await loadCatalogs(["signin"], { anonymous: true, language: params.get("lang") });
render();
$("signin-form").addEventListener("submit", signIn);
$("name").focus();
