// The agent desktop: state buttons, the screen pop pushed over the websocket, the script, wrap-up.
import { api, el, liveSocket, requireToken } from "/ui/cti.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, agentId: null, pop: null, call: null, answers: {}, acwStart: null, timer: null };

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

async function act(fn) {
  try { showError(""); await fn(); } catch (error) { showError(error.message); }
}

function setText(id, value) { $(id).textContent = value === null || value === undefined ? "" : String(value); }

function list(id, items, render) {
  $(id).replaceChildren(...items.map((item) => el("li", {}, render(item))));
}

function renderAgent(agent) {
  if (!agent) return;
  setText("agent-state", agent.state);
  setText("agent-reason", agent.reason || "");
  if (agent.extension) $("extension").value = agent.extension;
  if (agent.state === "wrap_up" && state.pop) showWrapUp();
}

function renderCall(call) {
  state.call = call;
  if (!call) return;
  $("no-call").hidden = true;
  $("call-info").hidden = false;
  setText("call-state", call.state);
  setText("caller-number", call.caller_number);
  setText("call-queue", call.queue);
  $("transfer").hidden = call.state !== "connected" || Boolean(call.ended);
  if (call.ended && state.pop && state.pop.call_id === call.call_id) showWrapUp();
}

function renderPop(pop) {
  state.pop = pop;
  state.answers = {};
  state.scriptRecord = null;
  $("wrapup").hidden = true;
  $("wrapup-saved").hidden = true;
  $("save-wrapup").disabled = false;
  if (!pop) { $("pop").hidden = true; return; }
  $("pop").hidden = false;
  $("no-call").hidden = true;
  $("call-info").hidden = false;
  setText("caller-number", pop.caller_name ? `${pop.caller_name} (${pop.caller_number})` : pop.caller_number);
  setText("call-queue", pop.queue);
  setText("call-language", pop.language || "");
  setText("routing-reason", pop.routing ? pop.routing.reason : "");
  const transfer = pop.transfer;
  $("transfer-info").hidden = !transfer;
  setText("transfer-info", transfer ? `Transferred by ${transfer.from_agent}${transfer.note ? `: ${transfer.note}` : ""}` : "");
  renderVerification(pop.verification);
  const ivr = pop.ivr;
  setText("ivr-path", ivr ? (ivr.path || []).map((p) => p.intent ? `${p.node}:${p.intent}` : p.node).join(" → ") : "");
  const customer = pop.customer;
  $("unknown").hidden = Boolean(customer);
  setText("customer-name", customer ? customer.name : "Unknown caller");
  setText("customer-tier", customer ? customer.value_tier || "" : "");
  setText("customer-segment", customer ? customer.segment || "" : "");
  setText("customer-id", customer ? `#${customer.customer_id}` : "");
  setText("customer-balance", customer ? `Rp ${Number(customer.balance_due).toLocaleString("id-ID")}` : "");
  setText("customer-ltv", customer ? `Rp ${Number(customer.lifetime_value).toLocaleString("id-ID")}` : "");
  setText("customer-phones", customer ? customer.phones.join(", ") : pop.caller_number);
  setText("customer-address", customer ? [customer.address, customer.city].filter(Boolean).join(", ") : "");
  list("products", customer ? customer.products : [], (p) => `${p.name} (since ${p.since})`);
  list("orders", customer ? customer.open_orders : [], (o) => `${o.order_number}: ${o.status}, ${o.shipment_status || ""}`);
  list("cases", customer ? customer.open_cases : [], (c) => `${c.case_id} ${c.subject} (${c.status}, ${c.priority})`);
  list("contacts", customer ? customer.contacts : [], (c) =>
    `${c.at.slice(0, 10)} ${c.channel} ${c.disposition || ""}: ${c.notes || ""}`);
  const offers = pop.crosssell ? pop.crosssell.offers : [];
  list("crosssell", offers, (o) => [el("strong", {}, o.name), " — ", o.reason]);
  $("crosssell-none").hidden = offers.length > 0;
  setText("crosssell-none", pop.crosssell && pop.crosssell.suppressed ? `No offers: ${pop.crosssell.suppressed}` : "No offers.");
  $("accepted").replaceChildren(...offers.map((o) =>
    el("label", {}, el("input", { type: "checkbox", value: o.sku, class: "accept" }), ` accepted: ${o.name} `)));
  setText("script-title", pop.script ? pop.script.title : "");
  renderSteps(pop.script ? pop.script.steps : []);
  // A script over its rendering budget: the pop still comes, and says so instead of the steps.
  if (pop.script && pop.script.error) $("script").append(el("p", { class: "hint", id: "script-error" }, pop.script.error));
}

const HOW_VERIFIED = { caller_id: "caller ID", pin: "PIN", dob: "date of birth" };

// Whether the caller proved who they are; a customer number they only keyed in the IVR is shown as a claim.
function renderVerification(verification) {
  const v = verification || { verified: false, method: "none", claimed: null };
  const box = $("caller-verified");
  const claim = v.claimed ? ` — claimed customer #${v.claimed}, not verified` : "";
  box.textContent = (v.verified ? `verified (${HOW_VERIFIED[v.method] || v.method})` : "not verified") + claim;
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
            class: sameAnswer(step.answer, choice.value) ? "chosen" : null,
            "data-answer": choice.value,
            onclick: () => answer(step.step_id, choice.value),
          }, choice.label));
        }
      } else {
        const input = el("input", { "data-input": step.step_id, value: step.answer ?? "" });
        box.append(input, el("button", { onclick: () => answer(step.step_id, input.value) }, "OK"));
      }
    }
    return box;
  }));
}

// Yes/no answers come back from the server as booleans.
function sameAnswer(answer, value) {
  return answer === value || (typeof answer === "boolean" && (answer ? "yes" : "no") === value);
}

let socket = null;
function answer(stepId, value) {
  state.answers[stepId] = value;
  socket.send({ type: "script", id: Date.now(), call_id: state.pop.call_id, answers: state.answers });
}

function showWrapUp() {
  if (!$("wrapup").hidden || !state.pop || !$("wrapup-saved").hidden) return;
  $("wrapup").hidden = false;
  state.acwStart = Date.now();
  clearInterval(state.timer);
  state.timer = setInterval(() => setText("acw-timer", `${Math.round((Date.now() - state.acwStart) / 1000)} s`), 1000);
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    renderAgent(frame.data.agent);
    if (frame.data.pop) renderPop(frame.data.pop);
    renderCall(frame.data.call);
  } else if (frame.type === "offer") {
    renderPop(frame.data);
  } else if (frame.type === "call") {
    renderCall(frame.data);
  } else if (frame.type === "agent") {
    renderAgent(frame.data);
  } else if (frame.type === "script") {
    state.scriptRecord = frame.data.answers;  // validated and normalised by the server: what gets stored
    renderSteps(frame.data.steps);
  } else if (frame.type === "error") {
    showError(frame.error.message);
  }
}

async function start() {
  state.me = await api("/api/me");
  state.agentId = state.me.agent_id;
  setText("agent-name", state.me.name);
  const { dispositions } = await api("/api/dispositions");
  $("disposition").replaceChildren(...dispositions.map((d) => el("option", { value: d }, d)));
  const agentPath = `/api/agents/${encodeURIComponent(state.agentId)}`;
  $("login").onclick = () => act(() => api(`${agentPath}/login`, { method: "POST", body: { extension: $("extension").value, ready: true } }));
  $("ready").onclick = () => act(() => api(`${agentPath}/state`, { method: "POST", body: { state: "ready" } }));
  $("not-ready").onclick = () => act(() => api(`${agentPath}/state`, { method: "POST", body: { state: "not_ready", reason: $("reason").value } }));
  $("transfer-go").onclick = () => act(async () => {
    const target = $("transfer-target").value.trim();
    const body = { note: $("transfer-note").value };
    body[$("transfer-kind").value === "agent" ? "agent_id" : "queue"] = target;
    await api(`/api/calls/${encodeURIComponent(state.pop.call_id)}/transfer`, { method: "POST", body });
    $("transfer").hidden = true;
  });
  $("create-customer").onclick = () => act(async () => {
    const created = await api("/api/customers", { method: "POST", body: { call_id: state.pop.call_id, name: $("new-name").value } });
    const record = await api(`/api/customers/${created.customer_id}`);
    renderPop({ ...state.pop, customer: record });
  });
  $("save-wrapup").onclick = () => act(async () => {
    const offered = (state.pop.crosssell ? state.pop.crosssell.offers : []).map((o) => o.sku);
    const accepted = [...document.querySelectorAll("input.accept:checked")].map((box) => box.value);
    const script = state.scriptRecord || { script_id: state.pop.script && state.pop.script.script_id, answers: state.answers };
    const body = { disposition: $("disposition").value, notes: $("notes").value, script_answers: script,
                   crosssell: { offered, accepted }, ready: true };
    if ($("follow-date").value && $("follow-task").value) body.follow_up = { due: $("follow-date").value, task: $("follow-task").value };
    await api(`/api/interactions/${state.pop.call_id}/wrapup`, { method: "POST", body });
    clearInterval(state.timer);
    $("wrapup-saved").hidden = false;
    $("save-wrapup").disabled = true;
    $("pop").hidden = true;
  });
  socket = liveSocket("/ws/desktop", onFrame, { onStatus: (status) => setText("link", status) });
}

requireToken(() => act(start));
