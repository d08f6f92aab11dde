// The exporter's registries as the manifest carries them (manifest.registry):
// gap measures and projection methods with their labels, digits, axes and
// notes. Tables and menus are built from here, so no measure or projection
// name lives in the browser code (docs/ARCHITECTURE.md, recipes).

function registryOf(manifest) {
  if (!manifest.registry) throw new Error("the manifest has no registry of measures and projections; re-run the export");
  return manifest.registry;
}

/** Value at a dotted path ("recall_i2t.r1") of a metrics object, or null. */
function valueAt(metrics, path) {
  let value = metrics;
  for (const part of path.split(".")) {
    if (value === null || value === undefined) return null;
    value = value[part];
  }
  return typeof value === "number" ? value : null;
}

/** Mean of the values a measure reads (one path: that value), or null when any is missing. */
function measureValue(metrics, reads) {
  if (!metrics) return null;
  const values = reads.map((path) => valueAt(metrics, path));
  if (values.some((v) => v === null)) return null;
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The bootstrap interval [lo, hi] at `path` of a statistics' intervals object, or null. */
function intervalAt(intervals, path) {
  let value = intervals;
  for (const part of path.split(".")) {
    if (value === null || value === undefined) return null;
    value = value[part];
  }
  return Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number") ? value : null;
}

/**
 * A metrics-table column by id: a measure key, "closed:<key>" (its value in the
 * gap-closed space) or "zeroshot:<template>" (zero-shot accuracy with that template).
 * Returns { id, heading, description, digits, get(metrics), interval(statistics) }:
 * interval gives the result's bootstrap interval of that value, or null (a measure that
 * averages several values has none: the interval of a mean is not the mean of intervals).
 */
export function metricColumn(manifest, id) {
  const { measures } = registryOf(manifest);
  if (id.startsWith("zeroshot:")) {
    const template = id.slice("zeroshot:".length);
    return {
      id, heading: `zero-shot “${template}”`, description: `zero-shot accuracy with template ${template}`, digits: 2,
      get: (m) => (m.zeroshot ? m.zeroshot[template] ?? null : null), interval: () => null,
    };
  }
  const closed = id.startsWith("closed:");
  const key = closed ? id.slice("closed:".length) : id;
  const measure = measures.find((m) => m.key === key && (!closed || m.closed));
  if (!measure) {
    const known = [...measures.map((m) => m.key), ...measures.filter((m) => m.closed).map((m) => `closed:${m.key}`)];
    throw new Error(`unknown metrics column ${id}; use one of ${known.join(", ")} or zeroshot:<template>`);
  }
  return {
    id,
    heading: closed ? `${measure.label} (closed)` : measure.label,
    description: closed ? `${measure.description}, after closing the gap` : measure.description,
    digits: measure.digits,
    get: (m) => measureValue(closed ? m.closed : m, measure.reads),
    interval: (statistics) => (statistics && measure.reads.length === 1
      ? intervalAt(closed ? statistics.closed_intervals : statistics.intervals, measure.reads[0]) : null),
  };
}

/** Column ids a metrics figure shows when it names none. */
export function defaultColumns(manifest) {
  return registryOf(manifest).default_columns;
}

/** A projection method: { key, label, axes: [x, y], description, animated, note }. */
export function projectionMethod(manifest, key) {
  const method = registryOf(manifest).projections.find((m) => m.key === key);
  if (!method) throw new Error(`projection method ${key} is not in the manifest's registry`);
  return method;
}
