// plotly.js helpers for the small charts (landscape, training curve, zero-shot
// bars). plotly is loaded here, lazily, the first time a figure draws a chart:
// canvas figures never wait for it and a page without charts never downloads it.
// Data strings never reach plotly: legends are DOM nodes, hover labels show
// numbers only, category labels are escaped.

import { plotlyLayout } from "./theme.js";

/** Okabe–Ito: a categorical palette distinguishable with colour-vision deficiencies. */
const OKABE_ITO = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442"];

export function palette(colors, i) {
  return i < OKABE_ITO.length ? OKABE_ITO[i] : [colors.fg, colors.muted][i % 2];
}

// The partial bundle (scatter + bar only: plotly.js-basic-dist-min, see
// sitebuild/vendor_plotly.py). It is a UMD file that sets window.Plotly; the
// page's import map gives the relative URL its content hash.
const BUNDLE = "../vendor/plotly-basic.min.js";
let loading = null;

/** Load plotly once per page; resolves to the Plotly object. */
export function loadPlotly() {
  if (typeof window.Plotly !== "undefined") return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = import(BUNDLE).then(() => {
      if (typeof window.Plotly === "undefined") throw new Error("static/vendor/plotly-basic.min.js did not define Plotly");
      return window.Plotly;
    });
    loading.catch(() => { loading = null; });
  }
  return loading;
}

// No modebar: its buttons (zoom, pan, "download", plotly's share-to-cloud in
// some versions) were unnamed tab stops inside role="img" and covered the plot
// on touch; the figures' own controls and tables carry the same information.
const CONFIG = {
  displayModeBar: false,
  displaylogo: false,
  responsive: true,
  showLink: false,
  showSendToCloud: false,
  showEditInChartStudio: false,
};

/** Draw or update a plot in place (loads plotly on first use). */
export async function drawPlot(div, traces, colors, layout = {}) {
  const Plotly = await loadPlotly();
  return Plotly.react(div, traces, plotlyLayout(colors, layout), CONFIG);
}
