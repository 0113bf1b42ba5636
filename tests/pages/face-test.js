// The test page of tests/pages/test_cyberface.py: buttons set the face's expression, "speak" plays a tone through
// the face's analyser, and #state says when it has ended.
import { CyberFace } from "/ui/cyberface.js";

const face = new CyberFace(document.getElementById("face"));
for (const button of document.querySelectorAll("button[data-expression]")) {
  button.addEventListener("click", () => face.setExpression(button.dataset.expression));
}
const audio = document.getElementById("audio");
const state = document.getElementById("state");
document.getElementById("speak").addEventListener("click", () => {
  state.textContent = "playing";
  face.speak(audio);
  audio.play();
});
audio.addEventListener("ended", () => { state.textContent = "ended"; });
