// The heatmap's live row (issue 14 §2): a caption the reader types, encoded in the page, drawn
// as one more row under the similarity matrix: its cosine with every column's item (images
// against the exporter's image vectors, captions against its caption vectors), in the
// matrix's own column order (quadrant, cluster sorting, zoom window) and colour scale. Where
// the picture pools columns (embedding-view.js), the row shows the mean over each block.
// Nothing is fetched until the reader asks; then the model loads with its size stated (./panel.js).

import { el, formatNumber } from "../dom.js";
import { colorLUT } from "../theme.js";
import { openLiveModel, liveEntry, dot, formatBytes } from "./model.js";
import { RUNTIME_BYTES } from "./runtime.js";
import { loaderPanel, askForm, unknownNote } from "./panel.js";

const TOP = 5;

/**
 * The row's value per visible column ({index, bounds} from the view's columns()): the caption's
 * cosine with the column's item, or for a pooled block the mean of its cosines, which is its dot
 * with the block's mean vector, as the pooled picture above computes its cells.
 */
export function columnValues(values, { index, bounds }) {
  if (!bounds) return Float32Array.from(index, (g) => values[g]);
  const out = new Float32Array(bounds.length - 1);
  for (let b = 0; b < out.length; b++) {
    let sum = 0;
    for (let p = bounds[b]; p < bounds[b + 1]; p++) sum += values[index[p]];
    out[b] = sum / (bounds[b + 1] - bounds[b]);
  }
  return out;
}

/**
 * liveHeatmapRow({ctx, model, datasetName, view, items}) -> {element, redraw()} or null when the
 * model has no encoders for the page. `view`: matrix-view.js's or embedding-view.js's; the row
 * takes its columns from view.columns() and redraws on its "matrixdrawn" event.
 */
export function liveHeatmapRow({ ctx, model, datasetName, view, items }) {
  const entry = liveEntry(ctx.manifest, model);
  if (!entry || !entry.towers.includes("text")) return null;
  const canvas = el("canvas", { class: "live-row-canvas", height: 1, attrs: { role: "img", "aria-label": "your caption's row: type a caption first" } });
  const label = el("span", { class: "live-row-label", text: "your caption" });
  const strip = el("div", { class: "live-row-strip", hidden: true }, [canvas, label]);
  const readout = el("p", { class: "live-row-readout", attrs: { "aria-live": "polite" } });
  const notes = el("p", { class: "live-notes" });
  const panelSlot = el("div", {}, [el("p", {
    class: "live-note",
    text: `Add your own caption as a row: the model runs in your browser, nothing you type leaves this page. The first question downloads about ${formatBytes(RUNTIME_BYTES + entry.bytes)}.`,
  })]);
  let live = null;
  let panel = null;
  let answer = null; // {text, values: Float32Array over stacked indices}

  async function ask(text) {
    if (!text.trim()) { readout.textContent = "Type a caption first."; return; }
    try {
      if (!live) {
        live = await openLiveModel(ctx, model);
        panel = loaderPanel(live, ["text"]);
        panelSlot.replaceChildren(panel.element);
      }
      await panel.ensure();
      const data = live.data(datasetName);
      const n = view.state.n;
      if (data.n !== n) throw new Error(`the live data of ${model.name} has ${data.n} items, the matrix ${n}; re-export the data`);
      const [vector] = await live.encodeTexts([text]);
      // Scored against the exporter's float vectors of the live bundle in both views, not the
      // embeddings view's int8 store: these are the cosines the rest of the article reports, and
      // a pooled block's mean of them is its dot with the block's exact mean vector.
      const values = new Float32Array(view.state.modalities.length * n).fill(NaN);
      data.image.forEach((v, i) => { values[i] = dot(vector, v); });
      data.text.forEach((v, i) => { values[n + i] = dot(vector, v); });
      answer = { text, values };
      notes.textContent = unknownNote(live.tokenizer, text);
      redraw();
      root.dataset.answered = String((Number(root.dataset.answered) || 0) + 1);
    } catch (error) {
      readout.textContent = `Your caption could not be scored: ${error.message || error}`;
    }
  }

  function valueRange() {
    const { matrix, range } = view.state;
    if (range) return range;
    const maxCode = matrix.dtype === "u2" ? 65535 : 255;
    return [matrix.offset, matrix.offset + matrix.scale * maxCode];
  }

  let shown = null; // {columns, values}: what the row's canvas shows

  function redraw() {
    const columns = view.columns();
    if (!answer || !columns) return;
    const state = view.state;
    const values = columnValues(answer.values, columns);
    const [lo, hi] = valueRange();
    const lut = colorLUT(state.scale);
    canvas.width = values.length;
    const image = new ImageData(values.length, 1);
    const px = new Uint32Array(image.data.buffer);
    values.forEach((v, x) => {
      px[x] = Number.isNaN(v) ? 0x00000000 : lut[Math.max(0, Math.min(255, Math.round(((v - lo) / (hi - lo || 1)) * 255)))];
    });
    canvas.getContext("2d").putImageData(image, 0, 0);
    shown = { columns, values };
    root.rowDrawn = values; // what is on the canvas, for readers of the page's state (tests)
    // Same width and left edge as the matrix, so each cell sits under its column.
    strip.hidden = false;
    canvas.style.width = `${state.size}px`;
    canvas.style.height = `${Math.max(10, Math.min(24, state.size / values.length))}px`;
    const offset = view.stack.getBoundingClientRect().left - strip.getBoundingClientRect().left;
    canvas.style.marginLeft = `${Math.max(0, offset)}px`;
    const images = Array.from({ length: state.n }, (_, i) => i).sort((a, b) => answer.values[b] - answer.values[a]).slice(0, TOP);
    const best = images.map((i) => `${formatNumber(answer.values[i], 3)} ${items[i] ? items[i].text : `item ${i}`}`);
    canvas.setAttribute("aria-label", `your caption "${answer.text}" as a row of the matrix; its best images: ${best.join("; ")}`);
    readout.textContent = `“${answer.text}”: best images ${best.join(" · ")}. Point at the row, or focus it and use the arrow keys, for one column.`;
  }

  // Pointer or keyboard (focus the row, arrow keys; Home / End): one column's value.
  let cursor = 0;
  canvas.tabIndex = 0;
  canvas.addEventListener("mousemove", (event) => {
    if (!shown) return;
    const box = canvas.getBoundingClientRect();
    describeColumn(Math.floor(((event.clientX - box.left) / box.width) * canvas.width));
  });
  canvas.addEventListener("keydown", (event) => {
    if (!shown) return;
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (step) cursor += event.shiftKey ? 10 * step : step;
    else if (event.key === "Home") cursor = 0;
    else if (event.key === "End") cursor = canvas.width - 1;
    else return;
    event.preventDefault();
    describeColumn(cursor);
  });

  function describeColumn(x) {
    const { columns: { index, bounds }, values } = shown;
    cursor = Math.max(0, Math.min(values.length - 1, x));
    const [from, to] = bounds ? [bounds[cursor], bounds[cursor + 1]] : [cursor, cursor + 1];
    const n = view.state.n;
    const modality = (g) => view.state.modalities[Math.floor(g / n)];
    const v = values[cursor];
    if (to - from > 1) { // a pooled column of the embeddings view
      const span = `${modality(index[from])} ${index[from] % n} to ${modality(index[to - 1])} ${index[to - 1] % n}`;
      readout.textContent = Number.isNaN(v)
        ? `${to - from} columns (${span}): the page has no vectors for some of them`
        : `your caption × ${to - from} columns (${span}): mean cosine ${formatNumber(v, 3)}`;
      return;
    }
    const g = index[from];
    const item = items[g % n];
    readout.textContent = Number.isNaN(v)
      ? `${modality(g)} ${g % n}: the page has no ${modality(g)} vectors`
      : `your caption × ${modality(g)} ${g % n} (${item ? item.text : ""}): cosine ${formatNumber(v, 3)}`;
  }

  const form = askForm("Your caption as a new row", "e.g. a small red circle", "", (text) => { ask(text); });
  const root = el("div", { class: "live-heatmap-row" }, [strip, form.element, panelSlot, notes, readout]);
  // A new picture (quadrant, sorting, zoom, resize) may have new columns.
  view.element.addEventListener("matrixdrawn", () => redraw());
  if (typeof ResizeObserver !== "undefined") new ResizeObserver(() => redraw()).observe(view.stack);
  return { element: root, redraw };
}
