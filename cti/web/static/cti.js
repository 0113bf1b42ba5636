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

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, (data && data.error && data.error.message) || response.statusText);
  return data;
}

// A websocket that reconnects with backoff and tells the server the last sequence number it saw, so
// the server can replay what was missed (or send a fresh snapshot). onFrame gets every parsed frame.
// Each (re)connect first trades the token for a single-use ticket: a token never goes into a URL. A socket
// closed with 1008 (the user's token was rotated, disabled, deleted or expired), or a refused ticket, ends it:
// the page forgets the token, so the next load asks for one.
export const CLOSE_REVOKED = 1008;

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
  const refused = (why) => {
    closed = true;
    signOut();
    onStatus(why ? `refused: ${why}` : "refused");
  };
  const connect = async () => {
    let ticket;
    try {
      ({ ticket } = await api("/api/ws-tickets", { method: "POST" }));
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return refused(error.message);
      onStatus("disconnected");
      return retry();
    }
    if (closed) return;
    const url = new URL(path, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    if (lastSeq) url.searchParams.set("since", String(lastSeq));
    socket = new WebSocket(url);
    socket.onopen = () => { delay = 250; onStatus("connected"); };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (typeof frame.seq === "number") lastSeq = frame.seq;
      onFrame(frame);
    };
    socket.onclose = (event) => {
      if (event.code === CLOSE_REVOKED) return refused(event.reason);
      if (closed) return;
      onStatus("disconnected");
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

// The sign-in form every page shows when it has no token or the token is refused.
export function requireToken(onReady) {
  if (token()) return onReady();
  const form = el("form", { id: "signin" },
    el("label", {}, "API token ", el("input", { name: "token", type: "password", autocomplete: "current-password" })),
    el("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    setToken(form.elements.token.value.trim());
    form.remove();
    onReady();
  });
  document.body.prepend(form);
}
