// The virtual agent's face: an SVG whose expression follows each reply's `expression` field and whose mouth opens
// with the loudness of the reply's audio, as it plays. No build step, no dependency: an ES module for the chat
// page.
//
//   import { CyberFace } from "/ui/cyberface.js";
//   const face = new CyberFace(container);      // draws the face into container (with /ui/cyberface.css)
//   face.setExpression(reply.expression);       // greeting | neutral | thinking | sorry | happy
//   face.speak(audioElement);                   // the mouth follows this <audio> while it plays
//
// The face is decorative (aria-hidden): the reply's text says everything, for screen readers too. The mouth is
// driven by a WebAudio AnalyserNode on the element's output: the RMS of each frame's waveform, smoothed, sets how
// far it opens (`data-mouth` on the face, 0 to 1; `data-mouth-max`, the widest since speak()).

export const EXPRESSIONS = Object.freeze(["greeting", "neutral", "thinking", "sorry", "happy"]);
const SVG = "http://www.w3.org/2000/svg";
const GAIN = 5; // speech RMS of about 0.2 of full scale opens the mouth fully
const SMOOTHING = 0.5; // share of the previous frame's opening kept: the mouth moves with syllables, not samples

function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

export class CyberFace {
  constructor(container) {
    this.mouth = svg("ellipse", { class: "cyberface-mouth-open", cx: 50, cy: 70, rx: 12, ry: 0 });
    const face = svg("svg", { viewBox: "0 0 100 100", class: "cyberface-svg", focusable: "false" },
      svg("circle", { class: "cyberface-head", cx: 50, cy: 50, r: 46 }),
      svg("g", { class: "cyberface-brows" },
        svg("path", { class: "cyberface-brow cyberface-brow-left", d: "M26 30 Q34 26 42 30" }),
        svg("path", { class: "cyberface-brow cyberface-brow-right", d: "M58 30 Q66 26 74 30" })),
      svg("g", { class: "cyberface-eyes" },
        svg("circle", { class: "cyberface-eye", cx: 34, cy: 42, r: 5 }),
        svg("circle", { class: "cyberface-eye", cx: 66, cy: 42, r: 5 })),
      svg("path", { class: "cyberface-mouth cyberface-mouth-smile", d: "M34 68 Q50 82 66 68" }),
      svg("path", { class: "cyberface-mouth cyberface-mouth-flat", d: "M36 71 L64 71" }),
      svg("path", { class: "cyberface-mouth cyberface-mouth-sad", d: "M36 76 Q50 64 64 76" }),
      svg("path", { class: "cyberface-mouth cyberface-mouth-hmm", d: "M38 72 Q50 68 62 74" }),
      this.mouth);
    this.root = document.createElement("div");
    this.root.className = "cyberface";
    this.root.setAttribute("aria-hidden", "true");
    this.root.append(face);
    container.append(this.root);
    this.context = null;
    this.analyser = null;
    this.sources = new WeakMap();
    this.frame = 0;
    this.opening = 0;
    this.setExpression("neutral");
    this.setMouth(0);
    this.root.dataset.mouthMax = "0.00";
  }

  // Any other value (a newer server's expression) shows as neutral.
  setExpression(name) {
    const expression = EXPRESSIONS.includes(name) ? name : "neutral";
    for (const other of EXPRESSIONS) this.root.classList.toggle(`cyberface--${other}`, other === expression);
    this.root.dataset.expression = expression;
    return expression;
  }

  setMouth(opening) {
    this.opening = opening;
    this.mouth.setAttribute("ry", (opening * 10).toFixed(2));
    this.root.classList.toggle("cyberface--speaking", opening > 0.02);
    this.root.dataset.mouth = opening.toFixed(2);
  }

  // Follow `audio` (an HTMLAudioElement) until it pauses or ends; the element still plays through the speakers.
  speak(audio) {
    if (!this.context) {
      this.context = new AudioContext();
      this.analyser = this.context.createAnalyser();
      this.analyser.fftSize = 1024;
      this.analyser.connect(this.context.destination);
    }
    if (!this.sources.has(audio)) {
      // An element can be wired to one source node only, ever: keep it for the next reply played through it.
      const source = this.context.createMediaElementSource(audio);
      source.connect(this.analyser);
      this.sources.set(audio, source);
    }
    this.root.dataset.mouthMax = "0.00";
    const samples = new Float32Array(this.analyser.fftSize);
    const stop = () => {
      cancelAnimationFrame(this.frame);
      this.setMouth(0);
    };
    const step = () => {
      this.analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      const loudness = Math.min(1, Math.sqrt(sum / samples.length) * GAIN);
      this.setMouth(SMOOTHING * this.opening + (1 - SMOOTHING) * loudness);
      if (this.opening > Number(this.root.dataset.mouthMax)) this.root.dataset.mouthMax = this.opening.toFixed(2);
      this.frame = requestAnimationFrame(step);
    };
    audio.addEventListener("ended", stop, { once: true });
    audio.addEventListener("pause", stop, { once: true });
    this.context.resume().then(() => {
      cancelAnimationFrame(this.frame);
      this.frame = requestAnimationFrame(step);
    });
  }
}
