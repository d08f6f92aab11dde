// Figure kind "heatmap": the kN x kN similarity matrix of one model on one
// dataset, quadrant separators and labels, cluster sorting, quadrant choice
// and a preview of both items under the pointer, tap or keyboard cursor.

import { decodeRaw } from "../contract.js";
import { el, selectControl, toggleButton, modelLabel, wantsSorted } from "../dom.js";
import { createMatrixView } from "../matrix-view.js";
import { createPreview, cellEntries, cellInfo } from "../preview.js";
import { themeColors, onThemeChange } from "../theme.js";
import { figure, pickModel } from "../figure.js";
import { liveHeatmapRow } from "../live/heatmap-row.js";
import { hasEmbeddings } from "../embedding-source.js";

/** Quadrant option values: "all" or "a,b"; also accepts "image-text" style names. */
export function parseQuadrant(value, modalities) {
  if (!value || value === "all") return "all";
  const text = String(value);
  const named = text.split(/[-,× ]+/).filter(Boolean);
  if (named.length === 2) {
    const idx = named.map((p) => (/^\d+$/.test(p) ? Number(p) : modalities.indexOf(p)));
    if (idx.every((i) => i >= 0 && i < modalities.length)) return `${idx[0]},${idx[1]}`;
  }
  throw new Error(`unknown quadrant ${text}; use "all", "image-text" or "0,1"`);
}

export function quadrantOptions(modalities) {
  const out = [{ value: "all", label: "all quadrants" }];
  modalities.forEach((a, i) => modalities.forEach((b, j) => out.push({ value: `${i},${j}`, label: `${a} × ${b}` })));
  return out;
}

export function clusterList(clusters) {
  const list = el("ol", { class: "fig-cluster-list" });
  for (const c of clusters) list.append(el("li", { text: `${c.label} (${c.size})` }));
  return list;
}

/**
 * The heatmap figure's page around a view: header with quadrant and sort controls, the
 * view beside the cell preview, the cluster list; mounted into `mount`. Shared by the
 * matrix and the embeddings heatmaps, which differ only in the view that `createView`
 * makes from the common view options. Returns { view }; the caller draws.
 */
export function mountHeatmap({ mount, options, model, sim, items, sorted, placeholder, label, createView }) {
  const modalities = sim.modalities;
  const preview = createPreview({ placeholder });
  const clusters = el("div", { class: "fig-clusters", hidden: !sorted });
  clusters.append(el("p", { class: "fig-clusters-title", text: "Clusters (in order)" }), clusterList(sim.clusters));

  const view = createView({
    n: sim.n, modalities, order: sim.order, clusters: sim.clusters,
    colors: themeColors(), scale: options.scale || options.colorscale || "viridis",
    quadrant: parseQuadrant(options.quadrant, modalities), sorted,
    maxSize: options.size || options.height || 560,
    label,
    onCell(cell) {
      if (!cell) { preview.clear(); return; }
      preview.show(cellEntries(cell, sim.n, modalities, items), cellInfo(cell, sim.n));
    },
  });

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    const quadrant = selectControl("Quadrant", quadrantOptions(modalities), parseQuadrant(options.quadrant, modalities), (v) => view.setQuadrant(v));
    const sort = toggleButton("Sort by clusters", sorted, (on) => { view.setSorted(on); clusters.hidden = !on; });
    if (!sim.order || !sim.order.length) sort.disabled = true;
    controls.append(quadrant.element, sort);
  }
  const header = el("div", { class: "fig-header" }, [
    el("span", { class: "fig-model", text: modelLabel(model) }), controls,
  ]);
  const body = el("div", { class: "fig-body" }, [el("div", { class: "fig-main" }, [view.element]), preview.element]);
  const root = el("div", { class: "fig fig-heatmap" }, [header, body, clusters]);
  mount.replaceChildren(root);
  return { view };
}

export const render = figure("heatmap", async ({ mount, options, ctx, arrived }) => {
  const sorted = wantsSorted(options);
  const model = pickModel(ctx.models(), options.model, "no model to show");
  // A result above the export's embeddings_above ships embeddings.json instead of its matrix.
  if (hasEmbeddings(ctx, model)) {
    const { renderEmbeddingHeatmap } = await import("../heatmap-embeddings.js");
    return renderEmbeddingHeatmap({ mount, options, ctx, arrived, model });
  }
  const [sim, itemsFile] = await Promise.all([ctx.load(model, "similarity"), ctx.items()]);
  arrived();
  const items = itemsFile.items;
  const { view } = mountHeatmap({
    mount, options, model, sim, items, sorted,
    placeholder: "Point at a cell, tap it, or focus the matrix and use the arrow keys.",
    label: `Similarity matrix of ${modelLabel(model)} on ${sim.dataset}`,
    createView: (viewOptions) => createMatrixView({ ...viewOptions, matrix: decodeRaw(sim.matrix) }),
  });
  view.draw();
  onThemeChange((colors) => view.setColors(colors));
  addLiveRow({ options, ctx, model, sim, view, items });
});

/**
 * The live caption row (issue 14) under either view: the reader's caption as one more row,
 * encoded in the page. Self-contained in live/heatmap-row.js; it follows the view's pictures.
 */
export function addLiveRow({ options, ctx, model, sim, view, items }) {
  if (options.live === false) return;
  const row = liveHeatmapRow({ ctx, model, datasetName: sim.dataset, view, items });
  if (row) view.element.after(row.element);
}
