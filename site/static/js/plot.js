// plotly.js helpers for the small charts (landscape, training curve, zero-shot
// bars). Data strings never reach plotly: legends are DOM nodes, hover labels
// show numbers only, category labels are escaped.

import { plotlyLayout } from "./theme.js";

/** Okabe–Ito: a categorical palette distinguishable with colour-vision deficiencies. */
const OKABE_ITO = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442"];

export function palette(colors, i) {
  return i < OKABE_ITO.length ? OKABE_ITO[i] : [colors.fg, colors.muted][i % 2];
}

export function requirePlotly() {
  if (typeof window.Plotly === "undefined") {
    throw new Error("plotly.js is not loaded (static/vendor/plotly.min.js must come before the figure scripts)");
  }
  return window.Plotly;
}

const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
};

/** Draw or update a plot in place. */
export function drawPlot(div, traces, colors, layout = {}) {
  const Plotly = requirePlotly();
  return Plotly.react(div, traces, plotlyLayout(colors, layout), CONFIG);
}
