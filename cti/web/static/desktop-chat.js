// The agent desktop's chats: a panel with a card per chat the agent is offered or holds (several at once, as their
// capacity allows). A card accepts or declines an offer, shows the messages in order (the customer, the agent, cti's
// notices), sends text and links, tells the customer the agent is typing, transfers the chat (to a queue or an
// agent), ends it, then takes its wrap-up (disposition and notes, as a call's). It lives beside desktop.js and hears
// the desktop's socket through onFrame: chat_offer, chat_message, chat_typing, chat_removed, chat_ended, and the screen
// pop's offer and call frames of chats (the customer's record). After a reconnect it reads GET /api/chats again.
import { api, el } from "/ui/cti.js";
import { errorText, fmt, onLanguageChange, t } from "/ui/i18n.js";

const chats = new Map();  // chat_id -> {id, name, language, state, messages, pop, typing, ended, error}
let panel = null;
let readOnly = false;
let dispositions = [];

const path = (id, action) => `/api/chats/${encodeURIComponent(id)}/${action}`;

function chat(id) {
  let found = chats.get(id);
  if (!found) {
    found = { id, name: "", language: "", state: "offered", messages: [], pop: null, typing: false, ended: false,
      error: "" };
    chats.set(id, found);
  }
  return found;
}

function systemText(message) {
  if (message.code === "joined") return t("chat.desk.joined", message.params || {});
  if (message.code === "transferred") return t("chat.desk.transferred");
  if (message.code === "ended") return t("chat.desk.ended");
  return message.text;
}

function messageItem(message) {
  const who = message.sender === "customer" ? message.author_name
    : message.sender === "agent" ? t("chat.desk.agent", { name: message.author_name })
      : message.sender === "bot" ? t("chat.desk.bot", { name: message.author_name }) : t("chat.desk.notice");
  const links = (message.links || []).map((link) => el("a", { href: link.url, rel: "noopener noreferrer",
    target: "_blank" }, link.title || link.url));
  return el("li", { class: `chat-message chat-${message.sender}` },
    el("span", { class: "chat-who" }, who),
    el("span", { class: "chat-text" }, message.sender === "system" ? systemText(message) : message.text), ...links);
}

async function act(item, work) {
  item.error = "";
  try { await work(); } catch (error) { item.error = errorText(error); }
  render();
}

function card(item) {
  const title = `chat-title-${item.id}`;
  const customer = item.pop && item.pop.customer;
  const body = [
    el("h3", { id: title }, item.name || t("chat.desk.unknown")),
    el("p", { class: "chat-meta" }, [
      t(`chat.desk.state.${item.ended ? "ended" : item.state}`),
      item.language ? ` · ${item.language.toUpperCase()}` : "",
      customer ? ` · ${t("chat.desk.customer", { id: customer.customer_id })}` : "",
    ].join("")),
  ];
  if (customer) {  // the screen pop, as for a call: who they are, then the script's steps in their language
    body.push(el("p", { class: "chat-record" }, t("chat.desk.record", { name: customer.name,
      tier: customer.value_tier || "–", balance: fmt.money(customer.balance_due) })));
  }
  const steps = (item.pop && item.pop.script && item.pop.script.steps) || [];
  if (steps.length) {
    body.push(el("details", { class: "chat-script" }, el("summary", {}, t("chat.desk.script")),
      el("ol", {}, steps.map((step) => el("li", {}, step.text)))));
  }
  if (item.error) body.push(el("p", { class: "alert", role: "alert" }, item.error));
  // Focusable: a long conversation scrolls, and a keyboard must reach what scrolled away.
  body.push(el("ol", { class: "chat-log", "aria-label": t("chat.desk.messages", { name: item.name }), tabindex: "0" },
    item.messages.map(messageItem)));
  if (item.typing) body.push(el("p", { class: "chat-typing" }, t("chat.desk.typing")));
  if (!readOnly && item.state === "offered" && !item.ended) {
    body.push(el("div", { class: "chat-actions" },
      el("button", { type: "button", onclick: () => act(item, () => accept(item)) }, t("chat.desk.accept")),
      el("button", { type: "button", class: "secondary", onclick: () => act(item, () => api(path(item.id, "decline"),
        { method: "POST" })) }, t("chat.desk.decline"))));
  }
  if (!readOnly && item.state === "connected" && !item.ended) body.push(compose(item), transfer(item));
  if (!readOnly && item.ended) body.push(wrapUp(item));
  return el("article", { class: "chat-card", "aria-labelledby": title, "data-chat": item.id }, body);
}

function compose(item) {
  const input = el("textarea", { id: `chat-input-${item.id}`, rows: "2", maxlength: "2000" });
  const link = el("input", { id: `chat-link-${item.id}`, type: "url", maxlength: "500", placeholder: "https://" });
  let typingSent = 0;
  input.addEventListener("input", () => {
    if (Date.now() - typingSent > 3000) {
      typingSent = Date.now();
      api(path(item.id, "typing"), { method: "POST" }).catch(() => {});
    }
  });
  const form = el("form", { class: "chat-compose", novalidate: true },
    el("label", { for: input.id }, t("chat.desk.message")), input,
    el("label", { for: link.id }, t("chat.desk.link")), link,
    el("div", { class: "chat-actions" },
      el("button", { type: "submit" }, t("chat.desk.send")),
      el("button", { type: "button", class: "secondary", onclick: () => act(item, () => api(path(item.id, "end"),
        { method: "POST" })) }, t("chat.desk.end"))));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    const body = { text };
    if (link.value.trim()) body.links = [link.value.trim()];
    // The draft goes at once (a render may come with the message's own frame before the answer); back if refused.
    input.value = "";
    link.value = "";
    act(item, async () => {
      try {
        received(item.id, await api(path(item.id, "messages"), { method: "POST", body }));
      } catch (error) {
        const again = document.getElementById(input.id);
        if (again) again.value = text;
        throw error;
      }
    });
  });
  return form;
}

function transfer(item) {
  const kind = el("select", { id: `chat-transfer-kind-${item.id}` },
    el("option", { value: "queue" }, t("desktop.transfer.queue")), el("option", { value: "agent" }, t("desktop.transfer.agent")));
  const target = el("input", { id: `chat-transfer-target-${item.id}`, maxlength: "64", required: true });
  const form = el("form", { class: "chat-transfer", novalidate: true },
    el("label", { for: kind.id }, t("desktop.transfer.to")), kind,
    el("label", { for: target.id }, t("desktop.transfer.target")), target,
    el("button", { type: "submit", class: "secondary" }, t("desktop.transfer")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { [kind.value === "agent" ? "agent_id" : "queue"]: target.value.trim() };
    act(item, async () => {
      await api(`/api/calls/${encodeURIComponent(item.id)}/transfer`, { method: "POST", body });
      chats.delete(item.id);
    });
  });
  return form;
}

function wrapUp(item) {
  const select = el("select", { id: `chat-disposition-${item.id}` },
    dispositions.map((code) => el("option", { value: code }, t(`disposition.${code}`))));
  const notes = el("textarea", { id: `chat-notes-${item.id}`, rows: "2", maxlength: "4000" });
  const form = el("form", { class: "chat-wrapup", novalidate: true },
    el("label", { for: select.id }, t("desktop.wrapup")), select,
    el("label", { for: notes.id }, t("chat.desk.notes")), notes,
    el("button", { type: "submit" }, t("chat.desk.save")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    act(item, async () => {
      await api(`/api/interactions/${encodeURIComponent(item.id)}/wrapup`, { method: "POST",
        body: { disposition: select.value, notes: notes.value } });
      chats.delete(item.id);
    });
  });
  return form;
}

function render() {
  if (!panel) return;
  const focused = document.activeElement && document.activeElement.id;
  const drafts = {};
  for (const input of panel.querySelectorAll("textarea, input")) drafts[input.id] = input.value;
  panel.hidden = chats.size === 0;
  panel.replaceChildren(el("h2", { id: "chats-title" }, t("chat.desk.title", { count: chats.size })),
    ...[...chats.values()].map(card));
  for (const [id, value] of Object.entries(drafts)) { const input = document.getElementById(id); if (input) input.value = value; }
  if (focused) { const again = document.getElementById(focused); if (again) again.focus(); }
  for (const log of panel.querySelectorAll(".chat-log")) log.scrollTop = log.scrollHeight;
}

function received(id, message) {
  const item = chats.get(id);
  if (!item || item.messages.some((m) => m.id === message.id)) return;
  item.messages.push(message);
  item.typing = false;
}

async function loadMessages(item) {
  const after = item.messages.length ? `?after=${encodeURIComponent(item.messages[item.messages.length - 1].id)}` : "";
  const { messages } = await api(`${path(item.id, "messages")}${after}`);
  for (const message of messages) received(item.id, message);
}

async function accept(item) {
  const taken = await api(path(item.id, "accept"), { method: "POST" });
  item.state = taken.state === "connected" ? "connected" : item.state;
  await loadMessages(item);
}

async function reload() {
  const { chats: live } = await api("/api/chats");
  for (const row of live) {
    const item = chat(row.chat_id);
    item.name = row.name || item.name;
    item.language = row.language || item.language;
    item.state = row.state === "connected" ? "connected" : "offered";
    await loadMessages(item);
  }
  render();
}

// The desktop's frames: true when this panel took the frame (a chat's), false for the call desk's.
function onFrame(frame) {
  const data = frame.data || {};
  if (frame.type === "snapshot") { reload().catch(() => {}); return false; }
  if ((frame.type === "offer" || frame.type === "call") && data.channel === "chat") {
    const item = chats.get(data.call_id);
    if (item && frame.type === "offer") { item.pop = data; render(); }
    if (item && frame.type === "call" && data.state === "connected") { item.state = "connected"; render(); }
    return true;
  }
  if (frame.type === "chat_offer") {
    const item = chat(data.chat_id);
    Object.assign(item, { name: data.name, language: data.language, state: "offered", ended: false });
    loadMessages(item).catch(() => {}).finally(render);
    render();
    return true;
  }
  if (frame.type === "chat_message") { received(data.chat_id, data); render(); return true; }
  if (frame.type === "chat_typing") {
    const item = chats.get(data.chat_id);
    if (item) { item.typing = true; render(); }
    return true;
  }
  if (frame.type === "chat_removed") { chats.delete(data.chat_id); render(); return true; }
  if (frame.type === "chat_ended") {
    const item = chats.get(data.chat_id);
    if (item) { item.ended = true; loadMessages(item).catch(() => {}).finally(render); }
    return true;
  }
  return false;
}

export function mountChats({ viewing = false, dispositionCodes = [] } = {}) {
  readOnly = viewing;
  dispositions = dispositionCodes;
  panel = el("section", { id: "chats", class: "chats", "aria-labelledby": "chats-title", hidden: true });
  const left = document.querySelector("#main .left");
  left.prepend(panel);
  onLanguageChange(render);
  return { onFrame };
}
