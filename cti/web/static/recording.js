// Calls' recordings in the pages: the live call's recording (an indicator, and start, pause, resume and stop where
// the queue's policy allows them), and a player for a call's stored recordings. The audio is fetched like the API
// (the session cookie or the page's bearer header, never a token in a URL) and handed to the <audio> element as a
// blob: each press of "play" is one play in the audit log.
import { ApiError, api, el, token } from "/ui/cti.js";
import { errorText, fmt, t } from "/ui/i18n.js";

const ACTIONS = { off: ["start"], recording: ["pause", "stop"], paused: ["resume", "stop"] };

// The live call's recording, drawn into `container`; update(call) with the connected call, or null.
export function recordingControls(container, onError) {
  let callId = null;
  let current = null;
  const status = el("span", { class: "recording-status", role: "status" });
  const buttons = el("span", { class: "row" });
  container.replaceChildren(status, buttons);
  container.hidden = true;

  function render() {
    container.hidden = !current || current.mode === "never";
    if (container.hidden) return;
    const live = current.status !== "off";
    status.dataset.status = current.status;
    status.textContent = t(`recording.status.${current.status}`);
    const allowed = ACTIONS[current.status].filter((action) => !(action === "stop" && current.mode === "always"));
    buttons.replaceChildren(...allowed.map((action) => el("button", {
      type: "button", class: action === "start" || action === "resume" ? "" : "secondary",
      onclick: () => act(action),
    }, t(`recording.${action}`))));
    container.dataset.live = live ? "true" : "false";
  }

  async function act(action) {
    try {
      current = await api(`/api/calls/${encodeURIComponent(callId)}/recording`, { method: "POST", body: { action } });
      render();
    } catch (error) {
      onError(errorText(error));
    }
  }

  async function update(call) {
    const id = call && call.state === "connected" && !call.ended ? call.call_id : null;
    if (id === callId) return;
    callId = id;
    current = null;
    render();
    if (!id) return;
    try {
      const state = await api(`/api/calls/${encodeURIComponent(id)}/recording`);
      if (callId === id) { current = state; render(); }
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) onError(errorText(error));
    }
  }

  return { update, rerender: render };
}

async function audioBlob(url) {
  const headers = {};
  const bearer = token();
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  const response = await fetch(url, { headers, credentials: "same-origin" });
  if (!response.ok) throw new ApiError(response.status, response.statusText, null);
  return response.blob();
}

// One stored recording: when and how long, its pauses, and a play button that fetches the audio into a player.
function playerItem(recording, onError) {
  const audio = el("audio", { controls: true, preload: "none", hidden: true,
    "aria-label": t("recording.player", { when: fmt.time(recording.started_at) }) });
  const play = el("button", { type: "button", class: "secondary", onclick: async () => {
    try {
      if (!audio.src) audio.src = URL.createObjectURL(await audioBlob(recording.url));
      audio.hidden = false;
      play.hidden = true;
      await audio.play();
    } catch (error) {
      onError(errorText(error));
    }
  } }, t("recording.play"));
  const paused = recording.paused.length ? t("recording.paused", { count: recording.paused.length }) : "";
  return el("li", { "data-recording": recording.recording_id },
    el("span", {}, t("recording.item", { when: fmt.time(recording.started_at),
      length: fmt.duration(recording.seconds) })), paused ? el("span", { class: "note" }, ` ${paused}`) : null,
    " ", play, audio);
}

// The recordings of a past call (an interaction), each with a player; `container` gets the list.
export async function recordingPlayers(container, callId, onError) {
  container.replaceChildren();
  let recordings = [];
  try {
    ({ recordings } = await api(`/api/interactions/${encodeURIComponent(callId)}/recordings`));
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) onError(errorText(error));
    return 0;
  }
  container.append(...recordings.map((recording) => playerItem(recording, onError)));
  return recordings.length;
}

// The signed-in agent's own recently recorded calls (GET /api/me/recordings): each call (when, who, queue) with
// its recordings and their players; `container` (a list) gets them. How many calls.
export async function myRecordedCalls(container, onError, limit = 10) {
  let calls = [];
  try {
    ({ calls } = await api(`/api/me/recordings?limit=${limit}`));
  } catch (error) {
    onError(errorText(error));
    return 0;
  }
  container.replaceChildren(...calls.map((call) => el("li", { "data-call": call.call_id },
    el("span", { class: "recorded-call" }, t("recording.mine.call", { when: fmt.dateTime(call.arrived_at),
      who: call.caller_name ? `${call.caller_name} (${call.caller_number})` : call.caller_number,
      queue: call.queue })),
    el("ul", { class: "recordings" }, call.recordings.map((recording) => playerItem(recording, onError))))));
  return calls.length;
}
