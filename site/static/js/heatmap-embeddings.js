// The heatmap figure of a result that ships embeddings.json instead of its
// kN x kN matrix (figures/heatmap.js dispatches here): the same header, quadrant
// and cluster controls and preview, drawn by embedding-view.js from the worker's
// pooled pictures and full-resolution tiles, with hovers computed on the page.

import { el, selectControl, toggleButton, modelLabel, wantsSorted } from "./dom.js";
import { createEmbeddingView } from "./embedding-view.js";
import { openEmbeddings } from "./embedding-source.js";
import { createPreview, cellEntries, cellInfo } from "./preview.js";
import { themeColors, onThemeChange } from "./theme.js";
import { parseQuadrant, quadrantOptions, clusterList } from "./figures/heatmap.js";

export async function renderEmbeddingHeatmap({ mount, options, ctx, arrived, model }) {
  const sorted = wantsSorted(options);
  const [sim, itemsFile, source] = await Promise.all([ctx.load(model, "similarity"), ctx.items(), openEmbeddings(ctx, model)]);
  arrived();
  const items = itemsFile.items;
  const modalities = sim.modalities;
  const preview = createPreview({ placeholder: "Point at a cell, tap it, or focus the matrix and use the arrow keys; + and − zoom." });
  const clusters = el("div", { class: "fig-clusters", hidden: !sorted });
  clusters.append(el("p", { class: "fig-clusters-title", text: "Clusters (in order)" }), clusterList(sim.clusters));

  const view = createEmbeddingView({
    source, n: sim.n, modalities, order: sim.order, clusters: sim.clusters, range: sim.range,
    colors: themeColors(), scale: options.scale || options.colorscale || "viridis",
    quadrant: parseQuadrant(options.quadrant, modalities), sorted,
    maxSize: options.size || options.height || 560,
    label: `Similarity matrix of ${modelLabel(model)} on ${sim.dataset}, computed from its embeddings`,
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
  await view.draw(); // the first picture is on the canvas when the figure reports its render
  onThemeChange((colors) => view.setColors(colors));
}
