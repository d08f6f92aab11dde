// Figure kind "compare": one heatmap per model on the same dataset, one shared
// colour range, a crosshair synchronised across all panels, and each model's
// gap and loss (from the manifest) under its panel. Canvas panels: no WebGL
// contexts, so a page may hold many.

import { decodeRaw } from "../contract.js";
import { el, selectControl, toggleButton, untrainedBadge, modelLabel, formatNumber, wantsSorted } from "../dom.js";
import { createMatrixView } from "../matrix-view.js";
import { createPreview, cellEntries, cellInfo } from "../preview.js";
import { themeColors, onThemeChange, scaleColors } from "../theme.js";
import { parseQuadrant, quadrantOptions } from "./heatmap.js";
import { figure } from "../figure.js";
import { hasEmbeddings, openEmbeddings } from "../embedding-source.js";
import { createEmbeddingView } from "../embedding-view.js";

function codeRange(m) {
  const maxCode = m.dtype === "u2" ? 65535 : 255;
  return [m.offset, m.offset + m.scale * maxCode];
}

export const render = figure("compare", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models } = datasetModels();
  if (!models.length) throw new Error(`no models to compare on dataset ${datasetName}`);
  const variant = options.variant === "closed" ? "closed" : "original";
  const loaded = await Promise.all(models.map(async (model) => {
    const sim = await ctx.load(model, "similarity");
    let matrix;
    if (hasEmbeddings(ctx, model)) {
      // embeddings.json instead of matrices: the closed variant is the last step's shift.
      const [source, gap] = await Promise.all([openEmbeddings(ctx, model), variant === "closed" ? ctx.load(model, "gap") : null]);
      const last = gap && gap.steps[gap.steps.length - 1];
      return { model, sim, source, fraction: last ? last.fraction : 0, range: last ? last.matrix_range : sim.range, metrics: ctx.result(model).metrics };
    } else if (variant === "closed") {
      // Only the last (fully closed) step's matrix file, not the whole slider.
      const gap = await ctx.load(model, "gap");
      matrix = await ctx.gapStepMatrix(gap, gap.steps.length - 1);
    } else {
      matrix = decodeRaw(sim.matrix);
    }
    return { model, sim, matrix, metrics: ctx.result(model).metrics };
  }));
  const itemsFile = await ctx.items();
  arrived();
  const items = itemsFile.items;
  const { n, modalities } = loaded[0].sim;
  for (const entry of loaded) {
    if (entry.sim.n !== n) throw new Error(`model ${entry.model.name} has ${entry.sim.n} pairs, expected ${n}`);
  }
  const range = options.range || loaded.reduce(([lo, hi], e) => {
    const [a, b] = e.source ? e.range : codeRange(e.matrix);
    return [Math.min(lo, a), Math.max(hi, b)];
  }, [Infinity, -Infinity]);
  const scale = options.scale || "viridis";
  const preview = createPreview({ placeholder: "Point at any panel, tap it, or use the arrow keys: the crosshair follows in every model." });
  const quadrant = parseQuadrant(options.quadrant, modalities);

  const panels = [];
  const readouts = [];
  function sync(source, cell) {
    panels.forEach((panel, i) => {
      if (i !== source) panel.setCrosshair(cell ? { row: cell.row, col: cell.col } : null);
      const m = loaded[i].matrix;
      const value = () => (m ? m.offset + m.scale * m.data[cell.row * m.cols + cell.col] : panel.valueAt(cell.row, cell.col));
      readouts[i].textContent = cell ? `at cursor ${formatNumber(value())}` : "";
    });
    if (!cell) { preview.clear(); return; }
    const info = cellInfo(cell, n);
    info.scoreLabel = `similarity (${modelLabel(loaded[source].model)})`;
    preview.show(cellEntries(cell, n, modalities, items), info);
  }

  const grid = el("div", { class: "fig-compare-grid" });
  loaded.forEach((entry, i) => {
    const view = (entry.source ? createEmbeddingView : createMatrixView)({
      matrix: entry.matrix, source: entry.source, fraction: entry.fraction, n, modalities, order: entry.sim.order, clusters: entry.sim.clusters,
      colors: themeColors(), scale, range, quadrant, sorted: wantsSorted(options), maxSize: options.size || 300, minSize: 120,
      label: `Similarity matrix of ${modelLabel(entry.model)}`,
      onCell: (cell) => sync(i, cell),
    });
    panels.push(view);
    const m = variant === "closed" ? entry.metrics.closed : entry.metrics;
    const loss = (m.loss_i2t + m.loss_t2i) / 2;
    const readout = el("span", { class: "fig-compare-readout" });
    readouts.push(readout);
    grid.append(el("div", { class: "fig-compare-cell", dataset: { model: entry.model.name } }, [
      el("div", { class: "fig-compare-title" }, [el("span", { text: modelLabel(entry.model) }), untrainedBadge(entry.model)]),
      view.element,
      el("p", { class: "fig-compare-stats" }, [
        el("span", { class: "fig-compare-gap", text: `gap ${formatNumber(m.centroid_distance)} · loss ${formatNumber(loss)}` }),
        " ", readout,
      ]),
    ]));
  });

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    controls.append(
      selectControl("Quadrant", quadrantOptions(modalities), quadrant, (v) => panels.forEach((p) => p.setQuadrant(v))).element,
      toggleButton("Sort by clusters", wantsSorted(options), (on) => panels.forEach((p) => p.setSorted(on))),
    );
  }
  const bar = el("canvas", { width: 256, height: 1, attrs: { "aria-hidden": "true" } });
  const barCtx = bar.getContext("2d");
  scaleColors(scale).forEach(([r, g, b], i) => { barCtx.fillStyle = `rgb(${r},${g},${b})`; barCtx.fillRect(i, 0, 1, 1); });
  const shared = el("div", { class: "fig-shared-bar", attrs: { role: "img", "aria-label": `one colour scale for all panels, ${range[0].toFixed(2)} to ${range[1].toFixed(2)}` } }, [
    el("span", { text: range[0].toFixed(2) }), bar, el("span", { text: range[1].toFixed(2) }),
    el("span", { text: variant === "closed" ? "cosine similarity, gap closed, one scale for all models" : "cosine similarity, one scale for all models" }),
  ]);
  const header = el("div", { class: "fig-header" }, [el("span", { class: "fig-model", text: `${loaded.length} models · ${datasetName}` }), controls]);
  const body = el("div", { class: "fig-body" }, [el("div", { class: "fig-main" }, [grid, shared]), preview.element]);
  // Balanced rows: as many columns as panels of at least 220 px fit, then the panels spread
  // evenly over the rows needed, so four models make 2 x 2 rather than 3 + 1 and an empty corner.
  const balance = () => {
    const gap = 16, k = loaded.length;
    const fit = Math.max(1, Math.floor((grid.clientWidth + gap) / (220 + gap)));
    const rows = Math.ceil(k / Math.min(fit, k));
    grid.style.gridTemplateColumns = `repeat(${Math.ceil(k / rows)}, minmax(0, 1fr))`;
  };
  new ResizeObserver(balance).observe(grid);
  mount.replaceChildren(el("div", { class: "fig fig-compare" }, [header, body]));
  panels.forEach((p) => p.draw());
  onThemeChange((colors) => panels.forEach((p) => p.setColors(colors)));
});
