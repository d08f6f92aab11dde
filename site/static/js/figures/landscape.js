// Figure kind "landscape": contrastive loss against the shift along the gap
// vector, one line per model, with each model's original and gap-closed
// positions marked (gap.json "landscape").

import { el, selectControl, untrainedBadge, modelLabel, formatNumber } from "../dom.js";
import { loadPlotly, drawPlot, palette } from "../plot.js";
import { themeColors, onThemeChange, plotlyAxis } from "../theme.js";
import { figure } from "../figure.js";

const LOSSES = { loss: "mean of both directions", loss_i2t: "image → text", loss_t2i: "text → image" };
const XS = { distance: "remaining centroid distance (signed)", delta: "shift δ along the gap vector" };

export const render = figure("landscape", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models } = datasetModels();
  const gaps = await Promise.all(models.map((m) => ctx.load(m, "gap")));
  arrived();
  let lossKey = LOSSES[options.loss] ? options.loss : "loss";
  let xKey = XS[options.x] ? options.x : "distance";

  const plot = el("div", { class: "fig-plot", attrs: { role: "img", "aria-label": "Loss against gap shift for each model; the table below lists the marked points." } });
  const legend = el("div", { class: "fig-legend-row" });
  models.forEach((m, i) => {
    legend.append(el("span", { class: "fig-legend-item", dataset: { model: m.name } }, [
      el("span", { class: "fig-swatch fig-swatch-line", attrs: { style: `background:${palette(themeColors(), i)}` } }),
      el("span", { text: modelLabel(m) }), untrainedBadge(m),
    ]));
  });
  legend.append(el("span", { class: "fig-legend-item", text: "● original  ◆ gap closed" }));

  const tbody = el("tbody");
  const table = el("table", { class: "fig-table" }, [
    el("thead", {}, [el("tr", {}, ["model", "original gap", "original loss", "closed gap", "closed loss"].map((h) => el("th", { text: h, attrs: { scope: "col" } })))]),
    tbody,
  ]);
  for (const [i, gap] of gaps.entries()) {
    const { original, closed } = gap.landscape;
    tbody.append(el("tr", {}, [el("th", { text: modelLabel(models[i]), attrs: { scope: "row" } }),
      ...[original.distance, original.loss, closed.distance, closed.loss].map((v) => el("td", { text: formatNumber(v) }))]));
  }

  // The marked points sit on the curve of the chosen loss when it is not the mean.
  function markerY(gap, which) {
    const land = gap.landscape;
    const point = land[which];
    if (lossKey === "loss") return point.loss;
    let best = 0;
    land.delta.forEach((d, j) => { if (Math.abs(d - point.delta) < Math.abs(land.delta[best] - point.delta)) best = j; });
    return land[lossKey][best];
  }
  function markerX(gap, which) {
    const point = gap.landscape[which];
    return xKey === "distance" ? point.distance : point.delta;
  }

  function draw() {
    const colors = themeColors();
    const traces = [];
    gaps.forEach((gap, i) => {
      const color = palette(colors, i);
      const land = gap.landscape;
      traces.push({ type: "scatter", mode: "lines", x: land[xKey], y: land[lossKey], line: { color, width: 2 },
        hovertemplate: "x %{x:.3f}<br>loss %{y:.3f}<extra></extra>", showlegend: false });
      traces.push({ type: "scatter", mode: "markers", x: [markerX(gap, "original"), markerX(gap, "closed")], y: [markerY(gap, "original"), markerY(gap, "closed")],
        marker: { color, size: 11, symbol: ["circle", "diamond"], line: { color: colors.bg, width: 1.5 } },
        hovertemplate: "x %{x:.3f}<br>loss %{y:.3f}<extra></extra>", showlegend: false });
    });
    return drawPlot(plot, traces, colors, {
      height: options.height || 360,
      xaxis: plotlyAxis(colors, XS[xKey]),
      yaxis: plotlyAxis(colors, `loss (${LOSSES[lossKey]})`),
      showlegend: false,
    });
  }

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    controls.append(
      selectControl("Loss", Object.entries(LOSSES).map(([value, label]) => ({ value, label })), lossKey, (v) => { lossKey = v; draw(); }).element,
      selectControl("x axis", Object.entries(XS).map(([value, label]) => ({ value, label })), xKey, (v) => { xKey = v; draw(); }).element,
    );
  }
  const details = el("details", { class: "fig-details" }, [el("summary", { text: "Marked points as a table" }), table]);
  mount.replaceChildren(el("div", { class: "fig fig-landscape" }, [el("div", { class: "fig-header" }, [controls]), plot, legend, details]));
  await draw();
  onThemeChange(() => draw());
}, { preload: [loadPlotly] });
