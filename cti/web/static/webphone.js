// The agent's phone in the browser (docs/softphones.md#the-phone-in-the-browser): JsSIP (/ui/vendor/jssip.min.js,
// a classic script that sets window.JsSIP) registers the agent's own extension over cti's SIP relay (/ws/phone) and
// takes the calls offered to it; media flows between this page and Asterisk (DTLS-SRTP, ICE). The desktop rings
// for an offered call as for any phone (its own cue); this module adds the answer and hang-up buttons, which act on
// the WebRTC call. Hold and mute are the desktop's call controls (POST /api/calls/{id}/hold, ...: the server holds
// the caller with music and mutes the agent's channel, so the call's state and statistics stay right), never a
// SIP re-INVITE or a muted track of this page; the panel shows what they did (show(call)). Credentials come from GET /api/me/phone only when the agent turns the phone on, and stay in
// memory: never in storage, never in a URL.
import { ApiError, api } from "/ui/cti.js";
import { onLanguageChange, t } from "/ui/i18n.js";

const CHOICE = "cti.webphone";  // only the agent's choice (on or off) is remembered, never a credential
const RETRY_MS = 3000;
const STATUS = {  // literal keys, so the catalogue test sees them
  off: () => t("webphone.status.off"), connecting: () => t("webphone.status.connecting"),
  registered: () => t("webphone.status.registered"), failed: () => t("webphone.status.failed"),
  unavailable: () => t("webphone.status.unavailable"),
};

export function mountWebphone({ onExtension = () => {} } = {}) {
  const $ = (id) => document.getElementById(id);
  const box = $("webphone");
  const toggle = $("webphone-use");
  const answer = $("webphone-answer");
  const hangup = $("webphone-hangup");
  const speaker = $("webphone-audio");
  let ua = null;
  let session = null;
  let status = "off";
  let detail = "";
  let generation = 0;  // a phone stopped (or restarted) ignores what its old UA still reports
  let call = null;  // the desktop's connected call (held, muted), shown while this phone carries a call

  const render = () => {
    box.dataset.status = status;
    $("webphone-status").textContent = detail ? `${STATUS[status]()} — ${detail}` : STATUS[status]();
    const ringing = Boolean(session && !session.isEstablished() && !session.isEnded());
    answer.hidden = !ringing;
    hangup.hidden = !session || session.isEnded();
    const established = Boolean(session && session.isEstablished() && !session.isEnded());
    box.dataset.call = session ? (established ? "connected" : "ringing") : "";
    const held = established && Boolean(call && call.held);
    const muted = established && Boolean(call && call.muted);
    box.dataset.held = String(held);
    box.dataset.muted = String(muted);
    $("webphone-call").textContent = !established ? "" : [
      held ? t("webphone.call.held") : t("webphone.call.connected"), muted ? t("webphone.call.muted") : null,
    ].filter(Boolean).join(", ");
  };
  const setStatus = (next, why = "") => { status = next; detail = why; render(); };

  const stop = () => {
    generation += 1;
    if (session && !session.isEnded()) session.terminate();
    session = null;
    if (ua) ua.stop();
    ua = null;
  };

  const start = async () => {
    const mine = ++generation;
    setStatus("connecting");
    let phone;
    let ticket;
    try {
      phone = await api("/api/me/phone");
      ({ ticket } = await api("/api/ws-tickets", { method: "POST" }));
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof ApiError && error.status === 404) { toggle.checked = false; localStorage.removeItem(CHOICE); return setStatus("unavailable"); }
      setStatus("failed", error.message);
      return void setTimeout(() => { if (mine === generation && toggle.checked) start(); }, RETRY_MS);
    }
    if (mine !== generation) return;
    const url = new URL(phone.socket, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("ticket", ticket);
    // A ticket is good once: the UA never reconnects by itself; a lost socket starts a new phone with a new ticket.
    const socket = new window.JsSIP.WebSocketInterface(url.href);
    ua = new window.JsSIP.UA({
      sockets: [socket], uri: `sip:${phone.user}@${phone.domain}`, authorization_user: phone.user,
      password: phone.password, register: true, session_timers: false, connection_recovery_min_interval: 3600,
      connection_recovery_max_interval: 3600, user_agent: "cti-webphone",
    });
    ua.on("registered", () => { if (mine === generation) { onExtension(phone.extension); setStatus("registered"); } });
    ua.on("unregistered", () => { if (mine === generation) setStatus("connecting"); });
    ua.on("registrationFailed", (event) => { if (mine === generation) setStatus("failed", String(event.cause || "")); });
    ua.on("disconnected", () => {
      if (mine !== generation) return;
      stop();
      setStatus("connecting");
      setTimeout(() => { if (toggle.checked && !ua) start(); }, RETRY_MS);
    });
    ua.on("newRTCSession", ({ session: offered, originator }) => {
      if (mine !== generation || originator !== "remote") return;
      if (session && !session.isEnded()) { offered.terminate({ status_code: 486 }); return; }  // one call at a time
      session = offered;
      const done = () => { if (session === offered) { session = null; speaker.srcObject = null; render(); } };
      offered.on("accepted", render);  // the answer button goes as soon as the 200 OK is sent
      offered.on("ended", done);
      offered.on("failed", done);
      offered.on("confirmed", () => {
        const stream = new MediaStream(offered.connection.getReceivers().map((r) => r.track).filter(Boolean));
        speaker.srcObject = stream;
        render();
      });
      render();
    });
    ua.start();
  };

  answer.addEventListener("click", () => {
    if (!session || session.isEstablished()) return;
    session.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
  });
  hangup.addEventListener("click", () => { if (session && !session.isEnded()) session.terminate(); });
  toggle.addEventListener("change", () => {
    if (toggle.checked) { localStorage.setItem(CHOICE, "on"); start(); } else { localStorage.removeItem(CHOICE); stop(); setStatus("off"); }
  });
  window.addEventListener("pagehide", stop);
  onLanguageChange(render);
  box.hidden = false;
  render();
  if (localStorage.getItem(CHOICE) === "on") { toggle.checked = true; start(); }
  const show = (connected) => { call = connected; render(); };
  return { answer: () => answer.click(), hangup: () => hangup.click(), show };
}
