// The agent desktop: state and its timer, an incoming call nobody misses, the screen pop pushed over the
// websocket, the script, wrap-up. It shows the present only: a call that ended leaves its pop for the wrap-up
// form, and once the wrap-up is saved the desk is empty again; a reload starts from the server's snapshot.
import { api, el, liveSocket } from "/ui/cti.js";
import { errorText, fmt, has, language, onLanguageChange, t } from "/ui/i18n.js";
import { myRecordedCalls, recordingControls } from "/ui/recording.js";
import { handleApiError, setDisplayName, startPage } from "/ui/shell.js";
import { mountWebphone } from "/ui/webphone.js";
import { mountChats } from "/ui/desktop-chat.js";
import { mountTasks } from "/ui/desktop-tasks.js";

const $ = (id) => document.getElementById(id);
const SAVED_SHOWN_MS = 6000;
const state = {
  agentId: null, agent: null, pop: null, call: null, answers: {}, scriptRecord: null, steps: [],
  wrap: null,  // the call the wrap-up form is for: { callId, offers, scriptId, endedAt }
  dispositions: [], link: { state: "offline", why: "" }, incomingFor: null,
  previewed: null,  // the scheduled callback previewed now, as GET /api/callbacks/{id} has it
};

const recording = recordingControls($("recording"), (message) => showError(message));

const label = (prefix, code) => (code === null || code === undefined || code === "" ? "" : (has(`${prefix}.${code}`) ? t(`${prefix}.${code}`) : String(code)));

let shownError = null;  // the error on screen, said again after a language switch

function showErrorOf(error) {
  shownError = error;
  showError(error ? errorText(error) : "");
}

function showError(message) {
  $("error").textContent = message || "";
  $("error").hidden = !message;
}

async function act(fn) {
  try {
    showErrorOf(null);
    await fn();
  } catch (error) {
    if (!handleApiError(error, "roles.agents")) showErrorOf(error);
  }
}

function setText(id, value) { $(id).textContent = value === null || value === undefined ? "" : String(value); }

function list(id, items, render) {
  $(id).replaceChildren(...items.map((item) => el("li", {}, render(item))));
}

// -- the agent's state and the timers -------------------------------------------------------------------------
function since(iso) {
  const at = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, (Date.now() - at) / 1000);
}

function tick() {
  const agent = state.agent;
  setText("state-timer", agent && agent.state !== "logged_out" ? fmt.duration(since(agent.state_since)) : "");
  const call = state.call;
  setText("call-timer", call && !call.ended && call.answered_at ? fmt.duration(since(call.answered_at)) : "");
  setText("hold-timer", call && !call.ended && call.held ? fmt.duration(since(call.held_since)) : "");
  setText("acw-timer", state.wrap ? fmt.duration((Date.now() - state.wrap.endedAt) / 1000) : "");
}

function renderAgent() {
  const agent = state.agent;
  const code = agent ? agent.state : "";
  $("agent-state").dataset.state = code;
  $("state-box").dataset.state = code;
  setText("agent-state", agent ? label("state", code) : "–");
  setText("agent-reason", agent && agent.reason && code === "not_ready" ? label("reason", agent.reason) : "");
  if (agent && agent.name) setDisplayName(agent.name);
  tick();
  renderIncoming();
}

function onAgent(agent) {
  if (!agent) return;
  const wasRinging = state.agent && state.agent.state === "ringing";
  state.agent = agent;
  if (agent.extension && document.activeElement !== $("extension")) $("extension").value = agent.extension;
  renderAgent();
  if (agent.state === "ringing" && !wasRinging) ring();
  // An offer that went unanswered (the phone rang out, was busy or refused it): the call went on without this
  // desk, so its pop goes too. A call that ended keeps its pop for the wrap-up.
  const missed = wasRinging && ["ready", "not_ready", "logged_out"].includes(agent.state);
  if (missed && !state.wrap && !(state.call && (state.call.state === "connected" || state.call.ended))) clearDesk();
}

// -- an incoming call: banner, sound, announcement -----------------------------------------------------------
let audio = null;
function unlockAudio() {  // browsers let a page play sound only after the user did something on it
  if (audio || !window.AudioContext) return;
  audio = new AudioContext();
}
document.addEventListener("pointerdown", unlockAudio, { capture: true });
document.addEventListener("keydown", unlockAudio, { capture: true });

function ring() {
  if (!audio) return;
  if (audio.state === "suspended") audio.resume();
  const start = audio.currentTime + 0.02;
  [880, 660, 880].forEach((pitch, i) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = pitch;
    gain.gain.setValueAtTime(0.18, start + i * 0.22);
    gain.gain.exponentialRampToValueAtTime(0.001, start + i * 0.22 + 0.18);
    tone.connect(gain).connect(audio.destination);
    tone.start(start + i * 0.22);
    tone.stop(start + i * 0.22 + 0.2);
  });
}

function callerLabel(pop) {
  if (!pop) return "";
  const name = pop.customer ? pop.customer.name : pop.caller_name;
  return name ? `${name} (${pop.caller_number})` : pop.caller_number;
}

function announce(text) {
  $("announcer").textContent = "";
  setTimeout(() => { $("announcer").textContent = text; }, 50);  // a change, so screen readers say it again
}

function renderIncoming() {
  const agent = state.agent;
  const ringing = Boolean(agent && agent.state === "ringing") && !isPreviewing();
  $("incoming").hidden = !ringing;
  renderPreview();
  if (!ringing) { state.incomingFor = null; return; }
  const pop = state.pop && (!agent.call_id || state.pop.call_id === agent.call_id) ? state.pop : null;
  const outbound = pop && pop.direction === "outbound";
  setText("incoming-from", !pop ? "" : outbound ? t("dial.outbound.ringing", { who: callerLabel(pop) })
    : t("desktop.incoming.from", { who: callerLabel(pop), queue: pop.queue }));
  const key = `${agent.call_id || ""}:${pop ? pop.call_id : ""}`;
  if (state.incomingFor !== key) {
    state.incomingFor = key;
    announce(t("desktop.announce.incoming", { who: pop ? callerLabel(pop) : "" }));
  }
}

function showCaller() {
  if ($("pop").hidden) return;
  $("pop").scrollIntoView({ block: "start" });
  $("customer-name").setAttribute("tabindex", "-1");
  $("customer-name").focus();
}

// -- the call panel ------------------------------------------------------------------------------------------
// Calling the customer back from the pop: once this call is over (the agent in wrap-up), on the record's phone.
function renderPopDial() {
  const customer = state.pop && state.pop.customer;
  $("pop-dial").hidden = !(customer && customer.phones.length && state.call && state.call.ended);
}

function renderCall() {
  renderPopDial();
  renderPreview();
  const call = state.call;
  const pop = state.pop;
  $("no-call").hidden = Boolean(call || pop);
  $("call-info").hidden = !(call || pop);
  if (call) {
    $("call-state").dataset.state = call.state;
    setText("call-state", label("callstate", call.state));
  } else {
    setText("call-state", "");
  }
  setText("call-queue", (pop && pop.queue) || (call && call.queue) || "");
  setText("caller-number", pop ? callerLabel(pop) : (call ? call.caller_number : ""));
  const live = Boolean(call && call.state === "connected" && !call.ended);
  const consult = live ? call.consult || null : null;
  if (!live) clearTransfer();
  if (!live || consult) clearConsult();
  $("transfer").hidden = !live || Boolean(consult);
  $("consult").hidden = !live || Boolean(consult);
  // Each control only where it makes sense: resume while held, unmute while muted, tones to a caller who listens
  // (or during a consult, to the party consulted once they answered); no hold or resume while consulting.
  const held = live && Boolean(call.held);
  const muted = live && Boolean(call.muted);
  $("call-controls").hidden = !live;
  $("hold").hidden = held || Boolean(consult);
  $("resume").hidden = !held || Boolean(consult);
  $("mute").hidden = muted;
  $("unmute").hidden = !muted;
  // The post-call survey: offered once per call, to a caller the CRM knows (their answers belong to them).
  const surveyed = live && state.surveyOffered === call.call_id;
  $("survey-offer").hidden = !live || surveyed || Boolean(consult) || !call.customer_id || call.channel === "chat";
  $("survey-info").hidden = !surveyed;
  $("hold-info").hidden = !held;
  $("mute-info").hidden = !muted;
  const answered = Boolean(consult && consult.answered_at);
  const conference = Boolean(consult && consult.state === "conference");
  $("consult-controls").hidden = !consult;
  $("consult-complete").hidden = !answered || conference;
  $("consult-conference").hidden = !answered || conference;
  $("consult-cancel").hidden = !consult;
  $("conference-leave").hidden = !conference;
  $("consult-info").hidden = !consult;
  setText("consult-info", !consult ? "" : t(conference ? "desktop.consult.conference.on"
    : (answered ? "desktop.consult.talking" : "desktop.consult.ringing"), { who: consult.target }));
  $("dtmf").hidden = !live || (consult ? !answered : held);
  if (!live) $("dtmf-digits").value = "";
  recording.update(live ? call : null);
  if (webphone) webphone.show(live ? call : null);  // the browser phone's panel says held and muted too
  tick();
}

async function control(action, body) {
  const call = state.call;
  if (!call || call.ended) return;
  const path = `/api/calls/${encodeURIComponent(call.call_id)}/${action}`;
  const result = await api(path, body ? { method: "POST", body } : { method: "POST" });
  // The call frame follows over the websocket; the answer shows the change at once.
  // A call handed to another agent (a completed consult) is theirs: this desk hears it is over from the websocket.
  const handedOn = result.agent_id && state.agentId && result.agent_id !== state.agentId;
  if (state.call && state.call.call_id === result.call_id && result.state !== "ended" && !handedOn) onCall({ ...state.call, ...result });
}

function clearConsult() {
  $("consult-kind").value = "agent";
  $("consult-target").value = "";
  $("consult-note").value = "";
}

function clearTransfer() {
  $("transfer-kind").value = "queue";
  $("transfer-target").value = "";
  $("transfer-note").value = "";
}

function onCall(call) {
  if (!call) return;
  if (state.pop && call.call_id !== state.pop.call_id) return;  // an older call's late news
  // The end of a call the desk no longer shows (a caller who hung up while the phone rang: the desk emptied when
  // the agent was free again, and the call's last news can come after): nothing of it is left to show.
  if (!state.pop && call.ended) return;
  state.call = call;
  renderCall();
  if (call.ended && state.pop && state.pop.call_id === call.call_id) {
    openWrapUp();
    announce(t("desktop.announce.ended"));
  }
}

// -- the pop -------------------------------------------------------------------------------------------------
// -- a scheduled callback's preview: the agent dials it or skips it ----------------------------------------------
function isPreviewing() {
  const pop = state.pop;
  const agent = state.agent;
  return Boolean(pop && pop.callback_id && agent && agent.state === "ringing" && (!agent.call_id || agent.call_id === pop.call_id)
    && (!state.call || (state.call.state === "preview" && !state.call.ended)));
}

async function renderPreview() {
  const pop = state.pop;
  const previewing = isPreviewing();
  $("preview").hidden = !previewing;
  if (!previewing) return;
  setText("preview-who", callerLabel(pop));
  if (!state.previewed || state.previewed.callback_id !== pop.callback_id) {
    try {
      state.previewed = await api(`/api/callbacks/${encodeURIComponent(pop.callback_id)}`);
    } catch (error) {
      showErrorOf(error);
      return;
    }
  }
  setText("preview-reason", state.previewed.reason);
  setText("preview-attempts", t("callback.attempts", { n: state.previewed.dialed }));
}

function previewAction(action) {
  return () => act(async () => {
    const pop = state.pop;
    if (!pop || !pop.callback_id) return;
    await api(`/api/callbacks/${encodeURIComponent(pop.callback_id)}/${action}`, { method: "POST", body: {} });
  });
}

function onOffer(pop) {
  state.pop = pop;
  state.call = null;
  state.answers = {};
  state.scriptRecord = null;
  state.steps = pop && pop.script ? pop.script.steps : [];
  $("wrapup-saved").hidden = true;
  clearTransfer();
  renderPop();
  renderCall();
  renderIncoming();
}

// Why the call came to this agent, from the decision's codes and values (pop.routing.why) in the agent's language;
// the server's English sentence (pop.routing.reason) only for a code this page does not know, in English.
function whyText(part) {
  const params = { ...(part.params || {}) };
  if (!has(`routing.why.${part.code}`)) return null;
  if (part.code === "offered") {
    params.strategy = label("strategy", params.strategy);
    params.step = fmt.number(params.step + 1);  // the rules' first step is step 1 to a person
    params.region = label("routing.target", params.region);
    params.language = label("routing.target", params.language);
    const extra = ["min_level", "team"].filter((key) => params[key] !== undefined).map((key) => t(`routing.why.${key}`, params));
    return [t("routing.why.offered", params), ...extra].join("; ");
  }
  return t(`routing.why.${part.code}`, params);
}

function routingText(routing) {
  if (!routing) return "";
  const parts = (routing.why || []).map(whyText);
  if (parts.length && parts.every((part) => part !== null)) return parts.join("; ");
  return language() === "en" ? (routing.reason || "") : parts.filter(Boolean).join("; ");
}

function renderPop() {
  const pop = state.pop;
  $("pop").hidden = !pop;
  if (!pop) { clearPop(); return; }
  setText("call-language", label("lang", pop.language));
  setText("routing-reason", routingText(pop.routing));
  const transfer = pop.transfer;
  $("transfer-info").hidden = !transfer;
  const how = transfer && transfer.kind === "consult" ? "desktop.consulted" : "desktop.transferred";
  setText("transfer-info", !transfer ? "" : (transfer.note
    ? t(`${how}.note`, { agent: transfer.from_agent, note: transfer.note })
    : t(how, { agent: transfer.from_agent })));
  renderVerification(pop.verification);
  const ivr = pop.ivr;
  setText("ivr-path", ivr ? (ivr.path || []).map((p) => (p.intent ? `${p.node}:${p.intent}` : p.node)).join(" → ") : "");
  for (const id of ["ivr-path", "call-language", "routing-reason"]) {  // a fact the call does not have: no empty row
    $(id).hidden = !$(id).textContent;
    $(id).previousElementSibling.hidden = $(id).hidden;
  }
  const customer = pop.customer;
  // Another CRM is the source and did not answer: the record is cti's copy (or none), maybe out of date.
  const crm = pop.crm;
  $("crm-fallback").hidden = !(crm && crm.fallback);
  setText("crm-fallback", crm && crm.fallback ? t(customer ? "desktop.crm.fallback" : "desktop.crm.fallback.unknown") : "");
  $("crm-fallback").title = crm && crm.fallback ? crm.reason || "" : "";
  $("unknown").hidden = Boolean(customer);
  setText("customer-name", customer ? customer.name : t("desktop.unknown"));
  $("customer-tier").dataset.tier = customer ? customer.value_tier || "" : "";
  setText("customer-tier", customer ? label("tier", customer.value_tier) : "");
  setText("customer-segment", customer ? label("segment", customer.segment) : "");
  setText("customer-id", customer ? `#${customer.customer_id}` : "");
  setText("customer-balance", customer ? fmt.money(customer.balance_due) : "");
  setText("customer-ltv", customer ? fmt.money(customer.lifetime_value) : "");
  setText("customer-phones", customer ? customer.phones.join(", ") : pop.caller_number);
  renderPopDial();
  setText("customer-address", customer ? [customer.address, customer.city].filter(Boolean).join(", ") : "");
  list("products", customer ? customer.products : [], (p) => t("desktop.product", { name: p.name, since: fmt.date(p.since) }));
  list("orders", customer ? customer.open_orders : [], (o) =>
    `${o.order_number}: ${[label("order", o.status), label("shipment", o.shipment_status)].filter(Boolean).join(", ")}`);
  list("cases", customer ? customer.open_cases : [], (c) =>
    `${c.case_id} ${c.subject} (${label("case", c.status)}, ${label("priority", c.priority)})`);
  list("contacts", customer ? customer.contacts : [], (c) =>
    `${fmt.date(c.at)} ${label("channel", c.channel)} ${label("disposition", c.disposition)}: ${c.notes || ""}`);
  // What the customer did on the portal lately, said in the agent's language ("looked up order 7001 on the web
  // 10 minutes ago"): the server words it in both.
  const web = customer && customer.web_activity ? customer.web_activity : [];
  list("web-activity", web, (w) => w.text[language()] || w.text.id);
  $("web-activity-heading").hidden = web.length === 0;
  renderSurvey(customer ? pop.survey : null);
  const offers = pop.crosssell ? pop.crosssell.offers : [];
  list("crosssell", offers, (o) => [el("strong", {}, o.name), " — ", o.reason]);
  $("crosssell-none").hidden = offers.length > 0;
  setText("crosssell-none", pop.crosssell && pop.crosssell.suppressed
    ? t("desktop.nooffers.why", { why: label("suppressed", pop.crosssell.suppressed) }) : t("desktop.nooffers"));
  setText("script-title", pop.script ? pop.script.title : "");
  renderSteps(state.steps);
  // A script over its rendering budget: the pop still comes, and says so instead of the steps.
  if (pop.script && pop.script.error) $("script").append(el("p", { class: "hint", id: "script-error" }, pop.script.error));
}

// What the customer told us in satisfaction surveys: the latest rating, its trend, whether their problem was
// solved, the preferences they stated (language, channel, contact time) and their latest comment.
function surveyLines(survey) {
  const lines = [];
  if (survey.latest_rating !== null && survey.latest_rating !== undefined) {
    lines.push(t("desktop.survey.latest", { rating: survey.latest_rating, date: survey.latest_at ? fmt.date(survey.latest_at) : "" }));
  }
  if (survey.trend && survey.trend.length > 1) {
    lines.push(t("desktop.survey.trend", { trend: survey.trend.join(" → "), direction: label("desktop.survey.direction", survey.direction) }));
  }
  if (survey.latest_resolved === true || survey.latest_resolved === false) {
    lines.push(t(survey.latest_resolved ? "desktop.survey.solved" : "desktop.survey.unsolved"));
  }
  for (const [what, value] of Object.entries(survey.preferences || {})) {
    lines.push(t("desktop.survey.prefers", { what: label("desktop.survey.pref", what), value: label(`desktop.survey.${what}`, value) }));
  }
  if (survey.comment) lines.push(`“${survey.comment}”`);
  return lines;
}

function renderSurvey(survey) {
  const lines = survey && survey.answered ? surveyLines(survey) : [];
  list("survey", lines, (line) => line);
  $("survey-heading").hidden = lines.length === 0;
}

// Why routing chose this agent, in the agent's words: the queue's strategy among how many, and whom the step took.
function clearPop() {
  for (const id of ["customer-name", "customer-tier", "customer-segment", "customer-id", "customer-balance", "customer-ltv",
    "customer-phones", "customer-address", "script-title", "call-language", "routing-reason", "ivr-path", "transfer-info",
    "caller-verified", "incoming-from"]) setText(id, "");
  for (const id of ["products", "orders", "cases", "contacts", "web-activity", "survey", "crosssell", "script"]) $(id).replaceChildren();
  $("web-activity-heading").hidden = true;
  $("survey-heading").hidden = true;
  $("transfer-info").hidden = true;
  $("crosssell-none").hidden = true;
  $("unknown").hidden = true;
  $("crm-fallback").hidden = true;
  $("new-name").value = "";
}

// Whether the caller proved who they are; a customer number they only keyed in the IVR is shown as a claim.
function renderVerification(verification) {
  const v = verification || { verified: false, method: "none", claimed: null };
  const box = $("caller-verified");
  const status = v.verified ? t("desktop.verified", { how: label("verify", v.method) }) : t("desktop.notverified");
  box.textContent = v.claimed ? t("desktop.claimed", { status, id: v.claimed }) : status;
  box.className = v.verified ? "ok" : "alert";
  box.dataset.verified = String(Boolean(v.verified));
}

function renderSteps(steps) {
  $("script").replaceChildren(...steps.map((step) => {
    const box = el("div", { class: "step", "data-step": step.step_id }, el("p", {}, step.text));
    if (step.hint) box.append(el("p", { class: "hint" }, step.hint));
    const question = step.question;
    if (question) {
      if (question.prompt) box.append(el("p", {}, el("em", {}, question.prompt)));
      if (question.choices && question.choices.length) {
        for (const choice of question.choices) {
          box.append(el("button", {
            type: "button",
            class: sameAnswer(step.answer, choice.value) ? "chosen secondary" : "secondary",
            "aria-pressed": String(sameAnswer(step.answer, choice.value)),
            "data-answer": choice.value,
            onclick: () => answer(step.step_id, choice.value),
          }, choice.label));
        }
      } else {
        const input = el("input", { "data-input": step.step_id, value: step.answer ?? "", "aria-label": question.prompt || step.text });
        box.append(input, el("button", { type: "button", onclick: () => answer(step.step_id, input.value) }, t("common.ok")));
      }
    }
    return box;
  }));
}

// Yes/no answers come back from the server as booleans.
function sameAnswer(given, value) {
  return given === value || (typeof given === "boolean" && (given ? "yes" : "no") === value);
}

let socket = null;
let chats = null;  // the chats' panel (desktop-chat.js): it takes the frames of chats
let taskPanel = null;  // the follow-up tasks' panel (desktop-tasks.js): it takes the frames of tasks
let webphone = null;  // the phone in the browser, on the agent's own desktop
function answer(stepId, value) {
  state.answers[stepId] = value;
  socket.send({ type: "script", id: Date.now(), call_id: state.pop.call_id, answers: state.answers });
}

// -- the agent's own recorded calls (their own desktop only) ----------------------------------------------------
let myCallsShown = false;
async function loadMyCalls() {
  if (!myCallsShown) return;
  const shown = await myRecordedCalls($("my-calls-list"), (message) => showError(message));
  setText("my-calls-status", shown ? "" : t("desktop.mycalls.none"));
}

// -- wrap-up -------------------------------------------------------------------------------------------------
function renderDispositions() {
  const chosen = $("disposition").value;
  $("disposition").replaceChildren(...state.dispositions.map((code) => el("option", { value: code }, label("disposition", code))));
  if (chosen) $("disposition").value = chosen;
}

function resetWrapUpForm() {
  $("wrapup-form").reset();
  $("accepted").replaceChildren();
  $("accepted-box").hidden = true;
}

function openWrapUp() {
  const pop = state.pop;
  if (!pop || (state.wrap && state.wrap.callId === pop.call_id)) return;
  resetWrapUpForm();
  const offers = pop.crosssell ? pop.crosssell.offers : [];
  state.wrap = { callId: pop.call_id, offers, scriptId: pop.script && pop.script.script_id, endedAt: Date.now() };
  $("accepted").replaceChildren(...offers.map((o) =>
    el("label", { class: "inline" }, el("input", { type: "checkbox", value: o.sku, class: "accept" }), o.name)));
  $("accepted-box").hidden = offers.length === 0;
  $("wrapup").hidden = false;
  tick();
}

// After the wrap-up (or when nothing is left to wrap up) the desk is empty: no pop, no call, no form.
function clearDesk() {
  state.wrap = null;
  state.pop = null;
  state.call = null;
  state.answers = {};
  state.scriptRecord = null;
  state.steps = [];
  resetWrapUpForm();
  $("wrapup").hidden = true;
  clearTransfer();
  clearConsult();
  renderPop();
  renderCall();
  renderIncoming();
}

let savedTimer = null;
async function saveWrapUp() {
  const wrap = state.wrap;
  if (!wrap) return;
  const accepted = [...document.querySelectorAll("input.accept:checked")].map((box) => box.value);
  const sameCall = state.pop && state.pop.call_id === wrap.callId;
  const script = (sameCall && state.scriptRecord) || { script_id: wrap.scriptId, answers: sameCall ? state.answers : {} };
  const body = { disposition: $("disposition").value, notes: $("notes").value, script_answers: script,
    crosssell: { offered: wrap.offers.map((o) => o.sku), accepted }, ready: true };
  if ($("follow-date").value && $("follow-task").value) body.follow_up = { due: $("follow-date").value, task: $("follow-task").value };
  if ($("callback-at").value && $("callback-reason").value) {
    body.callback = { due_at: new Date($("callback-at").value).toISOString(), reason: $("callback-reason").value,
      agent_first: $("callback-me-first").checked };
  }
  $("save-wrapup").disabled = true;
  try {
    await api(`/api/interactions/${encodeURIComponent(wrap.callId)}/wrapup`, { method: "POST", body });
  } finally {
    $("save-wrapup").disabled = false;
  }
  if (sameCall) clearDesk();
  else { state.wrap = null; resetWrapUpForm(); $("wrapup").hidden = true; }
  $("wrapup-saved").hidden = false;
  clearTimeout(savedTimer);
  savedTimer = setTimeout(() => { $("wrapup-saved").hidden = true; }, SAVED_SHOWN_MS);
}

// -- frames --------------------------------------------------------------------------------------------------
function onSnapshot(data) {
  state.agent = null;
  onAgent(data.agent);
  // The present: a live call with its pop; or a pop whose call ended and still waits for its wrap-up (the
  // server drops a pop once its wrap-up is saved); or nothing.
  state.wrap = null;
  resetWrapUpForm();
  $("wrapup").hidden = true;
  if (data.pop) {
    onOffer(data.pop);
    if (data.call && !data.call.ended) onCall(data.call);
    else onCall({ ...(data.call || {}), call_id: data.pop.call_id, state: data.call ? data.call.state : "ended", ended: true,
      queue: data.pop.queue, caller_number: data.pop.caller_number });
  } else {
    clearDesk();
  }
}

function onFrame(frame) {
  if (chats && chats.onFrame(frame)) return;
  if (taskPanel && taskPanel.onFrame(frame)) return;
  if (frame.type === "snapshot" && frame.data.pop && frame.data.pop.channel === "chat") {
    onSnapshot({ ...frame.data, pop: null, call: null });  // the chats' panel shows its chats itself
  } else if (frame.type === "snapshot") onSnapshot(frame.data);
  else if (frame.type === "offer") onOffer(frame.data);
  else if (frame.type === "call") onCall(frame.data);
  else if (frame.type === "agent") onAgent(frame.data);
  else if (frame.type === "wrapped_up") {
    if (state.pop && state.pop.call_id === frame.data.call_id) clearDesk();
    loadMyCalls();  // the call just wrapped up, with its recording (stored when the call ended)
  }
  else if (frame.type === "script") {
    state.scriptRecord = frame.data.answers;  // validated and normalised by the server: what gets stored
    state.steps = frame.data.steps;
    renderSteps(state.steps);
  } else if (frame.type === "error") showErrorOf(frame.error);
}

function renderLink() {
  const { state: status, why } = state.link;
  $("link").dataset.status = status;
  setText("link", t(`link.${status}`, { why }));
}

// -- keyboard ------------------------------------------------------------------------------------------------
function onKey(event) {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  const actions = {
    KeyR: () => $("ready").click(),
    KeyN: () => $("not-ready").click(),
    KeyA: () => showCaller(),
    KeyH: () => { const b = $("hold").hidden ? $("resume") : $("hold"); if (!$("call-controls").hidden) b.click(); },
    KeyM: () => { const b = $("mute").hidden ? $("unmute") : $("mute"); if (!$("call-controls").hidden) b.click(); },
    KeyX: () => { if (!$("call-controls").hidden) $("hangup").click(); },
    KeyK: () => { if (!$("dtmf").hidden) $("dtmf-digits").focus(); },
    KeyO: () => { if (!$("consult").hidden) $("consult-target").focus(); },
    KeyT: () => { if (!$("consult-complete").hidden) $("consult-complete").click(); },
    KeyC: () => { if (!$("consult-conference").hidden) $("consult-conference").click(); },
    KeyQ: () => { if (!$("consult-cancel").hidden) $("consult-cancel").click(); },
    KeyL: () => { if (!$("conference-leave").hidden) $("conference-leave").click(); },
    KeyW: () => {
      if ($("wrapup").hidden) return;
      if ($("wrapup").contains(document.activeElement)) $("wrapup-form").requestSubmit();
      else $("disposition").focus();
    },
  };
  const run = actions[event.code];
  if (run) { event.preventDefault(); run(); }
}

function rerender() {
  if (shownError) showError(errorText(shownError));
  recording.rerender();
  renderAgent();
  renderCall();
  renderPop();
  renderDispositions();
  renderLink();
  loadMyCalls();
}

// Controls answer from the first moment; what they do waits until the page knows who is signed in.
const viewing = new URLSearchParams(location.search).get("agent_id");  // staff looking at an agent's desktop
const ready = startPage({ page: "desktop", roles: viewing ? ["agent", "supervisor", "admin"] : ["agent"],
  rolesLabel: "roles.agents", needsAgent: !viewing });
const agentPath = () => `/api/agents/${encodeURIComponent(state.agentId)}`;
const whenReady = (fn) => () => act(async () => {
  const user = await ready;
  if (!user) return;
  state.agentId = state.agentId || viewing || user.agent_id;
  await fn();
});
const onSubmit = (id, fn) => $(id).addEventListener("submit", (event) => { event.preventDefault(); whenReady(fn)(); });

$("preview-dial").addEventListener("click", previewAction("dial"));
$("preview-skip").addEventListener("click", previewAction("skip"));
$("pop-dial").addEventListener("click", () => act(async () => {
  const customer = state.pop && state.pop.customer;
  if (customer) await api("/api/calls", { method: "POST", body: { customer_id: customer.customer_id, phone_index: 0 } });
}));
// An empty extension logs in with no phone: chats only.
$("login").addEventListener("click", whenReady(() => {
  const extension = $("extension").value.trim();
  return api(`${agentPath()}/login`, { method: "POST", body: extension ? { extension, ready: true } : { ready: true } });
}));
$("ready").addEventListener("click", whenReady(() => api(`${agentPath()}/state`, { method: "POST", body: { state: "ready" } })));
$("not-ready").addEventListener("click", whenReady(() => api(`${agentPath()}/state`, { method: "POST", body: { state: "not_ready", reason: $("reason").value } })));
$("incoming-show").addEventListener("click", showCaller);
$("my-calls-refresh").addEventListener("click", () => act(loadMyCalls));
for (const action of ["hold", "resume", "mute", "unmute", "hangup"]) $(action).addEventListener("click", whenReady(() => control(action)));
$("survey-offer").addEventListener("click", whenReady(async () => {
  const call = state.call;
  if (!call || call.ended) return;
  await api(`/api/calls/${encodeURIComponent(call.call_id)}/survey`, { method: "POST" });
  state.surveyOffered = call.call_id;
  onCall(state.call);
}));
onSubmit("dtmf", async () => {
  const digits = $("dtmf-digits").value.replace(/\s+/g, "").toUpperCase();
  if (!/^[0-9*#A-D]{1,32}$/.test(digits)) { showError(t("desktop.dtmf.invalid")); return; }
  await control("dtmf", { digits });
  $("dtmf-digits").value = "";
});
const consultSteps = { "consult-complete": "consult/complete", "consult-conference": "consult/conference",
  "consult-cancel": "consult/cancel", "conference-leave": "conference/leave" };
for (const [id, step] of Object.entries(consultSteps)) $(id).addEventListener("click", whenReady(() => control(step)));
onSubmit("consult", async () => {
  const target = $("consult-target").value.trim();
  const body = { note: $("consult-note").value };
  body[{ agent: "agent_id", queue: "queue", number: "number" }[$("consult-kind").value]] = target;
  await control("consult", body);
});
onSubmit("transfer", async () => {
  const target = $("transfer-target").value.trim();
  const body = { note: $("transfer-note").value };
  body[$("transfer-kind").value === "agent" ? "agent_id" : "queue"] = target;
  await api(`/api/calls/${encodeURIComponent(state.pop.call_id)}/transfer`, { method: "POST", body });
  clearTransfer();
  $("transfer").hidden = true;
});
onSubmit("create-form", async () => {
  const created = await api("/api/customers", { method: "POST", body: { call_id: state.pop.call_id, name: $("new-name").value } });
  const record = await api(`/api/customers/${encodeURIComponent(created.customer_id)}`);
  state.pop = { ...state.pop, customer: record };
  renderPop();
  renderCall();
});
onSubmit("wrapup-form", saveWrapUp);
document.addEventListener("keydown", onKey);

async function start() {
  const user = await ready;
  if (!user) return;
  state.agentId = viewing || user.agent_id;
  renderLink();
  onLanguageChange(rerender);
  const { dispositions } = await api("/api/dispositions");
  state.dispositions = dispositions;
  renderDispositions();
  chats = mountChats({ viewing: Boolean(viewing), dispositionCodes: dispositions });
  setInterval(tick, 1000);
  if (!viewing) {  // the agent's own recorded calls: their own desktop only
    myCallsShown = true;
    $("my-calls").hidden = false;
    loadMyCalls();
    taskPanel = mountTasks({ agent: user.agent_id });  // their follow-up tasks (desktop-tasks.js), kept by the socket
  }
  // -- the phone in the browser (webphone.js): the agent's own desktop only; it fills in its extension --
  if (!viewing) webphone = mountWebphone({ onExtension: (extension) => { $("extension").value = extension; } });
  const path = viewing ? `/ws/desktop?agent_id=${encodeURIComponent(viewing)}` : "/ws/desktop";
  socket = liveSocket(path, onFrame, { onStatus: (text, detail = {}) => {
    state.link = { state: detail.state || "disconnected", why: detail.error ? errorText(detail.error) : (detail.why || "") };
    renderLink();
  } });
}

act(start);
