// The data contract on the browser side: fetch JSON once per URL, resolve URLs
// relative to the data folder, decode typed arrays ({dtype, bdata, shape,
// offset?, scale?}; value = offset + scale * q). See docs/ARCHITECTURE.md.

const TYPED = {
  u1: Uint8Array, u2: Uint16Array, i2: Int16Array, i4: Int32Array,
  u4: Uint32Array, f4: Float32Array, f8: Float64Array,
};

const jsonCache = new Map();
// items.json with resolved image URLs, per URL: built from the cached JSON without writing into it.
const resolvedItems = new Map();

/** Fetch and parse a JSON file; one request per URL per page. */
export function fetchJSON(url) {
  const key = String(url);
  if (!jsonCache.has(key)) {
    const promise = fetch(key).then((response) => {
      if (!response.ok) throw new Error(`could not load ${key}: HTTP ${response.status}`);
      return response.json();
    });
    promise.catch(() => jsonCache.delete(key));
    jsonCache.set(key, promise);
  }
  return jsonCache.get(key);
}

function base64ToBytes(text) {
  if (typeof Uint8Array.fromBase64 === "function") return Uint8Array.fromBase64(text);
  const binary = atob(text);
  const length = binary.length;
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function parseShape(shape) {
  const parts = String(shape).split(",").map((s) => parseInt(s, 10));
  return parts.length === 2 ? { rows: parts[0], cols: parts[1] } : { rows: parts[0], cols: 1 };
}

/**
 * Decode the stored integers of a typed array without applying the affine
 * map: {data (typed array of the stored dtype), rows, cols, offset, scale}.
 * The heatmap uses this to go straight from u1 codes to colours.
 */
export function decodeRaw(obj) {
  const Type = TYPED[obj.dtype];
  if (!Type) throw new Error(`unknown typed-array dtype ${obj.dtype}`);
  const bytes = base64ToBytes(obj.bdata);
  const { rows, cols } = parseShape(obj.shape);
  let data;
  if (Type.BYTES_PER_ELEMENT === 1) {
    data = Type === Uint8Array ? bytes : new Type(bytes.buffer);
  } else if (bytes.byteOffset % Type.BYTES_PER_ELEMENT === 0) {
    data = new Type(bytes.buffer, 0, bytes.length / Type.BYTES_PER_ELEMENT);
  } else {
    data = new Type(bytes.slice().buffer);
  }
  if (data.length !== rows * cols) {
    throw new Error(`typed array has ${data.length} values but shape ${obj.shape}`);
  }
  const quantised = "offset" in obj || "scale" in obj;
  return {
    data, rows, cols, dtype: obj.dtype, quantised,
    offset: quantised ? Number(obj.offset || 0) : 0,
    scale: quantised ? Number(obj.scale ?? 1) : 1,
  };
}

/**
 * Decode a typed array to values: Float32Array when an affine map is given or
 * the dtype is a float, Int32Array for raw integer dtypes (indices). The result
 * carries `rows` and `cols`.
 */
export function decodeArray(obj) {
  const raw = decodeRaw(obj);
  let out;
  if (raw.quantised) {
    out = new Float32Array(raw.data.length);
    for (let i = 0; i < out.length; i++) out[i] = raw.offset + raw.scale * raw.data[i];
  } else if (raw.dtype === "f4" || raw.dtype === "f8") {
    out = Float32Array.from(raw.data);
  } else {
    out = Int32Array.from(raw.data);
  }
  out.rows = raw.rows;
  out.cols = raw.cols;
  return out;
}

function folderUrl(relative) {
  const text = String(relative || ".");
  return new URL(text.endsWith("/") ? text : `${text}/`, document.baseURI);
}

function withVersion(url, version) {
  if (!version) return url;
  const out = new URL(url);
  out.searchParams.set("v", version);
  return out;
}

/** Find a model entry by name (e.g. "pocket:infonce") or slug. */
export function findModel(manifest, id) {
  const model = manifest.models.find((m) => m.name === id) || manifest.models.find((m) => m.slug === id);
  if (!model) throw new Error(`model ${id} is not in the manifest`);
  return model;
}

export function findDataset(manifest, name) {
  const dataset = name ? manifest.datasets.find((d) => d.name === name) : manifest.datasets[0];
  if (!dataset) throw new Error(`dataset ${name} is not in the manifest`);
  return dataset;
}

/**
 * Everything a figure needs to read the export described by its config:
 * the manifest, URL resolution and loaders for items and result files.
 */
export async function openExport(config) {
  const version = config.version || "";
  const base = folderUrl(config.base || ".");
  const manifestUrl = config.manifest
    ? new URL(config.manifest, document.baseURI)
    : new URL("manifest.json", base);
  const manifest = await fetchJSON(withVersion(manifestUrl, version));
  const resolve = (relative) => withVersion(new URL(relative, base), version);

  const ctx = {
    manifest,
    base,
    resolve,
    /** The models the figure shows: config.models, or every model with results for the dataset. */
    models(datasetName) {
      const ids = Array.isArray(config.models) && config.models.length ? config.models : null;
      if (ids) return ids.map((id) => findModel(manifest, id));
      const dataset = findDataset(manifest, datasetName || config.dataset);
      const names = new Set(manifest.results.filter((r) => r.dataset === dataset.name).map((r) => r.model));
      return manifest.models.filter((m) => names.has(m.name));
    },
    dataset(name) {
      return findDataset(manifest, name || config.dataset);
    },
    /** The manifest's results entry of (model, dataset). */
    result(model, datasetName) {
      const dataset = findDataset(manifest, datasetName || config.dataset);
      const entry = manifest.results.find((r) => r.model === model.name && r.dataset === dataset.name);
      if (!entry) throw new Error(`no results for model ${model.name} on dataset ${dataset.name}`);
      return entry;
    },
    /** Load one result file ("similarity", "projections", ...) of (model, dataset). */
    async load(model, kind, datasetName) {
      const entry = ctx.result(model, datasetName);
      const file = entry.files[kind];
      if (!file) throw new Error(`model ${model.name} has no ${kind} results on dataset ${entry.dataset}`);
      return fetchJSON(resolve(file));
    },
    /** A data file named inside another data file (relative to the data folder), e.g. a gap step's matrix_file. */
    file(relative) {
      return fetchJSON(resolve(relative));
    },
    /** The decoded (decodeRaw) similarity matrix of one close-the-gap step of gap.json; fetched on demand. */
    async gapStepMatrix(gap, index) {
      const step = gap.steps[index];
      if (!step) throw new Error(`gap step ${index} does not exist (${gap.steps.length} steps)`);
      const data = await fetchJSON(resolve(step.matrix_file));
      return decodeRaw(data.matrix);
    },
    /** items.json of a dataset, with each item's `imageUrl` (and its media previews') resolved;
     * a copy, so the cached JSON stays as fetched. */
    async items(datasetName) {
      const dataset = findDataset(manifest, datasetName || config.dataset);
      const url = resolve(dataset.items);
      const key = String(url);
      if (!resolvedItems.has(key)) {
        const imageUrl = (entry) => (entry.image ? withVersion(new URL(entry.image, url), version).href : null);
        resolvedItems.set(key, fetchJSON(url).then((data) => ({
          ...data,
          items: data.items.map((item) => ({
            ...item,
            imageUrl: imageUrl(item),
            // Other modalities (audio, molecule): their preview images, resolved the same way.
            ...(item.media && {
              media: Object.fromEntries(
                Object.entries(item.media).map(([name, entry]) => [name, { ...entry, imageUrl: imageUrl(entry) }]),
              ),
            }),
          })),
        })));
      }
      return resolvedItems.get(key);
    },
    /** training/<slug>.json of a model: the record on datasetName if given, else its first. */
    training(model, datasetName) {
      const records = (manifest.training || []).filter((t) => t.model === model.name);
      const entry = (datasetName && records.find((t) => t.dataset === datasetName)) || records[0];
      if (!entry) throw new Error(`model ${model.name} has no training record`);
      return fetchJSON(resolve(entry.file));
    },
  };
  return ctx;
}
