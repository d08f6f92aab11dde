// Figure kind "retrieval": choose a query (an image or a caption) and see the
// top-k items of the other modality with their scores, the true match marked,
// and the model's recall@k. Queries are chosen with native selects and buttons.
// A result that ships embeddings.json has no lists: its top-k is ranked on demand
// (embedding-source.js: on the page for a small gallery, else in the worker).

import { decodeArray } from "../contract.js";
import { el, selectControl, badgeSlot, modelLabel, formatNumber, uniqueId } from "../dom.js";
import { figure, pickModel } from "../figure.js";
import { modalityView } from "../preview.js";
import { hasEmbeddings, openEmbeddings } from "../embedding-source.js";

function itemView(item, modality) {
  if (modality === "image" && item.imageUrl) {
    // A photograph keeps its credit line (its licence may require it).
    const credit = item.extra && item.extra.credit;
    const img = el("img", { src: item.imageUrl, alt: `image ${item.id}`, attrs: { decoding: "async", loading: "lazy" } });
    return credit ? el("span", { class: "fig-retrieval-image" }, [img, el("span", { class: "fig-preview-credit", text: credit })]) : img;
  }
  if (modality === "text") return el("p", { class: "fig-preview-caption", text: item.text });
  // An image that is not redistributed, or a further modality (audio, molecule ...): its own
  // preview image, or its text.
  const view = modalityView(item, modality);
  if (view.imageUrl) return el("img", { src: view.imageUrl, alt: view.alt, attrs: { decoding: "async", loading: "lazy" } });
  return el("p", { class: "fig-preview-caption", text: view.text || item.text });
}

/**
 * Every searchable direction: the first modality pair as i2t/t2i, then each further pair both ways.
 * A result that ships embeddings.json has no lists: its routes name the modalities' rows, ranked on demand.
 */
function routesOf(retrieval, modalities, ranked) {
  const [first, second] = modalities;
  const routes = [];
  const add = (key, query, result, lists, recall) => routes.push({
    key, query, result, recall,
    label: `${query} → ${result}`,
    ...(ranked
      ? { from: modalities.indexOf(query), to: modalities.indexOf(result) }
      : { indices: decodeArray(lists.indices), scores: decodeArray(lists.scores) }),
  });
  add("i2t", first, second, retrieval.i2t, retrieval.recall.i2t);
  add("t2i", second, first, retrieval.t2i, retrieval.recall.t2i);
  for (const pair of retrieval.pairs || []) {
    const [a, b] = pair.modalities;
    add(`${a}>${b}`, a, b, pair.i2t, pair.recall.i2t);
    add(`${b}>${a}`, b, a, pair.t2i, pair.recall.t2i);
  }
  return routes;
}

const MAX_SELECT_QUERIES = 2000;

/** The query as a number box (0-based index, like the select's values): {element, select, numbered}. */
function numberQuery(count, value, onChange) {
  const id = uniqueId("fig-query");
  const input = el("input", { id, type: "number", class: "fig-select", attrs: { min: "0", max: String(count - 1), step: "1" } });
  input.value = String(value);
  input.addEventListener("change", () => {
    const v = Math.round(Number(input.value));
    if (Number.isFinite(v)) onChange(Math.max(0, Math.min(count - 1, v)));
  });
  const element = el("div", { class: "fig-control" }, [
    el("label", { class: "fig-control-label", text: `Query (0–${count - 1})`, attrs: { for: id } }), input,
  ]);
  return { element, select: input, numbered: true };
}

function truncate(text, length = 60) {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

export const render = figure("retrieval", async ({ mount, options, ctx, arrived, datasetModels }) => {
  const { datasetName, models } = datasetModels();
  let model = pickModel(models, options.model, "no model to show");
  const itemsFile = await ctx.items();
  let retrieval = await ctx.load(model, "retrieval");
  let ranker = hasEmbeddings(ctx, model) ? await openEmbeddings(ctx, model) : null;
  arrived();
  const items = itemsFile.items;
  const modalities = itemsFile.modalities || ["image", "text"];
  let routes = [];
  const decode = () => { routes = routesOf(retrieval, modalities, Boolean(ranker)); };
  decode();
  let direction = routes.some((r) => r.key === options.direction) ? options.direction : "i2t";
  const route = () => routes.find((r) => r.key === direction) || routes[0];
  let query = Math.max(0, Math.min(items.length - 1, options.query ?? 0));
  const shown = () => Math.min(options.k || retrieval.k, retrieval.k);

  const queryBox = el("div", { class: "fig-query-item" });
  const results = el("ol", { class: "fig-retrieval-list", attrs: { "aria-live": "polite" } });
  const recallLine = el("p", { class: "fig-recall" });
  const found = el("p", { class: "fig-status" });
  const switchable = models.length > 1 && options.controls !== false;
  const badge = badgeSlot(switchable);

  const queryOptions = () => items.map((item, i) => ({
    value: String(i),
    label: route().query === "text" ? `${i + 1}. ${truncate(item.text)}` : `${i + 1}. ${route().query} ${item.id}`,
  }));
  // A few thousand queries fit a select; more (a large figure sample) get a number box:
  // a select of 10,000 options costs more to update than ranking the gallery does.
  const querySelect = items.length <= MAX_SELECT_QUERIES
    ? selectControl("Query", queryOptions(), String(query), (v) => { query = Number(v); update(); })
    : numberQuery(items.length, query, (v) => { query = v; update(); });
  const prev = el("button", { type: "button", text: "◀ previous", attrs: { "aria-label": "previous query" } });
  const next = el("button", { type: "button", text: "next ▶", attrs: { "aria-label": "next query" } });
  prev.addEventListener("click", () => { query = (query - 1 + items.length) % items.length; update(); });
  next.addEventListener("click", () => { query = (query + 1) % items.length; update(); });
  const directionSelect = selectControl("Search", routes.map((r) => ({ value: r.key, label: r.label })), direction, (v) => {
    direction = v;
    if (querySelect.numbered) querySelect.select.value = String(query);
    else querySelect.select.replaceChildren(...queryOptions().map((o) => el("option", { value: o.value, text: o.label })));
    update();
  });
  const modelSelect = selectControl("Model", models.map((m) => ({ value: m.name, label: modelLabel(m) })), model.name, async (v) => {
    const nextModel = models.find((m) => m.name === v);
    const data = await ctx.load(nextModel, "retrieval");
    const nextRanker = hasEmbeddings(ctx, nextModel) ? await openEmbeddings(ctx, nextModel) : null;
    model = nextModel; retrieval = data; ranker = nextRanker; decode(); update();
  });

  /** The top shown() of the route for the query: [{index, score}], from its lists or ranked now. */
  async function topList(current) {
    const n = items.length;
    if (ranker) return ranker.topK(current.from * n + query, current.to * n, n, shown());
    const k = retrieval.k;
    return Array.from({ length: shown() }, (_, j) => ({ index: current.indices[query * k + j], score: current.scores[query * k + j] }));
  }

  let token = 0;
  async function update() {
    const mine = ++token;
    querySelect.select.value = String(query);
    const current = route();
    const [qMod, rMod] = [current.query, current.result];
    const item = items[query];
    queryBox.replaceChildren(el("span", { class: "fig-preview-tag", text: `query: ${qMod} #${query} · ${item.id}` }), itemView(item, qMod));
    let best;
    try {
      best = await topList(current);
    } catch (error) {
      if (mine === token) found.textContent = `Could not rank the ${rMod}s: ${error.message}`;
      return;
    }
    if (mine !== token) return; // the reader moved on
    const hits = [];
    let rank = -1;
    for (let j = 0; j < best.length; j++) {
      const { index, score } = best[j];
      const match = index === query;
      if (match) rank = j;
      hits.push(el("li", { class: "fig-retrieval-hit", dataset: { index: String(index), match: String(match) } }, [
        el("span", { class: "fig-retrieval-rank", text: `#${j + 1} · ${rMod} ${index}${match ? " · the true pair" : ""}` }),
        itemView(items[index], rMod),
        el("span", { class: "fig-retrieval-score", text: formatNumber(score) }),
        el("div", { class: "fig-scorebar", attrs: { style: `width:${Math.max(2, Math.min(100, ((score + 1) / 2) * 100)).toFixed(1)}%` } }),
      ]));
    }
    results.replaceChildren(...hits);
    found.textContent = rank >= 0 ? `The paired ${rMod} is at rank ${rank + 1}.` : `The paired ${rMod} is not in the top ${shown()}.`;
    const r = current.recall;
    recallLine.textContent = `${modelLabel(model)}, ${current.label} over all ${items.length} queries: R@1 ${formatNumber(r.r1, 2)} · R@5 ${formatNumber(r.r5, 2)} · R@10 ${formatNumber(r.r10, 2)}`;
    badge.show(model);
    mount.dataset.model = model.name;
    root.dataset.shown = `${direction}:${query}`; // what the list shows (tests wait for it)
  }

  const controls = el("div", { class: "fig-controls" });
  if (switchable) controls.append(modelSelect.element);
  controls.append(directionSelect.element, querySelect.element, prev, next);
  const root = el("div", { class: "fig fig-retrieval" }, [
    el("div", { class: "fig-header" }, [badge.element, controls]),
    el("div", { class: "fig-query" }, [queryBox, el("div", {}, [found, recallLine])]),
    results,
  ]);
  mount.replaceChildren(root);
  await update();
});
