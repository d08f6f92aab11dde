// The pieces matrix-view.js and embedding-view.js build and draw alike (the
// cursor's event handling is in cell-cursor.js): the labelled canvas stack and
// colour bar, the display index of a quadrant, the quadrant labels, the size
// the canvas takes and the cursor's crosshair. Keeping one copy keeps the two
// views looking the same.

import { el, canvasStack } from "./dom.js";
import { scaleColors, withAlpha } from "./theme.js";

/** The canvas stack (keyboard help in its aria label), axis label strips and colour bar. */
export function matrixParts(label, keyHelp) {
  const { base, overlay, stack } = canvasStack("fig-matrix", "similarity matrix",
    `${label || "Similarity matrix"}. Arrow keys move a cell cursor; Shift moves by ten; Home and End jump; ${keyHelp}`);
  const topLabels = el("div", { class: "fig-matrix-top", attrs: { "aria-hidden": "true" } });
  const leftLabels = el("div", { class: "fig-matrix-left", attrs: { "aria-hidden": "true" } });
  const barCanvas = el("canvas", { class: "fig-colorbar-canvas", width: 12, height: 256, attrs: { "aria-hidden": "true" } });
  const barHi = el("span", { class: "fig-colorbar-hi" });
  const barLo = el("span", { class: "fig-colorbar-lo" });
  const bar = el("div", { class: "fig-colorbar", attrs: { role: "img" } }, [barHi, barCanvas, barLo]);
  return { base, overlay, stack, topLabels, leftLabels, barCanvas, barHi, barLo, bar };
}

export function drawColorbar({ barCanvas, barHi, barLo, bar }, scale, lo, hi) {
  const ctx = barCanvas.getContext("2d");
  const colors = scaleColors(scale);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = colors[255 - i];
    ctx.fillStyle = `rgb(${r},${g},${b})`;
    ctx.fillRect(0, i, 12, 1);
  }
  barHi.textContent = hi.toFixed(2);
  barLo.textContent = lo.toFixed(2);
  bar.setAttribute("aria-label", `colour scale ${scale} from ${lo.toFixed(2)} to ${hi.toFixed(2)}`);
}

/**
 * Display position -> stacked matrix index (rowIdx, colIdx) and back (rowPos, colPos, -1 where
 * not shown) for a quadrant ("all" | "a,b"), in cluster order when sorted. Square quadrants
 * share one array for rows and columns (read-only; the embeddings view asks the worker once).
 */
export function displayIndex({ n, modalities, order, sorted, quadrant }) {
  const k = modalities.length;
  const perm = new Int32Array(n);
  for (let p = 0; p < n; p++) perm[p] = sorted && order ? order[p] : p;
  const build = (mods) => {
    const out = new Int32Array(mods.length * n);
    mods.forEach((m, j) => { for (let p = 0; p < n; p++) out[j * n + p] = m * n + perm[p]; });
    return out;
  };
  let rowIdx, colIdx;
  if (quadrant === "all") {
    rowIdx = build([...Array(k).keys()]); colIdx = rowIdx;
  } else {
    const [a, b] = quadrant.split(",").map(Number);
    rowIdx = build([a]); colIdx = a === b ? rowIdx : build([b]);
  }
  const inverse = (idx) => {
    const pos = new Int32Array(k * n).fill(-1);
    for (let i = 0; i < idx.length; i++) pos[idx[i]] = i;
    return pos;
  };
  const rowPos = inverse(rowIdx);
  return { rowIdx, colIdx, rowPos, colPos: colIdx === rowIdx ? rowPos : inverse(colIdx) };
}

/** Modality names along the top and left, one per quadrant block. */
export function placeQuadrantLabels(topLabels, leftLabels, modalities, quadrant, size) {
  topLabels.replaceChildren();
  leftLabels.replaceChildren();
  const mods = quadrant === "all" ? modalities.map((_, m) => [m, m]) : [quadrant.split(",").map(Number)];
  const parts = mods.length;
  mods.forEach(([a, b]) => {
    topLabels.append(el("span", { text: modalities[b], attrs: { style: `width:${size / parts}px` } }));
    leftLabels.append(el("span", { text: modalities[a], attrs: { style: `height:${size / parts}px` } }));
  });
}

/** The canvas's css size: the parent's width less room for the labels and colour bar, clamped. */
export function fitSize(element, minSize, maxSize) {
  const available = element.parentElement ? element.parentElement.clientWidth - 70 : maxSize;
  return Math.max(minSize, Math.min(maxSize, Math.floor(available || maxSize)));
}

/** Thin lines through the cell at (x, y, w, h) and a box around it, outlined to show on any colour. */
export function drawCellCross(ctx, [x, y, w, h], size, fg, dark) {
  ctx.strokeStyle = withAlpha(fg, 0.45);
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, y + h / 2); ctx.lineTo(size, y + h / 2);
  ctx.moveTo(x + w / 2, 0); ctx.lineTo(x + w / 2, size);
  ctx.stroke();
  const pad = 3;
  ctx.lineWidth = 2;
  ctx.strokeStyle = fg;
  ctx.strokeRect(x - pad, y - pad, w + 2 * pad, h + 2 * pad);
  ctx.strokeStyle = dark ? "#000" : "#fff";
  ctx.lineWidth = 1;
  ctx.strokeRect(x - pad - 1.5, y - pad - 1.5, w + 2 * pad + 3, h + 2 * pad + 3);
}

/** draw() at most once a frame however often the returned function is called. */
export function oncePerFrame(draw) {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; draw(); });
  };
}
