// Figure kind "scatter": a 2-D projection (PCA / UMAP / t-SNE) of both
// modalities of one model, coloured by modality, matched pairs joined by thin
// lines, original or gap-closed embeddings, with the preview panel.

import { decodeArray } from "../contract.js";
import { el, selectControl, modelLabel } from "../dom.js";
import { createScatterView, pointEntries } from "../scatter-view.js";
import { projectionMethod } from "../registry.js";
import { createPreview } from "../preview.js";
import { themeColors, onThemeChange } from "../theme.js";
import { figure, pickModel } from "../figure.js";

const VARIANT_LABELS = { original: "original", closed: "gap closed" };

export function pickOption(value, available, what) {
  if (value === undefined || value === null) return available[0];
  if (!available.includes(value)) throw new Error(`${what} ${value} is not in the export; choose one of ${available.join(", ")}`);
  return value;
}

export const render = figure("scatter", async ({ mount, options, ctx, arrived }) => {
  const model = pickModel(ctx.models(), options.model, "no model to show");
  const [proj, itemsFile] = await Promise.all([ctx.load(model, "projections"), ctx.items()]);
  arrived();
  const items = itemsFile.items;
  const modalities = itemsFile.modalities;
  const n = itemsFile.n;
  let method = pickOption(options.method, proj.methods, "projection method");
  // "original" is the first gap step, "closed" the last (fraction 1) of a method that maps every step.
  const variantsOf = (m) => (proj.points[m].length > 1 && proj.fractions[proj.fractions.length - 1] === 1 ? ["original", "closed"] : ["original"]);
  let variant = pickOption(options.variant, variantsOf(method), "variant");
  const cache = new Map();
  const points = (m, v) => {
    const key = `${m}/${v}`;
    const steps = proj.points[m];
    if (!cache.has(key)) cache.set(key, decodeArray(v === "closed" ? steps[steps.length - 1] : steps[0]));
    return cache.get(key);
  };
  // Both variants share the method's fitted frame, so the view keeps its bounds when switching.
  const frameOf = (m) => {
    const all = variantsOf(m).map((v) => points(m, v));
    const out = new Float32Array(all.reduce((a, p) => a + p.length, 0));
    let offset = 0;
    for (const p of all) { out.set(p, offset); offset += p.length; }
    return out;
  };
  const note = el("p", { class: "fig-note", text: projectionMethod(ctx.manifest, method).note });

  const preview = createPreview({ placeholder: "Point at a dot, tap it, or focus the plot and use the arrow keys." });
  const view = createScatterView({
    points: points(method, variant), frame: frameOf(method), n, modalities, colors: themeColors(),
    lines: options.lines !== false, axes: projectionMethod(ctx.manifest, method).axes, maxWidth: options.size || 560, aspect: options.height ? Math.min(1.5, options.height / (options.size || 560)) : undefined,
    label: `Projection of ${modelLabel(model)} embeddings`,
    onPoint(index) {
      if (index === null || index === undefined) { preview.clear(); return; }
      preview.show(pointEntries(index, n, modalities, items), { scoreLabel: `${projectionMethod(ctx.manifest, method).label}, ${VARIANT_LABELS[variant] || variant}` });
    },
  });

  const controls = el("div", { class: "fig-controls" });
  if (options.controls !== false) {
    // One "Embeddings" select for every method; a method with the original only (t-SNE, whose
    // note says why) disables it rather than removing it, so the controls do not jump.
    const anyClosed = proj.methods.some((m) => variantsOf(m).length > 1);
    const variantSelect = anyClosed
      ? selectControl("Embeddings", ["original", "closed"].map((v) => ({ value: v, label: VARIANT_LABELS[v] || v })), variant, (v) => {
        variant = v; view.setPoints(points(method, variant));
      })
      : null;
    const showVariants = () => {
      const available = variantsOf(method);
      if (!available.includes(variant)) variant = available[0];
      if (variantSelect) {
        variantSelect.select.value = variant;
        variantSelect.select.disabled = available.length < 2;
      }
    };
    if (proj.methods.length > 1) {
      controls.append(selectControl("Projection", proj.methods.map((m) => ({ value: m, label: projectionMethod(ctx.manifest, m).label })), method, (v) => {
        method = v;
        showVariants();
        note.textContent = projectionMethod(ctx.manifest, method).note;
        view.setPoints(points(method, variant), { axes: projectionMethod(ctx.manifest, method).axes, frame: frameOf(method) });
      }).element);
    }
    if (variantSelect) controls.append(variantSelect.element);
    showVariants();
  }
  const header = el("div", { class: "fig-header" }, [el("span", { class: "fig-model", text: modelLabel(model) }), controls]);
  const body = el("div", { class: "fig-body" }, [el("div", { class: "fig-main" }, [view.element, note]), preview.element]);
  mount.replaceChildren(el("div", { class: "fig fig-scatter-figure" }, [header, body]));
  view.draw();
  onThemeChange((colors) => view.setColors(colors));
});
