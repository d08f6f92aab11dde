// A model the page runs itself: its live bundle (live/<slug>/live.json, written by
// exporter/live/bundle.py), its ONNX towers, tokenizer and the exporter's embeddings.

import { fetchJSON, decodeArray } from "../contract.js";
import { loadRuntime, loadSession, RUNTIME_BYTES } from "./runtime.js";
import { openTokenizer } from "./tokenizer.js";

/** The manifest's live entry of a model, or null when the page cannot run it. */
export function liveEntry(manifest, model) {
  return (manifest.live || []).find((e) => e.model === model.name) || null;
}

/** Megabytes for people: "13.6 MB". */
export function formatBytes(bytes) {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

function rows(typed) {
  const out = [];
  for (let r = 0; r < typed.rows; r++) out.push(typed.subarray(r * typed.cols, (r + 1) * typed.cols));
  return out;
}

const sheetCache = new Map();

/** The lossless grid of model inputs: RGBA bytes, read without colour management. */
function loadSheet(url) {
  const key = String(url);
  if (!sheetCache.has(key)) {
    const promise = (async () => {
      const response = await fetch(key);
      if (!response.ok) throw new Error(`could not load ${key}: HTTP ${response.status}`);
      const bitmap = await createImageBitmap(await response.blob(), {
        colorSpaceConversion: "none", premultiplyAlpha: "none",
      });
      const canvas = document.createElement("canvas");
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      const g = canvas.getContext("2d", { willReadFrequently: true });
      g.drawImage(bitmap, 0, 0);
      return g.getImageData(0, 0, bitmap.width, bitmap.height);
    })();
    promise.catch(() => sheetCache.delete(key));
    sheetCache.set(key, promise);
  }
  return sheetCache.get(key);
}

/** RGBA (size*size*4) of item `index` in a sheet laid out `cols` wide. */
export function cutItem(sheet, index, cols, size) {
  const out = new Uint8ClampedArray(size * size * 4);
  const x0 = (index % cols) * size;
  const y0 = Math.floor(index / cols) * size;
  for (let y = 0; y < size; y++) {
    const from = ((y0 + y) * sheet.width + x0) * 4;
    out.set(sheet.data.subarray(from, from + size * 4), y * size * 4);
  }
  return out;
}

/** RGBA bytes -> CHW float input, normalised as the exporter's ToTensor + Normalize. */
export function normalisePixels(rgba, size, mean, std) {
  const plane = size * size;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = (rgba[i * 4 + c] / 255 - mean[c]) / std[c];
  }
  return out;
}

/**
 * openLiveModel(ctx, model) -> a handle:
 *   bundle, tokenizer, bytes {runtime, text, image, tokenizer},
 *   data(datasetName) -> {image: [Float32Array], text: [...], centroids, frames, inputs},
 *   ready(towers, onProgress(fraction, label)) loads the runtime and towers,
 *   encodeTexts(texts) / encodeImages(list of CHW Float32Array) -> [Float32Array] (unit vectors),
 *   itemRGBA(datasetName, index) -> RGBA bytes of the item as the model sees it.
 */
export async function openLiveModel(ctx, model) {
  const entry = liveEntry(ctx.manifest, model);
  if (!entry) throw new Error(`model ${model.label || model.name} has no encoders for the page in this export`);
  const bundle = await fetchJSON(ctx.resolve(entry.file));
  const tokenizer = openTokenizer(bundle.tokenizer, ctx.resolve);
  const towers = bundle.towers;
  const bytes = {
    runtime: RUNTIME_BYTES,
    text: towers.text ? towers.text.bytes : 0,
    image: towers.image ? towers.image.bytes : 0,
    tokenizer: tokenizer.bytes,
  };
  const decoded = new Map();
  let ort = null;
  const sessions = {};

  async function ready(names = ["text"], onProgress = () => {}) {
    const wanted = names.filter((n) => towers[n]);
    // The text tower needs its tokenizer (a BPE tokenizer's tables are fetched with it).
    const withTokenizer = wanted.includes("text") && bytes.tokenizer > 0;
    const total = bytes.runtime + wanted.reduce((s, n) => s + bytes[n], 0) + (withTokenizer ? bytes.tokenizer : 0);
    const got = { runtime: 0 };
    const report = (label) => onProgress(Object.values(got).reduce((a, b) => a + b, 0) / total, label);
    const words = wanted.includes("text")
      ? tokenizer.ready((n) => { got.tokenizer = n; report("tokenizer"); })
      : Promise.resolve();
    ort = await loadRuntime((n) => { got.runtime = n; report("runtime"); });
    got.runtime = bytes.runtime;
    await words;
    await Promise.all(wanted.map(async (name) => {
      got[name] = 0;
      sessions[name] = await loadSession(ctx.resolve(towers[name].file), (n) => { got[name] = n; report(name); });
      got[name] = bytes[name];
      report(name);
    }));
  }

  async function run(name, tensor) {
    if (!sessions[name]) await ready([name]);
    const session = await sessions[name];
    const output = await session.run({ [session.inputNames[0]]: tensor });
    const result = output[session.outputNames[0]];
    const [batch, dim] = result.dims;
    const out = [];
    for (let b = 0; b < batch; b++) out.push(Float32Array.from(result.data.subarray(b * dim, (b + 1) * dim)));
    return out;
  }

  async function encodeTexts(texts) {
    if (!texts.length) return [];
    await ready(["text"]);
    const length = tokenizer.contextLength;
    const ids = new BigInt64Array(texts.length * length);
    texts.forEach((t, i) => tokenizer.encode(t).ids.forEach((v, j) => { ids[i * length + j] = BigInt(v); }));
    return run("text", new ort.Tensor("int64", ids, [texts.length, length]));
  }

  async function encodeImages(inputs) {
    if (!inputs.length) return [];
    if (!bundle.image) throw new Error(`model ${model.name} has no image tower for the page`);
    await ready(["image"]);
    const size = bundle.image.size;
    const plane = 3 * size * size;
    const data = new Float32Array(inputs.length * plane);
    inputs.forEach((x, i) => data.set(x, i * plane));
    return run("image", new ort.Tensor("float32", data, [inputs.length, 3, size, size]));
  }

  function data(datasetName) {
    const found = bundle.datasets[datasetName];
    if (!found) throw new Error(`model ${model.name} has no live data for dataset ${datasetName}`);
    if (!decoded.has(datasetName)) {
      const frames = {};
      for (const [method, frame] of Object.entries(found.projections || {})) {
        frames[method] = { axes: rows(decodeArray(frame.axes)), bias: frame.bias };
      }
      decoded.set(datasetName, {
        n: found.n,
        image: rows(decodeArray(found.image)),
        text: rows(decodeArray(found.text)),
        centroids: found.centroids,
        frames,
        inputs: found.inputs || null,
        saliency: found.saliency || null,
      });
    }
    return decoded.get(datasetName);
  }

  async function itemRGBA(datasetName, index) {
    const { inputs } = data(datasetName);
    if (!inputs) throw new Error(`dataset ${datasetName} has no model inputs for ${model.name}`);
    const sheet = await loadSheet(ctx.resolve(inputs.file));
    return cutItem(sheet, index, inputs.cols, inputs.size);
  }

  function pixels(rgba) {
    return normalisePixels(rgba, bundle.image.size, bundle.image.mean, bundle.image.std);
  }

  return { entry, bundle, tokenizer, bytes, ready, encodeTexts, encodeImages, data, itemRGBA, pixels };
}

/** Cosine of two unit vectors. */
export function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/** Place a vector in a linear projection frame: axes @ x + bias. */
export function project(frame, x) {
  return [dot(frame.axes[0], x) + frame.bias[0], dot(frame.axes[1], x) + frame.bias[1]];
}

/** Euclidean distance. */
export function distance(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Softmax of logit_scale * cosines (+ bias for a sigmoid model reported separately). */
export function softmax(values, scale) {
  const z = values.map((v) => v * scale);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}
