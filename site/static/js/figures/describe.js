// "Descriptions, as in miniClip": pick an image or draw a scene, type several descriptions,
// and see the model's softmax over them at its own temperature, with a typed prefix switched
// on and off. "Where does it look?" computes occlusion saliency in the page.

import { figure, pickModel } from "../figure.js";
import { el, formatNumber, modelLabel, selectControl, sliderControl, toggleButton, badgeSlot } from "../dom.js";
import { openLiveModel, liveEntry, dot, softmax } from "../live/model.js";
import { loaderPanel, unknownNote } from "../live/panel.js";
import { sceneEditor, renderScene } from "../live/scene.js";
import { occlusionMap, drawOverlay, PATCH, STRIDE } from "../live/occlusion.js";

const DEFAULT_DESCRIPTIONS = ["a red circle", "a blue square", "a circle", "a large red circle left of a small blue square"];
const PICKS = 12;

export const render = figure("describe", async (fig) => {
  const { mount, options, ctx, arrived, datasetModels } = fig;
  const { datasetName, models } = datasetModels();
  const runnable = models.filter((m) => { const e = liveEntry(ctx.manifest, m); return e && e.towers.includes("image"); });
  const first = pickModel(runnable, options.model, "no model of this figure has both towers for the page in this export");
  const items = (await ctx.items(datasetName)).items;
  arrived();

  const root = el("div", { class: "fig live-figure live-describe-figure" });
  mount.replaceChildren(root);
  const badge = badgeSlot(runnable.length > 1, { class: "fig-badges" });
  const controls = el("div", { class: "fig-controls" });
  const panelSlot = el("div");
  const picker = el("div", { class: "live-picker", attrs: { role: "group", "aria-label": "choose an image" } });
  const canvas = el("canvas", { class: "live-canvas", width: 192, height: 192, attrs: { role: "img", "aria-label": "the chosen image" } });
  const opacity = sliderControl("saliency opacity", { min: 0, max: 1, step: 0.05, value: 0.6 }, () => redraw());
  const where = el("p", { class: "fig-note", attrs: { "aria-live": "polite" } });
  const editorSlot = el("div");
  const lines = el("textarea", { class: "live-input live-descriptions", rows: 5, attrs: { "aria-label": "descriptions, one per line", spellcheck: "false" } });
  lines.value = (options.descriptions ? String(options.descriptions).split("|") : DEFAULT_DESCRIPTIONS).map((s) => s.trim()).join("\n");
  const prefix = el("input", { type: "text", class: "live-input live-prefix", value: options.prefix || "a picture of", attrs: { "aria-label": "prefix" } });
  let prefixOn = false;
  const prefixToggle = toggleButton("use the prefix", false, (on) => { prefixOn = on; ask().catch(fail); });
  const askButton = el("button", { type: "button", class: "live-ask", text: "Ask the model" });
  const notes = el("p", { class: "live-unknown", attrs: { "aria-live": "polite" } });
  const table = el("table", { class: "live-probs" });
  const tableNote = el("p", { class: "fig-note" });
  root.append(
    controls, panelSlot, picker, editorSlot,
    el("div", { class: "live-row" }, [
      el("div", {}, [canvas, opacity.element, where]),
      el("div", { class: "live-describe-side" }, [
        el("label", { class: "live-label", text: "Descriptions, one per line" }), lines,
        el("div", { class: "live-form" }, [el("label", { class: "live-label", text: "Prefix" }), prefix, prefixToggle, askButton]),
        notes, table, tableNote,
      ]),
    ]),
  );

  let live = null;
  let panel = null;
  let rgba = null; // the current image as the model sees it
  let imageVector = null;
  let saliency = null;
  let source = { kind: "item", index: 0 };
  const fail = (error) => { console.error(error); notes.textContent = `The model could not answer: ${error.message || error}`; };

  function redraw() {
    if (!rgba) return;
    const peak = drawOverlay(canvas, rgba, 64, saliency && saliency.map, Number(opacity.input.value));
    opacity.output.textContent = formatNumber(Number(opacity.input.value), 2);
    if (saliency) {
      where.textContent = `Occlusion saliency for "${saliency.text}": ${saliency.passes} forward passes, a ${PATCH}-pixel grey patch every ${STRIDE} pixels; red where covering the image lowers its cosine with the description most`
        + (peak ? `, circle at the peak (${Math.round(peak.x)}, ${Math.round(peak.y)}).` : ". Covering no part lowered it.")
        + " Grad-CAM would need gradients, which onnxruntime-web does not compute.";
    } else {
      where.textContent = "";
    }
  }

  async function setImage() {
    saliency = null;
    imageVector = null;
    if (source.kind === "item") {
      rgba = await live.itemRGBA(datasetName, source.index);
      imageVector = live.data(datasetName).image[source.index]; // the exporter's own vector
    } else {
      rgba = renderScene(source.objects);
    }
    redraw();
  }

  function texts() {
    const list = lines.value.split("\n").map((s) => s.trim()).filter(Boolean);
    const p = prefix.value.trim();
    return list.map((t) => ({ shown: t, used: prefixOn && p ? `${p} ${t}` : t }));
  }

  async function ask() {
    const list = texts();
    if (!list.length) { notes.textContent = "Type at least one description."; return; }
    await panel.ensure();
    if (!imageVector) [imageVector] = await live.encodeImages([live.pixels(rgba)]);
    const vectors = await live.encodeTexts(list.map((t) => t.used));
    const cosines = vectors.map((v) => dot(v, imageVector));
    const probs = softmax(cosines, live.bundle.logit_scale);
    notes.textContent = list.map((t) => unknownNote(live.tokenizer, t.used)).filter(Boolean).join(" · ");
    table.replaceChildren(el("tr", {}, ["description", "cosine", "probability", ""].map((h) => el("th", { text: h }))));
    list.forEach((t, i) => {
      const look = el("button", { type: "button", text: "where does it look?" });
      look.addEventListener("click", async () => {
        look.disabled = true;
        try {
          const map = await occlusionMap(live, rgba, 64, vectors[i]);
          saliency = { ...map, text: t.used };
          redraw();
          root.dataset.saliency = t.used;
        } catch (error) { fail(error); } finally { look.disabled = false; }
      });
      table.append(el("tr", { class: "live-prob-row" }, [
        el("td", { class: "live-desc", text: t.used }),
        el("td", { class: "live-cos", text: formatNumber(cosines[i], 3) }),
        el("td", {}, [el("span", { class: "live-bar", style: `width:${Math.round(probs[i] * 120)}px` }), " ", el("span", { class: "live-prob", text: formatNumber(probs[i], 3) })]),
        el("td", {}, [look]),
      ]));
    });
    const model = live.bundle;
    tableNote.textContent = `Softmax over these ${list.length} descriptions at the model's temperature (τ = ${formatNumber(1 / model.logit_scale, 4)}, logit scale ${formatNumber(model.logit_scale, 2)}).`
      + (model.logit_bias !== null ? " This model was trained with a sigmoid loss: it scores each pair on its own, the softmax here only compares them." : "")
      + (prefixOn && prefix.value.trim() ? ` Prefix "${prefix.value.trim()}" on.` : " No prefix.");
    root.dataset.answered = String((Number(root.dataset.answered) || 0) + 1);
  }

  function buildPicker() {
    picker.replaceChildren();
    items.slice(0, PICKS).forEach((item, index) => {
      const button = el("button", { type: "button", class: "live-pick", attrs: { "aria-pressed": String(source.kind === "item" && source.index === index), "aria-label": `image ${index + 1}: ${item.text}` } }, [
        item.imageUrl ? el("img", { src: item.imageUrl, alt: "", width: 40, height: 40 }) : String(index + 1),
      ]);
      button.addEventListener("click", () => choose({ kind: "item", index }));
      picker.append(button);
    });
    const draw = el("button", { type: "button", class: "live-pick live-pick-draw", text: "draw a scene", attrs: { "aria-pressed": String(source.kind === "scene") } });
    draw.addEventListener("click", () => choose({ kind: "scene", objects: editor.objects() }));
    picker.append(draw);
  }

  const editor = sceneEditor((objects) => { if (source.kind === "scene") choose({ kind: "scene", objects }); });
  async function choose(next) {
    source = next;
    editorSlot.replaceChildren(...(source.kind === "scene" ? [editor.element] : []));
    buildPicker();
    await setImage();
    if (root.dataset.answered) await ask();
  }

  async function useModel(model) {
    badge.show(model);
    live = await openLiveModel(ctx, model);
    panel = loaderPanel(live, ["text", "image"]);
    panelSlot.replaceChildren(panel.element);
    await choose(source);
  }

  if (runnable.length > 1) {
    controls.append(selectControl("model", runnable.map((m) => ({ value: m.name, label: modelLabel(m) })), first.name, (name) => useModel(runnable.find((m) => m.name === name)).catch(fail)).element);
  }
  controls.append(badge.element);
  askButton.addEventListener("click", () => ask().catch(fail));
  prefix.addEventListener("keydown", (e) => { if (e.key === "Enter") ask().catch(fail); });
  await useModel(first);
});
