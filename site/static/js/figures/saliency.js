// What the models look at, precomputed at export. ResNet towers (the pocket models): Grad-CAM
// maps (exporter/live/saliency.py) for each scene with its own caption, with the configured
// descriptions, and for the pointing game (one map per named object; a hit when the peak lies
// in the object's box). open_clip ViT towers: attention rollout (exporter/live/rollout.py), one
// text-independent map per image. The method is named in the data and shown. The images come
// from the lossless input sheet; no model runs here.

import { figure, pickModel } from "../figure.js";
import { el, formatNumber, modelLabel, selectControl, sliderControl, badgeSlot } from "../dom.js";
import { fetchJSON, decodeArray } from "../contract.js";
import { openLiveModel, liveEntry } from "../live/model.js";
import { drawOverlay, upsampleBilinear } from "../live/occlusion.js";

const SHOWN = 24;

function pct(x) { return `${Math.round(100 * x)}%`; }

export const render = figure("saliency", async (fig) => {
  const { mount, options, ctx, arrived, datasetModels } = fig;
  const { datasetName, models } = datasetModels();
  // Saliency maps need the image tower (a text-only open_clip model has none).
  const runnable = models.filter((m) => { const e = liveEntry(ctx.manifest, m); return e && e.towers.includes("image"); });
  const first = pickModel(runnable, options.model, "no model of this figure has saliency maps in this export");
  const items = (await ctx.items(datasetName)).items;
  arrived();

  const root = el("div", { class: "fig live-figure live-saliency-figure" });
  mount.replaceChildren(root);
  const badge = badgeSlot(runnable.length > 1, { class: "fig-badges" });
  const controls = el("div", { class: "fig-controls" });
  const summary = el("p", { class: "live-gap", attrs: { "aria-live": "polite" } });
  const gallery = el("div", { class: "live-gallery" });
  const note = el("p", { class: "fig-note" });
  root.append(controls, summary, gallery, note);
  const opacity = sliderControl("opacity", { min: 0, max: 1, step: 0.05, value: 0.6 }, () => draw());
  let state = null;
  let mode = options.mode || "misses";

  async function useModel(model) {
    badge.show(model);
    const live = await openLiveModel(ctx, model);
    const data = live.data(datasetName);
    if (!data.saliency) throw new Error(`model ${model.name} has no saliency maps for dataset ${datasetName}`);
    const maps = await fetchJSON(ctx.resolve(data.saliency));
    state = { live, maps, model };
    const game = maps.pointing;
    summary.textContent = maps.method === "attention-rollout"
      ? `${modelLabel(model)}: attention rollout (${maps.layer}, ${maps.grid}×${maps.grid} patches), how the ViT's attention carries each patch into its image embedding. `
        + "It reads only the image: every caption and description gets the same map."
      : game
      ? `${modelLabel(model)}: the Grad-CAM peak (${maps.layer}, ${maps.grid}×${maps.grid} grid) falls inside the named object's box in ${pct(game.fraction)} of ${game.trials} maps `
        + `(${game.fraction_multi === null ? "no scene has several objects" : `${pct(game.fraction_multi)} of ${game.trials_multi} on scenes with several objects, where it must choose`}); `
        + `a peak placed at random would hit ${pct(game.chance)} of the time.`
      : `${modelLabel(model)}: Grad-CAM on ${maps.layer} (${maps.grid}×${maps.grid}); this dataset has no object boxes, so no pointing game.`;
    buildModes();
    await draw();
  }

  function modeOptions() {
    const list = [];
    if (state.maps.pointing) {
      list.push({ value: "misses", label: "pointing game: misses" }, { value: "trials", label: "pointing game: every named object" });
    }
    list.push({ value: "caption", label: state.maps.text_independent ? "each image (no text needed)" : "each scene's own caption" });
    state.maps.descriptions.forEach((d, i) => list.push({ value: `d${i}`, label: `“${d.text}”` }));
    return list;
  }

  const modeSlot = el("span");
  function buildModes() {
    const list = modeOptions();
    if (!list.some((o) => o.value === mode)) mode = list[0].value;
    modeSlot.replaceChildren(selectControl("show", list, mode, (v) => { mode = v; draw(); }).element);
  }

  function cards() {
    const { maps } = state;
    if (mode === "misses" || mode === "trials") {
      const grids = decodeArray(maps.pointing.maps);
      return maps.pointing.rows
        .map((row, k) => ({ row, k }))
        .filter(({ row }) => mode === "trials" || !row.hit)
        .map(({ row, k }) => ({ index: row.item, grid: grids.subarray(k * grids.cols, (k + 1) * grids.cols), text: row.text, row }));
    }
    const source = mode === "caption" ? maps.caption : maps.descriptions[Number(mode.slice(1))].maps;
    const grids = decodeArray(source);
    return items.map((item, index) => ({
      index, grid: grids.subarray(index * grids.cols, (index + 1) * grids.cols),
      text: mode === "caption" ? item.text : maps.descriptions[Number(mode.slice(1))].text,
    }));
  }

  async function draw() {
    if (!state) return;
    const { live, maps } = state;
    const list = cards();
    opacity.output.textContent = formatNumber(Number(opacity.input.value), 2);
    gallery.replaceChildren();
    for (const card of list.slice(0, SHOWN)) {
      const canvas = el("canvas", { width: 128, height: 128, class: "live-gallery-canvas", attrs: { role: "img", "aria-label": `${items[card.index].text}; map for “${card.text}”` } });
      const rgba = await live.itemRGBA(datasetName, card.index);
      const full = upsampleBilinear(card.grid, maps.grid, maps.size);
      drawOverlay(canvas, rgba, maps.size, full, Number(opacity.input.value));
      const caption = [el("span", { text: card.text })];
      if (card.row) {
        const g = canvas.getContext("2d");
        const s = canvas.width / maps.size;
        const [x0, y0, x1, y1] = card.row.box;
        g.strokeStyle = card.row.hit ? "#1a7f37" : "#ffb000";
        g.lineWidth = 2;
        g.setLineDash([4, 3]);
        g.strokeRect(x0 * s, y0 * s, (x1 - x0) * s, (y1 - y0) * s);
        caption.push(el("strong", { class: card.row.hit ? "live-hit" : "live-miss", text: card.row.hit ? " hit" : " miss" }));
      }
      gallery.append(el("figure", { class: "live-gallery-card" }, [canvas, el("figcaption", {}, caption)]));
    }
    const method = maps.method === "attention-rollout"
      ? "attention rollout (the share of the image embedding's attention flow from each patch)"
      : "Grad-CAM (the score is the cosine with the description's embedding)";
    root.dataset.method = maps.method;
    note.textContent = `${Math.min(SHOWN, list.length)} of ${list.length} maps shown. Red: ${method}, white circle: its peak`
      + (mode === "misses" || mode === "trials" ? "; dashed box: the named object (green: hit, amber: miss)." : ".");
    root.dataset.cards = String(Math.min(SHOWN, list.length));
  }

  if (runnable.length > 1) {
    controls.append(selectControl("model", runnable.map((m) => ({ value: m.name, label: modelLabel(m) })), first.name, (name) => useModel(runnable.find((m) => m.name === name))).element);
  }
  controls.append(modeSlot, opacity.element, badge.element);
  await useModel(first);
});
