// Similarities computed in the browser from quantised embeddings, so an export
// ships kN x D bytes instead of a kN x kN matrix (docs/ARCHITECTURE.md,
// "embeddings.json"). Pure functions on typed arrays: the worker
// (embedding-worker.js) runs them off the main thread; tests and the bench call
// them directly.
//
// The average-pooled heatmap is exact: the mean of x_i . y_j over a block of
// rows I and columns J equals mean(x_I) . mean(y_J), so a B x B picture costs
// B x B x D multiply-adds after one O(kN x D) pass, whatever N is.

function base64ToBytes(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Decode embeddings.json: int8 codes times per-dimension scales, rows renormalised to unit length. */
export function decodeEmbeddings(file) {
  const [rows, dims] = String(file.vectors.shape).split(",").map(Number);
  const codes = new Int8Array(base64ToBytes(file.vectors.bdata).buffer);
  const scaleBytes = base64ToBytes(file.scales.bdata);
  const scales = new Float32Array(scaleBytes.slice().buffer);
  if (codes.length !== rows * dims || scales.length !== dims) {
    throw new Error(`embeddings.json holds ${codes.length} codes and ${scales.length} scales for shape ${file.vectors.shape}`);
  }
  const values = new Float32Array(rows * dims);
  for (let r = 0; r < rows; r++) {
    let norm = 0;
    const at = r * dims;
    for (let d = 0; d < dims; d++) {
      const v = codes[at + d] * scales[d];
      values[at + d] = v;
      norm += v * v;
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < dims; d++) values[at + d] *= inv;
  }
  return { values, rows, dims };
}

/** Cosine of stacked rows a and b (one dot product: a hover). */
export function similarity(emb, a, b) {
  return dot(emb.values, a * emb.dims, emb.values, b * emb.dims, emb.dims);
}

/**
 * Mean embedding of each of `blocks` consecutive runs of `rows` (stacked row
 * indices in display order): Float32Array(blocks x dims) and the run bounds.
 */
export function blockMeans(emb, rows, blocks) {
  const { values, dims } = emb;
  const count = Math.min(blocks, rows.length);
  const means = new Float32Array(count * dims);
  const bounds = new Int32Array(count + 1);
  for (let b = 0; b <= count; b++) bounds[b] = Math.round((b * rows.length) / count);
  for (let b = 0; b < count; b++) {
    const out = b * dims;
    const size = bounds[b + 1] - bounds[b];
    for (let p = bounds[b]; p < bounds[b + 1]; p++) {
      const at = rows[p] * dims;
      for (let d = 0; d < dims; d++) means[out + d] += values[at + d];
    }
    for (let d = 0; d < dims; d++) means[out + d] /= size;
  }
  return { means, bounds, count };
}

/** Dot product of dims values at a and b; four accumulators let the engine pipeline the adds. */
function dot(left, a, right, b, dims) {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, d = 0;
  for (; d + 3 < dims; d += 4) {
    s0 += left[a + d] * right[b + d];
    s1 += left[a + d + 1] * right[b + d + 1];
    s2 += left[a + d + 2] * right[b + d + 2];
    s3 += left[a + d + 3] * right[b + d + 3];
  }
  for (; d < dims; d++) s0 += left[a + d] * right[b + d];
  return s0 + s1 + s2 + s3;
}

/**
 * Rows x cols dot products of two sets of vectors (row-major Float32Array).
 * When both sets are the same array, only the upper triangle is computed.
 */
export function products(left, leftCount, right, rightCount, dims) {
  const out = new Float32Array(leftCount * rightCount);
  const same = left === right;
  for (let r = 0; r < leftCount; r++) {
    const a = r * dims;
    for (let c = same ? r : 0; c < rightCount; c++) {
      const value = dot(left, a, right, c * dims, dims);
      out[r * rightCount + c] = value;
      if (same) out[c * rightCount + r] = value;
    }
  }
  return out;
}

/** The average-pooled similarity matrix of rows x cols (stacked indices in display order) at blocks x blocks. */
export function pooledMatrix(emb, rowIndex, colIndex, blocks) {
  const rows = blockMeans(emb, rowIndex, blocks);
  const cols = rowIndex === colIndex ? rows : blockMeans(emb, colIndex, blocks);
  return {
    values: products(rows.means, rows.count, cols.means, cols.count, emb.dims),
    rows: rows.count, cols: cols.count, rowBounds: rows.bounds, colBounds: cols.bounds,
  };
}

/** Full-resolution tile: similarities of the given stacked rows against the given stacked columns. */
export function tile(emb, rowIndex, colIndex) {
  const { values, dims } = emb;
  const gather = (index) => {
    const out = new Float32Array(index.length * dims);
    for (let p = 0; p < index.length; p++) out.set(values.subarray(index[p] * dims, (index[p] + 1) * dims), p * dims);
    return out;
  };
  return products(gather(rowIndex), rowIndex.length, gather(colIndex), colIndex.length, dims);
}

/** The k gallery rows (stacked indices from `first`, `count` of them) most similar to stacked row q, best first. */
export function topK(emb, q, first, count, k) {
  const best = [];
  for (let g = first; g < first + count; g++) {
    const score = similarity(emb, q, g);
    if (best.length < k || score > best[best.length - 1].score) {
      best.push({ index: g - first, score });
      best.sort((x, y) => y.score - x.score || x.index - y.index);
      if (best.length > k) best.pop();
    }
  }
  return best;
}
