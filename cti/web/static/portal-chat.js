// The portal's chat widget: a "Chat with us" button that opens a panel where the customer starts a chat (their
// name, or the signed-in customer's), waits with their place in line, chats with an agent (whose first name only
// they see), and ends it; out of hours a signed-in customer leaves a message instead, and chooses how to be answered:
// by e-mail (an agent's answer is mailed) or by a call back when the calling hours begin (preselected: e-mail when
// they have an address on file, else a call; the server refuses a way it cannot use, and says why). The chat is the HttpOnly
// cti_chat cookie the page never sees: a reload finds the chat again (GET /api/portal/chat) and the socket resumes
// after the last message shown (?after=), so nothing said is lost. Self-contained: it builds its own elements and
// reads its own catalogues (/ui/i18n/<lang>/chat.json, and common.json's error texts) in the portal's language; texts go in with textContent only.
// The virtual agent answers first (state "bot"): its replies show its face (/ui/cyberface.js: the expression each
// reply carries, the mouth following the reply's voice) and are spoken (GET /api/portal/chat/replies/<id>/audio)
// as they arrive; asked for a person, it hands the chat to a queue and the page waits as for any chat.
import { has, language, onLanguageChange } from "/ui/i18n.js";
import { CyberFace } from "/ui/cyberface.js";

let texts = {};
let panel = null;
let socket = null;
let lastId = null;
let state = null;  // the chat's state as the server last told it
let left = null;  // what the message the customer left became: {reply_by, callback?}
let retry = 500;
let typingUntil = 0;
let typingTimer = null;
let face = null;  // the virtual agent's face, drawn at its first reply
const SPEAK_WITHIN_MS = 15000;  // a reply is spoken as it comes, not when a reload shows it again
const messages = [];  // every message shown, in order: rendered again when the language changes

function say(key, params = {}) {
  const text = Object.hasOwn(texts, key) ? texts[key] : key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] !== undefined ? String(params[name]) : whole));
}

async function loadTexts() {
  const lang = language() || "id";
  const loaded = await Promise.all(["common", "chat"].map(async (name) => {
    const response = await fetch(`/ui/i18n/${lang}/${name}.json`, { credentials: "same-origin" });
    return response.ok ? response.json() : {};
  }));
  texts = Object.assign({}, ...loaded);
}

function csrf() {
  for (const part of document.cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "cti_portal_csrf") return decodeURIComponent(value.join("="));
  }
  return null;
}

async function call(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["Content-Type"] = "application/json";
  const token = csrf();
  if (method !== "GET" && token) headers["X-CSRF-Token"] = token;
  const response = await fetch(path, { method, headers, credentials: "same-origin",
    body: method === "GET" ? undefined : JSON.stringify(body || {}) });
  let data = {};
  try { data = await response.json(); } catch { /* no body */ }
  if (!response.ok) {
    const error = data.error || {};
    const failure = new Error(error.message || response.statusText);
    failure.status = response.status;
    failure.code = error.code || null;
    failure.params = error.params || {};
    throw failure;
  }
  return data;
}

function errorSay(error) {
  // The widget's own words for a customer first (chat.error.*), then the console's (error.*).
  for (const key of [`chat.error.${error && error.code}`, `error.${error && error.code}`]) {
    if (error && error.code && Object.hasOwn(texts, key)) return say(key, error.params);
  }
  return say("chat.error");
}

function node(tag, attributes = {}, text = null) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  if (text !== null) element.textContent = text;
  return element;
}

const $ = (id) => document.getElementById(id);

function build() {
  const open = node("button", { type: "button", id: "chat-open", class: "chat-open", "aria-expanded": "false",
    "aria-controls": "chat-panel" });
  panel = node("section", { id: "chat-panel", class: "chat-panel", "aria-labelledby": "chat-title", hidden: "" });
  const head = node("header", { class: "chat-head" });
  head.append(node("h2", { id: "chat-title" }), node("button", { type: "button", id: "chat-close", class: "chat-quiet" }));
  const status = node("p", { id: "chat-status", class: "chat-status", role: "status", "aria-live": "polite" });
  const error = node("p", { id: "chat-error", class: "chat-error", role: "alert" });
  const faceBox = node("div", { id: "chat-face", class: "chat-face", "aria-hidden": "true", hidden: "" });
  // Before a chat: a name (unless signed in) and the first message.
  const start = node("form", { id: "chat-start", class: "chat-form", novalidate: "" });
  const nameLabel = node("label", { for: "chat-name", id: "chat-name-label" });
  const name = node("input", { id: "chat-name", name: "name", maxlength: "64", autocomplete: "name" });
  const firstLabel = node("label", { for: "chat-first", id: "chat-first-label" });
  const first = node("textarea", { id: "chat-first", name: "text", maxlength: "2000", rows: "3" });
  start.append(nameLabel, name, firstLabel, first, node("button", { type: "submit", id: "chat-begin" }));
  // The conversation.
  // Focusable: a long conversation scrolls, and a keyboard must reach what scrolled away.
  const log = node("ol", { id: "chat-log", class: "chat-log", "aria-live": "polite", "aria-labelledby": "chat-title",
    tabindex: "0" });
  const typing = node("p", { id: "chat-typing", class: "chat-typing", hidden: "" });
  const send = node("form", { id: "chat-send", class: "chat-form chat-compose", novalidate: "", hidden: "" });
  const inputLabel = node("label", { for: "chat-input", id: "chat-input-label", class: "visually-hidden" });
  const input = node("textarea", { id: "chat-input", name: "text", maxlength: "2000", rows: "2" });
  send.append(inputLabel, input, node("button", { type: "submit", id: "chat-submit" }));
  const end = node("button", { type: "button", id: "chat-end", class: "chat-quiet", hidden: "" });
  // Out of hours: a message instead (signed-in customers: someone answers it later).
  const leave = node("form", { id: "chat-leave", class: "chat-form", novalidate: "", hidden: "" });
  const leaveLabel = node("label", { for: "chat-leave-text", id: "chat-leave-label" });
  const replyBy = node("fieldset", { id: "chat-leave-by", class: "chat-choice" });
  replyBy.append(node("legend", { id: "chat-leave-by-legend" }));
  for (const way of ["email", "call"]) {
    const choice = node("label", { class: "chat-choice-item" });
    choice.append(node("input", { type: "radio", name: "reply_by", value: way, id: `chat-leave-by-${way}` }),
      node("span", { id: `chat-leave-by-${way}-label` }));
    replyBy.append(choice);
  }
  leave.append(leaveLabel, node("textarea", { id: "chat-leave-text", maxlength: "2000", rows: "3" }), replyBy,
    node("button", { type: "submit", id: "chat-leave-submit" }));
  panel.append(head, faceBox, status, error, start, log, typing, send, end, leave);
  document.body.append(open, panel);

  open.addEventListener("click", () => show(true));
  $("chat-close").addEventListener("click", () => show(false));
  start.addEventListener("submit", begin);
  send.addEventListener("submit", submit);
  input.addEventListener("input", () => {
    const now = Date.now();
    if (now > typingUntil && socket && socket.readyState === WebSocket.OPEN) {
      typingUntil = now + 3000;
      socket.send(JSON.stringify({ type: "typing" }));
    }
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send.requestSubmit(); }
  });
  end.addEventListener("click", finish);
  leave.addEventListener("submit", leaveMessage);
  label();
}

function label() {
  $("chat-open").textContent = say("chat.open");
  $("chat-title").textContent = say("chat.title");
  $("chat-close").textContent = say("chat.close");
  $("chat-name-label").textContent = say("chat.name");
  $("chat-first-label").textContent = say("chat.first");
  $("chat-begin").textContent = say("chat.start");
  $("chat-input-label").textContent = say("chat.message");
  $("chat-submit").textContent = say("chat.send");
  $("chat-end").textContent = say("chat.end");
  $("chat-leave-label").textContent = say("chat.leave.label");
  $("chat-leave-submit").textContent = say("chat.leave.send");
  $("chat-leave-by-legend").textContent = say("chat.leave.by");
  $("chat-leave-by-email-label").textContent = say("chat.leave.by.email");
  $("chat-leave-by-call-label").textContent = say("chat.leave.by.call");
  $("chat-typing").textContent = say("chat.typing");
  renderState();
  $("chat-log").replaceChildren(...messages.map(item));
}

function show(open) {
  panel.hidden = !open;
  $("chat-open").setAttribute("aria-expanded", String(open));
  $("chat-open").hidden = open;
  if (open) (state && state.state !== "ended" ? $("chat-input") : $("chat-name")).focus();
  else $("chat-open").focus();
}

function error(message) { $("chat-error").textContent = message || ""; }

function renderState() {
  const live = state && state.state !== "ended";
  $("chat-start").hidden = Boolean(live);
  $("chat-send").hidden = !live;
  $("chat-end").hidden = !live;
  $("chat-leave").hidden = !(state && state.leave_message && signedIn) || Boolean(left);
  let text = "";
  if (state && state.state === "waiting") {
    text = state.position ? say("chat.status.position", { position: state.position }) : say("chat.status.waiting");
  } else if (state && state.state === "bot") {
    text = say("chat.status.bot");
  } else if (state && state.state === "connected") {
    text = say("chat.status.connected", { agent: state.agent_name || "" });
  } else if (state && state.leave_message) {
    text = say(signedIn ? "chat.status.closed" : "chat.status.closed_anonymous");
  } else if (state) {
    text = say("chat.status.ended");
  }
  $("chat-status").textContent = left ? leftText() : text;
}

function item(message) {
  const li = node("li", { class: `chat-message chat-${message.sender}` });
  const who = message.sender === "customer" ? say("chat.you")
    : message.sender === "agent" ? message.author_name
      : message.sender === "bot" ? say("chat.bot_name", { name: message.author_name }) : say("chat.system");
  li.append(node("span", { class: "chat-who" }, who));
  const text = message.sender === "system" && message.code ? say(`chat.system.${message.code}`, message.params)
    : message.text;
  li.append(node("span", { class: "chat-text" }, text));
  for (const link of message.links || []) {
    const anchor = node("a", { href: link.url, rel: "noopener noreferrer", target: "_blank" }, link.title || link.url);
    li.append(anchor);
  }
  return li;
}

function received(message) {
  if (messages.some((m) => m.id === message.id)) return;
  messages.push(message);
  lastId = message.id;
  $("chat-log").append(item(message));
  $("chat-typing").hidden = true;
  if (message.sender === "bot") botReplied(message);
}

// The virtual agent's reply: its face shows the reply's expression and, for a reply just made, speaks it.
function botReplied(message) {
  const params = message.params || {};
  if (!face) {
    $("chat-face").hidden = false;
    face = new CyberFace($("chat-face"));
  }
  face.setExpression(params.expression || "neutral");
  if (!params.reply_id || Date.now() - Date.parse(message.at) > SPEAK_WITHIN_MS) return;
  const audio = new Audio(`/api/portal/chat/replies/${encodeURIComponent(params.reply_id)}/audio`);
  face.speak(audio);
  audio.play().catch(() => { /* no sound allowed here, or no voice: the text says it all */ });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const after = lastId ? `?after=${encodeURIComponent(lastId)}` : "";
  socket = new WebSocket(`${scheme}//${location.host}/api/portal/chat/ws${after}`);
  socket.onopen = () => { retry = 500; };
  socket.onmessage = (event) => {
    const frame = JSON.parse(event.data);
    if (frame.type === "message") received(frame.data);
    else if (frame.type === "state") { state = frame.data; renderState(); if (state.state === "ended") socket.close(); }
    else if (frame.type === "typing" && frame.data.sender === "agent") {
      $("chat-typing").hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => { $("chat-typing").hidden = true; }, 4000);
    } else if (frame.type === "error") error(errorSay(frame.error));
  };
  socket.onclose = () => {
    socket = null;
    if (state && state.state !== "ended") {  // a dropped connection: back, after the last message seen
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    }
  };
}

let signedIn = false;

async function begin(event) {
  event.preventDefault();
  error("");
  const body = { name: $("chat-name").value.trim(), language: language() || "id" };
  const text = $("chat-first").value.trim();
  if (text) body.text = text;
  if (!signedIn && !body.name) { error(say("error.chat_name_required")); $("chat-name").focus(); return; }
  $("chat-begin").disabled = true;
  try {
    const started = await call("/api/portal/chat", { method: "POST", body });
    state = started.state;
    messages.length = 0;
    lastId = null;
    $("chat-log").replaceChildren();
    $("chat-first").value = "";
    renderState();
    connect();
    if (state.state !== "ended") $("chat-input").focus();
  } catch (failure) {
    error(errorSay(failure));
  } finally {
    $("chat-begin").disabled = false;
  }
}

async function submit(event) {
  event.preventDefault();
  error("");
  const text = $("chat-input").value.trim();
  if (!text) return;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "message", text }));
  } else {
    try { received(await call("/api/portal/chat/messages", { method: "POST", body: { text } })); }
    catch (failure) { error(errorSay(failure)); return; }
  }
  $("chat-input").value = "";
}

async function finish() {
  error("");
  try { state = await call("/api/portal/chat/leave", { method: "POST" }); renderState(); }
  catch (failure) { error(errorSay(failure)); }
}

function leftText() {
  if (left.reply_by !== "call" || !left.callback) return say("chat.leave.done.email");
  const due = new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "id-ID",
    { dateStyle: "full", timeStyle: "short" }).format(new Date(left.callback.due_at));
  return say("chat.leave.done.call", { due });
}

async function leaveMessage(event) {
  event.preventDefault();
  error("");
  const text = $("chat-leave-text").value.trim();
  if (!text) { error(say("error.chat_empty_message")); return; }
  const chosen = document.querySelector("#chat-leave-by input:checked");
  const body = chosen ? { text, reply_by: chosen.value } : { text };
  try {
    left = await call("/api/portal/chat/left-message", { method: "POST", body });
    $("chat-leave").hidden = true;
    $("chat-status").textContent = leftText();
  } catch (failure) { error(errorSay(failure)); }
}

async function resume() {
  try {
    const found = await call("/api/portal/chat");
    state = found.state;
    for (const message of found.messages) received(message);
    renderState();
    if (state.state !== "ended") { show(true); connect(); }
  } catch { /* no chat going on */ }
}

async function whoAmI() {
  try {
    const me = await call("/api/portal/me");
    signedIn = true;
    $("chat-name").value = me.name;
    $(`chat-leave-by-${me.email ? "email" : "call"}`).checked = true;  // what they have on file
  } catch { signedIn = false; }
}

async function mount() {
  // The portal settles its language while its catalogues load (the customer's choice, else the browser's).
  for (let waited = 0; !has("error.unknown") && waited < 5000; waited += 50) {
    await new Promise((resolve) => { setTimeout(resolve, 50); });
  }
  await loadTexts();
  build();
  onLanguageChange(async () => { await loadTexts(); label(); });
  await whoAmI();
  // Signing in or out on the portal changes who starts the next chat.
  document.addEventListener("click", (event) => {
    if (event.target instanceof HTMLElement && ["sign-out", "submit-code"].includes(event.target.id)) {
      setTimeout(whoAmI, 500);
    }
  });
  await resume();
}

mount();
