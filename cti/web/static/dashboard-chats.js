// "Chats now" on the supervisor dashboard: each live chat the supervisor reaches (GET /api/chats: the chats of
// their queues; for staff who see every queue, also those the virtual agent holds), with its queue, customer,
// state, agent's first name and how long it waited and has been talking; and "Watch": a read-only live
// transcript over the chat's socket (/ws/chats/{id}, audited on the server), following each message, the typing
// and the state until the chat ends. The list is read again when the dashboard's feed says a chat changed
// (chatsChanged), and every few seconds (the virtual agent's chats are in no queue, so not in the feed).
// docs/supervisors.md, "Chats now".
import { api, ApiError, el, liveSocket } from "/ui/cti.js";
import { errorText, fmt, has, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
const EVERY_MS = 5000;
const TYPING_MS = 4000; // a "typing" frame is shown this long, unless a message from that side comes first
const LAST_WORDS_MS = 2000;
let chats = [];
let loaded = false;
let now = () => Date.now();
let reading = null;
let again = false;
const rows = new Map(); // chat id -> { tr, signature, waitCell, talkCell }: kept, so a focused Watch keeps its focus
let watching = null; // { chatId, socket, ids, messages, ended, typingTimer, heading }

const stateText = (state) => (has(`dash.chats.state.${state}`) ? t(`dash.chats.state.${state}`) : state);

function times(chat) {
  const at = now();
  const answered = chat.answered_at ? Date.parse(chat.answered_at) : null;
  const wait = Math.max(0, ((answered ?? at) - Date.parse(chat.arrived_at)) / 1000);
  return { wait, talk: answered === null ? null : Math.max(0, (at - answered) / 1000) };
}

export async function refreshChats() {
  if (reading) { again = true; return reading; } // one read at a time; a change meanwhile reads once more after
  reading = (async () => {
    try {
      chats = (await api("/api/chats")).chats;
      loaded = true;
      $("chats-status").textContent = "";
    } catch (error) {
      $("chats-status").textContent = error instanceof ApiError ? errorText(error) : String(error);
    }
  })();
  await reading;
  reading = null;
  renderChats();
  if (watching && !watching.ended && loaded && !chats.some((c) => c.chat_id === watching.chatId)) {
    // Gone from the live chats while its socket was away: it ended (or left the scope). Nothing more will come.
    endWatch(t("dash.watch.gone"));
  }
  if (again) { again = false; await refreshChats(); }
}

let pending = null;
export function chatsChanged() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; refreshChats(); }, 200);
}

export function renderChats() {
  const tbody = $("chats");
  const list = chats.map((chat) => chatRow(chat));
  const same = list.length === tbody.children.length && list.every((tr, i) => tbody.children[i] === tr);
  if (!same) tbody.replaceChildren(...list); // unchanged order: nodes kept, a focused button keeps its focus
  const kept = new Set(chats.map((c) => c.chat_id));
  for (const id of rows.keys()) if (!kept.has(id)) rows.delete(id);
  $("chats-empty").hidden = chats.length > 0;
}

function chatRow(chat) {
  const signature = [chat.state, chat.queue, chat.name, chat.agent_name, chat.arrived_at, chat.answered_at,
    watching && watching.chatId === chat.chat_id].join("\u0000");
  let row = rows.get(chat.chat_id);
  if (!row || row.signature !== signature) {
    const watched = Boolean(watching && watching.chatId === chat.chat_id);
    const button = el("button", { type: "button", class: "watch", "aria-pressed": String(watched),
      "aria-label": t("dash.watch.button_for", { name: chat.name || t("dash.chats.unnamed") }),
      onclick: () => startWatch(chat) }, t("dash.watch.button"));
    const waitCell = el("td", { class: "num wait" });
    const talkCell = el("td", { class: "num talk" });
    const tr = el("tr", { "data-chat": chat.chat_id, "data-state": chat.state },
      el("td", { class: "queue" }, chat.queue || t("dash.chats.no_queue")),
      el("td", { class: "customer" }, chat.name || t("dash.chats.unnamed")),
      el("td", { class: "state" }, stateText(chat.state)),
      el("td", { class: "agent" }, chat.agent_name || ""),
      waitCell, talkCell, el("td", { class: "actions" }, button));
    row = { tr, signature, waitCell, talkCell };
    rows.set(chat.chat_id, row);
  }
  const { wait, talk } = times(chat);
  row.waitCell.textContent = fmt.duration(wait);
  row.talkCell.textContent = talk === null ? "–" : fmt.duration(talk);
  return row.tr;
}

// -- watching one chat --------------------------------------------------------------------------------------
function who(message) {
  if (message.sender === "customer") return message.author_name || t("dash.watch.customer");
  if (message.sender === "agent") return t("dash.watch.agent", { name: message.author_name });
  if (message.sender === "bot") return t("dash.watch.bot", { name: message.author_name });
  return t("dash.watch.notice");
}

function systemText(message) {
  if (message.code === "joined") return t("dash.watch.joined", { agent: (message.params || {}).agent || "" });
  if (message.code === "transferred") return t("dash.watch.transferred");
  if (message.code === "ended") return t("dash.watch.ended");
  return message.text;
}

function addMessage(message) {
  if (watching.ids.has(message.id)) return; // a reconnect's catch-up sends again what the page has
  watching.ids.add(message.id);
  watching.messages.push(message);
  $("watch-log").append(messageItem(message));
  $("watch-scroll").scrollTop = $("watch-scroll").scrollHeight;
  if (message.sender !== "system") showTyping(null);
}

function messageItem(message) {
  const links = (message.links || []).map((link) => el("a", { href: link.url, rel: "noopener noreferrer",
    target: "_blank" }, link.title || link.url));
  const item = el("li", { class: `chat-message chat-${message.sender}`, "data-sender": message.sender },
    el("span", { class: "chat-who" }, who(message)),
    el("span", { class: "chat-text" }, message.sender === "system" ? systemText(message) : message.text), ...links);
  return item;
}

function showTyping(sender) {
  clearTimeout(watching.typingTimer);
  $("watch-typing").textContent = sender ? t(`dash.watch.typing.${sender === "customer" ? "customer" : "agent"}`) : "";
  if (sender) watching.typingTimer = setTimeout(() => showTyping(null), TYPING_MS);
}

function showState(state) {
  if (state.state === "ended") { endWatch(t("dash.watch.ended")); return; }
  const agent = state.agent_name ? t("dash.watch.with", { agent: state.agent_name }) : "";
  $("watch-state").textContent = [stateText(state.state), agent].filter(Boolean).join(" · ");
}

function onFrame(frame) {
  if (!watching) return;
  if (frame.type === "message") addMessage(frame.data);
  else if (frame.type === "typing") showTyping(frame.data.sender);
  else if (frame.type === "state") showState(frame.data);
}

function endWatch(text) {
  if (!watching || watching.ended) return;
  watching.ended = true;
  // The chat's last words ("the chat has ended") follow its ended state on the socket: a moment for them.
  const { socket } = watching;
  setTimeout(() => socket.close(), LAST_WORDS_MS);
  showTyping(null);
  $("watch-state").textContent = text;
  $("watch-stop").textContent = t("dash.watch.close");
}

function startWatch(chat) {
  stopWatch({ restoreFocus: false });
  watching = { chatId: chat.chat_id, ids: new Set(), messages: [], ended: false, typingTimer: null, socket: null,
               heading: { name: chat.name || t("dash.chats.unnamed"), queue: chat.queue || t("dash.chats.no_queue") } };
  $("watch-heading").textContent = t("dash.watch.heading", watching.heading);
  $("watch-log").replaceChildren();
  $("watch-typing").textContent = "";
  $("watch-state").textContent = stateText(chat.state);
  $("watch-stop").textContent = t("dash.watch.stop");
  $("watch").hidden = false;
  watching.socket = liveSocket(`/ws/chats/${encodeURIComponent(chat.chat_id)}`, onFrame, {
    onStatus: (status) => { if (status === "disconnected") refreshChats(); } });
  renderChats();
  $("watch-heading").focus(); // keyboard users land on what they asked for; Escape or the button closes it
}

function stopWatch({ restoreFocus = true } = {}) {
  if (!watching) return;
  const { chatId, socket, typingTimer } = watching;
  clearTimeout(typingTimer);
  if (socket) socket.close();
  watching = null;
  $("watch").hidden = true;
  renderChats();
  if (restoreFocus) {
    const row = rows.get(chatId);
    (row ? row.tr.querySelector("button.watch") : $("chats-heading")).focus();
  }
}

export function startChats({ serverNow } = {}) {
  if (serverNow) now = serverNow;
  $("watch-stop").addEventListener("click", () => stopWatch());
  $("watch").addEventListener("keydown", (event) => { if (event.key === "Escape") stopWatch(); });
  refreshChats();
  setInterval(refreshChats, EVERY_MS);
  setInterval(renderChats, 1000); // waiting and talking move every second
}

export function relabelChats() {
  rows.clear();
  renderChats();
  if (!watching) return;
  $("watch-stop").textContent = t(watching.ended ? "dash.watch.close" : "dash.watch.stop");
  $("watch-heading").textContent = t("dash.watch.heading", watching.heading);
  $("watch-log").replaceChildren(...watching.messages.map(messageItem));
}
