// Figure kind "metrics": a sortable table of gap measures, losses and recalls
// across models (from the manifest). A real <table>; header buttons sort;
// aria-sort tells assistive technology the current order.

import { el, untrainedBadge, modelLabel, listOption } from "../dom.js";
import { figure } from "../figure.js";
import { metricColumn, defaultColumns } from "../registry.js";

export const render = figure("metrics", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models } = datasetModels();
  arrived();
  // Columns, headings, digits and tooltips come from the exporter's registry in the manifest.
  const columns = (listOption(options.columns, /\s+/) || defaultColumns(ctx.manifest)).map((id) => metricColumn(ctx.manifest, id));
  // Three or more modalities: one row per modality pair ("i→t" then means first→second of the pair).
  // Intervals: the all-pairs statistics' bootstrap intervals (exporter/statistics.py), per model.
  const rows = models.flatMap((model) => {
    const { metrics, statistics } = ctx.result(model, datasetName);
    if (!metrics.pairs || options.pairs === false) return [{ model, metrics, statistics, pair: null }];
    return Object.entries(metrics.pairs).map(([pair, values]) => ({
      model, pair, statistics: null, // intervals cover the first pair only, so pair rows show none
      metrics: { ...values, closed: metrics.closed && metrics.closed.pairs ? metrics.closed.pairs[pair] : null },
    }));
  });
  const showIntervals = options.intervals !== false;
  const rowLabel = (row) => (row.pair ? `${modelLabel(row.model)} · ${row.pair.replace("-", "–")}` : modelLabel(row.model));
  let sortKey = options.sort || null;
  let sortDir = options.descending ? "descending" : "ascending";

  const table = el("table", { class: "fig-table" });
  const caption = el("caption", { class: "fig-visually-hidden", text: `Gap measures and recalls on ${datasetName}; column buttons sort.` });
  const headRow = el("tr");
  const headers = [];
  const allColumns = [{ id: "model", heading: "model", description: "model" }, ...columns];
  for (const column of allColumns) {
    const button = el("button", { type: "button", text: column.heading, attrs: { title: column.description } });
    const th = el("th", { attrs: { scope: "col" } }, [button]);
    button.addEventListener("click", () => {
      sortDir = sortKey === column.id && sortDir === "ascending" ? "descending" : "ascending";
      sortKey = column.id;
      fill();
    });
    headers.push({ th, column });
    headRow.append(th);
  }
  const tbody = el("tbody");
  table.append(caption, el("thead", {}, [headRow]), tbody);

  function value(row, column) {
    if (column.id === "model") return rowLabel(row).toLowerCase();
    const v = column.get(row.metrics);
    return v === undefined || v === null ? null : v;
  }

  function fill() {
    const sorted = [...rows];
    if (sortKey) {
      const column = allColumns.find((c) => c.id === sortKey);
      const sign = sortDir === "ascending" ? 1 : -1;
      sorted.sort((a, b) => {
        const va = value(a, column), vb = value(b, column);
        if (va === null) return 1;
        if (vb === null) return -1;
        return (va < vb ? -1 : va > vb ? 1 : 0) * sign;
      });
    }
    for (const { th, column } of headers) {
      if (column.id === sortKey) th.setAttribute("aria-sort", sortDir);
      else th.removeAttribute("aria-sort");
    }
    tbody.replaceChildren(...sorted.map((row) => {
      const name = el("th", { attrs: { scope: "row" } }, [el("span", { text: rowLabel(row) }), " ", untrainedBadge(row.model)]);
      return el("tr", { dataset: { model: row.model.name, pair: row.pair || "" } }, [name, ...columns.map((column) => {
        const v = value(row, column);
        const range = showIntervals && v !== null ? column.interval(row.statistics) : null;
        if (!range) return el("td", { text: v === null ? "–" : Number(v).toFixed(column.digits) });
        const [lo, hi] = range.map((x) => Number(x).toFixed(column.digits));
        return el("td", {}, [
          el("span", { text: Number(v).toFixed(column.digits) }),
          el("span", { class: "fig-interval", text: `${lo}–${hi}`, attrs: { title: `${column.description}: bootstrap interval ${lo} to ${hi}` } }),
        ]);
      })]);
    }));
  }
  fill();
  // Many columns: the table scrolls sideways inside its own box on a phone, by touch or keyboard.
  const box = el("div", { class: "fig-table-wrap", tabIndex: 0, attrs: { role: "region", "aria-label": `Metrics table on ${datasetName}` } }, [table]);
  mount.replaceChildren(el("div", { class: "fig fig-metrics" }, [box, scopeNote(ctx.manifest, datasetName, rows, columns, showIntervals)]));
});

/** What the numbers cover: all pairs (and how many), the intervals, and what the other figures show. */
function scopeNote(manifest, datasetName, rows, columns, showIntervals) {
  const dataset = manifest.datasets.find((d) => d.name === datasetName) || {};
  const statistics = (rows.find((r) => r.statistics) || {}).statistics;
  const all = (statistics && statistics.n) || dataset.n_all || dataset.n;
  const parts = [`Measured over all ${Number(all).toLocaleString("en")} pairs of ${datasetName}.`];
  if (showIntervals && statistics && statistics.intervals) {
    parts.push(`Small numbers: ${Math.round(statistics.confidence * 100)}% bootstrap intervals over ${Number(statistics.resamples).toLocaleString("en")} resamples of the pairs.`);
    const withStats = rows.filter((r) => r.statistics);
    const none = columns.filter((c) => withStats.some((r) => c.get(r.metrics) !== null && !c.interval(r.statistics)));
    const names = none.map((c) => c.heading);
    const listed = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
    if (none.length) parts.push(`No interval for ${listed}: an average of two values, or measured on the figure sample.`);
    const above = withStats.some((r) => columns.some((c) => {
      const v = c.get(r.metrics), range = c.interval(r.statistics);
      return v !== null && range && v < range[0];
    }));
    if (above) parts.push("An interval above its value marks a distance within resampling noise: resampled pairs give their centroids a distance by chance alone.");
  }
  if (dataset.sample && dataset.n < all) {
    parts.push(`The other figures show a seeded sample of ${Number(dataset.n).toLocaleString("en")} pairs${dataset.sample.stratified_by ? `, stratified by ${dataset.sample.stratified_by}` : ""}; separability is measured on that sample.`);
  }
  return el("p", { class: "fig-note", text: parts.join(" ") });
}
