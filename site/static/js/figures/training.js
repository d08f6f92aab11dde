// Figure kind "training": the pocket lab's latent space over training. A
// slider and a play/pause button step through the snapshots (all projected by
// one PCA, so motion is meaningful); the gap and loss curves beside it mark
// the current step.

import { decodeArray } from "../contract.js";
import { el, selectControl, sliderControl, badgeSlot, modelLabel, formatNumber } from "../dom.js";
import { createScatterView, pointEntries } from "../scatter-view.js";
import { createPreview } from "../preview.js";
import { loadPlotly, drawPlot } from "../plot.js";
import { themeColors, onThemeChange, plotlyAxis } from "../theme.js";
import { figure, pickModel } from "../figure.js";

export const render = figure("training", async ({ mount, config, options, ctx, arrived }) => {
  const withTraining = (ctx.manifest.training || []).map((t) => t.model);
  const candidates = (Array.isArray(config.models) && config.models.length ? ctx.models() : ctx.manifest.models)
    .filter((m) => withTraining.includes(m.name));
  if (!candidates.length) throw new Error("no model in this export has a training record (only pocket models do)");
  let model = pickModel(candidates, options.model, `model ${options.model} has no training record`);

  async function load(m) {
    const training = await ctx.training(m);
    const itemsFile = await ctx.items(training.dataset);
    const snapshots = training.snapshots.map((s) => ({ ...s, xy: decodeArray(s.points) }));
    let total = 0;
    for (const s of snapshots) total += s.xy.length;
    const frame = new Float32Array(total);
    let offset = 0;
    for (const s of snapshots) { frame.set(s.xy, offset); offset += s.xy.length; }
    return { training, items: itemsFile.items, modalities: itemsFile.modalities, snapshots, frame };
  }
  let data = await load(model);
  arrived();
  let index = Math.max(0, Math.min(data.snapshots.length - 1, options.step ?? 0));

  const preview = createPreview({ placeholder: "Point at a dot, tap it, or focus the plot and use the arrow keys." });
  const status = el("p", { class: "fig-status", attrs: { "aria-live": "polite" } });
  const curve = el("div", { class: "fig-plot", attrs: { role: "img", "aria-label": "Gap (centroid distance) and loss over training steps; the marker shows the current snapshot." } });
  let view = null;
  function makeView() {
    view = createScatterView({
      points: data.snapshots[index].xy, n: data.training.n, modalities: data.modalities, colors: themeColors(),
      frame: data.frame, axes: ["PC 1 (shared over snapshots)", "PC 2"], maxWidth: options.size || 420, aspect: 0.85,
      label: `Embeddings of ${modelLabel(model)} during training`,
      onPoint(i) {
        if (i === null || i === undefined) { preview.clear(); return; }
        preview.show(pointEntries(i, data.training.n, data.modalities, data.items), { scoreLabel: `step ${data.snapshots[index].step}` });
      },
    });
    return view;
  }
  makeView();

  const slider = sliderControl("Training step", { min: 0, max: data.snapshots.length - 1, step: 1, value: index }, (v) => go(v));
  const play = el("button", { type: "button", class: "fig-play", text: "Play", attrs: { "aria-pressed": "false" } });
  let timer = null;
  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
    play.textContent = "Play";
    play.setAttribute("aria-pressed", "false");
  }
  play.addEventListener("click", () => {
    if (timer) { stop(); return; }
    if (index >= data.snapshots.length - 1) go(0);
    play.textContent = "Pause";
    play.setAttribute("aria-pressed", "true");
    timer = setInterval(() => {
      if (index >= data.snapshots.length - 1) { stop(); return; }
      go(index + 1);
    }, options.interval || 900);
  });

  function describe() {
    const s = data.snapshots[index];
    slider.output.textContent = `step ${s.step}`;
    slider.input.value = String(index);
    slider.input.setAttribute("aria-valuetext", `step ${s.step}, gap ${formatNumber(s.centroid_distance)}`);
    status.textContent = `step ${s.step} · gap (centroid distance) ${formatNumber(s.centroid_distance)}${s.loss !== undefined ? ` · loss ${formatNumber(s.loss)}` : ""}`;
    mount.dataset.step = String(s.step);
  }

  function drawCurve() {
    const colors = themeColors();
    const c = data.training.curve;
    const step = data.snapshots[index].step;
    return drawPlot(curve, [
      { type: "scatter", mode: "lines", x: c.step, y: c.centroid_distance, line: { color: colors.accent, width: 2 }, hovertemplate: "step %{x}<br>gap %{y:.3f}<extra></extra>" },
      { type: "scatter", mode: "lines", x: c.step, y: c.loss, yaxis: "y2", line: { color: colors.muted, width: 1.5, dash: "dot" }, hovertemplate: "step %{x}<br>loss %{y:.3f}<extra></extra>" },
      { type: "scatter", mode: "markers", x: [step], y: [data.snapshots[index].centroid_distance], marker: { color: colors.accent, size: 11, line: { color: colors.bg, width: 2 } }, hoverinfo: "skip" },
    ], colors, {
      height: options.height || 320, showlegend: false, margin: { l: 52, r: 52, t: 12, b: 44 },
      xaxis: plotlyAxis(colors, "training step"),
      yaxis: plotlyAxis(colors, "gap (centroid distance)"),
      yaxis2: { ...plotlyAxis(colors, "loss (dotted)"), overlaying: "y", side: "right", showgrid: false },
      shapes: [{ type: "line", x0: step, x1: step, yref: "paper", y0: 0, y1: 1, line: { color: colors.fg, width: 1, dash: "dash" } }],
    });
  }

  function go(i) {
    index = Math.max(0, Math.min(data.snapshots.length - 1, i));
    view.setPoints(data.snapshots[index].xy);
    describe();
    drawCurve();
  }

  const switchable = candidates.length > 1 && options.controls !== false;
  const badge = badgeSlot(switchable);
  const plotSlot = el("div", { class: "fig-panel" });
  const modelSelect = selectControl("Model", candidates.map((m) => ({ value: m.name, label: modelLabel(m) })), model.name, async (v) => {
    stop();
    model = candidates.find((m) => m.name === v);
    data = await load(model);
    index = Math.min(index, data.snapshots.length - 1);
    slider.input.max = String(data.snapshots.length - 1);
    view.destroy();
    plotSlot.replaceChildren(makeView().element);
    view.draw();
    preview.clear();
    badge.show(model);
    mount.dataset.model = model.name;
    describe();
    drawCurve();
  });

  const controls = el("div", { class: "fig-controls" });
  if (switchable) controls.append(modelSelect.element);
  controls.append(play, slider.element);
  plotSlot.append(view.element);
  mount.replaceChildren(el("div", { class: "fig fig-training" }, [
    el("div", { class: "fig-header" }, [badge.element, controls]),
    status,
    el("div", { class: "fig-body fig-training-body" }, [plotSlot, el("div", { class: "fig-panel" }, [curve]), preview.element]),
  ]));
  badge.show(model);
  mount.dataset.model = model.name;
  view.draw();
  describe();
  await drawCurve();
  onThemeChange((colors) => { view.setColors(colors); drawCurve(); });
}, { preload: [loadPlotly] });
