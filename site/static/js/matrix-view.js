// A similarity matrix drawn into a canvas from its u1 codes through a colour
// lookup table, box-averaged down to the canvas's pixel size when the matrix
// is larger. Hover, tap and keyboard resolve single cells in O(1). Used by the
// heatmap, explorer and compare figures (canvas, not WebGL: many may share a page).

import { el } from "./dom.js";
import { colorLUT, withAlpha } from "./theme.js";
import { bindCellCursor } from "./cell-cursor.js";
import { matrixParts, drawColorbar, displayIndex, placeQuadrantLabels, fitSize, drawCellCross, oncePerFrame } from "./matrix-parts.js";

/**
 * createMatrixView(options) -> view
 * options: {
 *   matrix: decodeRaw() result (u1/u2 codes, rows = cols = kN), n, modalities,
 *   order, clusters, colors (themeColors()), scale ("viridis"...),
 *   range: [lo, hi] (value range of the colour scale; default the matrix's),
 *   maxSize (css px), minSize, quadrant ("all" | "a,b"), sorted (bool),
 *   label (aria label), onCell(cell | null, source) where cell = {r, c, row, col, value}
 *   (row/col are stacked matrix indices), showAxes (bool)
 * }
 */
export function createMatrixView(options) {
  const state = {
    matrix: options.matrix,
    n: options.n,
    modalities: options.modalities,
    order: options.order || null,
    clusters: options.clusters || [],
    colors: options.colors,
    scale: options.scale || "viridis",
    range: options.range || null,
    quadrant: options.quadrant || "all",
    sorted: !!options.sorted,
    hover: null,   // {r, c} under the pointer
    cursor: null,  // {r, c} of the keyboard / tap cursor
    highlight: [], // stacked indices to mark (linked views)
    cross: null,   // {row, col} stacked indices of an external crosshair
    size: 0,
  };
  const onCell = options.onCell || (() => {});
  const maxSize = options.maxSize || 560;
  const minSize = options.minSize || 160;

  const parts = matrixParts(options.label, "Escape clears.");
  const { base, overlay, stack, topLabels, leftLabels, barCanvas, bar } = parts;
  const element = el("div", { class: "fig-matrix" }, [el("div", { class: "fig-matrix-corner" }), topLabels, el("div", { class: "fig-matrix-spacer" }), leftLabels, stack, bar]);

  let rowIdx = null, colIdx = null, rowPos = null, colPos = null;
  let codeLUT = null;
  const offscreen = document.createElement("canvas");

  function k() { return state.modalities.length; }
  function valueOf(code) { return state.matrix.offset + state.matrix.scale * code; }
  function matrixRange() {
    const maxCode = state.matrix.dtype === "u2" ? 65535 : 255;
    return [valueOf(0), valueOf(maxCode)];
  }

  function buildIndex() {
    ({ rowIdx, colIdx, rowPos, colPos } = displayIndex(state));
  }

  function buildLUT() {
    // Compose code -> value -> position in the shared range -> colour.
    const colors = colorLUT(state.scale);
    const [lo, hi] = state.range || matrixRange();
    const maxCode = state.matrix.dtype === "u2" ? 65535 : 255;
    codeLUT = new Uint32Array(maxCode + 1);
    const span = hi - lo || 1;
    for (let q = 0; q <= maxCode; q++) {
      const t = (valueOf(q) - lo) / span;
      codeLUT[q] = colors[Math.max(0, Math.min(255, Math.round(t * 255)))];
    }
    drawColorbar(parts, state.scale, lo, hi);
  }

  function layoutSize() { return fitSize(element, minSize, maxSize); }

  // Draw the codes into an ImageData of at most the canvas's pixel size.
  function drawBase() {
    const size = state.size;
    const dpr = window.devicePixelRatio || 1;
    const pixels = Math.max(1, Math.round(size * dpr));
    const dr = rowIdx.length, dc = colIdx.length;
    const outH = Math.min(dr, pixels), outW = Math.min(dc, pixels);
    const kn = state.matrix.cols;
    const data = state.matrix.data;
    const image = new ImageData(outW, outH);
    const px = new Uint32Array(image.data.buffer);
    if (outH === dr && outW === dc) {
      for (let r = 0; r < dr; r++) {
        const rowBase = rowIdx[r] * kn;
        const o = r * dc;
        for (let c = 0; c < dc; c++) px[o + c] = codeLUT[data[rowBase + colIdx[c]]];
      }
    } else {
      const colBin = new Int32Array(dc);
      const colCount = new Float64Array(outW);
      for (let c = 0; c < dc; c++) { const x = Math.floor((c * outW) / dc); colBin[c] = x; colCount[x] += 1; }
      const sums = new Float64Array(outW);
      let r = 0;
      for (let y = 0; y < outH; y++) {
        const rEnd = Math.floor(((y + 1) * dr) / outH);
        sums.fill(0);
        const rows = rEnd - r;
        for (; r < rEnd; r++) {
          const rowBase = rowIdx[r] * kn;
          for (let c = 0; c < dc; c++) sums[colBin[c]] += data[rowBase + colIdx[c]];
        }
        const o = y * outW;
        for (let x = 0; x < outW; x++) px[o + x] = codeLUT[Math.round(sums[x] / (colCount[x] * rows))];
      }
    }
    offscreen.width = outW; offscreen.height = outH;
    offscreen.getContext("2d").putImageData(image, 0, 0);
    base.width = pixels; base.height = pixels;
    const ctx = base.getContext("2d");
    ctx.imageSmoothingEnabled = outW < pixels ? false : true;
    ctx.drawImage(offscreen, 0, 0, pixels, pixels);
    element.dispatchEvent(new Event("matrixdrawn"));
  }

  function placeLabels() {
    placeQuadrantLabels(topLabels, leftLabels, state.modalities, state.quadrant, state.size);
  }

  function cellRect(r, c) {
    const size = state.size;
    const h = size / rowIdx.length, w = size / colIdx.length;
    return [c * w, r * h, Math.max(w, 1), Math.max(h, 1)];
  }

  function drawOverlay() {
    const size = state.size;
    const dpr = window.devicePixelRatio || 1;
    const pixels = Math.round(size * dpr);
    if (overlay.width !== pixels) { overlay.width = pixels; overlay.height = pixels; }
    const ctx = overlay.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    const n = state.n;
    const dr = rowIdx.length, dc = colIdx.length;
    const fg = state.colors.dark ? "#ffffff" : "#000000";
    // Quadrant separators.
    if (state.quadrant === "all") {
      ctx.strokeStyle = state.colors.bg;
      ctx.lineWidth = 2;
      for (let m = 1; m < k(); m++) {
        const t = (m * n * size) / dr;
        ctx.beginPath(); ctx.moveTo(0, t); ctx.lineTo(size, t); ctx.moveTo(t, 0); ctx.lineTo(t, size); ctx.stroke();
      }
    }
    // Cluster boxes along each quadrant's diagonal, labelled in the first.
    if (state.sorted && state.clusters.length) {
      const blocks = state.quadrant === "all" ? k() : 1;
      ctx.lineWidth = 1;
      ctx.strokeStyle = "rgba(255,255,255,0.85)";
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "top";
      for (let qa = 0; qa < blocks; qa++) {
        for (let qb = 0; qb < blocks; qb++) {
          for (const cluster of state.clusters) {
            const y = ((qa * n + cluster.start) * size) / dr;
            const x = ((qb * n + cluster.start) * size) / dc;
            const w = (cluster.size * size) / dc, h = (cluster.size * size) / dr;
            ctx.strokeRect(x + 0.5, y + 0.5, Math.max(1, w - 1), Math.max(1, h - 1));
            if (qa === 0 && qb === 0 && h >= 14 && w >= 24) {
              const label = cluster.label;
              ctx.save();
              ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
              const tw = ctx.measureText(label).width;
              ctx.fillStyle = "rgba(0,0,0,0.6)";
              ctx.fillRect(x + 1, y + 1, Math.min(tw + 6, w - 2), 14);
              ctx.fillStyle = "#ffffff";
              ctx.fillText(label, x + 4, y + 2);
              ctx.restore();
            }
          }
        }
      }
    }
    // Linked highlight: rows and columns of the given items.
    for (const index of state.highlight) {
      const r = rowPos[index], c = colPos[index];
      ctx.fillStyle = withAlpha(state.colors.accent, 0.35);
      if (r >= 0) ctx.fillRect(0, (r * size) / dr, size, Math.max(1.5, size / dr));
      if (c >= 0) ctx.fillRect((c * size) / dc, 0, Math.max(1.5, size / dc), size);
    }
    // External crosshair (compare figure).
    if (state.cross) {
      const r = rowPos[state.cross.row], c = colPos[state.cross.col];
      if (r >= 0 && c >= 0) drawCross(ctx, r, c, fg, size);
    }
    const active = state.hover || state.cursor;
    if (active) drawCross(ctx, active.r, active.c, fg, size);
  }

  function drawCross(ctx, r, c, fg, size) {
    drawCellCross(ctx, cellRect(r, c), size, fg, state.colors.dark);
  }

  const requestOverlay = oncePerFrame(drawOverlay);

  function cellAt(r, c) {
    const row = rowIdx[r], col = colIdx[c];
    const code = state.matrix.data[row * state.matrix.cols + col];
    return { r, c, row, col, value: valueOf(code) };
  }

  function fromEvent(event) {
    const rect = overlay.getBoundingClientRect();
    const x = event.clientX - rect.left, y = event.clientY - rect.top;
    if (x < 0 || y < 0 || x >= rect.width || y >= rect.height) return null;
    const r = Math.min(rowIdx.length - 1, Math.floor((y / rect.height) * rowIdx.length));
    const c = Math.min(colIdx.length - 1, Math.floor((x / rect.width) * colIdx.length));
    return { r, c };
  }

  bindCellCursor({
    overlay, stack, state, fromEvent, cellAt, onCell, requestOverlay,
    size: () => [rowIdx.length, colIdx.length],
  });

  function redraw({ full = true } = {}) {
    state.size = layoutSize();
    for (const c of [base, overlay]) { c.style.width = `${state.size}px`; c.style.height = `${state.size}px`; }
    stack.style.width = `${state.size}px`; stack.style.height = `${state.size}px`;
    barCanvas.style.height = `${Math.max(80, state.size - 40)}px`;
    if (full) { buildIndex(); buildLUT(); }
    drawBase();
    placeLabels();
    drawOverlay();
  }

  let lastWidth = 0;
  const resizeObserver = new ResizeObserver(() => {
    const width = element.parentElement ? element.parentElement.clientWidth : 0;
    if (!width || width === lastWidth) return;
    lastWidth = width;
    const size = layoutSize();
    if (size !== state.size && rowIdx) redraw({ full: false });
  });

  const view = {
    element,
    stack,
    /** Call once the element is in the document. */
    draw() {
      redraw();
      if (element.parentElement) { lastWidth = element.parentElement.clientWidth; resizeObserver.observe(element.parentElement); }
    },
    setQuadrant(q) { state.quadrant = q; state.hover = null; state.cursor = null; redraw(); },
    setSorted(sorted) { state.sorted = sorted; state.hover = null; state.cursor = null; redraw(); },
    setMatrix(matrix, extra = {}) {
      if ((extra.n !== undefined && extra.n !== state.n) || (extra.modalities && extra.modalities.length !== state.modalities.length)) {
        state.cursor = null; state.hover = null; state.highlight = []; state.cross = null;
      }
      Object.assign(state, { matrix, ...extra });
      redraw();
      if (state.cursor) onCell(cellAt(state.cursor.r, state.cursor.c), "update");
    },
    setRange(range) { state.range = range; buildLUT(); drawBase(); },
    setColors(colors) { state.colors = colors; drawOverlay(); },
    setScale(scale) { state.scale = scale; buildLUT(); drawBase(); },
    highlightItems(indices) { state.highlight = indices || []; requestOverlay(); },
    setCrosshair(cross) { state.cross = cross; requestOverlay(); },
    cellAt,
    /** The stacked items of the columns, left to right, one per column (as embedding-view.js's columns()). */
    columns() { return colIdx && { index: colIdx, bounds: null }; },
    get cursor() { return state.cursor; },
    get state() { return state; },
    destroy() { resizeObserver.disconnect(); },
  };
  return view;
}
