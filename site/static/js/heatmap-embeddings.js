// The heatmap figure of a result that ships embeddings.json instead of its
// kN x kN matrix (figures/heatmap.js dispatches here): the same header, quadrant
// and cluster controls and preview, drawn by embedding-view.js from the worker's
// pooled pictures and full-resolution tiles, with hovers computed on the page,
// and the live caption row under it as in matrix mode.

import { modelLabel, wantsSorted } from "./dom.js";
import { createEmbeddingView } from "./embedding-view.js";
import { openEmbeddings } from "./embedding-source.js";
import { onThemeChange } from "./theme.js";
import { mountHeatmap, addLiveRow } from "./figures/heatmap.js";

export async function renderEmbeddingHeatmap({ mount, options, ctx, arrived, model }) {
  const sorted = wantsSorted(options);
  const [sim, itemsFile, source] = await Promise.all([ctx.load(model, "similarity"), ctx.items(), openEmbeddings(ctx, model)]);
  arrived();
  const items = itemsFile.items;
  const { view } = mountHeatmap({
    mount, options, model, sim, items, sorted,
    placeholder: "Point at a cell, tap it, or focus the matrix and use the arrow keys; + and − zoom.",
    label: `Similarity matrix of ${modelLabel(model)} on ${sim.dataset}, computed from its embeddings`,
    createView: (viewOptions) => createEmbeddingView({ ...viewOptions, source, range: sim.range }),
  });
  addLiveRow({ options, ctx, model, sim, view, items });
  await view.draw(); // the first picture is on the canvas when the figure reports its render
  onThemeChange((colors) => view.setColors(colors));
}
