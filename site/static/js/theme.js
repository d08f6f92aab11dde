// Site theme for figures: CSS custom properties, colour scales readable with
// colour-vision deficiencies, and re-colouring on `themechange`.

const FALLBACK = {
  bg: "#ffffff", fg: "#1f2328", muted: "#6b7280", accent: "#0b6bcb", grid: "#d0d7de",
  image: "#d55e00", text: "#0072b2", panel: "#f6f8fa",
};

/** Current theme colours, read from the custom properties on :root. */
export function themeColors() {
  const style = getComputedStyle(document.documentElement);
  const out = {};
  for (const [key, fallback] of Object.entries(FALLBACK)) {
    const value = style.getPropertyValue(`--color-${key}`).trim();
    out[key] = value || fallback;
  }
  out.dark = document.documentElement.dataset.theme === "dark" || luminance(parseColor(out.bg)) < 0.35;
  return out;
}

/** Colour of modality m (0 = image, 1 = text, others from the accent family). */
export function modalityColor(colors, m, name) {
  if (name === "image" || (name === undefined && m === 0)) return colors.image;
  if (name === "text" || (name === undefined && m === 1)) return colors.text;
  return [colors.accent, colors.muted, colors.fg][m % 3];
}

/** Call fn whenever the theme changes; returns an unsubscribe function. */
export function onThemeChange(fn) {
  const handler = () => fn(themeColors());
  document.addEventListener("themechange", handler);
  return () => document.removeEventListener("themechange", handler);
}

let probe = null;
/** Any CSS colour -> [r, g, b] (0..255). */
export function parseColor(text) {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(text).trim());
  if (hex) {
    let h = hex[1];
    if (h.length === 3) h = h.split("").map((c) => c + c).join("");
    return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
  }
  if (!probe) {
    probe = document.createElement("canvas").getContext("2d", { willReadFrequently: true });
  }
  probe.clearRect(0, 0, 1, 1);
  probe.fillStyle = "#000";
  probe.fillStyle = text;
  probe.fillRect(0, 0, 1, 1);
  const d = probe.getImageData(0, 0, 1, 1).data;
  return [d[0], d[1], d[2]];
}

function luminance([r, g, b]) {
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

export function withAlpha(color, alpha) {
  const [r, g, b] = parseColor(color);
  return `rgba(${r},${g},${b},${alpha})`;
}

// Control points sampled evenly from the perceptually uniform matplotlib maps.
const SCALES = {
  viridis: ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884", "#44bf70", "#7ad151", "#bddf26", "#fde725"],
  cividis: ["#00224e", "#083370", "#35456c", "#4f576c", "#666970", "#7d7c78", "#948f78", "#aea371", "#c8b866", "#e5cf52", "#fee838"],
  plasma: ["#0d0887", "#41049d", "#6a00a8", "#8f0da4", "#b12a90", "#cc4778", "#e16462", "#f2844b", "#fca636", "#fcce25", "#f0f921"],
  magma: ["#000004", "#140e36", "#3b0f70", "#641a80", "#8c2981", "#b73779", "#de4968", "#f7705c", "#fe9f6d", "#fecf92", "#fcfdbf"],
};

export const SCALE_NAMES = Object.keys(SCALES);

/** 256 colours of a named scale as [r, g, b] triples. */
export function scaleColors(name = "viridis") {
  const stops = (SCALES[name] || SCALES.viridis).map(parseColor);
  const out = [];
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    out.push(stops[k].map((v, c) => Math.round(v + (stops[k + 1][c] - v) * f)));
  }
  return out;
}

/** A 256-entry lookup table of packed RGBA (as a Uint32Array for ImageData). */
export function colorLUT(name = "viridis") {
  const lut = new Uint32Array(256);
  const bytes = new Uint8Array(lut.buffer);
  scaleColors(name).forEach(([r, g, b], i) => {
    bytes[i * 4] = r; bytes[i * 4 + 1] = g; bytes[i * 4 + 2] = b; bytes[i * 4 + 3] = 255;
  });
  return lut;
}

/** CSS colour of value t in [0, 1]. */
export function scaleColor(name, t) {
  const colors = scaleColors(name);
  const [r, g, b] = colors[Math.max(0, Math.min(255, Math.round(t * 255)))];
  return `rgb(${r},${g},${b})`;
}

/** Plotly colorscale form of a named scale. */
export function plotlyScale(name = "viridis") {
  const stops = SCALES[name] || SCALES.viridis;
  return stops.map((c, i) => [i / (stops.length - 1), c]);
}

/** Common plotly layout pieces in the current theme (no data strings). */
export function plotlyLayout(colors, extra = {}) {
  return {
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { color: colors.fg, family: "inherit", size: 12 },
    margin: { l: 52, r: 12, t: 12, b: 44 },
    hoverlabel: { bgcolor: colors.panel, bordercolor: colors.grid, font: { color: colors.fg } },
    ...extra,
  };
}

export function plotlyAxis(colors, title, extra = {}) {
  return {
    title: { text: title, font: { color: colors.muted } },
    gridcolor: colors.grid, zerolinecolor: colors.grid, linecolor: colors.grid,
    tickfont: { color: colors.muted },
    ...extra,
  };
}
