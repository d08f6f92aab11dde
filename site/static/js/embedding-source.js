// The data source of a result that ships embeddings.json instead of matrices
// (exporter/embedding_payload.py; docs/ARCHITECTURE.md). A module worker fetches
// and decodes the int8 codes and computes pooled heatmaps, full-resolution tiles
// and top-k lists; the page keeps a copy of the codes so that a hover is one dot
// product on the main thread, never a round trip behind a long computation (and so is
// a top-k over a small gallery).
// One source (one worker) per embeddings file and page.

import { buildStore, storeSimilarity, storeTopK } from "./embedding-matrix.js";

// A top-k over at most this many int8 multiply-adds (10,000 gallery rows of 512 dimensions,
// a few milliseconds) runs on the page: no round trip, no waiting behind a picture the worker
// is computing. Larger galleries go to the worker, so the page never stalls.
const PAGE_TOPK_MACS = 6e6;

const opened = new Map();

/** Whether (model, dataset) ships embeddings.json (above the export's embeddings_above). */
export function hasEmbeddings(ctx, model, datasetName) {
  return Boolean(ctx.result(model, datasetName).files.embeddings);
}

function startWorker(url) {
  const worker = new Worker(new URL("./embedding-worker.js", import.meta.url), { type: "module" });
  let next = 0;
  const waiting = new Map();
  const fail = (message) => {
    for (const w of waiting.values()) w.reject(new Error(message));
    waiting.clear();
  };
  worker.onmessage = (event) => {
    const w = waiting.get(event.data.id);
    if (!w) return;
    waiting.delete(event.data.id);
    if (event.data.error) w.reject(new Error(event.data.error));
    else w.resolve(event.data.result);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    fail(`the embedding worker failed on ${url}: ${event.message || "it could not start"}`);
  };
  const ask = (message, transfer = []) => new Promise((resolve, reject) => {
    const id = next++;
    waiting.set(id, { resolve, reject });
    worker.postMessage({ id, ...message }, transfer);
  });
  return { worker, ask };
}

/**
 * openEmbeddings(ctx, model, datasetName) -> source: {
 *   n, k, rows, dims,
 *   value(row, col, fraction): cosine of two stacked rows (sync, one dot product),
 *   pooled(rowIndex, colIndex, blocks, fraction) -> Promise<{values, rows, cols, rowBounds, colBounds}>,
 *   tile(rowIndex, colIndex, fraction) -> Promise<Float32Array>,
 *   topK(query, first, count, k, fraction) -> Promise<[{index, score}]>,
 * }  (rowIndex/colIndex: Int32Array of stacked indices in display order)
 */
export function openEmbeddings(ctx, model, datasetName) {
  const url = ctx.resolve(ctx.result(model, datasetName).files.embeddings).href;
  if (!opened.has(url)) {
    const pending = (async () => {
      const { ask } = startWorker(url);
      const opened = await ask({ type: "open", url });
      const store = opened.invNorm ? opened : buildStore(opened); // the worker sends the built store
      const scratch = new Float32Array(2 * store.dims);
      return {
        n: store.n, k: store.k, rows: store.rows, dims: store.dims,
        value: (row, col, fraction = 0) => storeSimilarity(store, row, col, fraction, scratch),
        pooled: (rowIndex, colIndex, blocks, fraction = 0) =>
          ask({ type: "store-pooled", rowIndex, colIndex: colIndex === rowIndex ? "rows" : colIndex, blocks, fraction }),
        tile: async (rowIndex, colIndex, fraction = 0) =>
          (await ask({ type: "store-tile", rowIndex, colIndex: colIndex === rowIndex ? "rows" : colIndex, fraction })).values,
        topK: async (query, first, count, k, fraction = 0) => (count * store.dims <= PAGE_TOPK_MACS
          ? storeTopK(store, query, first, count, k, fraction)
          : (await ask({ type: "store-topk", query, first, count, k, fraction })).best),
      };
    })();
    pending.catch(() => opened.delete(url));
    opened.set(url, pending);
  }
  return opened.get(url);
}
