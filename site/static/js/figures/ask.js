// "Ask the model": a reader types a caption; the model's own text tower, running in the page,
// embeds it. Shown: its cosine to every image as a new row under the image-text similarity
// matrix, the ranked images, its place in the projections with an exact transform (gap axis,
// PCA), and its distance from the text and image centroids: the modality gap for one query.

import { figure, pickModel } from "../figure.js";
import { el, formatNumber, modelLabel, selectControl, badgeSlot } from "../dom.js";
import { themeColors, scaleColor, onThemeChange } from "../theme.js";
import { drawPlot } from "../plot.js";
import { openLiveModel, liveEntry, dot, project, distance } from "../live/model.js";
import { loaderPanel, askForm, unknownNote } from "../live/panel.js";
import { projectionMethod } from "../registry.js";

const TOP = 8;

function meanDistance(vectors, centroid) {
  return vectors.reduce((s, v) => s + distance(v, centroid), 0) / vectors.length;
}

/** The N x N image-text cosines with the query's row appended (row N), drawn cell by cell. */
function drawMatrix(canvas, data, queryRow, colors) {
  const n = data.n;
  const rows = queryRow ? n + 1 : n;
  const cell = Math.max(2, Math.floor(360 / n));
  const gapPx = queryRow ? 6 : 0;
  canvas.width = n * cell;
  canvas.height = rows * cell + gapPx;
  const g = canvas.getContext("2d");
  const values = [];
  for (let t = 0; t < n; t++) for (let i = 0; i < n; i++) values.push(dot(data.text[t], data.image[i]));
  if (queryRow) values.push(...queryRow);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const paint = (v, x, y) => {
    g.fillStyle = scaleColor("viridis", hi > lo ? (v - lo) / (hi - lo) : 0.5);
    g.fillRect(x, y, cell, cell);
  };
  g.fillStyle = colors.bg;
  g.fillRect(0, 0, canvas.width, canvas.height);
  for (let t = 0; t < n; t++) for (let i = 0; i < n; i++) paint(values[t * n + i], i * cell, t * cell);
  if (queryRow) {
    queryRow.forEach((v, i) => paint(v, i * cell, n * cell + gapPx));
    g.strokeStyle = colors.accent;
    g.lineWidth = 2;
    g.strokeRect(1, n * cell + gapPx - 1, n * cell - 2, cell + 2);
  }
  return { lo, hi };
}

export const render = figure("ask", async (fig) => {
  const { mount, options, ctx, arrived, datasetModels } = fig;
  const { datasetName, models } = datasetModels();
  const runnable = models.filter((m) => liveEntry(ctx.manifest, m));
  const first = pickModel(runnable, options.model, "no model of this figure has encoders for the page in this export");
  const items = (await ctx.items(datasetName)).items;
  arrived();

  const root = el("div", { class: "fig live-figure live-ask-figure" });
  mount.replaceChildren(root);
  const badge = badgeSlot(runnable.length > 1, { class: "fig-badges" });
  const controls = el("div", { class: "fig-controls" });
  const panelSlot = el("div");
  const notes = el("p", { class: "live-unknown", attrs: { "aria-live": "polite" } });
  const gapLine = el("p", { class: "live-gap", attrs: { "aria-live": "polite" } });
  const canvas = el("canvas", { class: "live-matrix", attrs: { role: "img", "aria-label": "similarity of every caption (rows) to every image (columns); the last row is your caption" } });
  const matrixNote = el("p", { class: "fig-note" });
  const ranked = el("ol", { class: "live-ranked", attrs: { "aria-label": "images ranked by similarity to your caption" } });
  const plots = el("div", { class: "live-plots" });
  root.append(controls, panelSlot, notes, gapLine, el("div", { class: "live-row" }, [el("div", {}, [canvas, matrixNote]), ranked]), plots);

  let live = null;
  let panel = null;
  let lastQuery = null;
  let colors = themeColors();

  async function useModel(model) {
    badge.show(model);
    live = await openLiveModel(ctx, model);
    panel = loaderPanel(live, ["text"]);
    panelSlot.replaceChildren(panel.element);
    lastQuery = null;
    show(null, null);
  }

  function show(text, vector) {
    const data = live.data(datasetName);
    const row = vector ? data.image.map((v) => dot(vector, v)) : null;
    const { lo, hi } = drawMatrix(canvas, data, row, colors);
    matrixNote.textContent = row
      ? `Rows: the ${data.n} captions, then yours (framed). Columns: the images. Colour: cosine, ${formatNumber(lo, 2)} to ${formatNumber(hi, 2)}.`
      : `Rows: the ${data.n} captions; columns: the images. Colour: cosine, ${formatNumber(lo, 2)} to ${formatNumber(hi, 2)}. Type a caption to add a row.`;
    ranked.replaceChildren();
    notes.textContent = text ? unknownNote(live.tokenizer, text) : "";
    if (!vector) {
      gapLine.textContent = "";
      plots.replaceChildren();
      return;
    }
    const order = row.map((v, i) => i).sort((a, b) => row[b] - row[a]).slice(0, TOP);
    for (const i of order) {
      const item = items[i];
      const thumb = item.imageUrl ? el("img", { src: thumbs.get(item.imageUrl) || item.imageUrl, alt: item.text, width: 48, height: 48, loading: "lazy" }) : null;
      ranked.append(el("li", { class: "live-ranked-item" }, [thumb, el("span", { class: "live-score", text: formatNumber(row[i], 3) }), el("span", { class: "live-caption", text: item.text })]));
    }
    const dText = distance(vector, data.centroids.text);
    const dImage = distance(vector, data.centroids.image);
    gapLine.textContent = `Your caption lies ${formatNumber(dText, 3)} from the centroid of the captions and ${formatNumber(dImage, 3)} from the centroid of the images `
      + `(the dataset's captions lie ${formatNumber(meanDistance(data.text, data.centroids.text), 3)} from theirs on average; the two centroids are ${formatNumber(distance(data.centroids.text, data.centroids.image), 3)} apart). `
      + `Its best image scores ${formatNumber(row[order[0]], 3)}.`;
    drawFrames(data, vector);
  }

  function drawFrames(data, vector) {
    plots.replaceChildren();
    for (const [method, frame] of Object.entries(data.frames)) {
      const div = el("div", { class: "live-plot", attrs: { role: "img", "aria-label": `${projectionMethod(ctx.manifest, method).label}: images, captions and your caption (star)` } });
      plots.append(el("figure", { class: "live-plot-wrap" }, [div, el("figcaption", { text: projectionMethod(ctx.manifest, method).label })]));
      const pts = (list) => list.map((v) => project(frame, v));
      const img = pts(data.image);
      const txt = pts(data.text);
      const q = project(frame, vector);
      drawPlot(div, [
        { type: "scatter", mode: "markers", name: "images", x: img.map((p) => p[0]), y: img.map((p) => p[1]), marker: { color: colors.image, size: 5 }, hoverinfo: "skip" },
        { type: "scatter", mode: "markers", name: "captions", x: txt.map((p) => p[0]), y: txt.map((p) => p[1]), marker: { color: colors.text, size: 5 }, hoverinfo: "skip" },
        { type: "scatter", mode: "markers", name: "yours", x: [q[0]], y: [q[1]], marker: { color: colors.accent, size: 14, symbol: "star", line: { color: colors.fg, width: 1 } }, hoverinfo: "skip" },
      ], colors, { height: 260, margin: { l: 30, r: 10, t: 10, b: 30 }, showlegend: false });
    }
  }

  // Once the model is here, keep every thumbnail in memory too, so later answers need no network.
  const thumbs = new Map();
  let preloaded = null;
  function preloadThumbs() {
    if (preloaded) return;
    preloaded = Promise.all(items.filter((it) => it.imageUrl).map((it) => fetch(it.imageUrl)
      .then((r) => (r.ok ? r.blob() : null))
      .then((blob) => { if (blob) thumbs.set(it.imageUrl, URL.createObjectURL(blob)); })
      .catch(() => null)));
    preloaded.then(() => { root.dataset.preloaded = "true"; });
  }

  async function ask(text) {
    if (!text.trim()) {
      notes.textContent = "Type a caption first.";
      return;
    }
    await panel.ensure();
    preloadThumbs();
    const [vector] = await live.encodeTexts([text]);
    lastQuery = { text, vector };
    show(text, vector);
    root.dataset.answered = String((Number(root.dataset.answered) || 0) + 1);
  }

  if (runnable.length > 1) {
    controls.append(selectControl("model", runnable.map((m) => ({ value: m.name, label: modelLabel(m) })), first.name, async (name) => {
      await useModel(runnable.find((m) => m.name === name));
      if (form.input.value.trim()) ask(form.input.value).catch(showFailure);
    }).element);
  }
  controls.append(badge.element);
  const showFailure = (error) => { console.error(error); notes.textContent = `The model could not answer: ${error.message || error}`; };
  const form = askForm("Your caption", "e.g. a small red circle", options.caption || "", (text) => ask(text).catch(showFailure));
  root.insertBefore(form.element, panelSlot.nextSibling);
  await useModel(first);
  onThemeChange((next) => { colors = next; if (live) show(lastQuery && lastQuery.text, lastQuery && lastQuery.vector); });
});
