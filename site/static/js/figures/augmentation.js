// Figure kind "augmentation": how each model's image embedding moves as its
// image is rotated, blurred, noised or shifted (augmentation.json, one per model
// listed in the manifest's "augmentations"). One line per model: the mean over
// the base images of the chosen measure at each step, with a band from the
// lowest to the highest base image. The base images are shown with their credit.

import { fetchJSON, decodeArray } from "../contract.js";
import { el, selectControl, formatNumber } from "../dom.js";
import { drawPlot, palette } from "../plot.js";
import { themeColors, onThemeChange, plotlyAxis, withAlpha } from "../theme.js";
import { figure } from "../figure.js";

const MEASURES = {
  image_caption: "image–caption cosine similarity",
  image_original: "image–original cosine similarity",
  gap: "gap: centroid distance of the step's images to their captions",
};

function stats(matrix) {
  // matrix: B x S decoded; returns per-step mean, min, max.
  const { rows, cols } = matrix;
  const mean = new Float64Array(cols), lo = new Float64Array(cols).fill(Infinity), hi = new Float64Array(cols).fill(-Infinity);
  for (let b = 0; b < rows; b++) {
    for (let s = 0; s < cols; s++) {
      const v = matrix[b * cols + s];
      mean[s] += v / rows; lo[s] = Math.min(lo[s], v); hi[s] = Math.max(hi[s], v);
    }
  }
  return { mean: [...mean], lo: [...lo], hi: [...hi] };
}

export const render = figure("augmentation", async ({ mount, config, options, ctx, arrived }) => {
  const datasetName = ctx.dataset(config.dataset).name;
  const wanted = Array.isArray(config.models) && config.models.length ? new Set(config.models) : null;
  const entries = (ctx.manifest.augmentations || []).filter((e) => e.dataset === datasetName && (!wanted || wanted.has(e.model)));
  if (!entries.length) throw new Error(`no augmentation series for dataset ${datasetName}`);
  const [payloads, itemsFile] = await Promise.all([
    Promise.all(entries.map((e) => fetchJSON(ctx.resolve(e.file)))),
    ctx.items(datasetName),
  ]);
  arrived();
  const names = payloads[0].augmentations.map((a) => a.name);
  let augName = names.includes(options.augmentation) ? options.augmentation : names[0];
  const hasGap = payloads.every((p) => p.augmentations.every((a) => a.gap));
  const measures = Object.entries(MEASURES).filter(([key]) => key !== "gap" || hasGap);
  let measure = measures.some(([k]) => k === options.measure) ? options.measure : "image_caption";

  const augOf = (payload) => payload.augmentations.find((a) => a.name === augName);
  const plot = el("div", { class: "fig-plot", attrs: { role: "img", "aria-label": "Mean over the base images of the chosen measure at each augmentation step, one line per model; the table below lists the values." } });
  const legend = el("div", { class: "fig-legend-row" });
  entries.forEach((e, i) => {
    legend.append(el("span", { class: "fig-legend-item", dataset: { model: e.model } }, [
      el("span", { class: "fig-swatch fig-swatch-line", attrs: { style: `background:${palette(themeColors(), i)}` } }),
      el("span", { text: e.label }),
    ]));
  });
  legend.append(el("span", { class: "fig-legend-item", text: "band: lowest to highest base image" }));

  const tbody = el("tbody");
  const table = el("table", { class: "fig-table" }, [
    el("thead", {}, [el("tr", {}, ["model", "image–caption at original", "lowest image–caption", "lowest image–original", "series gap (mean)"].map((h) => el("th", { text: h, attrs: { scope: "col" } })))]),
    tbody,
  ]);
  const note = el("p", { class: "fig-note" });

  function series(payload) {
    const aug = augOf(payload);
    if (measure === "gap") return { mean: aug.gap, lo: null, hi: null };
    return stats(decodeArray(aug[measure]));
  }

  function fillTable() {
    tbody.replaceChildren(...payloads.map((payload, i) => {
      const aug = augOf(payload);
      const caption = stats(decodeArray(aug.image_caption));
      const original = stats(decodeArray(aug.image_original));
      const seriesGap = aug.series_gap.reduce((a, b) => a + b, 0) / aug.series_gap.length;
      return el("tr", { dataset: { model: entries[i].model } }, [
        el("th", { text: entries[i].label, attrs: { scope: "row" } }),
        ...[caption.mean[aug.original], Math.min(...caption.mean), Math.min(...original.mean), seriesGap].map((v) => el("td", { text: formatNumber(v) })),
      ]);
    }));
    const aug = augOf(payloads[0]);
    note.textContent = `${payloads[0].bases.length} base images × ${aug.values.length} steps; the original is step ${aug.original} `
      + `(${aug.unit} ${formatNumber(aug.values[aug.original], 2)}). `
      + (hasGap ? "" : "Each base image's series was published as its own matrix, so no per-step gap across images exists; the series gap is each series' own (all steps against the caption).");
  }

  function draw() {
    const colors = themeColors();
    const traces = [];
    payloads.forEach((payload, i) => {
      const color = palette(colors, i);
      const x = augOf(payload).values;
      const s = series(payload);
      if (s.lo) {
        traces.push({ type: "scatter", mode: "lines", x: [...x, ...[...x].reverse()], y: [...s.hi, ...[...s.lo].reverse()],
          fill: "toself", fillcolor: withAlpha(color, 0.12), line: { width: 0 }, hoverinfo: "skip", showlegend: false });
      }
      traces.push({ type: "scatter", mode: "lines", x, y: s.mean, line: { color, width: 2 },
        hovertemplate: "%{x:.3g}: %{y:.3f}<extra></extra>", showlegend: false });
    });
    const aug = augOf(payloads[0]);
    return drawPlot(plot, traces, colors, {
      height: options.height || 340,
      xaxis: plotlyAxis(colors, `${aug.label} (${aug.unit})`),
      yaxis: plotlyAxis(colors, MEASURES[measure]),
      showlegend: false,
    });
  }

  // The base images, as their licences ask: each with its prompt and credit. Only the series'
  // bases: an exporter-made series starts from the first few items of a larger dataset.
  const baseIds = new Set(payloads[0].bases.map(String));
  const bases = itemsFile.items.filter((item) => baseIds.has(String(item.id)));
  const strip = el("div", { class: "fig-aug-bases" }, bases.map((item) => el("figure", { class: "fig-aug-base" }, [
    item.imageUrl ? el("img", { src: item.imageUrl, alt: item.text, attrs: { decoding: "async", loading: "lazy", width: "64", height: "64" } }) : null,
    el("figcaption", { text: (item.extra && item.extra.credit) || "" }),
  ])));

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    controls.append(
      selectControl("Augmentation", payloads[0].augmentations.map((a) => ({ value: a.name, label: a.label })), augName, (v) => { augName = v; fillTable(); draw(); }).element,
      selectControl("Measure", measures.map(([value, label]) => ({ value, label })), measure, (v) => { measure = v; draw(); }).element,
    );
  }
  // The table scrolls sideways inside its own box on a phone, by touch or keyboard.
  const tableBox = el("div", { class: "fig-table-wrap", tabIndex: 0, attrs: { role: "region", "aria-label": "Values as a table" } }, [table]);
  const details = el("details", { class: "fig-details" }, [el("summary", { text: "Values as a table" }), tableBox]);
  mount.replaceChildren(el("div", { class: "fig fig-augmentation" }, [el("div", { class: "fig-header" }, [controls]), plot, legend, note, details, strip]));
  fillTable();
  await draw();
  onThemeChange(() => draw());
});
