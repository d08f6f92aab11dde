// Figure kind "explorer": heatmap, scatter and preview linked. Hovering a cell
// highlights both items in the projection; hovering a point highlights its
// rows and columns in the matrix. Model and dataset switches, and a
// close-the-gap slider over the exported steps (gap.json) that swaps the
// matrix of that step and reports the gap and loss as it moves. Each step's
// matrix is its own file, fetched when the slider first reaches it (all of
// them once the reader takes hold of the slider). A result that ships
// embeddings.json instead of matrices is drawn by embedding-view.js: each step is
// the closing shift applied to the embeddings, computed in a worker.

import { decodeRaw, decodeArray } from "../contract.js";
import { el, selectControl, sliderControl, toggleButton, badgeSlot, modelLabel, formatNumber, wantsSorted } from "../dom.js";
import { createMatrixView } from "../matrix-view.js";
import { createScatterView, axisTitles, pointEntries, METHOD_LABELS } from "../scatter-view.js";
import { createPreview, cellEntries, cellInfo } from "../preview.js";
import { themeColors, onThemeChange } from "../theme.js";
import { figure, pickModel } from "../figure.js";
import { hasEmbeddings, openEmbeddings } from "../embedding-source.js";
import { createEmbeddingView } from "../embedding-view.js";


/** One colour range over every step, from gap.json alone (no step file needed). */
function stepRange(steps) {
  let lo = Infinity, hi = -Infinity;
  for (const step of steps) {
    lo = Math.min(lo, step.matrix_range[0]);
    hi = Math.max(hi, step.matrix_range[1]);
  }
  return [lo, hi];
}

export const render = figure("explorer", async ({ mount, config, options, ctx, arrived }) => {
  let datasetName = ctx.dataset(options.dataset || config.dataset).name;
  const modelsFor = (d) => ctx.models(d).filter((m) => ctx.manifest.results.some((r) => r.model === m.name && r.dataset === d));
  let models = modelsFor(datasetName);
  if (!models.length) throw new Error(`no model has results on dataset ${datasetName}`);
  let model = pickModel(models, options.model, `model ${options.model} has no results on dataset ${datasetName}`);
  let method = options.method || null;
  let sorted = wantsSorted(options);

  // The matrix of step i: the original one (fraction 0) is similarity.json's,
  // already here; the others come from their gap-step files, once each.
  function matrixAt(d, i) {
    if (!d.matrices.has(i)) {
      const pending = d.gap.steps[i].fraction === 0 ? Promise.resolve(decodeRaw(d.sim.matrix)) : ctx.gapStepMatrix(d.gap, i);
      pending.catch(() => d.matrices.delete(i));
      d.matrices.set(i, pending);
    }
    return d.matrices.get(i);
  }
  async function loadAll(m, d, step) {
    const source = hasEmbeddings(ctx, m, d) ? openEmbeddings(ctx, m, d) : null;
    const [sim, gap, proj, itemsFile] = await Promise.all([ctx.load(m, "similarity", d), ctx.load(m, "gap", d), ctx.load(m, "projections", d), ctx.items(d)]);
    const loaded = { sim, gap, proj, itemsFile, matrices: new Map(), points: new Map(), source: source && await source };
    loaded.step = Math.max(0, Math.min(gap.steps.length - 1, step));
    loaded.current = loaded.source ? null : await matrixAt(loaded, loaded.step);
    return loaded;
  }
  let data = await loadAll(model, datasetName, options.step ?? 0);
  arrived();
  let stepIndex = data.step;
  const projectionOf = (meth, variant) => {
    const key = `${meth}/${variant}`;
    if (!data.points.has(key)) data.points.set(key, decodeArray(data.proj.points[meth][variant]));
    return data.points.get(key);
  };
  // Projections exist for the original and the fully closed embeddings; in
  // between, positions are interpolated by the step's fraction.
  const pointsAt = (meth, fraction) => {
    const a = projectionOf(meth, "original");
    if (!data.proj.variants.includes("closed") || fraction <= 0) return a;
    const b = projectionOf(meth, "closed");
    if (fraction >= 1) return b;
    const out = new Float32Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = a[i] + (b[i] - a[i]) * fraction;
    return out;
  };
  const pickMethod = () => (method && data.proj.methods.includes(method) ? method : data.proj.methods[0]);
  method = pickMethod();

  const preview = createPreview({ placeholder: "Point at a cell or a dot, tap one, or use the arrow keys on a focused plot." });
  const status = el("p", { class: "fig-status", attrs: { "aria-live": "polite" } });
  const sliderNote = el("p", { class: "fig-note" });
  const n = () => data.sim.n;
  const modalities = () => data.sim.modalities;
  const items = () => data.itemsFile.items;

  const makeMatrixView = () => (data.source ? createEmbeddingView : createMatrixView)({
    matrix: data.current, source: data.source, fraction: data.gap.steps[stepIndex].fraction,
    n: n(), modalities: modalities(), order: data.sim.order, clusters: data.sim.clusters,
    colors: themeColors(), scale: options.scale || "viridis", range: stepRange(data.gap.steps), sorted,
    maxSize: options.size || 420,
    label: "Similarity matrix of the explorer",
    onCell(cell) {
      if (!cell) { preview.clear(); scatterView.highlight([]); return; }
      preview.show(cellEntries(cell, n(), modalities(), items()), cellInfo(cell, n()));
      scatterView.highlight(cell.row === cell.col ? [cell.row] : [cell.row, cell.col]);
    },
  });
  let matrixView = makeMatrixView();
  // The value of stacked cell (a, b) at the step shown: a matrix code, or a dot product of embeddings.
  const valueAt = (a, b) => {
    if (data.source) return data.source.value(a, b, data.gap.steps[stepIndex].fraction);
    const matrix = data.current;
    return matrix.offset + matrix.scale * matrix.data[a * matrix.cols + b];
  };
  const scatterView = createScatterView({
    points: pointsAt(method, data.gap.steps[stepIndex].fraction), n: n(), modalities: modalities(), colors: themeColors(),
    axes: axisTitles(method), maxWidth: options.size || 420, aspect: 0.85, label: "Projection of the explorer",
    onPoint(index) {
      if (index === null || index === undefined) { preview.clear(); matrixView.highlightItems([]); return; }
      const i = index % n();
      const partners = modalities().map((_, m) => m * n() + i);
      let score = null;
      if (modalities().length > 1) score = valueAt(i, n() + i);
      // Three or more modalities: every pair's similarity of this item, in the note.
      const cell = (a, b) => valueAt(a * n() + i, b * n() + i);
      const others = [];
      for (let a = 0; a < modalities().length; a++) {
        for (let b = a + 1; b < modalities().length; b++) if (a + b > 1) others.push(`${modalities()[a]}–${modalities()[b]} ${formatNumber(cell(a, b))}`);
      }
      preview.show(pointEntries(index, n(), modalities(), items()), { score, scoreLabel: `pair similarity (${modalities()[0]}–${modalities()[1] || ""})`, note: others.join(" · ") });
      matrixView.highlightItems(partners);
    },
  });

  function describeStep() {
    const step = data.gap.steps[stepIndex];
    const loss = (step.loss_i2t + step.loss_t2i) / 2;
    if (step.pairs) {
      // k modalities: one slider closes every pairwise gap; report each pair.
      status.textContent = Object.entries(step.pairs).map(([name, p]) => `${name.replace("-", "–")}: gap ${formatNumber(p.centroid_distance)}, `
        + `loss ${formatNumber((p.loss_i2t + p.loss_t2i) / 2)}, R@1 ${formatNumber(p.recall_i2t.r1, 2)}`).join(" · ");
    } else {
      status.textContent = `gap (centroid distance) ${formatNumber(step.centroid_distance)} · loss ${formatNumber(loss)} `
        + `(image→text ${formatNumber(step.loss_i2t)}, text→image ${formatNumber(step.loss_t2i)}) · R@1 image→text ${formatNumber(step.recall_i2t.r1, 2)}`;
    }
    slider.output.textContent = `${Math.round(step.fraction * 100)}% closed`;
    slider.input.setAttribute("aria-valuetext", `${Math.round(step.fraction * 100)} percent of the gap closed; gap ${formatNumber(step.centroid_distance)}, loss ${formatNumber(loss)}`);
    const f = step.fraction;
    sliderNote.textContent = f > 0 && f < 1 ? "Projection positions between the original and the closed embeddings are interpolated." : "";
  }

  let stepToken = 0;
  const slider = sliderControl("Close the gap", { min: 0, max: data.gap.steps.length - 1, step: 1, value: stepIndex }, async (value) => {
    const mine = ++stepToken;
    const shown = data;
    stepIndex = value;
    describeStep();
    try {
      if (data.source) {
        await matrixView.setFraction(data.gap.steps[value].fraction);
        if (mine !== stepToken || shown !== data) return;
      } else {
        const matrix = await matrixAt(shown, value);
        if (mine !== stepToken || shown !== data) return; // the reader moved on
        data.current = matrix;
        matrixView.setMatrix(matrix);
      }
      mount.dataset.step = String(stepIndex); // the step whose matrix is drawn
      scatterView.setPoints(pointsAt(method, data.gap.steps[stepIndex].fraction));
      mount.dispatchEvent(new CustomEvent("figure-updated", { bubbles: true, detail: { kind: "explorer", step: stepIndex } }));
    } catch (error) {
      console.error(error);
      status.textContent = `Could not load step ${value}: ${error.message}`;
    }
  });
  // Taking hold of the slider fetches every step, so dragging never waits.
  const prefetchSteps = () => { if (!data.source) data.gap.steps.forEach((_, i) => matrixAt(data, i).catch(() => {})); };
  slider.input.addEventListener("pointerdown", prefetchSteps);
  slider.input.addEventListener("focus", prefetchSteps);

  const badge = badgeSlot(true, { class: "fig-badge-slot" });
  const modelName = el("span", { class: "fig-model" });
  const modelSelect = selectControl("Model", models.map((m) => ({ value: m.name, label: modelLabel(m) })), model.name, (v) => switchTo(v, datasetName));
  const datasetOptions = () => ctx.manifest.datasets.filter((d) => ctx.manifest.results.some((r) => r.dataset === d.name && r.model === model.name));
  const datasetSelect = selectControl("Dataset", datasetOptions().map((d) => ({ value: d.name, label: d.name })), datasetName, (v) => switchTo(model.name, v));
  const methodSelect = selectControl("Projection", data.proj.methods.map((m) => ({ value: m, label: METHOD_LABELS[m] || m })), method, (v) => {
    method = v;
    scatterView.setPoints(pointsAt(method, data.gap.steps[stepIndex].fraction), { axes: axisTitles(method) });
  });
  const sortButton = toggleButton("Sort by clusters", sorted, (on) => { sorted = on; matrixView.setSorted(on); });

  // The dataset's own description says what its pairs are (and, for the default
  // photographs, that the pocket models never saw any), whichever dataset is shown.
  const about = el("p", { class: "fig-note fig-dataset-about" });
  function refreshHeader() {
    modelName.textContent = `${modelLabel(model)} · ${datasetName}`;
    about.textContent = ctx.dataset(datasetName).description || "";
    badge.show(model);
    mount.dataset.model = model.name;
    mount.dataset.dataset = datasetName;
    mount.dataset.step = String(stepIndex);
  }

  let token = 0;
  async function switchTo(modelId, dname) {
    const mine = ++token;
    const candidates = modelsFor(dname);
    const nextModel = candidates.find((m) => m.name === modelId) || candidates[0];
    mount.setAttribute("aria-busy", "true");
    try {
      const next = await loadAll(nextModel, dname, stepIndex);
      if (mine !== token) return;
      model = nextModel; datasetName = dname; data = next; models = candidates;
      stepIndex = data.step;
      method = pickMethod();
      // Rebuild the option lists: a dataset may have other models, a model other datasets.
      modelSelect.select.replaceChildren(...models.map((m) => el("option", { value: m.name, text: modelLabel(m) })));
      modelSelect.select.value = model.name;
      datasetSelect.select.replaceChildren(...datasetOptions().map((d) => el("option", { value: d.name, text: d.name })));
      datasetSelect.select.value = datasetName;
      methodSelect.select.replaceChildren(...data.proj.methods.map((m) => el("option", { value: m, text: METHOD_LABELS[m] || m })));
      methodSelect.select.value = method;
      slider.input.max = String(data.gap.steps.length - 1);
      slider.input.value = String(stepIndex);
      if (data.source || !matrixView.setMatrix) {
        // Embeddings on either side: a new view of the new result.
        const old = matrixView;
        matrixView = makeMatrixView();
        old.element.replaceWith(matrixView.element);
        old.destroy();
        matrixView.draw();
      } else {
        matrixView.setMatrix(data.current, { n: data.sim.n, modalities: data.sim.modalities, order: data.sim.order, clusters: data.sim.clusters, range: stepRange(data.gap.steps) });
      }
      scatterView.setPoints(pointsAt(method, data.gap.steps[stepIndex].fraction), { axes: axisTitles(method), n: data.sim.n, modalities: data.sim.modalities });
      preview.clear();
      refreshHeader();
      describeStep();
      mount.dispatchEvent(new CustomEvent("figure-updated", { bubbles: true, detail: { kind: "explorer", model: model.name, dataset: datasetName } }));
    } catch (error) {
      console.error(error);
      status.textContent = `Could not load ${modelId} on ${dname}: ${error.message}`;
    } finally {
      if (mine === token) mount.removeAttribute("aria-busy");
    }
  }

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    if (models.length > 1 || options.model_switch) controls.append(modelSelect.element);
    if (ctx.manifest.datasets.length > 1) controls.append(datasetSelect.element);
    if (data.proj.methods.length > 1) controls.append(methodSelect.element);
    controls.append(sortButton);
  }
  const header = el("div", { class: "fig-header" }, [modelName, badge.element, controls]);
  const gapRow = el("div", { class: "fig-gap-row" }, [slider.element, status]);
  const body = el("div", { class: "fig-body fig-explorer-body" }, [
    el("div", { class: "fig-panel" }, [matrixView.element]),
    el("div", { class: "fig-panel" }, [scatterView.element, sliderNote]),
    preview.element,
  ]);
  mount.replaceChildren(el("div", { class: "fig fig-explorer" }, [header, about, gapRow, body]));
  refreshHeader();
  describeStep();
  matrixView.draw();
  scatterView.draw();
  onThemeChange((colors) => { matrixView.setColors(colors); scatterView.setColors(colors); });
});
