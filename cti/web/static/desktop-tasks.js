// The agent desktop's follow-up tasks, as the callbacks page lists callbacks: the open tasks of GET /api/tasks (the
// messages customers left out of hours for an e-mail answer, the follow-ups of wrap-ups), due first. The list is
// loaded when the desktop's socket (re)connects (its snapshot frame: frames may have been missed) and on demand; in
// between, the socket's frames keep it current: "task" (a task set, or taken by this agent: shown as it is now) and
// "task_removed" (taken by a colleague, or completed). A card says whom, what and when, with the customer's own
// words; the agent takes a task (POST /api/tasks/<id>/claim: no colleague sees it then), and completes it: an e-mail
// task with the answer they write, which the server mails to the customer (POST /api/tasks/<id>/complete); any
// other marked done. A completed task leaves the list. The agent's own desktop only. Nothing is built from data as
// HTML.
import { ApiError, api, el } from "/ui/cti.js";
import { errorText, fmt, has, onLanguageChange, t } from "/ui/i18n.js";

const $ = (id) => document.getElementById(id);
let tasks = [];
let agentId = null;
let notice = null;  // [key, params]
let failure = null;
let loading = null;  // the list being loaded
let stale = false;  // a frame came while it was: load it again, so the list is never older than a frame
const completing = new Set();  // tasks this agent is completing: their removal frame is no news to them
const drafts = new Map();  // task id -> the answer being written: kept across refreshes and re-renders

const path = (task, action) => `/api/tasks/${encodeURIComponent(task.task_id)}/${action}`;
const label = (prefix, value) => (has(`${prefix}.${value}`) ? t(`${prefix}.${value}`) : value);

function say(key, params = {}) {
  notice = key ? [key, params] : null;
  failure = null;
  render();
}

function refuse(error) {
  notice = null;
  failure = error;
  render();
}

function meta(task) {
  const parts = [t("tasks.due", { due: fmt.dateTime(task.due_at) }), label("tasks.kind", task.kind)];
  if (task.queue) parts.push(t("tasks.queue", { queue: task.queue }));
  if (task.claimed_by) {
    parts.push(task.claimed_by === agentId ? t("tasks.yours") : t("tasks.taken_by", { agent: task.claimed_by }));
  }
  return parts.join(" · ");
}

function card(task) {
  const title = `task-title-${task.task_id}`;
  const who = task.customer_name || task.customer_id;
  const body = [
    el("h3", { id: title }, who),
    el("p", { class: "task-meta" }, meta(task)),
    el("p", { class: "task-what" }, task.source === "left_message" ? t("tasks.left_message") : task.task),
  ];
  if (task.notes) {
    body.push(el("p", { class: "task-notes", "aria-label": t(task.source === "left_message" ? "tasks.their_words"
      : "tasks.notes") }, task.notes));
  }
  const actions = el("div", { class: "row" });
  if (!task.claimed_by) {
    actions.append(el("button", { type: "button", class: "secondary", onclick: () => claim(task).catch(failed) },
      t("tasks.take")));
  }
  if (task.kind === "email") {
    const id = `task-answer-${task.task_id}`;
    const answer = el("textarea", { id, rows: "4", maxlength: "10000",
      oninput: (event) => drafts.set(task.task_id, event.target.value) });
    answer.value = drafts.get(task.task_id) || "";
    body.push(el("form", { class: "task-answer", onsubmit: (event) => { event.preventDefault(); complete(task).catch(failed); } },
      el("label", { for: id }, t("tasks.answer", { customer: who })), answer,
      el("div", { class: "row" }, el("button", { type: "submit" }, t("tasks.send")), actions)));
  } else {
    actions.append(el("button", { type: "button", onclick: () => complete(task).catch(failed) }, t("tasks.done")));
    body.push(actions);
  }
  return el("li", { class: "task", "data-task": task.task_id, "aria-labelledby": title }, el("article", {}, ...body));
}

function render() {
  $("tasks-count").textContent = tasks.length ? `(${tasks.length})` : "";
  $("tasks-list").replaceChildren(...tasks.map(card));
  $("tasks-empty").hidden = tasks.length > 0;
  $("tasks-notice").textContent = notice ? t(...notice) : "";
  $("tasks-error").textContent = failure ? (failure instanceof ApiError ? errorText(failure) : t("tasks.network")) : "";
}

async function load() {
  tasks = (await api("/api/tasks?limit=200")).tasks;
  for (const id of drafts.keys()) if (!tasks.some((task) => task.task_id === id)) drafts.delete(id);
}

function refresh() {
  if (loading) { stale = true; return loading; }
  loading = (async () => {
    do { stale = false; await load(); } while (stale);
  })().finally(() => { loading = null; render(); });
  return loading;
}

const due = (task) => Date.parse(task.due_at);
const customerOf = (task) => task.customer_name || task.customer_id;

function show(task) {  // as the server has it now, in its place: due first
  tasks = [...tasks.filter((t) => t.task_id !== task.task_id), task]
    .sort((a, b) => due(a) - due(b) || a.task_id - b.task_id);
}

function drop(taskId) {
  tasks = tasks.filter((task) => task.task_id !== taskId);
  drafts.delete(taskId);
}

async function claim(task) {
  show(await api(path(task, "claim"), { method: "POST" }));
  say("tasks.taken", { customer: customerOf(task) });
}

async function complete(task) {
  const body = task.kind === "email" ? { answer: (drafts.get(task.task_id) || "").trim() } : {};
  if (task.kind === "email" && !body.answer) { refuse(new ApiError(422, "no answer written", "answer_required")); return; }
  completing.add(task.task_id);
  try {
    await api(path(task, "complete"), { method: "POST", body });
  } finally {
    completing.delete(task.task_id);
  }
  drop(task.task_id);
  say(task.kind === "email" ? "tasks.mailed" : "tasks.completed", { customer: customerOf(task) });
}

function failed(error) {
  // Taken or completed by someone else meanwhile: the list as it is now, and why the action did not happen.
  if (error instanceof ApiError && ["task_not_found", "task_taken", "task_done"].includes(error.code)) {
    refresh().catch(() => {});
  }
  refuse(error);
}

// The desktop's socket frames: true when this panel took the frame.
function onFrame(frame) {
  const data = frame.data || {};
  if (frame.type === "snapshot") { refresh().catch(refuse); return false; }
  if (frame.type !== "task" && frame.type !== "task_removed") return false;
  if (loading) stale = true;
  if (frame.type === "task") {
    const known = tasks.some((task) => task.task_id === data.task.task_id);
    show(data.task);
    if (!known && data.change === "created") say("tasks.arrived", { customer: customerOf(data.task) });
    else render();
  } else {
    const gone = tasks.find((task) => task.task_id === data.task_id);
    drop(data.task_id);
    // Removed because this agent completed it: the answer to their click said so already.
    if (gone && !completing.has(data.task_id)) say("tasks.gone", { customer: customerOf(gone) });
    else render();
  }
  return true;
}

// The panel on the agent's own desktop: ``agent`` is their agent id (a task they took says "yours"). The desktop
// hands the panel its socket's frames (onFrame); the list loads on the socket's first snapshot.
export function mountTasks({ agent }) {
  agentId = agent;
  $("tasks").hidden = false;
  $("tasks-refresh").addEventListener("click", () => refresh().catch(refuse));
  onLanguageChange(render);
  return { onFrame };
}
