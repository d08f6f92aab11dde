// What every live figure shows before and while the model loads: where it runs, what it
// downloads (with sizes), and a progress bar. Nothing is fetched until the reader asks.

import { el } from "../dom.js";
import { formatBytes } from "./model.js";

/**
 * loaderPanel(live, towers) -> {element, ensure()}: ensure() loads the runtime and the towers
 * (once), showing progress; it resolves when the model can answer.
 */
export function loaderPanel(live, towers) {
  const parts = [`runtime ${formatBytes(live.bytes.runtime)}`];
  for (const name of towers) if (live.bytes[name]) parts.push(`${name} tower ${formatBytes(live.bytes[name])}`);
  const words = towers.includes("text") ? live.bytes.tokenizer || 0 : 0;
  if (words) parts.push(`tokenizer ${formatBytes(words)}`);
  const total = live.bytes.runtime + towers.reduce((s, n) => s + (live.bytes[n] || 0), 0) + words;
  const note = el("p", {
    class: "live-note",
    text: `The model runs in your browser (onnxruntime-web); nothing you type leaves this page. `
      + `The first question downloads ${formatBytes(total)} (${parts.join(", ")}); afterwards it works offline.`,
  });
  const bar = el("progress", { class: "live-progress", max: 1, value: 0, hidden: true, attrs: { "aria-label": "loading the model" } });
  const status = el("span", { class: "live-status", attrs: { role: "status", "aria-live": "polite" } });
  let loading = null;

  function ensure() {
    if (!loading) {
      bar.hidden = false;
      status.textContent = "loading the model…";
      loading = live.ready(towers, (fraction) => { bar.value = Math.min(1, fraction); })
        .then(() => {
          bar.hidden = true;
          status.textContent = "model loaded: answers are computed here.";
        })
        .catch((error) => {
          loading = null;
          bar.hidden = true;
          status.textContent = `the model could not be loaded: ${error.message || error}`;
          throw error;
        });
    }
    return loading;
  }

  return { element: el("div", { class: "live-panel" }, [note, el("div", { class: "live-load" }, [bar, status])]), ensure };
}

/** A text box + button that calls onAsk(text) on Enter or click. */
export function askForm(label, placeholder, initial, onAsk) {
  const input = el("input", { type: "text", class: "live-input", value: initial || "", placeholder, attrs: { "aria-label": label, spellcheck: "false" } });
  const button = el("button", { type: "submit", class: "live-ask", text: "Ask the model" });
  const form = el("form", { class: "live-form" }, [el("label", { class: "live-label", text: label }), input, button]);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onAsk(input.value);
  });
  return { element: form, input, button };
}

/** "red, giraffe" for the words the model has never seen (they become <unk>). */
export function unknownNote(tokenizer, text) {
  const { unknown, truncated } = tokenizer.encode(text);
  const notes = [];
  if (unknown.length) notes.push(`unknown to this model, read as <unk>: ${[...new Set(unknown)].join(", ")}`);
  if (truncated) notes.push(`longer than the model's ${tokenizer.contextLength} tokens: the end was cut`);
  return notes.join("; ");
}
