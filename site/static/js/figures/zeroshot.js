// Figure kind "zeroshot": class probabilities for one chosen image, one bar
// group per prompt template (e.g. "{}" against "a photo of a {}."), with each
// template's accuracy over the dataset.

import { decodeArray } from "../contract.js";
import { el, selectControl, badgeSlot, modelLabel, formatNumber, plotlyText, listOption } from "../dom.js";
import { loadPlotly, drawPlot, palette } from "../plot.js";
import { themeColors, onThemeChange, plotlyAxis } from "../theme.js";
import { figure, pickModel } from "../figure.js";

export const render = figure("zeroshot", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models: all } = datasetModels();
  const models = all.filter((m) => ctx.result(m, datasetName).files.zeroshot);
  if (!models.length) throw new Error(`no zero-shot results on dataset ${datasetName} (it needs labels)`);
  let model = pickModel(models, options.model, `model ${options.model} has no zero-shot results on ${datasetName}`);
  const itemsFile = await ctx.items();
  const items = itemsFile.items;
  let zs = null, probs = null;
  async function load(m) {
    const data = await ctx.load(m, "zeroshot");
    let runs = data.runs;
    const wanted = listOption(options.templates, /\s*\|\s*/);
    if (wanted) runs = runs.filter((r) => wanted.includes(r.template));
    if (!runs.length) throw new Error(`none of the templates ${wanted.join(" | ")} is in the zero-shot results`);
    zs = data; probs = runs.map((r) => ({ run: r, p: decodeArray(r.probs) }));
  }
  await load(model);
  arrived();
  let index = Math.max(0, Math.min(items.length - 1, options.item ?? 0));

  const plot = el("div", { class: "fig-plot", attrs: { role: "img" } });
  const legend = el("div", { class: "fig-legend-row" });
  const thumb = el("div", { class: "fig-query-item" });
  const verdicts = el("ul", { class: "fig-zeroshot-verdicts", attrs: { "aria-live": "polite" } });
  const switchable = models.length > 1 && options.controls !== false;
  const badge = badgeSlot(switchable);

  const itemSelect = selectControl("Image", items.map((item, i) => ({ value: String(i), label: `${i + 1}. ${item.id}${item.label ? ` (${item.label})` : ""}` })), String(index), (v) => { index = Number(v); update(); });
  const prev = el("button", { type: "button", text: "◀ previous", attrs: { "aria-label": "previous image" } });
  const next = el("button", { type: "button", text: "next ▶", attrs: { "aria-label": "next image" } });
  prev.addEventListener("click", () => { index = (index - 1 + items.length) % items.length; update(); });
  next.addEventListener("click", () => { index = (index + 1) % items.length; update(); });
  const modelSelect = selectControl("Model", models.map((m) => ({ value: m.name, label: modelLabel(m) })), model.name, async (v) => {
    model = models.find((m) => m.name === v); await load(model); update();
  });

  function update() {
    itemSelect.select.value = String(index);
    const item = items[index];
    const colors = themeColors();
    const classes = zs.classes;
    const C = classes.length;
    const truth = zs.labels[index];
    thumb.replaceChildren(
      el("span", { class: "fig-preview-tag", text: `image #${index} · ${item.id} · true class: ${classes[truth]}` }),
      item.imageUrl ? el("img", { src: item.imageUrl, alt: `image ${item.id}` }) : el("p", { text: item.text }),
    );
    legend.replaceChildren(...probs.map(({ run }, i) => el("span", { class: "fig-legend-item" }, [
      el("span", { class: "fig-swatch", attrs: { style: `background:${palette(colors, i)}` } }),
      el("span", { text: `“${run.template}” · accuracy ${formatNumber(run.accuracy, 2)}` }),
    ])));
    verdicts.replaceChildren(...probs.map(({ run, p }) => {
      let best = 0;
      for (let c = 1; c < C; c++) if (p[index * C + c] > p[index * C + best]) best = c;
      const ok = best === truth;
      return el("li", { dataset: { template: run.template, correct: String(ok) }, text: `“${run.template}”: ${classes[best]} (${formatNumber(p[index * C + best], 2)})${ok ? " ✓ correct" : " ✗ wrong"}` });
    }));
    const x = classes.map((c) => plotlyText(c));
    const traces = probs.map(({ p }, i) => ({
      type: "bar", x, y: Array.from({ length: C }, (_, c) => p[index * C + c]),
      marker: { color: palette(colors, i), line: { color: x.map((_, c) => (c === truth ? colors.fg : "rgba(0,0,0,0)")), width: 2 } },
      hovertemplate: "p %{y:.3f}<extra></extra>", showlegend: false,
    }));
    plot.setAttribute("aria-label", `Class probabilities for image ${item.id}; the verdicts are listed beside the chart.`);
    badge.show(model);
    mount.dataset.model = model.name;
    return drawPlot(plot, traces, colors, {
      height: options.height || 320, barmode: "group",
      xaxis: plotlyAxis(colors, "class", { type: "category" }),
      yaxis: plotlyAxis(colors, "probability", { range: [0, 1] }),
      showlegend: false,
    });
  }

  const controls = el("div", { class: "fig-controls" });
  if (switchable) controls.append(modelSelect.element);
  controls.append(itemSelect.element, prev, next);
  mount.replaceChildren(el("div", { class: "fig fig-zeroshot" }, [
    el("div", { class: "fig-header" }, [badge.element, controls]),
    el("div", { class: "fig-query" }, [thumb, verdicts]),
    plot, legend,
  ]));
  await update();
  onThemeChange(() => update());
}, { preload: [loadPlotly] });
