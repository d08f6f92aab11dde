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
import { hasEmbeddings, openEmbeddings } from "../embedding-source.js";
import { createEmbeddingView } from "../embedding-view.js";
import { createScatterView, pointEntries } from "../scatter-view.js";
import { projectionMethod } from "../registry.js";
import { createPreview, cellEntries, cellInfo } from "../preview.js";
import { themeColors, onThemeChange } from "../theme.js";
import { figure, pickModel } from "../figure.js";


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
  // All that changes while the figure lives, in one place: what is shown (model, dataset,
  // projection method, gap step, sorting), its loaded files, and the tokens that let a
  // late answer of an abandoned load or step be ignored.
  const modelsFor = (d) => ctx.models(d).filter((m) => ctx.manifest.results.some((r) => r.model === m.name && r.dataset === d));
  const startDataset = ctx.dataset(options.dataset || config.dataset).name;
  const startModels = modelsFor(startDataset);
  if (!startModels.length) throw new Error(`no model has results on dataset ${startDataset}`);
  const state = {
    datasetName: startDataset,
    models: startModels,
    model: pickModel(startModels, options.model, `model ${options.model} has no results on dataset ${startDataset}`),
    method: options.method || null,
    sorted: wantsSorted(options),
    data: null, // loadAll's files of (model, dataset)
    step: 0, // the slider's gap step
    stepToken: 0,
    token: 0,
  };

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
    const [sim, gap, proj, itemsFile] = await Promise.all([ctx.load(m, "similarity", d), ctx.load(m, "gap", d), ctx.load(m, "projections", d), ctx.items(d)]);
    const source = hasEmbeddings(ctx, m, d) ? openEmbeddings(ctx, m, d) : null;
    const loaded = { sim, gap, proj, itemsFile, matrices: new Map(), points: new Map(), source: source && await source };
    loaded.step = Math.max(0, Math.min(gap.steps.length - 1, step));
    loaded.current = loaded.source ? null : await matrixAt(loaded, loaded.step);
    return loaded;
  }
  state.data = await loadAll(state.model, state.datasetName, options.step ?? 0);
  arrived();
  state.step = state.data.step;
  // Every gap step is mapped into the one frame fitted on the original embeddings,
  // so each slider position shows real positions; a method that cannot place new
  // points (t-SNE) has the original only and does not move (its note says why).
  const stepOf = (meth, i) => {
    const fraction = state.data.gap.steps[i].fraction;
    const at = state.data.proj.fractions.findIndex((f) => Math.abs(f - fraction) < 1e-9);
    return at >= 0 && at < state.data.proj.points[meth].length ? at : 0;
  };
  const pointsAt = (meth, i) => {
    const key = `${meth}/${stepOf(meth, i)}`;
    if (!state.data.points.has(key)) state.data.points.set(key, decodeArray(state.data.proj.points[meth][stepOf(meth, i)]));
    return state.data.points.get(key);
  };
  // The view's bounds cover every step of the method, so a point that stays put stays put on screen.
  const frameOf = (meth) => {
    const steps = state.data.proj.points[meth].map((_, i) => {
      const key = `${meth}/${i}`;
      if (!state.data.points.has(key)) state.data.points.set(key, decodeArray(state.data.proj.points[meth][i]));
      return state.data.points.get(key);
    });
    const out = new Float32Array(steps.reduce((a, p) => a + p.length, 0));
    let offset = 0;
    for (const p of steps) { out.set(p, offset); offset += p.length; }
    return out;
  };
  const pickMethod = () => (state.method && state.data.proj.methods.includes(state.method) ? state.method : state.data.proj.methods[0]);
  state.method = pickMethod();

  const preview = createPreview({ placeholder: "Point at a cell or a dot, tap one, or use the arrow keys on a focused plot." });
  const status = el("p", { class: "fig-status", attrs: { "aria-live": "polite" } });
  const sliderNote = el("p", { class: "fig-note" });
  const n = () => state.data.sim.n;
  const modalities = () => state.data.sim.modalities;
  const items = () => state.data.itemsFile.items;

  const makeMatrixView = () => (state.data.source ? createEmbeddingView : createMatrixView)({
    matrix: state.data.current, source: state.data.source, fraction: state.data.gap.steps[state.step].fraction,
    n: n(), modalities: modalities(), order: state.data.sim.order, clusters: state.data.sim.clusters,
    colors: themeColors(), scale: options.scale || "viridis", range: stepRange(state.data.gap.steps), sorted: state.sorted,
    maxSize: options.size || 420,
    label: "Similarity matrix of the explorer",
    onCell(cell) {
      if (!cell) { preview.clear(); scatterView.highlight([]); return; }
      preview.show(cellEntries(cell, n(), modalities(), items()), cellInfo(cell, n()));
      scatterView.highlight(cell.row === cell.col ? [cell.row] : [cell.row, cell.col]);
    },
  });
  let matrixView = makeMatrixView(); // replaced when a switch crosses between matrices and embeddings
  // The value of stacked cell (a, b) at the step shown: a matrix code, or a dot product of embeddings.
  const valueAt = (a, b) => {
    if (state.data.source) return state.data.source.value(a, b, state.data.gap.steps[state.step].fraction);
    const matrix = state.data.current;
    return matrix.offset + matrix.scale * matrix.data[a * matrix.cols + b];
  };
  const scatterView = createScatterView({
    points: pointsAt(state.method, state.step), frame: frameOf(state.method), n: n(), modalities: modalities(), colors: themeColors(),
    axes: projectionMethod(ctx.manifest, state.method).axes, maxWidth: options.size || 420, aspect: 0.85, label: "Projection of the explorer",
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
    const step = state.data.gap.steps[state.step];
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
    sliderNote.textContent = projectionMethod(ctx.manifest, state.method).note;
  }

  const slider = sliderControl("Close the gap", { min: 0, max: state.data.gap.steps.length - 1, step: 1, value: state.step }, async (value) => {
    const mine = ++state.stepToken;
    const shown = state.data;
    state.step = value;
    describeStep();
    try {
      if (state.data.source) {
        await matrixView.setFraction(state.data.gap.steps[value].fraction);
        if (mine !== state.stepToken || shown !== state.data) return;
      } else {
        const matrix = await matrixAt(shown, value);
        if (mine !== state.stepToken || shown !== state.data) return; // the reader moved on
        state.data.current = matrix;
        matrixView.setMatrix(matrix);
      }
      mount.dataset.step = String(state.step); // the step whose matrix is drawn
      scatterView.setPoints(pointsAt(state.method, state.step));
      mount.dispatchEvent(new CustomEvent("figure-updated", { bubbles: true, detail: { kind: "explorer", step: state.step } }));
    } catch (error) {
      console.error(error);
      status.textContent = `Could not load step ${value}: ${error.message}`;
    }
  });
  // Taking hold of the slider fetches every step, so dragging never waits.
  const prefetchSteps = () => { if (!state.data.source) state.data.gap.steps.forEach((_, i) => matrixAt(state.data, i).catch(() => {})); };
  slider.input.addEventListener("pointerdown", prefetchSteps);
  slider.input.addEventListener("focus", prefetchSteps);

  const badge = badgeSlot(true, { class: "fig-badge-slot" });
  const modelName = el("span", { class: "fig-model" });
  const modelSelect = selectControl("Model", state.models.map((m) => ({ value: m.name, label: modelLabel(m) })), state.model.name, (v) => switchTo(v, state.datasetName));
  const datasetOptions = () => ctx.manifest.datasets.filter((d) => ctx.manifest.results.some((r) => r.dataset === d.name && r.model === state.model.name));
  const datasetSelect = selectControl("Dataset", datasetOptions().map((d) => ({ value: d.name, label: d.name })), state.datasetName, (v) => switchTo(state.model.name, v));
  const methodSelect = selectControl("Projection", state.data.proj.methods.map((m) => ({ value: m, label: projectionMethod(ctx.manifest, m).label })), state.method, (v) => {
    state.method = v;
    scatterView.setPoints(pointsAt(state.method, state.step), { axes: projectionMethod(ctx.manifest, state.method).axes, frame: frameOf(state.method) });
    describeStep();
  });
  const sortButton = toggleButton("Sort by clusters", state.sorted, (on) => { state.sorted = on; matrixView.setSorted(on); });

  // The dataset's own description says what its pairs are (and, for the default
  // photographs, that the pocket models never saw any), whichever dataset is shown.
  const about = el("p", { class: "fig-note fig-dataset-about" });
  function refreshHeader() {
    modelName.textContent = `${modelLabel(state.model)} · ${state.datasetName}`;
    about.textContent = ctx.dataset(state.datasetName).description || "";
    badge.show(state.model);
    mount.dataset.model = state.model.name;
    mount.dataset.dataset = state.datasetName;
    mount.dataset.step = String(state.step);
  }

  async function switchTo(modelId, dname) {
    const mine = ++state.token;
    const candidates = modelsFor(dname);
    const nextModel = candidates.find((m) => m.name === modelId) || candidates[0];
    mount.setAttribute("aria-busy", "true");
    try {
      const next = await loadAll(nextModel, dname, state.step);
      if (mine !== state.token) return;
      state.model = nextModel; state.datasetName = dname; state.data = next; state.models = candidates;
      state.step = state.data.step;
      state.method = pickMethod();
      // Rebuild the option lists: a dataset may have other models, a model other datasets.
      modelSelect.select.replaceChildren(...state.models.map((m) => el("option", { value: m.name, text: modelLabel(m) })));
      modelSelect.select.value = state.model.name;
      datasetSelect.select.replaceChildren(...datasetOptions().map((d) => el("option", { value: d.name, text: d.name })));
      datasetSelect.select.value = state.datasetName;
      methodSelect.select.replaceChildren(...state.data.proj.methods.map((m) => el("option", { value: m, text: projectionMethod(ctx.manifest, m).label })));
      methodSelect.select.value = state.method;
      slider.input.max = String(state.data.gap.steps.length - 1);
      slider.input.value = String(state.step);
      if (state.data.source || !matrixView.setMatrix) {
        // Embeddings on either side: a new view of the new result.
        const old = matrixView;
        matrixView = makeMatrixView();
        old.element.replaceWith(matrixView.element);
        old.destroy();
        matrixView.draw();
      } else {
        matrixView.setMatrix(state.data.current, { n: state.data.sim.n, modalities: state.data.sim.modalities, order: state.data.sim.order, clusters: state.data.sim.clusters, range: stepRange(state.data.gap.steps) });
      }
      scatterView.setPoints(pointsAt(state.method, state.step), { axes: projectionMethod(ctx.manifest, state.method).axes, frame: frameOf(state.method), n: state.data.sim.n, modalities: state.data.sim.modalities });
      preview.clear();
      refreshHeader();
      describeStep();
      mount.dispatchEvent(new CustomEvent("figure-updated", { bubbles: true, detail: { kind: "explorer", model: state.model.name, dataset: state.datasetName } }));
    } catch (error) {
      console.error(error);
      status.textContent = `Could not load ${modelId} on ${dname}: ${error.message}`;
    } finally {
      if (mine === state.token) mount.removeAttribute("aria-busy");
    }
  }

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    if (state.models.length > 1 || options.model_switch) controls.append(modelSelect.element);
    if (ctx.manifest.datasets.length > 1) controls.append(datasetSelect.element);
    if (state.data.proj.methods.length > 1) controls.append(methodSelect.element);
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
