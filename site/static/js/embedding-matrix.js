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

// ---------------------------------------------------------------- the int8 store
//
// What the figures use (embedding-source.js): the int8 codes stay int8 (kN x D
// bytes, a quarter of Float32 values), with per-row inverse norms, so a top-k
// reads one byte per dimension and gallery row. The close-the-gap slider's step
// f moves row r of modality m to x' = (x - f o_m) / |x - f o_m| (x the unit row,
// o_m the shipped centroid offset: exporter/analyses/modalities.close_all, for two
// modalities gap_shift.close_gap). |x - f o_m|^2 = 1 - 2 f x.o_m + f^2 |o_m|^2, so
// every step is O(1) per row on top of the products at f = 0.

function decodeF4(typed) {
  return new Float32Array(base64ToBytes(typed.bdata).slice().buffer);
}

/** The parts of embeddings.json a store is built from (transferable typed arrays). */
export function storeParts(file) {
  const [rows, dims] = String(file.vectors.shape).split(",").map(Number);
  const codes = new Int8Array(base64ToBytes(file.vectors.bdata).buffer);
  const scales = decodeF4(file.scales);
  const k = file.modalities.length;
  const offsets = file.offsets ? decodeF4(file.offsets) : new Float32Array(k * dims);
  if (codes.length !== rows * dims || scales.length !== dims || offsets.length !== k * dims || rows !== k * file.n) {
    throw new Error(`embeddings.json holds ${codes.length} codes, ${scales.length} scales and ${offsets.length} offsets for shape ${file.vectors.shape} and ${k} modalities of ${file.n} pairs`);
  }
  return { codes, scales, offsets, rows, dims, n: file.n, k };
}

/** A store over the parts: per-row inverse norms and x.o_m, per-modality |o_m|^2. */
export function buildStore(parts) {
  const { codes, scales, offsets, rows, dims, n, k } = parts;
  const invNorm = new Float32Array(rows);
  const selfDot = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const at = r * dims, o = Math.floor(r / n) * dims;
    let norm = 0, along = 0;
    for (let d = 0; d < dims; d++) {
      const v = codes[at + d] * scales[d];
      norm += v * v;
      along += v * offsets[o + d];
    }
    const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    invNorm[r] = inv;
    selfDot[r] = along * inv;
  }
  const offNorm2 = new Float32Array(k);
  for (let m = 0; m < k; m++) {
    let s = 0;
    for (let d = 0; d < dims; d++) s += offsets[m * dims + d] ** 2;
    offNorm2[m] = s;
  }
  return { ...parts, invNorm, selfDot, offNorm2 };
}

/** 1 / |x_r - f o_m|: the renormalisation of row r at closing fraction f. */
function shiftScale(store, r, f) {
  if (!f) return 1;
  const m = Math.floor(r / store.n);
  const sq = 1 - 2 * f * store.selfDot[r] + f * f * store.offNorm2[m];
  return sq > 0 ? 1 / Math.sqrt(sq) : 0;
}

/** Row r at closing fraction f, written into out at `at` (Float32, dims values). */
export function rowInto(store, r, f, out, at = 0) {
  const { codes, scales, offsets, dims, invNorm } = store;
  const src = r * dims, o = Math.floor(r / store.n) * dims;
  const a = invNorm[r], t = shiftScale(store, r, f);
  for (let d = 0; d < dims; d++) out[at + d] = (codes[src + d] * scales[d] * a - f * offsets[o + d]) * t;
  return out;
}

/** Cosine of stacked rows a and b at closing fraction f: one dot product (a hover). */
export function storeSimilarity(store, a, b, f = 0, scratch = null) {
  const dims = store.dims;
  const buf = scratch && scratch.length >= 2 * dims ? scratch : new Float32Array(2 * dims);
  rowInto(store, a, f, buf, 0);
  rowInto(store, b, f, buf, dims);
  return dot(buf, 0, buf, dims, dims);
}

/** Block means of `rows` (stacked indices in display order) in `blocks` runs, at fraction f. */
export function storeBlockMeans(store, rows, blocks, f = 0) {
  const { codes, scales, offsets, dims, invNorm, k, n } = store;
  const count = Math.min(blocks, rows.length);
  const means = new Float32Array(count * dims);
  const bounds = new Int32Array(count + 1);
  for (let b = 0; b <= count; b++) bounds[b] = Math.round((b * rows.length) / count);
  const acc = new Float64Array(dims);
  const perModality = new Float64Array(k);
  for (let b = 0; b < count; b++) {
    acc.fill(0); perModality.fill(0);
    for (let p = bounds[b]; p < bounds[b + 1]; p++) {
      const r = rows[p], at = r * dims;
      const t = shiftScale(store, r, f);
      const w = invNorm[r] * t;
      for (let d = 0; d < dims; d++) acc[d] += w * codes[at + d];
      if (f) perModality[Math.floor(r / n)] += t;
    }
    const size = bounds[b + 1] - bounds[b], out = b * dims;
    for (let d = 0; d < dims; d++) {
      let v = acc[d] * scales[d];
      if (f) for (let m = 0; m < k; m++) v -= f * perModality[m] * offsets[m * dims + d];
      means[out + d] = v / size;
    }
  }
  return { means, bounds, count };
}

/** Average-pooled similarity of rows x cols at blocks x blocks (exact: block means' products), at fraction f. */
export function storePooled(store, rowIndex, colIndex, blocks, f = 0) {
  const rows = storeBlockMeans(store, rowIndex, blocks, f);
  const cols = rowIndex === colIndex ? rows : storeBlockMeans(store, colIndex, blocks, f);
  return {
    values: products(rows.means, rows.count, cols.means, cols.count, store.dims),
    rows: rows.count, cols: cols.count, rowBounds: rows.bounds, colBounds: cols.bounds,
  };
}

/** Full-resolution tile of the given stacked rows and columns at fraction f. */
export function storeTile(store, rowIndex, colIndex, f = 0) {
  const gather = (index) => {
    const out = new Float32Array(index.length * store.dims);
    for (let p = 0; p < index.length; p++) rowInto(store, index[p], f, out, p * store.dims);
    return out;
  };
  const left = gather(rowIndex);
  const same = rowIndex === colIndex;
  return products(left, rowIndex.length, same ? left : gather(colIndex), colIndex.length, store.dims);
}

/**
 * The k rows among stacked rows first .. first+count-1 most similar to stacked row q at
 * fraction f, best first ({index: row - first, score}). The query is folded into
 * per-dimension weights, so each gallery row costs one pass over its int8 codes.
 */
export function storeTopK(store, q, first, count, k, f = 0) {
  const { codes, scales, offsets, dims, invNorm, n } = store;
  const query = rowInto(store, q, f, new Float32Array(dims));
  const weights = new Float32Array(dims);
  for (let d = 0; d < dims; d++) weights[d] = query[d] * scales[d];
  const alongOffset = new Float64Array(store.k);
  for (let m = 0; m < store.k; m++) alongOffset[m] = dot(query, 0, offsets, m * dims, dims);
  const keep = Math.min(k, count);
  const bestScore = new Float64Array(keep).fill(-Infinity);
  const bestIndex = new Int32Array(keep).fill(-1);
  for (let g = first; g < first + count; g++) {
    const at = g * dims;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, d = 0;
    for (; d + 3 < dims; d += 4) {
      s0 += weights[d] * codes[at + d];
      s1 += weights[d + 1] * codes[at + d + 1];
      s2 += weights[d + 2] * codes[at + d + 2];
      s3 += weights[d + 3] * codes[at + d + 3];
    }
    for (; d < dims; d++) s0 += weights[d] * codes[at + d];
    let score = (s0 + s1 + s2 + s3) * invNorm[g];
    if (f) score = (score - f * alongOffset[Math.floor(g / n)]) * shiftScale(store, g, f);
    const index = g - first;
    if (score < bestScore[keep - 1] || (score === bestScore[keep - 1] && index > bestIndex[keep - 1] && bestIndex[keep - 1] >= 0)) continue;
    // Insert, keeping (score descending, index ascending).
    let j = keep - 1;
    while (j > 0 && (bestScore[j - 1] < score || (bestScore[j - 1] === score && bestIndex[j - 1] > index))) {
      bestScore[j] = bestScore[j - 1]; bestIndex[j] = bestIndex[j - 1]; j--;
    }
    bestScore[j] = score; bestIndex[j] = index;
  }
  const best = [];
  for (let j = 0; j < keep; j++) best.push({ index: bestIndex[j], score: bestScore[j] });
  return best;
}
