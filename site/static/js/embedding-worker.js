// A module worker that owns one embedding set and answers pooled heatmaps,
// full-resolution tiles and top-k lists, so the page stays responsive while a
// 10,000-pair matrix is computed. Messages: {id, type, ...}; replies {id, result}
// or {id, error}. Float32Arrays are transferred, not copied.
//
// The figures (embedding-source.js) use the int8 store: "open" {url} fetches and
// decodes embeddings.json here (the page never holds its text) and answers with a
// copy of the parts for the page's own hovers; "store-pooled", "store-tile" and
// "store-topk" take a closing fraction. "load", "pooled", "tile" and "topk" work on
// Float32 values the page decoded itself (decodeEmbeddings; the tests and bench).

import {
  pooledMatrix, tile, topK, storeParts, buildStore, storePooled, storeTile, storeTopK,
} from "./embedding-matrix.js";

let emb = null;
let store = null;

async function open(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not load ${url}: HTTP ${response.status}`);
  const parts = storeParts(await response.json());
  store = buildStore(parts);
  // The page gets a copy of the whole store (its per-row arrays too: no second pass there).
  const copy = { ...store };
  for (const key of ["codes", "scales", "offsets", "invNorm", "selfDot", "offNorm2"]) copy[key] = store[key].slice();
  return { parts: copy, transfer: ["codes", "scales", "offsets", "invNorm", "selfDot", "offNorm2"].map((key) => copy[key].buffer) };
}

function needStore() {
  if (!store) throw new Error("the worker has no embeddings yet; send {type: 'open', url} first");
  return store;
}

self.onmessage = async (event) => {
  const { id, type } = event.data;
  try {
    let result;
    let transfer = [];
    if (type === "open") {
      const opened = await open(event.data.url);
      result = opened.parts;
      transfer = opened.transfer;
    } else if (type === "store-pooled") {
      const { rowIndex, colIndex, blocks, fraction } = event.data;
      result = storePooled(needStore(), rowIndex, colIndex === "rows" ? rowIndex : colIndex, blocks, fraction);
    } else if (type === "store-tile") {
      const { rowIndex, colIndex, fraction } = event.data;
      result = { values: storeTile(needStore(), rowIndex, colIndex === "rows" ? rowIndex : colIndex, fraction) };
    } else if (type === "store-topk") {
      const { query, first, count, k, fraction } = event.data;
      result = { best: storeTopK(needStore(), query, first, count, k, fraction) };
    } else if (type === "load") {
      emb = { values: event.data.values, rows: event.data.rows, dims: event.data.dims };
      result = { rows: emb.rows };
    } else if (!emb) {
      throw new Error("the worker has no embeddings yet; send {type: 'load'} first");
    } else if (type === "pooled") {
      result = pooledMatrix(emb, event.data.rowIndex, event.data.colIndex, event.data.blocks);
    } else if (type === "tile") {
      result = { values: tile(emb, event.data.rowIndex, event.data.colIndex) };
    } else if (type === "topk") {
      result = { best: topK(emb, event.data.query, event.data.first, event.data.count, event.data.k) };
    } else {
      throw new Error(`unknown request ${type}`);
    }
    if (result && result.values instanceof Float32Array) transfer = [result.values.buffer];
    self.postMessage({ id, result }, transfer);
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message ? error.message : error) });
  }
};
