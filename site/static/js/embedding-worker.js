// A module worker that owns one decoded embedding set and answers pooled
// heatmaps, full-resolution tiles and top-k lists, so the page stays responsive
// while a 10,000-pair matrix is computed. Messages: {id, type, ...}; replies
// {id, result} or {id, error}. Float32Arrays are transferred, not copied.

import { pooledMatrix, tile, topK } from "./embedding-matrix.js";

let emb = null;

self.onmessage = (event) => {
  const { id, type } = event.data;
  try {
    let result;
    if (type === "load") {
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
    const transfer = result && result.values instanceof Float32Array ? [result.values.buffer] : [];
    self.postMessage({ id, result }, transfer);
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message ? error.message : error) });
  }
};
