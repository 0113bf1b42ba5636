// Shared by every cti page: the token, API calls and websockets that resume where they left off.
// Pages never build HTML from data: they set textContent, so a customer named "<script>" stays text.

const TOKEN_KEY = "cti.token";

export function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, "", location.pathname + location.search);  // keep it out of the address bar
  }
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

// Forget this tab's token (a token-only session); a cookie session ends with DELETE /api/session (shell.js).
export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// An API refusal: the HTTP status, the server's English message (for logs), and the stable code and params a page
// turns into the user's language with errorText() from /ui/i18n.js (docs/api.md lists the codes).
export class ApiError extends Error {
  constructor(status, message, code = null, params = {}, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.params = params || {};
    this.details = details;  // [{field, problem, code}] of a refused body (422), when the server lists them
  }
}

// The double-submit CSRF token a cookie session needs on every request that changes something.
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "cti_csrf") return decodeURIComponent(value.join("="));
  }
  return "";
}

// API calls carry the session cookie (credentials: same-origin) and, when the page was opened with #token=,
// the bearer token (tests and machines); non-GET requests send X-CSRF-Token from the cti_csrf cookie.
export async function api(path, { method = "GET", body } = {}) {
  const headers = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (method !== "GET" && method !== "HEAD") {
    const csrf = csrfToken();
    if (csrf) headers["X-CSRF-Token"] = csrf;
  }
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.message || response.statusText, error.code || null, error.params,
      error.details || null);
  }
  return data;
}

// The signed-in user (GET /api/me, asked once per page load), or null when nobody is signed in. The
// ApiError of a refusal is kept in userError() so the page can say why.
let userPromise = null;
let userFailure = null;
export function currentUser() {
  if (!userPromise) {
    userPromise = api("/api/me").catch((error) => { userFailure = error; return null; });
  }
  return userPromise;
}
export function userError() { return userFailure; }

// A websocket that reconnects with backoff and tells the server the last sequence number it saw, so
// the server can replay what was missed (or send a fresh snapshot). onFrame gets every parsed frame.
// Each (re)connect first trades the token for a single-use ticket: a token never goes into a URL. A socket
// closed with 1008 (the user's token was rotated, disabled, deleted or expired), or a refused ticket, ends it:
// the page forgets the token, so the next load asks for one.
export const CLOSE_REVOKED = 1008;
// What the user may see changed (an admin set their scope): reconnect at once, from a fresh snapshot.
export const CLOSE_RECONNECT = 4001;

export function liveSocket(path, onFrame, { onStatus = () => {} } = {}) {
  let lastSeq = 0;
  let delay = 250;
  let socket = null;
  let closed = false;
  const retry = () => {
    if (closed) return;
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 5000);
  };
  // onStatus(text, {state, why, error}): text is "connected", "disconnected" or "refused: <why>" (kept for pages
  // that show it as is); state and error (an ApiError-like {status, code, message}: errorText() in /ui/i18n.js says
  // it) let a page say it in the user's language; why is the server's English.
  const refused = (error) => {
    closed = true;
    signOut();
    const why = (error && error.message) || "";
    onStatus(why ? `refused: ${why}` : "refused", { state: "refused", why, error });
  };
  const connect = async () => {
    let ticket;
    try {
      ({ ticket } = await api("/api/ws-tickets", { method: "POST" }));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return refused(error);
      onStatus("disconnected", { state: "disconnected" });
      return retry();
    }
    if (closed) return;
    const url = new URL(path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    if (lastSeq) url.searchParams.set("since", String(lastSeq));
    socket = new WebSocket(url);
    socket.onopen = () => { delay = 250; onStatus("connected", { state: "connected" }); };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (typeof frame.seq === "number") lastSeq = frame.seq;
      onFrame(frame);
    };
    socket.onclose = (event) => {
      if (event.code === CLOSE_REVOKED) return refused({ status: 401, code: "session_revoked", message: event.reason });
      if (closed) return;
      if (event.code === CLOSE_RECONNECT) { lastSeq = 0; delay = 250; }  // nothing replayed from the old scope
      onStatus("disconnected", { state: "disconnected" });
      retry();
    };
  };
  connect();
  return {
    send: (frame) => socket && socket.readyState === WebSocket.OPEN && socket.send(JSON.stringify(frame)),
    close: () => { closed = true; socket && socket.close(); },
  };
}

// Small DOM helper: el("td", {class: "x"}, "text", child) — strings become text nodes, never HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Where a page sends someone who is not signed in: the sign-in page, which brings them back here afterwards.
export function signInUrl() {
  return `/ui/signin.html?next=${encodeURIComponent(location.pathname + location.search)}`;
}

export function goToSignIn() {
  location.assign(signInUrl());
}

// Older pages' entry point: run onReady once somebody is signed in (a session cookie or a #token=), else go
// to the sign-in page. New pages use shell.js's startPage, which also draws the header and checks the role.
export function requireToken(onReady) {
  token();
  currentUser().then((user) => (user ? onReady() : goToSignIn()));
}
