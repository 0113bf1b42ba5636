// The sign-in page: a user name and password traded for a session cookie (POST /api/session), then on to the page
// the user came from (?next=, a path under /ui/ on this server only) or the front page. Texts are set with
// textContent only. The few texts live here, per language, until the shared catalogues take them (i18n.js):
// the language is ?lang= (id or en), else the browser's, else Bahasa Indonesia.

const TEXTS = {
  id: {
    title: "Masuk · cti",
    heading: "Masuk",
    name: "Nama pengguna",
    password: "Kata sandi",
    submit: "Masuk",
    working: "Sedang masuk…",
    wrong: "Nama pengguna atau kata sandi salah.",
    missing: "Isi nama pengguna dan kata sandi.",
    throttled: (seconds) => `Terlalu banyak percobaan yang gagal. Coba lagi dalam ${seconds} detik.`,
    expired: "Sesi Anda telah berakhir. Silakan masuk lagi.",
    signedOut: "Anda telah keluar.",
    unreachable: "Server tidak dapat dihubungi. Coba lagi sebentar lagi.",
    refused: (message) => `Tidak dapat masuk: ${message}`,
  },
  en: {
    title: "Sign in · cti",
    heading: "Sign in",
    name: "User name",
    password: "Password",
    submit: "Sign in",
    working: "Signing in…",
    wrong: "Wrong user name or password.",
    missing: "Enter your user name and password.",
    throttled: (seconds) => `Too many failed attempts. Try again in ${seconds} seconds.`,
    expired: "Your session has expired. Please sign in again.",
    signedOut: "You have signed out.",
    unreachable: "The server cannot be reached. Try again in a moment.",
    refused: (message) => `Cannot sign in: ${message}`,
  },
};

const params = new URLSearchParams(location.search);

export function language() {
  const asked = params.get("lang");
  if (asked === "id" || asked === "en") return asked;
  return (navigator.language || "").toLowerCase().startsWith("en") ? "en" : "id";
}

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

const lang = language();
const t = TEXTS[lang];
const $ = (id) => document.getElementById(id);

function show(message) {
  $("refusal").textContent = message;
}

function render() {
  document.documentElement.lang = lang;
  document.title = t.title;
  $("heading").textContent = t.heading;
  $("name-label").textContent = t.name;
  $("password-label").textContent = t.password;
  $("submit").textContent = t.submit;
  for (const other of ["id", "en"]) {
    const link = $(`lang-${other}`);
    const kept = new URLSearchParams(location.search);
    kept.set("lang", other);
    link.href = `?${kept}`;
    if (other === lang) link.setAttribute("aria-current", "true");
  }
  const reason = params.get("reason");
  if (reason === "expired") show(t.expired);
  else if (reason === "signed-out") show(t.signedOut);
}

let waitUntil = 0;

// Throttled: say so once (the alert is read out), then count down on the button until trying again is allowed.
function holdFor(seconds) {
  waitUntil = Date.now() + seconds * 1000;
  const button = $("submit");
  button.disabled = true;
  show(t.throttled(seconds));
  const tick = () => {
    const left = Math.ceil((waitUntil - Date.now()) / 1000);
    if (left <= 0) {
      button.disabled = false;
      button.textContent = t.submit;
      return;
    }
    button.textContent = `${t.submit} (${left})`;
    setTimeout(tick, 1000);
  };
  tick();
}

async function signIn(event) {
  event.preventDefault();
  const name = $("name").value.trim();
  const password = $("password").value;
  if (!name || !password) {
    show(t.missing);
    (name ? $("password") : $("name")).focus();
    return;
  }
  const button = $("submit");
  button.disabled = true;
  button.textContent = t.working;
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
    show(t.unreachable);
    button.disabled = false;
    button.textContent = t.submit;
    return;
  }
  if (response.ok) {
    location.assign(destination(params.get("next")));
    return;
  }
  button.disabled = false;
  button.textContent = t.submit;
  $("password").value = "";
  $("password").focus();
  if (response.status === 429) {
    holdFor(Number(response.headers.get("Retry-After")) || 60);
    return;
  }
  if (response.status === 401) {
    show(t.wrong);
    return;
  }
  let message = response.statusText;
  try {
    const body = await response.json();
    message = (body && body.error && body.error.message) || message;
  } catch {
    // not JSON: the status text says enough
  }
  show(t.refused(message));
}

render();
$("signin-form").addEventListener("submit", signIn);
$("name").focus();
