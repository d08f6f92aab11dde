// Figure kind "metrics": a sortable table of gap measures, losses and recalls
// across models (from the manifest). A real <table>; header buttons sort;
// aria-sort tells assistive technology the current order.

import { el, untrainedBadge, modelLabel, listOption } from "../dom.js";
import { figure } from "../figure.js";

/** Column id -> [heading, getter(metrics), digits, description]. */
export const COLUMNS = {
  centroid_distance: ["gap", (m) => m.centroid_distance, 3, "distance between the modality centroids"],
  pair_distance: ["pair dist.", (m) => m.pair_distance, 3, "mean distance of matched pairs"],
  relative_gap: ["relative gap", (m) => m.relative_gap, 3, "matched-pair distance over within-modality distance"],
  separability: ["separability", (m) => m.separability, 2, "linear separability of image vs text"],
  pair_cosine: ["pair cos.", (m) => m.pair_cosine, 3, "mean cosine of matched pairs"],
  cone_image: ["cone (image)", (m) => m.cone_image, 3, "mean cosine between images"],
  cone_text: ["cone (text)", (m) => m.cone_text, 3, "mean cosine between texts"],
  loss: ["loss", (m) => (m.loss_i2t + m.loss_t2i) / 2, 3, "contrastive loss, mean of both directions"],
  loss_i2t: ["loss i→t", (m) => m.loss_i2t, 3, "image-to-text loss"],
  loss_t2i: ["loss t→i", (m) => m.loss_t2i, 3, "text-to-image loss"],
  r1_i2t: ["R@1 i→t", (m) => m.recall_i2t.r1, 2, "image-to-text recall at 1"],
  r5_i2t: ["R@5 i→t", (m) => m.recall_i2t.r5, 2, "image-to-text recall at 5"],
  r10_i2t: ["R@10 i→t", (m) => m.recall_i2t.r10, 2, "image-to-text recall at 10"],
  r1_t2i: ["R@1 t→i", (m) => m.recall_t2i.r1, 2, "text-to-image recall at 1"],
  r5_t2i: ["R@5 t→i", (m) => m.recall_t2i.r5, 2, "text-to-image recall at 5"],
  r10_t2i: ["R@10 t→i", (m) => m.recall_t2i.r10, 2, "text-to-image recall at 10"],
  closed_gap: ["gap (closed)", (m) => m.closed && m.closed.centroid_distance, 3, "centroid distance after closing the gap"],
  closed_loss: ["loss (closed)", (m) => m.closed && (m.closed.loss_i2t + m.closed.loss_t2i) / 2, 3, "loss after closing the gap"],
  closed_r1_i2t: ["R@1 i→t (closed)", (m) => m.closed && m.closed.recall_i2t.r1, 2, "image-to-text recall at 1 after closing the gap"],
};

export const DEFAULT_COLUMNS = ["centroid_distance", "relative_gap", "separability", "pair_cosine", "loss", "r1_i2t", "r1_t2i", "closed_gap", "closed_loss"];

export const render = figure("metrics", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models } = datasetModels();
  arrived();
  const columns = (listOption(options.columns, /\s+/) || DEFAULT_COLUMNS).map((id) => {
    if (id.startsWith("zeroshot:")) {
      const template = id.slice("zeroshot:".length);
      return { id, heading: `zero-shot “${template}”`, get: (m) => m.zeroshot && m.zeroshot[template], digits: 2, description: `zero-shot accuracy with template ${template}` };
    }
    const spec = COLUMNS[id];
    if (!spec) throw new Error(`unknown metrics column ${id}; use one of ${Object.keys(COLUMNS).join(", ")} or zeroshot:<template>`);
    return { id, heading: spec[0], get: spec[1], digits: spec[2], description: spec[3] };
  });
  // Three or more modalities: one row per modality pair ("i→t" then means first→second of the pair).
  const rows = models.flatMap((model) => {
    const metrics = ctx.result(model, datasetName).metrics;
    if (!metrics.pairs || options.pairs === false) return [{ model, metrics, pair: null }];
    return Object.entries(metrics.pairs).map(([pair, values]) => ({
      model, pair, metrics: { ...values, closed: metrics.closed && metrics.closed.pairs ? metrics.closed.pairs[pair] : null },
    }));
  });
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
        return el("td", { text: v === null ? "–" : Number(v).toFixed(column.digits) });
      })]);
    }));
  }
  fill();
  // Many columns: the table scrolls sideways inside its own box on a phone, by touch or keyboard.
  const box = el("div", { class: "fig-table-wrap", tabIndex: 0, attrs: { role: "region", "aria-label": `Metrics table on ${datasetName}` } }, [table]);
  mount.replaceChildren(el("div", { class: "fig fig-metrics" }, [box]));
});
